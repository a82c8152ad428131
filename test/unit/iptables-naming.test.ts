import t from 'tap';
import { endpointChainFor, serviceChainsFor } from '../../src/modes/iptables/naming.js';

// Vectors from upstream's proxier tests (reference/upstream-kube-proxy.md §2.5).
t.test('service chain hashes match upstream', async (t) => {
  t.equal(serviceChainsFor('ns1/svc1:p80', 'TCP').clusterPolicy, 'KUBE-SVC-XPGD46QRK7WJZT7O');
  t.equal(serviceChainsFor('ns2/svc2:p80', 'TCP').clusterPolicy, 'KUBE-SVC-GNZBNJ2PO5MGZ6GT');
  t.equal(serviceChainsFor('ns3/svc3:p80', 'TCP').external, 'KUBE-EXT-X27LE4BHSL4DOUIK');
  t.equal(serviceChainsFor('ns4/svc4:p80', 'TCP').localPolicy, 'KUBE-SVL-4SW47YFZTEDKD3PK');
  t.equal(serviceChainsFor('ns5/svc5:p80', 'TCP').firewall, 'KUBE-FW-NUKIZ6OKUXPJNT4C');
  t.equal(serviceChainsFor('ns2/svc2:p8080', 'TCP').clusterPolicy, 'KUBE-SVC-2VJB64SDSIJUP5T6');
});

t.test('endpoint chain hashes match upstream', async (t) => {
  t.equal(endpointChainFor('ns1/svc1:p80', 'TCP', '10.180.0.1:80'), 'KUBE-SEP-SXIVWICOYRO3J4NJ');
  t.equal(endpointChainFor('ns3/svc3:p80', 'TCP', '10.180.0.3:80'), 'KUBE-SEP-OYPFS5VJICHGATKP');
  t.equal(endpointChainFor('ns5/svc5:p80', 'TCP', '10.180.0.3:80'), 'KUBE-SEP-I77PXRDZVX7PMWMN');
  t.equal(endpointChainFor('ns4/svc4:p80', 'TCP', '10.180.0.4:80'), 'KUBE-SEP-UKSFD7AGPMPPLUHC');
  t.equal(endpointChainFor('ns4/svc4:p80', 'TCP', '10.180.0.5:80'), 'KUBE-SEP-C6EBXVWJJZMIWKLZ');
  t.equal(endpointChainFor('ns2/svc2:p80', 'TCP', '10.180.0.2:80'), 'KUBE-SEP-RS4RBKLTHTF2IUXJ');
});

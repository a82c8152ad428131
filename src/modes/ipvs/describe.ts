import type { IpvsOperation, IpvsServiceKey } from '../../kernel/netlink.js';
import { joinHostPort } from '../../model/ip.js';

const PROTOCOL_FLAG: Readonly<Record<number, string>> = { 6: '-t', 17: '-u', 132: '--sctp-service' };

function service(s: IpvsServiceKey): string {
  return `${PROTOCOL_FLAG[s.protocol ?? 6] ?? `-p${s.protocol}`} ${joinHostPort(s.address ?? '?', s.port ?? 0)}`;
}

/** An IPVS operation as the equivalent ipvsadm command, for --dry-run and error messages. */
export function describeIpvsOperation(o: IpvsOperation): string {
  switch (o.op) {
    case 'addService':
    case 'editService': {
      const persistent = o.service.flags !== undefined && o.service.flags & 0x1 ? ` -p ${o.service.timeout ?? 0}` : '';
      return `ipvsadm ${o.op === 'addService' ? '-A' : '-E'} ${service(o.service)} -s ${o.service.scheduler ?? 'rr'}${persistent}`;
    }
    case 'deleteService':
      return `ipvsadm -D ${service(o.service)}`;
    case 'addDestination':
    case 'editDestination':
      return `ipvsadm ${o.op === 'addDestination' ? '-a' : '-e'} ${service(o.service)} -r ${joinHostPort(o.destination.address, o.destination.port)} -m -w ${o.destination.weight ?? 1}`;
    case 'deleteDestination':
      return `ipvsadm -d ${service(o.service)} -r ${joinHostPort(o.destination.address, o.destination.port)}`;
    case 'flush':
      return 'ipvsadm -C';
    case 'setTimeouts':
      return `ipvsadm --set ${o.timeouts.tcp ?? 0} ${o.timeouts.tcpFin ?? 0} ${o.timeouts.udp ?? 0}`;
  }
}

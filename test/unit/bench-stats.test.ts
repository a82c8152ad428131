import t from 'tap';
import { median, medianBy, percentile, ratio } from '../../bench/stats.js';
import { parseSize, parseSizes, sizeLabel } from '../../bench/sizes.js';
import { formatProgress } from '../../bench/progress.js';
import { countIpvsadm, countIptablesSave, countNftJson } from '../../bench/kernel-counts.js';

t.test('median', async (t) => {
  t.equal(median([3, 1, 2]), 2);
  t.equal(median([4, 1, 3, 2]), 2.5, 'even count: mean of the middle two');
  t.equal(median([7]), 7);
  t.throws(() => median([]));
});

t.test('percentile is nearest-rank, always one of the samples', async (t) => {
  const xs = Array.from({ length: 50 }, (_, i) => 50 - i); // 50..1, unsorted on purpose
  t.equal(percentile(xs, 50), 25);
  t.equal(percentile(xs, 99), 50, 'p99 of 50 samples is the largest');
  t.equal(percentile(xs, 0), 1);
  t.equal(percentile(xs, 100), 50);
  t.equal(percentile([10, 20, 30, 40], 50), 20);
  t.equal(percentile([5], 99), 5);
  t.throws(() => percentile([], 50));
  t.throws(() => percentile([1], 101));
});

t.test('medianBy keeps the record together', async (t) => {
  const runs = [{ totalMs: 9, g: 'a' }, { totalMs: 1, g: 'b' }, { totalMs: 5, g: 'c' }, { totalMs: 7, g: 'd' }];
  t.same(medianBy(runs, (r) => r.totalMs), { totalMs: 5, g: 'c' }, 'lower middle for an even count');
});

t.test('ratio', async (t) => {
  t.equal(ratio(20, 2), '10.0x');
  t.equal(ratio(3, 2), '1.50x');
  t.equal(ratio(500, 2), '250x');
  t.equal(ratio(1, 0), 'n/a');
  t.equal(ratio(undefined, 2), 'n/a');
});

t.test('sizes', async (t) => {
  t.same(parseSize('1000x10'), { services: 1000, endpointsPerService: 10 });
  t.same(parseSizes('1000x10, 100x100'), [{ services: 1000, endpointsPerService: 10 }, { services: 100, endpointsPerService: 100 }]);
  t.equal(sizeLabel({ services: 5, endpointsPerService: 2 }), '5x2');
  t.throws(() => parseSize('1000'), /services>x<endpoints/);
  t.throws(() => parseSize('1000x200'), /endpoints per service/);
  t.throws(() => parseSize('100000x10'), /services must be/);
});

t.test('progress line', async (t) => {
  t.equal(formatProgress(125_400, 3, 10, '1000x10 ipvs: full sync'), '[02:05 3/10] 1000x10 ipvs: full sync');
});

t.test('kernel counts from the tools\' output', async (t) => {
  const save = '*nat\n:PREROUTING ACCEPT [0:0]\n:KUBE-SERVICES - [0:0]\n-A PREROUTING -j KUBE-SERVICES\n-A KUBE-SERVICES -j RETURN\nCOMMIT\n';
  t.same(countIptablesSave(save), { rules: 2, chains: 2 });
  const listing = {
    nftables: [
      { metainfo: {} },
      { table: {} },
      { chain: {} },
      { chain: {} },
      { rule: {} },
      { set: { elem: [1, 2, 3] } },
      { map: { elem: [1] } },
      { map: {} },
    ],
  } as never;
  t.same(countNftJson(listing), { chains: 2, rules: 1, sets: 3, elements: 4 });
  const ipvsadm = [
    'IP Virtual Server version 1.2.1 (size=4096)',
    'Prot LocalAddress:Port Scheduler Flags',
    '  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn',
    'TCP  10.96.0.1:80 rr',
    '  -> 10.64.0.1:8080               Masq    1      0          0',
    '  -> 10.64.0.2:8080               Masq    1      0          0',
    'UDP  10.96.0.2:53 rr',
  ].join('\n');
  t.same(countIpvsadm(ipvsadm), { virtualServers: 2, realServers: 2 });
});

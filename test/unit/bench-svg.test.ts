import t from 'tap';
import { escapeXml, fullSyncSeries, logRange, msLabel, niceMax, renderSvg, type Series } from '../../bench/render-svg.js';
import type { ModeRun } from '../../bench/types.js';

const series: Series[] = [
  { name: 'nftables <netlink> & co', points: [{ x: 1000, y: 50 }, { x: 10000, y: 600 }, { x: 5000, y: 250 }] },
  { name: 'iptables', points: [{ x: 1000, y: 800 }, { x: 10000, y: 20000 }] },
];

t.test('helpers', async (t) => {
  t.same(logRange(50, 20000), [1, 5]);
  t.same(logRange(100, 100), [2, 3], 'at least one decade');
  t.same(niceMax(10000), { max: 10000, step: 2000 });
  t.same(niceMax(1200), { max: 1250, step: 250 });
  t.equal(msLabel(1), '1 ms');
  t.equal(msLabel(1000), '1 s');
  t.equal(msLabel(100000), '100 s');
  t.equal(escapeXml('a<b & "c">'), 'a&lt;b &amp; &quot;c&quot;&gt;');
});

t.test('SVG: well formed, one polyline per series, log y axis', async (t) => {
  const svg = renderSvg(series, { title: 'full sync', xLabel: 'services', yLabel: 'ms (log)' });
  t.match(svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
  t.match(svg.trim(), /<\/svg>$/);
  // Every element either self-closes or is a <text> closed on the same line.
  const opened = (svg.match(/<(?!\/)[a-z]+[^>]*[^/]>/g) ?? []).filter((tag) => !tag.startsWith('<svg'));
  const closed = svg.match(/<\/(text)>/g) ?? [];
  t.equal(opened.length, closed.length, 'each non-self-closing tag is closed');
  t.notMatch(svg, /nftables <netlink>/, 'names are escaped');
  t.match(svg, /nftables &lt;netlink&gt; &amp; co/);
  const polylines = svg.match(/<polyline [^>]*points="([^"]+)"/g) ?? [];
  t.equal(polylines.length, 2);
  t.equal((svg.match(/<circle /g) ?? []).length, 5);
  // Decade labels from 10 ms to 100 s.
  for (const label of ['10 ms', '100 ms', '1 s', '10 s', '100 s']) t.match(svg, `>${label}</text>`);
  // Log scale: equal ratios are equal distances. y of 50, 250, 600 against the decade lines.
  const pts = /points="([^"]+)"/.exec(polylines[0]!)![1]!.split(' ').map((p) => p.split(',').map(Number));
  t.equal(pts.length, 3);
  t.ok(pts[0]![0]! < pts[1]![0]! && pts[1]![0]! < pts[2]![0]!, 'points sorted by services');
  const [, ya] = pts[0]!; // y at 50 ms
  const [, yc] = pts[2]!; // y at 600 ms
  const [, yb] = pts[1]!; // y at 250 ms
  const perDecade = (ya! - yc!) / Math.log10(600 / 50);
  t.ok(Math.abs((ya! - yb!) - perDecade * Math.log10(250 / 50)) < 0.2, 'distances proportional to log ratios');
});

t.test('no data still renders', async (t) => {
  t.match(renderSvg([], { title: 'x', xLabel: 'x', yLabel: 'y' }), /no data/);
});

t.test('series from runs: the common endpoint count, one series per mode', async (t) => {
  const mk = (mode: ModeRun['mode'], services: number, eps: number, full?: number): ModeRun => ({
    mode,
    size: { services, endpointsPerService: eps },
    status: 'ok',
    steps: full === undefined ? {} : { full: { generateMs: 0, applyMs: 0, totalMs: full } },
  });
  const { series: s, endpointsPerService } = fullSyncSeries([
    mk('nftables-netlink', 1000, 10, 40),
    mk('nftables-netlink', 5000, 10, 200),
    mk('iptables', 1000, 10, 900),
    mk('iptables', 5000, 10),
    mk('nftables-netlink', 100, 100, 30),
  ]);
  t.equal(endpointsPerService, 10);
  t.same(s, [
    { name: 'nftables, netlink applier', points: [{ x: 1000, y: 40 }, { x: 5000, y: 200 }] },
    { name: 'iptables, one restore (upstream)', points: [{ x: 1000, y: 900 }] },
  ]);
});

#!/usr/bin/env node
// tap only knows "100% or fail"; the suite sets allow-incomplete-coverage and this script holds
// the parts that must be thoroughly tested to explicit line-coverage floors instead. The pure core
// (model, rule generators, configuration) is held high; kernel appliers and servers, covered by
// end-to-end tests whose child processes tap cannot always see, are held to a lower floor.
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';

const THRESHOLDS = [
  { prefix: 'src/model/', lines: 90 },
  { prefix: 'src/config/', lines: 85 },
  { prefix: 'src/modes/iptables/rules.ts', lines: 90 },
  { prefix: 'src/modes/nftables/ruleset.ts', lines: 85 },
  { prefix: 'src/modes/ipvs/desired.ts', lines: 85 },
  { prefix: 'src/sync/', lines: 80 },
  { prefix: 'src/', lines: 60 },
];

const summaryPath = process.argv[2] ?? '.tap/report/coverage-summary.json';
let summary;
try {
  summary = JSON.parse(readFileSync(summaryPath, 'utf8'));
} catch (err) {
  console.error(`check-coverage: cannot read ${summaryPath}: ${err.message}`);
  process.exit(1);
}

const totals = new Map();
for (const [file, data] of Object.entries(summary)) {
  if (file === 'total') continue;
  const rel = relative(process.cwd(), file);
  for (const { prefix } of THRESHOLDS) {
    if (!rel.startsWith(prefix)) continue;
    const t = totals.get(prefix) ?? { covered: 0, total: 0 };
    t.covered += data.lines.covered;
    t.total += data.lines.total;
    totals.set(prefix, t);
  }
}

let failed = false;
for (const { prefix, lines } of THRESHOLDS) {
  const t = totals.get(prefix);
  if (!t || t.total === 0) continue;
  const pct = (100 * t.covered) / t.total;
  const ok = pct >= lines;
  if (!ok) failed = true;
  console.log(`coverage ${ok ? 'ok  ' : 'LOW '} ${prefix.padEnd(34)} ${pct.toFixed(1).padStart(5)}% lines (floor ${lines}%)`);
}
process.exit(failed ? 1 : 0);

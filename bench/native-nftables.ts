// Benchmark: the same kube-proxy nftables ruleset applied natively, by `nft -j -f -`, by
// `nft -f -` and from a pre-built batch (the floor); see nft-baselines.ts. The harness
// (`npm run bench`) runs the same measurement per workload size; this is the one-size view.
//
//   npm run build && node dist/bench/native-nftables.js [--services 10000] [--endpoints 10] [--runs 3] [--family ip]
import { parseArgs } from 'node:util';
import { measureNftBaselines } from './nft-baselines.js';

const { values } = parseArgs({
  options: {
    services: { type: 'string', default: '10000' },
    endpoints: { type: 'string', default: '10' },
    runs: { type: 'string', default: '3' },
    family: { type: 'string', default: 'ip' },
  },
});
// Ctrl-C must still remove the scratch namespaces (withNetns cleans up on 'exit').
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => process.exit(130));

async function main(): Promise<void> {
  const services = Number(values.services);
  const endpoints = Number(values.endpoints);
  const runs = Number(values.runs);
  const family = values.family === 'ip6' ? 'ip6' : 'ip';
  const r = await measureNftBaselines({ services, endpoints, runs, family, progress: (w) => process.stderr.write(`# ${w}\n`) });
  process.stdout.write(
    `# ${services} services x ${endpoints} endpoints (${family}): ${r.commands} JSON commands, ` +
      `JSON ${(r.jsonBytes / 1e6).toFixed(1)} MB, text ${(r.textBytes / 1e6).toFixed(1)} MB, ` +
      `batch ${(r.batchBytes / 1e6).toFixed(1)} MB in ${r.messages} netlink messages; generated in ${r.generateMs.toFixed(0)} ms\n`,
  );
  const distinct = new Set(Object.values(r.states));
  process.stdout.write(`# applied state: ${[...distinct].join(' | ')}${distinct.size === 1 ? ' (same for every path)' : ' (MISMATCH)'}\n`);
  const rows: [string, number][] = [
    ['native batch (compile + encode + send)', r.nativeMs],
    ['  of which: compile + encode (TypeScript, C++)', r.prepareMs],
    ['  of which: sendmsg + kernel + replies', r.sendMs],
    ['nft -j -f - (JSON)', r.nftJsonMs],
    ['nft -f - (text)', r.nftTextMs],
    ['pre-built batch alone (floor)', r.floorMs],
    ['one-rule transaction into that table (floor of any change)', r.tinyTransactionMs],
  ];
  const width = Math.max(...rows.map(([name]) => name.length));
  process.stdout.write(`\n${'path'.padEnd(width)}  median ms   vs native\n`);
  for (const [name, ms] of rows) {
    const ratio = name.startsWith('  ') ? '' : `${(ms / r.nativeMs).toFixed(2)}x`;
    process.stdout.write(`${name.padEnd(width)}  ${ms.toFixed(0).padStart(9)}   ${ratio.padStart(9)}\n`);
  }
  process.stdout.write(`\n(${runs} runs each, median; every path into a fresh network namespace)\n`);
  if (distinct.size !== 1) process.exitCode = 1;
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:native failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exitCode = 1;
});

import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadScenario } from '../golden/harness.js';
import { generateIptablesRules } from '../../src/modes/iptables/rules.js';
import { ChainNames } from '../../src/modes/iptables/naming.js';
import { iptablesConfigFor } from '../golden/configs.js';

/** Lines of one table as a sorted list, the way upstream's test compares rule sets. */
function tableLines(text: string, table: string): string[] {
  const lines: string[] = [];
  let inTable = false;
  for (const line of text.split('\n')) {
    if (line.startsWith('*')) inTable = line === `*${table}`;
    else if (line === 'COMMIT') inTable = false;
    else if (inTable && line.trim() && !line.startsWith('#')) lines.push(line);
  }
  return lines.sort();
}

t.test('overall rule set equals upstream TestOverallIPTablesRules', async (t) => {
  const s = loadScenario('overall');
  const ours = generateIptablesRules({
    snapshot: s.checkout.snapshot.families.IPv4,
    config: iptablesConfigFor(s, 'IPv4'),
    changedServices: undefined,
    existingNatChains: undefined,
    names: new ChainNames(),
  }).text;
  const upstream = readFileSync(join(s.dir, 'upstream-iptables-expected.txt'), 'utf8');
  t.same(tableLines(ours, 'filter'), tableLines(upstream, 'filter'), 'filter table');
  t.same(tableLines(ours, 'nat'), tableLines(upstream, 'nat'), 'nat table');
});

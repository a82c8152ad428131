import type { IPFamily } from '../model/ip.js';
import {
  isServiceChainName,
  KUBE_EXTERNAL_SERVICES,
  KUBE_FORWARD,
  KUBE_MARK_MASQ,
  KUBE_NODEPORTS,
  KUBE_POSTROUTING,
  KUBE_PROXY_FIREWALL,
  KUBE_SERVICES,
} from '../modes/iptables/naming.js';
import { canonicalRuleArgs, optionValue, type ParsedRule, type TableDump } from './iptables-canonical.js';
import type { DriftReport } from './report.js';

type Table = 'filter' | 'nat';
const TABLES: readonly Table[] = ['filter', 'nat'];

/**
 * Chains the proxy owns whatever the API says. KUBE-FIREWALL is not here: the kubelet may own it,
 * so it is only audited when the generator writes it (localhost NodePorts).
 */
const FIXED_CHAINS: Record<Table, ReadonlySet<string>> = {
  filter: new Set([KUBE_SERVICES, KUBE_EXTERNAL_SERVICES, KUBE_NODEPORTS, KUBE_FORWARD, KUBE_PROXY_FIREWALL]),
  nat: new Set([KUBE_SERVICES, KUBE_NODEPORTS, KUBE_POSTROUTING, KUBE_MARK_MASQ]),
};

/**
 * Dispatch chains: each rule matches its own destination and port, so their order does not
 * change what they do (except the NodePort jump, checked on its own). In every other chain order
 * matters: a load-balancing chain's probabilities are computed for its order, a SEP chain must
 * mark for masquerade before it DNATs, KUBE-POSTROUTING must RETURN unmarked packets first.
 */
const UNORDERED: Record<Table, ReadonlySet<string>> = {
  filter: new Set([KUBE_SERVICES, KUBE_EXTERNAL_SERVICES, KUBE_NODEPORTS, KUBE_PROXY_FIREWALL]),
  nat: new Set([KUBE_SERVICES, KUBE_NODEPORTS]),
};

const NODEPORTS_JUMP_COMMENT = 'kubernetes service nodeports';

/** A rule in a built-in chain that hooks one of ours. */
export interface ExpectedJump {
  readonly table: Table | 'mangle';
  readonly from: string;
  readonly args: readonly string[];
}

export interface IptablesAuditInput {
  readonly family: IPFamily;
  /** The generator's full-sync output, parsed. */
  readonly desired: ReadonlyMap<string, TableDump>;
  /** iptables-save of the node, parsed. */
  readonly actual: ReadonlyMap<string, TableDump>;
  readonly jumps: readonly ExpectedJump[];
  /** Every service port the API wants programmed (`ns/svc:port`), with or without endpoints. */
  readonly servicePorts: readonly string[];
  /** Desired chain → the service port it belongs to. */
  readonly chainOwners: ReadonlyMap<string, string>;
  /** Desired KUBE-SEP chain → `ns/svc:port -> ip:port`. */
  readonly endpointChains: ReadonlyMap<string, string>;
}

const EMPTY: TableDump = { chains: new Set(), rules: new Map() };

/** `ns/svc:port` from a rule comment such as "ns/svc:port cluster IP" or "ns/svc:port -> ip:port". */
function commentOwner(rule: ParsedRule): string | undefined {
  const comment = optionValue(rule.args, '--comment');
  const first = comment?.split(' ', 1)[0];
  return first && first.includes('/') ? first : undefined;
}

function counts(rules: readonly ParsedRule[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const r of rules) m.set(r.canonical, (m.get(r.canonical) ?? 0) + 1);
  return m;
}

/** Rules of `a` not matched one-for-one by rules of `b`. */
function minus(a: readonly ParsedRule[], b: readonly ParsedRule[]): ParsedRule[] {
  const left = counts(b);
  const out: ParsedRule[] = [];
  for (const r of a) {
    const n = left.get(r.canonical) ?? 0;
    if (n > 0) left.set(r.canonical, n - 1);
    else out.push(r);
  }
  return out;
}

class ServiceTally {
  readonly present = new Map<string, number>();
  readonly missing = new Map<string, number>();
  readonly extra = new Map<string, number>();
  add(map: Map<string, number>, owner: string | undefined): void {
    if (owner) map.set(owner, (map.get(owner) ?? 0) + 1);
  }
}

/**
 * Compares the iptables state the generator asks for with what the kernel has. Pure: both sides
 * come in parsed, the drift comes out. Counters are never looked at; chains the proxy does not
 * own (other software's, the kubelet's) are never reported.
 */
export function compareIptables(input: IptablesAuditInput): DriftReport {
  const chainsMissing: string[] = [];
  const chainsExtra: string[] = [];
  const rulesMissing: string[] = [];
  const rulesExtra: string[] = [];
  const misordered: string[] = [];
  const tally = new ServiceTally();
  const wanted = new Set(input.servicePorts);
  const label = (table: string, chain: string, owner: string | undefined): string => `${table} ${chain}${owner ? ` (${owner})` : ''}`;
  let chainsChecked = 0;
  let rulesChecked = 0;

  for (const table of TABLES) {
    const desired = input.desired.get(table) ?? EMPTY;
    const actual = input.actual.get(table) ?? EMPTY;
    const ours = (chain: string): boolean => FIXED_CHAINS[table].has(chain) || desired.chains.has(chain) || (table === 'nat' && isServiceChainName(chain));
    // A chain's owner: known for desired chains; for others, read from the comments of its rules.
    const ownerOf = (chain: string, dump: TableDump): string | undefined =>
      input.chainOwners.get(chain) ?? dump.rules.get(chain)?.map(commentOwner).find((o) => o !== undefined);

    for (const chain of [...desired.chains].sort()) {
      chainsChecked++;
      const want = desired.rules.get(chain) ?? [];
      rulesChecked += want.length;
      const chainOwner = input.chainOwners.get(chain);
      if (!actual.chains.has(chain)) {
        chainsMissing.push(label(table, chain, chainOwner));
        tally.add(tally.missing, chainOwner);
        continue;
      }
      tally.add(tally.present, chainOwner);
      const have = actual.rules.get(chain) ?? [];
      const missing = minus(want, have);
      const extra = minus(have, want);
      for (const r of missing) {
        rulesMissing.push(`${table} ${chain}: ${r.text}`);
        tally.add(tally.missing, chainOwner ?? commentOwner(r));
      }
      for (const r of extra) {
        rulesExtra.push(`${table} ${chain}: ${r.text}`);
        tally.add(tally.extra, chainOwner ?? commentOwner(r));
      }
      if (!chainOwner) {
        const missed = new Set(missing);
        for (const r of want) if (!missed.has(r)) tally.add(tally.present, commentOwner(r));
      }
      if (missing.length === 0 && extra.length === 0 && !inOrder(table, chain, want, have)) misordered.push(label(table, chain, chainOwner));
    }

    for (const chain of [...actual.chains].sort()) {
      if (desired.chains.has(chain) || !ours(chain)) continue;
      const owner = ownerOf(chain, actual);
      chainsExtra.push(label(table, chain, owner));
      tally.add(tally.extra, owner);
    }
  }

  for (const jump of input.jumps) {
    rulesChecked++;
    const want = canonicalRuleArgs(jump.args);
    const have = input.actual.get(jump.table)?.rules.get(jump.from) ?? [];
    if (!have.some((r) => r.canonical === want)) {
      rulesMissing.push(`${jump.table} ${jump.from}: -A ${jump.from} ${jump.args.map((a) => (a.includes(' ') ? `"${a}"` : a)).join(' ')}`);
    }
  }

  const nat = input.actual.get('nat') ?? EMPTY;
  const endpointsMissing = [...input.endpointChains]
    .filter(([chain]) => !nat.chains.has(chain))
    .map(([, name]) => name)
    .sort();
  const endpointsExtra = [...nat.chains]
    .filter((c) => c.startsWith('KUBE-SEP-') && !input.endpointChains.has(c))
    .map((c) => describeEndpointChain(c, nat))
    .sort();

  const missingServices: string[] = [];
  const driftedServices: string[] = [];
  for (const spn of [...wanted].sort()) {
    const problems = (tally.missing.get(spn) ?? 0) + (tally.extra.get(spn) ?? 0);
    if (problems === 0) continue;
    if ((tally.present.get(spn) ?? 0) === 0 && (tally.missing.get(spn) ?? 0) > 0) missingServices.push(spn);
    else driftedServices.push(spn);
  }
  const extraServices = [...tally.extra.keys()].filter((spn) => !wanted.has(spn)).sort();

  return {
    mode: 'iptables',
    family: input.family,
    services: { missing: missingServices, extra: extraServices, drifted: driftedServices },
    endpoints: { missing: endpointsMissing, extra: endpointsExtra },
    chains: { missing: chainsMissing, extra: chainsExtra },
    rules: { missing: rulesMissing, extra: rulesExtra, misordered },
    checked: { services: wanted.size, endpoints: input.endpointChains.size, chains: chainsChecked, rules: rulesChecked },
  };
}

/** Same rules (checked before): is the order one that behaves the same? */
function inOrder(table: Table, chain: string, want: readonly ParsedRule[], have: readonly ParsedRule[]): boolean {
  if (UNORDERED[table].has(chain)) {
    if (table !== 'nat' || chain !== KUBE_SERVICES) return true;
    // The NodePort jump matches any local address, so it must come after every service rule.
    const isNodePortJump = (r: ParsedRule) => optionValue(r.args, '--comment')?.startsWith(NODEPORTS_JUMP_COMMENT) === true;
    const firstJump = have.findIndex(isNodePortJump);
    return firstJump < 0 || have.slice(firstJump).every(isNodePortJump);
  }
  return want.every((r, i) => have[i]?.canonical === r.canonical);
}

/** `ns/svc:port -> ip:port` of a SEP chain from its rules, or just its name. */
function describeEndpointChain(chain: string, nat: TableDump): string {
  const rules = nat.rules.get(chain) ?? [];
  const owner = rules.map(commentOwner).find((o) => o !== undefined);
  const dest = rules.map((r) => optionValue(r.args, '--to-destination')).find((d) => d !== undefined);
  return owner && dest ? `${owner} -> ${dest} (${chain})` : chain;
}

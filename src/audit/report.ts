import type { IPFamily } from '../model/ip.js';
import type { ProxyMode } from '../sync/proxier.js';

/** Missing: the API says it should be programmed and it is not. Extra: programmed, not wanted. */
export interface MissingExtra {
  readonly missing: readonly string[];
  readonly extra: readonly string[];
}

/**
 * What one mode's audit found for one family, in terms any mode can fill in: services and
 * endpoints by name (`ns/svc:port`, `ns/svc:port -> ip:port`), and the mode's own kernel objects
 * (iptables chains and rules; nftables chains, sets and maps; IPVS virtual servers).
 */
export interface DriftReport {
  readonly mode: ProxyMode;
  readonly family: IPFamily;
  readonly services: MissingExtra & {
    /** Programmed, but some of their rules or chains differ from what the API asks for. */
    readonly drifted: readonly string[];
  };
  readonly endpoints: MissingExtra;
  /** Kernel containers of rules: `nat KUBE-SVC-…`. */
  readonly chains: MissingExtra;
  /** `nat KUBE-SERVICES: -A KUBE-SERVICES …`, as the generator or iptables-save wrote it. */
  readonly rules: MissingExtra & {
    /** Chains whose rules are all there but in an order that changes what they do. */
    readonly misordered: readonly string[];
  };
  /** How much was compared, so "in sync" is not mistaken for "compared nothing". */
  readonly checked: { readonly services: number; readonly endpoints: number; readonly chains: number; readonly rules: number };
}

export function isInSync(r: DriftReport): boolean {
  return (
    r.services.missing.length + r.services.extra.length + r.services.drifted.length +
      r.endpoints.missing.length + r.endpoints.extra.length +
      r.chains.missing.length + r.chains.extra.length +
      r.rules.missing.length + r.rules.extra.length + r.rules.misordered.length ===
    0
  );
}

/** At most this many lines per section: a wiped table must not print ten thousand rules. */
const SECTION_LIMIT = 50;

function section(lines: string[], title: string, items: readonly string[]): void {
  if (items.length === 0) return;
  lines.push(`  ${title} (${items.length}):`);
  for (const item of items.slice(0, SECTION_LIMIT)) lines.push(`    ${item}`);
  if (items.length > SECTION_LIMIT) lines.push(`    … and ${items.length - SECTION_LIMIT} more`);
}

/** The human-readable report: one header line per family, then only the sections with findings. */
export function formatDriftReport(r: DriftReport): string {
  const c = r.checked;
  const counts = `${c.services} services, ${c.endpoints} endpoints, ${c.chains} chains, ${c.rules} rules checked`;
  const lines = [`${r.mode} ${r.family}: ${isInSync(r) ? 'in sync' : 'DRIFT'} (${counts})`];
  section(lines, 'services missing', r.services.missing);
  section(lines, 'services extra', r.services.extra);
  section(lines, 'services drifted', r.services.drifted);
  section(lines, 'endpoints missing', r.endpoints.missing);
  section(lines, 'endpoints extra', r.endpoints.extra);
  section(lines, 'chains missing', r.chains.missing);
  section(lines, 'chains extra', r.chains.extra);
  section(lines, 'rules missing', r.rules.missing);
  section(lines, 'rules extra', r.rules.extra);
  section(lines, 'chains with rules out of order', r.rules.misordered);
  return lines.join('\n') + '\n';
}

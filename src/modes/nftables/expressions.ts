/**
 * Small builders for the libnftables-json statements this mode writes, so rule code reads like
 * the nft text it stands for. Every shape here has been checked against what nft 1.0.6 lists
 * back (`nft -j list table`): nft silently ignores properties it does not know.
 */
import type { NftJsonExpr, NftJsonMatchOp, NftJsonStatement } from '../../kernel/nftables-json.js';
import type { IPFamily } from '../../model/ip.js';
import { parseCIDR } from '../../model/ip.js';
import type { LocalDetector } from '../../model/local-detector.js';

export type IPKeyword = 'ip' | 'ip6';

export function ipKeyword(family: IPFamily): IPKeyword {
  return family === 'IPv4' ? 'ip' : 'ip6';
}

export function addrType(family: IPFamily): 'ipv4_addr' | 'ipv6_addr' {
  return family === 'IPv4' ? 'ipv4_addr' : 'ipv6_addr';
}

export const saddr = (ip: IPKeyword): NftJsonExpr => ({ payload: { protocol: ip, field: 'saddr' } });
export const daddr = (ip: IPKeyword): NftJsonExpr => ({ payload: { protocol: ip, field: 'daddr' } });
export const thDport: NftJsonExpr = { payload: { protocol: 'th', field: 'dport' } };
export const l4proto: NftJsonExpr = { meta: { key: 'l4proto' } };
export const mark: NftJsonExpr = { meta: { key: 'mark' } };

/** `ip daddr . meta l4proto . th dport`: the key of the service maps. */
export const destinationKey = (ip: IPKeyword): NftJsonExpr => ({ concat: [daddr(ip), l4proto, thDport] });
/** `meta l4proto . th dport`: the key of the node port maps. */
export const nodePortKey: NftJsonExpr = { concat: [l4proto, thDport] };

export function match(left: NftJsonExpr, op: NftJsonMatchOp, right: NftJsonExpr): NftJsonStatement {
  return { match: { op, left, right } };
}

/** A CIDR as nft JSON: a prefix, or the bare address for a host route. */
export function cidrValue(text: string): NftJsonExpr {
  const cidr = parseCIDR(text);
  if (!cidr) return text;
  const bits = cidr.family === 'IPv4' ? 32 : 128;
  return cidr.prefixLength === bits ? cidr.address : { prefix: { addr: cidr.address, len: cidr.prefixLength } };
}

export const jump = (target: string): NftJsonStatement => ({ jump: { target } });
export const goto = (target: string): NftJsonStatement => ({ goto: { target } });
export const drop: NftJsonStatement = { drop: null };
export const ret: NftJsonStatement = { return: null };
/** nft's default reject: ICMP(v6) port unreachable for our single-family tables. */
export const reject: NftJsonStatement = { reject: null };

export const ctStateNew: NftJsonStatement = match({ ct: { key: 'state' } }, 'in', 'new');
export const fibSaddrLocal: NftJsonStatement = match({ fib: { result: 'type', flags: ['saddr'] } }, '==', 'local');
export const fibDaddrLocal: NftJsonStatement = match({ fib: { result: 'type', flags: ['daddr'] } }, '==', 'local');

/** A verdict as map data: `goto chain`, `drop`. */
export type Verdict = { readonly goto: { readonly target: string } } | { readonly drop: null };
export const gotoVerdict = (target: string): Verdict => ({ goto: { target } });
export const dropVerdict: Verdict = { drop: null };

/**
 * The local-traffic detector as nft matches (upstream's IfLocalNFT / IfNotLocalNFT); undefined
 * when there is no detector. Bridge and prefix detectors use `iifname`, which upstream switched to
 * from `iif` because `iif` needs the interface to exist when the rule is loaded.
 */
export function localTrafficMatch(d: LocalDetector, family: IPFamily, local: boolean): NftJsonStatement | undefined {
  const op: NftJsonMatchOp = local ? '==' : '!=';
  switch (d.kind) {
    case 'cidr':
      return match(saddr(ipKeyword(family)), op, cidrValue(d.cidr));
    case 'bridge':
      return match({ meta: { key: 'iifname' } }, op, d.interface);
    case 'prefix':
      return match({ meta: { key: 'iifname' } }, op, `${d.prefix}*`);
    case 'none':
      return undefined;
  }
}

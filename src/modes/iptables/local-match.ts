import type { LocalDetector } from '../../model/local-detector.js';

/** iptables matches for "from a local pod" and its negation, per --detect-local-mode (upstream's LocalTrafficDetector). */
export function ifLocal(d: LocalDetector): string {
  switch (d.kind) {
    case 'cidr':
      return `-s ${d.cidr}`;
    case 'bridge':
      return `-i ${d.interface}`;
    case 'prefix':
      return `-i ${d.prefix}+`;
    case 'none':
      return '';
  }
}

export function ifNotLocal(d: LocalDetector): string {
  switch (d.kind) {
    case 'cidr':
      return `! -s ${d.cidr}`;
    case 'bridge':
      return `! -i ${d.interface}`;
    case 'prefix':
      return `! -i ${d.prefix}+`;
    case 'none':
      return '';
  }
}

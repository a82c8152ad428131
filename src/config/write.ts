import { stringify } from 'yaml';
import type { KubeProxyConfiguration } from './types.js';

/** Recursively sorts object keys, as Go's YAML encoder writes struct fields (by JSON name). */
function sorted(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sorted);
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value as object).sort()) out[key] = sorted((value as Record<string, unknown>)[key]);
  return out;
}

/**
 * The configuration in upstream's v1alpha1 shape, as `kube-proxy --write-config-to` writes it:
 * keys sorted, and the `omitempty` fields (featureGates, windowsRunAsService, logging.vmodule)
 * left out when empty.
 */
export function configurationDocument(config: KubeProxyConfiguration): Record<string, unknown> {
  const doc = structuredClone(config) as unknown as Record<string, unknown>;
  if (Object.keys(config.featureGates).length === 0) delete doc.featureGates;
  if (!config.windowsRunAsService) delete doc.windowsRunAsService;
  const logging = doc.logging as Record<string, unknown>;
  if (logging.vmodule === undefined || (Array.isArray(logging.vmodule) && logging.vmodule.length === 0)) delete logging.vmodule;
  return sorted(doc) as Record<string, unknown>;
}

export function serializeConfiguration(config: KubeProxyConfiguration): string {
  return stringify(configurationDocument(config));
}

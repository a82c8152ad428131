import { readFile } from 'node:fs/promises';
import { parse } from 'yaml';
import { CONFIG_API_VERSION, CONFIG_KIND, defaultConfiguration, type KubeProxyConfiguration } from './types.js';
import type { FieldError } from './validate.js';
import { applyFileDefaults } from './defaults.js';
import { formatDuration } from './duration.js';

/** Fields whose content is free-form (maps or structures we accept without checking keys). */
const FREE_FORM = new Set(['featureGates', 'logging.options', 'winkernel']);
/** List fields that may also be null in the file format. */
const NULLABLE_LISTS = new Set(['nodePortAddresses', 'ipvs.excludeCIDRs']);
/** Durations that may also be given as a number of nanoseconds. */
const NANOSECOND_DURATIONS = new Set(['logging.flushFrequency']);
/** Fields upstream omits when empty, so they are absent from our defaults but still accepted. */
const OPTIONAL_LISTS = new Set(['logging.vmodule']);

export class ConfigFileError extends Error {
  constructor(
    readonly path: string,
    readonly errors: readonly FieldError[],
  ) {
    super(`invalid configuration file ${path}: ${errors.map((e) => `${e.field}: ${e.message}`).join('; ')}`);
    this.name = 'ConfigFileError';
  }
}

function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'list';
  return typeof v === 'object' ? 'object' : typeof v;
}

/** Overlays `input` on `target` (the defaults), refusing unknown fields and wrong types. */
function overlay(target: Record<string, unknown>, input: Record<string, unknown>, prefix: string, errors: FieldError[]): void {
  for (const [key, value] of Object.entries(input)) {
    const field = prefix ? `${prefix}.${key}` : key;
    if (OPTIONAL_LISTS.has(field)) {
      if (value !== null && !Array.isArray(value)) errors.push({ field, message: `must be a list, got ${typeName(value)}` });
      else target[key] = value ?? [];
      continue;
    }
    if (!(key in target)) {
      errors.push({ field, message: 'unknown field' });
      continue;
    }
    const want = target[key];
    if (FREE_FORM.has(field)) {
      if (value !== null && typeName(value) !== 'object') errors.push({ field, message: `must be a map, got ${typeName(value)}` });
      else if (field === 'featureGates' && value) {
        for (const [gate, on] of Object.entries(value as Record<string, unknown>)) {
          if (typeof on !== 'boolean') errors.push({ field: `featureGates.${gate}`, message: 'must be true or false' });
        }
        target[key] = { ...(value as object) };
      } else target[key] = { ...(want as object), ...((value as object | null) ?? {}) };
      continue;
    }
    if (NULLABLE_LISTS.has(field)) {
      if (value !== null && (!Array.isArray(value) || value.some((x) => typeof x !== 'string'))) {
        errors.push({ field, message: 'must be a list of strings' });
      } else target[key] = value;
      continue;
    }
    if (typeName(want) === 'object') {
      if (value === null) continue;
      if (typeName(value) !== 'object') errors.push({ field, message: `must be an object, got ${typeName(value)}` });
      else overlay(want as Record<string, unknown>, value as Record<string, unknown>, field, errors);
      continue;
    }
    if (value === null) continue; // null means "use the default", as with Go pointers.
    // component-base's TimeOrMetaDuration: a duration string, or a number of nanoseconds
    // (kubeadm writes `flushFrequency: 0`).
    if (NANOSECOND_DURATIONS.has(field) && typeof value === 'number' && Number.isFinite(value) && value >= 0) {
      target[key] = formatDuration(value / 1e6);
      continue;
    }
    if (typeName(value) !== typeName(want)) {
      errors.push({ field, message: `must be a ${typeName(want)}, got ${typeName(value)} ${JSON.stringify(value)}` });
      continue;
    }
    target[key] = value;
  }
}

/**
 * Parses a KubeProxyConfiguration document strictly, with upstream's defaults for absent and zero
 * fields. Upstream decodes strictly too, but for v1alpha1 it falls back to a lenient decode that
 * only logs unknown fields; we refuse them so that a typo cannot silently leave a default in
 * place (every field kubeadm and upstream write is known here).
 */
export function parseConfiguration(text: string, path: string): KubeProxyConfiguration {
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (err) {
    throw new ConfigFileError(path, [{ field: '(document)', message: String((err as Error).message ?? err).split('\n')[0]! }]);
  }
  if (typeName(doc) !== 'object') throw new ConfigFileError(path, [{ field: '(document)', message: 'is not a YAML/JSON object' }]);
  const input = doc as Record<string, unknown>;
  const errors: FieldError[] = [];
  if (input.apiVersion !== CONFIG_API_VERSION) errors.push({ field: 'apiVersion', message: `must be ${CONFIG_API_VERSION}, got ${JSON.stringify(input.apiVersion)}` });
  if (input.kind !== CONFIG_KIND) errors.push({ field: 'kind', message: `must be ${CONFIG_KIND}, got ${JSON.stringify(input.kind)}` });
  const config = defaultConfiguration();
  // Absent listener addresses default by the family of bindAddress (applyFileDefaults).
  config.healthzBindAddress = '';
  config.metricsBindAddress = '';
  overlay(config as unknown as Record<string, unknown>, input, '', errors);
  if (errors.length) throw new ConfigFileError(path, errors);
  applyFileDefaults(config);
  return config;
}

export async function loadConfigurationFile(path: string): Promise<KubeProxyConfiguration> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new ConfigFileError(path, [{ field: '(file)', message: String((err as Error).message ?? err) }]);
  }
  return parseConfiguration(text, path);
}

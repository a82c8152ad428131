/**
 * Golden scenarios: `test/golden/<scenario>/input.yaml` (Kubernetes objects) and `scenario.json`
 * (the node's view: name, addresses, config) in; each mode's expected output file beside them.
 * `npm run golden:update` rewrites the expected files; reviewers read the diffs.
 */
import { readdirSync, readFileSync, existsSync, writeFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ChangeTracker } from '../../src/model/tracker.js';
import { parseManifest } from '../../src/sources/manifest-parse.js';
import type { Checkout } from '../../src/model/snapshot.js';
import type { IPFamily } from '../../src/model/ip.js';

export const GOLDEN_DIR = dirname(fileURLToPath(import.meta.url));

export interface ScenarioConfig {
  readonly description: string;
  readonly nodeName: string;
  readonly clusterCIDRs: readonly string[];
  readonly masqueradeMark?: string;
  readonly masqueradeAll?: boolean;
  readonly localhostNodePorts?: boolean;
  readonly nodePortAddresses?: readonly string[];
  /** Addresses on the node's interfaces (for nodePortAddresses matching). */
  readonly localAddresses?: readonly string[];
  readonly families?: readonly IPFamily[];
}

export interface Scenario {
  readonly name: string;
  readonly dir: string;
  readonly config: ScenarioConfig;
  readonly checkout: Checkout;
}

export function scenarioNames(): string[] {
  return readdirSync(GOLDEN_DIR, { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(join(GOLDEN_DIR, d.name, 'input.yaml')))
    .map((d) => d.name)
    .sort();
}

export function loadScenario(name: string): Scenario {
  const dir = join(GOLDEN_DIR, name);
  const config = JSON.parse(readFileSync(join(dir, 'scenario.json'), 'utf8')) as ScenarioConfig;
  const parsed = parseManifest(readFileSync(join(dir, 'input.yaml'), 'utf8'), `${name}/input.yaml`);
  if (parsed.errors.length) throw new Error(parsed.errors.join('; '));
  const tracker = new ChangeTracker({ nodeName: config.nodeName });
  for (const o of parsed.objects) {
    if (o.kind === 'Service') tracker.upsertService(o.object);
    else if (o.kind === 'EndpointSlice') tracker.upsertEndpointSlice(o.object);
    else if (o.object.metadata?.name === config.nodeName) tracker.setNode(o.object);
  }
  return { name, dir, config, checkout: tracker.checkout() };
}

/** Compares with the expected file, or rewrites it when UPDATE_GOLDEN=1. */
export function matchGolden(scenario: Scenario, file: string, actual: string): { expected: string; actual: string; path: string } {
  const path = join(scenario.dir, file);
  if (process.env.UPDATE_GOLDEN === '1' || !existsSync(path)) writeFileSync(path, actual);
  return { expected: readFileSync(path, 'utf8'), actual, path };
}

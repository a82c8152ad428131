#!/usr/bin/env node
/**
 * Runs one Job per node from a Job template and reports per node: how the rule-audit CronJob
 * reaches every node, since a CronJob's own pod runs on just one.
 *   per-node-jobs --template=FILE --namespace=NS [--owner-pod=NAME] [--node-selector=k=v]
 *                 [--timeout=10m] [--drift-exit-code=3]
 * Exit status: 0 every node's Job succeeded, 3 (the drift code) some reported drift and none
 * failed, 1 some failed or did not finish, 2 bad flags.
 */
import { readFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { parse } from 'yaml';
import { parseDuration } from '../config/duration.js';
import { isMain } from './is-main.js';
import { exitCodeFor, formatResults, nodeJob, verdictOf, type KubeObject, type NodeResult, type OwnerRef } from './per-node-plan.js';

/** The few API calls the fan-out makes; kube-fan-out-api.ts implements them with client-node. */
export interface FanOutApi {
  listNodes(labelSelector: string | undefined): Promise<string[]>;
  /** The image of the pod's first container and the Job that owns the pod, if any. */
  describePod(namespace: string, name: string): Promise<{ image: string | undefined; ownerJob: OwnerRef | undefined }>;
  /** Creates the Job, resolves with its name (the server picks it from generateName). */
  createJob(namespace: string, job: KubeObject): Promise<string>;
  /** 'Complete' or 'Failed' once finished, undefined while running. */
  jobState(namespace: string, name: string): Promise<'Complete' | 'Failed' | undefined>;
  /** The last pod's first container: exit code (when terminated) and log tail. */
  jobOutcome(namespace: string, name: string): Promise<{ exitCode: number | undefined; log: string }>;
}

export interface FanOutOptions {
  readonly template: KubeObject;
  readonly namespace: string;
  readonly ownerPod: string | undefined;
  readonly nodeSelector: string | undefined;
  readonly timeoutMs: number;
  readonly pollIntervalMs: number;
  readonly driftExitCode: number;
}

export async function fanOut(api: FanOutApi, opts: FanOutOptions, out: (text: string) => void): Promise<number> {
  const owner = opts.ownerPod ? await api.describePod(opts.namespace, opts.ownerPod) : { image: undefined, ownerJob: undefined };
  const nodes = await api.listNodes(opts.nodeSelector);
  if (nodes.length === 0) {
    out('no nodes match\n');
    return 1;
  }
  const runId = `${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
  const jobs = new Map<string, string>();
  for (const node of nodes) {
    const job = nodeJob(opts.template, { node, runId, ...(owner.image ? { image: owner.image } : {}), ...(owner.ownerJob ? { owner: owner.ownerJob } : {}) });
    jobs.set(node, await api.createJob(opts.namespace, job));
  }
  out(`run ${runId}: ${nodes.length} Jobs created\n`);

  const finished = new Set<string>();
  const deadline = Date.now() + opts.timeoutMs;
  while (finished.size < nodes.length && Date.now() < deadline) {
    for (const [node, job] of jobs) {
      if (!finished.has(node) && (await api.jobState(opts.namespace, job)) !== undefined) finished.add(node);
    }
    if (finished.size < nodes.length) await sleep(opts.pollIntervalMs);
  }

  const results: NodeResult[] = [];
  for (const [node, job] of jobs) {
    const outcome = await api.jobOutcome(opts.namespace, job).catch((err: unknown) => ({ exitCode: undefined, log: `cannot read the outcome: ${String(err)}` }));
    results.push({ node, job, exitCode: outcome.exitCode, log: outcome.log, verdict: verdictOf(finished.has(node), outcome.exitCode, opts.driftExitCode) });
  }
  out(formatResults(results));
  return exitCodeFor(results, opts.driftExitCode);
}

export async function perNodeJobsMain(argv: readonly string[], api: () => Promise<FanOutApi>, out: (text: string) => void): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        template: { type: 'string' },
        namespace: { type: 'string' },
        'owner-pod': { type: 'string' },
        'node-selector': { type: 'string' },
        timeout: { type: 'string', default: '10m' },
        'poll-interval': { type: 'string', default: '2s' },
        'drift-exit-code': { type: 'string', default: '3' },
      },
    }));
  } catch (err) {
    out(`per-node-jobs: ${(err as Error).message}\n`);
    return 2;
  }
  const timeoutMs = parseDuration(values.timeout);
  const pollIntervalMs = parseDuration(values['poll-interval']);
  const driftExitCode = Number(values['drift-exit-code']);
  if (!values.template || !values.namespace || timeoutMs === undefined || pollIntervalMs === undefined || !Number.isInteger(driftExitCode)) {
    out('usage: per-node-jobs --template=FILE --namespace=NS [--owner-pod=NAME] [--node-selector=k=v] [--timeout=10m] [--drift-exit-code=3]\n');
    return 2;
  }
  const template = parse(await readFile(values.template, 'utf8')) as KubeObject;
  return fanOut(
    await api(),
    { template, namespace: values.namespace, ownerPod: values['owner-pod'], nodeSelector: values['node-selector'], timeoutMs, pollIntervalMs, driftExitCode },
    out,
  );
}

if (isMain(import.meta.url)) {
  const { kubeFanOutApi } = await import('./kube-fan-out-api.js');
  process.exitCode = await perNodeJobsMain(process.argv.slice(2), kubeFanOutApi, (text) => process.stdout.write(text));
}

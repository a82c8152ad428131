/**
 * The pure half of the per-node fan-out: from one Job template, the Job for one node; from the
 * finished Jobs' pods, one verdict per node.
 */

export type KubeObject = Record<string, unknown> & {
  metadata?: { name?: string; generateName?: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string>; ownerReferences?: unknown[] };
};

export const RUN_LABEL = 'kube-proxy-ts.io/run';
export const NODE_ANNOTATION = 'kube-proxy-ts.io/node';

export interface OwnerRef {
  readonly apiVersion: string;
  readonly kind: string;
  readonly name: string;
  readonly uid: string;
}

export interface NodeJobOptions {
  readonly node: string;
  readonly runId: string;
  /** Replaces every container's image (the fan-out's own, so one `images:` edit moves both). */
  readonly image?: string;
  /** The fan-out's Job: the per-node Jobs are garbage-collected with it. */
  readonly owner?: OwnerRef;
}

interface PodSpecLike {
  nodeName?: string;
  containers?: { image?: string }[];
  initContainers?: { image?: string }[];
}

/** The template's Job, for one node: pinned with nodeName, named after the template, labelled with the run. */
export function nodeJob(template: KubeObject, opts: NodeJobOptions): KubeObject {
  if (template.kind !== 'Job') throw new Error(`the template is a ${String(template.kind)}, not a Job`);
  const job = structuredClone(template);
  const meta = (job.metadata ??= {});
  const base = meta.generateName ?? (meta.name ? `${meta.name}-` : 'node-job-');
  delete meta.name;
  meta.generateName = base;
  meta.labels = { ...meta.labels, [RUN_LABEL]: opts.runId };
  meta.annotations = { ...meta.annotations, [NODE_ANNOTATION]: opts.node };
  if (opts.owner) meta.ownerReferences = [{ ...opts.owner, controller: false, blockOwnerDeletion: false }];
  const podTemplate = ((job.spec as { template?: { spec?: PodSpecLike; metadata?: { labels?: Record<string, string> } } } | undefined)?.template);
  if (!podTemplate?.spec) throw new Error('the template has no spec.template.spec');
  podTemplate.metadata = { ...podTemplate.metadata, labels: { ...podTemplate.metadata?.labels, [RUN_LABEL]: opts.runId } };
  podTemplate.spec.nodeName = opts.node;
  if (opts.image) {
    for (const c of [...(podTemplate.spec.containers ?? []), ...(podTemplate.spec.initContainers ?? [])]) c.image = opts.image;
  }
  return job;
}

export type NodeVerdict = 'ok' | 'drift' | 'failed' | 'timeout';

export interface NodeResult {
  readonly node: string;
  readonly job: string;
  readonly verdict: NodeVerdict;
  /** The main container's exit code, when it ran to the end. */
  readonly exitCode: number | undefined;
  readonly log: string;
}

/** What a finished per-node Job means: exit 0 is in sync, `driftExitCode` drift, anything else a failure. */
export function verdictOf(finished: boolean, exitCode: number | undefined, driftExitCode: number): NodeVerdict {
  if (!finished) return 'timeout';
  if (exitCode === 0) return 'ok';
  if (exitCode === driftExitCode) return 'drift';
  return 'failed';
}

/** The fan-out's exit status: drift beats nothing, a failure or timeout beats drift. */
export function exitCodeFor(results: readonly NodeResult[], driftExitCode: number): number {
  if (results.some((r) => r.verdict === 'failed' || r.verdict === 'timeout')) return 1;
  if (results.some((r) => r.verdict === 'drift')) return driftExitCode;
  return 0;
}

const WORDS: Record<NodeVerdict, string> = { ok: 'in sync', drift: 'DRIFT', failed: 'FAILED', timeout: 'TIMEOUT' };

/** One line per node, then the logs of every node that is not in sync. */
export function formatResults(results: readonly NodeResult[]): string {
  const width = Math.max(4, ...results.map((r) => r.node.length));
  const lines = [`${'NODE'.padEnd(width)}  RESULT   JOB`];
  for (const r of results) {
    const word = WORDS[r.verdict] + (r.verdict === 'failed' && r.exitCode !== undefined ? ` (exit ${r.exitCode})` : '');
    lines.push(`${r.node.padEnd(width)}  ${word.padEnd(7)}  ${r.job}`);
  }
  for (const r of results) {
    if (r.verdict === 'ok') continue;
    lines.push('', `--- ${r.node} (${r.job}):`, r.log.trimEnd() || '(no log)');
  }
  return lines.join('\n') + '\n';
}

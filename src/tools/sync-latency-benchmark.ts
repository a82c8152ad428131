#!/usr/bin/env node
/**
 * Measures how fast every proxy in the cluster programs new Services: creates N Services with
 * one EndpointSlice each in a scratch namespace, waits until every proxy has observed them in
 * kubeproxy_network_programming_duration_seconds, prints per-node and overall figures from the
 * histogram deltas, and deletes the namespace (also when interrupted or failing).
 *   sync-latency-benchmark [--services=100] [--endpoints-per-service=5] [--proxy-namespace=kube-proxy-ts]
 *     [--proxy-selector=k8s-app=kube-proxy-ts] [--metrics-port=10249] [--timeout=10m] [--mode-label=NAME]
 * Exit status: 0 every proxy programmed everything, 1 otherwise, 2 bad flags.
 */
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { parseDuration } from '../config/duration.js';
import { benchEndpointSlice, benchService, MANAGED_BY } from './bench-objects.js';
import { histogramDelta, histogramMean, histogramOf, histogramQuantile, histogramSum, type Histogram } from './histogram.js';
import { isMain } from './is-main.js';
import { parsePrometheusText, type Sample } from './prom-text.js';

export const NETWORK_PROGRAMMING = 'kubeproxy_network_programming_duration_seconds';
export const SYNC_DURATION = 'kubeproxy_sync_proxy_rules_duration_seconds';
const LAST_SYNC = 'kubeproxy_sync_proxy_rules_last_timestamp_seconds';
/** Dual-stack proxies observe once per family: count one family, as single-stack upstream does. */
const ONE_FAMILY = { ip_family: 'IPv4' };

export interface ProxyPod {
  readonly node: string;
  /** The pod's IP: the node's, since proxies run on the host network. */
  readonly ip: string;
}

export interface BenchApi {
  listProxyPods(namespace: string, labelSelector: string): Promise<ProxyPod[]>;
  createNamespace(name: string, labels: Record<string, string>): Promise<void>;
  deleteNamespace(name: string): Promise<void>;
  create(namespace: string, object: Record<string, unknown>): Promise<void>;
  /** GET http://host:port/path as text. */
  fetchText(url: string): Promise<string>;
}

export interface BenchOptions {
  readonly services: number;
  readonly endpointsPerService: number;
  readonly proxyNamespace: string;
  readonly proxySelector: string;
  readonly metricsPort: number;
  readonly timeoutMs: number;
  readonly pollIntervalMs: number;
  readonly concurrency: number;
  /** Shown in the summary instead of what /proxyMode answers (e.g. "upstream-iptables"). */
  readonly modeLabel: string | undefined;
  /** Stops the wait early (SIGTERM); what was created is deleted all the same. */
  readonly signal?: AbortSignal;
}

export interface NodeFigures {
  readonly node: string;
  readonly mode: string;
  readonly complete: boolean;
  readonly networkProgramming: Histogram;
  readonly sync: Histogram;
  /** Seconds from the first create to the node's last sync that included everything. */
  readonly allProgrammedAfter: number | undefined;
}

function url(pod: ProxyPod, port: number, path: string): string {
  return `http://${pod.ip.includes(':') ? `[${pod.ip}]` : pod.ip}:${port}${path}`;
}

async function scrape(api: BenchApi, pod: ProxyPod, port: number): Promise<Sample[]> {
  return parsePrometheusText(await api.fetchText(url(pod, port, '/metrics')));
}

function gauge(samples: readonly Sample[], name: string): number | undefined {
  const values = samples.filter((s) => s.name === name).map((s) => s.value);
  return values.length ? Math.max(...values) : undefined;
}

async function inBatches<T>(items: readonly T[], size: number, work: (item: T) => Promise<void>): Promise<void> {
  for (let i = 0; i < items.length; i += size) await Promise.all(items.slice(i, i + size).map(work));
}

export async function runBenchmark(api: BenchApi, opts: BenchOptions, log: (text: string) => void): Promise<{ figures: NodeFigures[]; ok: boolean }> {
  const pods = await api.listProxyPods(opts.proxyNamespace, opts.proxySelector);
  if (pods.length === 0) throw new Error(`no proxy pods match ${opts.proxySelector} in ${opts.proxyNamespace}`);
  const modes = new Map<string, string>();
  const before = new Map<string, Sample[]>();
  for (const pod of pods) {
    before.set(pod.node, await scrape(api, pod, opts.metricsPort));
    modes.set(pod.node, opts.modeLabel ?? (await api.fetchText(url(pod, opts.metricsPort, '/proxyMode')).catch(() => '?')).trim());
  }

  const namespace = `kpts-bench-${randomBytes(3).toString('hex')}`;
  log(`creating ${opts.services} Services x ${opts.endpointsPerService} endpoints in ${namespace}; ${pods.length} proxies\n`);
  await api.createNamespace(namespace, { 'app.kubernetes.io/managed-by': MANAGED_BY });
  const startedAt = Date.now();
  const done = new Map<string, NodeFigures>();
  try {
    const indexes = Array.from({ length: opts.services }, (_, i) => i);
    await inBatches(indexes, opts.concurrency, async (i) => {
      await api.create(namespace, benchService(i));
      await api.create(namespace, benchEndpointSlice(i, opts.endpointsPerService, new Date()));
    });
    log(`created in ${((Date.now() - startedAt) / 1000).toFixed(1)} s; waiting for every proxy\n`);

    const deadline = startedAt + opts.timeoutMs;
    for (;;) {
      for (const pod of pods) {
        if (done.has(pod.node)) continue;
        const now = await scrape(api, pod, opts.metricsPort).catch(() => undefined);
        if (!now) continue;
        const base = before.get(pod.node)!;
        const np = histogramDelta(histogramOf(now, NETWORK_PROGRAMMING, ONE_FAMILY), histogramOf(base, NETWORK_PROGRAMMING, ONE_FAMILY));
        if (np.count < opts.services && Date.now() < deadline) continue;
        const lastSync = gauge(now, LAST_SYNC);
        done.set(pod.node, {
          node: pod.node,
          mode: modes.get(pod.node)!,
          complete: np.count >= opts.services,
          networkProgramming: np,
          sync: histogramDelta(histogramOf(now, SYNC_DURATION, ONE_FAMILY), histogramOf(base, SYNC_DURATION, ONE_FAMILY)),
          allProgrammedAfter: np.count >= opts.services && lastSync !== undefined ? Math.max(0, lastSync - startedAt / 1000) : undefined,
        });
      }
      if (done.size === pods.length) break;
      if (opts.signal?.aborted) throw new Error('interrupted');
      await sleep(opts.pollIntervalMs);
    }
  } finally {
    await api.deleteNamespace(namespace).then(
      () => log(`deleted ${namespace}\n`),
      (err: unknown) => log(`could not delete ${namespace}: ${String(err)}; delete it by hand\n`),
    );
  }
  const figures = pods.map((p) => done.get(p.node)!);
  return { figures, ok: figures.every((f) => f.complete) };
}

const seconds = (v: number | undefined): string => (v === undefined ? '-' : v < 1 ? `${(v * 1000).toFixed(0)}ms` : `${v.toFixed(2)}s`);

/** The per-node table and one SUMMARY line of key=value pairs that scripts can read. */
export function formatFigures(figures: readonly NodeFigures[], opts: Pick<BenchOptions, 'services' | 'endpointsPerService'>): string {
  const rows = [['NODE', 'MODE', 'SYNCS', 'SYNC p50', 'SYNC p99', 'PROGRAMMED', 'NETPROG p50', 'p90', 'p99', 'ALL AFTER']];
  for (const f of figures) {
    rows.push([
      f.node,
      f.mode,
      String(f.sync.count),
      seconds(histogramQuantile(f.sync, 0.5)),
      seconds(histogramQuantile(f.sync, 0.99)),
      `${f.networkProgramming.count}/${opts.services}`,
      seconds(histogramQuantile(f.networkProgramming, 0.5)),
      seconds(histogramQuantile(f.networkProgramming, 0.9)),
      seconds(histogramQuantile(f.networkProgramming, 0.99)),
      seconds(f.allProgrammedAfter),
    ]);
  }
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  const table = rows.map((r) => r.map((cell, c) => cell.padEnd(widths[c]!)).join('  ').trimEnd()).join('\n');
  const np = histogramSum(figures.map((f) => f.networkProgramming));
  const sync = histogramSum(figures.map((f) => f.sync));
  const after = figures.map((f) => f.allProgrammedAfter).filter((v): v is number => v !== undefined);
  const num = (v: number | undefined): string => (v === undefined ? 'NA' : v.toFixed(3));
  const summary = [
    `mode=${[...new Set(figures.map((f) => f.mode))].join('+') || 'NA'}`,
    `nodes=${figures.length}`,
    `services=${opts.services}`,
    `endpoints=${opts.services * opts.endpointsPerService}`,
    `complete=${figures.every((f) => f.complete)}`,
    `netprog_p50=${num(histogramQuantile(np, 0.5))}`,
    `netprog_p90=${num(histogramQuantile(np, 0.9))}`,
    `netprog_p99=${num(histogramQuantile(np, 0.99))}`,
    `netprog_mean=${num(histogramMean(np))}`,
    `sync_p50=${num(histogramQuantile(sync, 0.5))}`,
    `sync_p99=${num(histogramQuantile(sync, 0.99))}`,
    `syncs=${sync.count}`,
    `all_programmed_max=${num(after.length ? Math.max(...after) : undefined)}`,
  ];
  return `${table}\nSUMMARY ${summary.join(' ')}\n`;
}

export async function benchmarkMain(argv: readonly string[], api: () => Promise<BenchApi>, out: (text: string) => void, signal?: AbortSignal): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        services: { type: 'string', default: '100' },
        'endpoints-per-service': { type: 'string', default: '5' },
        'proxy-namespace': { type: 'string', default: 'kube-proxy-ts' },
        'proxy-selector': { type: 'string', default: 'k8s-app=kube-proxy-ts' },
        'metrics-port': { type: 'string', default: '10249' },
        timeout: { type: 'string', default: '10m' },
        'poll-interval': { type: 'string', default: '500ms' },
        concurrency: { type: 'string', default: '10' },
        'mode-label': { type: 'string' },
      },
    }));
  } catch (err) {
    out(`sync-latency-benchmark: ${(err as Error).message}\n`);
    return 2;
  }
  const int = (v: string, min: number): number | undefined => (/^\d+$/.test(v) && Number(v) >= min ? Number(v) : undefined);
  const services = int(values.services, 1);
  const endpointsPerService = int(values['endpoints-per-service'], 1);
  const metricsPort = int(values['metrics-port'], 1);
  const concurrency = int(values.concurrency, 1);
  const timeoutMs = parseDuration(values.timeout);
  const pollIntervalMs = parseDuration(values['poll-interval']);
  if (
    services === undefined || endpointsPerService === undefined || metricsPort === undefined || concurrency === undefined ||
    timeoutMs === undefined || pollIntervalMs === undefined || services * endpointsPerService > 131072
  ) {
    out('sync-latency-benchmark: --services, --endpoints-per-service, --metrics-port and --concurrency take positive integers (at most 131072 endpoints in all), --timeout and --poll-interval durations\n');
    return 2;
  }
  const opts: BenchOptions = {
    services,
    endpointsPerService,
    proxyNamespace: values['proxy-namespace'],
    proxySelector: values['proxy-selector'],
    metricsPort,
    timeoutMs,
    pollIntervalMs,
    concurrency,
    modeLabel: values['mode-label'],
    ...(signal ? { signal } : {}),
  };
  const result = await runBenchmark(await api(), opts, out);
  out(formatFigures(result.figures, opts));
  return result.ok ? 0 : 1;
}

if (isMain(import.meta.url)) {
  const { kubeBenchApi } = await import('./kube-bench-api.js');
  const controller = new AbortController();
  // The scratch namespace goes on SIGTERM too (activeDeadlineSeconds, a deleted Job).
  process.once('SIGTERM', () => controller.abort());
  process.exitCode = await benchmarkMain(process.argv.slice(2), kubeBenchApi, (text) => process.stdout.write(text), controller.signal).catch((err: unknown) => {
    process.stderr.write(`sync-latency-benchmark: ${String(err)}\n`);
    return 1;
  });
}

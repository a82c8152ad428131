import { Counter, type Registry } from 'prom-client';
import type { KubernetesObject } from '@kubernetes/client-node';
import type { RuntimeSettings } from '../../config/runtime.js';
import type { ExtraOptions, KubeProxyConfiguration } from '../../config/types.js';
import { parseDuration } from '../../config/duration.js';
import { namespacedName, type EndpointSlice, type Service } from '../../model/k8s.js';
import type { Logger } from '../../util/log.js';
import type { ObjectSink } from '../sink.js';
import { connect } from './client.js';
import { InformerSupervisor, timingsForWatchTimeout, DEFAULT_TIMINGS, type SupervisorStatus, type SupervisorTimings } from './informer-supervisor.js';
import { ownNodeHandler } from './node.js';
import { TokenBucket } from './rate-limiter.js';
import { ReadinessGate } from './readiness-gate.js';
import { endpointSlicesResource, ownNodeResource, servicesResource } from './resources.js';

/** How long the first sync waits for this node's Node object (upstream retries for about 30 s). */
export const NODE_WAIT_MS = 30_000;

export interface KubernetesSourceInput {
  readonly config: KubeProxyConfiguration;
  readonly extra: ExtraOptions;
  readonly settings: RuntimeSettings;
  readonly sink: ObjectSink;
  readonly log: Logger;
  /** Where to register the informer restart counter (the proxy's /metrics registry). */
  readonly registry?: Registry;
  /** Tests: replace the timings derived from --api-watch-timeout. */
  readonly timings?: Partial<SupervisorTimings>;
  readonly nodeWaitMs?: number;
}

export interface KubernetesSource {
  /** Resolves once Services and EndpointSlices have been listed and passed on. */
  readonly ready: Promise<void>;
  status(): SupervisorStatus[];
  stop(): Promise<void>;
}

/** client-go's defaulting: QPS 0 means 5 and burst 0 means 10; a negative QPS means no limit. */
function rateLimiterFor(config: KubeProxyConfiguration): TokenBucket {
  const qps = config.clientConnection.qps === 0 ? 5 : config.clientConnection.qps;
  const burst = config.clientConnection.burst === 0 ? 10 : config.clientConnection.burst;
  return new TokenBucket(qps, burst);
}

function timingsFrom(extra: ExtraOptions): SupervisorTimings {
  const ms = extra.apiWatchTimeout ? parseDuration(extra.apiWatchTimeout) : undefined;
  return ms && ms > 0 ? timingsForWatchTimeout(ms) : DEFAULT_TIMINGS;
}

/**
 * Follows the API like upstream's informers: Services and EndpointSlices with the upstream label
 * selector, this node's Node by field selector, each kept alive by an InformerSupervisor. Throws
 * KubeConnectionError when the connection settings are unusable.
 */
export function startKubernetesSource(input: KubernetesSourceInput): KubernetesSource {
  const { config, extra, settings, sink, log } = input;
  const connection = connect({ kubeconfig: config.clientConnection.kubeconfig, master: extra.master });
  log.info({ server: connection.server, via: connection.source, node: settings.nodeName }, 'Connecting to the Kubernetes API');
  if (config.clientConnection.contentType.includes('protobuf')) {
    log.debug({ contentType: config.clientConnection.contentType }, 'client-node speaks JSON only; clientConnection.contentType is ignored');
  }
  const kc = connection.kubeConfig;
  const limiter = rateLimiterFor(config);
  const timings = { ...timingsFrom(extra), ...input.timings };
  const restarts = input.registry
    ? ((input.registry.getSingleMetric('kubeproxy_ts_informer_restarts_total') as Counter | undefined) ??
      new Counter({
        name: 'kubeproxy_ts_informer_restarts_total',
        help: 'Informers restarted after an error or a stale watch, by resource and reason',
        labelNames: ['resource', 'reason'],
        registers: [input.registry],
      }))
    : undefined;

  const gate = new ReadinessGate(sink, settings.nodeName, input.nodeWaitMs ?? NODE_WAIT_MS, log);
  const common = { kubeConfig: kc, limiter, log, timings };
  const supervisors: InformerSupervisor<KubernetesObject>[] = [
    new InformerSupervisor({
      ...common,
      resource: ownNodeResource(kc, settings.nodeName),
      handler: ownNodeHandler(sink, () => gate.nodeSeen()),
      onRestart: (reason) => restarts?.inc({ resource: 'nodes', reason }),
    }),
    new InformerSupervisor({
      ...common,
      resource: servicesResource(kc),
      handler: {
        upsert: (obj) => sink.upsertService(obj as Service),
        remove: (obj) => sink.deleteService(namespacedName(obj as Service)),
      },
      onSynced: () => gate.servicesListed(),
      onRestart: (reason) => restarts?.inc({ resource: 'services', reason }),
    }),
    new InformerSupervisor({
      ...common,
      resource: endpointSlicesResource(kc),
      handler: {
        upsert: (obj) => sink.upsertEndpointSlice(obj as EndpointSlice),
        remove: (obj) => sink.deleteEndpointSlice(namespacedName(obj as EndpointSlice)),
      },
      onSynced: () => gate.endpointSlicesListed(),
      onRestart: (reason) => restarts?.inc({ resource: 'endpointslices', reason }),
    }),
  ];
  gate.start();
  for (const s of supervisors) s.start();
  return {
    ready: gate.ready,
    status: () => supervisors.map((s) => s.status()),
    stop: async () => {
      gate.stop();
      limiter.stop();
      await Promise.all(supervisors.map((s) => s.stop()));
    },
  };
}

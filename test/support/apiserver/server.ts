import { mkdtemp, rm, unlink } from 'node:fs/promises';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { isIP, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createApiHandler, type ApiSettings } from './api-handler.js';
import { createServingCertificates } from './certificates.js';
import type { ApiServerControl, CompactSpec, ObjectRef, RuntimeSettings, WaitForWatchesSpec } from './control-api.js';
import { createControlHandler } from './control-handler.js';
import { ENDPOINT_SLICE_STRATEGY } from './endpointslice-strategy.js';
import { FaultInjector, type DelaySpec, type FailSpec, type InterruptSpec, type StallSpec } from './faults.js';
import { writeKubeconfig } from './kubeconfig.js';
import { ObjectStore } from './object-store.js';
import { pollUntil } from './poll.js';
import { RequestLog, type RequestFilter, type RequestRecord } from './request-log.js';
import { ResourceVersionClock } from './resource-version-clock.js';
import { RESOURCE_TYPES } from './resources.js';
import { DEFAULT_SERVICE_CIDRS, type ServiceCidrs } from './service-allocations.js';
import { serviceStrategy } from './service-strategy.js';
import { ApiError, forbidden } from './status.js';
import { PASSTHROUGH_STRATEGY } from './strategy.js';
import { RESOURCE_NAMES, type KubeObject, type ResourceName } from './types.js';
import { WatchRegistry, type DropWatchesSpec, type WatchTarget } from './watch-registry.js';
import type { WatchInfo } from './watch-stream.js';

/**
 * A Kubernetes API server for tests: Services, EndpointSlices, Nodes and ServiceCIDRs with the
 * real list/watch protocol over HTTPS (or HTTP), a kubeconfig that client-node accepts, and
 * hooks to break it in the ways real API servers break.
 */

export interface TestApiServerOptions {
  /** Address to listen on; default 127.0.0.1. An address inside a network namespace works when the process runs there. */
  host?: string;
  /** Port; default 0 (any free port). */
  port?: number;
  /** Host written into the URL and kubeconfig when `host` is a wildcard; default `host` (127.0.0.1 for 0.0.0.0, ::1 for ::). */
  advertiseHost?: string;
  /** HTTPS with a fresh CA (default true). With false, plain HTTP and `insecure-skip-tls-verify` in the kubeconfig. */
  tls?: boolean;
  /** Extra DNS names or IPs for the serving certificate. */
  certificateHosts?: string[];
  /** Require `Authorization: Bearer <token>`; the kubeconfig carries it. Default: no authentication. */
  token?: string;
  /** User named in 403 messages. Default `system:kube-proxy`. */
  userName?: string;
  /** Events kept per resource for watches to resume from. Default 1000. */
  eventLogCapacity?: number;
  /** resourceVersion the clock starts at. Default 1000. */
  initialResourceVersion?: number;
  serviceCidrs?: ServiceCidrs;
  /** Also serve the control API (HTTP) on this Unix socket, for tests driving a server in another process. */
  controlSocketPath?: string;
  /** Directory for the kubeconfig and certificates; default a fresh temporary directory, removed at stop. */
  workDir?: string;
  bookmarkIntervalMs?: number;
  expiredWatchResponse?: RuntimeSettings['expiredWatchResponse'];
  defaultWatchTimeoutSeconds?: number;
  tooLargeResourceVersionWaitMs?: number;
}

function urlHost(host: string): string {
  return isIP(host) === 6 ? `[${host}]` : host;
}

function defaultAdvertiseHost(host: string): string {
  if (host === '0.0.0.0') return '127.0.0.1';
  if (host === '::') return '::1';
  return host;
}

function listen(server: Server, options: { host: string; port: number } | { path: string }): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(options, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

export class TestApiServer implements ApiServerControl {
  readonly url: string;
  readonly kubeconfigPath: string;
  readonly workDir: string;
  /** PEM of the CA that signed the serving certificate; undefined for plain HTTP. */
  readonly caPem: string | undefined;
  readonly caFile: string | undefined;
  readonly token: string | undefined;
  readonly controlSocketPath: string | undefined;
  /** Direct, synchronous access for in-process tests. */
  readonly stores: Readonly<Record<ResourceName, ObjectStore>>;
  readonly clock: ResourceVersionClock;
  readonly faults: FaultInjector;
  readonly requestLog: RequestLog;
  readonly watches: WatchRegistry;
  private readonly settings: ApiSettings;
  private readonly apiServer: Server;
  private readonly controlServer: Server | undefined;
  private readonly ownsWorkDir: boolean;
  private readonly sleeps = new Set<{ timer: NodeJS.Timeout; resolve: () => void }>();
  private readonly heldOpen = new Set<ServerResponse>();
  private stopped = false;

  private constructor(init: {
    url: string;
    kubeconfigPath: string;
    workDir: string;
    ownsWorkDir: boolean;
    caPem: string | undefined;
    caFile: string | undefined;
    token: string | undefined;
    controlSocketPath: string | undefined;
    stores: Record<ResourceName, ObjectStore>;
    clock: ResourceVersionClock;
    faults: FaultInjector;
    requestLog: RequestLog;
    watches: WatchRegistry;
    settings: ApiSettings;
    apiServer: Server;
    controlServer: Server | undefined;
  }) {
    this.url = init.url;
    this.kubeconfigPath = init.kubeconfigPath;
    this.workDir = init.workDir;
    this.ownsWorkDir = init.ownsWorkDir;
    this.caPem = init.caPem;
    this.caFile = init.caFile;
    this.token = init.token;
    this.controlSocketPath = init.controlSocketPath;
    this.stores = init.stores;
    this.clock = init.clock;
    this.faults = init.faults;
    this.requestLog = init.requestLog;
    this.watches = init.watches;
    this.settings = init.settings;
    this.apiServer = init.apiServer;
    this.controlServer = init.controlServer;
  }

  static async start(options: TestApiServerOptions = {}): Promise<TestApiServer> {
    const host = options.host ?? '127.0.0.1';
    const advertiseHost = options.advertiseHost ?? defaultAdvertiseHost(host);
    const tls = options.tls ?? true;
    const ownsWorkDir = options.workDir === undefined;
    const workDir = options.workDir ?? (await mkdtemp(join(tmpdir(), 'kube-proxy-ts-apiserver-')));
    const clock = new ResourceVersionClock(options.initialResourceVersion ?? 1000);
    const capacity = options.eventLogCapacity ?? 1000;
    const strategies = { services: serviceStrategy(options.serviceCidrs ?? DEFAULT_SERVICE_CIDRS), endpointslices: ENDPOINT_SLICE_STRATEGY, nodes: PASSTHROUGH_STRATEGY, servicecidrs: PASSTHROUGH_STRATEGY };
    const stores = Object.fromEntries(
      RESOURCE_NAMES.map((name) => [name, new ObjectStore({ type: RESOURCE_TYPES[name], clock, strategy: strategies[name], logCapacity: capacity })]),
    ) as Record<ResourceName, ObjectStore>;
    const userName = options.userName ?? 'system:kube-proxy';
    const faults = new FaultInjector(userName, (resource, verb, namespace, user) => forbidden(resource, RESOURCE_TYPES[resource].group, verb, namespace, user));
    const requestLog = new RequestLog();
    const watches = new WatchRegistry();
    const settings: ApiSettings = {
      token: options.token,
      bookmarkIntervalMs: options.bookmarkIntervalMs ?? 60000,
      defaultWatchTimeoutSeconds: options.defaultWatchTimeoutSeconds,
      tooLargeResourceVersionWaitMs: options.tooLargeResourceVersionWaitMs ?? 3000,
      expiredWatchResponse: options.expiredWatchResponse ?? 'event',
    };

    try {
      const certificates = tls ? await createServingCertificates(workDir, [host, advertiseHost, ...(options.certificateHosts ?? [])]) : undefined;
      // The handler needs the server object (for sleeps and held responses), which needs the handler: late binding.
      let self: TestApiServer | undefined;
      let boundAddress = '';
      const handler = createApiHandler({
        stores,
        clock,
        registry: watches,
        faults,
        requestLog,
        settings,
        serverAddress: () => boundAddress,
        sleep: (ms) => (self ? self.sleep(ms) : Promise.resolve()),
        holdOpen: (response) => self?.holdOpen(response),
      });
      const apiServer: Server = certificates
        ? (createHttpsServer({ key: certificates.keyPem, cert: certificates.certPem }, handler) as unknown as Server)
        : createHttpServer(handler);
      await listen(apiServer, { host, port: options.port ?? 0 });
      const port = (apiServer.address() as AddressInfo).port;
      boundAddress = `${urlHost(advertiseHost)}:${port}`;
      const url = `${tls ? 'https' : 'http'}://${boundAddress}`;
      const kubeconfigPath = join(workDir, 'kubeconfig');
      await writeKubeconfig(kubeconfigPath, { server: url, caPem: certificates?.caPem, token: options.token });

      let controlServer: Server | undefined;
      if (options.controlSocketPath !== undefined) {
        await unlink(options.controlSocketPath).catch(() => undefined);
        controlServer = createHttpServer((request: IncomingMessage, response: ServerResponse) => {
          if (self) createControlHandler(self)(request, response);
        });
        await listen(controlServer, { path: options.controlSocketPath });
      }

      self = new TestApiServer({
        url,
        kubeconfigPath,
        workDir,
        ownsWorkDir,
        caPem: certificates?.caPem,
        caFile: certificates?.caFile,
        token: options.token,
        controlSocketPath: options.controlSocketPath,
        stores,
        clock,
        faults,
        requestLog,
        watches,
        settings,
        apiServer,
        controlServer,
      });
      return self;
    } catch (error) {
      if (ownsWorkDir) await rm(workDir, { recursive: true, force: true });
      throw error;
    }
  }

  /** Ends every watch and connection, cancels pending delays, removes the temporary directory. Idempotent. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    for (const sleep of this.sleeps) {
      clearTimeout(sleep.timer);
      sleep.resolve();
    }
    this.sleeps.clear();
    this.watches.destroyAll();
    for (const response of this.heldOpen) response.destroy();
    this.heldOpen.clear();
    await Promise.all([closeServer(this.apiServer), this.controlServer ? closeServer(this.controlServer) : Promise.resolve()]);
    if (this.controlSocketPath !== undefined) await unlink(this.controlSocketPath).catch(() => undefined);
    if (this.ownsWorkDir) await rm(this.workDir, { recursive: true, force: true });
  }

  // --- objects -------------------------------------------------------------------------------

  async create(resource: ResourceName, object: KubeObject): Promise<KubeObject> {
    return this.stores[resource].create(object.metadata?.namespace, object);
  }

  async replace(resource: ResourceName, object: KubeObject): Promise<KubeObject> {
    return this.stores[resource].update(object.metadata?.namespace, object.metadata?.name ?? '', object);
  }

  async replaceStatus(resource: ResourceName, object: KubeObject): Promise<KubeObject> {
    return this.stores[resource].update(object.metadata?.namespace, object.metadata?.name ?? '', object, 'status');
  }

  async patch(resource: ResourceName, ref: ObjectRef, mergePatch: Record<string, unknown>): Promise<KubeObject> {
    return this.stores[resource].patch(ref.namespace, ref.name, 'merge', mergePatch);
  }

  async apply(resource: ResourceName, object: KubeObject): Promise<KubeObject> {
    const store = this.stores[resource];
    const existing = store.get(object.metadata?.namespace ?? 'default', object.metadata?.name ?? '');
    if (!existing) return store.create(object.metadata?.namespace, object);
    const unconditional = structuredClone(object);
    delete unconditional.metadata.resourceVersion;
    return store.update(existing.metadata.namespace, existing.metadata.name ?? '', unconditional);
  }

  async remove(resource: ResourceName, ref: ObjectRef): Promise<KubeObject | undefined> {
    const store = this.stores[resource];
    if (!store.get(ref.namespace, ref.name)) return undefined;
    return store.delete(ref.namespace, ref.name);
  }

  async get(resource: ResourceName, ref: ObjectRef): Promise<KubeObject | undefined> {
    return this.stores[resource].get(ref.namespace, ref.name);
  }

  async list(resource: ResourceName, namespace?: string): Promise<KubeObject[]> {
    return this.stores[resource].snapshot().items.filter((o) => namespace === undefined || o.metadata.namespace === namespace);
  }

  async currentResourceVersion(): Promise<string> {
    return String(this.clock.current());
  }

  // --- faults on the next requests --------------------------------------------------------------

  async failNext(spec: FailSpec): Promise<void> {
    this.faults.failNext(spec);
  }

  async delayNext(spec: DelaySpec): Promise<void> {
    this.faults.delayNext(spec);
  }

  async stallNext(spec: StallSpec = {}): Promise<void> {
    this.faults.stallNext(spec);
  }

  async dropNext(spec: InterruptSpec = {}): Promise<void> {
    this.faults.dropNext(spec);
  }

  async closeNextWatches(spec: InterruptSpec = {}): Promise<void> {
    this.faults.closeNextWatches(spec);
  }

  async clearFaults(): Promise<void> {
    this.faults.clear();
  }

  // --- faults on open watches ----------------------------------------------------------------------

  async dropWatches(spec: DropWatchesSpec = {}): Promise<number> {
    return this.watches.drop(spec);
  }

  async closeWatches(target: WatchTarget = {}): Promise<number> {
    return this.watches.close(target);
  }

  async stallWatches(target: WatchTarget = {}): Promise<number> {
    return this.watches.stall(target);
  }

  async expireWatches(target: WatchTarget = {}): Promise<number> {
    return this.watches.expire(target, (resource) => this.stores[resource].log.compactedThrough + 1);
  }

  // --- history ---------------------------------------------------------------------------------

  async compact(spec: CompactSpec = {}): Promise<void> {
    const upTo = spec.resourceVersion ?? this.clock.current();
    for (const name of spec.resource ? [spec.resource] : RESOURCE_NAMES) this.stores[name].log.compact(upTo);
  }

  async expireHistory(target: WatchTarget = {}): Promise<string> {
    // Watches resume *after* the version they hold, which is usually the current one; only a newer
    // compaction point makes it too old, so move the clock first (like an unrelated write would).
    const rv = this.clock.next();
    await this.compact({ ...(target.resource ? { resource: target.resource } : {}), resourceVersion: rv });
    return String(rv);
  }

  async configure(settings: Partial<RuntimeSettings>): Promise<void> {
    if (settings.bookmarkIntervalMs !== undefined) this.settings.bookmarkIntervalMs = settings.bookmarkIntervalMs;
    if (settings.expiredWatchResponse !== undefined) this.settings.expiredWatchResponse = settings.expiredWatchResponse;
    if ('defaultWatchTimeoutSeconds' in settings) this.settings.defaultWatchTimeoutSeconds = settings.defaultWatchTimeoutSeconds;
    if (settings.tooLargeResourceVersionWaitMs !== undefined) this.settings.tooLargeResourceVersionWaitMs = settings.tooLargeResourceVersionWaitMs;
  }

  // --- observation ---------------------------------------------------------------------------

  async requests(filter: RequestFilter = {}): Promise<RequestRecord[]> {
    return this.requestLog.find(filter);
  }

  async latestRequestSeq(): Promise<number> {
    return this.requestLog.latestSeq();
  }

  async clearRequests(): Promise<void> {
    this.requestLog.clear();
  }

  async activeWatches(target: WatchTarget = {}): Promise<WatchInfo[]> {
    return this.watches.info(target);
  }

  async waitForRequest(filter: RequestFilter, timeoutMs = 10000): Promise<RequestRecord> {
    return pollUntil(() => this.requestLog.find(filter)[0], timeoutMs, `a request matching ${JSON.stringify(filter)}`);
  }

  async waitForWatches(spec: WaitForWatchesSpec = {}, timeoutMs = 10000): Promise<WatchInfo[]> {
    const count = spec.count ?? 1;
    const target: WatchTarget = spec.resource ? { resource: spec.resource } : {};
    return pollUntil(
      () => {
        const open = this.watches.info(target).filter((w) => spec.afterId === undefined || w.id > spec.afterId);
        return open.length >= count ? open : undefined;
      },
      timeoutMs,
      `${count} open watch(es) matching ${JSON.stringify(spec)}`,
    );
  }

  // --- plumbing used by the HTTP handler ---------------------------------------------------------

  private sleep(ms: number): Promise<void> {
    if (this.stopped) return Promise.resolve();
    return new Promise((resolve) => {
      const entry = {
        timer: setTimeout(() => {
          this.sleeps.delete(entry);
          resolve();
        }, ms),
        resolve,
      };
      this.sleeps.add(entry);
    });
  }

  private holdOpen(response: ServerResponse): void {
    this.heldOpen.add(response);
    response.on('close', () => this.heldOpen.delete(response));
  }
}

/** True when `error` is the server's Status failure with this code (handy in assertions). */
export function isApiError(error: unknown, code?: number): error is ApiError {
  return error instanceof ApiError && (code === undefined || error.code === code);
}


import { request } from 'node:http';
import type { ApiServerControl, CompactSpec, ControlOperation, ObjectRef, RuntimeSettings, WaitForWatchesSpec } from './control-api.js';
import type { DelaySpec, FailSpec, InterruptSpec, StallSpec } from './faults.js';
import type { RequestFilter, RequestRecord } from './request-log.js';
import { ApiError, type StatusBody } from './status.js';
import type { KubeObject, ResourceName } from './types.js';
import type { DropWatchesSpec, WatchTarget } from './watch-registry.js';
import type { WatchInfo } from './watch-stream.js';

/**
 * A test API server running in another process (typically inside a network namespace), driven
 * over its control socket. A Unix socket is reachable from every network namespace, which is why
 * the control channel does not use TCP.
 */

// JSON has no Infinity; "until cleared" counts travel as the largest safe integer.
function replacer(_key: string, value: unknown): unknown {
  return value === Infinity ? Number.MAX_SAFE_INTEGER : value;
}

export class RemoteApiServer implements ApiServerControl {
  readonly url: string;
  readonly kubeconfigPath: string;
  readonly controlSocketPath: string;

  constructor(init: { url: string; kubeconfigPath: string; controlSocketPath: string }) {
    this.url = init.url;
    this.kubeconfigPath = init.kubeconfigPath;
    this.controlSocketPath = init.controlSocketPath;
  }

  private call<T>(operation: ControlOperation, args: unknown[], timeoutMs = 60000): Promise<T> {
    const body = JSON.stringify(args, replacer);
    return new Promise<T>((resolve, reject) => {
      const req = request(
        { socketPath: this.controlSocketPath, path: `/control/${operation}`, method: 'POST', headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) }, timeout: timeoutMs },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('error', reject);
          res.on('end', () => {
            try {
              const reply = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { result?: unknown; error?: { message: string; status?: StatusBody } };
              if (reply.error) reject(reply.error.status ? new ApiError(reply.error.status) : new Error(reply.error.message));
              else resolve((reply.result ?? undefined) as T);
            } catch (error) {
              reject(error as Error);
            }
          });
        },
      );
      req.on('timeout', () => req.destroy(new Error(`control ${operation} timed out after ${timeoutMs} ms`)));
      req.on('error', reject);
      req.end(body);
    });
  }

  create(resource: ResourceName, object: KubeObject): Promise<KubeObject> {
    return this.call('create', [resource, object]);
  }
  replace(resource: ResourceName, object: KubeObject): Promise<KubeObject> {
    return this.call('replace', [resource, object]);
  }
  replaceStatus(resource: ResourceName, object: KubeObject): Promise<KubeObject> {
    return this.call('replaceStatus', [resource, object]);
  }
  patch(resource: ResourceName, ref: ObjectRef, mergePatch: Record<string, unknown>): Promise<KubeObject> {
    return this.call('patch', [resource, ref, mergePatch]);
  }
  apply(resource: ResourceName, object: KubeObject): Promise<KubeObject> {
    return this.call('apply', [resource, object]);
  }
  remove(resource: ResourceName, ref: ObjectRef): Promise<KubeObject | undefined> {
    return this.call('remove', [resource, ref]);
  }
  get(resource: ResourceName, ref: ObjectRef): Promise<KubeObject | undefined> {
    return this.call('get', [resource, ref]);
  }
  list(resource: ResourceName, namespace?: string): Promise<KubeObject[]> {
    return this.call('list', namespace === undefined ? [resource] : [resource, namespace]);
  }
  currentResourceVersion(): Promise<string> {
    return this.call('currentResourceVersion', []);
  }

  failNext(spec: FailSpec): Promise<void> {
    return this.call('failNext', [spec]);
  }
  delayNext(spec: DelaySpec): Promise<void> {
    return this.call('delayNext', [spec]);
  }
  stallNext(spec: StallSpec = {}): Promise<void> {
    return this.call('stallNext', [spec]);
  }
  dropNext(spec: InterruptSpec = {}): Promise<void> {
    return this.call('dropNext', [spec]);
  }
  closeNextWatches(spec: InterruptSpec = {}): Promise<void> {
    return this.call('closeNextWatches', [spec]);
  }
  clearFaults(): Promise<void> {
    return this.call('clearFaults', []);
  }

  dropWatches(spec: DropWatchesSpec = {}): Promise<number> {
    return this.call('dropWatches', [spec]);
  }
  closeWatches(target: WatchTarget = {}): Promise<number> {
    return this.call('closeWatches', [target]);
  }
  stallWatches(target: WatchTarget = {}): Promise<number> {
    return this.call('stallWatches', [target]);
  }
  expireWatches(target: WatchTarget = {}): Promise<number> {
    return this.call('expireWatches', [target]);
  }

  compact(spec: CompactSpec = {}): Promise<void> {
    return this.call('compact', [spec]);
  }
  expireHistory(target: WatchTarget = {}): Promise<string> {
    return this.call('expireHistory', [target]);
  }
  configure(settings: Partial<RuntimeSettings>): Promise<void> {
    return this.call('configure', [settings]);
  }

  requests(filter: RequestFilter = {}): Promise<RequestRecord[]> {
    return this.call('requests', [filter]);
  }
  latestRequestSeq(): Promise<number> {
    return this.call('latestRequestSeq', []);
  }
  clearRequests(): Promise<void> {
    return this.call('clearRequests', []);
  }
  activeWatches(target: WatchTarget = {}): Promise<WatchInfo[]> {
    return this.call('activeWatches', [target]);
  }
  waitForRequest(filter: RequestFilter, timeoutMs = 10000): Promise<RequestRecord> {
    return this.call('waitForRequest', [filter, timeoutMs], timeoutMs + 5000);
  }
  waitForWatches(spec: WaitForWatchesSpec = {}, timeoutMs = 10000): Promise<WatchInfo[]> {
    return this.call('waitForWatches', [spec, timeoutMs], timeoutMs + 5000);
  }
}

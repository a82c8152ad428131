import type { IncomingMessage, ServerResponse } from 'node:http';
import { apiGroupDocument, apiGroupList, apiResourceList, apiVersions, versionInfo } from './discovery.js';
import type { FaultInjector, RequestFaults } from './faults.js';
import { readJsonBody, sendError, sendHalfAndDestroy, sendJson, sendText } from './http-io.js';
import { listObjects } from './list-objects.js';
import type { ObjectFilter } from './object-filter.js';
import { patchTypeForContentType, type DeletePreconditions, type ObjectStore } from './object-store.js';
import { parseReadOptions } from './read-options.js';
import type { RequestLog, RequestRecord } from './request-log.js';
import type { ResourceVersionClock } from './resource-version-clock.js';
import { parseRoute, type Route } from './routes.js';
import { ApiError, badRequest, internalError, methodNotAllowed, pathNotFound, unauthorized } from './status.js';
import { startWatch, type ExpiredWatchResponse } from './start-watch.js';
import type { KubeObject, ResourceName, Verb } from './types.js';
import type { WatchRegistry } from './watch-registry.js';

/**
 * The HTTP face of the server: routes a request, logs it, checks the bearer token, applies the
 * armed faults, then runs the verb against the resource's store.
 */

export interface ApiSettings {
  token: string | undefined;
  bookmarkIntervalMs: number;
  defaultWatchTimeoutSeconds: number | undefined;
  tooLargeResourceVersionWaitMs: number;
  expiredWatchResponse: ExpiredWatchResponse;
}

export interface ApiHandlerContext {
  stores: Readonly<Record<ResourceName, ObjectStore>>;
  clock: ResourceVersionClock;
  registry: WatchRegistry;
  faults: FaultInjector;
  requestLog: RequestLog;
  settings: ApiSettings;
  /** host:port clients reach us at, for `/api`'s serverAddressByClientCIDRs. */
  serverAddress: () => string;
  /** Sleeps that end early (resolving) when the server stops. */
  sleep: (ms: number) => Promise<void>;
  /** Responses deliberately left unanswered (stalls); destroyed when the server stops. */
  holdOpen: (response: ServerResponse) => void;
}

type ResourceRoute = Extract<Route, { kind: 'resource' }>;

function verbFor(method: string, route: ResourceRoute, watchParam: boolean): Verb | undefined {
  const named = route.name !== undefined;
  switch (method) {
    case 'GET':
      if (watchParam) return 'watch';
      return named ? 'get' : 'list';
    case 'POST':
      // Creating through the all-namespaces path of a namespaced resource is not a thing.
      return !named && !(route.type.namespaced && route.namespace === undefined) ? 'create' : undefined;
    case 'PUT':
      return named ? 'update' : undefined;
    case 'PATCH':
      return named ? 'patch' : undefined;
    case 'DELETE':
      return named ? 'delete' : undefined;
    default:
      return undefined;
  }
}

function queryRecord(params: URLSearchParams): Record<string, string> {
  const record: Record<string, string> = {};
  for (const [key, value] of params) record[key] = value;
  return record;
}

function isTrue(value: string | null): boolean {
  return value === 'true' || value === '1';
}

function deletePreconditions(body: unknown): DeletePreconditions {
  const pre = (body as { preconditions?: DeletePreconditions } | undefined)?.preconditions;
  const result: DeletePreconditions = {};
  if (pre?.uid) result.uid = pre.uid;
  if (pre?.resourceVersion) result.resourceVersion = pre.resourceVersion;
  return result;
}

function successStatus(store: ObjectStore, deleted: KubeObject): Record<string, unknown> {
  return {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Success',
    details: { name: deleted.metadata.name, group: store.type.group, kind: store.type.name, uid: deleted.metadata.uid },
  };
}

function asObject(body: unknown): KubeObject {
  if (body === undefined || body === null || typeof body !== 'object' || Array.isArray(body)) throw badRequest('the request body must be a JSON object');
  return body as KubeObject;
}

function respondDiscovery(ctx: ApiHandlerContext, document: Extract<Route, { kind: 'discovery' }>['document'], response: ServerResponse): void {
  if (document === 'health') return sendText(response, 200, 'ok');
  if (document === 'version') return sendJson(response, 200, versionInfo());
  if (document === 'api') return sendJson(response, 200, apiVersions(ctx.serverAddress()));
  if (document === 'apis') return sendJson(response, 200, apiGroupList());
  const body = 'group' in document ? apiGroupDocument(document.group) : apiResourceList(document.groupVersion);
  if (!body) return sendError(response, pathNotFound());
  sendJson(response, 200, body);
}

async function runVerb(ctx: ApiHandlerContext, verb: Verb, route: ResourceRoute, request: IncomingMessage, response: ServerResponse, url: URL, faults: RequestFaults): Promise<void> {
  const store = ctx.stores[route.type.name];
  const namespace = route.namespace;
  const reply = (code: number, body: unknown): void => {
    if (faults.drop) sendHalfAndDestroy(response, code, body);
    else sendJson(response, code, body);
  };
  switch (verb) {
    case 'list':
    case 'watch': {
      const options = parseReadOptions(url.searchParams, route.type, verb === 'watch');
      const filter: ObjectFilter = { namespace, labelSelector: options.labelSelector, fieldSelector: options.fieldSelector };
      if (route.name !== undefined) filter.name = route.name;
      if (verb === 'list') {
        const body = await listObjects({ store, clock: ctx.clock, filter, consistency: options.consistency, limit: options.limit, tooLargeResourceVersionWaitMs: ctx.settings.tooLargeResourceVersionWaitMs });
        return reply(200, body);
      }
      await startWatch({
        store,
        clock: ctx.clock,
        registry: ctx.registry,
        filter,
        options,
        response,
        query: queryRecord(url.searchParams),
        faults,
        bookmarkIntervalMs: ctx.settings.bookmarkIntervalMs,
        defaultTimeoutSeconds: ctx.settings.defaultWatchTimeoutSeconds,
        tooLargeResourceVersionWaitMs: ctx.settings.tooLargeResourceVersionWaitMs,
        expiredWatchResponse: ctx.settings.expiredWatchResponse,
      });
      return;
    }
    case 'get': {
      const object = store.getOrThrow(namespace, route.name ?? '');
      return reply(200, object);
    }
    case 'create':
      return reply(201, store.create(namespace, asObject(await readJsonBody(request))));
    case 'update':
      return reply(200, store.update(namespace, route.name ?? '', asObject(await readJsonBody(request)), route.subresource));
    case 'patch': {
      const patchType = patchTypeForContentType(request.headers['content-type']);
      const body = await readJsonBody(request);
      return reply(200, store.patch(namespace, route.name ?? '', patchType, body, route.subresource));
    }
    case 'delete': {
      const deleted = store.delete(namespace, route.name ?? '', deletePreconditions(await readJsonBody(request)));
      // Services answer a delete with the object; most other resources with a Success Status.
      return reply(200, route.type.name === 'services' ? deleted : successStatus(store, deleted));
    }
  }
}

function recordStatus(response: ServerResponse, record: RequestRecord): void {
  const writeHead = response.writeHead.bind(response) as (...args: unknown[]) => ServerResponse;
  (response as { writeHead: (...args: unknown[]) => ServerResponse }).writeHead = (...args: unknown[]) => {
    record.status = args[0] as number;
    return writeHead(...args);
  };
}

export function createApiHandler(ctx: ApiHandlerContext): (request: IncomingMessage, response: ServerResponse) => void {
  return (request, response) => {
    void handle(ctx, request, response).catch((error: unknown) => {
      if (response.headersSent || response.destroyed) return;
      sendError(response, error instanceof ApiError ? error : internalError((error as Error).message ?? String(error)));
    });
  };
}

async function handle(ctx: ApiHandlerContext, request: IncomingMessage, response: ServerResponse): Promise<void> {
  const url = new URL(request.url ?? '/', 'http://placeholder');
  const method = (request.method ?? 'GET').toUpperCase();
  const route = parseRoute(url.pathname);
  const entry: Omit<RequestRecord, 'seq' | 'time'> = { method, path: url.pathname, query: queryRecord(url.searchParams) };
  let verb: Verb | undefined;
  if (route.kind === 'resource') {
    verb = verbFor(method, route, isTrue(url.searchParams.get('watch')));
    entry.resource = route.type.name;
    if (route.namespace !== undefined) entry.namespace = route.namespace;
    if (route.name !== undefined) entry.name = route.name;
    if (route.subresource !== undefined) entry.subresource = route.subresource;
    if (verb !== undefined) entry.verb = verb;
  }
  const record = ctx.requestLog.add(entry);
  recordStatus(response, record);

  const token = ctx.settings.token;
  if (token !== undefined && request.headers.authorization !== `Bearer ${token}`) return sendError(response, unauthorized());
  if (route.kind === 'unknown') return sendError(response, pathNotFound());
  if (route.kind === 'discovery') return respondDiscovery(ctx, route.document, response);
  if (verb === undefined) return sendError(response, methodNotAllowed(method));

  const faults = ctx.faults.take(route.type.name, verb, route.namespace);
  if (faults.labels.length > 0) record.fault = faults.labels.join(',');
  if (faults.delayMs > 0) await ctx.sleep(faults.delayMs);
  if (response.destroyed) return;
  if (faults.fail) return sendError(response, faults.fail);
  if (faults.stall && verb !== 'watch') {
    ctx.holdOpen(response);
    return;
  }
  await runVerb(ctx, verb, route, request, response, url, faults);
}

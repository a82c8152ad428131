import { randomBytes, randomUUID } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import { EventLog, type ChangeEvent } from './event-log.js';
import { applyJsonPatch } from './json-patch.js';
import { applyMergePatch } from './merge-patch.js';
import type { ResourceVersionClock } from './resource-version-clock.js';
import { apiVersionOf, storageKey, type ResourceType } from './resources.js';
import { alreadyExists, badRequest, conflict, invalid, notFound, tooOldResourceVersion, unsupportedMediaType, type StatusCause } from './status.js';
import type { ResourceStrategy } from './strategy.js';
import type { KubeObject } from './types.js';

/**
 * The objects of one resource type and their history: create/update/patch/delete with the real
 * server's metadata rules (uid, creationTimestamp, generation, resourceVersion from the shared
 * clock, optimistic concurrency), each committed change appended to the event log and handed to
 * the live watches.
 */

export type PatchType = 'merge' | 'strategic' | 'json';

export interface DeletePreconditions {
  uid?: string;
  resourceVersion?: string;
}

export interface Snapshot {
  resourceVersion: number;
  /** Sorted by storage key (namespace/name), like an etcd range read. */
  items: KubeObject[];
}

export type ChangeListener = (event: ChangeEvent) => void;

const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;

export function patchTypeForContentType(contentType: string | undefined): PatchType {
  const mediaType = (contentType ?? '').split(';')[0]?.trim().toLowerCase();
  switch (mediaType) {
    case 'application/merge-patch+json':
      return 'merge';
    case 'application/strategic-merge-patch+json':
      return 'strategic';
    case 'application/json-patch+json':
      return 'json';
    default:
      throw unsupportedMediaType(contentType ?? '');
  }
}

function timestampNow(): string {
  return new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** Everything except metadata and status: what `metadata.generation` counts changes of. */
function specPart(object: KubeObject): Record<string, unknown> {
  const { metadata: _metadata, status: _status, apiVersion: _apiVersion, kind: _kind, ...rest } = object;
  return rest;
}

export class ObjectStore {
  readonly type: ResourceType;
  readonly log: EventLog;
  private readonly clock: ResourceVersionClock;
  private readonly strategy: ResourceStrategy;
  private readonly objects = new Map<string, KubeObject>();
  private readonly listeners = new Set<ChangeListener>();

  constructor(options: { type: ResourceType; clock: ResourceVersionClock; strategy: ResourceStrategy; logCapacity: number }) {
    this.type = options.type;
    this.clock = options.clock;
    this.strategy = options.strategy;
    this.log = new EventLog(options.logCapacity, options.clock.current());
  }

  subscribe(listener: ChangeListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  get(namespace: string | undefined, name: string): KubeObject | undefined {
    const found = this.objects.get(storageKey(this.scopedNamespace(namespace), name));
    return found ? structuredClone(found) : undefined;
  }

  getOrThrow(namespace: string | undefined, name: string): KubeObject {
    const found = this.get(namespace, name);
    if (!found) throw notFound(this.type.name, this.type.group, name);
    return found;
  }

  /** The state at `resourceVersion` (default: now), rebuilt from the event log; 410 if that history is gone. */
  snapshot(resourceVersion?: number): Snapshot {
    const current = this.clock.current();
    const state = new Map(this.objects);
    if (resourceVersion !== undefined && resourceVersion < current) {
      if (!this.log.covers(resourceVersion)) {
        throw tooOldResourceVersion(String(resourceVersion), String(this.log.compactedThrough + 1));
      }
      for (const event of this.log.after(resourceVersion).reverse()) {
        if (event.type === 'ADDED') state.delete(event.key);
        else if (event.previous) state.set(event.key, event.previous);
      }
    }
    const keys = [...state.keys()].sort();
    return {
      resourceVersion: resourceVersion !== undefined && resourceVersion < current ? resourceVersion : current,
      items: keys.map((k) => structuredClone(state.get(k) as KubeObject)),
    };
  }

  create(namespace: string | undefined, body: KubeObject): KubeObject {
    const object = this.normalizeBody(structuredClone(body), namespace);
    const meta = object.metadata;
    if (!meta.name && meta.generateName) meta.name = `${meta.generateName}${randomBytes(4).toString('hex').slice(0, 5)}`;
    this.validateName(meta.name);
    const name = meta.name as string;
    const key = storageKey(meta.namespace, name);
    if (this.objects.has(key)) throw alreadyExists(this.type.name, this.type.group, name);
    if (!this.type.keepsStatusOnCreate) delete object.status;
    this.strategy.prepareForCreate(object, [...this.objects.values()]);
    this.throwIfInvalid(object, undefined);
    meta.uid = randomUUID();
    meta.creationTimestamp = timestampNow();
    meta.generation = 1;
    delete meta.deletionTimestamp;
    return this.commit('ADDED', key, object, undefined);
  }

  update(namespace: string | undefined, name: string, body: KubeObject, subresource?: 'status'): KubeObject {
    const next = this.normalizeBody(structuredClone(body), namespace);
    if (next.metadata.name !== name) {
      throw badRequest(`the name of the object (${String(next.metadata.name)}) does not match the name on the URL (${name})`);
    }
    return this.replace(next, subresource);
  }

  patch(namespace: string | undefined, name: string, patchType: PatchType, patch: unknown, subresource?: 'status'): KubeObject {
    const current = this.getOrThrow(namespace, name);
    const patched = (patchType === 'json' ? applyJsonPatch(current, patch) : applyMergePatch(current, patch)) as KubeObject;
    if (patched === null || typeof patched !== 'object' || typeof patched.metadata !== 'object' || patched.metadata === null) {
      throw badRequest('the patch removed the object metadata');
    }
    // A patch carries a resourceVersion only when the client asks for optimistic concurrency.
    const patchedRv = patched.metadata.resourceVersion;
    if (patchedRv === current.metadata.resourceVersion) delete patched.metadata.resourceVersion;
    return this.update(namespace, name, patched, subresource);
  }

  delete(namespace: string | undefined, name: string, preconditions: DeletePreconditions = {}): KubeObject {
    const current = this.getOrThrow(namespace, name);
    const uidMismatch = preconditions.uid !== undefined && preconditions.uid !== current.metadata.uid;
    const rvMismatch = preconditions.resourceVersion !== undefined && preconditions.resourceVersion !== current.metadata.resourceVersion;
    if (uidMismatch || rvMismatch) throw conflict(this.type.name, this.type.group, name);
    const key = storageKey(current.metadata.namespace, name);
    return this.commit('DELETED', key, current, current);
  }

  /** Number of stored objects; for assertions. */
  get size(): number {
    return this.objects.size;
  }

  private replace(next: KubeObject, subresource: 'status' | undefined): KubeObject {
    const name = next.metadata.name as string;
    const key = storageKey(next.metadata.namespace, name);
    const previous = this.objects.get(key);
    if (!previous) throw notFound(this.type.name, this.type.group, name);
    const requestedRv = next.metadata.resourceVersion;
    if (requestedRv !== undefined && requestedRv !== '' && requestedRv !== previous.metadata.resourceVersion) {
      throw conflict(this.type.name, this.type.group, name);
    }
    let object: KubeObject;
    if (subresource === 'status') {
      object = { ...structuredClone(previous), status: structuredClone(next.status) };
    } else {
      object = next;
      if (this.type.hasStatusSubresource) {
        if (previous.status === undefined) delete object.status;
        else object.status = structuredClone(previous.status);
      }
      this.strategy.prepareForUpdate(object, structuredClone(previous), [...this.objects.values()]);
    }
    // Server-owned metadata cannot be changed by a client.
    object.metadata.uid = previous.metadata.uid;
    object.metadata.creationTimestamp = previous.metadata.creationTimestamp;
    const generation = previous.metadata.generation ?? 1;
    object.metadata.generation = isDeepStrictEqual(specPart(object), specPart(previous)) ? generation : generation + 1;
    object.metadata.resourceVersion = previous.metadata.resourceVersion;
    this.throwIfInvalid(object, previous);
    // etcd's guaranteed update skips the write when nothing changed: no new version, no event.
    if (isDeepStrictEqual(object, previous)) return structuredClone(previous);
    return this.commit('MODIFIED', key, object, previous);
  }

  private commit(type: ChangeEvent['type'], key: string, object: KubeObject, previous: KubeObject | undefined): KubeObject {
    const resourceVersion = this.clock.next();
    const stored = structuredClone(object);
    stored.metadata.resourceVersion = String(resourceVersion);
    if (type === 'DELETED') this.objects.delete(key);
    else this.objects.set(key, stored);
    const event: ChangeEvent = { type, resourceVersion, key, object: stored };
    if (previous) event.previous = previous;
    this.log.append(event);
    for (const listener of [...this.listeners]) listener(event);
    return structuredClone(stored);
  }

  private scopedNamespace(namespace: string | undefined): string | undefined {
    return this.type.namespaced ? namespace : undefined;
  }

  /** Sets kind/apiVersion and the namespace from the request path, as the real server does. */
  private normalizeBody(object: KubeObject, pathNamespace: string | undefined): KubeObject {
    if (object === null || typeof object !== 'object' || Array.isArray(object)) throw badRequest('the request body must be a JSON object');
    if (object.metadata === undefined || object.metadata === null || typeof object.metadata !== 'object') object.metadata = {};
    if (object.kind !== undefined && object.kind !== this.type.kind) {
      throw badRequest(`the kind of the object (${String(object.kind)}) does not match the resource (${this.type.kind})`);
    }
    object.kind = this.type.kind;
    object.apiVersion = apiVersionOf(this.type);
    const meta = object.metadata;
    if (this.type.namespaced) {
      const namespace = pathNamespace ?? meta.namespace ?? 'default';
      if (meta.namespace !== undefined && meta.namespace !== '' && meta.namespace !== namespace) {
        throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
      }
      meta.namespace = namespace;
    } else {
      delete meta.namespace;
    }
    return object;
  }

  private validateName(name: string | undefined): void {
    if (!name) throw invalid(this.type.kind, '', [{ field: 'metadata.name', reason: 'FieldValueRequired', message: 'Required value: name or generateName is required' }]);
    const pattern = this.type.name === 'services' ? DNS1035_LABEL : DNS1123_SUBDOMAIN;
    const maxLength = this.type.name === 'services' ? 63 : 253;
    if (name.length > maxLength || !pattern.test(name)) {
      throw invalid(this.type.kind, name, [{ field: 'metadata.name', message: `Invalid value: "${name}": must be a valid ${this.type.name === 'services' ? 'DNS-1035 label' : 'DNS-1123 subdomain'}` }]);
    }
  }

  private throwIfInvalid(object: KubeObject, previous: KubeObject | undefined): void {
    const causes: StatusCause[] = this.strategy.validate(object, previous);
    if (causes.length > 0) throw invalid(this.type.kind, object.metadata.name ?? '', causes);
  }
}

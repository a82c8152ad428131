import type { ApiError } from './status.js';
import { expired, genericStatus, tooManyRequests, unauthorized } from './status.js';
import type { ResourceName, Verb } from './types.js';

/**
 * Faults armed for the next requests that match a resource and verbs. Each rule answers `count`
 * matching requests, then disappears, so tests can inject the same fault again and again.
 * Faults on watches that are already open live in the watch registry instead.
 */

export interface FaultTarget {
  /** Only requests for this resource; omitted: every resource (discovery requests are never faulted). */
  resource?: ResourceName;
  /** Only these verbs; each hook documents its default. */
  verbs?: Verb[];
}

export interface FailSpec extends FaultTarget {
  /** HTTP status to answer with: 500, 429 (with Retry-After), 403, 401, 410, 503, 504, ... */
  status: number;
  count?: number;
  /** For 429 (and any status): the Retry-After header and details.retryAfterSeconds. Default 1. */
  retryAfterSeconds?: number;
  message?: string;
}

export interface DelaySpec extends FaultTarget {
  delayMs: number;
  count?: number;
}

export interface StallSpec extends FaultTarget {
  count?: number;
  /** Watches: send nothing at all, not even the response headers. Default false (headers, then silence). */
  beforeHeaders?: boolean;
}

export interface InterruptSpec extends FaultTarget {
  count?: number;
  /** Watches: deliver this many events normally first. Default 0. */
  afterEvents?: number;
}

/** What the HTTP layer must do with one request; several faults can combine (a delay, then a failure). */
export interface RequestFaults {
  delayMs: number;
  fail?: ApiError;
  stall?: { beforeHeaders: boolean };
  /** Write half a line/body, then destroy the socket. */
  drop?: { afterEvents: number };
  /** Watches only: end the stream cleanly. */
  close?: { afterEvents: number };
  labels: string[];
}

type RuleAction =
  | { kind: 'fail'; spec: FailSpec }
  | { kind: 'delay'; delayMs: number }
  | { kind: 'stall'; beforeHeaders: boolean }
  | { kind: 'drop'; afterEvents: number }
  | { kind: 'close'; afterEvents: number };

interface Rule {
  target: FaultTarget;
  remaining: number;
  action: RuleAction;
}

function errorFor(spec: FailSpec, resource: ResourceName, verb: Verb, namespace: string | undefined, user: string, forbiddenError: (resource: ResourceName, verb: Verb, namespace: string | undefined, user: string) => ApiError): ApiError {
  switch (spec.status) {
    case 429:
      return tooManyRequests(spec.retryAfterSeconds ?? 1);
    case 403:
      return spec.message ? genericStatus(403, spec.message) : forbiddenError(resource, verb, namespace, user);
    case 401:
      return unauthorized();
    case 410:
      return expired(spec.message ?? 'too old resource version: injected fault');
    default: {
      const error = genericStatus(spec.status, spec.message);
      if (spec.retryAfterSeconds !== undefined) {
        error.headers['Retry-After'] = String(spec.retryAfterSeconds);
        error.status.details = { ...(error.status.details ?? {}), retryAfterSeconds: spec.retryAfterSeconds };
      }
      return error;
    }
  }
}

function targets(target: FaultTarget, resource: ResourceName, verb: Verb): boolean {
  return (target.resource === undefined || target.resource === resource) && (target.verbs === undefined || target.verbs.includes(verb));
}

export class FaultInjector {
  private rules: Rule[] = [];
  private readonly user: string;
  private readonly forbiddenError: (resource: ResourceName, verb: Verb, namespace: string | undefined, user: string) => ApiError;

  constructor(user: string, forbiddenError: (resource: ResourceName, verb: Verb, namespace: string | undefined, user: string) => ApiError) {
    this.user = user;
    this.forbiddenError = forbiddenError;
  }

  /** Answer the next `count` (default 1) matching requests (any verb by default) with an error status. */
  failNext(spec: FailSpec): void {
    this.add(spec, spec.count, { kind: 'fail', spec });
  }

  /** Hold the next `count` matching requests (any verb by default) for `delayMs` before handling them. */
  delayNext(spec: DelaySpec): void {
    this.add(spec, spec.count, { kind: 'delay', delayMs: spec.delayMs });
  }

  /** Never answer the next `count` matching requests (watch by default); a watch gets headers, then silence. */
  stallNext(spec: StallSpec = {}): void {
    this.add({ ...spec, verbs: spec.verbs ?? ['watch'] }, spec.count, { kind: 'stall', beforeHeaders: spec.beforeHeaders ?? false });
  }

  /** Break the next `count` matching requests (watch by default) mid-message: half a JSON line or body, then a destroyed socket. */
  dropNext(spec: InterruptSpec = {}): void {
    this.add({ ...spec, verbs: spec.verbs ?? ['watch'] }, spec.count, { kind: 'drop', afterEvents: spec.afterEvents ?? 0 });
  }

  /** End the next `count` matching watches cleanly after `afterEvents` events. */
  closeNextWatches(spec: InterruptSpec = {}): void {
    this.add({ ...spec, verbs: ['watch'] }, spec.count, { kind: 'close', afterEvents: spec.afterEvents ?? 0 });
  }

  clear(): void {
    this.rules = [];
  }

  pending(): number {
    return this.rules.length;
  }

  /** Consumes the rules that match this request and says what to do. */
  take(resource: ResourceName, verb: Verb, namespace: string | undefined): RequestFaults {
    const result: RequestFaults = { delayMs: 0, labels: [] };
    for (const rule of this.rules) {
      if (!targets(rule.target, resource, verb)) continue;
      const action = rule.action;
      // One failure-type outcome per request; delays add up.
      if (action.kind !== 'delay' && (result.fail || result.stall || result.drop || result.close)) continue;
      rule.remaining -= 1;
      switch (action.kind) {
        case 'fail':
          result.fail = errorFor(action.spec, resource, verb, namespace, this.user, this.forbiddenError);
          result.labels.push(`fail:${action.spec.status}`);
          break;
        case 'delay':
          result.delayMs += action.delayMs;
          result.labels.push(`delay:${action.delayMs}`);
          break;
        case 'stall':
          result.stall = { beforeHeaders: action.beforeHeaders };
          result.labels.push('stall');
          break;
        case 'drop':
          result.drop = { afterEvents: action.afterEvents };
          result.labels.push('drop');
          break;
        case 'close':
          result.close = { afterEvents: action.afterEvents };
          result.labels.push('close');
          break;
      }
    }
    this.rules = this.rules.filter((r) => r.remaining > 0);
    return result;
  }

  private add(target: FaultTarget, count: number | undefined, action: RuleAction): void {
    const remaining = count ?? 1;
    if (!(remaining > 0)) return;
    const rule: Rule = { target: {}, remaining, action };
    if (target.resource !== undefined) rule.target.resource = target.resource;
    if (target.verbs !== undefined) rule.target.verbs = [...target.verbs];
    this.rules.push(rule);
  }
}

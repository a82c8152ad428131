import type { KubernetesObject } from '@kubernetes/client-node';
import { pollUntil } from './poll.js';

/**
 * Records what a client-node informer reports (add/update/delete/connect/error) in order, so
 * tests can wait for and assert on its behaviour. Works with anything that has `on(verb, cb)`.
 */

export interface InformerRecord {
  verb: 'add' | 'update' | 'delete' | 'connect' | 'error';
  name?: string;
  namespace?: string;
  resourceVersion?: string;
  error?: unknown;
  time: number;
}

interface InformerLike {
  on(verb: 'add' | 'update' | 'delete', cb: (obj: KubernetesObject) => void): void;
  on(verb: 'error' | 'connect', cb: (err?: unknown) => void): void;
}

export class InformerProbe {
  readonly records: InformerRecord[] = [];

  constructor(informer: InformerLike) {
    for (const verb of ['add', 'update', 'delete'] as const) {
      informer.on(verb, (obj: KubernetesObject) => {
        const record: InformerRecord = { verb, time: Date.now() };
        if (obj.metadata?.name !== undefined) record.name = obj.metadata.name;
        if (obj.metadata?.namespace !== undefined) record.namespace = obj.metadata.namespace;
        if (obj.metadata?.resourceVersion !== undefined) record.resourceVersion = obj.metadata.resourceVersion;
        this.records.push(record);
      });
    }
    informer.on('connect', () => this.records.push({ verb: 'connect', time: Date.now() }));
    informer.on('error', (error?: unknown) => this.records.push({ verb: 'error', error, time: Date.now() }));
  }

  /** Object events only, as "verb name" strings (e.g. "add web"), in order. */
  events(): string[] {
    return this.records.filter((r) => r.verb !== 'connect' && r.verb !== 'error').map((r) => `${r.verb} ${r.name ?? ''}`);
  }

  count(verb: InformerRecord['verb']): number {
    return this.records.filter((r) => r.verb === verb).length;
  }

  errors(): unknown[] {
    return this.records.filter((r) => r.verb === 'error').map((r) => r.error);
  }

  /** Waits for a record matching `predicate` at or after index `from`; returns it. */
  waitFor(predicate: (r: InformerRecord) => boolean, timeoutMs = 10000, from = 0, what = 'an informer record'): Promise<InformerRecord> {
    return pollUntil(() => this.records.slice(from).find(predicate), timeoutMs, what);
  }

  waitForEvent(verb: InformerRecord['verb'], name?: string, timeoutMs = 10000, from = 0): Promise<InformerRecord> {
    return this.waitFor((r) => r.verb === verb && (name === undefined || r.name === name), timeoutMs, from, `informer '${verb}'${name ? ` of ${name}` : ''}`);
  }
}

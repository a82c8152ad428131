import type { ResourceName, Verb } from './types.js';

/** One request as the server saw it, so tests can assert what a client asked for. */
export interface RequestRecord {
  seq: number;
  time: number;
  method: string;
  path: string;
  query: Record<string, string>;
  resource?: ResourceName;
  subresource?: string;
  namespace?: string;
  name?: string;
  verb?: Verb;
  /** HTTP status sent (200 for a watch as soon as its headers are out); absent while pending or if dropped first. */
  status?: number;
  /** The injected fault that answered it, if any (e.g. "fail:500", "delay:200", "stall", "drop"). */
  fault?: string;
}

export interface RequestFilter {
  resource?: ResourceName;
  verb?: Verb;
  method?: string;
  /** Only records with a larger sequence number (take it from `latestRequestSeq`). */
  afterSeq?: number;
}

export function matchesRequestFilter(record: RequestRecord, filter: RequestFilter): boolean {
  return (
    (filter.resource === undefined || record.resource === filter.resource) &&
    (filter.verb === undefined || record.verb === filter.verb) &&
    (filter.method === undefined || record.method === filter.method.toUpperCase()) &&
    (filter.afterSeq === undefined || record.seq > filter.afterSeq)
  );
}

export class RequestLog {
  private records: RequestRecord[] = [];
  private nextSeq = 1;
  private readonly capacity: number;

  constructor(capacity = 20000) {
    this.capacity = capacity;
  }

  add(entry: Omit<RequestRecord, 'seq' | 'time'>): RequestRecord {
    const record: RequestRecord = { seq: this.nextSeq++, time: Date.now(), ...entry };
    this.records.push(record);
    if (this.records.length > this.capacity) this.records.splice(0, this.records.length - this.capacity);
    return record;
  }

  find(filter: RequestFilter = {}): RequestRecord[] {
    return this.records.filter((r) => matchesRequestFilter(r, filter)).map((r) => ({ ...r, query: { ...r.query } }));
  }

  latestSeq(): number {
    return this.nextSeq - 1;
  }

  clear(): void {
    this.records = [];
  }
}

import type { KubeObject } from './types.js';

export type ChangeType = 'ADDED' | 'MODIFIED' | 'DELETED';

/** One committed change. `previous` is what the key held before, needed for selector transitions and history. */
export interface ChangeEvent {
  type: ChangeType;
  resourceVersion: number;
  key: string;
  object: KubeObject;
  previous?: KubeObject;
}

/**
 * The history a watch can resume from, like the API server's watch cache over etcd: bounded,
 * and compactable. Events at or below `compactedThrough` are gone; asking to start from a
 * version older than that is what produces 410 Gone.
 */
export class EventLog {
  private events: ChangeEvent[] = [];
  private compactedThroughValue: number;
  private readonly capacity: number;

  constructor(capacity: number, startingResourceVersion: number) {
    this.capacity = capacity;
    this.compactedThroughValue = startingResourceVersion;
  }

  get compactedThrough(): number {
    return this.compactedThroughValue;
  }

  get size(): number {
    return this.events.length;
  }

  append(event: ChangeEvent): void {
    this.events.push(event);
    while (this.events.length > this.capacity) {
      const dropped = this.events.shift();
      if (dropped) this.compactedThroughValue = Math.max(this.compactedThroughValue, dropped.resourceVersion);
    }
  }

  /** Forgets every event at or below `resourceVersion`. */
  compact(resourceVersion: number): void {
    this.compactedThroughValue = Math.max(this.compactedThroughValue, resourceVersion);
    this.events = this.events.filter((e) => e.resourceVersion > this.compactedThroughValue);
  }

  /** Whether the changes after `resourceVersion` are all still known. */
  covers(resourceVersion: number): boolean {
    return resourceVersion >= this.compactedThroughValue;
  }

  /** Changes strictly after `resourceVersion`, oldest first. Call `covers` first. */
  after(resourceVersion: number): ChangeEvent[] {
    return this.events.filter((e) => e.resourceVersion > resourceVersion);
  }
}

import { EventEmitter } from 'node:events';

/**
 * One counter for every write to every resource, like etcd's revision: resourceVersions are
 * comparable across Services, EndpointSlices and Nodes, and a write to one resource moves the
 * others' "current" version too.
 */
export class ResourceVersionClock {
  private value: number;
  private readonly ticks = new EventEmitter();

  constructor(initial: number) {
    this.value = initial;
    // Every waiting list/watch (too-large resourceVersion) listens here; they are few but can exceed 10.
    this.ticks.setMaxListeners(0);
  }

  current(): number {
    return this.value;
  }

  next(): number {
    this.value += 1;
    this.ticks.emit('tick', this.value);
    return this.value;
  }

  /** Resolves once the clock reaches `target`, or with false after `timeoutMs`. */
  waitFor(target: number, timeoutMs: number): Promise<boolean> {
    if (this.value >= target) return Promise.resolve(true);
    return new Promise((resolve) => {
      const onTick = (value: number): void => {
        if (value < target) return;
        clearTimeout(timer);
        this.ticks.off('tick', onTick);
        resolve(true);
      };
      const timer = setTimeout(() => {
        this.ticks.off('tick', onTick);
        resolve(false);
      }, timeoutMs);
      this.ticks.on('tick', onTick);
    });
  }
}

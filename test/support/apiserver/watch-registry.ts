import type { ChangeEvent } from './event-log.js';
import type { ObjectStore } from './object-store.js';
import { tooOldResourceVersion } from './status.js';
import type { ResourceName } from './types.js';
import type { WatchInfo, WatchStream } from './watch-stream.js';

/** The open watches, and the hooks that act on them right now (drop, close, stall, expire). */

export interface WatchTarget {
  resource?: ResourceName;
}

export interface DropWatchesSpec extends WatchTarget {
  /**
   * 'nextEvent' (default): the next event is cut in half, then the socket is destroyed;
   * 'now': half a BOOKMARK line at once, then the socket is destroyed;
   * 'reset': the socket is destroyed at once, between two events.
   */
  when?: 'nextEvent' | 'now' | 'reset';
}

export class WatchRegistry {
  private readonly streams = new Set<WatchStream>();
  private nextId = 1;

  allocateId(): number {
    return this.nextId++;
  }

  /** Registers the stream and feeds it every later change of its store; returns the unsubscribe function. */
  register(stream: WatchStream, store: ObjectStore): () => void {
    this.streams.add(stream);
    const unsubscribe = store.subscribe((change: ChangeEvent) => stream.deliver(change));
    return () => {
      unsubscribe();
      this.streams.delete(stream);
    };
  }

  list(target: WatchTarget = {}): WatchStream[] {
    return [...this.streams].filter((s) => !s.isEnded && (target.resource === undefined || s.type.name === target.resource));
  }

  info(target: WatchTarget = {}): WatchInfo[] {
    return this.list(target).map((s) => s.info());
  }

  drop(spec: DropWatchesSpec = {}): number {
    const streams = this.list(spec);
    for (const s of streams) {
      const when = spec.when ?? 'nextEvent';
      if (when === 'now') s.dropNow();
      else if (when === 'reset') s.resetNow();
      else s.interruptAfter('drop', 0);
    }
    return streams.length;
  }

  close(target: WatchTarget = {}): number {
    const streams = this.list(target);
    for (const s of streams) s.close();
    return streams.length;
  }

  stall(target: WatchTarget = {}): number {
    const streams = this.list(target);
    for (const s of streams) s.stall();
    return streams.length;
  }

  /** Sends the in-stream ERROR 410 the real server sends when its watch cache falls behind, then ends the streams. */
  expire(target: WatchTarget, oldestAvailable: (resource: ResourceName) => number): number {
    const streams = this.list(target);
    for (const s of streams) {
      const info = s.info();
      const error = tooOldResourceVersion(info.lastResourceVersion ?? info.query.resourceVersion ?? '0', String(oldestAvailable(s.type.name)));
      s.sendErrorAndClose(error.status);
    }
    return streams.length;
  }

  destroyAll(): void {
    for (const s of [...this.streams]) s.destroy();
    this.streams.clear();
  }
}

import type { ServerResponse } from 'node:http';
import type { ChangeEvent } from './event-log.js';
import { matchesFilter, type ObjectFilter } from './object-filter.js';
import { apiVersionOf, type ResourceType } from './resources.js';
import type { StatusBody } from './status.js';
import type { KubeObject, WatchEventType } from './types.js';

/**
 * One open watch: a chunked HTTP response carrying one JSON event per line, exactly as the real
 * server streams them. It applies the request's selectors to every change (an object that stops
 * matching is sent as DELETED with its previous content, one that starts matching as ADDED), sends
 * BOOKMARKs when asked to, ends at `timeoutSeconds`, and can be broken on purpose by the faults.
 */

export interface WatchStreamOptions {
  id: number;
  type: ResourceType;
  filter: ObjectFilter;
  response: ServerResponse;
  /** Current resourceVersion of the whole server, for bookmarks. */
  currentResourceVersion: () => number;
  bookmarkIntervalMs: number | undefined;
  timeoutSeconds: number | undefined;
  query: Record<string, string>;
  onEnd: (stream: WatchStream) => void;
}

export interface WatchInfo {
  id: number;
  resource: string;
  query: Record<string, string>;
  startedAt: number;
  eventsSent: number;
  stalled: boolean;
  /** resourceVersion of the last event or bookmark written. */
  lastResourceVersion: string | undefined;
}

export interface WatchEvent {
  type: WatchEventType;
  object: KubeObject | StatusBody;
}

/** What a change looks like through this watch's filter, or undefined when the watch does not see it. */
export function viewThroughFilter(filter: ObjectFilter, change: ChangeEvent): WatchEvent | undefined {
  const currentPasses = change.type !== 'DELETED' && matchesFilter(filter, change.object);
  const previousPasses = change.previous !== undefined && matchesFilter(filter, change.previous);
  if (change.type === 'DELETED') return previousPasses ? { type: 'DELETED', object: change.object } : undefined;
  if (currentPasses && !previousPasses) return { type: 'ADDED', object: change.object };
  if (currentPasses && previousPasses) return { type: 'MODIFIED', object: change.object };
  if (!currentPasses && previousPasses && change.previous) {
    const gone = structuredClone(change.previous);
    gone.metadata.resourceVersion = String(change.resourceVersion);
    return { type: 'DELETED', object: gone };
  }
  return undefined;
}

export class WatchStream {
  readonly id: number;
  readonly type: ResourceType;
  readonly query: Record<string, string>;
  readonly startedAt = Date.now();
  private readonly options: WatchStreamOptions;
  private readonly response: ServerResponse;
  private eventsSent = 0;
  private stalled = false;
  private ended = false;
  private lastResourceVersion: string | undefined;
  private bookmarkTimer: NodeJS.Timeout | undefined;
  private timeoutTimer: NodeJS.Timeout | undefined;
  /** Armed interruption: after this many more events, break or close the stream. */
  private interruption: { kind: 'drop' | 'close'; afterEvents: number } | undefined;

  constructor(options: WatchStreamOptions) {
    this.options = options;
    this.id = options.id;
    this.type = options.type;
    this.query = options.query;
    this.response = options.response;
    this.response.on('close', () => this.finish());
  }

  get isEnded(): boolean {
    return this.ended;
  }

  info(): WatchInfo {
    return {
      id: this.id,
      resource: this.type.name,
      query: { ...this.query },
      startedAt: this.startedAt,
      eventsSent: this.eventsSent,
      stalled: this.stalled,
      lastResourceVersion: this.lastResourceVersion,
    };
  }

  /** Sends the 200 and the chunked-encoding headers; with `stalled` the stream then stays silent. */
  open(options: { stalled?: boolean; sendHeaders?: boolean } = {}): void {
    this.stalled = options.stalled ?? false;
    if (options.sendHeaders ?? true) {
      this.response.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-cache, private', 'Transfer-Encoding': 'chunked' });
      // Without this the headers wait for the first event, and a quiet watch would look unconnected.
      this.response.flushHeaders();
    }
    if (this.options.timeoutSeconds !== undefined && this.options.timeoutSeconds > 0 && !this.stalled) {
      this.timeoutTimer = setTimeout(() => this.close(), this.options.timeoutSeconds * 1000);
    }
    if (this.options.bookmarkIntervalMs !== undefined && !this.stalled) {
      this.bookmarkTimer = setInterval(() => this.sendBookmark(), this.options.bookmarkIntervalMs);
    }
  }

  /** Arms a break (half a line, then a destroyed socket) or a clean close after `afterEvents` more events. */
  interruptAfter(kind: 'drop' | 'close', afterEvents: number): void {
    this.interruption = { kind, afterEvents };
    if (afterEvents <= 0 && kind === 'close') this.close();
  }

  /** Delivers a committed change, filtered through this watch's selectors. */
  deliver(change: ChangeEvent): void {
    const event = viewThroughFilter(this.options.filter, change);
    if (event) this.send(event);
  }

  send(event: WatchEvent): void {
    if (this.ended || this.stalled) return;
    const line = `${JSON.stringify(event)}\n`;
    if (this.interruption && this.interruption.afterEvents <= 0) {
      if (this.interruption.kind === 'drop') this.writeHalfAndDestroy(line);
      else this.close();
      return;
    }
    if (this.interruption) this.interruption.afterEvents -= 1;
    this.response.write(line);
    this.eventsSent += 1;
    const rv = (event.object as KubeObject).metadata?.resourceVersion;
    if (typeof rv === 'string') this.lastResourceVersion = rv;
  }

  sendBookmark(annotations?: Record<string, string>): void {
    const metadata: Record<string, unknown> = { resourceVersion: String(this.options.currentResourceVersion()) };
    if (annotations) metadata.annotations = annotations;
    this.sendRaw({ type: 'BOOKMARK', object: { kind: this.type.kind, apiVersion: apiVersionOf(this.type), metadata } as KubeObject });
  }

  /** An ERROR event carrying a Status (e.g. 410 Expired), then the end of the stream, as the real server does. */
  sendErrorAndClose(status: StatusBody): void {
    // Explicitly requested, so it reaches the client even on a stalled stream.
    this.stalled = false;
    this.sendRaw({ type: 'ERROR', object: status });
    this.close();
  }

  /** Ends the chunked response properly: the client sees a clean end of stream. */
  close(): void {
    if (this.ended) return;
    this.response.end();
    this.finish();
  }

  /** Breaks the connection in the middle of a JSON line; the client sees a truncated chunked body. */
  dropNow(): void {
    if (this.ended) return;
    const metadata = { resourceVersion: String(this.options.currentResourceVersion()) };
    this.writeHalfAndDestroy(`${JSON.stringify({ type: 'BOOKMARK', object: { kind: this.type.kind, apiVersion: apiVersionOf(this.type), metadata } })}\n`);
  }

  /** Kills the connection between two events: no partial line, but no terminating chunk either. */
  resetNow(): void {
    if (this.ended) return;
    const socket = this.response.socket;
    this.finish();
    socket?.destroy();
    this.response.destroy();
  }

  /** Keeps the connection open but sends nothing more: no events, no bookmarks. */
  stall(): void {
    this.stalled = true;
    // A hung connection does not honour timeoutSeconds either; only the client can give up on it.
    this.clearTimers();
  }

  /** Abrupt end without writing anything (server shutdown). */
  destroy(): void {
    if (this.ended) return;
    this.response.destroy();
    this.finish();
  }

  private sendRaw(event: WatchEvent): void {
    if (this.ended || this.stalled) return;
    this.response.write(`${JSON.stringify(event)}\n`);
    const rv = (event.object as KubeObject).metadata?.resourceVersion;
    if (typeof rv === 'string') this.lastResourceVersion = rv;
  }

  private writeHalfAndDestroy(line: string): void {
    const half = line.slice(0, Math.max(1, Math.floor(line.length / 2)));
    const socket = this.response.socket;
    this.finish();
    // Destroy only once the half line is on the wire, so the client really sees a partial event.
    this.response.write(half, () => {
      socket?.destroy();
      this.response.destroy();
    });
  }

  private clearTimers(): void {
    if (this.bookmarkTimer) clearInterval(this.bookmarkTimer);
    this.bookmarkTimer = undefined;
    if (this.timeoutTimer) {
      clearTimeout(this.timeoutTimer);
      this.timeoutTimer = undefined;
    }
  }

  private finish(): void {
    if (this.ended) return;
    this.ended = true;
    this.clearTimers();
    this.options.onEnd(this);
  }
}

import { watch, type FSWatcher } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { EndpointSlice, Node, Service } from '../model/k8s.js';
import { namespacedName } from '../model/k8s.js';
import { deepEqual } from '../model/equal.js';
import type { Logger } from '../util/log.js';
import { parseManifest, type ProxyObject } from './manifest-parse.js';
import type { ObjectSink } from './sink.js';

const MANIFEST_FILE = /\.(ya?ml|json)$/i;

interface FileState {
  readonly mtimeMs: number;
  readonly size: number;
  readonly objects: readonly ProxyObject[];
}

export interface ManifestSourceOptions {
  readonly dir: string;
  readonly nodeName: string;
  readonly sink: ObjectSink;
  readonly log: Logger;
  /** Rescan interval; fs.watch misses some editors' rename-over writes, so we also poll. */
  readonly pollIntervalMs?: number;
}

const keyOf = (o: ProxyObject): string => `${o.kind}/${namespacedName(o.object)}`;

/**
 * The standalone source: every *.yaml / *.yml / *.json file in a directory, followed live. Each
 * rescan rebuilds the whole object set and sends the sink only the differences, so an edited,
 * added or removed file behaves like API events. A file that fails to parse keeps its previous
 * objects (a typo must not tear down rules), and the error is logged.
 */
export class ManifestSource {
  private readonly files = new Map<string, FileState>();
  private current = new Map<string, ProxyObject>();
  private watcher: FSWatcher | undefined;
  private timer: NodeJS.Timeout | undefined;
  private scanning: Promise<void> | undefined;
  private rescanRequested = false;
  private debounce: NodeJS.Timeout | undefined;

  constructor(private readonly opts: ManifestSourceOptions) {}

  /** Reads the directory once, reports everything as synced, then follows changes. */
  async start(): Promise<void> {
    await this.scan();
    this.opts.sink.servicesSynced();
    this.opts.sink.endpointSlicesSynced();
    try {
      this.watcher = watch(this.opts.dir, () => this.scheduleScan());
      this.watcher.on('error', (err) => this.opts.log.warn({ err: String(err) }, 'manifest directory watch failed; polling only'));
    } catch (err) {
      this.opts.log.warn({ err: String(err), dir: this.opts.dir }, 'cannot watch the manifest directory; polling only');
    }
    this.timer = setInterval(() => this.scheduleScan(0), this.opts.pollIntervalMs ?? 1000);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    this.watcher?.close();
    if (this.timer) clearInterval(this.timer);
    if (this.debounce) clearTimeout(this.debounce);
    await this.scanning;
  }

  /** Rescans now and resolves when the sink has seen the result (tests, --once). */
  async rescan(): Promise<void> {
    await this.scanning;
    await this.runScan();
  }

  private scheduleScan(delayMs = 50): void {
    // Editors write in several steps; a short delay lets a save finish before we read it.
    if (this.debounce) clearTimeout(this.debounce);
    this.debounce = setTimeout(() => void this.runScan(), delayMs);
    this.debounce.unref();
  }

  private runScan(): Promise<void> {
    if (this.scanning) {
      this.rescanRequested = true;
      return this.scanning;
    }
    this.scanning = this.scan()
      .catch((err: unknown) => this.opts.log.error({ err: String(err), dir: this.opts.dir }, 'manifest scan failed'))
      .finally(() => {
        this.scanning = undefined;
        if (this.rescanRequested) {
          this.rescanRequested = false;
          void this.runScan();
        }
      });
    return this.scanning;
  }

  private async scan(): Promise<void> {
    const names = (await readdir(this.opts.dir)).filter((n) => MANIFEST_FILE.test(n) && !n.startsWith('.')).sort();
    const seen = new Set(names);
    for (const name of [...this.files.keys()]) if (!seen.has(name)) this.files.delete(name);
    for (const name of names) {
      const path = join(this.opts.dir, name);
      let st;
      try {
        st = await stat(path);
      } catch {
        this.files.delete(name);
        continue;
      }
      const prev = this.files.get(name);
      if (prev && prev.mtimeMs === st.mtimeMs && prev.size === st.size) continue;
      const parsed = parseManifest(await readFile(path, 'utf8'), name);
      for (const e of parsed.errors) this.opts.log.error({ file: path, error: e }, 'skipping an unreadable manifest document');
      // A file that is wholly unreadable keeps what it had; a partly readable one counts as read.
      const objects = parsed.errors.length > 0 && parsed.objects.length === 0 && prev ? prev.objects : parsed.objects;
      this.files.set(name, { mtimeMs: st.mtimeMs, size: st.size, objects });
    }
    const next = new Map<string, ProxyObject>();
    for (const name of names) for (const o of this.files.get(name)?.objects ?? []) next.set(keyOf(o), o);
    this.apply(next);
  }

  private apply(next: Map<string, ProxyObject>): void {
    const sink = this.opts.sink;
    for (const [key, o] of this.current) {
      if (next.has(key)) continue;
      if (o.kind === 'Service') sink.deleteService(namespacedName(o.object));
      else if (o.kind === 'EndpointSlice') sink.deleteEndpointSlice(namespacedName(o.object));
    }
    for (const [key, o] of next) {
      const before = this.current.get(key);
      if (before && deepEqual(before.object, o.object)) continue;
      if (o.kind === 'Service') sink.upsertService(o.object as Service);
      else if (o.kind === 'EndpointSlice') sink.upsertEndpointSlice(o.object as EndpointSlice);
      else if (o.object.metadata?.name === this.opts.nodeName) sink.upsertNode(o.object as Node);
    }
    this.current = next;
  }
}

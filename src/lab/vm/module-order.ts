/**
 * Kernel module dependency resolution from the files `depmod` writes, so the guest's init can load
 * modules with a plain `insmod` (busybox has no dependency logic of its own that we want to trust).
 */

/** Module names are written with `_` by the kernel and with `-` in some file names; compare one way. */
export function normaliseModuleName(name: string): string {
  return name.replaceAll('-', '_');
}

/** The name a module file provides: `kernel/net/netfilter/ipvs/ip_vs_rr.ko.xz` → `ip_vs_rr`. */
export function moduleNameOfPath(path: string): string {
  const file = path.slice(path.lastIndexOf('/') + 1);
  return normaliseModuleName(file.replace(/\.ko(\.(xz|zst|gz))?$/, ''));
}

export interface ModuleIndex {
  /** Module name → its file (relative to the modules folder) and its direct and indirect dependencies. */
  readonly loadable: ReadonlyMap<string, { path: string; dependencies: readonly string[] }>;
  /** Names compiled into the kernel: nothing to load. */
  readonly builtin: ReadonlySet<string>;
}

/** Reads the text of `modules.dep` and `modules.builtin`. */
export function parseModuleIndex(modulesDep: string, modulesBuiltin: string): ModuleIndex {
  const loadable = new Map<string, { path: string; dependencies: string[] }>();
  for (const line of modulesDep.split('\n')) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const path = line.slice(0, colon).trim();
    const dependencies = line
      .slice(colon + 1)
      .trim()
      .split(/\s+/)
      .filter(Boolean)
      .map(moduleNameOfPath);
    loadable.set(moduleNameOfPath(path), { path, dependencies });
  }
  const builtin = new Set(
    modulesBuiltin
      .split('\n')
      .map((line) => line.trim())
      .filter(Boolean)
      .map(moduleNameOfPath),
  );
  return { loadable, builtin };
}

export interface LoadPlan {
  /** Modules to insmod, each after everything it needs, in the order the request named them. */
  readonly order: readonly { name: string; path: string }[];
  /** Requested names already compiled into the kernel. */
  readonly builtin: readonly string[];
  /** Requested names this kernel has in neither form. */
  readonly missing: readonly string[];
}

/**
 * Orders the requested modules and everything they depend on so that each comes after its
 * dependencies. The requested order is kept where dependencies allow it, which lets the caller put
 * providers the kernel asks for by alias (crc32c for libcrc32c) ahead of their users.
 */
export function planModuleLoad(index: ModuleIndex, requested: readonly string[]): LoadPlan {
  const order: { name: string; path: string }[] = [];
  const placed = new Set<string>();
  const builtin: string[] = [];
  const missing: string[] = [];
  const visiting = new Set<string>();

  const place = (name: string): void => {
    if (placed.has(name) || index.builtin.has(name)) return;
    const entry = index.loadable.get(name);
    if (!entry) return;
    if (visiting.has(name)) throw new Error(`module dependency cycle through ${name}`);
    visiting.add(name);
    for (const dependency of entry.dependencies) place(dependency);
    visiting.delete(name);
    placed.add(name);
    order.push({ name, path: entry.path });
  };

  for (const raw of requested) {
    const name = normaliseModuleName(raw);
    if (index.builtin.has(name)) builtin.push(name);
    else if (!index.loadable.has(name)) missing.push(name);
    else place(name);
  }
  return { order, builtin, missing };
}

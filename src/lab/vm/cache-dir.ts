import { mkdir } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';

/**
 * Where the Debian kernel and the initramfs are kept between runs: outside the checkout, so that
 * every clone and worktree on the machine shares one download. KPT_VM_CACHE overrides it.
 */
export async function vmCacheDir(): Promise<string> {
  const override = process.env['KPT_VM_CACHE'];
  const candidates = override
    ? [override]
    : ['/var/cache/kube-proxy-ts/vm', join(process.env['XDG_CACHE_HOME'] ?? join(homedir(), '.cache'), 'kube-proxy-ts', 'vm')];
  let lastError: unknown;
  for (const dir of candidates) {
    try {
      await mkdir(dir, { recursive: true });
      return dir;
    } catch (error) {
      // /var/cache is only writable by root; a user falls back to their own cache folder.
      lastError = error;
    }
  }
  throw new Error(`no writable VM cache folder among ${candidates.join(', ')}`, { cause: lastError });
}

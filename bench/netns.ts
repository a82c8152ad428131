/** A scratch network namespace for a benchmark: created fresh, always removed. */
import { execFileSync } from 'node:child_process';

export async function withNetns<T>(purpose: string, fn: (netns: string) => Promise<T>): Promise<T> {
  const name = `kpt-bench-${process.pid}-${purpose}`;
  execFileSync('ip', ['netns', 'add', name]);
  const remove = (): void => {
    try {
      execFileSync('ip', ['netns', 'del', name], { stdio: 'ignore' });
    } catch {
      // already gone
    }
  };
  process.once('exit', remove);
  try {
    execFileSync('ip', ['netns', 'exec', name, 'ip', 'link', 'set', 'lo', 'up']);
    return await fn(name);
  } finally {
    remove();
    process.removeListener('exit', remove);
  }
}

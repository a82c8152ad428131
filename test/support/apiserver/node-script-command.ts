import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The argv that runs a sibling script of this folder with the current Node: the `.ts` source
 * through tap's TypeScript loader when running from source, the compiled `.js` when running from
 * `dist`. Child processes need this because they do not inherit the test's loader flags.
 */
export function nodeScriptCommand(scriptBaseName: string): string[] {
  const here = fileURLToPath(import.meta.url);
  const directory = join(here, '..');
  if (here.endsWith('.ts')) {
    return [process.execPath, `--import=${import.meta.resolve('@tapjs/typescript/import')}`, join(directory, `${scriptBaseName}.ts`)];
  }
  return [process.execPath, join(directory, `${scriptBaseName}.js`)];
}

/** Environment for such a child: tap's loader only strips types (fast) instead of type-checking. */
export function nodeScriptEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return { ...process.env, TS_NODE_TRANSPILE_ONLY: '1', ...extra };
}

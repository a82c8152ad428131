import { spawn } from 'node:child_process';
import { access, constants } from 'node:fs/promises';

export interface CommandResult {
  stdout: string;
  stderr: string;
}

export class CommandError extends Error {
  constructor(
    readonly file: string,
    readonly args: readonly string[],
    readonly exitCode: number | null,
    readonly stderr: string,
    cause?: unknown,
  ) {
    const detail = stderr.trim().split('\n').slice(-8).join('\n');
    const why = exitCode === null ? 'could not run' : `exited with ${exitCode}`;
    super(`${file} ${args.join(' ')} ${why}${detail ? `:\n${detail}` : ''}`, { cause });
    this.name = 'CommandError';
  }
}

/** Runs a program with an argument array (never a shell) and collects its output. */
export function runCommand(
  file: string,
  args: readonly string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { cwd: options.cwd, env: options.env, stdio: ['ignore', 'pipe', 'pipe'] });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
    child.on('error', (error) => reject(new CommandError(file, args, null, String(error), error)));
    child.on('close', (code) => {
      const result = { stdout: Buffer.concat(stdout).toString(), stderr: Buffer.concat(stderr).toString() };
      if (code === 0) resolve(result);
      else reject(new CommandError(file, args, code, result.stderr || result.stdout));
    });
  });
}

/** Finds a program the way a shell would, plus the sbin folders a non-login root shell may lack. */
export async function findProgram(name: string): Promise<string | undefined> {
  const folders = [...(process.env['PATH'] ?? '').split(':'), '/usr/local/sbin', '/usr/sbin', '/sbin'];
  for (const folder of folders) {
    if (!folder) continue;
    const candidate = `${folder}/${name}`;
    try {
      await access(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not in this folder
    }
  }
  return undefined;
}

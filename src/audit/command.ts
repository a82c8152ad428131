import { setTimeout as sleep } from 'node:timers/promises';
import { EXIT_FAILURE, EXIT_OK, EXIT_USAGE, loadConfiguration, type AppIO, type LoadedConfiguration } from '../cli/app.js';
import { UsageError } from '../cli/flags.js';
import { parseDuration } from '../config/duration.js';
import { ConfigFileError } from '../config/file.js';
import { runtimeSettings } from '../config/runtime.js';
import { modeDefinition, registeredModes } from '../modes/registry.js';
import { createLogger, levelForVerbosity } from '../util/log.js';
import { startDesiredState } from './desired-state.js';
import { formatDriftReport, isInSync, type DriftReport } from './report.js';

/** The kernel differs from what the API asks for (0: in sync, 1: could not audit, 2: bad flags). */
export const EXIT_DRIFT = 3;

export interface AuditOptions {
  /** Checks before drift counts: a proxy syncing at this very moment must not raise an alarm. */
  readonly attempts: number;
  readonly retryIntervalMs: number;
  readonly output: 'text' | 'json';
  readonly help: boolean;
  /** Everything else: the proxy's own flags, so the audit reads the same config and source. */
  readonly proxyArgs: readonly string[];
}

const AUDIT_FLAGS = ['attempts', 'retry-interval', 'output'] as const;

/** Takes the audit's own flags out of argv; the rest are the proxy's flags. */
export function parseAuditFlags(argv: readonly string[]): AuditOptions {
  let attempts = 1;
  let retryIntervalMs = 5000;
  let output: 'text' | 'json' = 'text';
  let help = false;
  const proxyArgs: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const m = arg.match(/^--?([a-z-]+)(?:=(.*))?$/);
    const name = m?.[1];
    if (name === 'help' || name === 'h') {
      help = true;
      continue;
    }
    if (!name || !(AUDIT_FLAGS as readonly string[]).includes(name)) {
      proxyArgs.push(arg);
      continue;
    }
    const value = m[2] ?? argv[++i];
    if (value === undefined) throw new UsageError(`flag needs an argument: --${name}`);
    if (name === 'attempts') {
      if (!/^[1-9]\d*$/.test(value)) throw new UsageError(`invalid value "${value}" for flag --attempts: expected a positive integer`);
      attempts = Number(value);
    } else if (name === 'retry-interval') {
      const ms = parseDuration(value);
      if (ms === undefined) throw new UsageError(`invalid value "${value}" for flag --retry-interval: expected a duration such as 5s`);
      retryIntervalMs = ms;
    } else {
      if (value !== 'text' && value !== 'json') throw new UsageError(`invalid value "${value}" for flag --output: expected text or json`);
      output = value;
    }
  }
  return { attempts, retryIntervalMs, output, help, proxyArgs };
}

export function auditUsage(): string {
  return [
    'Usage: kube-proxy-ts audit [--attempts=N] [--retry-interval=DURATION] [--output=text|json] [proxy flags]',
    '',
    'Read-only. Computes what the proxy would program on this node from the same source (the API,',
    'or --manifests=DIR), configuration (--config, --proxy-mode, ...) and rule generator, and compares',
    'it with the kernel. Prints the drift: missing/extra services, endpoints, chains and rules.',
    '',
    '      --attempts=N             Check up to N times, --retry-interval apart, before reporting drift (default 1)',
    '      --retry-interval=DURATION  Pause between attempts (default 5s)',
    '      --output=text|json       Report format (default text)',
    '',
    'Exit status: 0 in sync, 3 drift found, 1 the audit could not run, 2 bad flags or configuration.',
    'Modes with an audit: ' + registeredModes().filter((m) => modeDefinition(m)?.audit).join(', '),
    '',
  ].join('\n');
}

/** `kube-proxy-ts audit …` */
export async function runAudit(argv: readonly string[], io: AppIO): Promise<number> {
  let options: AuditOptions;
  let loaded: LoadedConfiguration | 'help' | 'version';
  try {
    options = parseAuditFlags(argv);
    if (options.help) {
      io.stdout(auditUsage());
      return EXIT_OK;
    }
    loaded = await loadConfiguration(options.proxyArgs);
  } catch (err) {
    if (err instanceof UsageError || err instanceof ConfigFileError) {
      io.stderr(`kube-proxy-ts audit: ${err.message}\nRun 'kube-proxy-ts audit --help' for usage.\n`);
      return EXIT_USAGE;
    }
    throw err;
  }
  if (loaded === 'help' || loaded === 'version') {
    io.stdout(auditUsage());
    return EXIT_OK;
  }
  const { config, extra } = loaded;
  const settings = runtimeSettings(config);
  const audit = modeDefinition(settings.mode)?.audit;
  if (!audit) {
    io.stderr(`kube-proxy-ts audit: proxy mode ${settings.mode} has no audit yet\n`);
    return EXIT_USAGE;
  }
  const log = createLogger({ level: levelForVerbosity(config.logging.verbosity), format: extra.logFormat });

  let desired;
  try {
    desired = await startDesiredState({ config, extra, settings, log });
  } catch (err) {
    log.error({ err: String(err) }, 'Cannot read the desired state');
    return EXIT_FAILURE;
  }
  try {
    let reports: DriftReport[] = [];
    for (let attempt = 1; ; attempt++) {
      const snapshot = await desired.current();
      if (!snapshot.node.known) log.warn({ node: settings.nodeName }, 'No Node object for this node: rules that depend on its addresses or labels are computed without them');
      reports = [];
      for (const family of settings.families) {
        reports.push(await audit({ settings, extra, family, snapshot: snapshot.families[family], node: snapshot.node, log }));
      }
      if (reports.every(isInSync) || attempt >= options.attempts) break;
      log.info({ attempt, retryInMs: options.retryIntervalMs }, 'Drift found; checking again in case a sync was under way');
      await sleep(options.retryIntervalMs);
    }
    const inSync = reports.every(isInSync);
    if (options.output === 'json') io.stdout(JSON.stringify({ node: settings.nodeName, mode: settings.mode, inSync, reports }) + '\n');
    else io.stdout(`node ${settings.nodeName}: ${inSync ? 'in sync' : 'DRIFT'}\n` + reports.map(formatDriftReport).join(''));
    return inSync ? EXIT_OK : EXIT_DRIFT;
  } catch (err) {
    log.error({ err: String(err) }, 'The audit failed');
    return EXIT_FAILURE;
  } finally {
    await desired.stop();
  }
}

import { watch, type FSWatcher } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { applyFlags, flagsUpstreamIgnoresWithConfig, parseFlags, usage, UsageError } from './flags.js';
import { serializeConfiguration } from '../config/write.js';
import { ConfigFileError, loadConfigurationFile } from '../config/file.js';
import { defaultConfiguration, defaultExtraOptions, type ExtraOptions, type KubeProxyConfiguration } from '../config/types.js';
import { validateConfiguration } from '../config/validate.js';
import { runtimeSettings, type RuntimeSettings } from '../config/runtime.js';
import { createLogger, levelForVerbosity, type Logger } from '../util/log.js';
import { ChangeTracker } from '../model/tracker.js';
import { ProxyMetrics } from '../server/metrics.js';
import { ProxyHealth } from '../server/proxy-health.js';
import { HealthServer } from '../server/health-server.js';
import { MetricsServer } from '../server/metrics-server.js';
import { ServiceHealthServer } from '../server/service-health.js';
import { SyncController } from '../sync/controller.js';
import type { Proxier } from '../sync/proxier.js';
import { modeDefinition, registeredModes } from '../modes/registry.js';
import { ManifestSource } from '../sources/manifests.js';
import { trackerSink } from '../sources/tracker-sink.js';
import { KubeConnectionError, startKubernetesSource, type RunningSource } from '../sources/start.js';
import { splitHostPort } from '../server/http.js';

export const VERSION = '0.1.0';

/** Exit codes: 0 done, 1 runtime failure (e.g. --once sync failed), 2 bad flags or configuration. */
export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

/** --once: how long to wait for the first complete lists before giving up. */
const ONCE_SOURCE_TIMEOUT_MS = 120_000;

export interface AppIO {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
}

const processIO: AppIO = {
  stdout: (t) => void process.stdout.write(t),
  stderr: (t) => void process.stderr.write(t),
};

export interface LoadedConfiguration {
  readonly config: KubeProxyConfiguration;
  readonly extra: ExtraOptions;
  readonly warnings: readonly string[];
}

/**
 * Precedence: upstream defaults, then the --config file (with upstream's zero-means-default
 * rules), then every flag given on the command line on top.
 *
 * Upstream changed this over time: before v1.31 the file replaced all flags but the logging ones;
 * since v1.31 --hostname-override also wins over the file; every other KubeProxyConfiguration
 * flag is still ignored when --config is given. We let every explicit flag win, because that is
 * what an operator who types a flag expects and what the issue asks for. For the kubeadm
 * DaemonSet (--config plus --hostname-override) both rules give the same result; for any other
 * flag next to --config we log a warning that upstream would have ignored it.
 */
export async function loadConfiguration(argv: readonly string[]): Promise<LoadedConfiguration | 'help' | 'version'> {
  const flags = parseFlags(argv);
  if (flags.help) return 'help';
  if (flags.version) return 'version';
  const extra = defaultExtraOptions();
  let config = defaultConfiguration();
  applyFlags(flags, config, extra);
  const warnings = [...flags.warnings];
  if (extra.configFile) {
    config = await loadConfigurationFile(extra.configFile);
    applyFlags(flags, config, extra);
    for (const name of flagsUpstreamIgnoresWithConfig(flags)) {
      warnings.push(`flag --${name} overrides the configuration file ${extra.configFile}; upstream kube-proxy would ignore it`);
    }
  }
  if (extra.dryRun) extra.once = true;
  // logging.format from the file counts unless --logging-format was given.
  if (extra.logFormat === 'auto' && config.logging.format === 'json') extra.logFormat = 'json';
  const errors = validateConfiguration(config, extra);
  if (errors.length) {
    throw new UsageError(`invalid configuration: ${errors.map((e) => `${e.field}: ${e.message}`).join('; ')}`);
  }
  return { config, extra, warnings };
}

export async function main(argv: readonly string[], io: AppIO = processIO): Promise<number> {
  if (argv[0] === 'audit') {
    // Loaded on demand: the proxy itself never needs the audit code.
    const { runAudit } = await import('../audit/command.js');
    return runAudit(argv.slice(1), io);
  }
  let loaded: LoadedConfiguration | 'help' | 'version';
  try {
    loaded = await loadConfiguration(argv);
  } catch (err) {
    if (err instanceof UsageError || err instanceof ConfigFileError) {
      io.stderr(`kube-proxy-ts: ${err.message}\nRun 'kube-proxy-ts --help' for usage.\n`);
      return EXIT_USAGE;
    }
    throw err;
  }
  if (loaded === 'help') {
    io.stdout(usage());
    return EXIT_OK;
  }
  if (loaded === 'version') {
    io.stdout(`kube-proxy-ts ${VERSION}\n`);
    return EXIT_OK;
  }
  const { config, extra } = loaded;
  const log = createLogger({ level: levelForVerbosity(config.logging.verbosity), format: extra.logFormat });
  for (const w of loaded.warnings) log.warn(w);

  if (extra.writeConfigTo) {
    await writeFile(extra.writeConfigTo, serializeConfiguration(config));
    log.info({ path: extra.writeConfigTo }, 'Wrote the effective configuration');
    return EXIT_OK;
  }
  const settings = runtimeSettings(config);
  if (extra.cleanup) return cleanupAll(settings, extra, log);
  return runProxy(config, settings, extra, log, io);
}

/** --cleanup: every mode removes what it made, for every family; exit non-zero if any failed. */
async function cleanupAll(settings: RuntimeSettings, extra: ExtraOptions, log: Logger): Promise<number> {
  let failed = false;
  for (const mode of registeredModes()) {
    try {
      log.info(await modeDefinition(mode)!.cleanup(settings.families, extra));
    } catch (err) {
      failed = true;
      log.error({ mode, err: String(err) }, 'Cleanup failed');
    }
  }
  return failed ? EXIT_FAILURE : EXIT_OK;
}

async function runProxy(config: KubeProxyConfiguration, settings: RuntimeSettings, extra: ExtraOptions, log: Logger, io: AppIO): Promise<number> {
  const mode = modeDefinition(settings.mode);
  if (!mode) {
    log.error({ mode: settings.mode }, 'Proxy mode is not available');
    return EXIT_USAGE;
  }
  log.info({ mode: settings.mode, node: settings.nodeName, families: settings.families, source: extra.manifests ? 'manifests' : 'kubernetes' }, 'Starting kube-proxy-ts');

  if (!extra.dryRun) {
    // Upstream's platformCleanup: leftovers of the other modes go before the first sync.
    for (const other of registeredModes()) {
      if (other === settings.mode) continue;
      try {
        const summary = await modeDefinition(other)!.cleanup(settings.families, extra, settings.mode);
        log.debug({ mode: other, summary }, 'Removed leftovers of another proxy mode');
      } catch (err) {
        log.warn({ mode: other, err: String(err) }, 'Could not remove leftovers of another proxy mode');
      }
    }
  }

  const metrics = new ProxyMetrics({ mode: settings.mode });
  const health = new ProxyHealth(2 * settings.syncPeriodMs);
  const tracker = new ChangeTracker({
    nodeName: settings.nodeName,
    startTimeMs: Date.now(),
    onInvalid: (kind, name, reason) => {
      metrics.invalidObjectsTotal.inc({ kind });
      log.warn({ kind, name, reason }, 'Skipping an invalid object; other objects are unaffected');
    },
  });
  let controller!: SyncController;
  const proxiers: Proxier[] = [];
  for (const family of settings.families) {
    proxiers.push(
      await mode.create({ settings, extra, family, log, metrics, requestSync: () => controller.requestSync(), write: io.stdout }),
    );
  }
  const serviceHealth = extra.once
    ? undefined
    : new ServiceHealthServer(() => (settings.families.includes('IPv6') ? ['::'] : ['0.0.0.0']), () => health.status().healthy, log);
  controller = new SyncController({
    tracker,
    proxiers,
    minSyncPeriodMs: settings.minSyncPeriodMs,
    syncPeriodMs: settings.syncPeriodMs,
    log,
    health,
    metrics,
    hooks: serviceHealth ? { syncServiceHealth: (s, l) => serviceHealth.sync(s, l) } : {},
  });
  const sink = trackerSink(tracker, controller, metrics);

  let source: RunningSource;
  if (extra.manifests) {
    const manifests = new ManifestSource({ dir: extra.manifests, nodeName: settings.nodeName, sink, log });
    source = { stop: () => manifests.stop(), ready: manifests.start() };
  } else {
    try {
      source = await startKubernetesSource({ config, extra, settings, sink, log, registry: metrics.registry });
    } catch (err) {
      if (!(err instanceof KubeConnectionError)) throw err;
      log.error({ err: err.message }, 'Cannot connect to the Kubernetes API');
      await controller.stop();
      return EXIT_FAILURE;
    }
  }

  if (extra.once) {
    try {
      // A one-shot run must end even when the API never answers (the source itself retries forever).
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<void>((resolve) => (timer = setTimeout(resolve, ONCE_SOURCE_TIMEOUT_MS)));
      await Promise.race([source.ready, deadline]).finally(() => clearTimeout(timer));
      if (!controller.initialized) throw new Error(`Services and EndpointSlices were not received within ${ONCE_SOURCE_TIMEOUT_MS / 1000} s`);
      const outcome = await controller.syncNow();
      if (!outcome.ok) throw outcome.error;
      log.info({ services: tracker.current().families.IPv4.servicePorts.size + tracker.current().families.IPv6.servicePorts.size }, 'One sync done');
      return EXIT_OK;
    } catch (err) {
      log.error({ err: String(err) }, 'The sync failed');
      return EXIT_FAILURE;
    } finally {
      await source.stop();
      await controller.stop();
    }
  }

  const healthServer = new HealthServer({ bindAddress: config.healthzBindAddress, health, metrics, nodeEligible: () => tracker.nodeInfo().eligible });
  const metricsServer = new MetricsServer({ bindAddress: config.metricsBindAddress, metrics, proxyMode: settings.mode, configz: () => config });
  for (const [name, server, address] of [
    ['health', healthServer, config.healthzBindAddress],
    ['metrics', metricsServer, config.metricsBindAddress],
  ] as const) {
    if (!address || splitHostPort(address).port === 0) continue;
    try {
      await server.start();
    } catch (err) {
      log.error({ err: String(err), address }, `Failed to start the ${name} server`);
      if (config.bindAddressHardFail) return EXIT_FAILURE;
    }
  }
  controller.start();

  // SIGTERM leaves the rules in place, as upstream: traffic keeps flowing while we restart.
  // As upstream, a change to the --config file ends the process (exit 1) so that it is restarted
  // with the new configuration (a ConfigMap update).
  let configWatcher: FSWatcher | undefined;
  const exitCode = await new Promise<number>((resolve) => {
    const done = (signal: string): void => {
      log.info({ signal }, 'Shutting down; rules stay in place');
      resolve(EXIT_OK);
    };
    process.once('SIGTERM', () => done('SIGTERM'));
    process.once('SIGINT', () => done('SIGINT'));
    if (extra.configFile) {
      try {
        configWatcher = watch(extra.configFile, () => {
          log.error({ path: extra.configFile }, "Content of the proxy server's configuration file was updated; exiting to be restarted with it");
          resolve(EXIT_FAILURE);
        });
        configWatcher.on('error', (err) => log.warn({ err: String(err), path: extra.configFile }, 'Cannot watch the configuration file'));
      } catch (err) {
        log.warn({ err: String(err), path: extra.configFile }, 'Cannot watch the configuration file');
      }
    }
  });
  configWatcher?.close();
  await source.stop();
  await controller.stop();
  await Promise.all([healthServer.stop(), metricsServer.stop(), serviceHealth?.stop()]);
  return exitCode;
}

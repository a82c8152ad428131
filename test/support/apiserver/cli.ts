#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { TestApiServer, type TestApiServerOptions } from './server.js';

/**
 * Runs the test API server as its own process, for a proxy under test that lives in another
 * network namespace: `ip netns exec <ns> node cli.js --host 10.0.0.1 --control-socket /tmp/x.sock`.
 * Prints one JSON line when ready: {"url","kubeconfig","controlSocket","caFile","workDir","pid"}.
 * Stops on SIGTERM/SIGINT, and with --exit-on-stdin-close when its parent goes away.
 */

const USAGE = `usage: cli [--host ADDR] [--port N] [--advertise-host HOST] [--plain] [--token TOKEN]
           [--control-socket PATH] [--work-dir DIR] [--certificate-host HOST]...
           [--bookmark-interval-ms N] [--event-log-capacity N] [--initial-resource-version N]
           [--expired-watch-response event|status] [--watch-timeout-seconds N] [--exit-on-stdin-close]`;

function integer(name: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!Number.isInteger(value) || value < 0) throw new Error(`--${name} must be a non-negative integer, got "${text}"`);
  return value;
}

function optionsFromArgs(argv: string[]): { options: TestApiServerOptions; exitOnStdinClose: boolean } {
  const { values } = parseArgs({
    args: argv,
    options: {
      host: { type: 'string' },
      port: { type: 'string' },
      'advertise-host': { type: 'string' },
      plain: { type: 'boolean' },
      token: { type: 'string' },
      'control-socket': { type: 'string' },
      'work-dir': { type: 'string' },
      'certificate-host': { type: 'string', multiple: true },
      'bookmark-interval-ms': { type: 'string' },
      'event-log-capacity': { type: 'string' },
      'initial-resource-version': { type: 'string' },
      'expired-watch-response': { type: 'string' },
      'watch-timeout-seconds': { type: 'string' },
      'exit-on-stdin-close': { type: 'boolean' },
      help: { type: 'boolean' },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  const expired = values['expired-watch-response'];
  if (expired !== undefined && expired !== 'event' && expired !== 'status') throw new Error('--expired-watch-response must be "event" or "status"');
  const options: TestApiServerOptions = { tls: !values.plain };
  if (values.host !== undefined) options.host = values.host;
  const port = integer('port', values.port);
  if (port !== undefined) options.port = port;
  if (values['advertise-host'] !== undefined) options.advertiseHost = values['advertise-host'];
  if (values.token !== undefined) options.token = values.token;
  if (values['control-socket'] !== undefined) options.controlSocketPath = values['control-socket'];
  if (values['work-dir'] !== undefined) options.workDir = values['work-dir'];
  if (values['certificate-host'] !== undefined) options.certificateHosts = values['certificate-host'];
  const bookmark = integer('bookmark-interval-ms', values['bookmark-interval-ms']);
  if (bookmark !== undefined) options.bookmarkIntervalMs = bookmark;
  const capacity = integer('event-log-capacity', values['event-log-capacity']);
  if (capacity !== undefined) options.eventLogCapacity = capacity;
  const initial = integer('initial-resource-version', values['initial-resource-version']);
  if (initial !== undefined) options.initialResourceVersion = initial;
  if (expired !== undefined) options.expiredWatchResponse = expired;
  const timeout = integer('watch-timeout-seconds', values['watch-timeout-seconds']);
  if (timeout !== undefined) options.defaultWatchTimeoutSeconds = timeout;
  return { options, exitOnStdinClose: values['exit-on-stdin-close'] === true };
}

async function main(): Promise<void> {
  let parsed: ReturnType<typeof optionsFromArgs>;
  try {
    parsed = optionsFromArgs(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n${USAGE}\n`);
    process.exit(2);
  }
  const server = await TestApiServer.start(parsed.options);
  let stopping = false;
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    void server.stop().then(() => process.exit(0));
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  if (parsed.exitOnStdinClose) {
    process.stdin.on('end', stop);
    process.stdin.on('close', stop);
    process.stdin.resume();
  }
  process.stdout.write(
    `${JSON.stringify({ url: server.url, kubeconfig: server.kubeconfigPath, controlSocket: server.controlSocketPath ?? null, caFile: server.caFile ?? null, workDir: server.workDir, pid: process.pid })}\n`,
  );
}

main().catch((error: unknown) => {
  process.stderr.write(`test API server failed: ${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});

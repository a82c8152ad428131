import { run } from '../../kernel/exec.js';
import { probeIpvs } from '../../kernel/netlink.js';
import type { IpvsKernel } from './kernel.js';
import { PROBE_VIRTUAL_SERVER } from './naming.js';

/** ipset 6.0 brought IPv6 (upstream's MinIPSetCheckVersion). */
const MIN_IPSET_VERSION: readonly [number, number] = [6, 0];

export class IpvsUnavailableError extends Error {
  override readonly name = 'IpvsUnavailableError';
}

/** "v7.17" in `ipset --version` output, as [7, 17]. */
export function parseIpsetVersion(text: string): readonly [number, number] | undefined {
  const m = /v(\d+)\.(\d+)/.exec(text);
  return m ? [Number(m[1]), Number(m[2])] : undefined;
}

/**
 * Upstream's CanUseIPVSProxier: IPVS answers over netlink, ipset is at least 6.0, and the kernel
 * takes the scheduler: an existing virtual server with it proves that, otherwise a probe virtual
 * server on a TEST-NET-2 address is added, listed and deleted again.
 */
export async function ensureIpvsUsable(kernel: IpvsKernel, scheduler: string): Promise<void> {
  const probe = await probeIpvs().catch((err: unknown) => ({ available: false, error: String(err) }));
  if (!probe.available) throw new IpvsUnavailableError('the kernel has no IPVS (generic netlink family "IPVS" is absent; modprobe ip_vs)');

  const version = await run(['ipset', '--version']).catch(() => undefined);
  const parsed = version && version.code === 0 ? parseIpsetVersion(version.stdout) : undefined;
  if (!parsed) throw new IpvsUnavailableError('cannot run `ipset --version` (Debian package ipset)');
  if (parsed[0] < MIN_IPSET_VERSION[0] || (parsed[0] === MIN_IPSET_VERSION[0] && parsed[1] < MIN_IPSET_VERSION[1])) {
    throw new IpvsUnavailableError(`ipset ${parsed.join('.')} is older than ${MIN_IPSET_VERSION.join('.')}`);
  }

  if ((await kernel.listServices()).some((s) => s.scheduler === scheduler)) return;
  const service = { family: 2 as const, protocol: 6, address: PROBE_VIRTUAL_SERVER.address, port: PROBE_VIRTUAL_SERVER.port };
  const added = await kernel.applyIpvs([{ op: 'addService', service: { ...service, scheduler } }]);
  const result = added.results[0];
  if (!result?.ok) throw new IpvsUnavailableError(`the kernel refuses IPVS scheduler ${JSON.stringify(scheduler)}: ${result && !result.ok ? `${result.code} ${result.message}` : 'no answer'}`);
  const listed = (await kernel.listServices()).some((s) => s.address === service.address && s.port === service.port);
  await kernel.applyIpvs([{ op: 'deleteService', service }]);
  if (!listed) throw new IpvsUnavailableError('a probe IPVS virtual server was accepted but not listed');
}

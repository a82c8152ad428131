import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';

/**
 * A throw-away CA and a serving certificate for the test API server, made with the `openssl`
 * CLI at start-up (Node's crypto cannot issue X.509 certificates). Everything is written to the
 * server's temporary directory; nothing is cached in the repository.
 */

const run = promisify(execFile);

export interface ServingCertificates {
  caPem: string;
  certPem: string;
  keyPem: string;
  caFile: string;
}

function subjectAltNames(hosts: readonly string[]): string {
  const unique = [...new Set(['127.0.0.1', '::1', 'localhost', 'kubernetes', 'kubernetes.default', 'kubernetes.default.svc', ...hosts])];
  return unique.map((h) => (isIP(h) ? `IP:${h}` : `DNS:${h}`)).join(',');
}

async function openssl(args: string[]): Promise<void> {
  try {
    await run('openssl', args, { timeout: 30000 });
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr ?? '';
    throw new Error(`openssl ${args[0] ?? ''} failed: ${stderr.trim() || (error as Error).message}`);
  }
}

/** Creates ca.crt/ca.key and server.crt/server.key in `directory`, valid for `hosts` (IPs or DNS names). */
export async function createServingCertificates(directory: string, hosts: readonly string[]): Promise<ServingCertificates> {
  const caKey = join(directory, 'ca.key');
  const caFile = join(directory, 'ca.crt');
  const key = join(directory, 'server.key');
  const csr = join(directory, 'server.csr');
  const cert = join(directory, 'server.crt');
  const extensions = join(directory, 'server.ext');
  const ecKey = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

  await openssl(['req', '-x509', ...ecKey, '-keyout', caKey, '-out', caFile, '-days', '7', '-subj', '/CN=kube-proxy-ts-test-ca',
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
  await openssl(['req', ...ecKey, '-keyout', key, '-out', csr, '-subj', '/CN=kube-apiserver']);
  await writeFile(extensions, [
    'basicConstraints=critical,CA:FALSE',
    'keyUsage=critical,digitalSignature,keyEncipherment',
    'extendedKeyUsage=serverAuth',
    `subjectAltName=${subjectAltNames(hosts)}`,
    '',
  ].join('\n'));
  await openssl(['x509', '-req', '-in', csr, '-CA', caFile, '-CAkey', caKey, '-set_serial', String(Date.now()), '-days', '7', '-out', cert, '-extfile', extensions]);

  const [caPem, certPem, keyPem] = await Promise.all([readFile(caFile, 'utf8'), readFile(cert, 'utf8'), readFile(key, 'utf8')]);
  return { caPem, certPem, keyPem, caFile };
}

import { writeFile } from 'node:fs/promises';
import { stringify } from 'yaml';

/**
 * A kubeconfig for the test server that client-node 2.0.1 loads as is: HTTPS with the CA
 * embedded, or, for plain HTTP, `insecure-skip-tls-verify: true` (client-node refuses an
 * `http://` server otherwise). The user entry always exists because client-node applies no TLS
 * settings at all when the context has no user.
 */

export interface KubeconfigSpec {
  server: string;
  caPem: string | undefined;
  token: string | undefined;
  namespace?: string;
}

export const KUBECONFIG_CONTEXT = 'kube-proxy-ts-test';

export function kubeconfigDocument(spec: KubeconfigSpec): Record<string, unknown> {
  const cluster: Record<string, unknown> = { server: spec.server };
  if (spec.caPem !== undefined) cluster['certificate-authority-data'] = Buffer.from(spec.caPem).toString('base64');
  else cluster['insecure-skip-tls-verify'] = true;
  const user: Record<string, unknown> = spec.token !== undefined ? { token: spec.token } : {};
  return {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'test-apiserver', cluster }],
    users: [{ name: 'test-user', user }],
    contexts: [{ name: KUBECONFIG_CONTEXT, context: { cluster: 'test-apiserver', user: 'test-user', namespace: spec.namespace ?? 'default' } }],
    'current-context': KUBECONFIG_CONTEXT,
    preferences: {},
  };
}

export async function writeKubeconfig(path: string, spec: KubeconfigSpec): Promise<void> {
  await writeFile(path, stringify(kubeconfigDocument(spec)), { mode: 0o600 });
}

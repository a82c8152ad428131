import { existsSync } from 'node:fs';
import { KubeConfig, type Cluster } from '@kubernetes/client-node';
import { KubeConnectionError } from './connection-error.js';

/** The in-cluster service account files (what client-go's rest.InClusterConfig reads). */
export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

export { KubeConnectionError };

export interface ConnectionSettings {
  /** clientConnection.kubeconfig / --kubeconfig. */
  readonly kubeconfig: string;
  /** --master: overrides the kubeconfig's server, or is the whole connection without one. */
  readonly master: string;
  /** Tests only: where the service account directory lives (prefix of SERVICE_ACCOUNT_DIR). */
  readonly pathPrefix?: string;
}

export interface KubeConnection {
  readonly kubeConfig: KubeConfig;
  readonly server: string;
  readonly source: 'kubeconfig' | 'master' | 'in-cluster';
}

/** "host:port" without a scheme means HTTPS, as client-go's DefaultServerURL does. */
function normalizeMaster(master: string): string {
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(master) ? master : `https://${master}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw new KubeConnectionError(`--master ${JSON.stringify(master)} is not a URL`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new KubeConnectionError(`--master ${JSON.stringify(master)}: only http and https are supported`);
  }
  return withScheme.replace(/\/+$/, '');
}

function fromKubeconfigFile(path: string): KubeConfig {
  const kc = new KubeConfig();
  try {
    kc.loadFromFile(path);
  } catch (err) {
    throw new KubeConnectionError(`cannot load kubeconfig ${path}: ${(err as Error).message ?? String(err)}`);
  }
  if (!kc.getCurrentCluster()) throw new KubeConnectionError(`kubeconfig ${path} has no current context with a cluster`);
  return kc;
}

function withServer(kc: KubeConfig, server: string): KubeConfig {
  const current = kc.getCurrentCluster()!;
  // A plain-HTTP server has no certificate to verify; client-node refuses http without this flag.
  const replaced: Cluster = { ...current, server, ...(server.startsWith('http:') ? { skipTLSVerify: true } : {}) };
  const out = new KubeConfig();
  out.loadFromOptions({
    clusters: kc.clusters.map((c) => (c.name === current.name ? replaced : c)),
    users: kc.users,
    contexts: kc.contexts,
    currentContext: kc.currentContext,
  });
  return out;
}

function inCluster(settings: ConnectionSettings): KubeConfig {
  const env = process.env;
  const prefix = settings.pathPrefix ?? '';
  if (!env.KUBERNETES_SERVICE_HOST || !env.KUBERNETES_SERVICE_PORT) {
    throw new KubeConnectionError(
      'neither --kubeconfig nor --master was given, and the in-cluster configuration is unavailable: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT must be defined',
    );
  }
  const token = `${prefix}${SERVICE_ACCOUNT_DIR}/token`;
  if (!existsSync(token)) throw new KubeConnectionError(`in-cluster configuration: the service account token ${token} does not exist`);
  const kc = new KubeConfig();
  // Reads the CA and the token file lazily; the token is re-read as it rotates.
  kc.loadFromCluster(prefix);
  return kc;
}

/**
 * Upstream's createClient: the kubeconfig file when given, with --master overriding its server;
 * --master alone (no credentials); otherwise the in-cluster service account.
 */
export function connect(settings: ConnectionSettings): KubeConnection {
  const master = settings.master.trim() === '' ? '' : normalizeMaster(settings.master.trim());
  let kc: KubeConfig;
  let source: KubeConnection['source'];
  if (settings.kubeconfig !== '') {
    kc = fromKubeconfigFile(settings.kubeconfig);
    if (master) kc = withServer(kc, master);
    source = 'kubeconfig';
  } else if (master) {
    kc = new KubeConfig();
    kc.loadFromClusterAndUser({ name: 'master', server: master, skipTLSVerify: master.startsWith('http:') }, { name: 'anonymous' });
    source = 'master';
  } else {
    kc = inCluster(settings);
    source = 'in-cluster';
  }
  return { kubeConfig: kc, server: kc.getCurrentCluster()!.server, source };
}

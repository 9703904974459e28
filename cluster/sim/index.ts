// startCluster(): the simulated Kubernetes cluster for tests and the CLI.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Controllers, setKubeconfigWriter, type Timing } from './controllers.js';
import { Cluster } from './core.js';
import { ApiServer, type RequestRecord } from './http.js';
import { loadScenario, type Scenario } from './scenario.js';
import type { Store } from './store.js';
import { fixturesDir } from './types.js';

export type { Behavior, BarePod, ComponentBehavior, Scenario } from './scenario.js';
export type { RequestRecord } from './http.js';

export interface ClusterOptions {
  /** Scenario object or path to a YAML/JSON scenario file. */
  scenario?: Scenario | string;
  /** Authorize every request with RBAC (the admin token is in system:masters either way). */
  rbac?: boolean;
  /** Extra bearer tokens: token → user name and groups. */
  clientTokens?: Record<string, { name: string; groups?: string[] }>;
  /** Controller timing (ms); defaults keep tests fast. */
  timing?: Partial<Timing>;
  /** Kubernetes version reported by /version. */
  version?: { major: string; minor: string };
  /** Artificial latency per request (ms). */
  latencyMs?: number;
  /** Bound on the recorded requests (default: all, so tests can slice after a mark). */
  keepRequests?: number;
  /** The kubelet's clock (default Date.now); tests pass a skewed one to prove wake-ups that fire early recover. */
  kubeletClock?: () => number;
}

export interface SimCluster {
  url: string;
  /** Path to a kubeconfig with the admin (system:masters) token. */
  kubeconfig: string;
  adminToken: string;
  /** Kubeconfig path carrying a ServiceAccount's token (the ServiceAccount need not exist yet). */
  kubeconfigFor(sa: { namespace: string; name: string }): string;
  /** Kubeconfig for an arbitrary bearer token (e.g. one passed in clientTokens). */
  kubeconfigForToken(token: string, name?: string): string;
  store: Store;
  cluster: Cluster;
  requests: RequestRecord[];
  /** Resolves when no controller work is pending and every pod process has exited (or after timeoutMs). */
  settle(timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

const CA_DATA = readFileSync(new URL('tls.crt', fixturesDir())).toString('base64');

export function kubeconfigText(url: string, token: string, user = 'admin', namespace = 'default'): string {
  return [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    '- name: sim',
    '  cluster:',
    `    server: ${url}`,
    `    certificate-authority-data: ${CA_DATA}`,
    'users:',
    `- name: ${user}`,
    '  user:',
    `    token: ${token}`,
    'contexts:',
    '- name: sim',
    '  context:',
    '    cluster: sim',
    `    user: ${user}`,
    `    namespace: ${namespace}`,
    'current-context: sim',
    '',
  ].join('\n');
}

setKubeconfigWriter((url, token, ns) => kubeconfigText(url, token, 'sa', ns));

export async function startCluster(opts: ClusterOptions = {}): Promise<SimCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'sim-cluster-'));
  const scenario = loadScenario(opts.scenario);
  const cluster = new Cluster(opts.version);
  const adminToken = `admin-${randomBytes(16).toString('hex')}`;
  cluster.tokens.set(adminToken, { name: 'admin', groups: ['system:masters', 'system:authenticated'] });
  for (const [tok, u] of Object.entries(opts.clientTokens ?? {}))
    cluster.tokens.set(tok, { name: u.name, groups: [...(u.groups ?? []), 'system:authenticated'] });
  const controllers = new Controllers(cluster, scenario, opts.timing ?? {}, dir, opts.kubeletClock);
  const server = new ApiServer(cluster, {
    rbac: opts.rbac ?? false,
    logs: controllers,
    latencyMs: opts.latencyMs,
    keepRequests: opts.keepRequests,
  });
  const url = await server.listen();
  controllers.apiUrl = url;
  controllers.start();
  const kubeconfig = join(dir, 'kubeconfig');
  writeFileSync(kubeconfig, kubeconfigText(url, adminToken));
  let n = 0;
  const kubeconfigForToken = (token: string, name = 'user'): string => {
    const p = join(dir, `kubeconfig-${++n}`);
    writeFileSync(p, kubeconfigText(url, token, name));
    return p;
  };
  return {
    url,
    kubeconfig,
    adminToken,
    kubeconfigFor: (sa) => {
      const p = join(dir, `kubeconfig-sa-${sa.namespace}-${sa.name}`);
      writeFileSync(
        p,
        kubeconfigText(url, cluster.ensureSaToken(sa.namespace, sa.name), `${sa.namespace}-${sa.name}`, sa.namespace),
      );
      return p;
    },
    kubeconfigForToken,
    store: cluster.store,
    cluster,
    requests: server.requests,
    settle: (t) => controllers.settle(t),
    stop: async () => {
      await controllers.stop();
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

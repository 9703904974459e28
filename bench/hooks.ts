/**
 * Hook benchmarks: bundle cold start (node + bundle, `--help`) against bare `node` in the same run, and pod-check
 * over a 5,000-pod release on the simulated cluster (API calls, pages, wall time).
 */
import { join } from 'node:path';
import { startCluster } from '../cluster/sim/index.js';
import { measure, median, printTable } from './measure.js';

const HOOKS = ['crd-check', 'crd-install', 'dependency-check', 'pod-check'] as const;
const COLD_START_TARGET_MS = 150;

/**
 * The environment the hook image runs them in (images/hooks/Dockerfile: `NODE_ENV=production`, nothing else of
 * ours). This machine sets NODE_EXTRA_CA_CERTS, which Node parses at every start (55 ms here): it is not the
 * image's, so it is removed for the target and measured apart.
 */
const IMAGE_ENV = { NODE_ENV: 'production', NODE_EXTRA_CA_CERTS: undefined };

export async function benchHookColdStart(root: string): Promise<void> {
  const runs = 7;
  const bare = await median(runs, () => measure(process.execPath, ['-e', ''], undefined, IMAGE_ENV));
  const rows = [['program', 'median ms', 'minus bare node', 'peak RSS MB', `target ≤ ${COLD_START_TARGET_MS} ms`]];
  rows.push(['node -e "" (baseline)', bare.ms.toFixed(0), '-', (bare.peakRssBytes / 2 ** 20).toFixed(1), '-']);
  for (const hook of HOOKS) {
    const m = await median(runs, () =>
      measure(process.execPath, [join(root, 'dist/hooks', `${hook}.cjs`), '--help'], undefined, IMAGE_ENV),
    );
    rows.push([
      `${hook} --help`,
      m.ms.toFixed(0),
      (m.ms - bare.ms).toFixed(0),
      (m.peakRssBytes / 2 ** 20).toFixed(1),
      m.ms <= COLD_START_TARGET_MS ? 'met' : 'MISSED',
    ]);
  }
  const extraCa = process.env.NODE_EXTRA_CA_CERTS;
  if (extraCa) {
    const here = await median(runs, () => measure(process.execPath, ['-e', '']));
    rows.push([`node -e "" with NODE_EXTRA_CA_CERTS=${extraCa} (not the image's)`, here.ms.toFixed(0), '-', '-', '-']);
  }
  console.log('as the hook image runs them: NODE_ENV=production, no NODE_EXTRA_CA_CERTS');
  printTable(rows);
}

export async function benchPodCheckAtScale(root: string, pods = 5000): Promise<void> {
  const c = await startCluster({ keepRequests: 50_000 });
  try {
    const ns = 'big';
    const rt = (group: string, resource: string) => {
      const t = c.cluster.rt(group, resource);
      if (!t) throw new Error(`simulated cluster lacks ${group}/${resource}`);
      return t;
    };
    c.cluster.create(rt('', 'namespaces'), undefined, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
    const labels = { app: 'web', 'helm-tiers.io/release': 'big' };
    c.cluster.create(rt('apps', 'deployments'), ns, {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'web', namespace: ns, labels },
      spec: {
        replicas: pods,
        selector: { matchLabels: { app: 'web' } },
        template: { metadata: { labels }, spec: { containers: [{ name: 'app', image: 'example/web:1' }] } },
      },
    });
    const settleStart = Date.now();
    await c.settle(120_000);
    const settleMs = Date.now() - settleStart;
    const before = c.requests.length;
    const m = await measure(
      process.execPath,
      [
        join(root, 'dist/hooks/pod-check.cjs'),
        '--release=big',
        `--namespace=${ns}`,
        '--grace=0',
        '--timeout=120',
        '--log-level=warn',
      ],
      undefined,
      { KUBECONFIG: c.kubeconfig },
    );
    const calls = c.requests.slice(before);
    const lists = calls.filter((q) => q.method === 'GET' && q.path === `/api/v1/namespaces/${ns}/pods`);
    printTable([
      ['pods', 'controllers settled in', 'pod-check wall', 'API calls', 'pod list pages', 'peak RSS MB'],
      [
        String(pods),
        `${(settleMs / 1000).toFixed(1)} s`,
        `${(m.ms / 1000).toFixed(2)} s`,
        String(calls.length),
        String(lists.length),
        (m.peakRssBytes / 2 ** 20).toFixed(1),
      ],
    ]);
  } finally {
    await c.stop();
  }
}

// Paging at scale: pod-check lists a large release in pages of 500 (limit/continue), never in one response.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCluster, type SimCluster } from '../../cluster/sim/index.js';
import { create, deployment, ensureBundles, grant, namespace, RBAC, runHook } from './support.js';

const NS = 'big';
const PODS = 5000;

describe('pod-check over a large release', () => {
  let c: SimCluster;
  let kc: string;
  beforeAll(async () => {
    ensureBundles();
    c = await startCluster({ rbac: true });
    namespace(c, NS);
    create(c, 'apps', 'deployments', deployment(NS, 'web', 'big', PODS));
    kc = grant(c, NS, 'pod-check', RBAC['pod-check'] ?? {});
    await c.settle(60_000);
  }, 120_000);
  afterAll(async () => {
    await c.stop();
  });

  it(`reads ${PODS} pods in pages of 500 and reports them all healthy`, async () => {
    const before = c.requests.length;
    const r = await runHook('pod-check', ['--release=big', '--grace=0', '--timeout=60'], { KUBECONFIG: kc });
    expect(r.summary).toMatch(new RegExp(`^pod-check: ${PODS} pods, ${PODS} healthy, 0 unhealthy`));
    expect(r.code).toBe(0);
    const lists = c.requests
      .slice(before)
      .filter((q) => q.method === 'GET' && q.path === `/api/v1/namespaces/${NS}/pods`);
    expect(lists).toHaveLength(Math.ceil(PODS / 500));
    expect(lists.every((q) => q.query.limit === '500')).toBe(true);
    expect(lists.filter((q) => q.query.continue).length).toBe(lists.length - 1);
  });
});

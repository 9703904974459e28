// Paging at scale: pod-check lists a large release in pages of 500 (limit/continue), never in one response.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
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
  afterEach(() => {
    c.cluster.beforeList = () => {};
  });

  /** pod-check's LISTs of pods since `before`, with the status the sim answered. */
  const podLists = (before: number) =>
    c.requests.slice(before).filter((q) => q.method === 'GET' && q.path === `/api/v1/namespaces/${NS}/pods`);
  /**
   * Right before the next `n` continued pages of a pod list are read (`Infinity`: before every one), something is
   * written and etcd compacts at that newer revision: the list's snapshot is gone (a quiet cluster's would survive).
   */
  let writes = 0;
  const compactBeforeContinuedPages = (n: number) => {
    let left = n;
    c.cluster.beforeList = (res, q) => {
      if (res === '/pods' && q.continue && left > 0) {
        left--;
        create(c, '', 'configmaps', {
          apiVersion: 'v1',
          kind: 'ConfigMap',
          metadata: { name: `write-${++writes}`, namespace: NS },
        });
        c.store.compact();
      }
    };
  };

  it('two expired continue tokens in a row (410): the list starts over from scratch each time and the third read passes', async () => {
    compactBeforeContinuedPages(2);
    const before = c.requests.length;
    const r = await runHook('pod-check', ['--release=big', '--grace=0', '--timeout=60'], { KUBECONFIG: kc });
    expect(r.summary).toMatch(new RegExp(`^pod-check: ${PODS} pods, ${PODS} healthy, 0 unhealthy`));
    expect(r.code).toBe(0);
    const lists = podLists(before);
    expect(lists.filter((q) => q.status === 410)).toHaveLength(2);
    // Each restart is a fresh first page: no continue token, no resourceVersion (the expired snapshot's is compacted).
    const firsts = lists.filter((q) => !q.query.continue);
    expect(firsts).toHaveLength(3);
    expect(firsts.every((q) => q.query.resourceVersion === undefined && q.query.limit === '500')).toBe(true);
    expect(lists).toHaveLength(2 + 2 + Math.ceil(PODS / 500));
    const warned = r.logs.filter((l) => typeof l.msg === 'string' && l.msg.includes('expired (410 Gone)'));
    expect(warned.map((l) => l.attempt)).toEqual([1, 2]);
  });

  it('a list that keeps expiring: exit 47 (not 46) naming the 410 and the restarts, after exactly 3 reads', async () => {
    compactBeforeContinuedPages(Infinity);
    const before = c.requests.length;
    const r = await runHook('pod-check', ['--release=big', '--grace=0', '--timeout=60'], { KUBECONFIG: kc });
    expect(r.code, r.summary).toBe(47);
    expect(r.summary).toMatch(
      /^pod-check: E_LIST_EXPIRED: HTTP 410 Expired while trying to list pods in namespace "big": The provided continue parameter is too old/,
    );
    expect(r.summary).toContain('the list expired on each of 3 reads from scratch (410 Gone)');
    expect(r.summary).toMatch(/\(exit 47\)$/);
    const lists = podLists(before);
    expect(lists.filter((q) => !q.query.continue)).toHaveLength(3);
    expect(lists.filter((q) => q.status === 410)).toHaveLength(3);
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

// dependency-check bundle against the simulated cluster, RBAC as documented.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCluster, type SimCluster } from '../../cluster/sim/index.js';
import { create, deployment, ensureBundles, grant, namespace, RBAC, runHook, startHook } from './support.js';

const NS = 'apps';

describe('dependency-check against the simulated cluster', () => {
  let c: SimCluster;
  let kc: string;
  const check = (args: string[], timeout = 20, kubeconfig = kc) =>
    runHook('dependency-check', [`--timeout=${timeout}`, ...args], { KUBECONFIG: kubeconfig });

  beforeAll(async () => {
    ensureBundles();
    c = await startCluster({
      rbac: true,
      // The migration "image" is a real process that fails.
      scenario: {
        images: {
          'example/migrate': [process.execPath, '-e', 'console.log("relation users does not exist"); process.exit(3)'],
        },
        components: [{ selector: 'helm-tiers.io/release=tier1-stuck', behavior: 'imagePullBackOff' }],
      },
    });
    namespace(c, NS);
    create(c, 'apps', 'deployments', deployment(NS, 'database', 'tier1-database', 1));
    create(c, '', 'services', {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'database', namespace: NS },
      spec: { ports: [{ port: 5432 }], selector: { app: 'database' } },
    });
    create(c, '', 'persistentvolumeclaims', {
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: { name: 'data', namespace: NS, labels: { 'helm-tiers.io/release': 'tier1-database' } },
      spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
    });
    kc = grant(c, NS, 'dependency-check', RBAC['dependency-check'] ?? {});
    await c.settle(5000);
  });
  afterAll(async () => {
    await c.stop();
  });

  it('ready dependency and existing Service: exit 0', async () => {
    const r = await check(['--depends-on=tier1-database', '--require-services=database'], 20);
    expect(r.summary).toMatch(/^dependency-check: 1 dependencies ready \(2 objects\), 1 Services present/);
    expect(r.code).toBe(0);
  });

  it('waits for a dependency that becomes ready during the check', async () => {
    const h = startHook('dependency-check', ['--timeout=30', '--depends-on=tier2-cache'], { KUBECONFIG: kc });
    await h.waitFor('NoObjects');
    create(c, 'apps', 'deployments', deployment(NS, 'cache', 'tier2-cache', 2));
    expect(await h.exit).toBe(0);
    expect(h.output()).toMatch(/dependency-check: 1 dependencies ready \(1 objects\)/);
  });

  it('dependency never installed: exit 20 naming the release and reason at the deadline', async () => {
    const r = await check(['--depends-on=tier9-nothing'], 3);
    expect(r.code).toBe(20);
    expect(r.stdout).toMatch(/tier9-nothing\s+-\s+Missing\s+NoObjects/);
  });

  it('missing Service the release is configured with: exit 22', async () => {
    const r = await check(['--require-services=database,cache-typo'], 3);
    expect(r.code).toBe(22);
    expect(r.stdout).toMatch(/service\/cache-typo\s+Missing\s+ServiceNotFound/);
  });

  it('a failed Job of a dependency ends the wait at once: exit 21 with the Failed condition', async () => {
    create(c, 'batch', 'jobs', {
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: { name: 'migrate', namespace: NS, labels: { 'helm-tiers.io/release': 'migrate' } },
      spec: {
        backoffLimit: 0,
        template: {
          metadata: { labels: { 'helm-tiers.io/release': 'migrate' } },
          spec: { restartPolicy: 'Never', containers: [{ name: 'm', image: 'example/migrate:1' }] },
        },
      },
    });
    const r = await check(['--depends-on=migrate'], 30);
    expect(r.code).toBe(21);
    expect(r.stdout).toMatch(/job\/migrate\s+Failed\s+\S+\s+Failed=True/);
  });

  it('a Deployment past its progress deadline: exit 21 naming ProgressDeadlineExceeded', async () => {
    const d = deployment(NS, 'stuck', 'tier1-stuck', 1);
    (d.spec as { progressDeadlineSeconds?: number }).progressDeadlineSeconds = 1;
    create(c, 'apps', 'deployments', d);
    const r = await check(['--depends-on=tier1-stuck'], 8);
    expect(r.code).toBe(21);
    expect(r.stdout).toMatch(/deployment\/stuck\s+Failed\s+ProgressDeadlineExceeded\s+Progressing=False/);
  });

  it('403 without list on jobs: exit 40 naming verb and resource', async () => {
    const limited = grant(c, NS, 'dep-limited', {
      namespaced: (RBAC['dependency-check']?.namespaced ?? []).filter((r) => !r.resources.includes('jobs')),
    });
    const r = await check(['--depends-on=tier1-database'], 10, limited);
    expect(r.code).toBe(40);
    expect(r.summary).toContain('cannot list jobs.batch in namespace "apps"');
  });
});

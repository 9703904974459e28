// pod-check bundle against the simulated cluster: one scenario per failure class, RBAC as documented.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCluster, type SimCluster } from '../cluster/index.js';
import { create, deployment, ensureBundles, grant, namespace, RBAC, runHook, startHook } from './support.js';

const NS = 'apps';
const rel = (r: string) => `helm-tiers.io/release=${r}`;

function statefulSet(name: string) {
  const labels = { app: name, 'helm-tiers.io/release': name };
  return {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name, namespace: NS, labels },
    spec: {
      replicas: 3,
      serviceName: name,
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels }, spec: { containers: [{ name: 'app', image: `example/${name}:1` }] } },
    },
  };
}

describe('pod-check against the simulated cluster', () => {
  let c: SimCluster;
  let kc: string;
  let fixKc: string;
  let noLogKc: string;
  const check = (release: string, extra: string[] = [], kubeconfig = kc) =>
    runHook('pod-check', [`--release=${release}`, '--grace=2', '--timeout=25', ...extra], { KUBECONFIG: kubeconfig });

  /** Waits until a pod of the release shows CrashLoopBackOff (the scenario's pods would recover on their own later). */
  const untilCrashLooping = async (release: string) => {
    for (let i = 0; i < 200; i++) {
      const pods = c.store.list('/pods', NS) as {
        metadata: { labels?: Record<string, string> };
        status?: { containerStatuses?: { state?: { waiting?: { reason?: string } } }[] };
      }[];
      if (
        pods.some(
          (p) =>
            p.metadata.labels?.['helm-tiers.io/release'] === release &&
            p.status?.containerStatuses?.[0]?.state?.waiting?.reason === 'CrashLoopBackOff',
        )
      )
        return;
      await new Promise((res) => setTimeout(res, 50));
    }
    throw new Error(`${release}: no pod reached CrashLoopBackOff within 10 s`);
  };

  beforeAll(async () => {
    ensureBundles();
    c = await startCluster({
      rbac: true,
      timing: { crash: 300 },
      scenario: {
        components: [
          {
            selector: rel('crash'),
            behavior: 'crashLoop',
            logs: 'connecting to db\n',
            previousLogs: 'panic: db not ready\n',
          },
          { selector: rel('flaky'), behavior: 'crashLoop', crashes: 6, previousLogs: 'panic: cache not ready\n' },
          { selector: rel('image'), behavior: 'imagePullBackOff' },
          { selector: rel('late'), behavior: 'imagePullBackOff' },
          { selector: rel('config'), behavior: 'createContainerConfigError', message: 'secret "db-pass" not found' },
          { selector: rel('oom'), behavior: 'oomKilled' },
          { selector: rel('unsched'), behavior: 'unschedulable' },
          { selector: rel('bare'), behavior: 'crashLoop' },
          { selector: 'statefulset.kubernetes.io/pod-name=one-1', behavior: 'crashLoop', crashes: 6 },
          { selector: 'statefulset.kubernetes.io/pod-name=pdb-1', behavior: 'crashLoop' },
        ],
      },
    });
    namespace(c, NS);
    for (const r of ['ok', 'crash', 'image', 'config', 'oom', 'unsched'])
      create(c, 'apps', 'deployments', deployment(NS, r, r));
    create(c, '', 'pods', {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'lonely', namespace: NS, labels: { 'helm-tiers.io/release': 'bare' } },
      spec: { containers: [{ name: 'c', image: 'example/lonely:1' }] },
    });
    // A hook pod of release "ok" that failed: carries the release label but must be left out.
    create(c, '', 'pods', {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name: 'ok-hook',
        namespace: NS,
        labels: { 'helm-tiers.io/release': 'ok', 'helm-tiers.io/hook': 'pre-crd-check' },
      },
      spec: { containers: [{ name: 'c', image: 'example/hook:1' }] },
    });
    kc = grant(c, NS, 'pod-check', RBAC['pod-check'] ?? {});
    fixKc = grant(c, NS, 'pod-check-fix', RBAC['pod-check --auto-fix'] ?? {});
    noLogKc = grant(c, NS, 'pod-check-nolist', {
      namespaced: [{ apiGroups: [''], resources: ['pods/log'], verbs: ['get'] }],
    });
    await c.settle(5000);
  });
  afterAll(async () => {
    await c.stop();
  });

  it('all pods ready: exit 0, hook pods excluded', async () => {
    const r = await check('ok');
    expect(r.summary).toMatch(/^pod-check: 2 pods, 2 healthy, 0 unhealthy/);
    expect(r.code).toBe(0);
    expect(r.stdout).not.toContain('ok-hook');
  });

  it('pods that do not exist yet when the check starts are waited for (grace), then judged', async () => {
    const h = startHook('pod-check', ['--release=late', '--grace=6', '--timeout=20'], { KUBECONFIG: kc });
    await h.waitFor('checking pods');
    create(c, 'apps', 'deployments', deployment(NS, 'late', 'late'));
    expect(await h.exit).toBe(30);
    expect(h.output()).toContain('ImagePullError 2');
  });

  it('CrashLoopBackOff (phase Running): exit 30 with describe, events and previous logs', async () => {
    const r = await check('crash');
    expect(r.code).toBe(30);
    expect(r.summary).toContain('CrashLoopBackOff 2');
    const diag = r.logs.find((l) => l.class === 'CrashLoopBackOff') as
      { describe: string; logs: Record<string, string[]>; events: string[] } | undefined;
    expect(diag?.describe).toContain('phase=Running');
    expect(diag?.logs['app (previous)']).toContain('panic: db not ready');
    expect(diag?.events.length).toBeGreaterThan(0);
  });

  it.each([
    ['image', 'ImagePullError'],
    ['config', 'ConfigError'],
    ['oom', 'OOMKilled'],
    ['unsched', 'Unschedulable'],
  ])('%s: classified as %s, exit 30, and --auto-fix restarts nothing', async (release, cls) => {
    const before = c.requests.length;
    const r = await check(release, ['--auto-fix'], fixKc);
    expect(r.code).toBe(30);
    expect(r.summary).toContain(`${cls} 2`);
    expect(r.summary).toContain('auto-fix: nothing a restart can fix');
    expect(c.requests.slice(before).filter((q) => q.method !== 'GET')).toEqual([]);
  });

  it('config error message names the missing secret', async () => {
    const r = await check('config');
    expect(r.stdout).toContain('secret \\"db-pass\\" not found');
  });

  it('bare crash-looping pod: never evicted or deleted', async () => {
    const before = c.requests.length;
    const r = await check('bare', ['--auto-fix'], fixKc);
    expect(r.code).toBe(30);
    expect(r.logs.some((l) => typeof l.msg === 'string' && l.msg.includes('no controller'))).toBe(true);
    expect(c.requests.slice(before).filter((q) => q.method !== 'GET')).toEqual([]);
  });

  it('--dry-run shows the rollout restart it would do and changes nothing', async () => {
    const before = c.requests.length;
    const r = await check('crash', ['--auto-fix', '--dry-run'], fixKc);
    expect(r.code).toBe(30);
    expect(r.stdout).toContain('dry-run: would rollout restart deployment/crash');
    expect(c.requests.slice(before).filter((q) => q.method !== 'GET')).toEqual([]);
  });

  it('--auto-fix on a transient crash loop: rollout restart by strategic-merge patch, then verified healthy', async () => {
    create(c, 'apps', 'deployments', deployment(NS, 'flaky', 'flaky'));
    await untilCrashLooping('flaky');
    const before = c.requests.length;
    const r = await runHook('pod-check', ['--release=flaky', '--grace=0', '--timeout=45', '--auto-fix'], {
      KUBECONFIG: fixKc,
    });
    const patches = c.requests.slice(before).filter((q) => q.method === 'PATCH');
    expect(patches.map((p) => [p.path, p.contentType])).toEqual([
      [`/apis/apps/v1/namespaces/${NS}/deployments/flaky`, 'application/strategic-merge-patch+json'],
    ]);
    expect(r.code).toBe(0);
    const d = c.store.get('apps/deployments', NS, 'flaky') as {
      spec: { template: { metadata: { annotations?: Record<string, string> } } };
    };
    expect(d.spec.template.metadata.annotations?.['kubectl.kubernetes.io/restartedAt']).toBeDefined();
  });

  it('--auto-fix evicts the single bad pod of a mostly healthy StatefulSet (Eviction API), then verifies', async () => {
    create(c, 'apps', 'statefulsets', statefulSet('one'));
    await untilCrashLooping('one');
    const before = c.requests.length;
    const r = await runHook('pod-check', ['--release=one', '--grace=0', '--timeout=45', '--auto-fix'], {
      KUBECONFIG: fixKc,
    });
    const writes = c.requests.slice(before).filter((q) => q.method !== 'GET');
    expect(writes.map((q) => `${q.method} ${q.path}`)).toEqual([`POST /api/v1/namespaces/${NS}/pods/one-1/eviction`]);
    expect(r.summary).toContain('one-1 evicted');
    expect(r.code).toBe(0);
  });

  it('eviction blocked by a PodDisruptionBudget: bounded 429 retries, then exit 30 saying so', async () => {
    create(c, 'apps', 'statefulsets', statefulSet('pdb'));
    create(c, 'policy', 'poddisruptionbudgets', {
      apiVersion: 'policy/v1',
      kind: 'PodDisruptionBudget',
      metadata: { name: 'pdb', namespace: NS },
      spec: { minAvailable: 3, selector: { matchLabels: { app: 'pdb' } } },
    });
    await untilCrashLooping('pdb');
    const before = c.requests.length;
    const r = await runHook('pod-check', ['--release=pdb', '--grace=0', '--timeout=12', '--auto-fix'], {
      KUBECONFIG: fixKc,
    });
    const evictions = c.requests.slice(before).filter((q) => q.path.endsWith('/eviction'));
    expect(evictions.length).toBeGreaterThan(1);
    expect(evictions.length).toBeLessThanOrEqual(6);
    expect(evictions.every((q) => q.status === 429)).toBe(true);
    expect(r.code).toBe(30);
    expect(r.summary).toContain('blocked by a PodDisruptionBudget');
  });

  it('403 on list pods: exit 40 naming verb and resource', async () => {
    const r = await check('ok', [], noLogKc);
    expect(r.code).toBe(40);
    expect(r.summary).toContain('cannot list pods in namespace "apps"');
  });

  it('SIGTERM: ends cleanly with a summary and exit 143', async () => {
    const h = startHook('pod-check', ['--release=crash', '--grace=60', '--timeout=120'], { KUBECONFIG: kc });
    await h.waitFor('waiting for pods');
    h.child.kill('SIGTERM');
    expect(await h.exit).toBe(143);
    expect(h.output().trim().split('\n').pop()).toMatch(/^pod-check: .*\(exit 143\)$/);
  });
});

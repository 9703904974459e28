// pod-check bundle against the simulated cluster: one scenario per failure class, RBAC as documented.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCluster, type SimCluster } from '../../cluster/sim/index.js';
import { podStatusReason } from '../../cluster/sim/tables.js';
import { create, deployment, ensureBundles, grant, namespace, RBAC, runHook, startHook } from './support.js';

const NS = 'apps';
const rel = (r: string) => `helm-tiers.io/release=${r}`;

/** The rule pod-check needs to judge a release without pods (does a workload want some?); the chart grants it. */
const LIST_WORKLOADS = JSON.stringify({
  apiGroups: ['apps'],
  resources: ['deployments', 'statefulsets', 'daemonsets'],
  verbs: ['list'],
});

interface SimPod {
  metadata: { name: string; labels?: Record<string, string>; ownerReferences?: { kind: string; name: string }[] };
  spec: Record<string, unknown>;
  status?: {
    phase?: string;
    reason?: string;
    message?: string;
    conditions?: { type: string; status: string; reason?: string; message?: string }[];
    initContainerStatuses?: SimContainerStatus[];
    containerStatuses?: SimContainerStatus[];
  };
}
interface SimContainerStatus {
  name: string;
  ready: boolean;
  started?: boolean;
  restartCount: number;
  state?: { waiting?: { reason?: string }; running?: object; terminated?: { exitCode: number; reason?: string } };
  lastState?: { terminated?: { exitCode: number; reason?: string } };
}
interface Diagnosis {
  pod: string;
  class: string;
  reason: string;
  container?: string;
  describe: string;
  events: string[];
  logs: Record<string, string[]>;
}

function statefulSet(name: string, graceSeconds?: number, parallel = false) {
  const labels = { app: name, 'helm-tiers.io/release': name };
  return {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name, namespace: NS, labels },
    spec: {
      replicas: 3,
      serviceName: name,
      ...(parallel ? { podManagementPolicy: 'Parallel' } : {}),
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels },
        spec: {
          ...(graceSeconds !== undefined ? { terminationGracePeriodSeconds: graceSeconds } : {}),
          containers: [{ name: 'app', image: `example/${name}:1` }],
        },
      },
    },
  };
}

describe('pod-check against the simulated cluster', () => {
  let c: SimCluster;
  let kc: string;
  let fixKc: string;
  let noLogKc: string;
  /** pod-check's rules without listing workloads, as a chart before that rule granted them. */
  let noWlKc: string;
  const check = (release: string, extra: string[] = [], kubeconfig = kc) =>
    runHook('pod-check', [`--release=${release}`, '--grace=2', '--timeout=25', ...extra], { KUBECONFIG: kubeconfig });

  const podsOf = (release: string) =>
    (c.store.list('/pods', NS) as SimPod[]).filter((p) => p.metadata.labels?.['helm-tiers.io/release'] === release);
  /** Polls `ok` every 50 ms for at most 10 s; whether it came true. */
  const eventually = async (ok: () => boolean) => {
    for (let i = 0; i < 200; i++) {
      if (ok()) return true;
      await new Promise((res) => setTimeout(res, 50));
    }
    return ok();
  };
  /** Waits (at most 10 s) until the release's pods satisfy `ok`. */
  const until = async (release: string, what: string, ok: (pods: SimPod[]) => boolean) => {
    if (await eventually(() => ok(podsOf(release)))) return;
    throw new Error(`${release}: not ${what} within 10 s: ${JSON.stringify(podsOf(release).map((p) => p.status))}`);
  };
  const writesSince = (before: number) =>
    c.requests
      .slice(before)
      .filter((q) => q.method !== 'GET')
      .map((q) => `${q.method} ${q.path}`);
  const diagnosis = (r: { logs: Record<string, unknown>[] }, cls: string) =>
    r.logs.find((l) => l.class === cls && typeof l.describe === 'string') as Diagnosis | undefined;

  /** A Deployment whose pods cannot be created: its ServiceAccount `sa` does not exist (FailedCreate). */
  const createStuck = (name: string, release: string, sa = 'missing') => {
    const d = deployment(NS, name, release) as ReturnType<typeof deployment> & {
      spec: { template: { spec: Record<string, unknown> } };
    };
    d.spec.template.spec.serviceAccountName = sa;
    create(c, 'apps', 'deployments', d);
  };
  const deploymentStatus = (name: string) =>
    (c.store.get('apps/deployments', NS, name) as { status?: Record<string, unknown> }).status ?? {};
  const replicaFailure = (name: string) =>
    ((deploymentStatus(name).conditions as { type: string }[] | undefined) ?? []).some(
      (x) => x.type === 'ReplicaFailure',
    );

  /** Waits until a pod of the release shows CrashLoopBackOff (the scenario's pods would recover on their own later). */
  const untilCrashLooping = async (release: string) => {
    const crashLooping = () =>
      (
        c.store.list('/pods', NS) as {
          metadata: { labels?: Record<string, string> };
          status?: { containerStatuses?: { state?: { waiting?: { reason?: string } } }[] };
        }[]
      ).some(
        (p) =>
          p.metadata.labels?.['helm-tiers.io/release'] === release &&
          p.status?.containerStatuses?.[0]?.state?.waiting?.reason === 'CrashLoopBackOff',
      );
    if (await eventually(crashLooping)) return;
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
          // Evicted pods that stay Terminating for their grace period (SIGTERM ignored): the StatefulSet creates the
          // same-named replacement only after it. slow-1's replacement runs; gone-1's and never-1's crash-loop again.
          {
            selector: 'statefulset.kubernetes.io/pod-name=slow-1',
            behavior: 'crashLoop',
            firstPods: 1,
            ignoreSigterm: true,
          },
          { selector: 'statefulset.kubernetes.io/pod-name=never-1', behavior: 'crashLoop', ignoreSigterm: true },
          { selector: 'statefulset.kubernetes.io/pod-name=gone-1', behavior: 'crashLoop', ignoreSigterm: true },
          // The first two pods' init container fails for good; the pods of a rollout restart initialise normally.
          {
            selector: rel('init'),
            behavior: 'initCrashLoop',
            firstPods: 2,
            exitCode: 3,
            logs: 'migrate: waiting for db\n',
            previousLogs: 'migrate: dial tcp 10.96.0.12:5432: connect: connection refused\n',
          },
          // Only the first pod is evicted; its ReplicaSet's replacement runs.
          { selector: rel('evicted'), behavior: 'evicted', firstPods: 1 },
          { selector: rel('evicted-bare'), behavior: 'evicted' },
          { selector: rel('unready'), behavior: 'readinessProbeFailing', logs: 'listening on :8080\n' },
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
    const documented = RBAC['pod-check']?.namespaced ?? [];
    expect(documented.map((r) => JSON.stringify(r))).toContain(LIST_WORKLOADS);
    noWlKc = grant(c, NS, 'pod-check-nowl', {
      namespaced: documented.filter((r) => JSON.stringify(r) !== LIST_WORKLOADS),
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

  it('--auto-fix evicts a StatefulSet pod that stays Terminating for its grace period: passes only once the same-named replacement is there and Ready', async () => {
    create(c, 'apps', 'statefulsets', statefulSet('slow', 4));
    await untilCrashLooping('slow');
    const evictedUid = (c.store.get('/pods', NS, 'slow-1') as { metadata: { uid: string } }).metadata.uid;
    const r = await runHook('pod-check', ['--release=slow', '--grace=0', '--timeout=45', '--auto-fix'], {
      KUBECONFIG: fixKc,
    });
    expect(r.summary).toContain('slow-1 evicted');
    // The old answer, right after the eviction: "2 pods, 2 healthy" and exit 0, with slow-1 still Terminating.
    expect(r.summary).toMatch(/^pod-check: 3 pods, 3 healthy, 0 unhealthy; auto-fix: slow-1 evicted \(exit 0\)$/);
    expect(r.code).toBe(0);
    const verifying = r.logs.filter((l) => l.msg === 'verifying: waiting for replacements and workloads');
    expect(JSON.stringify(verifying)).toContain('slow-1 Terminating');
    const now = c.store.get('/pods', NS, 'slow-1') as SimPod & { metadata: { uid: string } };
    expect(now.metadata.uid).not.toBe(evictedUid);
    expect(now.status?.conditions).toContainEqual(expect.objectContaining({ type: 'Ready', status: 'True' }));
  });

  it('--auto-fix: the replacement of an evicted StatefulSet pod never becomes Ready: exit 30 naming the workload and the pod', async () => {
    // Parallel: all three pods exist although never-1 is not Ready (OrderedReady would wait for it).
    create(c, 'apps', 'statefulsets', statefulSet('never', 2, true));
    await untilCrashLooping('never');
    await until('never', '3 pods', (pods) => pods.length === 3);
    const r = await runHook('pod-check', ['--release=never', '--grace=0', '--timeout=20', '--auto-fix'], {
      KUBECONFIG: fixKc,
    });
    expect(r.code, r.summary).toBe(30);
    expect(r.summary).toContain('never-1 evicted');
    expect(r.summary).toMatch(
      /^pod-check: 3 pods, 2 healthy, 1 unhealthy \(CrashLoopBackOff 1: never-1 CrashLoopBackOff\)/,
    );
    expect(r.summary).toMatch(
      /1 workload is not back to every pod it wants: statefulset\/never: .*never-1 CrashLoopBackOff/,
    );
  });

  it('--auto-fix: an evicted StatefulSet pod still Terminating at the deadline is not replaced: exit 30, counted, never healthy', async () => {
    // Parallel: all three pods exist although gone-1 is not Ready (OrderedReady would wait for it).
    create(c, 'apps', 'statefulsets', statefulSet('gone', 120, true));
    await untilCrashLooping('gone');
    await until('gone', '3 pods', (pods) => pods.length === 3);
    const r = await runHook('pod-check', ['--release=gone', '--grace=0', '--timeout=10', '--auto-fix'], {
      KUBECONFIG: fixKc,
    });
    expect(r.code, r.summary).toBe(30);
    expect(r.summary).toMatch(
      /^pod-check: 3 pods, 2 healthy, 1 unhealthy \(Terminating 1: gone-1 Terminating\); auto-fix: gone-1 evicted; /,
    );
    expect(r.summary).toMatch(/statefulset\/gone: replicas 2\/3 \(gone-1 Terminating\)/);
    expect(
      r.text.some((l) => l.startsWith('gone-1') && l.includes('Terminating') && l.includes('not replaced yet')),
    ).toBe(true);
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

  it('init container crash loop (phase Pending, Init:CrashLoopBackOff): exit 30 with its previous log and BackOff events; --auto-fix restarts the Deployment and verifies', async () => {
    const d = deployment(NS, 'init', 'init') as ReturnType<typeof deployment> & {
      spec: { template: { spec: Record<string, unknown> } };
    };
    d.spec.template.spec.initContainers = [{ name: 'migrate', image: 'example/migrate:1' }];
    create(c, 'apps', 'deployments', d);
    await until('init', 'in Init:CrashLoopBackOff', (pods) =>
      pods.some((p) => p.status?.initContainerStatuses?.[0]?.state?.waiting?.reason === 'CrashLoopBackOff'),
    );
    // What the real kubelet reports: phase Pending, the init container waiting CrashLoopBackOff with its last exit
    // code, the app container PodInitializing; kubectl's STATUS column derives Init:CrashLoopBackOff.
    const looping = podsOf('init').find(
      (p) => p.status?.initContainerStatuses?.[0]?.state?.waiting?.reason === 'CrashLoopBackOff',
    )!;
    expect(looping.status?.phase).toBe('Pending');
    expect(looping.status?.initContainerStatuses?.[0]?.lastState?.terminated).toMatchObject({ exitCode: 3 });
    expect(looping.status?.containerStatuses?.[0]?.state?.waiting?.reason).toBe('PodInitializing');
    expect(looping.status?.conditions).toContainEqual(
      expect.objectContaining({ type: 'Initialized', status: 'False', reason: 'ContainersNotInitialized' }),
    );
    expect(podStatusReason(looping)).toBe('Init:CrashLoopBackOff');

    const r = await check('init');
    expect(r.code).toBe(30);
    expect(r.summary).toContain('InitContainerFailed 2');
    const diag = diagnosis(r, 'InitContainerFailed');
    expect(diag?.container).toBe('migrate');
    expect(diag?.describe).toContain('phase=Pending');
    expect(diag?.describe).toMatch(/init migrate: (waiting CrashLoopBackOff|running).*last terminated Error exit 3/);
    expect(diag?.logs['migrate (previous)']).toContain(
      'migrate: dial tcp 10.96.0.12:5432: connect: connection refused',
    );
    expect(diag?.events.some((e) => /^Warning BackOff.*Back-off restarting failed container migrate/.test(e))).toBe(
      true,
    );

    // A restart can fix an init container that failed on a dependency (hooks/src/pods/classify.ts): both pods of the
    // ReplicaSet are bad, so the Deployment is rollout-restarted; its new pods initialise and the check passes.
    const before = c.requests.length;
    const f = await runHook('pod-check', ['--release=init', '--grace=0', '--timeout=45', '--auto-fix'], {
      KUBECONFIG: fixKc,
    });
    expect(writesSince(before)).toEqual([`PATCH /apis/apps/v1/namespaces/${NS}/deployments/init`]);
    expect(f.summary).toContain('auto-fix: deployment/init restarted');
    expect(f.code).toBe(0);
  });

  it('evicted pod of a ReplicaSet (phase Failed, reason Evicted), replaced by its controller: a warning, exit 0; --auto-fix changes nothing', async () => {
    create(c, 'apps', 'deployments', deployment(NS, 'evicted', 'evicted'));
    await until('evicted', 'evicted and replaced', (pods) => {
      const ready = pods.filter((p) =>
        p.status?.conditions?.some((x) => x.type === 'Ready' && x.status === 'True'),
      ).length;
      return pods.some((p) => p.status?.reason === 'Evicted') && ready === 2;
    });
    const ev = podsOf('evicted').find((p) => p.status?.reason === 'Evicted')!;
    expect(ev.status).toMatchObject({ phase: 'Failed', reason: 'Evicted' });
    expect(ev.status?.message).toMatch(/^The node was low on resource: memory\. /);
    expect(ev.status?.conditions).toContainEqual(
      expect.objectContaining({ type: 'DisruptionTarget', status: 'True', reason: 'TerminationByKubelet' }),
    );
    expect(ev.metadata.ownerReferences?.[0]?.kind).toBe('ReplicaSet');

    const before = c.requests.length;
    const r = await check('evicted', ['--auto-fix'], fixKc);
    expect(r.code).toBe(0);
    expect(r.summary).toMatch(/^pod-check: 3 pods, 2 healthy, 0 unhealthy, 1 warnings \(Evicted 1\)/);
    expect(r.text.some((l) => l.includes(ev.metadata.name) && l.includes('Evicted') && l.includes('warning'))).toBe(
      true,
    );
    expect(writesSince(before)).toEqual([]);
  });

  it('evicted bare pod: gone for good, exit 30 with the eviction message and events; --auto-fix never touches it', async () => {
    create(c, '', 'pods', {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'stray', namespace: NS, labels: { 'helm-tiers.io/release': 'evicted-bare' } },
      spec: { containers: [{ name: 'c', image: 'example/stray:1' }] },
    });
    await until('evicted-bare', 'evicted', (pods) => pods.some((p) => p.status?.reason === 'Evicted'));
    const before = c.requests.length;
    const r = await check('evicted-bare', ['--auto-fix'], fixKc);
    expect(r.code).toBe(30);
    expect(r.summary).toContain('Evicted 1');
    expect(r.summary).toContain('auto-fix: nothing a restart can fix');
    const diag = diagnosis(r, 'Evicted');
    expect(diag?.describe).toContain('status: Evicted The node was low on resource: memory.');
    expect(diag?.events.some((e) => e.startsWith('Warning Evicted: The node was low on resource: memory.'))).toBe(true);
    expect(diag?.events).toContain('Normal Killing: Stopping container c');
    expect(r.logs.some((l) => l.msg === 'not restarting stray: Evicted: a restart does not fix it')).toBe(true);
    expect(writesSince(before)).toEqual([]);
  });

  it('readiness probe failing (Running, started, never Ready): NotReady/ReadinessProbeFailing at the deadline, exit 30 with Unhealthy events and the log; --auto-fix restarts nothing', async () => {
    const d = deployment(NS, 'unready', 'unready') as ReturnType<typeof deployment> & {
      spec: { template: { spec: { containers: Record<string, unknown>[] } } };
    };
    d.spec.template.spec.containers[0]!.readinessProbe = { httpGet: { path: '/healthz', port: 8080 } };
    create(c, 'apps', 'deployments', d);
    await until(
      'unready',
      'running and not ready',
      (pods) => pods.length === 2 && pods.every((p) => p.status?.containerStatuses?.[0]?.started === true),
    );
    for (const p of podsOf('unready')) {
      expect(p.status?.phase).toBe('Running');
      expect(p.status?.containerStatuses?.[0]).toMatchObject({ ready: false, started: true, restartCount: 0 });
      expect(p.status?.conditions).toContainEqual(
        expect.objectContaining({ type: 'Ready', status: 'False', reason: 'ContainersNotReady' }),
      );
    }
    const before = c.requests.length;
    // Not Ready counts as slow, so the check waits until the deadline (less its reserve) before judging.
    const r = await runHook('pod-check', ['--release=unready', '--grace=1', '--timeout=8', '--auto-fix'], {
      KUBECONFIG: fixKc,
    });
    expect(r.code).toBe(30);
    expect(r.summary).toContain('NotReady 2');
    expect(r.summary).toContain('auto-fix: nothing a restart can fix');
    const diag = diagnosis(r, 'NotReady');
    expect(diag?.reason).toBe('ReadinessProbeFailing');
    expect(diag?.describe).toContain('container app: running ready=false restarts=0');
    expect(
      diag?.events.some((e) =>
        /^Warning Unhealthy \(x\d+\): Readiness probe failed: HTTP probe failed with statuscode: 503$/.test(e),
      ),
    ).toBe(true);
    expect(diag?.logs.app).toContain('listening on :8080');
    expect(writesSince(before)).toEqual([]);
    c.cluster.delete(c.cluster.rt('apps', 'deployments')!, NS, 'unready', {});
  });

  it('no pods and no workload that wants any: exit 0 with the time actually waited', async () => {
    const r = await runHook('pod-check', ['--release=nothing', '--grace=1', '--timeout=20'], { KUBECONFIG: kc });
    expect(r.code).toBe(0);
    const m =
      /^pod-check: no pods match helm-tiers\.io\/release=nothing,!helm-tiers\.io\/hook in apps \(waited (\d+\.\d) s\); no Deployment, StatefulSet or DaemonSet of it lacks the pods it wants \(exit 0\)$/.exec(
        r.summary,
      );
    expect(m, r.summary).not.toBeNull();
    // The whole 1 s grace was waited (never skipped), and not much more (load may add a little).
    expect(Number(m![1])).toBeGreaterThanOrEqual(1);
    expect(Number(m![1])).toBeLessThan(10);
  });

  it('no pods while a Deployment wants 2 replicas (pod creation forbidden): exit 30 naming the workload, the cause and where to look', async () => {
    createStuck('nosa', 'nosa');
    // As the real controllers: the ReplicaSet's FailedCreate shows as ReplicaFailure on the Deployment.
    expect(await eventually(() => replicaFailure('nosa'))).toBe(true);
    const before = c.requests.length;
    const r = await runHook('pod-check', ['--release=nosa', '--grace=1', '--timeout=20', '--auto-fix'], {
      KUBECONFIG: fixKc,
    });
    expect(r.code).toBe(30);
    const waited = /^pod-check: 0 pods after (\d+\.\d) s, but 1 workload wants pods and has none: /.exec(r.summary);
    expect(waited, r.summary).not.toBeNull();
    expect(Number(waited![1])).toBeGreaterThanOrEqual(1);
    expect(Number(waited![1])).toBeLessThan(10);
    expect(r.summary).toContain('deployment/nosa wants 2 replicas, 0 pods exist (FailedCreate: pods "nosa-');
    expect(r.summary).toContain('serviceaccount "missing" not found');
    expect(r.summary).toContain('check quota / admission (kubectl describe rs -n apps -l app=nosa)');
    const diag = r.logs.find((l) => l.workload === 'Deployment/nosa') as { events: string[] } | undefined;
    expect(diag?.events.some((e) => e.startsWith('Normal ScalingReplicaSet: Scaled up replica set nosa-'))).toBe(true);
    expect(writesSince(before)).toEqual([]);

    // Without the rule to list workloads (custom RBAC, an older chart) pod-check cannot tell, says so, and passes.
    const old = await runHook('pod-check', ['--release=nosa', '--grace=1', '--timeout=20'], { KUBECONFIG: noWlKc });
    expect(old.code).toBe(0);
    expect(old.summary).toContain('workloads not checked (forbidden: cannot list deployments.apps in namespace "apps"');
    c.cluster.delete(c.cluster.rt('apps', 'deployments')!, NS, 'nosa', {});
  });

  it('one workload healthy, another of the release stuck at no pods (creation forbidden): exit 30 naming the stuck one', async () => {
    create(c, 'apps', 'deployments', deployment(NS, 'mixed-web', 'mixed'));
    createStuck('mixed-db', 'mixed');
    expect(
      await eventually(() => replicaFailure('mixed-db') && deploymentStatus('mixed-web').readyReplicas === 2),
    ).toBe(true);
    const before = c.requests.length;
    const r = await runHook('pod-check', ['--release=mixed', '--grace=1', '--timeout=20'], { KUBECONFIG: kc });
    expect(r.code, r.summary).toBe(30);
    expect(r.summary).toMatch(
      /^pod-check: 2 pods, 2 healthy, 0 unhealthy; 1 workload wants pods and has none: deployment\/mixed-db wants 2 replicas, 0 pods exist \(FailedCreate: pods "mixed-db-/,
    );
    expect(r.summary).toContain('serviceaccount "missing" not found');
    expect(r.summary).not.toContain('mixed-web wants');
    const diag = r.logs.find((l) => l.workload === 'Deployment/mixed-db');
    expect(diag).toBeDefined();
    expect(writesSince(before)).toEqual([]);

    // Without the permission to list workloads: the pods alone decide (pass), and the summary says what was not checked.
    const blind = await runHook('pod-check', ['--release=mixed', '--grace=1', '--timeout=20'], { KUBECONFIG: noWlKc });
    expect(blind.code).toBe(0);
    expect(blind.summary).toContain(
      '2 pods, 2 healthy, 0 unhealthy; workloads not checked (forbidden: cannot list deployments.apps',
    );

    // The stuck one gone: the healthy workload alone passes, with nothing said of workloads.
    c.cluster.delete(c.cluster.rt('apps', 'deployments')!, NS, 'mixed-db', {});
    const alone = await runHook('pod-check', ['--release=mixed', '--grace=1', '--timeout=20'], { KUBECONFIG: kc });
    expect(alone.code, alone.summary).toBe(0);
    expect(alone.summary).toMatch(/^pod-check: 2 pods, 2 healthy, 0 unhealthy \(exit 0\)$/);
    c.cluster.delete(c.cluster.rt('apps', 'deployments')!, NS, 'mixed-web', {});
  });

  it('a workload that gets its pods within the grace passes, and its pods are judged with the others', async () => {
    create(c, 'apps', 'deployments', deployment(NS, 'late-web', 'late2'));
    createStuck('late-db', 'late2', 'late-sa');
    expect(await eventually(() => replicaFailure('late-db') && deploymentStatus('late-web').readyReplicas === 2)).toBe(
      true,
    );
    const h = startHook('pod-check', ['--release=late2', '--grace=15', '--timeout=40'], { KUBECONFIG: kc });
    await h.waitFor('waiting for workloads that have no pods yet');
    // The missing ServiceAccount appears: the ReplicaSet's next pass creates the pods.
    create(c, '', 'serviceaccounts', {
      apiVersion: 'v1',
      kind: 'ServiceAccount',
      metadata: { name: 'late-sa', namespace: NS },
    });
    expect(await h.exit).toBe(0);
    expect(h.output()).toMatch(/pod-check: 4 pods, 4 healthy, 0 unhealthy \(exit 0\)/);
    for (const name of ['late-web', 'late-db']) c.cluster.delete(c.cluster.rt('apps', 'deployments')!, NS, name, {});
  });

  it('no pods when the deadline cuts the grace short: exit 50 with the time actually waited, never a pass', async () => {
    const r = await runHook('pod-check', ['--release=nothing', '--grace=30', '--timeout=5'], { KUBECONFIG: kc });
    expect(r.code).toBe(50);
    const m =
      /^pod-check: deadline \(--timeout\) reached after waiting (\d+\.\d) s, before the 30\.0 s grace ended: no pods match .* \(exit 50\)$/.exec(
        r.summary,
      );
    expect(m, r.summary).not.toBeNull();
    // --timeout=5 keeps a 3 s reserve for the verdict: about 2 s of waiting, nowhere near the grace.
    expect(Number(m![1])).toBeGreaterThanOrEqual(1);
    expect(Number(m![1])).toBeLessThan(5);
  });

  it('SIGTERM while waiting for pods that never come: exit 143 with the time actually waited, never a pass', async () => {
    const h = startHook('pod-check', ['--release=nothing', '--grace=30', '--timeout=60'], { KUBECONFIG: kc });
    await h.waitFor('checking pods');
    await new Promise((res) => setTimeout(res, 1500));
    h.child.kill('SIGTERM');
    expect(await h.exit).toBe(143);
    const last = h.output().trim().split('\n').pop() ?? '';
    const m =
      /^pod-check: terminated after waiting (\d+\.\d) s of the 30\.0 s grace: no pods match .* yet \(exit 143\)$/.exec(
        last,
      );
    expect(m, last).not.toBeNull();
    expect(Number(m![1])).toBeGreaterThanOrEqual(1);
    expect(Number(m![1])).toBeLessThan(15);
  });

  it('SIGTERM: ends cleanly with a summary and exit 143', async () => {
    const h = startHook('pod-check', ['--release=crash', '--grace=60', '--timeout=120'], { KUBECONFIG: kc });
    await h.waitFor('waiting for pods');
    h.child.kill('SIGTERM');
    expect(await h.exit).toBe(143);
    expect(h.output().trim().split('\n').pop()).toMatch(/^pod-check: .*\(exit 143\)$/);
  });
});

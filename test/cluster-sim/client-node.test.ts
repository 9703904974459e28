// @kubernetes/client-node 1.4 against the simulated cluster: pagination, watch, server-side apply, eviction and
// the pod lifecycles a scenario describes.
/* eslint-disable @typescript-eslint/no-unsafe-class-instance-assignment -- client-node accepts plain objects for its model classes (its documented usage) */
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCluster, type SimCluster } from '../../cluster/sim/index.js';

type Api = {
  core: k8s.CoreV1Api;
  apps: k8s.AppsV1Api;
  batch: k8s.BatchV1Api;
  policy: k8s.PolicyV1Api;
  ext: k8s.ApiextensionsV1Api;
  kc: k8s.KubeConfig;
};

function clients(kubeconfig: string): Api {
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(kubeconfig);
  return {
    kc,
    core: kc.makeApiClient(k8s.CoreV1Api),
    apps: kc.makeApiClient(k8s.AppsV1Api),
    batch: kc.makeApiClient(k8s.BatchV1Api),
    policy: kc.makeApiClient(k8s.PolicyV1Api),
    ext: kc.makeApiClient(k8s.ApiextensionsV1Api),
  };
}

async function until<T>(f: () => Promise<T | undefined>, what: string, ms = 15000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function apiError(e: unknown): { code: number; body: { reason: string; message: string } } {
  const x = e as k8s.ApiException<string>;
  return { code: x.code, body: JSON.parse(x.body) as { reason: string; message: string } };
}

const pod = (name: string, labels: Record<string, string>, extra: Partial<k8s.V1PodSpec> = {}): k8s.V1Pod => ({
  metadata: { name, labels },
  spec: { containers: [{ name: 'app', image: 'app:1' }], ...extra },
});

describe('client-node against the simulated cluster', () => {
  let c: SimCluster;
  let api: Api;
  beforeAll(async () => {
    c = await startCluster({
      timing: { crash: 150 },
      scenario: {
        components: [
          { selector: 'app=pull', behavior: 'imagePullBackOff' },
          { selector: 'app=cfg', behavior: 'createContainerConfigError' },
          { selector: 'app=pending', behavior: 'unschedulable' },
          { selector: 'app=oom', behavior: 'oomKilled', previousLogs: 'allocating...\n' },
          { selector: 'bulk', behavior: 'none' },
          { selector: 'app=firstpods', behavior: 'crashLoop', firstPods: 2 },
          { selector: 'app=evict', behavior: 'crashLoop', firstPods: 1 },
        ],
        barePods: [{ name: 'orphan', namespace: 'default', labels: { app: 'orphan' } }],
        images: { 'sim/sleep': ['sleep'], 'sim/sh': ['sh', '-c'] },
      },
    });
    api = clients(c.kubeconfig);
  });
  afterAll(async () => {
    await c.stop();
  });

  it('lists 5,000 pods in pages with limit and continue', async () => {
    await api.core.createNamespace({ body: { metadata: { name: 'bulk' } } });
    // Straight into the store: the point is paging, not 5,000 HTTP creates.
    const rt = c.cluster.rt('', 'pods')!;
    for (let i = 0; i < 5000; i++)
      c.cluster.create(rt, 'bulk', {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: `p-${String(i).padStart(5, '0')}`, labels: { bulk: 'yes', tier: i % 2 ? 'odd' : 'even' } },
        spec: { containers: [{ name: 'c', image: 'x:1' }] },
      });
    const names: string[] = [];
    let cont: string | undefined;
    let pages = 0;
    do {
      const page = await api.core.listNamespacedPod({ namespace: 'bulk', limit: 500, _continue: cont });
      names.push(...page.items.map((p) => p.metadata!.name!));
      cont = page.metadata?._continue;
      pages++;
      if (pages === 1) expect(page.metadata?.remainingItemCount).toBe(4500);
    } while (cont);
    expect(pages).toBe(10);
    expect(new Set(names).size).toBe(5000);
    const odd = await api.core.listNamespacedPod({ namespace: 'bulk', labelSelector: 'tier in (odd)', limit: 1000 });
    expect(odd.items).toHaveLength(1000);
    expect(odd.items.every((p) => p.metadata!.labels!.tier === 'odd')).toBe(true);
    const one = await api.core.listNamespacedPod({ namespace: 'bulk', fieldSelector: 'metadata.name=p-00042' });
    expect(one.items.map((p) => p.metadata!.name)).toEqual(['p-00042']);
    await api.core.deleteNamespace({ name: 'bulk' });
  });

  it('watches from a resourceVersion and sees ADDED, MODIFIED and DELETED', async () => {
    const list = await api.core.listNamespacedConfigMap({ namespace: 'default' });
    const events: string[] = [];
    const watch = new k8s.Watch(api.kc);
    const req = await watch.watch(
      '/api/v1/namespaces/default/configmaps',
      { resourceVersion: list.metadata!.resourceVersion, allowWatchBookmarks: true },
      (type: string, obj: k8s.V1ConfigMap) => events.push(`${type} ${obj.metadata?.name ?? ''} ${obj.data?.k ?? ''}`),
      () => undefined,
    );
    await api.core.createNamespacedConfigMap({
      namespace: 'default',
      body: { metadata: { name: 'w' }, data: { k: '1' } },
    });
    await api.core.patchNamespacedConfigMap(
      { namespace: 'default', name: 'w', body: { data: { k: '2' } } },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
    );
    await api.core.deleteNamespacedConfigMap({ namespace: 'default', name: 'w' });
    await until(() => Promise.resolve(events.length >= 3 ? true : undefined), 'watch events');
    req.abort();
    expect(events.filter((e) => !e.startsWith('BOOKMARK'))).toEqual(['ADDED w 1', 'MODIFIED w 2', 'DELETED w 2']);
  });

  it('watches with a label selector: objects that stop matching are DELETED, start matching ADDED', async () => {
    const events: string[] = [];
    const req = await new k8s.Watch(api.kc).watch(
      '/api/v1/namespaces/default/configmaps',
      { labelSelector: 'watched=yes' },
      (type: string, obj: k8s.V1ConfigMap) => events.push(`${type} ${obj.metadata?.name ?? ''}`),
      () => undefined,
    );
    const merge = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch);
    await api.core.createNamespacedConfigMap({
      namespace: 'default',
      body: { metadata: { name: 'sel', labels: { watched: 'no' } } },
    });
    await api.core.patchNamespacedConfigMap(
      { namespace: 'default', name: 'sel', body: { metadata: { labels: { watched: 'yes' } } } },
      merge,
    );
    await api.core.patchNamespacedConfigMap({ namespace: 'default', name: 'sel', body: { data: { a: '1' } } }, merge);
    await api.core.patchNamespacedConfigMap(
      { namespace: 'default', name: 'sel', body: { metadata: { labels: { watched: null } } } },
      merge,
    );
    await until(() => Promise.resolve(events.length >= 3 ? true : undefined), 'selector watch events');
    req.abort();
    expect(events).toEqual(['ADDED sel', 'MODIFIED sel', 'DELETED sel']);
  });

  it('creates with server-side apply, updates status and rejects stale updates', async () => {
    const body = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'ssa', namespace: 'default' },
      data: { a: '1' },
    };
    const opts = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.ServerSideApply);
    const created = await api.core.patchNamespacedConfigMap(
      { namespace: 'default', name: 'ssa', body, fieldManager: 'tiers', force: true },
      opts,
    );
    expect(created.data).toEqual({ a: '1' });
    expect(created.metadata!.managedFields![0]!.manager).toBe('tiers');
    const again = await api.core.patchNamespacedConfigMap(
      { namespace: 'default', name: 'ssa', body: { ...body, data: { b: '2' } }, fieldManager: 'tiers', force: true },
      opts,
    );
    expect(again.data).toEqual({ b: '2' }); // fields the manager stopped applying are removed
    const stale: k8s.V1ConfigMap = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'ssa', namespace: 'default', resourceVersion: created.metadata!.resourceVersion },
      data: again.data,
    };
    const err = await api.core
      .replaceNamespacedConfigMap({ namespace: 'default', name: 'ssa', body: stale })
      .catch((e: unknown) => e);
    expect(apiError(err).code).toBe(409);
    expect(apiError(err).body.message).toBe(
      'Operation cannot be fulfilled on configmaps "ssa": the object has been modified; please apply your changes to the latest version and try again',
    );
  });

  it('writes status through the status subresource only, and ignores status on the main resource', async () => {
    const spec = {
      schedule: '0 0 * * *',
      jobTemplate: {
        spec: { template: { spec: { restartPolicy: 'Never', containers: [{ name: 'c', image: 'x:1' }] } } },
      },
    };
    const cj = { metadata: { name: 'status-split' }, spec };
    const created = await api.batch.createNamespacedCronJob({ namespace: 'default', body: cj });
    expect(created.metadata?.generation).toBe(1);
    const when = new Date('2026-01-01T00:00:00Z');
    // A status write that also tries to change the spec: only the status lands, the generation stays.
    const st = await api.batch.replaceNamespacedCronJobStatus({
      namespace: 'default',
      name: 'status-split',
      body: {
        metadata: { name: 'status-split' },
        spec: { ...spec, suspend: true },
        status: { lastScheduleTime: when },
      },
    });
    expect(st.spec?.suspend).toBe(false);
    expect(st.metadata?.generation).toBe(1);
    expect(st.status?.lastScheduleTime?.toISOString()).toBe(when.toISOString());
    expect(st.metadata?.managedFields?.find((m) => m.subresource === 'status')?.fieldsV1).toEqual({
      'f:status': { 'f:lastScheduleTime': {} },
    });
    // A main-resource PUT that also tries to change the status: the spec lands (generation 2), the status stays.
    const main = await api.batch.replaceNamespacedCronJob({
      namespace: 'default',
      name: 'status-split',
      body: {
        metadata: { name: 'status-split' },
        spec: { ...spec, suspend: true },
        status: { lastScheduleTime: new Date('2030-01-01T00:00:00Z') },
      },
    });
    expect(main.spec?.suspend).toBe(true);
    expect(main.metadata?.generation).toBe(2);
    expect(main.status?.lastScheduleTime?.toISOString()).toBe(when.toISOString());
    // The same through a merge patch of the status subresource.
    const patched = await api.batch.patchNamespacedCronJobStatus(
      { namespace: 'default', name: 'status-split', body: { spec: { suspend: false }, status: { active: [] } } },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
    );
    expect([patched.spec?.suspend, patched.metadata?.generation]).toEqual([true, 2]);
  });

  it('watches with bookmarks: the sendInitialEvents end marker, then periodic BOOKMARKs', async () => {
    await api.core.createNamespace({ body: { metadata: { name: 'bookmarks' } } });
    for (const name of ['one', 'two'])
      await api.core.createNamespacedConfigMap({ namespace: 'bookmarks', body: { metadata: { name } } });
    const events: { type: string; name?: string; rv?: string; end?: string }[] = [];
    const req = await new k8s.Watch(api.kc).watch(
      '/api/v1/namespaces/bookmarks/configmaps',
      { allowWatchBookmarks: true, sendInitialEvents: true, resourceVersionMatch: 'NotOlderThan' },
      (type: string, obj: k8s.V1ConfigMap) =>
        events.push({
          type,
          name: type === 'BOOKMARK' ? undefined : obj.metadata?.name,
          rv: obj.metadata?.resourceVersion,
          end: obj.metadata?.annotations?.['k8s.io/initial-events-end'],
        }),
      () => undefined,
    );
    try {
      await until(
        () => Promise.resolve(events.filter((e) => e.type === 'BOOKMARK').length >= 2 ? true : undefined),
        'an initial-events-end bookmark and a periodic one',
        5000,
      );
    } finally {
      req.abort();
    }
    expect(events.slice(0, 3).map((e) => [e.type, e.name, e.end])).toEqual([
      ['ADDED', 'one', undefined],
      ['ADDED', 'two', undefined],
      ['BOOKMARK', undefined, 'true'],
    ]);
    const periodic = events.slice(3).find((e) => e.type === 'BOOKMARK')!;
    expect(periodic.end).toBeUndefined();
    expect(Number(periodic.rv)).toBeGreaterThanOrEqual(Number(events[2]!.rv));
  });

  it('shows a deleted pod with deletionTimestamp while it terminates, then DELETED', async () => {
    await api.core.createNamespacedPod({ namespace: 'default', body: pod('leaving', { app: 'leaving' }) });
    await until(async () => {
      const p = await api.core.readNamespacedPod({ namespace: 'default', name: 'leaving' });
      return p.status?.phase === 'Running' ? p : undefined;
    }, 'pod leaving Running');
    const events: { type: string; deletionTimestamp?: Date; grace?: number }[] = [];
    const req = await new k8s.Watch(api.kc).watch(
      '/api/v1/namespaces/default/pods',
      { fieldSelector: 'metadata.name=leaving' },
      (type: string, obj: k8s.V1Pod) =>
        events.push({
          type,
          deletionTimestamp: obj.metadata?.deletionTimestamp,
          grace: obj.metadata?.deletionGracePeriodSeconds,
        }),
      () => undefined,
    );
    const deleted = await api.core.deleteNamespacedPod({ namespace: 'default', name: 'leaving' });
    // The DELETE answers the pod as it now is: terminating, with the default 30 s grace period.
    expect(deleted.metadata?.deletionTimestamp).toBeDefined();
    expect(deleted.metadata?.deletionGracePeriodSeconds).toBe(30);
    try {
      await until(() => Promise.resolve(events.some((e) => e.type === 'DELETED') ? true : undefined), 'DELETED');
    } finally {
      req.abort();
    }
    const terminating = events.find((e) => e.type === 'MODIFIED' && e.deletionTimestamp);
    expect(terminating?.grace).toBe(30);
    expect(events.findIndex((e) => e === terminating)).toBeLessThan(events.findIndex((e) => e.type === 'DELETED'));
  });

  it('patches CRDs server-side and sets NamesAccepted/Established, NamesAccepted=False on a conflict', async () => {
    const crd = (name: string, plural: string, kind: string): k8s.V1CustomResourceDefinition => ({
      apiVersion: 'apiextensions.k8s.io/v1',
      kind: 'CustomResourceDefinition',
      metadata: { name },
      spec: {
        group: 'example.com',
        scope: 'Namespaced',
        names: { plural, kind },
        versions: [{ name: 'v1', served: true, storage: true, schema: { openAPIV3Schema: { type: 'object' } } }],
      },
    });
    const opts = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.ServerSideApply);
    await api.ext.patchCustomResourceDefinition(
      {
        name: 'gadgets.example.com',
        body: crd('gadgets.example.com', 'gadgets', 'Gadget'),
        fieldManager: 'installer',
        force: true,
      },
      opts,
    );
    await api.ext.patchCustomResourceDefinition(
      {
        name: 'gizmos.example.com',
        body: crd('gizmos.example.com', 'gizmos', 'Gadget'),
        fieldManager: 'installer',
        force: true,
      },
      opts,
    );
    const conds = async (n: string) =>
      (await api.ext.readCustomResourceDefinition({ name: n })).status?.conditions?.map(
        (x) => `${x.type}=${x.status}:${x.reason ?? ''}`,
      );
    expect(await conds('gadgets.example.com')).toEqual([
      'NamesAccepted=True:NoConflicts',
      'Established=True:InitialNamesAccepted',
    ]);
    expect(await conds('gizmos.example.com')).toEqual([
      'NamesAccepted=False:SingularConflict',
      'Established=False:NotAccepted',
    ]);
    const all = await api.ext.listCustomResourceDefinition();
    expect(all.items.map((x) => x.metadata!.name)).toEqual(['gadgets.example.com', 'gizmos.example.com']);
  });

  it('evicts pods, answers 429 when a PodDisruptionBudget blocks, and the controller replaces evicted pods', async () => {
    await api.apps.createNamespacedDeployment({
      namespace: 'default',
      body: {
        metadata: { name: 'db' },
        spec: {
          replicas: 2,
          selector: { matchLabels: { app: 'db' } },
          template: {
            metadata: { labels: { app: 'db' } },
            spec: { containers: [{ name: 'db', image: 'postgres:16' }] },
          },
        },
      },
    });
    const ready = async () => {
      const d = await api.apps.readNamespacedDeployment({ namespace: 'default', name: 'db' });
      return d.status?.readyReplicas === 2 && d.status.updatedReplicas === 2 ? d : undefined;
    };
    await until(ready, 'deployment db ready');
    await api.policy.createNamespacedPodDisruptionBudget({
      namespace: 'default',
      body: { metadata: { name: 'db' }, spec: { minAvailable: 2, selector: { matchLabels: { app: 'db' } } } },
    });
    const pods = await api.core.listNamespacedPod({ namespace: 'default', labelSelector: 'app=db' });
    const victim = pods.items[0]!.metadata!.name!;
    const eviction = { apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name: victim, namespace: 'default' } };
    const err = await api.core
      .createNamespacedPodEviction({ namespace: 'default', name: victim, body: eviction })
      .catch((e: unknown) => e);
    expect(apiError(err).code).toBe(429);
    expect(apiError(err).body.reason).toBe('TooManyRequests');
    expect(apiError(err).body.message).toBe("Cannot evict pod as it would violate the pod's disruption budget.");
    await api.policy.patchNamespacedPodDisruptionBudget(
      { namespace: 'default', name: 'db', body: { spec: { minAvailable: 1 } } },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
    );
    await api.core.createNamespacedPodEviction({ namespace: 'default', name: victim, body: eviction });
    await until(async () => {
      const now = await api.core.listNamespacedPod({ namespace: 'default', labelSelector: 'app=db' });
      const live = now.items.filter(
        (p) =>
          !p.metadata!.deletionTimestamp &&
          p.status?.conditions?.some((x) => x.type === 'Ready' && x.status === 'True'),
      );
      return live.length === 2 && !now.items.some((p) => p.metadata!.name === victim) ? true : undefined;
    }, 'replacement pod');
    const gone = await api.core
      .createNamespacedPodEviction({ namespace: 'default', name: victim, body: eviction })
      .catch((e: unknown) => e);
    expect(apiError(gone).code).toBe(404);
  });

  it('evicts like eviction.go: unready pods while the budget holds, Pending pods always, one PDB per pod', async () => {
    const namespace = 'evict';
    await api.core.createNamespace({ body: { metadata: { name: namespace } } });
    const labels = { app: 'evict' };
    await api.apps.createNamespacedDeployment({
      namespace,
      body: {
        metadata: { name: 'evict' },
        spec: {
          replicas: 3,
          selector: { matchLabels: labels },
          template: { metadata: { labels }, spec: { containers: [{ name: 'app', image: 'app:1' }] } },
        },
      },
    });
    const ready = (p: k8s.V1Pod) => p.status?.conditions?.some((x) => x.type === 'Ready' && x.status === 'True');
    const crashing = (p: k8s.V1Pod) => p.status?.containerStatuses?.[0]?.state?.waiting?.reason === 'CrashLoopBackOff';
    const pods = await until(async () => {
      const items = (await api.core.listNamespacedPod({ namespace, labelSelector: 'app=evict' })).items;
      return items.length === 3 && items.filter(ready).length === 2 && items.some(crashing) ? items : undefined;
    }, 'two ready pods and one in CrashLoopBackOff');
    await api.policy.createNamespacedPodDisruptionBudget({
      namespace,
      body: { metadata: { name: 'evict' }, spec: { maxUnavailable: 1, selector: { matchLabels: labels } } },
    });
    const evict = (name: string) =>
      api.core
        .createNamespacedPodEviction({
          namespace,
          name,
          body: { apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name, namespace } },
        })
        .then(
          () => 201,
          (e: unknown) => e,
        );
    // A healthy pod: 3 expected, 1 may be unavailable, 2 healthy → no disruption left.
    const healthy = pods.find(ready)!.metadata!.name!;
    const denied = await evict(healthy);
    expect(apiError(denied).code).toBe(429);
    const body = JSON.parse((denied as k8s.ApiException<string>).body) as {
      reason: string;
      message: string;
      details: { causes: { reason: string; message: string }[] };
    };
    expect(body.reason).toBe('TooManyRequests');
    expect(body.message).toBe("Cannot evict pod as it would violate the pod's disruption budget.");
    expect(body.details.causes).toEqual([
      { reason: 'DisruptionBudget', message: 'The disruption budget evict needs 2 healthy pods and has 2 currently' },
    ]);
    // The crash-looping pod is unready and the budget is met (2 healthy >= 2 desired > 0): it may go.
    const bad = pods.find(crashing)!.metadata!.name!;
    expect(await evict(bad)).toBe(201);
    const evicted = await api.core.readNamespacedPod({ namespace, name: bad }).catch(() => undefined);
    if (evicted) {
      expect(evicted.metadata?.deletionTimestamp).toBeDefined();
      expect(evicted.status?.conditions?.find((x) => x.type === 'DisruptionTarget')).toMatchObject({
        status: 'True',
        reason: 'EvictionByEvictionAPI',
      });
    }
    // A Pending pod (ImagePullBackOff) ignores its budget, even one that allows nothing.
    await api.core.createNamespacedPod({ namespace, body: pod('puller', { app: 'pull' }) });
    await until(async () => {
      const p = await api.core.readNamespacedPod({ namespace, name: 'puller' });
      return p.status?.containerStatuses?.[0]?.state?.waiting?.reason === 'ImagePullBackOff' ? p : undefined;
    }, 'ImagePullBackOff');
    expect((await api.core.readNamespacedPod({ namespace, name: 'puller' })).status?.phase).toBe('Pending');
    await api.policy.createNamespacedPodDisruptionBudget({
      namespace,
      body: { metadata: { name: 'pull' }, spec: { minAvailable: 1, selector: { matchLabels: { app: 'pull' } } } },
    });
    expect(await evict('puller')).toBe(201);
    // policy/v1: an empty selector selects every pod of the namespace, so the healthy pod now has two budgets.
    await api.policy.createNamespacedPodDisruptionBudget({
      namespace,
      body: { metadata: { name: 'all' }, spec: { maxUnavailable: 1, selector: {} } },
    });
    const two = await evict(healthy);
    expect(apiError(two).code).toBe(500);
    expect(apiError(two).body.message).toBe(
      'This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.',
    );
  });

  it('models failing pods as the kubelet reports them, with events', async () => {
    for (const [name, app] of [
      ['pull', 'pull'],
      ['cfg', 'cfg'],
      ['pending', 'pending'],
      ['oom', 'oom'],
    ] as const)
      await api.core.createNamespacedPod({ namespace: 'default', body: pod(name, { app }) });
    const status = async (n: string) => (await api.core.readNamespacedPod({ namespace: 'default', name: n })).status!;
    const pull = await until(
      async () =>
        (await status('pull')).containerStatuses?.[0]?.state?.waiting?.reason === 'ImagePullBackOff'
          ? status('pull')
          : undefined,
      'ImagePullBackOff',
    );
    expect(pull.phase).toBe('Pending');
    const cfg = await until(
      async () =>
        (await status('cfg')).containerStatuses?.[0]?.state?.waiting?.reason === 'CreateContainerConfigError'
          ? status('cfg')
          : undefined,
      'CreateContainerConfigError',
    );
    expect(cfg.containerStatuses![0]!.state!.waiting!.message).toBeTruthy();
    const pending = await until(
      async () =>
        (await status('pending')).conditions?.find((x) => x.type === 'PodScheduled')?.reason === 'Unschedulable'
          ? status('pending')
          : undefined,
      'Unschedulable',
    );
    expect(pending.phase).toBe('Pending');
    const oom = await until(async () => {
      const s = await status('oom');
      return s.containerStatuses?.[0]?.lastState?.terminated?.reason === 'OOMKilled' &&
        s.containerStatuses[0].state?.waiting
        ? s
        : undefined;
    }, 'OOMKilled');
    expect(oom.phase).toBe('Running');
    expect(oom.containerStatuses![0]!.state!.waiting!.reason).toBe('CrashLoopBackOff');
    expect(oom.containerStatuses![0]!.lastState!.terminated!.exitCode).toBe(137);
    expect(await api.core.readNamespacedPodLog({ namespace: 'default', name: 'oom', previous: true })).toBe(
      'allocating...\n',
    );
    const ev = await api.core.listNamespacedEvent({
      namespace: 'default',
      fieldSelector: 'involvedObject.name=pending,involvedObject.kind=Pod',
    });
    expect(ev.items.map((e) => `${e.type} ${e.reason}`)).toContain('Warning FailedScheduling');
    const pullEv = await api.core.listNamespacedEvent({
      namespace: 'default',
      fieldSelector: 'involvedObject.name=pull',
    });
    expect(pullEv.items.some((e) => e.message?.startsWith('Failed to pull image "app:1"'))).toBe(true);
    const orphan = await until(async () => {
      const p = await api.core.readNamespacedPod({ namespace: 'default', name: 'orphan' });
      return p.status?.phase === 'Running' ? p : undefined;
    }, 'bare pod running');
    expect(orphan.metadata!.ownerReferences).toBeUndefined();
  });

  it('runs a StatefulSet with Bound PVCs from volumeClaimTemplates, and Jobs to Complete or Failed', async () => {
    await api.apps.createNamespacedStatefulSet({
      namespace: 'default',
      body: {
        metadata: { name: 'cache' },
        spec: {
          replicas: 2,
          serviceName: 'cache',
          selector: { matchLabels: { app: 'cache' } },
          template: { metadata: { labels: { app: 'cache' } }, spec: { containers: [{ name: 'c', image: 'redis:7' }] } },
          volumeClaimTemplates: [
            {
              metadata: { name: 'data' },
              spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
            },
          ],
        },
      },
    });
    const sts = await until(async () => {
      const s = await api.apps.readNamespacedStatefulSet({ namespace: 'default', name: 'cache' });
      return s.status?.readyReplicas === 2 && s.status.currentRevision === s.status.updateRevision ? s : undefined;
    }, 'statefulset ready');
    expect(sts.status!.observedGeneration).toBe(1);
    const pvcs = await api.core.listNamespacedPersistentVolumeClaim({ namespace: 'default' });
    expect(pvcs.items.map((p) => `${p.metadata!.name} ${p.status!.phase}`).sort()).toEqual([
      'data-cache-0 Bound',
      'data-cache-1 Bound',
    ]);

    await api.batch.createNamespacedJob({
      namespace: 'default',
      body: {
        metadata: { name: 'ok' },
        spec: { template: { spec: { restartPolicy: 'Never', containers: [{ name: 'j', image: 'busybox:1' }] } } },
      },
    });
    const done = await until(async () => {
      const j = await api.batch.readNamespacedJob({ namespace: 'default', name: 'ok' });
      return j.status?.conditions?.some((x) => x.type === 'Complete' && x.status === 'True') ? j : undefined;
    }, 'job complete');
    expect(done.status!.succeeded).toBe(1);

    await api.batch.createNamespacedJob({
      namespace: 'default',
      body: {
        metadata: { name: 'ttl' },
        spec: {
          ttlSecondsAfterFinished: 0,
          template: { spec: { restartPolicy: 'Never', containers: [{ name: 'j', image: 'busybox:1' }] } },
        },
      },
    });
    await until(async () => {
      const left = await api.batch.listNamespacedJob({ namespace: 'default', fieldSelector: 'metadata.name=ttl' });
      const pods = await api.core.listNamespacedPod({ namespace: 'default', labelSelector: 'job-name=ttl' });
      return left.items.length === 0 && pods.items.length === 0 ? true : undefined;
    }, 'ttl job and its pods deleted');
  });

  it('runs Job pods as processes: exit codes, backoffLimit, activeDeadlineSeconds and logs with tailLines', async () => {
    const job = (name: string, image: string, args: string[], spec: Partial<k8s.V1JobSpec> = {}): k8s.V1Job => ({
      metadata: { name },
      spec: {
        ...spec,
        template: {
          spec: {
            restartPolicy: 'Never',
            containers: [{ name: 'main', image, args, env: [{ name: 'WHO', value: name }] }],
          },
        },
      },
    });
    const finished = (name: string) =>
      until(async () => {
        const j = await api.batch.readNamespacedJob({ namespace: 'default', name });
        return j.status?.conditions?.find((x) => (x.type === 'Complete' || x.type === 'Failed') && x.status === 'True')
          ? j
          : undefined;
      }, `job ${name} finished`);
    await api.batch.createNamespacedJob({
      namespace: 'default',
      body: job('talk', 'sim/sh:1', ['echo one; echo two; echo "three $WHO"']),
    });
    expect((await finished('talk')).status!.conditions!.map((x) => x.type)).toContain('Complete');
    const [p] = (await api.core.listNamespacedPod({ namespace: 'default', labelSelector: 'job-name=talk' })).items;
    expect(await api.core.readNamespacedPodLog({ namespace: 'default', name: p!.metadata!.name!, tailLines: 2 })).toBe(
      'two\nthree talk\n',
    );

    await api.batch.createNamespacedJob({
      namespace: 'default',
      body: job('fails', 'sim/sh:1', ['echo boom >&2; exit 4'], { backoffLimit: 1 }),
    });
    const failed = await finished('fails');
    expect(failed.status!.failed).toBe(2);
    expect(failed.status!.conditions!.find((x) => x.type === 'Failed')!.reason).toBe('BackoffLimitExceeded');
    const failedPods = await api.core.listNamespacedPod({ namespace: 'default', labelSelector: 'job-name=fails' });
    expect(
      failedPods.items.map((x) => `${x.status!.phase} ${x.status!.containerStatuses![0]!.state!.terminated!.exitCode}`),
    ).toEqual(['Failed 4', 'Failed 4']);

    await api.batch.createNamespacedJob({
      namespace: 'default',
      body: job('slow', 'sim/sleep:1', ['30'], { activeDeadlineSeconds: 1 }),
    });
    const slow = await finished('slow');
    expect(slow.status!.conditions!.find((x) => x.type === 'Failed')!.reason).toBe('DeadlineExceeded');
  });

  it('reports a stuck rollout as ProgressDeadlineExceeded', async () => {
    await api.apps.createNamespacedDeployment({
      namespace: 'default',
      body: {
        metadata: { name: 'stuck' },
        spec: {
          progressDeadlineSeconds: 1,
          selector: { matchLabels: { app: 'pull' } },
          template: {
            metadata: { labels: { app: 'pull' } },
            spec: { containers: [{ name: 'c', image: 'missing:1' }] },
          },
        },
      },
    });
    const d = await until(async () => {
      const x = await api.apps.readNamespacedDeployment({ namespace: 'default', name: 'stuck' });
      return x.status?.conditions?.find((c) => c.type === 'Progressing' && c.status === 'False') ? x : undefined;
    }, 'progress deadline');
    expect(d.status!.conditions!.find((c) => c.type === 'Progressing')!.reason).toBe('ProgressDeadlineExceeded');
    expect(d.status!.conditions!.find((c) => c.type === 'Available')!.status).toBe('False');
  });

  it('firstPods: the first pods crash for good, replacements (after a rollout restart) run', async () => {
    const labels = { app: 'firstpods' };
    await api.apps.createNamespacedDeployment({
      namespace: 'default',
      body: {
        metadata: { name: 'firstpods' },
        spec: {
          replicas: 2,
          selector: { matchLabels: labels },
          template: { metadata: { labels }, spec: { containers: [{ name: 'app', image: 'app:1' }] } },
        },
      },
    });
    const waiting = (p: k8s.V1Pod) => p.status?.containerStatuses?.[0]?.state?.waiting?.reason;
    const crashing = await until(async () => {
      const pods = (await api.core.listNamespacedPod({ namespace: 'default', labelSelector: 'app=firstpods' })).items;
      return pods.length === 2 &&
        pods.every(
          (p) => waiting(p) === 'CrashLoopBackOff' && (p.status?.containerStatuses?.[0]?.restartCount ?? 0) >= 2,
        )
        ? pods
        : undefined;
    }, 'two crash-looping pods');
    expect(crashing.every((p) => p.status?.phase === 'Running')).toBe(true);
    await api.apps.patchNamespacedDeployment(
      {
        name: 'firstpods',
        namespace: 'default',
        body: {
          spec: {
            template: { metadata: { annotations: { 'kubectl.kubernetes.io/restartedAt': new Date().toISOString() } } },
          },
        },
      },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.StrategicMergePatch),
    );
    const old = new Set(crashing.map((p) => p.metadata?.uid));
    const fresh = await until(
      async () => {
        const pods = (await api.core.listNamespacedPod({ namespace: 'default', labelSelector: 'app=firstpods' })).items;
        const ready = (p: k8s.V1Pod) => p.status?.conditions?.some((x) => x.type === 'Ready' && x.status === 'True');
        return pods.length === 2 && pods.every((p) => !old.has(p.metadata?.uid) && ready(p)) ? pods : undefined;
      },
      'the restarted pods to run',
      30_000,
    );
    expect(fresh.every((p) => (p.status?.containerStatuses?.[0]?.restartCount ?? 0) === 0)).toBe(true);
  });

  it('runs a DaemonSet on its one node', async () => {
    await api.apps.createNamespacedDaemonSet({
      namespace: 'default',
      body: {
        metadata: { name: 'agent' },
        spec: {
          selector: { matchLabels: { app: 'agent' } },
          template: {
            metadata: { labels: { app: 'agent' } },
            spec: {
              initContainers: [{ name: 'init', image: 'init:1' }],
              containers: [{ name: 'a', image: 'agent:1' }],
            },
          },
        },
      },
    });
    const ds = await until(async () => {
      const d = await api.apps.readNamespacedDaemonSet({ namespace: 'default', name: 'agent' });
      return d.status?.numberReady === 1 ? d : undefined;
    }, 'daemonset ready');
    expect([
      ds.status!.desiredNumberScheduled,
      ds.status!.updatedNumberScheduled,
      ds.status!.observedGeneration,
    ]).toEqual([1, 1, 1]);
    const [agent] = (await api.core.listNamespacedPod({ namespace: 'default', labelSelector: 'app=agent' })).items;
    expect(agent!.status!.initContainerStatuses!.map((x) => x.state?.terminated?.reason)).toEqual(['Completed']);
  });
});

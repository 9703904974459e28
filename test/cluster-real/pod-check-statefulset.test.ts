// pod-check --auto-fix against the real control plane (kube-apiserver, controller-manager, scheduler from Go
// modules): a StatefulSet pod evicted through the real Eviction API under a real PodDisruptionBudget is replaced by
// the real StatefulSet controller, with the same name, only once the old pod is gone. There is no kubelet: this file
// plays one (a Node with a Ready heartbeat, pod status through the status subresource, and the final delete of a
// Terminating pod only after a delay, as a kubelet does once the container stopped).
import { request } from 'node:https';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kubeBinDir, startControlPlane, type ControlPlane } from '../../cluster/real/control-plane.js';
import { ensureBundles, runHook } from '../hooks/support.js';

const binDir = kubeBinDir();
// In CI a missing build is a failure (beforeAll throws), never a silent skip.
const run = binDir !== undefined || Boolean(process.env.CI);
if (!run)
  console.warn(
    '\n*** test/cluster-real/pod-check-statefulset SKIPPED: the Kubernetes control-plane binaries are not built. ' +
      'Run `npm run setup:kube` (needs Go 1.26) to build them into .tools/kube. ***\n',
  );

const NODE = 'node-1';
/** How long a Terminating pod stays before "the kubelet" deletes it (the container took that long to stop). */
const STOP_MS = 5000;

interface Pod {
  metadata: {
    name: string;
    uid: string;
    deletionTimestamp?: string;
    labels?: Record<string, string>;
  };
  spec: { nodeName?: string; containers: { name: string; image: string }[] };
  status?: { phase?: string; conditions?: { type: string; status: string }[] };
}

/** What the fake kubelet makes of a pod: by name, and by how many pods of that name it has seen before. */
type Behaviour = 'ready' | 'crashLoop' | 'unready';

describe.skipIf(!run)('pod-check --auto-fix on a StatefulSet, real control plane', () => {
  let cp: ControlPlane;
  let ca: Buffer;
  const kubelet = { stopped: false };
  // A call, not a property read: the loop reads it after awaits (a read would be narrowed to false).
  const kubeletStopped = (): boolean => kubelet.stopped;
  let kubeletLoop: Promise<void> | undefined;
  /** pod name → uids seen, in order; uid → when the kubelet made it Ready / deleted it. */
  const seen = new Map<string, string[]>();
  const readyAt = new Map<string, number>();
  const deletedAt = new Map<string, number>();
  const terminatingSince = new Map<string, number>();
  const behaviours = new Map<string, (instance: number) => Behaviour>();

  const api = (method: string, path: string, body?: unknown, contentType = 'application/json') =>
    new Promise<{ status: number; body: any }>((done, fail) => {
      const data = body === undefined ? undefined : JSON.stringify(body);
      const req = request(
        `${cp.url}${path}`,
        {
          method,
          ca,
          headers: {
            Authorization: `Bearer ${cp.adminToken}`,
            Accept: 'application/json',
            ...(data ? { 'Content-Type': contentType, 'Content-Length': Buffer.byteLength(data) } : {}),
          },
        },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => (text += c));
          res.on('end', () => {
            let parsed: unknown = text;
            try {
              parsed = JSON.parse(text);
            } catch {
              // not JSON
            }
            done({ status: res.statusCode ?? 0, body: parsed });
          });
        },
      );
      req.on('error', fail);
      req.end(data);
    });
  const must = async (method: string, path: string, body?: unknown, contentType?: string) => {
    const r = await api(method, path, body, contentType);
    if (r.status >= 300) throw new Error(`${method} ${path}: ${r.status} ${JSON.stringify(r.body)}`);
    return r.body;
  };
  const mergePatch = (path: string, body: unknown) => must('PATCH', path, body, 'application/merge-patch+json');

  const nodeStatus = () => {
    const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    const resources = { cpu: '8', memory: '16Gi', pods: '110' };
    return {
      status: {
        capacity: resources,
        allocatable: resources,
        conditions: [
          {
            type: 'Ready',
            status: 'True',
            reason: 'KubeletReady',
            message: 'kubelet is posting ready status',
            lastHeartbeatTime: now,
            lastTransitionTime: now,
          },
        ],
      },
    };
  };

  function podStatus(pod: Pod, b: Behaviour) {
    const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    const ready = b === 'ready';
    const c = pod.spec.containers[0]!;
    const cond = (type: string, status: boolean) => ({
      type,
      status: status ? 'True' : 'False',
      lastTransitionTime: now,
    });
    return {
      status: {
        phase: 'Running',
        startTime: now,
        conditions: [
          cond('PodScheduled', true),
          cond('Initialized', true),
          cond('ContainersReady', ready),
          cond('Ready', ready),
        ],
        containerStatuses: [
          {
            name: c.name,
            image: c.image,
            imageID: '',
            ready,
            started: b !== 'crashLoop',
            restartCount: b === 'crashLoop' ? 4 : 0,
            state:
              b === 'crashLoop'
                ? { waiting: { reason: 'CrashLoopBackOff', message: 'back-off 1m20s restarting failed container' } }
                : { running: { startedAt: now } },
            ...(b === 'crashLoop'
              ? { lastState: { terminated: { exitCode: 1, reason: 'Error', startedAt: now, finishedAt: now } } }
              : {}),
          },
        ],
      },
    };
  }

  /** One pass of the fake kubelet over the namespace's pods. */
  async function kubeletPass(ns: string): Promise<void> {
    const list = (await must('GET', `/api/v1/namespaces/${ns}/pods`)) as { items: Pod[] };
    for (const pod of list.items) {
      const { name, uid } = pod.metadata;
      if (pod.metadata.deletionTimestamp) {
        const since = terminatingSince.get(uid) ?? Date.now();
        terminatingSince.set(uid, since);
        if (Date.now() - since >= STOP_MS && !deletedAt.has(uid)) {
          const r = await api('DELETE', `/api/v1/namespaces/${ns}/pods/${name}`, {
            gracePeriodSeconds: 0,
            preconditions: { uid },
          });
          if (r.status < 300 || r.status === 404) deletedAt.set(uid, Date.now());
        }
        continue;
      }
      if (!pod.spec.nodeName) continue;
      const uids = seen.get(name) ?? [];
      if (uids.includes(uid)) continue;
      const b = behaviours.get(name)?.(uids.length) ?? 'ready';
      await mergePatch(`/api/v1/namespaces/${ns}/pods/${name}/status`, podStatus(pod, b));
      seen.set(name, [...uids, uid]);
      if (b === 'ready') readyAt.set(uid, Date.now());
    }
  }

  function startKubelet(namespaces: string[]): void {
    let lastBeat = 0;
    kubeletLoop = (async () => {
      while (!kubeletStopped()) {
        try {
          if (Date.now() - lastBeat > 5000) {
            await mergePatch(`/api/v1/nodes/${NODE}/status`, nodeStatus());
            lastBeat = Date.now();
          }
          for (const ns of namespaces) await kubeletPass(ns);
        } catch (err) {
          if (!kubeletStopped()) console.warn(`fake kubelet: ${err instanceof Error ? err.message : String(err)}`);
        }
        await sleep(250);
      }
    })();
  }

  async function eventually<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 90_000): Promise<T> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const v = await fn();
      if (v !== undefined) return v;
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
      await sleep(300);
    }
  }

  /** A release's 3-replica StatefulSet (Parallel: all pods exist while one crash-loops) and a PDB (maxUnavailable 1). */
  async function createRelease(ns: string, name: string): Promise<void> {
    await must('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
    const labels = { app: name, 'helm-tiers.io/release': name };
    await must('POST', `/apis/apps/v1/namespaces/${ns}/statefulsets`, {
      apiVersion: 'apps/v1',
      kind: 'StatefulSet',
      metadata: { name, labels },
      spec: {
        replicas: 3,
        serviceName: name,
        podManagementPolicy: 'Parallel',
        selector: { matchLabels: { app: name } },
        template: {
          metadata: { labels },
          spec: { containers: [{ name: 'app', image: `registry.example/${name}:1` }] },
        },
      },
    });
    await must('POST', `/apis/policy/v1/namespaces/${ns}/poddisruptionbudgets`, {
      apiVersion: 'policy/v1',
      kind: 'PodDisruptionBudget',
      metadata: { name },
      spec: { maxUnavailable: 1, selector: { matchLabels: { app: name } } },
    });
  }

  /** Until the disruption controller has counted the release's pods (2 healthy of 3, one crash-looping). */
  const pdbSettled = (ns: string, name: string) =>
    eventually(`PDB ${ns}/${name} status`, async () => {
      const p = (await must('GET', `/apis/policy/v1/namespaces/${ns}/poddisruptionbudgets/${name}`)) as {
        metadata: { generation: number };
        status?: { observedGeneration?: number; currentHealthy?: number; expectedPods?: number };
      };
      const s = p.status;
      return s?.observedGeneration === p.metadata.generation && s.expectedPods === 3 && s.currentHealthy === 2
        ? true
        : undefined;
    });

  const podUid = async (ns: string, name: string) =>
    ((await must('GET', `/api/v1/namespaces/${ns}/pods/${name}`)) as Pod).metadata.uid;

  beforeAll(async () => {
    if (binDir === undefined)
      throw new Error('CI: the control-plane binaries are missing; run `npm run setup:kube` before the tests');
    ensureBundles();
    cp = await startControlPlane({ binDir });
    ca = Buffer.from(cp.caData, 'base64');
    await must('POST', '/api/v1/nodes', {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name: NODE, labels: { 'kubernetes.io/hostname': NODE, 'kubernetes.io/os': 'linux' } },
    });
    await mergePatch(`/api/v1/nodes/${NODE}/status`, nodeStatus());
    // db-1: its first pod crash-loops, the replacement runs. cache-1: the replacement never becomes Ready.
    behaviours.set('db-1', (i) => (i === 0 ? 'crashLoop' : 'ready'));
    behaviours.set('cache-1', (i) => (i === 0 ? 'crashLoop' : 'unready'));
    startKubelet(['db', 'cache']);
    await Promise.all([createRelease('db', 'db'), createRelease('cache', 'cache')]);
    await Promise.all([pdbSettled('db', 'db'), pdbSettled('cache', 'cache')]);
  }, 240_000);

  afterAll(async () => {
    kubelet.stopped = true;
    await kubeletLoop;
    await (cp as ControlPlane | undefined)?.stop();
  });

  const podCheck = (ns: string, release: string, timeout: number) =>
    runHook(
      'pod-check',
      [`--release=${release}`, `--namespace=${ns}`, '--grace=0', `--timeout=${timeout}`, '--auto-fix'],
      { KUBECONFIG: cp.kubeconfig },
    );

  it('evicts the crash-looping pod and passes only once the same-named replacement exists and is Ready; a replacement that never becomes Ready fails with 30', async () => {
    const [dbOld, cacheOld] = await Promise.all([podUid('db', 'db-1'), podUid('cache', 'cache-1')]);
    const [db, cache] = await Promise.all([podCheck('db', 'db', 60), podCheck('cache', 'cache', 30)]);
    const dbEnd = Date.now();

    // db: evicted through the Eviction API (the PDB allowed it), then verified whole again.
    expect(db.summary).toMatch(/^pod-check: 3 pods, 3 healthy, 0 unhealthy; auto-fix: db-1 evicted \(exit 0\)$/);
    expect(db.code).toBe(0);
    const dbNew = await podUid('db', 'db-1');
    expect(dbNew).not.toBe(dbOld);
    // The pass came after the old pod was gone (kept Terminating STOP_MS by the kubelet) and the replacement Ready.
    expect(deletedAt.get(dbOld)).toBeDefined();
    expect(readyAt.get(dbNew)).toBeDefined();
    expect(readyAt.get(dbNew)!).toBeLessThan(dbEnd);
    const waitedFor = JSON.stringify(
      db.logs.filter((l) => l.msg === 'verifying: waiting for replacements and workloads'),
    );
    expect(waitedFor).toContain('db-1 Terminating');

    // cache: the same eviction, but the replacement runs without ever becoming Ready: not a pass.
    expect(cache.code, cache.summary).toBe(30);
    expect(cache.summary).toContain('auto-fix: cache-1 evicted');
    expect(cache.summary).toMatch(/^pod-check: 3 pods, 2 healthy, 1 unhealthy \(NotReady 1: cache-1 NotReady\)/);
    expect(cache.summary).toMatch(
      /1 workload is not back to every pod it wants: statefulset\/cache: .*cache-1 NotReady/,
    );
    expect(await podUid('cache', 'cache-1')).not.toBe(cacheOld);
    expect(deletedAt.get(cacheOld)).toBeDefined();
  }, 120_000);
});

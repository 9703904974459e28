// Controllers and the kubelet as reconcile functions over the store, driven by store events and timers.
// Timing is injectable (milliseconds) so tests run fast; pod "processes" for mapped images are real child processes.
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { nowTs, resKey, type Cluster } from './core.js';
import { isPodReady, pdbStatus } from './disruption.js';
import type { PodLogSource } from './http.js';
import { behaviorFor, commandFor, type ComponentBehavior, type Scenario } from './scenario.js';
import { clone, type Obj, type ResourceType } from './types.js';

export interface Timing {
  /** Debounce between a change and the reconcile pass. */
  tick: number;
  schedule: number;
  start: number;
  ready: number;
  /** Time a crashing container runs before it dies, and the back-off before its restart. */
  crash: number;
  /** Run time of job pods whose image maps to no command. */
  jobRun: number;
  /** Graceful termination of a deleted pod. */
  terminate: number;
  /** Back-off before a Job creates a replacement pod. */
  jobBackoff: number;
  /** Period of a failing readiness probe (each failure counts on the pod's `Unhealthy` event). */
  probe: number;
}

const DEFAULT_TIMING: Timing = {
  tick: 5,
  schedule: 10,
  start: 20,
  ready: 20,
  crash: 40,
  jobRun: 50,
  terminate: 15,
  jobBackoff: 20,
  probe: 200,
};
export const NODE_NAME = 'sim-node';

interface PodSim {
  stage: 'new' | 'scheduled' | 'starting' | 'running' | 'crashed' | 'done' | 'stuck';
  next: number; // time of the next transition
  crashes: number;
  proc?: ChildProcess;
  log: Map<string, string>;
  prevLog: Map<string, string>;
  lastTerminated?: Map<string, Obj>;
  /** initCrashLoop: failures of the init container so far, and its last termination. */
  initCrashes: number;
  initLast?: { name: string; terminated: Obj };
  /** A replacement past the scenario's `firstPods`: the fault no longer applies to it. */
  healthy?: boolean;
}

function hash10(v: unknown): string {
  const h = createHash('sha256').update(JSON.stringify(v)).digest();
  const alphabet = 'bcdfghjklmnpqrstvwxz2456789';
  let s = '';
  for (let i = 0; i < 10; i++) s += alphabet[h[i]! % alphabet.length]!;
  return s;
}
function rand5(): string {
  const alphabet = 'bcdfghjklmnpqrstvwxz2456789';
  const b = randomBytes(5);
  return [...b].map((x) => alphabet[x % alphabet.length]).join('');
}
function ownedBy(o: Obj, owner: Obj): boolean {
  return (o.metadata?.ownerReferences ?? []).some((r: Obj) => r.uid === owner.metadata.uid && r.controller);
}
function ownerRef(owner: Obj, apiVersion: string, kind: string): Obj {
  return {
    apiVersion,
    kind,
    name: owner.metadata.name,
    uid: owner.metadata.uid,
    controller: true,
    blockOwnerDeletion: true,
  };
}
function cond(
  prev: Obj[] | undefined,
  type: string,
  status: string,
  reason?: string,
  message?: string,
  extra: Obj = {},
): Obj {
  const old = (prev ?? []).find((c) => c.type === type);
  const same = old && old.status === status;
  return {
    type,
    status,
    ...(extra.lastUpdateTime !== undefined || extra.probe ? {} : {}),
    ...extra,
    lastTransitionTime: same ? old.lastTransitionTime : nowTs(),
    ...(reason ? { reason } : {}),
    ...(message ? { message } : {}),
  };
}

export class Controllers implements PodLogSource {
  private readonly t: Timing;
  private timer?: NodeJS.Timeout;
  private wake?: NodeJS.Timeout;
  private wakeAt = Infinity;
  private resync?: NodeJS.Timeout;
  private unsub?: () => void;
  private readonly pods = new Map<string, PodSim>();
  /** Per `firstPods` behaviour and top-level owner: how many matching pods have been seen so far. */
  private readonly faultyPodsSeen = new Map<string, number>();

  /** The uid of the controller at the top of a pod's owner chain (Deployment → ReplicaSet → Pod), or the pod's. */
  private topOwnerUid(pod: Obj): string {
    const ref = (pod.metadata?.ownerReferences ?? []).find((r: Obj) => r.controller) as Obj | undefined;
    if (!ref) return String(pod.metadata?.uid);
    if (ref.kind === 'ReplicaSet') {
      const rs = this.cluster.store.get('apps/replicasets', pod.metadata.namespace, String(ref.name));
      const dep = (rs?.metadata?.ownerReferences ?? []).find((r: Obj) => r.controller) as Obj | undefined;
      if (dep) return String(dep.uid);
    }
    return String(ref.uid);
  }
  private readonly jobCounted = new Map<string, Set<string>>();
  private readonly jobNextCreate = new Map<string, number>();
  private readonly eventNames = new Map<string, string>();
  private readonly progress = new Map<string, { sig: string; at: number }>();
  /** Owner uid → the error of its last failed pod creation in this pass (ReplicaSet `ReplicaFailure` condition). */
  private readonly createErrors = new Map<string, string>();
  private stopped = false;
  private running = false;
  apiUrl = '';

  constructor(
    private readonly cluster: Cluster,
    private readonly scenario: Scenario,
    timing: Partial<Timing>,
    private readonly dir: string,
    /** The kubelet's clock for pod transitions; a seam so tests can make it disagree with the timers. */
    private readonly kubeletClock: () => number = Date.now,
  ) {
    this.t = { ...DEFAULT_TIMING, ...timing };
    cluster.onPodTerminating = (pod) => {
      const sim = this.pods.get(pod.metadata.uid);
      if (sim?.proc && sim.proc.exitCode === null) sim.proc.kill('SIGTERM');
      // A container that ignores SIGTERM is killed at the end of the grace period: only then is the pod gone (and a
      // StatefulSet free to create its same-named replacement), as with the real kubelet.
      const grace = Number(pod.metadata.deletionGracePeriodSeconds ?? 0);
      const ms = behaviorFor(this.scenario, pod)?.ignoreSigterm ? grace * 1000 : this.t.terminate;
      setTimeout(() => {
        cluster.finalizePod(pod.metadata.namespace, pod.metadata.name);
        this.pods.delete(pod.metadata.uid);
      }, ms);
    };
  }

  start(): void {
    this.ensureNode();
    this.unsub = this.cluster.store.subscribe((e) => {
      if (e.res === '/pods' && e.type !== 'DELETED')
        this.podQueue.add(`${e.obj.metadata.namespace}/${e.obj.metadata.name}`);
      this.kick();
    });
    for (const p of this.cluster.store.list('/pods')) this.podQueue.add(`${p.metadata.namespace}/${p.metadata.name}`);
    for (const b of this.scenario.barePods ?? []) {
      const ns = b.namespace ?? 'default';
      if (!this.cluster.store.peek('/namespaces', undefined, ns))
        this.cluster.create(this.rt('', 'namespaces'), undefined, {
          apiVersion: 'v1',
          kind: 'Namespace',
          metadata: { name: ns },
        });
      this.cluster.create(this.rt('', 'pods'), ns, {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: b.name, labels: b.labels ?? {} },
        spec: { containers: [{ name: 'main', image: b.image ?? 'busybox:1.36' }] },
      });
    }
    // Periodic resync, like the informers' resync of real controllers: a missed trigger cannot stall a rollout,
    // and no pod whose transition is due waits for a wake-up that never comes.
    this.resync = setInterval(() => {
      const now = this.kubeletClock();
      for (const p of this.cluster.store.list('/pods')) {
        const sim = this.pods.get(p.metadata.uid);
        if (sim && sim.stage !== 'done' && sim.stage !== 'stuck' && sim.next <= now)
          this.podQueue.add(`${p.metadata.namespace}/${p.metadata.name}`);
      }
      this.kick();
    }, 1000);
    this.kick();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.unsub?.();
    if (this.timer) clearTimeout(this.timer);
    if (this.wake) clearTimeout(this.wake);
    if (this.resync) clearInterval(this.resync);
    for (const { timer } of this.podTimers.values()) clearTimeout(timer);
    this.podTimers.clear();
    const procs = [...this.pods.values()]
      .map((s) => s.proc)
      .filter((p): p is ChildProcess => !!p && p.exitCode === null && p.signalCode === null);
    await Promise.all(
      procs.map(
        (p) =>
          new Promise<void>((r) => {
            p.once('exit', () => {
              r();
            });
            p.kill('SIGKILL');
            setTimeout(r, 500);
          }),
      ),
    );
  }

  /** Resolves when the reconcile loop is idle, no wake-up is due within 1 s and no process runs. */
  async settle(timeoutMs = 10000): Promise<void> {
    const end = Date.now() + timeoutMs;
    let quiet = 0;
    while (Date.now() < end) {
      const busy =
        this.timer !== undefined ||
        this.running ||
        this.wakeAt < Date.now() + 1000 ||
        this.podQueue.size > 0 ||
        [...this.pods.values()].some((s) => s.proc && s.proc.exitCode === null && s.proc.signalCode === null);
      quiet = busy ? 0 : quiet + 1;
      if (quiet >= 3) return;
      await new Promise((r) => setTimeout(r, this.t.tick * 2));
    }
  }

  private kick(): void {
    if (this.stopped || this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.reconcile();
    }, this.t.tick);
  }
  private wakeIn(ms: number): void {
    const at = Date.now() + ms;
    if (at >= this.wakeAt || this.stopped) return;
    if (this.wake) clearTimeout(this.wake);
    this.wakeAt = at;
    this.wake = setTimeout(() => {
      this.wake = undefined;
      this.wakeAt = Infinity;
      this.kick();
    }, ms);
  }

  private rt(group: string, resource: string): ResourceType {
    return this.cluster.rt(group, resource)!;
  }

  private reconcile(): void {
    if (this.stopped) return;
    this.running = true;
    // Each controller runs on its own: one failing must not starve the others (a stalled rollout is worse than a
    // logged error).
    for (const step of [
      () => {
        this.namespaces();
      },
      () => {
        this.deployments();
      },
      () => {
        this.replicaSets();
      },
      () => {
        this.statefulSets();
      },
      () => {
        this.daemonSets();
      },
      () => {
        this.jobs();
      },
      () => {
        this.pvcs();
      },
      () => {
        this.kubelet();
      },
      () => {
        this.pdbs();
      },
    ]) {
      try {
        step();
      } catch (e) {
        console.error('[sim-cluster] reconcile failed', e);
      }
    }
    this.running = false;
  }

  // ---------- helpers ----------
  private writeStatus(rt: ResourceType, o: Obj, status: Obj): void {
    if (JSON.stringify(o.status) === JSON.stringify(status)) return;
    try {
      const cur = this.cluster.store.get(resKey(rt), o.metadata.namespace, o.metadata.name);
      if (!cur) return;
      cur.status = status;
      this.cluster.update(rt, o.metadata.namespace, o.metadata.name, cur, { subresource: 'status' });
    } catch (e) {
      if (!String(e).includes('not found')) throw e;
    }
  }

  event(obj: Obj, type: 'Normal' | 'Warning', reason: string, message: string, component = 'kubelet'): void {
    const ns = obj.metadata.namespace ?? 'default';
    const evRt = this.rt('', 'events');
    const dedupe = `${ns}\0${obj.metadata.uid}\0${reason}\0${message}`;
    const existingName = this.eventNames.get(dedupe);
    const existing = existingName ? this.cluster.store.peek('/events', ns, existingName) : undefined;
    const now = nowTs();
    if (existing) {
      const u = clone(existing);
      u.count = Number(u.count ?? 1) + 1;
      u.lastTimestamp = now;
      this.cluster.update(evRt, ns, u.metadata.name, u);
      return;
    }
    const name = `${obj.metadata.name}.${randomBytes(8).toString('hex')}`;
    this.eventNames.set(dedupe, name);
    try {
      this.cluster.create(evRt, ns, {
        apiVersion: 'v1',
        kind: 'Event',
        metadata: { name },
        involvedObject: {
          kind: obj.kind,
          namespace: obj.metadata.namespace,
          name: obj.metadata.name,
          uid: obj.metadata.uid,
          apiVersion: obj.apiVersion,
          resourceVersion: obj.metadata.resourceVersion,
        },
        reason,
        message,
        source: { component, ...(component === 'kubelet' ? { host: NODE_NAME } : {}) },
        firstTimestamp: now,
        lastTimestamp: now,
        count: 1,
        type,
        eventTime: null,
        reportingComponent: component,
        reportingInstance: component === 'kubelet' ? NODE_NAME : '',
      });
    } catch {
      /* namespace going away */
    }
  }

  private ensureNode(): void {
    if (this.cluster.store.peek('/nodes', undefined, NODE_NAME)) return;
    const ts = nowTs();
    this.cluster.create(this.rt('', 'nodes'), undefined, {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: {
        name: NODE_NAME,
        labels: {
          'kubernetes.io/hostname': NODE_NAME,
          'kubernetes.io/os': 'linux',
          'kubernetes.io/arch': 'amd64',
          'node-role.kubernetes.io/control-plane': '',
        },
      },
      spec: { podCIDR: '10.244.0.0/24' },
      status: {
        capacity: { cpu: '8', memory: '32Gi', pods: '10000' },
        allocatable: { cpu: '8', memory: '32Gi', pods: '10000' },
        conditions: [
          {
            type: 'Ready',
            status: 'True',
            reason: 'KubeletReady',
            message: 'kubelet is posting ready status',
            lastHeartbeatTime: ts,
            lastTransitionTime: ts,
          },
        ],
        addresses: [
          { type: 'InternalIP', address: '10.0.0.1' },
          { type: 'Hostname', address: NODE_NAME },
        ],
        nodeInfo: {
          kubeletVersion: `v${this.cluster.version.major}.${this.cluster.version.minor}.0`,
          osImage: 'Simulated',
          containerRuntimeVersion: 'sim://1.0',
          operatingSystem: 'linux',
          architecture: 'amd64',
        },
      },
    });
  }

  // ---------- namespaces: default ServiceAccount ----------
  private namespaces(): void {
    for (const ns of this.cluster.store.list('/namespaces')) {
      if (ns.metadata.deletionTimestamp) continue;
      if (!this.cluster.store.peek('/serviceaccounts', ns.metadata.name, 'default'))
        this.cluster.create(this.rt('', 'serviceaccounts'), ns.metadata.name, {
          apiVersion: 'v1',
          kind: 'ServiceAccount',
          metadata: { name: 'default' },
        });
    }
  }

  // ---------- Deployment → ReplicaSet ----------
  private deployments(): void {
    const rsRt = this.rt('apps', 'replicasets');
    for (const d of this.cluster.store.list('apps/deployments')) {
      if (d.metadata.deletionTimestamp) continue;
      const ns = d.metadata.namespace;
      const template = d.spec.template ?? {};
      const hash = hash10(template);
      const owned = this.cluster.store.list('apps/replicasets', ns).filter((r) => ownedBy(r, d));
      let newRs = owned.find((r) => r.metadata.labels?.['pod-template-hash'] === hash);
      const maxRev = Math.max(
        0,
        ...owned.map((r) => Number(r.metadata.annotations?.['deployment.kubernetes.io/revision'] ?? 0)),
      );
      const replicas = d.spec.replicas ?? 1;
      if (!newRs) {
        const t = clone(template);
        t.metadata ??= {};
        t.metadata.labels = { ...(t.metadata.labels ?? {}), 'pod-template-hash': hash };
        const name = `${d.metadata.name}-${hash}`;
        newRs = this.cluster.create(rsRt, ns, {
          apiVersion: 'apps/v1',
          kind: 'ReplicaSet',
          metadata: {
            name,
            labels: t.metadata.labels,
            annotations: {
              'deployment.kubernetes.io/desired-replicas': String(replicas),
              'deployment.kubernetes.io/max-replicas': String(Number(replicas) + 1),
              'deployment.kubernetes.io/revision': String(maxRev + 1),
            },
            ownerReferences: [ownerRef(d, 'apps/v1', 'Deployment')],
          },
          spec: {
            replicas,
            selector: {
              ...(d.spec.selector ?? {}),
              matchLabels: { ...(d.spec.selector?.matchLabels ?? {}), 'pod-template-hash': hash },
            },
            template: t,
          },
        });
        this.event(
          d,
          'Normal',
          'ScalingReplicaSet',
          `Scaled up replica set ${name} from 0 to ${replicas}`,
          'deployment-controller',
        );
      } else if (newRs.spec.replicas !== replicas) {
        const u = clone(newRs);
        u.spec.replicas = replicas;
        this.cluster.update(rsRt, ns, u.metadata.name, u);
        this.event(
          d,
          'Normal',
          'ScalingReplicaSet',
          `Scaled ${replicas > newRs.spec.replicas ? 'up' : 'down'} replica set ${u.metadata.name} from ${newRs.spec.replicas} to ${replicas}`,
          'deployment-controller',
        );
      }
      const newReady = (newRs.status?.availableReplicas ?? 0) >= replicas;
      for (const r of owned) {
        if (r.metadata.uid === newRs.metadata.uid || (r.spec.replicas ?? 0) === 0 || !newReady) continue;
        const u = clone(r);
        this.event(
          d,
          'Normal',
          'ScalingReplicaSet',
          `Scaled down replica set ${r.metadata.name} from ${r.spec.replicas} to 0`,
          'deployment-controller',
        );
        u.spec.replicas = 0;
        this.cluster.update(rsRt, ns, u.metadata.name, u);
      }
      const all = this.cluster.store.list('apps/replicasets', ns).filter((r) => ownedBy(r, d));
      const sum = (f: (r: Obj) => number) => all.reduce((n, r) => n + f(r), 0);
      const cur = all.find((r) => r.metadata.uid === newRs.metadata.uid) ?? newRs;
      const total = sum((r) => r.status?.replicas ?? 0);
      const available = sum((r) => r.status?.availableReplicas ?? 0);
      const ready = sum((r) => r.status?.readyReplicas ?? 0);
      const updated = cur.status?.replicas ?? 0;
      const maxUnavail =
        d.spec.strategy?.type === 'Recreate'
          ? 0
          : pctOf(d.spec.strategy?.rollingUpdate?.maxUnavailable ?? '25%', replicas, false);
      const complete =
        updated === replicas &&
        total === replicas &&
        available === replicas &&
        (cur.status?.availableReplicas ?? 0) === replicas;
      const prev: Obj[] = d.status?.conditions ?? [];
      const now = nowTs();
      const availableCond =
        available >= replicas - maxUnavail
          ? cond(prev, 'Available', 'True', 'MinimumReplicasAvailable', 'Deployment has minimum availability.', {
              lastUpdateTime: now,
            })
          : cond(
              prev,
              'Available',
              'False',
              'MinimumReplicasUnavailable',
              'Deployment does not have minimum availability.',
              { lastUpdateTime: now },
            );
      // Progress = any change in the counts; without it for progressDeadlineSeconds the rollout is stuck, which
      // the deployment controller reports as Progressing=False/ProgressDeadlineExceeded (kstatus: Failed).
      const sig = `${cur.metadata.uid}:${updated}:${available}:${ready}:${total}`;
      const seen = this.progress.get(d.metadata.uid);
      if (!seen || seen.sig !== sig) this.progress.set(d.metadata.uid, { sig, at: Date.now() });
      const since = this.progress.get(d.metadata.uid)!.at;
      const deadlineMs = Number(d.spec.progressDeadlineSeconds ?? 600) * 1000;
      const stuck = !complete && Date.now() - since >= deadlineMs;
      if (!complete && !stuck) this.wakeIn(Math.max(1, since + deadlineMs - Date.now()));
      const progressing = complete
        ? cond(
            prev,
            'Progressing',
            'True',
            'NewReplicaSetAvailable',
            `ReplicaSet "${cur.metadata.name}" has successfully progressed.`,
            { lastUpdateTime: now },
          )
        : stuck
          ? cond(
              prev,
              'Progressing',
              'False',
              'ProgressDeadlineExceeded',
              `ReplicaSet "${cur.metadata.name}" has timed out progressing.`,
              { lastUpdateTime: now },
            )
          : cond(
              prev,
              'Progressing',
              'True',
              'ReplicaSetUpdated',
              `ReplicaSet "${cur.metadata.name}" is progressing.`,
              { lastUpdateTime: now },
            );
      const rsFailure = all
        .map((r) => (r.status?.conditions ?? []).find((c: Obj) => c.type === 'ReplicaFailure' && c.status === 'True'))
        .find((c): c is Obj => c !== undefined);
      const failureCond = rsFailure
        ? cond(prev, 'ReplicaFailure', 'True', rsFailure.reason, rsFailure.message, { lastUpdateTime: now })
        : undefined;
      // Keep lastUpdateTime stable when nothing changed, so status writes stop.
      for (const c of failureCond ? [availableCond, progressing, failureCond] : [availableCond, progressing]) {
        const old = prev.find((p) => p.type === c.type);
        if (old && old.reason === c.reason && old.status === c.status) c.lastUpdateTime = old.lastUpdateTime;
      }
      const status: Obj = {
        observedGeneration: d.metadata.generation,
        replicas: total,
        updatedReplicas: updated,
        readyReplicas: ready,
        availableReplicas: available,
        ...(total - available > 0 ? { unavailableReplicas: total - available } : {}),
        conditions: failureCond ? [availableCond, progressing, failureCond] : [availableCond, progressing],
      };
      if (!ready) delete status.readyReplicas;
      if (!available) delete status.availableReplicas;
      this.writeStatus(this.rt('apps', 'deployments'), d, status);
      const rev = cur.metadata.annotations?.['deployment.kubernetes.io/revision'];
      if (rev && d.metadata.annotations?.['deployment.kubernetes.io/revision'] !== rev) {
        const fresh = this.cluster.store.get('apps/deployments', ns, d.metadata.name);
        if (fresh) {
          fresh.metadata.annotations = {
            ...(fresh.metadata.annotations ?? {}),
            'deployment.kubernetes.io/revision': rev,
          };
          this.cluster.update(this.rt('apps', 'deployments'), ns, fresh.metadata.name, fresh);
        }
      }
    }
  }

  // ---------- pod-owning controllers ----------
  private podsOf(owner: Obj): Obj[] {
    return this.cluster.store.list('/pods', owner.metadata.namespace).filter((p) => ownedBy(p, owner));
  }

  /** Create a pod from a template; fails (with a FailedCreate event) when the ServiceAccount does not exist. */
  private createPod(
    owner: Obj,
    ownerApiVersion: string,
    ownerKind: string,
    name: string,
    template: Obj,
    extraLabels: Obj = {},
    mutate?: (p: Obj) => void,
  ): boolean {
    const ns = owner.metadata.namespace;
    const spec = clone(template.spec ?? {});
    const sa = spec.serviceAccountName ?? spec.serviceAccount ?? 'default';
    if (!this.cluster.store.peek('/serviceaccounts', ns, sa)) {
      const err = `pods "${name}" is forbidden: error looking up service account ${ns}/${sa}: serviceaccount "${sa}" not found`;
      this.createErrors.set(String(owner.metadata.uid), err);
      this.event(owner, 'Warning', 'FailedCreate', `Error creating: ${err}`, controllerName(ownerKind));
      this.wakeIn(100);
      return false;
    }
    const pod: Obj = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name,
        labels: { ...(template.metadata?.labels ?? {}), ...extraLabels },
        ...(template.metadata?.annotations ? { annotations: clone(template.metadata.annotations) } : {}),
        ownerReferences: [ownerRef(owner, ownerApiVersion, ownerKind)],
      },
      spec,
    };
    mutate?.(pod);
    try {
      this.cluster.create(this.rt('', 'pods'), ns, pod);
      this.event(owner, 'Normal', 'SuccessfulCreate', `Created pod: ${name}`, controllerName(ownerKind));
      return true;
    } catch {
      return false;
    }
  }

  private deletePod(p: Obj): void {
    try {
      this.cluster.delete(this.rt('', 'pods'), p.metadata.namespace, p.metadata.name, {});
    } catch {
      /* gone */
    }
  }

  private replicaSets(): void {
    const rt = this.rt('apps', 'replicasets');
    for (const rs of this.cluster.store.list('apps/replicasets')) {
      if (rs.metadata.deletionTimestamp) continue;
      const pods = this.podsOf(rs);
      const live = pods.filter(
        (p) => !p.metadata.deletionTimestamp && !['Succeeded', 'Failed'].includes(p.status?.phase),
      );
      const want = rs.spec.replicas ?? 1;
      this.createErrors.delete(String(rs.metadata.uid));
      for (let i = live.length; i < want; i++)
        if (!this.createPod(rs, 'apps/v1', 'ReplicaSet', `${rs.metadata.name}-${rand5()}`, rs.spec.template ?? {}))
          break;
      if (live.length > want) {
        const victims = [...live]
          .sort((a, b) => Number(isPodReady(a)) - Number(isPodReady(b)))
          .slice(0, live.length - want);
        for (const v of victims) {
          this.deletePod(v);
          this.event(rs, 'Normal', 'SuccessfulDelete', `Deleted pod: ${v.metadata.name}`, 'replicaset-controller');
        }
      }
      const now = this.podsOf(rs).filter(
        (p) => !p.metadata.deletionTimestamp && !['Succeeded', 'Failed'].includes(p.status?.phase),
      );
      const ready = now.filter(isPodReady).length;
      const status: Obj = {
        replicas: now.length,
        fullyLabeledReplicas: now.length,
        readyReplicas: ready,
        availableReplicas: ready,
        observedGeneration: rs.metadata.generation,
      };
      if (!ready) {
        delete status.readyReplicas;
        delete status.availableReplicas;
      }
      if (!now.length) delete status.fullyLabeledReplicas;
      // As the replicaset controller: a failed create sets ReplicaFailure (reason FailedCreate, the error as message)
      // until a pass creates what it needs; the deployment controller copies it onto the Deployment.
      const failure = this.createErrors.get(String(rs.metadata.uid));
      if (failure) status.conditions = [cond(rs.status?.conditions, 'ReplicaFailure', 'True', 'FailedCreate', failure)];
      this.writeStatus(rt, rs, status);
    }
  }

  private statefulSets(): void {
    const rt = this.rt('apps', 'statefulsets');
    const pvcRt = this.rt('', 'persistentvolumeclaims');
    for (const s of this.cluster.store.list('apps/statefulsets')) {
      if (s.metadata.deletionTimestamp) continue;
      const ns = s.metadata.namespace;
      const name = s.metadata.name;
      const rev = `${name}-${hash10(s.spec.template ?? {})}`;
      const want = s.spec.replicas ?? 1;
      const pods = this.podsOf(s);
      const parallel = s.spec.podManagementPolicy === 'Parallel';
      for (let i = 0; i < want; i++) {
        const podName = `${name}-${i}`;
        if (pods.some((p) => p.metadata.name === podName)) continue;
        if (this.cluster.store.peek('/pods', ns, podName)) continue; // still terminating
        if (!parallel && pods.filter((p) => ordinal(p) < i).some((p) => !isPodReady(p))) break;
        for (const vct of (s.spec.volumeClaimTemplates ?? []) as Obj[]) {
          const pvcName = `${vct.metadata?.name}-${podName}`;
          if (this.cluster.store.peek('/persistentvolumeclaims', ns, pvcName)) continue;
          this.cluster.create(pvcRt, ns, {
            apiVersion: 'v1',
            kind: 'PersistentVolumeClaim',
            metadata: {
              name: pvcName,
              labels: { ...(vct.metadata?.labels ?? {}), ...(s.spec.selector?.matchLabels ?? {}) },
            },
            spec: clone(vct.spec ?? {}),
          });
          this.event(
            s,
            'Normal',
            'SuccessfulCreate',
            `create Claim ${pvcName} Pod ${podName} in StatefulSet ${name} success`,
            'statefulset-controller',
          );
        }
        const ok = this.createPod(
          s,
          'apps/v1',
          'StatefulSet',
          podName,
          s.spec.template ?? {},
          {
            'statefulset.kubernetes.io/pod-name': podName,
            'apps.kubernetes.io/pod-index': String(i),
            'controller-revision-hash': rev,
          },
          (p) => {
            p.spec.hostname = podName;
            if (s.spec.serviceName) p.spec.subdomain = s.spec.serviceName;
            const vols: Obj[] = p.spec.volumes ?? [];
            for (const vct of (s.spec.volumeClaimTemplates ?? []) as Obj[])
              vols.push({
                name: vct.metadata?.name,
                persistentVolumeClaim: { claimName: `${vct.metadata?.name}-${podName}` },
              });
            if (vols.length) p.spec.volumes = vols;
          },
        );
        if (!ok || !parallel) break;
      }
      for (const p of pods) if (ordinal(p) >= want && !p.metadata.deletionTimestamp) this.deletePod(p);
      // Rolling update from the highest ordinal, one pod at a time, once all pods are ready.
      const current = this.podsOf(s).filter((p) => !p.metadata.deletionTimestamp);
      const outdated = current
        .filter((p) => p.metadata.labels?.['controller-revision-hash'] !== rev)
        .sort((a, b) => ordinal(b) - ordinal(a));
      if (outdated.length && current.length === want && current.every(isPodReady)) this.deletePod(outdated[0]!);
      const ready = current.filter(isPodReady).length;
      const updated = current.filter((p) => p.metadata.labels?.['controller-revision-hash'] === rev).length;
      const done = updated === want && outdated.length === 0;
      const status: Obj = {
        observedGeneration: s.metadata.generation,
        replicas: current.length,
        readyReplicas: ready,
        currentReplicas: done ? updated : current.length - updated,
        updatedReplicas: updated,
        availableReplicas: ready,
        currentRevision: done ? rev : (s.status?.currentRevision ?? rev),
        updateRevision: rev,
        collisionCount: 0,
      };
      this.writeStatus(rt, s, status);
    }
  }

  private daemonSets(): void {
    const rt = this.rt('apps', 'daemonsets');
    for (const d of this.cluster.store.list('apps/daemonsets')) {
      if (d.metadata.deletionTimestamp) continue;
      const hash = hash10(d.spec.template ?? {});
      const pods = this.podsOf(d).filter((p) => !p.metadata.deletionTimestamp);
      for (const p of pods) if (p.metadata.labels?.['controller-revision-hash'] !== hash) this.deletePod(p);
      const cur = pods.filter((p) => p.metadata.labels?.['controller-revision-hash'] === hash);
      if (cur.length === 0 && pods.length === 0)
        this.createPod(
          d,
          'apps/v1',
          'DaemonSet',
          `${d.metadata.name}-${rand5()}`,
          d.spec.template ?? {},
          { 'controller-revision-hash': hash, 'pod-template-generation': String(d.metadata.generation ?? 1) },
          (p) => {
            p.spec.nodeName = NODE_NAME;
          },
        );
      const ready = cur.filter(isPodReady).length;
      this.writeStatus(rt, d, {
        currentNumberScheduled: pods.length ? 1 : 0,
        desiredNumberScheduled: 1,
        numberMisscheduled: 0,
        numberReady: ready,
        numberAvailable: ready,
        ...(ready ? {} : { numberUnavailable: 1 }),
        updatedNumberScheduled: cur.length,
        observedGeneration: d.metadata.generation,
      });
    }
  }

  private jobs(): void {
    const rt = this.rt('batch', 'jobs');
    const now = Date.now();
    for (const j of this.cluster.store.list('batch/jobs')) {
      if (j.metadata.deletionTimestamp) continue;
      const conds: Obj[] = j.status?.conditions ?? [];
      const finished = conds.some((c) => (c.type === 'Complete' || c.type === 'Failed') && c.status === 'True');
      const pods = this.podsOf(j);
      const counted = this.jobCounted.get(j.metadata.uid) ?? new Set<string>();
      this.jobCounted.set(j.metadata.uid, counted);
      let succeeded = j.status?.succeeded ?? 0;
      let failed = j.status?.failed ?? 0;
      for (const p of pods) {
        if (counted.has(p.metadata.uid)) continue;
        if (p.status?.phase === 'Succeeded') {
          succeeded++;
          counted.add(p.metadata.uid);
        } else if (p.status?.phase === 'Failed') {
          failed++;
          counted.add(p.metadata.uid);
        }
      }
      const active = pods.filter(
        (p) => !['Succeeded', 'Failed'].includes(p.status?.phase) && !p.metadata.deletionTimestamp,
      );
      const status: Obj = { ...(clone(j.status ?? {}) as Obj) };
      if (finished) {
        for (const p of active) this.deletePod(p);
        // TTL-after-finished controller: the Job (and, by GC, its pods) goes away ttlSecondsAfterFinished later.
        const ttl = j.spec.ttlSecondsAfterFinished;
        if (typeof ttl === 'number') {
          const doneAt = conds.find(
            (x) => (x.type === 'Complete' || x.type === 'Failed') && x.status === 'True',
          )?.lastTransitionTime;
          const due = Date.parse(j.status?.completionTime ?? doneAt ?? nowTs()) + ttl * 1000;
          if (Date.now() >= due) {
            try {
              this.cluster.delete(rt, j.metadata.namespace, j.metadata.name, { propagationPolicy: 'Background' });
            } catch {
              /* already gone */
            }
          } else this.wakeIn(due - Date.now());
        }
        continue;
      }
      if (j.spec.suspend) continue;
      status.startTime ??= nowTs();
      const completions = j.spec.completions ?? 1;
      const started = Date.parse(status.startTime);
      const deadline = j.spec.activeDeadlineSeconds;
      let newConds: Obj[] | undefined;
      if (succeeded >= completions) {
        newConds = [
          cond(conds, 'SuccessCriteriaMet', 'True', 'CompletionsReached', 'Reached expected number of succeeded pods'),
          cond(conds, 'Complete', 'True', 'CompletionsReached', 'Reached expected number of succeeded pods'),
        ];
        status.completionTime = nowTs();
        this.event(j, 'Normal', 'Completed', 'Job completed', 'job-controller');
      } else if (failed > (j.spec.backoffLimit ?? 6)) {
        newConds = [
          cond(conds, 'FailureTarget', 'True', 'BackoffLimitExceeded', 'Job has reached the specified backoff limit'),
          cond(conds, 'Failed', 'True', 'BackoffLimitExceeded', 'Job has reached the specified backoff limit'),
        ];
        this.event(
          j,
          'Warning',
          'BackoffLimitExceeded',
          'Job has reached the specified backoff limit',
          'job-controller',
        );
      } else if (deadline !== undefined && now - started >= deadline * 1000) {
        newConds = [
          cond(conds, 'FailureTarget', 'True', 'DeadlineExceeded', 'Job was active longer than specified deadline'),
          cond(conds, 'Failed', 'True', 'DeadlineExceeded', 'Job was active longer than specified deadline'),
        ];
        this.event(j, 'Warning', 'DeadlineExceeded', 'Job was active longer than specified deadline', 'job-controller');
      }
      if (newConds) {
        for (const p of active) this.deletePod(p);
        status.conditions = newConds;
        status.active = 0;
        delete status.active;
      } else {
        if (deadline !== undefined) this.wakeIn(Math.max(1, started + deadline * 1000 - now));
        const need = Math.min(j.spec.parallelism ?? 1, completions - succeeded) - active.length;
        const notBefore = this.jobNextCreate.get(j.metadata.uid) ?? 0;
        if (need > 0 && now >= notBefore) {
          for (let i = 0; i < need; i++)
            this.createPod(j, 'batch/v1', 'Job', `${j.metadata.name}-${rand5()}`, j.spec.template ?? {});
        } else if (need > 0) this.wakeIn(notBefore - now);
        const activeNow = this.podsOf(j).filter(
          (p) => !['Succeeded', 'Failed'].includes(p.status?.phase) && !p.metadata.deletionTimestamp,
        );
        if (activeNow.length) status.active = activeNow.length;
        else delete status.active;
        status.ready = activeNow.filter(isPodReady).length;
      }
      if (failed > (j.status?.failed ?? 0)) this.jobNextCreate.set(j.metadata.uid, now + this.t.jobBackoff * failed);
      if (succeeded) status.succeeded = succeeded;
      if (failed) status.failed = failed;
      status.terminating = 0;
      status.uncountedTerminatedPods ??= {};
      this.writeStatus(rt, j, status);
    }
  }

  private pvcs(): void {
    const rt = this.rt('', 'persistentvolumeclaims');
    for (const p of this.cluster.store.list('/persistentvolumeclaims')) {
      if (p.status?.phase === 'Bound') continue;
      const volumeName = `pvc-${p.metadata.uid}`;
      if (p.spec?.volumeName !== volumeName) {
        const u = clone(p);
        u.spec.volumeName = volumeName;
        u.spec.storageClassName ??= 'standard';
        u.metadata.annotations = {
          ...(u.metadata.annotations ?? {}),
          'pv.kubernetes.io/bind-completed': 'yes',
          'pv.kubernetes.io/bound-by-controller': 'yes',
        };
        this.cluster.update(rt, u.metadata.namespace, u.metadata.name, u);
      }
      const fresh = this.cluster.store.get('/persistentvolumeclaims', p.metadata.namespace, p.metadata.name)!;
      this.writeStatus(rt, fresh, {
        phase: 'Bound',
        accessModes: p.spec?.accessModes ?? ['ReadWriteOnce'],
        capacity: { storage: p.spec?.resources?.requests?.storage ?? '1Gi' },
      });
    }
  }

  private pdbs(): void {
    const rt = this.rt('policy', 'poddisruptionbudgets');
    for (const p of this.cluster.store.list('policy/poddisruptionbudgets')) {
      const s = pdbStatus(this.cluster, p);
      const prev: Obj[] = p.status?.conditions ?? [];
      this.writeStatus(rt, p, {
        observedGeneration: p.metadata.generation,
        disruptionsAllowed: s.disruptionsAllowed,
        currentHealthy: s.currentHealthy,
        desiredHealthy: s.desiredHealthy,
        expectedPods: s.expectedPods,
        conditions: [
          s.disruptionsAllowed > 0
            ? cond(prev, 'DisruptionAllowed', 'True', 'SufficientPods', '', {
                observedGeneration: p.metadata.generation,
              })
            : cond(prev, 'DisruptionAllowed', 'False', 'InsufficientPods', '', {
                observedGeneration: p.metadata.generation,
              }),
        ],
      });
    }
  }

  // ---------- kubelet ----------
  logs(pod: Obj, container: string, previous: boolean): string | undefined {
    const sim = this.pods.get(pod.metadata.uid);
    if (!sim) return '';
    return (previous ? sim.prevLog : sim.log).get(container) ?? '';
  }

  /** Pods to look at in the next pass ("namespace/name"): changed ones and those whose timer fired. */
  private readonly podQueue = new Set<string>();
  /** One pending wake-up per pod ("namespace/name"), the earliest asked for. */
  private readonly podTimers = new Map<string, { timer: NodeJS.Timeout; at: number }>();

  private duePod(pod: Obj, ms: number): void {
    const key = `${pod.metadata.namespace}/${pod.metadata.name}`;
    const at = this.kubeletClock() + ms;
    const pending = this.podTimers.get(key);
    if (pending && pending.at <= at) return;
    if (pending) clearTimeout(pending.timer);
    const timer = setTimeout(() => {
      this.podTimers.delete(key);
      this.podQueue.add(key);
      this.kick();
    }, ms);
    this.podTimers.set(key, { timer, at });
  }

  private kubelet(): void {
    const now = this.kubeletClock();
    const podRt = this.rt('', 'pods');
    const keys = [...this.podQueue];
    this.podQueue.clear();
    for (const key of keys) {
      const live = this.cluster.store.peekKey('/pods', key);
      if (!live || live.metadata.deletionTimestamp) continue;
      let sim = this.pods.get(live.metadata.uid);
      if (!sim) {
        sim = {
          stage: 'new',
          next: now + this.t.schedule,
          crashes: 0,
          initCrashes: 0,
          log: new Map(),
          prevLog: new Map(),
        };
        this.pods.set(live.metadata.uid, sim);
        const first = behaviorFor(this.scenario, live);
        if (first?.firstPods !== undefined) {
          // Counted per top-level owner (the Deployment above a ReplicaSet), so a reinstalled workload starts
          // faulty again while replacements of the same workload (rollout restart, eviction) run.
          const key = `${(this.scenario.components ?? []).indexOf(first)}/${this.topOwnerUid(live)}`;
          const seen = this.faultyPodsSeen.get(key) ?? 0;
          this.faultyPodsSeen.set(key, seen + 1);
          if (seen >= first.firstPods) sim.healthy = true;
        }
        if (first?.behavior === 'none' && !sim.healthy) sim.stage = 'stuck';
        else this.duePod(live, this.t.schedule);
        continue;
      }
      if (sim.stage === 'done' || sim.stage === 'stuck') continue;
      if (now < sim.next) {
        // Node's timers count from the cached loop time, so a wake-up can run a few ms before `sim.next` by
        // Date.now(). Dropping the pod here left it Pending forever (Helm 4's --wait then timed out): re-arm.
        if (Number.isFinite(sim.next)) this.duePod(live, sim.next - now);
        continue;
      }
      const beh = sim.healthy ? undefined : behaviorFor(this.scenario, live);
      this.step(podRt, clone(live), sim, beh, now);
    }
    // Forget pods that are gone.
    if (this.pods.size > this.cluster.store.count('/pods') + 100) {
      const alive = new Set(this.cluster.store.list('/pods').map((p) => p.metadata.uid));
      for (const k of this.pods.keys()) if (!alive.has(k)) this.pods.delete(k);
    }
  }

  private savePod(rt: ResourceType, pod: Obj): Obj | undefined {
    try {
      const cur = this.cluster.store.get('/pods', pod.metadata.namespace, pod.metadata.name);
      if (!cur || cur.metadata.uid !== pod.metadata.uid || cur.metadata.deletionTimestamp) return undefined;
      if (JSON.stringify(cur.spec) !== JSON.stringify(pod.spec)) {
        cur.spec = pod.spec;
        this.cluster.update(rt, pod.metadata.namespace, pod.metadata.name, cur);
      }
      const fresh = this.cluster.store.get('/pods', pod.metadata.namespace, pod.metadata.name)!;
      fresh.status = pod.status;
      return this.cluster.update(rt, pod.metadata.namespace, pod.metadata.name, fresh, { subresource: 'status' });
    } catch {
      return undefined;
    }
  }

  private podConditions(
    pod: Obj,
    scheduled: boolean,
    ready: boolean,
    reasonNotReady?: string,
    /** The containers that are not ready, when not all of them (the condition message names them). */
    unready?: string[],
  ): Obj[] {
    const prev: Obj[] = pod.status?.conditions ?? [];
    if (!scheduled) return prev;
    const notReadyMsg =
      reasonNotReady || unready
        ? `containers with unready status: [${(unready ?? (pod.spec.containers as Obj[]).map((c) => c.name)).join(' ')}]`
        : undefined;
    return [
      cond(prev, 'PodReadyToStartContainers', 'True'),
      cond(prev, 'Initialized', 'True'),
      ready
        ? cond(prev, 'Ready', 'True')
        : cond(prev, 'Ready', 'False', reasonNotReady ?? 'ContainersNotReady', notReadyMsg),
      ready
        ? cond(prev, 'ContainersReady', 'True')
        : cond(prev, 'ContainersReady', 'False', reasonNotReady ?? 'ContainersNotReady', notReadyMsg),
      cond(prev, 'PodScheduled', 'True'),
    ]
      .map((c) => ({ ...c, probe: undefined, observedGeneration: undefined }))
      .map((c) => JSON.parse(JSON.stringify(c)) as Obj);
  }

  private containerStatus(c: Obj, state: Obj, ready: boolean, restartCount: number, lastState: Obj = {}): Obj {
    return {
      name: c.name,
      state,
      lastState,
      ready,
      restartCount,
      image: c.image,
      imageID: `docker.io/library/${String(c.image).split(':')[0]}@sha256:${createHash('sha256').update(String(c.image)).digest('hex')}`,
      containerID: state.waiting
        ? undefined
        : `containerd://${createHash('sha256')
            .update(`${String(c.name)}${restartCount}`)
            .digest('hex')
            .slice(0, 64)}`,
      started: !!state.running,
    };
  }

  /** initCrashLoop: the init container that fails next, while the behaviour still has crashes to do. */
  private failingInit(pod: Obj, sim: PodSim, beh: ComponentBehavior | undefined): Obj | undefined {
    if (beh?.behavior !== 'initCrashLoop' || pod.spec.restartPolicy !== 'Always') return undefined;
    if (beh.crashes !== undefined && sim.initCrashes >= beh.crashes) return undefined;
    const inits: Obj[] = pod.spec.initContainers ?? [];
    return beh.container ? inits.find((c) => c.name === beh.container) : inits[0];
  }

  /** Init container statuses while `failing` runs or backs off: the ones before it Completed, later ones waiting. */
  private initStatuses(pod: Obj, sim: PodSim, failing: Obj, state: Obj, ts: string): Obj[] {
    const inits: Obj[] = pod.spec.initContainers ?? [];
    const at = inits.indexOf(failing);
    return inits.map((c, i) =>
      i < at
        ? this.containerStatus(
            c,
            {
              terminated: (pod.status?.initContainerStatuses as Obj[] | undefined)?.[i]?.state?.terminated ?? {
                exitCode: 0,
                reason: 'Completed',
                startedAt: ts,
                finishedAt: ts,
              },
            },
            false,
            0,
          )
        : i === at
          ? this.containerStatus(
              c,
              state,
              false,
              sim.initCrashes,
              sim.initLast ? { terminated: sim.initLast.terminated } : {},
            )
          : this.containerStatus(c, { waiting: { reason: 'PodInitializing' } }, false, 0),
    );
  }

  /** Pod conditions while an init container has not completed (what the kubelet reports for Init:... pods). */
  private initConditions(pod: Obj, failing: Obj): Obj[] {
    const prev: Obj[] = pod.status?.conditions ?? [];
    const inits: Obj[] = pod.spec.initContainers ?? [];
    const incomplete = inits.slice(inits.indexOf(failing)).map((c) => c.name);
    const unready = `containers with unready status: [${(pod.spec.containers as Obj[]).map((c) => c.name).join(' ')}]`;
    return [
      cond(prev, 'PodReadyToStartContainers', 'True'),
      cond(
        prev,
        'Initialized',
        'False',
        'ContainersNotInitialized',
        `containers with incomplete status: [${incomplete.join(' ')}]`,
      ),
      cond(prev, 'Ready', 'False', 'ContainersNotReady', unready),
      cond(prev, 'ContainersReady', 'False', 'ContainersNotReady', unready),
      cond(prev, 'PodScheduled', 'True'),
    ];
  }

  /**
   * The kubelet's eviction manager under memory pressure: phase Failed, reason Evicted, the containers killed (exit
   * 137), a DisruptionTarget condition, Evicted and Killing events. The pod stays until garbage-collected; its
   * controller replaces it.
   */
  private evictForMemory(rt: ResourceType, pod: Obj, sim: PodSim, beh: ComponentBehavior, ts: string): void {
    const containers: Obj[] = pod.spec.containers ?? [];
    const msg =
      beh.message ??
      `The node was low on resource: memory. Threshold quantity: 100Mi, available: 51200Ki. Container ${containers[0]?.name} was using 1505280Ki, request is 0, has larger consumption of memory. `;
    this.event(pod, 'Warning', 'Evicted', msg);
    for (const c of containers) this.event(pod, 'Normal', 'Killing', `Stopping container ${c.name}`);
    const prev: Obj[] = pod.status?.conditions ?? [];
    pod.status.phase = 'Failed';
    pod.status.reason = 'Evicted';
    pod.status.message = msg;
    pod.status.conditions = [
      cond(prev, 'DisruptionTarget', 'True', 'TerminationByKubelet', msg),
      cond(prev, 'PodReadyToStartContainers', 'False'),
      cond(prev, 'Initialized', 'True'),
      cond(prev, 'Ready', 'False', 'PodFailed'),
      cond(prev, 'ContainersReady', 'False', 'PodFailed'),
      cond(prev, 'PodScheduled', 'True'),
    ];
    pod.status.containerStatuses = containers.map((c) => {
      const old = (pod.status.containerStatuses as Obj[] | undefined)?.find((x) => x.name === c.name);
      return this.containerStatus(
        c,
        {
          terminated: {
            exitCode: 137,
            reason: 'Error',
            startedAt: old?.state?.running?.startedAt ?? ts,
            finishedAt: ts,
            containerID: old?.containerID,
          },
        },
        false,
        old?.restartCount ?? 0,
        old?.lastState ?? {},
      );
    });
    this.savePod(rt, pod);
    sim.stage = 'done';
    sim.next = Infinity;
  }

  private step(rt: ResourceType, pod: Obj, sim: PodSim, beh: ComponentBehavior | undefined, now: number): void {
    const containers: Obj[] = pod.spec.containers ?? [];
    const runToCompletion = pod.spec.restartPolicy !== 'Always';
    const ts = nowTs();
    const affects = (c: Obj) => !beh?.container || beh.container === c.name;
    switch (sim.stage) {
      case 'new': {
        if (beh?.behavior === 'unschedulable') {
          pod.status = {
            phase: 'Pending',
            conditions: [
              cond(
                pod.status?.conditions,
                'PodScheduled',
                'False',
                'Unschedulable',
                beh.message ??
                  '0/1 nodes are available: 1 Insufficient cpu. preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod.',
              ),
            ],
            qosClass: pod.status?.qosClass ?? 'BestEffort',
          };
          this.savePod(rt, pod);
          this.event(
            pod,
            'Warning',
            'FailedScheduling',
            beh.message ??
              '0/1 nodes are available: 1 Insufficient cpu. preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod.',
            'default-scheduler',
          );
          sim.stage = 'stuck';
          return;
        }
        pod.spec.nodeName ??= NODE_NAME;
        pod.status = {
          phase: 'Pending',
          conditions: this.podConditions(pod, true, false),
          hostIP: '10.0.0.1',
          hostIPs: [{ ip: '10.0.0.1' }],
          podIP: `10.244.0.${(Math.abs(hashNum(pod.metadata.uid)) % 250) + 2}`,
          startTime: ts,
          containerStatuses: containers.map((c) =>
            this.containerStatus(c, { waiting: { reason: 'ContainerCreating' } }, false, 0),
          ),
          qosClass: 'BestEffort',
        };
        pod.status.podIPs = [{ ip: pod.status.podIP }];
        const inits: Obj[] = pod.spec.initContainers ?? [];
        if (inits.length) {
          pod.status.initContainerStatuses = inits.map((c) =>
            this.containerStatus(c, { waiting: { reason: 'PodInitializing' } }, false, 0),
          );
          pod.status.containerStatuses = containers.map((c) =>
            this.containerStatus(c, { waiting: { reason: 'PodInitializing' } }, false, 0),
          );
        }
        this.savePod(rt, pod);
        this.event(
          pod,
          'Normal',
          'Scheduled',
          `Successfully assigned ${pod.metadata.namespace}/${pod.metadata.name} to ${NODE_NAME}`,
          'default-scheduler',
        );
        sim.stage = 'scheduled';
        sim.next = now + this.t.start;
        this.duePod(pod, this.t.start);
        return;
      }
      case 'scheduled': {
        if (beh?.behavior === 'imagePullBackOff') {
          const bad = containers.filter(affects);
          pod.status.containerStatuses = containers.map((c) =>
            affects(c)
              ? this.containerStatus(
                  c,
                  {
                    waiting: {
                      reason: 'ImagePullBackOff',
                      message: beh.message ?? `Back-off pulling image "${c.image}"`,
                    },
                  },
                  false,
                  0,
                )
              : this.containerStatus(c, { running: { startedAt: ts } }, true, 0),
          );
          pod.status.conditions = this.podConditions(pod, true, false);
          this.savePod(rt, pod);
          for (const c of bad) {
            this.event(pod, 'Normal', 'Pulling', `Pulling image "${c.image}"`);
            this.event(
              pod,
              'Warning',
              'Failed',
              `Failed to pull image "${c.image}": rpc error: code = NotFound desc = failed to pull and unpack image "${c.image}": not found`,
            );
            this.event(pod, 'Warning', 'Failed', 'Error: ErrImagePull');
            this.event(pod, 'Normal', 'BackOff', `Back-off pulling image "${c.image}"`);
            this.event(pod, 'Warning', 'Failed', 'Error: ImagePullBackOff');
          }
          sim.stage = 'stuck';
          return;
        }
        if (beh?.behavior === 'createContainerConfigError') {
          const msg = beh.message ?? missingConfigMessage(pod, this.cluster) ?? 'secret "missing" not found';
          pod.status.containerStatuses = containers.map((c) =>
            affects(c)
              ? this.containerStatus(c, { waiting: { reason: 'CreateContainerConfigError', message: msg } }, false, 0)
              : this.containerStatus(c, { running: { startedAt: ts } }, true, 0),
          );
          pod.status.conditions = this.podConditions(pod, true, false);
          this.savePod(rt, pod);
          this.event(pod, 'Warning', 'Failed', `Error: ${msg}`);
          sim.stage = 'stuck';
          return;
        }
        const failingInit = this.failingInit(pod, sim, beh);
        if (failingInit) {
          // The init container (re)starts; the app containers wait for it (kubectl: Init:0/1).
          const inits: Obj[] = pod.spec.initContainers ?? [];
          for (const c of sim.initCrashes === 0 ? inits.slice(0, inits.indexOf(failingInit) + 1) : [failingInit]) {
            this.event(pod, 'Normal', 'Pulled', `Container image "${c.image}" already present on machine`);
            this.event(pod, 'Normal', 'Created', `Created container: ${c.name}`);
            this.event(pod, 'Normal', 'Started', `Started container ${c.name}`);
          }
          pod.status.phase = 'Pending';
          pod.status.initContainerStatuses = this.initStatuses(
            pod,
            sim,
            failingInit,
            { running: { startedAt: ts } },
            ts,
          );
          pod.status.containerStatuses = containers.map((c) =>
            this.containerStatus(c, { waiting: { reason: 'PodInitializing' } }, false, 0),
          );
          pod.status.conditions = this.initConditions(pod, failingInit);
          sim.log.set(
            failingInit.name,
            beh?.logs ?? this.scenario.defaultLogs ?? `${String(failingInit.name)} started\n`,
          );
          this.savePod(rt, pod);
          sim.stage = 'starting';
          sim.next = now + this.t.crash;
          this.duePod(pod, this.t.crash);
          return;
        }
        // Start containers.
        for (const c of containers) {
          this.event(pod, 'Normal', 'Pulled', `Container image "${c.image}" already present on machine`);
          this.event(pod, 'Normal', 'Created', `Created container: ${c.name}`);
          this.event(pod, 'Normal', 'Started', `Started container ${c.name}`);
        }
        // Init containers ran to completion before the app containers start.
        const initDone: Obj[] = pod.spec.initContainers ?? [];
        const initLast = sim.initLast;
        if (initDone.length)
          pod.status.initContainerStatuses = initDone.map((c) =>
            this.containerStatus(
              c,
              { terminated: { exitCode: 0, reason: 'Completed', startedAt: ts, finishedAt: ts } },
              false,
              initLast?.name === c.name ? sim.initCrashes : 0,
              initLast && initLast.name === c.name ? { terminated: initLast.terminated } : {},
            ),
          );
        pod.status.phase = 'Running';
        pod.status.containerStatuses = containers.map((c) =>
          this.containerStatus(
            c,
            { running: { startedAt: ts } },
            false,
            sim.crashes,
            sim.lastTerminated?.get(c.name) ? { terminated: sim.lastTerminated.get(c.name) } : {},
          ),
        );
        pod.status.conditions = this.podConditions(pod, true, false);
        for (const c of containers)
          sim.log.set(
            c.name,
            (beh && affects(c) ? beh.logs : undefined) ?? this.scenario.defaultLogs ?? `${c.name} started\n`,
          );
        if (runToCompletion) {
          this.savePod(rt, pod);
          this.runToCompletion(rt, pod, sim);
          return;
        }
        this.savePod(rt, pod);
        sim.stage = 'starting';
        const crashing =
          beh &&
          (beh.behavior === 'crashLoop' || beh.behavior === 'oomKilled') &&
          (beh.crashes === undefined || sim.crashes < beh.crashes);
        sim.next = now + (crashing ? this.t.crash : this.t.ready);
        this.duePod(pod, sim.next - now);
        return;
      }
      case 'starting': {
        const failingInit = this.failingInit(pod, sim, beh);
        if (failingInit) {
          // The init container exits non-zero; the kubelet restarts it with the same back-off as app containers.
          const name = String(failingInit.name);
          sim.initCrashes++;
          const startedAt =
            (pod.status.initContainerStatuses as Obj[] | undefined)?.find((x) => x.name === name)?.state?.running
              ?.startedAt ?? ts;
          sim.initLast = {
            name,
            terminated: {
              exitCode: beh?.exitCode ?? 1,
              reason: 'Error',
              startedAt,
              finishedAt: ts,
              containerID: `containerd://${createHash('sha256').update(`${name}${sim.initCrashes}`).digest('hex')}`,
            },
          };
          sim.prevLog.set(name, beh?.previousLogs ?? sim.log.get(name) ?? '');
          const who = `${String(pod.metadata.name)}_${String(pod.metadata.namespace)}(${String(pod.metadata.uid)})`;
          pod.status.initContainerStatuses = this.initStatuses(
            pod,
            sim,
            failingInit,
            {
              waiting: {
                reason: 'CrashLoopBackOff',
                message: `back-off ${Math.min(300, 10 * 2 ** (sim.initCrashes - 1))}s restarting failed container=${name} pod=${who}`,
              },
            },
            ts,
          );
          pod.status.conditions = this.initConditions(pod, failingInit);
          this.savePod(rt, pod);
          this.event(pod, 'Warning', 'BackOff', `Back-off restarting failed container ${name} in pod ${who}`);
          const backoff = this.t.crash * Math.min(2 ** (sim.initCrashes - 1), 8);
          sim.stage = 'scheduled';
          sim.next = now + backoff;
          this.duePod(pod, backoff);
          return;
        }
        const crashing =
          beh &&
          (beh.behavior === 'crashLoop' || beh.behavior === 'oomKilled') &&
          (beh.crashes === undefined || sim.crashes < beh.crashes);
        if (crashing) {
          const oom = beh.behavior === 'oomKilled';
          sim.crashes++;
          sim.lastTerminated ??= new Map();
          const startedAt = pod.status.containerStatuses?.[0]?.state?.running?.startedAt ?? ts;
          for (const c of containers.filter(affects)) {
            sim.lastTerminated.set(c.name, {
              exitCode: beh.exitCode ?? (oom ? 137 : 1),
              reason: oom ? 'OOMKilled' : 'Error',
              startedAt,
              finishedAt: ts,
              containerID: `containerd://${createHash('sha256')
                .update(`${String(c.name)}${sim.crashes}`)
                .digest('hex')}`,
            });
            sim.prevLog.set(c.name, beh.previousLogs ?? sim.log.get(c.name) ?? '');
          }
          pod.status.containerStatuses = containers.map((c) =>
            affects(c)
              ? this.containerStatus(
                  c,
                  {
                    waiting: {
                      reason: 'CrashLoopBackOff',
                      message: `back-off ${Math.min(300, 10 * 2 ** (sim.crashes - 1))}s restarting failed container=${c.name} pod=${pod.metadata.name}_${pod.metadata.namespace}(${pod.metadata.uid})`,
                    },
                  },
                  false,
                  sim.crashes,
                  { terminated: sim.lastTerminated!.get(c.name) },
                )
              : this.containerStatus(c, { running: { startedAt } }, true, 0),
          );
          pod.status.conditions = this.podConditions(pod, true, false);
          this.savePod(rt, pod);
          for (const c of containers.filter(affects))
            this.event(
              pod,
              'Warning',
              'BackOff',
              `Back-off restarting failed container ${c.name} in pod ${pod.metadata.name}_${pod.metadata.namespace}(${pod.metadata.uid})`,
            );
          // Back-off doubles per crash (capped), like the kubelet's 10s, 20s, 40s ... 5m.
          const backoff = this.t.crash * Math.min(2 ** (sim.crashes - 1), 8);
          sim.stage = 'scheduled';
          sim.next = now + backoff;
          this.duePod(pod, backoff);
          return;
        }
        // A failing readiness probe: the container runs (started) but is never Ready.
        const unready = beh?.behavior === 'readinessProbeFailing' ? containers.filter(affects) : [];
        pod.status.containerStatuses = containers.map((c) =>
          this.containerStatus(
            c,
            {
              running: {
                startedAt:
                  pod.status.containerStatuses?.find((s: Obj) => s.name === c.name)?.state?.running?.startedAt ?? ts,
              },
            },
            !unready.includes(c),
            affects(c) ? sim.crashes : 0,
            sim.lastTerminated?.get(c.name) ? { terminated: sim.lastTerminated.get(c.name) } : {},
          ),
        );
        pod.status.conditions = unready.length
          ? this.podConditions(
              pod,
              true,
              false,
              undefined,
              unready.map((c) => String(c.name)),
            )
          : this.podConditions(pod, true, true);
        this.savePod(rt, pod);
        sim.stage = 'running';
        sim.next = Infinity;
        if (unready.length) {
          for (const c of unready)
            this.event(pod, 'Warning', 'Unhealthy', `Readiness probe failed: ${probeOutput(pod, c, beh!)}`);
          sim.next = now + this.t.probe;
          this.duePod(pod, this.t.probe);
        } else if (beh?.behavior === 'evicted') {
          sim.next = now + this.t.crash;
          this.duePod(pod, this.t.crash);
        }
        return;
      }
      case 'running': {
        if (beh?.behavior === 'readinessProbeFailing') {
          // Every period the probe fails again: the kubelet counts it on the same Unhealthy event.
          for (const c of containers.filter(affects))
            this.event(pod, 'Warning', 'Unhealthy', `Readiness probe failed: ${probeOutput(pod, c, beh)}`);
          sim.next = now + this.t.probe;
          this.duePod(pod, this.t.probe);
        } else if (beh?.behavior === 'evicted') this.evictForMemory(rt, pod, sim, beh, ts);
        return;
      }
      default:
        return;
    }
  }

  private runToCompletion(rt: ResourceType, pod: Obj, sim: PodSim): void {
    sim.stage = 'done';
    const c = (pod.spec.containers as Obj[])[0]!;
    const argv = commandFor(this.scenario, String(c.image ?? ''));
    const finish = (exitCode: number, output: string | undefined) => {
      const cur = this.cluster.store.get('/pods', pod.metadata.namespace, pod.metadata.name);
      if (!cur || cur.metadata.uid !== pod.metadata.uid) return;
      if (output !== undefined) sim.log.set(c.name, output);
      const ts = nowTs();
      const startedAt = cur.status?.containerStatuses?.[0]?.state?.running?.startedAt ?? ts;
      cur.status.phase = exitCode === 0 ? 'Succeeded' : 'Failed';
      cur.status.containerStatuses = (cur.spec.containers as Obj[]).map((x) =>
        this.containerStatus(
          x,
          {
            terminated: {
              exitCode,
              reason: exitCode === 0 ? 'Completed' : 'Error',
              startedAt,
              finishedAt: ts,
              containerID: `containerd://${createHash('sha256')
                .update(`${String(pod.metadata.uid)}${String(x.name)}`)
                .digest('hex')}`,
            },
          },
          false,
          0,
        ),
      );
      const prev: Obj[] = cur.status.conditions ?? [];
      cur.status.conditions = [
        cond(prev, 'PodReadyToStartContainers', 'False'),
        cond(prev, 'Initialized', 'True'),
        cond(prev, 'Ready', 'False', 'PodCompleted'),
        cond(prev, 'ContainersReady', 'False', 'PodCompleted'),
        cond(prev, 'PodScheduled', 'True'),
      ];
      this.savePod(rt, cur);
    };
    if (!argv) {
      setTimeout(() => {
        finish(0, undefined);
      }, this.t.jobRun);
      return;
    }
    const cmd = [...argv, ...((c.command as string[] | undefined) ?? []), ...((c.args as string[] | undefined) ?? [])];
    const ns = pod.metadata.namespace;
    const sa = pod.spec.serviceAccountName ?? 'default';
    const token = this.cluster.ensureSaToken(ns, sa);
    const kc = join(this.dir, `pod-${pod.metadata.uid}.kubeconfig`);
    writeFileSync(kc, kubeconfigYaml(this.apiUrl, token, ns));
    const env: Record<string, string> = {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: process.env.HOME ?? '/tmp',
      HOSTNAME: pod.metadata.name,
      KUBECONFIG: kc,
      KUBERNETES_SERVICE_HOST: '127.0.0.1',
      ...(this.scenario.env ?? {}),
    };
    for (const e of (c.env ?? []) as Obj[]) {
      if (e.value !== undefined) env[e.name] = String(e.value);
      else if (e.valueFrom?.fieldRef?.fieldPath) {
        const fp = e.valueFrom.fieldRef.fieldPath as string;
        env[e.name] =
          fp === 'metadata.namespace'
            ? ns
            : fp === 'metadata.name'
              ? pod.metadata.name
              : fp === 'spec.serviceAccountName'
                ? sa
                : fp === 'spec.nodeName'
                  ? NODE_NAME
                  : '';
      } else if (e.valueFrom?.configMapKeyRef) {
        env[e.name] =
          this.cluster.store.peek('/configmaps', ns, e.valueFrom.configMapKeyRef.name)?.data?.[
            e.valueFrom.configMapKeyRef.key
          ] ?? '';
      } else if (e.valueFrom?.secretKeyRef) {
        const v = this.cluster.store.peek('/secrets', ns, e.valueFrom.secretKeyRef.name)?.data?.[
          e.valueFrom.secretKeyRef.key
        ];
        env[e.name] = v ? Buffer.from(v, 'base64').toString('utf8') : '';
      }
    }
    let out = '';
    const proc = spawn(cmd[0]!, cmd.slice(1), { env, stdio: ['ignore', 'pipe', 'pipe'] });
    sim.proc = proc;
    proc.stdout.on('data', (d: Buffer) => {
      out += d.toString('utf8');
      sim.log.set(c.name, out);
    });
    proc.stderr.on('data', (d: Buffer) => {
      out += d.toString('utf8');
      sim.log.set(c.name, out);
    });
    proc.on('error', (e) => {
      out += `exec ${cmd[0]}: ${e.message}\n`;
    });
    proc.on('close', (code, signal) => {
      finish(code ?? (signal ? 137 : 1), out);
      this.kick();
    });
  }
}

/** Set by index.ts: kubeconfig text for a token (the pod's ServiceAccount). */
export let kubeconfigYaml: (url: string, token: string, ns: string) => string = () => '';
export function setKubeconfigWriter(f: (url: string, token: string, ns: string) => string): void {
  kubeconfigYaml = f;
}

function ordinal(p: Obj): number {
  const m = /-(\d+)$/.exec(p.metadata.name);
  return m ? Number(m[1]) : -1;
}

function hashNum(s: string): number {
  let h = 0;
  for (let i = 0; i < s.length; i++) h = (h * 31 + s.charCodeAt(i)) | 0;
  return h;
}

function pctOf(v: unknown, total: number, up: boolean): number {
  if (typeof v === 'string' && v.endsWith('%')) {
    const x = (Number(v.slice(0, -1)) * total) / 100;
    return up ? Math.ceil(x) : Math.floor(x);
  }
  return Number(v ?? 0);
}

function controllerName(kind: string): string {
  return kind === 'Job'
    ? 'job-controller'
    : kind === 'StatefulSet'
      ? 'statefulset-controller'
      : kind === 'DaemonSet'
        ? 'daemonset-controller'
        : 'replicaset-controller';
}

/** The real kubelet message for the first env/volume reference to a missing Secret or ConfigMap. */
function missingConfigMessage(pod: Obj, cluster: Cluster): string | undefined {
  const ns = pod.metadata.namespace;
  for (const c of (pod.spec.containers ?? []) as Obj[]) {
    for (const e of (c.env ?? []) as Obj[]) {
      const s = e.valueFrom?.secretKeyRef?.name;
      if (s && !cluster.store.peek('/secrets', ns, s)) return `secret "${s}" not found`;
      const m = e.valueFrom?.configMapKeyRef?.name;
      if (m && !cluster.store.peek('/configmaps', ns, m)) return `configmap "${m}" not found`;
    }
  }
  return undefined;
}

/** What the kubelet's prober reports for a failing readiness probe of container `c` (`message` overrides). */
function probeOutput(pod: Obj, c: Obj, beh: ComponentBehavior): string {
  if (beh.message !== undefined) return beh.message;
  const p: Obj = c.readinessProbe ?? {};
  const ip = String(pod.status?.podIP ?? '10.244.0.2');
  if (p.tcpSocket) return `dial tcp ${ip}:${String(p.tcpSocket.port)}: connect: connection refused`;
  if (p.grpc) return `timeout: failed to connect service "${ip}:${String(p.grpc.port)}" within 1s`;
  if (p.exec) return '';
  return 'HTTP probe failed with statuscode: 503';
}

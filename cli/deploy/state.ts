/**
 * What the cluster says about a release of the plan, read through the one Helm harness (helm and kubectl), and
 * whether it is Ready at a plan revision. `deploy` gates every release on its dependencies being Ready by this
 * definition, and `status` prints it; both read the same facts:
 *   - Helm: the last release record (`helm list -o json`: revision, status, chart, updated) and the values it was
 *     installed with (`helm get values -o json`: `global.tiers.planRevision`, the same field Flux's readyExpr reads),
 *   - the release's workloads (Deployments, StatefulSets, DaemonSets labelled `<prefix>release=<release>` by the
 *     post-renderer, hooks left out) rolled out by kstatus rules,
 *   - its pods (waiting reasons such as CrashLoopBackOff), its hook Jobs (a failed one's last log line),
 *   - a Flux HelmRelease of the same release name, when the CRD exists (Stalled / RetriesExceeded).
 * The evaluation (`readiness`) is pure; `readRelease` is the I/O.
 */
import { labelKeys } from '../../core/labels.js';
import type { ExecResult } from '../../core/helm.js';
import type { Component, Plan, Values } from '../../plan/plan.js';

/** helm or kubectl with fixed global flags (kube context); never throws for a non-zero exit. */
export type Tool = (args: readonly string[]) => Promise<ExecResult>;

export interface Tools {
  /** The Helm major (`helm list` shows every status by default on 4, only with `--all` on 3). */
  readonly major: 3 | 4;
  readonly helm: Tool;
  readonly kubectl: Tool;
}

export interface HelmRecord {
  readonly revision: number;
  readonly status: string;
  /** `<chart name>-<chart version>` as `helm list` prints it. */
  readonly chart: string;
  /** `helm list`'s `updated`: when the last action on the release started. */
  readonly updated: string;
}

export interface Workload {
  readonly kind: string;
  readonly name: string;
  /** Undefined: rolled out; else why not (kstatus-like). */
  readonly notReady?: string;
}

export interface FailedHook {
  readonly job: string;
  /** The hook's last log line (the hook programs end with their summary line). */
  readonly summary: string;
  /** The command that prints its whole log. */
  readonly logCommand: string;
}

export interface FluxRelease {
  readonly name: string;
  readonly namespace: string;
  readonly ready?: string;
  readonly reason?: string;
  readonly message?: string;
  readonly stalled: boolean;
}

export interface ReleaseFacts {
  readonly release: string;
  readonly namespace: string;
  readonly helm?: HelmRecord;
  /** The user-supplied values Helm recorded (undefined: no release). */
  readonly values?: Values;
  readonly planRevision?: string;
  readonly workloads: readonly Workload[];
  /** Unhealthy pods: `pod/name: Reason (container c)`. */
  readonly pods: readonly string[];
  /** Container restarts of the release's pods, summed (a crash loop that is Ready for a moment still counts up). */
  readonly restarts?: number;
  readonly failedHooks: readonly FailedHook[];
  readonly flux?: FluxRelease;
}

export interface Readiness {
  readonly ready: boolean;
  /** Why not (empty when ready): one reason per line. */
  readonly why: readonly string[];
}

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Obj) : {});
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? (v as unknown[]) : []);
const num = (v: unknown): number => (typeof v === 'number' ? v : 0);
const str = (v: unknown): string => (typeof v === 'string' ? v : '');

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** Whether a workload has rolled out (kstatus rules for the three kinds; undefined = yes). */
export function workloadNotReady(o: Obj): string | undefined {
  const kind = str(o.kind);
  const meta = obj(o.metadata);
  const spec = obj(o.spec);
  const status = obj(o.status);
  if (num(status.observedGeneration) < num(meta.generation)) return 'its controller has not seen the latest spec';
  if (kind === 'DaemonSet') {
    const want = num(status.desiredNumberScheduled);
    const ready = num(status.numberReady);
    const updated = num(status.updatedNumberScheduled);
    return ready >= want && updated >= want ? undefined : `${ready}/${want} pods ready, ${updated} updated`;
  }
  const want = typeof spec.replicas === 'number' ? spec.replicas : 1;
  const ready = num(status.readyReplicas);
  const updated = num(status.updatedReplicas);
  if (kind === 'Deployment') {
    const progressing = arr(status.conditions)
      .map(obj)
      .find((c) => c.type === 'Progressing');
    if (progressing?.reason === 'ProgressDeadlineExceeded') return 'progress deadline exceeded';
    const available = num(status.availableReplicas);
    return updated >= want && available >= want && ready >= want
      ? undefined
      : `${ready}/${want} pods ready, ${updated} updated`;
  }
  return ready >= want && updated >= want ? undefined : `${ready}/${want} pods ready, ${updated} updated`;
}

/** Why a pod is unhealthy (undefined: it is not), from container and init-container states, never phase alone. */
export function podProblem(p: Obj): string | undefined {
  const status = obj(p.status);
  const name = str(obj(p.metadata).name);
  if (obj(p.metadata).deletionTimestamp) return undefined;
  for (const c of [...arr(status.initContainerStatuses), ...arr(status.containerStatuses)].map(obj)) {
    const waiting = obj(obj(c.state).waiting);
    const reason = str(waiting.reason);
    if (reason !== '' && reason !== 'ContainerCreating' && reason !== 'PodInitializing')
      return `pod/${name}: ${reason} (container ${str(c.name)}, ${num(c.restartCount)} restarts)`;
    const term = obj(obj(c.state).terminated);
    if (str(term.reason) === 'OOMKilled') return `pod/${name}: OOMKilled (container ${str(c.name)})`;
    // Between two back-offs a crash-looping container runs for a moment: its last exit still tells.
    const last = obj(obj(c.lastState).terminated);
    if (c.ready !== true && num(c.restartCount) > 0 && Object.keys(last).length > 0)
      return `pod/${name}: restarting (container ${str(c.name)}, ${num(c.restartCount)} restarts, last exit ${num(last.exitCode)} ${str(last.reason)})`;
  }
  const unsched = arr(status.conditions)
    .map(obj)
    .find((c) => c.type === 'PodScheduled' && c.status === 'False');
  if (unsched) return `pod/${name}: ${str(unsched.reason) || 'Unschedulable'}`;
  if (str(status.phase) === 'Failed') return `pod/${name}: Failed (${str(status.reason) || 'unknown reason'})`;
  return undefined;
}

/** Reads what the cluster says about one release. Missing kinds (no HelmRelease CRD) read as none. */
export async function readRelease(plan: Plan, c: Component, t: Tools): Promise<ReleaseFacts> {
  const k = labelKeys(plan.labelPrefix);
  const ns = c.namespace;
  const sel = `${k.release}=${c.release}`;
  const [list, values, workloads, pods, jobs, hrs] = await Promise.all([
    t.helm(['list', '-n', ns, ...(t.major === 3 ? ['--all'] : []), '-o', 'json', '--filter', `^${c.release}$`]),
    t.helm(['get', 'values', c.release, '-n', ns, '-o', 'json']),
    t.kubectl(['get', 'deployments,statefulsets,daemonsets', '-n', ns, '-l', `${sel},!${k.hook}`, '-o', 'json']),
    t.kubectl(['get', 'pods', '-n', ns, '-l', `${sel},!${k.hook}`, '-o', 'json']),
    t.kubectl(['get', 'jobs', '-n', ns, '-l', `${sel},${k.hook}`, '-o', 'json']),
    t.kubectl(['get', 'helmreleases.helm.toolkit.fluxcd.io', '-A', '-o', 'json']),
  ]);
  const rec = arr(parseJson(list.stdout))
    .map(obj)
    .find((r) => r.name === c.release);
  const helm: HelmRecord | undefined = rec
    ? { revision: Number(rec.revision), status: str(rec.status), chart: str(rec.chart), updated: str(rec.updated) }
    : undefined;
  const vals = helm && values.code === 0 ? obj(parseJson(values.stdout)) : undefined;
  const planRevision = vals ? str(obj(obj(vals.global).tiers).planRevision) || undefined : undefined;
  const items = (r: ExecResult) => (r.code === 0 ? arr(obj(parseJson(r.stdout)).items).map(obj) : []);
  const failedHooks: FailedHook[] = [];
  for (const j of items(jobs)) {
    const failed = arr(obj(j.status).conditions)
      .map(obj)
      .some((x) => x.type === 'Failed' && x.status === 'True');
    if (!failed) continue;
    const name = str(obj(j.metadata).name);
    const log = await t.kubectl(['logs', '-n', ns, `job/${name}`, '--tail=20']);
    const lines = log.stdout.split('\n').filter((l) => l.trim() !== '');
    failedHooks.push({
      job: name,
      summary: lines[lines.length - 1] ?? '(no log)',
      logCommand: `kubectl logs -n ${ns} job/${name}`,
    });
  }
  const hr = items(hrs).find((h) => (str(obj(h.spec).releaseName) || str(obj(h.metadata).name)) === c.release);
  let flux: FluxRelease | undefined;
  if (hr) {
    const conds = arr(obj(hr.status).conditions).map(obj);
    const ready = conds.find((x) => x.type === 'Ready');
    const stalled = conds.find((x) => x.type === 'Stalled' && x.status === 'True');
    flux = {
      name: str(obj(hr.metadata).name),
      namespace: str(obj(hr.metadata).namespace),
      ready: ready ? str(ready.status) : undefined,
      reason: str(stalled?.reason) || str(ready?.reason) || undefined,
      message: str(stalled?.message) || str(ready?.message) || undefined,
      stalled: stalled !== undefined,
    };
  }
  return {
    release: c.release,
    namespace: ns,
    helm,
    values: vals,
    planRevision,
    workloads: items(workloads).map((w) => ({
      kind: str(w.kind),
      name: str(obj(w.metadata).name),
      notReady: workloadNotReady(w),
    })),
    restarts: items(pods)
      .flatMap((p) => arr(obj(p.status).containerStatuses).map(obj))
      .reduce((n, cs) => n + num(cs.restartCount), 0),
    pods: items(pods)
      .map(podProblem)
      .filter((x): x is string => x !== undefined),
    failedHooks,
    flux,
  };
}

/** The command that makes Flux retry a HelmRelease that gave up. */
export const fluxResetCommand = (f: FluxRelease) => `flux reconcile helmrelease ${f.name} -n ${f.namespace} --reset`;

/** Ready at `planRevision`: Helm says deployed, the values carry that revision, every workload rolled out. */
export function readiness(f: ReleaseFacts, planRevision: string): Readiness {
  const why: string[] = [];
  if (!f.helm) why.push('not installed');
  else {
    if (f.helm.status !== 'deployed') why.push(`Helm release revision ${f.helm.revision} is ${f.helm.status}`);
    if (f.planRevision !== planRevision)
      why.push(`at plan revision ${f.planRevision ?? '(none)'}, the plan is at ${planRevision}`);
  }
  for (const w of f.workloads) if (w.notReady) why.push(`${w.kind.toLowerCase()}/${w.name}: ${w.notReady}`);
  why.push(...f.pods);
  for (const h of f.failedHooks) why.push(`hook job/${h.job} failed: ${h.summary} (log: ${h.logCommand})`);
  if (f.flux?.stalled)
    why.push(
      `HelmRelease ${f.flux.namespace}/${f.flux.name} Stalled (${f.flux.reason ?? ''}): retry with \`${fluxResetCommand(f.flux)}\``,
    );
  else if (f.flux && f.flux.ready !== 'True')
    why.push(
      `HelmRelease ${f.flux.namespace}/${f.flux.name} Ready=${f.flux.ready ?? 'Unknown'} (${f.flux.reason ?? ''})`,
    );
  // A failed hook of an earlier attempt does not make a deployed, rolled-out release not Ready.
  const blocking = why.filter((w) => !(f.helm?.status === 'deployed' && w.startsWith('hook job/')));
  return blocking.length === 0 ? { ready: true, why: [] } : { ready: false, why };
}

/** The CRDs the cluster serves: name → its served versions (only Established CRDs count). */
export async function servedCRDs(t: Tools): Promise<Map<string, Set<string>>> {
  const r = await t.kubectl(['get', 'customresourcedefinitions', '-o', 'json']);
  const out = new Map<string, Set<string>>();
  if (r.code !== 0) return out;
  for (const crd of arr(obj(parseJson(r.stdout)).items).map(obj)) {
    const established = arr(obj(crd.status).conditions)
      .map(obj)
      .some((c) => c.type === 'Established' && c.status === 'True');
    if (!established) continue;
    const versions = arr(obj(crd.spec).versions)
      .map(obj)
      .filter((v) => v.served === true)
      .map((v) => str(v.name));
    out.set(str(obj(crd.metadata).name), new Set(versions));
  }
  return out;
}

/** The plan's CRD references (`plural.group[@version]`) of `c` that `served` serves. */
export function servedRefs(c: Component, served: ReadonlyMap<string, ReadonlySet<string>>): string[] {
  return [...c.requiredCRDs, ...c.optionalCRDs].filter((ref) => {
    const [name = '', version] = ref.split('@');
    const versions = served.get(name);
    return versions !== undefined && (version === undefined || versions.has(version));
  });
}

export interface HookJobState {
  readonly job: string;
  readonly phase: 'running' | 'succeeded' | 'failed';
}

/** The release's hook Jobs created at or after `sinceMs` (epoch ms), with their state. */
export async function hookJobs(plan: Plan, c: Component, t: Tools, sinceMs: number): Promise<HookJobState[]> {
  const k = labelKeys(plan.labelPrefix);
  const r = await t.kubectl([
    'get',
    'jobs',
    '-n',
    c.namespace,
    '-l',
    `${k.release}=${c.release},${k.hook}`,
    '-o',
    'json',
  ]);
  if (r.code !== 0) return [];
  // creationTimestamp has second resolution: a Job of this action is at most a second "older" than its start.
  const since = Math.floor(sinceMs / 1000) * 1000 - 1000;
  return arr(obj(parseJson(r.stdout)).items)
    .map(obj)
    .filter((j) => Date.parse(str(obj(j.metadata).creationTimestamp)) >= since)
    .map((j): HookJobState => {
      const status = obj(j.status);
      const conds = arr(status.conditions).map(obj);
      const has = (type: string) => conds.some((x) => x.type === type && x.status === 'True');
      const phase = has('Failed') ? 'failed' : has('Complete') || num(status.succeeded) > 0 ? 'succeeded' : 'running';
      return { job: str(obj(j.metadata).name), phase };
    });
}

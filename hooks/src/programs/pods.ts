/**
 * pod-check: post-install health check of a release's pods, diagnostics, and (with --auto-fix) restarts of what a
 * restart can fix, then verification until the deadline.
 */
import { DEFAULT_LABEL_PREFIX, labelKeys } from '../../../core/labels.js';
import { COMMON_FLAGS, type Context, type FlagSpec, type FlagValue, type RunDeps } from '../cli.js';
import { mapLimit } from '../concurrency.js';
import { HOOK_EXIT_CODES, HookError, HookErrorCodes } from '../errors.js';
import { listAll, type ListAllOptions } from '../k8s/pages.js';
import type { Pod, Workload } from '../k8s/types.js';
import { classifyPod, type Owner, type PodVerdict } from '../pods/classify.js';
import { describePod, logTargets, recentEvents } from '../pods/diagnose.js';
import { describeAction, planRemediation, type Action } from '../pods/remediate.js';
import {
  describeShortfalls,
  describeUnsettled,
  POD_OWNER_KINDS,
  podShortfalls,
  unsettledWorkloads,
  type PodOwnerKind,
  type Shortfall,
  type Unsettled,
} from '../pods/workloads.js';
import { COMMON_EXIT_CODES, runProgram, type ProgramDef } from '../program.js';
import { formatTable } from '../table.js';

export const POD_CHECK_FLAGS: FlagSpec[] = [
  ...COMMON_FLAGS,
  {
    name: 'release',
    env: 'HT_RELEASE',
    type: 'string',
    help: 'release whose pods are checked (label <prefix>release=<release>)',
  },
  {
    name: 'label-prefix',
    env: 'HT_LABEL_PREFIX',
    type: 'string',
    default: DEFAULT_LABEL_PREFIX,
    help: 'prefix of the helm-tiers labels',
  },
  { name: 'selector', env: 'HT_SELECTOR', type: 'string', help: 'label selector instead of --release' },
  {
    name: 'grace',
    env: 'HT_GRACE_SECONDS',
    type: 'number',
    default: 30,
    help: 'seconds pods get to become healthy before they are judged',
  },
  {
    name: 'auto-fix',
    env: 'HT_AUTO_FIX',
    type: 'boolean',
    default: false,
    help: 'restart what a restart can fix (eviction or rollout restart of controller-owned pods)',
  },
  {
    name: 'dry-run',
    env: 'HT_DRY_RUN',
    type: 'boolean',
    default: false,
    help: 'with --auto-fix: print what would be done, change nothing',
  },
  {
    name: 'tail-lines',
    env: 'HT_TAIL_LINES',
    type: 'number',
    default: 20,
    help: 'log lines per container (current and previous) in diagnostics',
  },
];

/** Pods diagnosed in detail (events, logs); the rest are summarised by class. */
const MAX_DIAGNOSED = 10;
const CONCURRENCY = 4;
const PAGE = 500;

/** listAll's options: a warn line for each restart of an expired list (410 Gone). */
const restartLogged = (ctx: Context, what: string): ListAllOptions => ({
  onRestart: (err, attempt) => {
    ctx.log.warn(
      { list: what, attempt, err: err.message },
      `the list of ${what} expired (410 Gone) before its last page; reading it again from scratch`,
    );
  },
});

async function listPods(ctx: Context, selector: string): Promise<Pod[]> {
  return listAll(
    (token) => ctx.kube.listPods(ctx.namespace, { labelSelector: selector, limit: PAGE, continueToken: token }),
    restartLogged(ctx, 'pods'),
  );
}

interface Snapshot {
  pods: Map<string, Pod>;
  verdicts: PodVerdict[];
}

async function snapshot(ctx: Context, selector: string): Promise<Snapshot> {
  const pods = await listPods(ctx, selector);
  return { pods: new Map(pods.map((p) => [p.metadata?.name ?? '', p])), verdicts: pods.map(classifyPod) };
}

const failing = (s: Snapshot): PodVerdict[] => s.verdicts.filter((v) => v.severity === 'fail');

/** Polls until no pod fails, `until` (epoch ms) passes, or stop(s) says so. */
async function pollUntilHealthy(
  ctx: Context,
  selector: string,
  until: number,
  stop: (s: Snapshot) => boolean = () => false,
  waitForPods = false,
): Promise<Snapshot> {
  let delay = 1000;
  let snap = await snapshot(ctx, selector);
  let lastKey = '';
  const pending = (s: Snapshot): boolean => failing(s).length > 0 || (waitForPods && s.verdicts.length === 0);
  while (pending(snap) && !stop(snap) && ctx.clock.now() < until && !ctx.deadline.expired()) {
    const key = failing(snap)
      .map((v) => `${v.pod}:${v.class}`)
      .sort()
      .join(',');
    if (key !== lastKey) {
      ctx.log.info({ pods: snap.verdicts.length, unhealthy: failing(snap).length }, 'waiting for pods');
      lastKey = key;
    }
    delay = await backOff(ctx, delay, until);
    if (ctx.deadline.expired()) break;
    snap = await snapshot(ctx, selector);
  }
  return snap;
}

/** Sleeps `delay` ms (never past `until` or the deadline) and returns the next delay: doubled, at most 5 s. */
async function backOff(ctx: Context, delay: number, until: number): Promise<number> {
  await ctx.clock.sleep(
    Math.min(delay, Math.max(0, until - ctx.clock.now()), ctx.deadline.remaining()),
    ctx.deadline.signal,
  );
  return Math.min(5000, delay * 2);
}

/** Recent Events of an object, or one line saying why they are unavailable (diagnostics never fail the check). */
async function eventsFor(ctx: Context, fieldSelector: string): Promise<string[]> {
  try {
    return recentEvents((await ctx.kube.listEvents(ctx.namespace, { fieldSelector, limit: 100 })).items);
  } catch (err) {
    if (err instanceof HookError && err.code === HookErrorCodes.TERMINATED) throw err;
    return [`(events unavailable: ${err instanceof Error ? err.message : String(err)})`];
  }
}

async function diagnose(ctx: Context, snap: Snapshot, tailLines: number): Promise<void> {
  const bad = failing(snap).slice(0, MAX_DIAGNOSED);
  await mapLimit(bad, CONCURRENCY, async (v) => {
    const pod = snap.pods.get(v.pod);
    if (!pod) return;
    const describe = describePod(pod, v);
    const events = await eventsFor(ctx, `involvedObject.name=${v.pod}${v.uid ? `,involvedObject.uid=${v.uid}` : ''}`);
    const logs: Record<string, string[]> = {};
    for (const t of logTargets(pod, v)) {
      const key = `${t.container}${t.previous ? ' (previous)' : ''}`;
      try {
        const text = await ctx.kube.readPodLog(ctx.namespace, v.pod, {
          container: t.container,
          previous: t.previous,
          tailLines,
        });
        logs[key] = text
          .split('\n')
          .filter((l) => l.length > 0)
          .slice(-tailLines);
      } catch (err) {
        if (err instanceof HookError && err.code === HookErrorCodes.TERMINATED) throw err;
        logs[key] = [
          `(log unavailable: ${err instanceof HookError ? `${err.code} ${err.details.reason ?? ''}`.trim() : String(err)})`,
        ];
      }
    }
    ctx.log.error(
      {
        pod: v.pod,
        class: v.class,
        reason: v.reason,
        container: v.container,
        owner: v.owner,
        restartable: v.restartable,
        describe,
        events,
        logs,
      },
      `unhealthy pod ${v.pod}: ${v.class}: ${v.message}`,
    );
  });
  const rest = failing(snap).length - bad.length;
  if (rest > 0)
    ctx.log.warn(
      { notDiagnosed: rest },
      `${rest} more unhealthy pods not diagnosed in detail (limit ${MAX_DIAGNOSED})`,
    );
}

/** ReplicaSet → Deployment, read once per ReplicaSet. */
async function resolveOwners(ctx: Context, verdicts: readonly PodVerdict[]): Promise<Map<string, Owner | undefined>> {
  const rsNames = [
    ...new Set(
      verdicts
        .filter((v) => v.severity === 'fail' && v.restartable && v.owner?.kind === 'ReplicaSet')
        .map((v) => v.owner?.name ?? ''),
    ),
  ];
  const map = new Map<string, Owner | undefined>();
  await mapLimit(rsNames, CONCURRENCY, async (name) => {
    try {
      const rs = await ctx.kube.readReplicaSet(ctx.namespace, name);
      const ref = rs.metadata?.ownerReferences?.find((r) => r.controller === true);
      map.set(name, ref ? { kind: ref.kind, name: ref.name } : { kind: 'ReplicaSet', name });
    } catch (err) {
      if (err instanceof HookError && err.code === HookErrorCodes.NOT_FOUND) map.set(name, undefined);
      else throw err;
    }
  });
  return map;
}

/** Eviction with bounded backoff on 429 (a PodDisruptionBudget blocks it for now). */
async function evict(ctx: Context, pod: string, until: number): Promise<string> {
  let wait = 1000;
  for (let attempt = 1; attempt <= 6; attempt++) {
    try {
      return (await ctx.kube.evictPod(ctx.namespace, pod)) ? 'evicted' : 'already gone';
    } catch (err) {
      if (!(err instanceof HookError && err.code === HookErrorCodes.THROTTLED) || attempt === 6) throw err;
      const ms = Math.floor(wait / 2 + ctx.clock.random() * wait);
      // Retry only while the backoff leaves the verification budget intact.
      if (ms >= until - ctx.clock.now()) throw err;
      ctx.log.warn(
        { pod, attempt, waitMs: ms },
        `eviction of ${pod} refused (429: a PodDisruptionBudget allows no disruption now); retrying`,
      );
      await ctx.deadline.sleep(ms);
      wait = Math.min(wait * 2, 15_000);
    }
  }
  return 'not evicted';
}

async function execute(
  ctx: Context,
  actions: readonly Action[],
  until: number,
): Promise<{ action: Action; result: string; ok: boolean }[]> {
  const now = new Date(ctx.clock.now()).toISOString();
  return mapLimit(actions, CONCURRENCY, async (a) => {
    try {
      if (a.type === 'restart') {
        await ctx.kube.restartWorkload(a.kind, ctx.namespace, a.name, now);
        ctx.log.info({ kind: a.kind, name: a.name, pods: a.pods }, `rollout restart ${a.kind}/${a.name}`);
        return { action: a, result: 'restarted', ok: true };
      }
      const r = await evict(ctx, a.pod, until);
      ctx.log.info({ pod: a.pod, result: r }, `evict ${a.pod}: ${r}`);
      return { action: a, result: r, ok: true };
    } catch (err) {
      if (err instanceof HookError && (err.code === HookErrorCodes.FORBIDDEN || err.code === HookErrorCodes.TERMINATED))
        throw err;
      const msg =
        err instanceof HookError && err.code === HookErrorCodes.THROTTLED
          ? 'blocked by a PodDisruptionBudget (429) until the retries ran out'
          : err instanceof Error
            ? err.message
            : String(err);
      ctx.log.error({ action: describeAction(a), err: msg }, `remediation failed: ${describeAction(a)}`);
      return { action: a, result: `failed: ${msg}`, ok: false };
    }
  });
}

const seconds = (ms: number): string => (Math.max(0, ms) / 1000).toFixed(1);

/** The selection's Deployments, StatefulSets and DaemonSets, or why they could not be listed. */
interface WorkloadLists {
  lists: { kind: PodOwnerKind; items: Workload[] }[];
  /** Why they are not known: the 403 message (no `list` on them: custom RBAC, an older chart), or the deadline. */
  unchecked?: string;
}

/**
 * Lists the selection's Deployments, StatefulSets and DaemonSets (apps `list`). Without that RBAC rule the answer is
 * unknown: `unchecked` carries the 403 message, logged once here, and the caller's summary says so. Any other API
 * error (after the client's retries) fails the check as every other call does.
 */
async function listWorkloadsOf(ctx: Context, selector: string): Promise<WorkloadLists> {
  if (ctx.deadline.expired())
    return {
      lists: [],
      unchecked: ctx.deadline.signal.aborted ? 'terminated first' : 'the deadline was reached first',
    };
  const lists: WorkloadLists['lists'] = [];
  try {
    for (const kind of POD_OWNER_KINDS)
      lists.push({
        kind,
        items: await listAll(
          (token) =>
            ctx.kube.listWorkloads(kind, ctx.namespace, { labelSelector: selector, limit: PAGE, continueToken: token }),
          restartLogged(ctx, kind),
        ),
      });
  } catch (err) {
    if (!(err instanceof HookError && err.code === HookErrorCodes.FORBIDDEN)) throw err;
    ctx.log.warn(
      { err: err.message },
      'cannot tell whether a Deployment/StatefulSet/DaemonSet of the release has no pods: listing them is forbidden',
    );
    return { lists: [], unchecked: err.message };
  }
  return { lists };
}

const podsOf = (snap: Snapshot): Pod[] => [...snap.pods.values()];

/**
 * Pods exist: workloads of the release that have none yet get the rest of the grace to create them, as a release
 * without pods does (a controller may be slow right after the install). The pods are listed again while waiting,
 * so that pods that appear are judged like the others. Returns the last pod snapshot and workload lists.
 */
async function waitForStuckWorkloads(
  ctx: Context,
  selector: string,
  first: Snapshot,
  graceUntil: number,
): Promise<{ snap: Snapshot; workloads: WorkloadLists }> {
  let snap = first;
  let workloads = await listWorkloadsOf(ctx, selector);
  let stuck = podShortfalls(workloads.lists, ctx.namespace, podsOf(snap));
  let delay = 1000;
  if (stuck.length > 0 && ctx.clock.now() < graceUntil)
    ctx.log.info({ workloads: stuck.map((x) => `${x.kind}/${x.name}`) }, 'waiting for workloads that have no pods yet');
  while (stuck.length > 0 && ctx.clock.now() < graceUntil && !ctx.deadline.expired()) {
    delay = await backOff(ctx, delay, graceUntil);
    if (ctx.deadline.expired()) break;
    snap = await snapshot(ctx, selector);
    workloads = await listWorkloadsOf(ctx, selector);
    stuck = podShortfalls(workloads.lists, ctx.namespace, podsOf(snap));
  }
  return { snap, workloads };
}

/** Logs each workload that wants pods with its recent Events (FailedCreate and the like), and prints a table. */
async function reportShortfalls(ctx: Context, shortfalls: readonly Shortfall[]): Promise<void> {
  ctx.out(
    formatTable(
      ['WORKLOAD', 'WANTS', 'PODS', 'DETAIL'],
      shortfalls.slice(0, 50).map((s) => [`${s.kind.toLowerCase()}/${s.name}`, String(s.wants), '0', s.cause ?? '']),
    ),
  );
  await mapLimit(shortfalls.slice(0, MAX_DIAGNOSED), CONCURRENCY, async (s) => {
    const events = await eventsFor(
      ctx,
      `involvedObject.kind=${s.kind},involvedObject.name=${s.name}${s.uid ? `,involvedObject.uid=${s.uid}` : ''}`,
    );
    ctx.log.error(
      { workload: `${s.kind}/${s.name}`, wants: s.wants, pods: 0, cause: s.cause, events },
      `no pods: ${s.message}`,
    );
  });
}

/**
 * The verdict when the selection matched no pod. SIGTERM during the wait: 143 with the time waited. Workloads that want
 * pods: unhealthy (30), whatever the deadline. The deadline cut the grace short: timeout (50). Otherwise nothing asks
 * for pods: 0.
 */
async function noPods(
  ctx: Context,
  selector: string,
  startedAt: number,
  graceMs: number,
  /** When the wait for pods was to end: the grace, or earlier when the deadline leaves less. */
  waitUntil: number,
): Promise<{ code: number; summary: string }> {
  const none = `no pods match ${selector} in ${ctx.namespace}`;
  const waited = () => seconds(ctx.clock.now() - startedAt);
  const grace = `${seconds(graceMs)} s grace`;
  if (ctx.deadline.signal.aborted)
    return {
      code: HOOK_EXIT_CODES.E_TERMINATED,
      summary: `terminated after waiting ${waited()} s of the ${grace}: ${none} yet`,
    };
  const waitedS = waited();
  const cutShort = waitUntil < startedAt + graceMs;
  const workloads = await listWorkloadsOf(ctx, selector);
  const shortfalls = podShortfalls(workloads.lists, ctx.namespace, []);
  if (shortfalls.length > 0) {
    await reportShortfalls(ctx, shortfalls);
    return {
      code: HOOK_EXIT_CODES.E_PODS_UNHEALTHY,
      summary: `0 pods after ${waitedS} s, but ${describeShortfalls(shortfalls)}`,
    };
  }
  const unchecked = workloads.unchecked ? `; workloads not checked (${workloads.unchecked})` : '';
  if (cutShort)
    return {
      code: HOOK_EXIT_CODES.E_TIMEOUT,
      summary: `deadline (--timeout) reached after waiting ${waitedS} s, before the ${grace} ended: ${none}${unchecked}`,
    };
  return {
    code: 0,
    summary: `${none} (waited ${waitedS} s)${unchecked || '; no Deployment, StatefulSet or DaemonSet of it lacks the pods it wants'}`,
  };
}

/** "Kind/name" of the workloads whose pods the actions replace (ReplicaSet → its Deployment). */
function fixedWorkloads(
  actions: readonly Action[],
  verdicts: readonly PodVerdict[],
  owners: ReadonlyMap<string, Owner | undefined>,
): Set<string> {
  const out = new Set<string>();
  const byPod = new Map(verdicts.map((v) => [v.pod, v]));
  for (const a of actions) {
    if (a.type === 'restart') {
      out.add(`${a.kind}/${a.name}`);
      continue;
    }
    const owner = byPod.get(a.pod)?.owner;
    const top = owner?.kind === 'ReplicaSet' ? owners.get(owner.name) : owner;
    if (top) out.add(`${top.kind}/${top.name}`);
  }
  return out;
}

interface Verification {
  snap: Snapshot;
  workloads: WorkloadLists;
  unsettled: Unsettled[];
}

/**
 * After evictions or rollout restarts: polls (1 s → 5 s) until `until` for the release to be whole again. That takes
 * all three: no pod fails (a Terminating pod counts as not replaced yet: a StatefulSet creates the same-named
 * replacement only once the old pod is gone, after its grace period), every workload's own status is settled, and
 * each fixed workload has as many healthy pods as it wants. It stops early only when waiting cannot help: the
 * remaining pod problems are ones a restart does not fix and nothing is still settling, or a workload failed.
 */
async function verifyFix(
  ctx: Context,
  selector: string,
  until: number,
  fixed: ReadonlySet<string>,
): Promise<Verification> {
  let delay = 1000;
  let lastKey = '';
  for (;;) {
    const snap = await snapshot(ctx, selector);
    const workloads = await listWorkloadsOf(ctx, selector);
    const verdictOf = new Map(snap.verdicts.map((v) => [v.pod, v]));
    const unsettled = unsettledWorkloads(
      workloads.lists,
      podsOf(snap),
      (p) => verdictOf.get(p.metadata?.name ?? '')?.severity === 'ok',
      fixed,
      (p) => {
        const v = verdictOf.get(p.metadata?.name ?? '');
        return `${p.metadata?.name ?? '?'} ${v?.class ?? 'unknown'}`;
      },
    );
    const bad = failing(snap);
    const whole = bad.length === 0 && unsettled.length === 0;
    const hopeless =
      unsettled.some((u) => u.failed) ||
      (bad.length > 0 && bad.every((v) => !v.transitional && !v.restartable) && unsettled.every((u) => u.failed));
    if (whole || hopeless || ctx.clock.now() >= until || ctx.deadline.expired()) return { snap, workloads, unsettled };
    const key = [...bad.map((v) => `${v.pod}:${v.class}`), ...unsettled.map((u) => u.message)].sort().join(',');
    if (key !== lastKey) {
      ctx.log.info(
        { pods: snap.verdicts.length, unhealthy: bad.length, workloads: unsettled.map((u) => u.message) },
        'verifying: waiting for replacements and workloads',
      );
      lastKey = key;
    }
    delay = await backOff(ctx, delay, until);
    if (ctx.deadline.expired()) return { snap, workloads, unsettled };
  }
}

function classCounts(verdicts: readonly PodVerdict[]): string {
  const counts = new Map<string, number>();
  for (const v of verdicts.filter((x) => x.severity !== 'ok')) counts.set(v.class, (counts.get(v.class) ?? 0) + 1);
  return [...counts].map(([c, n]) => `${c} ${n}`).join(', ');
}

function printTable(ctx: Context, snap: Snapshot): void {
  const rows = snap.verdicts
    .filter((v) => v.severity !== 'ok')
    .slice(0, 50)
    .map((v) => [
      v.pod,
      v.class,
      v.severity === 'warn' ? 'warning' : 'unhealthy',
      v.owner ? `${v.owner.kind}/${v.owner.name}` : '<none>',
      v.message,
    ]);
  if (rows.length) ctx.out(formatTable(['POD', 'CLASS', 'SEVERITY', 'OWNER', 'DETAIL'], rows));
}

export const podCheck: ProgramDef = {
  name: 'pod-check',
  summary:
    "Post-install check of a release's pods (label <prefix>release=<release>, paged). Waits --grace seconds, classifies unhealthy pods, logs diagnostics (describe, events, current/previous logs). With --auto-fix restarts only what a restart can fix and only controller-owned pods (eviction, or rollout restart when most of a workload's pods are bad), then verifies until the deadline.",
  flags: POD_CHECK_FLAGS,
  exitCodes: [
    [
      0,
      'all pods healthy at the end and no Deployment/StatefulSet/DaemonSet of the release without the pods it wants (or no pods, and none wants any)',
    ],
    [
      HOOK_EXIT_CODES.E_PODS_UNHEALTHY,
      'unhealthy pods remain (summary names classes and pods), or a workload of the release wants pods and has none',
    ],
    ...COMMON_EXIT_CODES,
  ],
  validate(values) {
    if (!values.release && !values.selector)
      throw new HookError(HookErrorCodes.USAGE, 'give --release (or HT_RELEASE) or --selector');
  },
  async main(ctx, values: Record<string, FlagValue>) {
    const release = values.release as string | undefined;
    const explicit = values.selector as string | undefined;
    if (!release && !explicit)
      throw new HookError(HookErrorCodes.USAGE, 'give --release (or HT_RELEASE) or --selector');
    const prefix = String(values['label-prefix']);
    // Hook Jobs carry the release label too (Helm 3 never post-renders hooks, so the chart adds it): leave them out.
    const keys = labelKeys(prefix);
    const selector = explicit ?? `${keys.release}=${release ?? ''},!${keys.hook}`;
    const graceMs = Number(values.grace) * 1000;
    const autoFix = values['auto-fix'] === true;
    const dryRun = values['dry-run'] === true;
    const tailLines = Number(values['tail-lines']);
    // Keep some of the deadline for the final diagnostics and summary.
    // (At least 3 s: under load the last list, diagnostics and summary must still fit, so that the verdict is
    // "unhealthy" (30) with its reasons, never a bare deadline (50).)
    const reserve = Math.min(15_000, Math.max(3_000, ctx.deadline.remaining() * 0.2));
    const verifyUntil = ctx.deadline.at - reserve;
    ctx.log.info(
      { namespace: ctx.namespace, selector, graceSeconds: graceMs / 1000, autoFix, dryRun },
      'checking pods',
    );

    // Right after an install the controllers may not have created the pods yet: zero pods also waits for the grace.
    const startedAt = ctx.clock.now();
    const graceUntil = Math.min(startedAt + graceMs, verifyUntil);
    const first = await pollUntilHealthy(ctx, selector, graceUntil, undefined, true);
    if (first.verdicts.length === 0) return noPods(ctx, selector, startedAt, graceMs, graceUntil);
    const waited = await waitForStuckWorkloads(ctx, selector, first, graceUntil);
    // Pods listed again while waiting get what the first ones got: the rest of the grace to become healthy.
    let snap =
      waited.snap !== first && ctx.clock.now() < graceUntil
        ? await pollUntilHealthy(ctx, selector, graceUntil)
        : waited.snap;
    let actionsDone = '';
    /** After a fix: the workloads not back to every pod they want, healthy (empty without a fix). */
    let unsettled: Unsettled[] = [];
    let verifyUnchecked = '';
    if (failing(snap).length > 0 && !ctx.deadline.expired()) {
      // Pods that are only slow (pulling, starting, probes not yet passing) get the rest of the deadline.
      if (failing(snap).every((v) => v.transitional)) {
        snap = await pollUntilHealthy(ctx, selector, verifyUntil, (s) => failing(s).some((v) => !v.transitional));
      }
    }
    if (failing(snap).length > 0 && !ctx.deadline.expired()) {
      await diagnose(ctx, snap, tailLines);
      if (autoFix) {
        const owners = await resolveOwners(ctx, snap.verdicts);
        const plan = planRemediation(snap.verdicts, (o) => owners.get(o.name));
        for (const s of plan.skipped) ctx.log.warn({ pod: s.pod, why: s.why }, `not restarting ${s.pod}: ${s.why}`);
        if (plan.actions.length === 0) {
          actionsDone = '; auto-fix: nothing a restart can fix';
        } else if (dryRun) {
          for (const a of plan.actions) ctx.log.info({ action: a }, `dry-run: would ${describeAction(a)}`);
          ctx.out(plan.actions.map((a) => `dry-run: would ${describeAction(a)}\n`).join(''));
          actionsDone = `; dry-run: would ${plan.actions.map(describeAction).join(', ')}`;
        } else {
          const results = await execute(ctx, plan.actions, verifyUntil);
          actionsDone = `; auto-fix: ${results.map((r) => (r.action.type === 'evict' ? `${r.action.pod} ${r.result}` : `${r.action.kind.toLowerCase()}/${r.action.name} ${r.result}`)).join(', ')}`;
          const verified = await verifyFix(
            ctx,
            selector,
            verifyUntil,
            fixedWorkloads(plan.actions, snap.verdicts, owners),
          );
          snap = verified.snap;
          unsettled = verified.unsettled;
          if (verified.workloads.unchecked && !waited.workloads.unchecked)
            verifyUnchecked = `; workloads not verified (${verified.workloads.unchecked})`;
          if ((failing(snap).length > 0 || unsettled.length > 0) && !ctx.deadline.signal.aborted)
            await diagnose(ctx, snap, tailLines);
        }
      }
    }
    printTable(ctx, snap);
    // The workloads as listed at the end of the grace, against the pods as they are now.
    const stuck = podShortfalls(waited.workloads.lists, ctx.namespace, podsOf(snap));
    if (stuck.length > 0) await reportShortfalls(ctx, stuck);
    if (unsettled.length > 0)
      ctx.out(
        formatTable(
          ['WORKLOAD', 'NOT SETTLED'],
          unsettled.slice(0, 50).map((u) => [`${u.kind.toLowerCase()}/${u.name}`, u.message]),
        ),
      );
    const workloads =
      (stuck.length > 0
        ? `; ${describeShortfalls(stuck)}`
        : waited.workloads.unchecked
          ? `; workloads not checked (${waited.workloads.unchecked})`
          : '') + (unsettled.length > 0 ? `; ${describeUnsettled(unsettled)}` : verifyUnchecked);
    const bad = failing(snap);
    const warn = snap.verdicts.filter((v) => v.severity === 'warn').length;
    // Every pod listed counts, Terminating ones too (as unhealthy: not replaced yet).
    const total = snap.verdicts.length;
    const head = `${total} pods, ${total - bad.length - warn} healthy, ${bad.length} unhealthy${warn ? `, ${warn} warnings` : ''}`;
    if (bad.length === 0)
      return {
        code: stuck.length > 0 || unsettled.length > 0 ? HOOK_EXIT_CODES.E_PODS_UNHEALTHY : 0,
        summary: `${head}${warn ? ` (${classCounts(snap.verdicts)})` : ''}${actionsDone}${workloads}`,
      };
    const names = bad
      .slice(0, 5)
      .map((v) => `${v.pod} ${v.class}`)
      .join(', ');
    return {
      code: HOOK_EXIT_CODES.E_PODS_UNHEALTHY,
      summary: `${head} (${classCounts(snap.verdicts)}: ${names}${bad.length > 5 ? ', ...' : ''})${actionsDone}${workloads}`,
    };
  },
};

export const runPodCheck = (argv: readonly string[], env: NodeJS.ProcessEnv, deps: RunDeps = {}): Promise<number> =>
  runProgram(podCheck, argv, env, deps);

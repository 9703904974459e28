/**
 * The tier-by-tier deploy driver of `helm-tiers deploy` (and so of `npm start`, which runs that command), made to
 * hold the ordering guarantee of docs/flux.md on the CLI path too:
 *   - releases run by the plan's dependencies, independent ones in parallel (at most `concurrency` at once),
 *   - a release starts only when every dependency (inside `--only` or not) is Ready at this plan revision, read
 *     from the cluster (cli/deploy/state.ts: Helm status deployed, `global.tiers.planRevision` in its values, its
 *     workloads rolled out), not merely because our own helm call for it returned,
 *   - a release whose chart, values (the same values the Flux generator writes, flux/generate.ts installValues)
 *     and plan revision are what Helm already has, and which is Ready, gets no Helm action at all,
 *   - a failure stops its dependents (reported as not started, with the failed dependency).
 * The side effects (helm, kubectl, the clock, the event sink) come in as parameters.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parse, parseAllDocuments } from 'yaml';
import { check } from '../../core/helm.js';
import { installValues } from '../../flux/generate.js';
import {
  dependencyReleases,
  findComponent,
  planLevels,
  usesCRDs,
  crdTier,
  type Component,
  type Plan,
  type Values,
} from '../../plan/plan.js';
import { canonicalJson } from '../../plan/revision.js';
import {
  hookJobs,
  readiness,
  readRelease,
  servedCRDs,
  servedRefs,
  type FailedHook,
  type ReleaseFacts,
  type Tools,
} from './state.js';

export type Action = 'install' | 'upgrade' | 'reinstall';

export type DeployEvent =
  | { type: 'plan'; plan: string; revision: string; levels: string[][]; dryRun: boolean }
  | { type: 'level'; level: number; releases: string[] }
  /** The plan's CRD tier (`crds.autoInstall`): the CRD chart's crds/ applied server-side and Established. */
  | { type: 'crds'; chart: string; crds: string[]; ms: number; ok: boolean; reason?: string; dryRun?: boolean }
  | {
      type: 'start';
      release: string;
      tier: number;
      level: number;
      action: Action;
      dependencies: string[];
      /** Why this action (e.g. a second render once the CRDs its hook installed are served). */
      why?: string;
    }
  /** A hook Job of a running Helm action changed state (read from the cluster while Helm runs). */
  | {
      type: 'hook';
      release: string;
      tier: number;
      level: number;
      job: string;
      phase: 'running' | 'succeeded' | 'failed';
    }
  | { type: 'unchanged'; release: string; tier: number; level: number; helmRevision: number }
  | { type: 'would'; release: string; tier: number; level: number; action: Action | 'none'; why: string }
  | {
      type: 'deployed';
      release: string;
      tier: number;
      level: number;
      action: Action;
      ms: number;
      helmRevision?: number;
    }
  | {
      type: 'failed';
      release: string;
      tier: number;
      level: number;
      action: Action;
      ms: number;
      reason: string;
      hooks: FailedHook[];
    }
  | { type: 'not-started'; release: string; tier: number; level: number; reason: string; blockedBy: string }
  | {
      type: 'summary';
      ok: boolean;
      deployed: string[];
      unchanged: string[];
      failed: string[];
      notStarted: string[];
      ms: number;
    };

export type Outcome = 'deployed' | 'unchanged' | 'failed' | 'not-started' | 'planned';

export interface ReleaseOutcome {
  readonly release: string;
  readonly tier: number;
  readonly level: number;
  readonly outcome: Outcome;
  readonly action?: Action;
  readonly reason?: string;
  /** not-started: the dependency that held it. */
  readonly blockedBy?: string;
  /** not-started: that dependency failed in this run (else it was found not Ready on the cluster). */
  readonly dependencyFailed?: boolean;
}

export interface DriverOptions {
  readonly plan: Plan;
  readonly planRevision: string;
  /** Absolute chart folder of a component (or of the plan's CRD chart). */
  readonly chartPath: (c: { readonly chart: string }) => string;
  /** The chart's values.yaml (for the hook deadlines that bound the timeout). */
  readonly chartValues: (c: Component) => Values | undefined;
  readonly tools: Tools;
  /** `--post-renderer ... --post-renderer-args ...` for one release (from the harness). */
  readonly postRenderFlags: (c: Component) => string[];
  /** Where values files are written. */
  readonly workDir: string;
  readonly emit: (e: DeployEvent) => void;
  /** Releases to deploy (default all); dependencies outside it must already be Ready at the revision. */
  readonly only?: readonly string[];
  readonly dryRun?: boolean;
  /** Releases running at once (default 3). */
  readonly concurrency?: number;
  /** Helm `--timeout` in seconds; default: above the release's longest hook deadline (as Flux's timeout). */
  readonly timeoutSeconds?: number;
  /** Values merged over every release's plan values (`--values FILE`). */
  readonly values?: Values;
  readonly now?: () => number;
  /** Waits between the readiness checks after Helm returned (default a timer). */
  readonly sleep?: (ms: number) => Promise<unknown>;
  /** Hook Job reads while Helm runs, ms apart (default HOOK_POLL_MS). */
  readonly hookPollMs?: number;
}

/** After Helm returned success: how many more readiness reads, how far apart, before the release counts as failed. */
export const SETTLE_CHECKS = 10;
export const STABLE_READS = 3;
export const SETTLE_INTERVAL_MS = 1000;
/** How often the hook Jobs of a running Helm action are read. */
export const HOOK_POLL_MS = 1000;

/**
 * Helm's error, trimmed to what a person reads first: the `Error:` line and its indented details (Helm 4 also
 * prints a failed hook's whole log as `level=INFO msg="..."` lines before it; the hook's summary is shown apart).
 */
export function errorHead(stderr: string, lines = 6): string {
  const all = stderr
    .split('\n')
    .map((l) => l.trimEnd())
    .filter((l) => l.length > 0 && !l.startsWith('WARNING: Kubernetes configuration file is'));
  const at = all.findIndex((l) => l.startsWith('Error:'));
  const from = at >= 0 ? all.slice(at) : all.filter((l) => !l.startsWith('level='));
  return from.slice(0, lines).join('\n');
}

/** The CRDs in a chart's crds/ folder (the files `kubectl apply -f DIR` reads), by name; none is an error. */
export function crdNames(dir: string): string[] {
  const files = readdirSync(dir).filter((f) => /\.(ya?ml|json)$/.test(f));
  const names: string[] = [];
  for (const f of files.sort()) {
    for (const doc of parseAllDocuments(readFileSync(join(dir, f), 'utf8'), { version: '1.1' })) {
      const o = doc.toJS() as { kind?: unknown; metadata?: { name?: unknown } } | null;
      if (o?.kind === 'CustomResourceDefinition' && typeof o.metadata?.name === 'string') names.push(o.metadata.name);
    }
  }
  if (names.length === 0) throw new Error(`no CustomResourceDefinition in ${dir}`);
  return names;
}

/** `<name>-<version>` of a chart folder, as `helm list` prints the chart column. */
export function chartId(chartDir: string): string {
  const meta = parse(readFileSync(join(chartDir, 'Chart.yaml'), 'utf8'), { version: '1.1' }) as {
    name?: unknown;
    version?: unknown;
  };
  return `${String(meta.name)}-${String(meta.version)}`;
}

interface Desired {
  readonly values: Values;
  readonly timeoutSeconds: number;
  readonly chart: string;
}

/** What to do with a release, from what Helm has and what the plan wants (pure). */
export function decide(
  facts: ReleaseFacts,
  desired: Desired,
  planRevision: string,
  everDeployed: boolean,
): { action: Action | 'none'; why: string } {
  if (!facts.helm) return { action: 'install', why: 'not installed' };
  if (facts.helm.status === 'deployed') {
    const changed: string[] = [];
    if (facts.helm.chart !== desired.chart) changed.push(`chart ${facts.helm.chart} → ${desired.chart}`);
    if (facts.planRevision !== planRevision)
      changed.push(`plan revision ${facts.planRevision ?? '(none)'} → ${planRevision}`);
    else if (canonicalJson(facts.values ?? {}) !== canonicalJson(desired.values)) changed.push('values changed');
    if (changed.length > 0) return { action: 'upgrade', why: changed.join(', ') };
    const r = readiness(facts, planRevision);
    if (r.ready) return { action: 'none', why: 'unchanged and Ready' };
    return { action: 'upgrade', why: `unchanged but not Ready: ${r.why[0] ?? ''}` };
  }
  // Like helm-controller's install remediation: a release that never reached deployed is uninstalled and installed.
  if (!everDeployed) return { action: 'reinstall', why: `only revision is ${facts.helm.status}` };
  return { action: 'upgrade', why: `last revision is ${facts.helm.status}` };
}

export interface DeployResult {
  readonly ok: boolean;
  readonly results: ReleaseOutcome[];
}

export async function deployPlan(o: DriverOptions): Promise<DeployResult> {
  const { plan, tools, emit } = o;
  const now = o.now ?? Date.now;
  const pause = o.sleep ?? ((ms: number) => sleep(ms));
  const t0 = now();
  const levels = planLevels(plan);
  const levelOf = new Map<string, number>();
  levels.forEach((l, i) => {
    for (const c of l) levelOf.set(c.release, i);
  });
  const selected = (o.only ?? plan.components.map((c) => c.release)).map((r) => findComponent(plan, r));
  const inSelection = new Set(selected.map((c) => c.release));
  const depsOf = (c: Component) => dependencyReleases(plan, c);
  emit({
    type: 'plan',
    plan: plan.name,
    revision: o.planRevision,
    levels: levels.map((l) => l.map((c) => c.release).filter((r) => inSelection.has(r))).filter((l) => l.length),
    dryRun: o.dryRun === true,
  });
  const results = new Map<string, ReleaseOutcome>();
  /** The action decided for each release, for a failure reported from outside its run. */
  const decided = new Map<string, Action | 'none'>();
  const base = (c: Component) => ({ release: c.release, tier: c.tier, level: levelOf.get(c.release) ?? 0 });
  const okOutcome = (r: ReleaseOutcome | undefined) =>
    r !== undefined && (r.outcome === 'deployed' || r.outcome === 'unchanged' || r.outcome === 'planned');

  const desiredOf = (c: Component): Desired => {
    const dir = o.chartPath(c);
    return {
      ...installValues(plan, c, o.chartValues(c), o.planRevision, {
        values: o.values,
        timeoutSeconds: o.timeoutSeconds,
      }),
      chart: chartId(dir),
    };
  };

  /**
   * The CRD chart's crds/ applied like helm-controller does for the CRD tier (server-side, forced: the CRDs follow
   * the chart, `CreateReplace`), then waited for until Established. Not a Helm release: Helm never upgrades crds/.
   */
  const applyCrdTier = async (chart: string): Promise<boolean> => {
    const started = now();
    const dir = join(o.chartPath({ chart }), 'crds');
    let names: string[];
    try {
      names = crdNames(dir);
    } catch (err) {
      emit({ type: 'crds', chart, crds: [], ms: 0, ok: false, reason: (err as Error).message });
      return false;
    }
    if (o.dryRun) {
      emit({ type: 'crds', chart, crds: names, ms: 0, ok: true, dryRun: true });
      return true;
    }
    const fail = (what: string, r: { code: number; stderr: string }) => {
      emit({
        type: 'crds',
        chart,
        crds: names,
        ms: now() - started,
        ok: false,
        reason: `${what}: ${errorHead(r.stderr) || `exit ${r.code}`}`,
      });
      return false;
    };
    const applied = await tools.kubectl([
      'apply',
      '--server-side',
      '--force-conflicts',
      '--field-manager=helm-tiers',
      '-f',
      dir,
    ]);
    if (applied.code !== 0) return fail(`kubectl apply --server-side -f ${dir}`, applied);
    const waited = await tools.kubectl([
      'wait',
      '--for=condition=Established',
      '--timeout=60s',
      ...names.map((n) => `crd/${n}`),
    ]);
    if (waited.code !== 0) return fail('waiting for the CRDs to be Established', waited);
    emit({ type: 'crds', chart, crds: names, ms: now() - started, ok: true });
    return true;
  };

  const notStarted = (c: Component, blockedBy: string, reason: string, dependencyFailed: boolean) => {
    results.set(c.release, { ...base(c), outcome: 'not-started', reason, blockedBy, dependencyFailed });
    emit({ type: 'not-started', ...base(c), reason, blockedBy });
  };

  const runOne = async (c: Component): Promise<void> => {
    // The gate: every dependency Ready at this revision, read from the cluster (a dry run trusts its own plan for
    // the dependencies it would deploy itself).
    for (const d of depsOf(c)) {
      if (o.dryRun && inSelection.has(d)) continue;
      const r = readiness(await readRelease(plan, findComponent(plan, d), tools), o.planRevision);
      if (!r.ready) {
        notStarted(c, d, `dependency ${d} is not Ready: ${r.why.join('; ')}`, false);
        return;
      }
    }
    const facts = await readRelease(plan, c, tools);
    const desired = desiredOf(c);
    let everDeployed = facts.helm?.status === 'deployed';
    if (facts.helm && !everDeployed) {
      // A failed read is a failed release, never "no deployed revision": that would uninstall a working release.
      // Helm's default --max (256 revisions) keeps the oldest deployed revision of any realistic history in view.
      const h = check(
        await tools.helm(['history', c.release, '-n', c.namespace, '-o', 'json']),
        `reading the Helm history of ${c.release}`,
      );
      const revs = JSON.parse(h.stdout || '[]') as { status?: string }[];
      everDeployed = revs.some((x) => x.status === 'deployed' || x.status === 'superseded');
    }
    const d = decide(facts, desired, o.planRevision, everDeployed);
    decided.set(c.release, d.action);
    if (o.dryRun) {
      emit({ type: 'would', ...base(c), action: d.action, why: d.why });
      results.set(c.release, { ...base(c), outcome: 'planned', ...(d.action === 'none' ? {} : { action: d.action }) });
      return;
    }
    if (d.action === 'none') {
      emit({ type: 'unchanged', ...base(c), helmRevision: facts.helm?.revision ?? 0 });
      results.set(c.release, { ...base(c), outcome: 'unchanged' });
      return;
    }
    const before = usesCRDs(c) ? servedRefs(c, await servedCRDs(tools)) : [];
    let res = await helmAction(c, d.action, desired);
    if (res.ok && usesCRDs(c)) {
      // Helm read .Capabilities before the hooks ran: CRDs a hook of this action installed (the chart's CRD check
      // with global.autoInstallCRDs) left the custom resources they guard out of this render. One more upgrade
      // renders them now, instead of leaving them to the next change (what an in-sync HelmRelease would do).
      const arrived = servedRefs(c, await servedCRDs(tools)).filter((r) => !before.includes(r));
      if (arrived.length > 0)
        res = await helmAction(
          c,
          'upgrade',
          desired,
          `again: ${arrived.length} of its CRDs were installed by its hooks, rendering what they guard`,
        );
    }
    results.set(c.release, {
      ...base(c),
      outcome: res.ok ? 'deployed' : 'failed',
      action: d.action,
      ...(res.ok ? {} : { reason: res.reason }),
    });
  };

  /** One Helm action on `c` (with its hooks watched), then the readiness gate; emits start/hook/deployed/failed. */
  const helmAction = async (
    c: Component,
    action: Action,
    desired: Desired,
    why?: string,
  ): Promise<{ ok: boolean; reason?: string }> => {
    const started = now();
    const startedWall = Date.now();
    emit({ type: 'start', ...base(c), action, dependencies: depsOf(c), ...(why ? { why } : {}) });
    if (action === 'reinstall') {
      const u = await tools.helm(['uninstall', c.release, '-n', c.namespace, '--wait', '--timeout', '120s']);
      if (u.code !== 0) {
        // Installing over a release that is still there would only hide this error behind Helm's next one.
        const reason = `helm uninstall (before installing again) failed: ${errorHead(u.stderr) || `exit ${u.code}`}`;
        emit({ type: 'failed', ...base(c), action, ms: now() - started, reason, hooks: [] });
        return { ok: false, reason };
      }
    }
    const valuesFile = join(o.workDir, `${c.release}.values.json`);
    writeFileSync(valuesFile, `${JSON.stringify(desired.values, null, 2)}\n`);
    const watcher = watchHooks(c, startedWall);
    const r = await tools
      .helm([
        'upgrade',
        '--install',
        c.release,
        o.chartPath(c),
        '-n',
        c.namespace,
        '--create-namespace',
        '-f',
        valuesFile,
        // Plan `wait: false` (Flux disableWait): the post-install check and the readiness gate below judge the pods.
        ...(c.wait === false ? [] : ['--wait']),
        '--timeout',
        `${desired.timeoutSeconds}s`,
        ...o.postRenderFlags(c),
      ])
      .finally(() => {
        watcher.stop();
      });
    await watcher.done;
    const ms = now() - started;
    let after = await readRelease(plan, c, tools);
    if (r.code !== 0) {
      const reason = errorHead(r.stderr) || `helm exited ${r.code}`;
      emit({ type: 'failed', ...base(c), action, ms, reason, hooks: [...after.failedHooks] });
      return { ok: false, reason };
    }
    // Helm's wait can pass a pod that was Ready for a moment and crash-loops since (seen with Helm 4's watcher
    // on the real control plane): Helm's verdict is not Ready. Checked again for a short while, for the
    // controllers' status to catch up with what Helm waited for.
    // Ready means Ready on STABLE_READS reads in a row with no container restart in between: a crash-looping pod
    // on a real kubelet is Running and Ready for a moment after each restart.
    let rd = readiness(after, o.planRevision);
    let stable = rd.ready ? 1 : 0;
    for (let i = 0; stable < STABLE_READS && i < SETTLE_CHECKS; i++) {
      await pause(SETTLE_INTERVAL_MS);
      const next = await readRelease(plan, c, tools);
      const restarted = (next.restarts ?? 0) > (after.restarts ?? 0);
      after = next;
      rd = readiness(after, o.planRevision);
      if (restarted && rd.ready) rd = { ready: false, why: ['its pods restarted while it was being checked'] };
      stable = rd.ready ? stable + 1 : 0;
    }
    if (stable < STABLE_READS && rd.ready) rd = { ready: false, why: ['its pods keep restarting'] };
    const doneMs = now() - started;
    if (rd.ready) {
      emit({ type: 'deployed', ...base(c), action, ms: doneMs, helmRevision: after.helm?.revision });
      return { ok: true };
    }
    const reason = `helm ${action} succeeded, but the release is not Ready: ${rd.why.join('; ')}`;
    emit({ type: 'failed', ...base(c), action, ms: doneMs, reason, hooks: [...after.failedHooks] });
    return { ok: false, reason };
  };

  /**
   * Reads the release's hook Jobs while Helm runs and emits each change of state (Helm itself says nothing until
   * it returns). Its own timer, not `o.sleep`: it must pace itself even when a test makes the waits instant.
   */
  const watchHooks = (c: Component, sinceMs: number) => {
    const seen = new Map<string, string>();
    let stopped = false;
    let wake: (() => void) | undefined;
    const poll = async () => {
      for (const j of await hookJobs(plan, c, tools, sinceMs)) {
        if (seen.get(j.job) === j.phase) continue;
        seen.set(j.job, j.phase);
        emit({ type: 'hook', ...base(c), job: j.job, phase: j.phase });
      }
    };
    const done = (async () => {
      while (!stopped) {
        await poll().catch(() => undefined);
        await new Promise<void>((resolve) => {
          wake = resolve;
          setTimeout(resolve, o.hookPollMs ?? HOOK_POLL_MS).unref();
        });
      }
      // Once more after Helm returned: a hook that ended between two reads still shows how it ended.
      await poll().catch(() => undefined);
    })();
    return {
      done,
      stop: () => {
        stopped = true;
        wake?.();
      },
    };
  };

  const pending = [...selected].sort((a, b) => (levelOf.get(a.release) ?? 0) - (levelOf.get(b.release) ?? 0));
  // The plan's CRD tier (crds.autoInstall) first, as on the Flux path: the releases that render custom resources
  // are rendered only once the CRDs are served.
  const tier = crdTier(plan);
  const needing = selected.filter(usesCRDs);
  if (tier && needing.length > 0 && !(await applyCrdTier(tier.chart))) {
    for (const c of needing) {
      pending.splice(pending.indexOf(c), 1);
      notStarted(c, tier.release, `the CRD tier ${tier.release} failed`, true);
    }
  }
  const running = new Map<string, Promise<void>>();
  const limit = Math.max(1, o.concurrency ?? 3);
  const announced = new Set<number>();
  const settled = (r: string) => results.has(r);
  while (pending.length > 0 || running.size > 0) {
    // Dependents of a release that did not end well are never started; repeated so that it reaches their
    // dependents too.
    for (let changed = true; changed;) {
      changed = false;
      for (const c of [...pending]) {
        const bad = depsOf(c).find((d) => inSelection.has(d) && settled(d) && !okOutcome(results.get(d)));
        if (bad === undefined) continue;
        pending.splice(pending.indexOf(c), 1);
        const b = results.get(bad);
        const failed = b?.outcome === 'failed' || b?.dependencyFailed === true;
        notStarted(c, bad, `dependency ${bad} ${b?.outcome === 'failed' ? 'failed' : 'was not started'}`, failed);
        changed = true;
      }
    }
    const startable = pending.filter((c) => depsOf(c).every((d) => !inSelection.has(d) || okOutcome(results.get(d))));
    for (const c of startable) {
      if (running.size >= limit) break;
      pending.splice(pending.indexOf(c), 1);
      const level = levelOf.get(c.release) ?? 0;
      if (!announced.has(level)) {
        announced.add(level);
        emit({
          type: 'level',
          level,
          releases: selected.filter((x) => levelOf.get(x.release) === level).map((x) => x.release),
        });
      }
      const p = runOne(c)
        .catch((err: unknown) => {
          const reason = err instanceof Error ? err.message : String(err);
          const action = decided.get(c.release) ?? 'upgrade';
          emit({
            type: 'failed',
            ...base(c),
            action: action === 'none' ? 'upgrade' : action,
            ms: 0,
            reason,
            hooks: [],
          });
          results.set(c.release, { ...base(c), outcome: 'failed', reason });
        })
        .finally(() => running.delete(c.release));
      running.set(c.release, p);
    }
    if (running.size === 0) {
      // A validated plan has no cycles: nothing can be left here.
      if (pending.length > 0)
        throw new Error(`deploy: no release can start: ${pending.map((c) => c.release).join(', ')}`);
      break;
    }
    await Promise.race(running.values());
  }
  const ordered = selected.map((c) => results.get(c.release) as ReleaseOutcome);
  const names = (x: Outcome) => ordered.filter((r) => r.outcome === x).map((r) => r.release);
  const ok = ordered.every(okOutcome);
  emit({
    type: 'summary',
    ok,
    deployed: names('deployed'),
    unchanged: names('unchanged'),
    failed: names('failed'),
    notStarted: names('not-started'),
    ms: now() - t0,
  });
  return { ok, results: ordered };
}

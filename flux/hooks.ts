/**
 * How long a release's hook Jobs may run, from the chart's `global.hooks` values: the HelmRelease `spec.timeout`
 * must stay above the longest of them. Helm bounds each hook's wait with the timeout on its own (helm v4.2.4,
 * the Helm of helm-controller 1.6.4: pkg/action/hooks.go:76-120, one `WatchUntilReady(resources, timeout)` per hook) and, separately, the wait for the
 * release's resources; it is not a budget shared by them, so summing the deadlines only held dependents back.
 *
 * The Jobs' `activeDeadlineSeconds` are `timeout + deadlineMarginSeconds` (charts/master-chart/templates/
 * _helpers.tpl, "ht.deadline"). We count every hook Job the chart may run for a release, not only the ones the
 * current values render, so the bound stays an upper bound when values change (e.g. a dependency check appears
 * when a service dependency is configured).
 */
import { mergeValues } from '../plan/metadata.js';
import type { Values } from '../plan/plan.js';

export interface HookSettings {
  readonly enabled: boolean;
  readonly autoInstallCRDs: boolean;
  readonly deadlineMarginSeconds: number;
  readonly timeouts: {
    readonly crdCheck: number;
    readonly crdInstall: number;
    readonly dependencyCheck: number;
    readonly podCheck: number;
  };
}

/**
 * Used when the chart has no `global.hooks` values (a chart without our hooks, or fields missing): the master
 * chart's own defaults, so a chart that does not say otherwise gets the same budget as the master chart.
 */
export const DEFAULT_HOOK_SETTINGS: HookSettings = {
  enabled: true,
  autoInstallCRDs: false,
  deadlineMarginSeconds: 30,
  timeouts: { crdCheck: 120, crdInstall: 240, dependencyCheck: 240, podCheck: 240 },
};

/** Time Helm needs besides the hooks: waiting for the release's own resources (Helm's default `--timeout`). */
export const WAIT_BUDGET_SECONDS = 300;

export interface HookDeadline {
  readonly hook: string;
  readonly seconds: number;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const obj = (v: unknown): Obj => (isObj(v) ? v : {});
const num = (v: unknown, fallback: number) => (typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : fallback);
const bool = (v: unknown, fallback: boolean) => (typeof v === 'boolean' ? v : fallback);

/** Hook settings of one release: the chart's values.yaml overlaid with the values the release is installed with. */
export function hookSettings(chartValues: Values | undefined, releaseValues: Values): HookSettings {
  const values = mergeValues(chartValues ?? {}, releaseValues);
  const global = obj(values.global);
  const hooks = obj(global.hooks);
  const timeouts = obj(hooks.timeouts);
  const d = DEFAULT_HOOK_SETTINGS;
  return {
    enabled: bool(hooks.enabled, d.enabled),
    autoInstallCRDs: bool(global.autoInstallCRDs, d.autoInstallCRDs),
    deadlineMarginSeconds: num(hooks.deadlineMarginSeconds, d.deadlineMarginSeconds),
    timeouts: {
      crdCheck: num(timeouts.crdCheck, d.timeouts.crdCheck),
      crdInstall: num(timeouts.crdInstall, d.timeouts.crdInstall),
      dependencyCheck: num(timeouts.dependencyCheck, d.timeouts.dependencyCheck),
      podCheck: num(timeouts.podCheck, d.timeouts.podCheck),
    },
  };
}

/** activeDeadlineSeconds of every hook Job the master chart may run for a release with these values. */
export function hookDeadlines(chartValues: Values | undefined, releaseValues: Values): HookDeadline[] {
  const s = hookSettings(chartValues, releaseValues);
  if (!s.enabled) return [];
  const merged = mergeValues(chartValues ?? {}, releaseValues);
  const crd = (s.autoInstallCRDs ? s.timeouts.crdInstall : s.timeouts.crdCheck) + s.deadlineMarginSeconds;
  const list: HookDeadline[] = [{ hook: 'pre-crd-check', seconds: crd }];
  // The kyverno component runs a second CRD check with its own profile (hook-crd-check.yaml).
  if (obj(merged.kyverno).enabled === true) list.push({ hook: 'kyverno-crd-check', seconds: crd });
  list.push({ hook: 'pre-install-check', seconds: s.timeouts.dependencyCheck + s.deadlineMarginSeconds });
  list.push({ hook: 'post-install-check', seconds: s.timeouts.podCheck + s.deadlineMarginSeconds });
  return list;
}

/**
 * The HelmRelease timeout in seconds: above the longest hook deadline (a Job ends by its deadline before Helm gives
 * up on it) and at least the resource wait, in whole minutes.
 */
export function releaseTimeoutSeconds(deadlines: readonly HookDeadline[]): number {
  const longest = deadlines.reduce((max, d) => Math.max(max, d.seconds), 0);
  return Math.max(WAIT_BUDGET_SECONDS, (Math.floor(longest / 60) + 1) * 60);
}

/** A Go duration as Flux writes them (`17m`, `1h5m`). */
export function goDuration(seconds: number): string {
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  return `${h > 0 ? `${h}h` : ''}${m > 0 ? `${m}m` : ''}${s > 0 || seconds === 0 ? `${s}s` : ''}`;
}

// Scenario: how simulated pods behave (per component, by label selector), which images map to local commands,
// and bare pods to create at start. A plain object or a YAML/JSON file.
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { matchRequirements, parseLabelSelector } from './selectors.js';
import type { Obj } from './types.js';

/**
 * `none`: the kubelet never touches matching pods (they stay Pending with no status): cheap bulk data.
 * `initCrashLoop`: an init container exits non-zero and is restarted with back-off (phase Pending, kubectl shows
 * `Init:CrashLoopBackOff`). `evicted`: the pod runs Ready, then the kubelet evicts it under memory pressure (phase
 * Failed, reason Evicted); its controller creates a replacement. `readinessProbeFailing`: the container runs but never
 * becomes Ready (Warning `Unhealthy` events, `Readiness probe failed: ...`).
 */
export type Behavior =
  | 'none'
  | 'ready'
  | 'crashLoop'
  | 'imagePullBackOff'
  | 'createContainerConfigError'
  | 'unschedulable'
  | 'oomKilled'
  | 'initCrashLoop'
  | 'evicted'
  | 'readinessProbeFailing';

export interface ComponentBehavior {
  /** Label selector string (set-based syntax) or a map of labels. */
  selector: string | Record<string, string>;
  namespace?: string;
  behavior: Behavior;
  /**
   * crashLoop/oomKilled/initCrashLoop: crash this many times, then run (the init container: complete) and become
   * ready. Omitted = crash forever.
   */
  crashes?: number;
  /**
   * Only the first N pods that match misbehave; pods created later (replacements after an eviction or a rollout
   * restart) run normally. Models a transient fault, e.g. pods started before their dependency was reachable and
   * now stuck in a long back-off: only a restart helps.
   */
  firstPods?: number;
  /**
   * Only this container misbehaves (default: every container). initCrashLoop: the init container that fails (default:
   * the first one; a pod without init containers starts normally).
   */
  container?: string;
  /** Log text of the running container. */
  logs?: string;
  /** Log text of the previous (terminated) container. */
  previousLogs?: string;
  /**
   * Waiting/event message override (e.g. `secret "db-pass" not found`); evicted: the eviction message;
   * readinessProbeFailing: the probe output after `Readiness probe failed: `.
   */
  message?: string;
  /** Exit code of a crash (default 1; OOMKilled uses 137); initCrashLoop: of the init container. */
  exitCode?: number;
  /**
   * The container ignores SIGTERM: a deleted or evicted pod stays Terminating for its whole grace period
   * (`deletionGracePeriodSeconds`) before the kubelet kills it and the pod is gone. Default: it stops at once
   * (`terminate` ms).
   */
  ignoreSigterm?: boolean;
}

export interface BarePod {
  name: string;
  namespace?: string;
  labels?: Record<string, string>;
  image?: string;
}

export interface Scenario {
  /** Image name (exact, or without tag) → argv of the local command that "is" the image. */
  images?: Record<string, string[]>;
  /** Extra environment for every pod process. */
  env?: Record<string, string>;
  components?: ComponentBehavior[];
  /** Pods without a controller, created at start. */
  barePods?: BarePod[];
  /** Default log text of running containers. */
  defaultLogs?: string;
}

export function loadScenario(s: Scenario | string | undefined): Scenario {
  if (!s) return {};
  if (typeof s !== 'string') return s;
  const text = readFileSync(s, 'utf8');
  return (parse(text, { version: '1.1' }) as Scenario | null) ?? {};
}

export function behaviorFor(sc: Scenario, pod: Obj): ComponentBehavior | undefined {
  for (const c of sc.components ?? []) {
    if (c.namespace && c.namespace !== pod.metadata?.namespace) continue;
    const reqs =
      typeof c.selector === 'string'
        ? parseLabelSelector(c.selector)
        : Object.entries(c.selector).map(([key, v]) => ({ key, op: '=' as const, values: [v] }));
    if (matchRequirements(reqs, pod.metadata?.labels)) return c;
  }
  return undefined;
}

export function commandFor(sc: Scenario, image: string): string[] | undefined {
  const m = sc.images ?? {};
  if (m[image]) return m[image];
  const noDigest = image.split('@')[0]!;
  const noTag = noDigest.replace(/:[^/:]+$/, '');
  return m[noDigest] ?? m[noTag];
}

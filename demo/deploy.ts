/**
 * The deploy driver: installs a plan into a cluster the way Flux's helm-controller would. A release starts only
 * once every release it depends on has been installed and is Ready (HelmRelease `dependsOn`: Helm returned success,
 * which means its resources passed `--wait` and its hooks — CRD check, dependency check, post-install check —
 * succeeded); independent releases run in parallel, bounded. Every Helm call goes through the post-renderer
 * (Helm 3 executable, Helm 4 `postrenderer/v1` plugin) with `--plan` and `--release`, and every release gets the
 * values `releaseValues(plan, release)` computes, so the demo, the tests and the Flux resources install the same thing.
 *
 * Pure-ish: the process runner, the logger and the clock come in as parameters.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ExecResult, HelmMajor } from '../core/helm.js';
import { mergeValues, releaseValues } from '../plan/metadata.js';
import { findComponent, planLevels, type Component, type Plan, type Values } from '../plan/plan.js';

export type Runner = (file: string, args: readonly string[], env: Record<string, string>) => Promise<ExecResult>;

export interface DeployOptions {
  readonly plan: Plan;
  /** Absolute path of the plan file (the post-renderer reads it). */
  readonly planPath: string;
  /** Absolute path of the chart every release installs (the plan's `chart`, resolved). */
  readonly chartPath: (c: Component) => string;
  readonly kubeconfig: string;
  readonly major: HelmMajor;
  readonly helm: string;
  /** Isolated Helm environment (for Helm 4: the `tiers` plugin already installed there). */
  readonly helmEnv: Record<string, string>;
  /** `--post-renderer` value: the executable (Helm 3) or the plugin name (Helm 4). */
  readonly postRenderer: string;
  /** Where the values files are written. */
  readonly workDir: string;
  readonly run: Runner;
  readonly log: (line: string) => void;
  readonly now?: () => number;
  /** Releases to deploy (default: all). Dependencies outside the selection must already be deployed. */
  readonly releases?: readonly string[];
  /** Releases installed at once (default 3). */
  readonly concurrency?: number;
  /** Helm `--timeout` in seconds (default 120). */
  readonly timeoutSeconds?: number;
  /** Values merged over `releaseValues(plan, release)` (e.g. `global.autoInstallCRDs`). */
  readonly overlay?: (c: Component) => Values | undefined;
  /**
   * Whether Helm waits for the release's resources before its post-install hooks (default: yes, as a HelmRelease
   * does). `false` = Flux's `disableWait`: the post-install check becomes the readiness gate (the only way it can see
   * a pod that never gets Ready: with `--wait`, Helm times out before post-install hooks run).
   */
  readonly wait?: (c: Component) => boolean;
}

export type Action = 'install' | 'upgrade' | 'reinstall';

export interface ReleaseResult {
  readonly release: string;
  readonly tier: number;
  readonly level: number;
  /** `skipped`: a dependency failed, so (like Flux) the release was never attempted. */
  readonly status: 'deployed' | 'failed' | 'skipped';
  readonly action?: Action;
  /** Clock readings (`now()`) when the release was started and when Helm returned. */
  readonly startedAt: number;
  readonly finishedAt: number;
  readonly ms: number;
  readonly stdout: string;
  readonly stderr: string;
  /** Why it failed or was skipped (first lines of Helm's error, or the failed dependency). */
  readonly reason?: string;
}

export interface DeployResult {
  readonly ok: boolean;
  readonly results: ReleaseResult[];
}

interface ReleaseState {
  status: string;
  /** Some revision reached `deployed` (or `superseded`): an upgrade is possible. */
  everDeployed: boolean;
}

/** Level of each release (index into planLevels). */
export function levelOf(plan: Plan): Map<string, number> {
  const m = new Map<string, number>();
  planLevels(plan).forEach((level, i) => {
    for (const c of level) m.set(c.release, i);
  });
  return m;
}

/**
 * Helm's error, trimmed to what a person reads first: the `Error:` line and its indented details. (Helm 4 also
 * prints the failed hook's whole log as a `level=INFO msg="..."` line before it; the hook's log is shown apart.)
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

export class Deployer {
  private readonly now: () => number;
  constructor(private readonly o: DeployOptions) {
    this.now = o.now ?? Date.now;
  }

  private helm(args: readonly string[]): Promise<ExecResult> {
    return this.o.run(this.o.helm, args, { ...this.o.helmEnv, KUBECONFIG: this.o.kubeconfig });
  }

  /** What Helm has recorded for the release (undefined: never installed). */
  async state(c: Component): Promise<ReleaseState | undefined> {
    const r = await this.helm(['history', c.release, '-n', c.namespace, '-o', 'json', '--max', '20']);
    if (r.code !== 0) return undefined; // "release: not found"
    const revs = JSON.parse(r.stdout || '[]') as { status: string }[];
    if (revs.length === 0) return undefined;
    return {
      status: revs[revs.length - 1]?.status ?? 'unknown',
      everDeployed: revs.some((x) => x.status === 'deployed' || x.status === 'superseded'),
    };
  }

  valuesFor(c: Component): Values {
    const base = releaseValues(this.o.plan, c.release);
    const extra = this.o.overlay?.(c);
    return extra ? mergeValues(base, extra) : base;
  }

  /** Installs or upgrades one release; never throws for a Helm failure. */
  async deployRelease(c: Component, level: number, onStart?: (action: Action) => void): Promise<ReleaseResult> {
    const started = this.now();
    const valuesFile = join(this.o.workDir, `${c.release}-${this.major()}-${started}.values.json`);
    writeFileSync(valuesFile, `${JSON.stringify(this.valuesFor(c), null, 2)}\n`);
    const prev = await this.state(c);
    // A first install that failed has nothing to upgrade from: like helm-controller's install remediation,
    // uninstall it and install again.
    const action: Action = prev?.everDeployed ? 'upgrade' : prev ? 'reinstall' : 'install';
    onStart?.(action);
    if (action === 'reinstall')
      await this.helm(['uninstall', c.release, '-n', c.namespace, '--wait', '--timeout', '60s']);
    const timeout = `${this.o.timeoutSeconds ?? 120}s`;
    const wait = this.o.wait?.(c) ?? true;
    const args = [
      action === 'upgrade' ? 'upgrade' : 'install',
      c.release,
      this.o.chartPath(c),
      '-n',
      c.namespace,
      '--create-namespace',
      '-f',
      valuesFile,
      ...(wait ? ['--wait'] : []),
      '--timeout',
      timeout,
      '--post-renderer',
      this.o.postRenderer,
      `--post-renderer-args=--plan=${this.o.planPath}`,
      `--post-renderer-args=--release=${c.release}`,
    ];
    const r = await this.helm(args);
    const finishedAt = this.now();
    const base = {
      release: c.release,
      tier: c.tier,
      level,
      action,
      startedAt: started,
      finishedAt,
      ms: finishedAt - started,
      stdout: r.stdout,
      stderr: r.stderr,
    };
    return r.code === 0 ? { ...base, status: 'deployed' } : { ...base, status: 'failed', reason: errorHead(r.stderr) };
  }

  private major(): string {
    return `h${this.o.major}`;
  }

  /** Deploys the selected releases in dependency order (Flux `dependsOn`), `concurrency` at a time. */
  async deploy(): Promise<DeployResult> {
    const { plan, log } = this.o;
    const levels = levelOf(plan);
    const selected = (this.o.releases ?? plan.components.map((c) => c.release)).map((r) => findComponent(plan, r));
    const inSelection = new Set(selected.map((c) => c.release));
    const depsOf = (c: Component) =>
      c.dependsOn.map((d) => findComponent(plan, d).release).filter((r) => inSelection.has(r));
    const results = new Map<string, ReleaseResult>();
    const running = new Map<string, Promise<void>>();
    const limit = Math.max(1, this.o.concurrency ?? 3);
    const announced = new Set<number>();

    const pending = [...selected].sort((a, b) => (levels.get(a.release) ?? 0) - (levels.get(b.release) ?? 0));
    while (pending.length > 0 || running.size > 0) {
      // Releases whose dependencies failed are never attempted (a HelmRelease waits on a not-Ready dependency);
      // repeated until nothing changes, so that a skip reaches the dependents of the skipped release too.
      for (let changed = true; changed;) {
        changed = false;
        for (let i = pending.length - 1; i >= 0; i--) {
          const c = pending[i] as Component;
          const bad = depsOf(c).find((d) => results.get(d) && results.get(d)?.status !== 'deployed');
          if (bad) {
            pending.splice(i, 1);
            const reason = `dependency ${bad} is not ready`;
            log(`  - ${c.release.padEnd(16)} tier ${c.tier}  skipped: ${reason}`);
            results.set(c.release, {
              release: c.release,
              tier: c.tier,
              level: levels.get(c.release) ?? 0,
              status: 'skipped',
              startedAt: this.now(),
              finishedAt: this.now(),
              ms: 0,
              stdout: '',
              stderr: '',
              reason,
            });
            changed = true;
          }
        }
      }
      const ready = pending.filter((c) => depsOf(c).every((d) => results.get(d)?.status === 'deployed'));
      for (const c of ready) {
        if (running.size >= limit) break;
        pending.splice(pending.indexOf(c), 1);
        const level = levels.get(c.release) ?? 0;
        if (!announced.has(level)) {
          announced.add(level);
          const names = selected.filter((x) => levels.get(x.release) === level).map((x) => x.release);
          log(`Level ${level + 1}: ${names.join(', ')}`);
        }
        const deps = depsOf(c);
        const onStart = (action: Action) => {
          log(
            `  > ${c.release.padEnd(16)} tier ${c.tier}  helm ${this.o.major} ${action} started` +
              (deps.length ? ` (dependencies ready: ${deps.join(', ')})` : ''),
          );
        };
        const p = this.deployRelease(c, level, onStart).then((r) => {
          results.set(c.release, r);
          running.delete(c.release);
          const secs = (r.ms / 1000).toFixed(1);
          if (r.status === 'deployed') log(`  ✓ ${c.release.padEnd(16)} tier ${c.tier}  ${r.action} ok (${secs} s)`);
          else {
            log(`  ✗ ${c.release.padEnd(16)} tier ${c.tier}  ${r.action} FAILED (${secs} s)`);
            for (const line of (r.reason ?? '').split('\n')) log(`      ${line}`);
          }
        });
        running.set(c.release, p);
      }
      if (running.size === 0) {
        if (pending.length > 0) {
          // Cannot happen with a validated plan (no cycles); guard against a selection bug all the same.
          throw new Error(`deploy: no release can start: ${pending.map((c) => c.release).join(', ')}`);
        }
        break;
      }
      await Promise.race(running.values());
    }
    const ordered = selected.map((c) => results.get(c.release) as ReleaseResult);
    return { ok: ordered.every((r) => r.status === 'deployed'), results: ordered };
  }
}

export function deployPlan(o: DeployOptions): Promise<DeployResult> {
  return new Deployer(o).deploy();
}

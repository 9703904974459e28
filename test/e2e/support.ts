/**
 * End-to-end harness: a cluster (simulated, or the real control plane with the node agent; RBAC on) whose hook
 * image runs the built hook bundles, an isolated Helm 3 or Helm 4 from the one harness (core/helm.ts) with the
 * post-renderer, and `helm-tiers deploy`'s driver (cli/deploy/driver.ts) wired to them, its events kept.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createHelmHarness, exec, type HelmHarness, type HelmMajor } from '../../core/helm.js';
import { prepareCrds, sharedDir, type CrdSource } from '../../demo/crds.js';
import { deployPlan, type DeployEvent, type ReleaseOutcome } from '../../cli/deploy/driver.js';
import type { FailedHook, Tools } from '../../cli/deploy/state.js';
import { readChartValues } from '../../cli/flux-command.js';
import { CLUSTER_TIMING, clusterScenario, hookSettings } from '../../demo/env.js';
import { mergeValues } from '../../plan/metadata.js';
import { parsePlan, type Plan, type Values } from '../../plan/plan.js';
import { chartDir } from '../../plan/read.js';
import { planRevisionFromDisk } from '../../plan/revision.js';
import { startCluster, type Backend, type Cluster } from '../../cluster/index.js';
import { kubeBinDir } from '../../cluster/real/control-plane.js';
import type { ComponentBehavior } from '../../cluster/sim/scenario.js';

export const root = resolve(fileURLToPath(new URL('.', import.meta.url)), '../..');
export const planPath = join(root, 'plan.yaml');
export const plan: Plan = parsePlan(readFileSync(planPath, 'utf8'), planPath);
export const TIMEOUT = 90;
/**
 * Vitest limit of a test that installs releases: above Helm's own --timeout (which bounds each release), so that
 * a slow machine gets Helm's verdict instead of a test abandoned while its helm process keeps running.
 */
export const INSTALL_TIMEOUT_MS = 300_000;

/** Why the suites that install the real CRDs skip (undefined: ../shared is there). */
export const sharedMissing = existsSync(join(sharedDir(root), 'crds'))
  ? undefined
  : `${sharedDir(root)}/crds is absent: skipping the end-to-end suites (they install the real upstream CRDs from ../shared)`;

/** `npm test` builds first; a direct `vitest run` may not have. */
export async function ensureBuild(): Promise<void> {
  const need = [
    'dist/post-renderer.cjs',
    'dist/helm-plugin/tiers/plugin.yaml',
    'dist/hooks/crd-check.cjs',
    'dist/hooks/pod-check.cjs',
  ];
  if (need.every((f) => existsSync(join(root, f)))) return;
  const r = await exec(process.execPath, [join(root, 'scripts/build.mjs'), '--quiet'], { cwd: root });
  if (r.code !== 0) throw new Error(`build failed: ${r.stderr}`);
}

export interface E2E {
  cluster: Cluster;
  helm: HelmHarness;
  crds: CrdSource;
  work: string;
  kubectl(args: string[]): ReturnType<typeof exec>;
  helmCmd(args: string[]): ReturnType<typeof exec>;
  /** kubectl through a shell, for the seed's pipelines (`kubectl get crd | grep kyverno`). */
  sh(script: string): ReturnType<typeof exec>;
  deploy(opts?: DeployRequest): Promise<E2EDeploy>;
  stop(): Promise<void>;
}

export interface DeployRequest {
  /** `--only` (default: the whole plan). */
  readonly releases?: readonly string[];
  /** Releases installed without Helm's wait (plan `wait: false`, Flux disableWait). */
  readonly noWait?: readonly string[];
  /** `--values`: merged over every release's plan values (after the suite's hook settings). */
  readonly values?: Values;
}

/** One release of a deploy run, with what its events told. */
export interface E2ERelease extends ReleaseOutcome {
  /** When its first Helm action started and its last one ended (ms since the epoch). */
  readonly startedAt: number;
  readonly finishedAt: number;
  /** Helm actions run (2: a second render after its hooks installed its CRDs). */
  readonly actions: number;
  /** The failed hook Jobs the driver read (summary line, log command). */
  readonly failedHooks: readonly FailedHook[];
}

export interface E2EDeploy {
  readonly ok: boolean;
  readonly results: E2ERelease[];
  readonly events: readonly (DeployEvent & { at: number })[];
}

/**
 * Why the suites on the real backend skip (undefined: it is built). In CI a missing build fails them instead: the
 * suites call `requireBackend` in beforeAll.
 */
export const realMissing =
  kubeBinDir() === undefined ? 'the real control plane is not built (run `npm run setup:kube`)' : undefined;
export const skipBackend = (backend: Backend): string | undefined =>
  backend === 'real' && !process.env.CI ? realMissing : undefined;

export async function startE2E(
  major: HelmMajor,
  faults: ComponentBehavior[] = [],
  backend: Backend = 'sim',
): Promise<E2E> {
  if (backend === 'real' && realMissing) throw new Error(`CI: ${realMissing}`);
  await ensureBuild();
  const helm = await createHelmHarness({ root, major, prefix: `helm-tiers-e2e-helm-h${major}-` });
  const work = mkdtempSync(join(tmpdir(), `helm-tiers-e2e-h${major}-`));
  const cleanup = () => {
    rmSync(work, { recursive: true, force: true });
    helm.dispose();
  };
  let cluster: Cluster;
  let crds: CrdSource;
  try {
    crds = prepareCrds(root, work);
    cluster = await startCluster({
      backend,
      rbac: true,
      scenario: clusterScenario(root, crds.dir, faults),
      sim: { timing: CLUSTER_TIMING },
      agentTiming: { crash: CLUSTER_TIMING.crash },
    });
  } catch (err) {
    cleanup();
    throw err;
  }
  const onCluster = { env: { KUBECONFIG: cluster.kubeconfig } };
  const shEnv = {
    ...helm.env,
    KUBECONFIG: cluster.kubeconfig,
    PATH: `${dirname(helm.tools.kubectl)}:${helm.env.PATH}`,
  };
  return {
    cluster,
    helm,
    crds,
    work,
    kubectl: (args) => helm.kubectl(args, onCluster),
    helmCmd: (args) => helm.helm(args, onCluster),
    sh: (script) => exec('/bin/sh', ['-c', script], { env: shEnv }),
    deploy: async (opts = {}) => {
      const noWait = new Set(opts.noWait ?? []);
      const planned: Plan = {
        ...plan,
        components: plan.components.map((c) => (noWait.has(c.release) ? { ...c, wait: false as const } : c)),
      };
      const revision = planRevisionFromDisk(plan, planPath);
      const chartPath = (c: { chart: string }) => chartDir(planPath, c.chart);
      const events: (DeployEvent & { at: number })[] = [];
      const tools: Tools = {
        major,
        helm: (args) => helm.helm(args, onCluster),
        kubectl: (args) => helm.kubectl(args, onCluster),
      };
      const r = await deployPlan({
        plan: planned,
        planRevision: revision,
        chartPath,
        chartValues: (c) => readChartValues(join(chartPath(c), 'values.yaml')),
        tools,
        postRenderFlags: (c) =>
          helm.postRenderFlags(`--plan=${planPath}`, `--release=${c.release}`, `--plan-revision=${revision}`),
        workDir: work,
        emit: (e) => events.push({ ...e, at: Date.now() }),
        only: opts.releases,
        timeoutSeconds: TIMEOUT,
        values: mergeValues(hookSettings(TIMEOUT), opts.values ?? {}),
      });
      const of = (release: string) => events.filter((e) => 'release' in e && e.release === release);
      const results = r.results.map((x): E2ERelease => {
        const mine = of(x.release);
        const starts = mine.filter((e) => e.type === 'start');
        const ends = mine.filter((e) => e.type === 'deployed' || e.type === 'failed');
        return {
          ...x,
          startedAt: starts[0]?.at ?? NaN,
          finishedAt: ends.at(-1)?.at ?? NaN,
          actions: starts.length,
          failedHooks: mine.flatMap((e) => (e.type === 'failed' ? e.hooks : [])),
        };
      });
      return { ok: r.ok, results, events };
    },
    stop: async () => {
      await cluster.stop();
      cleanup();
    },
  };
}

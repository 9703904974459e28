/**
 * `npm start`: the example plan deployed end to end on the simulated cluster (no real cluster needed), with real
 * Helm (post-renderer plugin on Helm 4, executable on Helm 3), real kubectl, RBAC enforced and the hook Jobs running
 * the built hook programs. It shows the plan's levels, the CRD check stopping a platform release whose CRDs are
 * missing and then installing them, the deploy tier by tier as Flux would, a crash-looping API caught and remediated
 * by the post-install check, and the final state.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHelmHarness, exec, type HelmMajor } from '../core/helm.js';
import { mergeValues } from '../plan/metadata.js';
import { dependencyReleases, planLevels, type Component } from '../plan/plan.js';
import { readPlanFile } from '../plan/read.js';
import { startCluster, type Backend } from '../cluster/index.js';
import { prepareCrds } from './crds.js';
import { Deployer, type DeployOptions } from './deploy.js';
import { chartResolver, CLUSTER_TIMING, clusterScenario, crashingApi, hookSettings } from './env.js';

export interface DemoOptions {
  readonly root: string;
  readonly planPath: string;
  readonly major: HelmMajor;
  /** sim (the embedded default) or real (the control plane built by `npm run setup:kube`, with the node agent). */
  readonly backend?: Backend;
  readonly out: (text: string) => void;
  /** Use the embedded CRDs even when ../shared/crds exists. */
  readonly embeddedCrds?: boolean;
  readonly now?: () => number;
}

const TIMEOUT = 90;
const CRASHING = 'tier3-api';

/** The human lines of a hook log (tables, summary), without the JSON log records. */
export function humanLines(log: string): string[] {
  return log.split('\n').filter((l) => l.trim() !== '' && !l.startsWith('{'));
}

interface PodCheckRecord {
  msg?: string;
  pod?: string;
  class?: string;
  pods?: number | string[];
  unhealthy?: number;
  describe?: string;
  logs?: Record<string, string[]>;
}

/** The post-install check's log told briefly: what it saw, what it did, the verdict. */
export function podCheckStory(log: string): string[] {
  const out: string[] = [];
  for (const line of log.split('\n')) {
    if (!line.startsWith('{')) {
      if (line.startsWith('pod-check:')) out.push(line);
      continue;
    }
    let r: PodCheckRecord;
    try {
      r = JSON.parse(line) as PodCheckRecord;
    } catch {
      continue;
    }
    if (r.class && r.pod) {
      const restarts = /restarts=(\d+)/.exec(r.describe ?? '')?.[1];
      const prev = Object.entries(r.logs ?? {}).find(([k]) => k.endsWith('(previous)'))?.[1];
      const last = prev?.filter((l) => l.trim() !== '').at(-1);
      out.push(
        `unhealthy: ${r.pod} ${r.class}${restarts ? ` (restarts ${restarts})` : ''}${last ? `, previous log: ${last}` : ''}`,
      );
    } else if (r.msg && /^(rollout restart|evict)/.test(r.msg)) out.push(`remediation: ${r.msg}`);
    else if (r.msg === 'waiting for pods' && typeof r.pods === 'number')
      out.push(`waiting: ${r.pods} pods, ${r.unhealthy ?? 0} unhealthy`);
  }
  return out;
}

export async function runDemo(o: DemoOptions): Promise<number> {
  const now = o.now ?? Date.now;
  const started = now();
  const say = (s = '') => {
    o.out(`${s}\n`);
  };
  const step = (n: number, title: string) => {
    say();
    say(`── ${n}. ${title} ${'─'.repeat(Math.max(4, 72 - title.length))}`);
  };
  const plan = readPlanFile(o.planPath, process.cwd());
  const helm = await createHelmHarness({ root: o.root, major: o.major, prefix: `helm-tiers-demo-h${o.major}-` });
  const work = mkdtempSync(join(tmpdir(), 'helm-tiers-demo-'));
  const cleanup = () => {
    rmSync(work, { recursive: true, force: true });
    helm.dispose();
  };
  let cluster: Awaited<ReturnType<typeof startCluster>>;
  let crds: ReturnType<typeof prepareCrds>;
  try {
    crds = prepareCrds(o.root, work, { embedded: o.embeddedCrds });
    cluster = await startCluster({
      backend: o.backend ?? 'sim',
      rbac: true,
      scenario: clusterScenario(o.root, crds.dir, [crashingApi(CRASHING)]),
      sim: { timing: CLUSTER_TIMING },
      agentTiming: { crash: CLUSTER_TIMING.crash },
    });
  } catch (err) {
    cleanup();
    throw err;
  }
  const onCluster = { env: { KUBECONFIG: cluster.kubeconfig } };
  const kubectl = (args: string[]) => helm.kubectl(args, onCluster);
  const helmCmd = (args: string[]) => helm.helm(args, onCluster);
  const show = async (
    label: string,
    r: Promise<{ stdout: string; stderr: string }>,
    filter?: (l: string) => boolean,
  ) => {
    const res = await r;
    say(`$ ${label}`);
    const lines = (res.stdout + res.stderr).split('\n').filter((l) => l.trim() !== '' && (filter ? filter(l) : true));
    for (const l of lines) say(`  ${l}`);
  };
  const hookLog = async (job: string, pick: (lines: string[]) => string[] = (l) => l) => {
    const r = await kubectl(['logs', '-n', plan.namespace, `job/${job}`]);
    say(`$ kubectl logs -n ${plan.namespace} job/${job}`);
    for (const l of pick(humanLines(r.stdout + r.stderr))) say(`  ${l}`);
  };
  const deployer = (over: Partial<DeployOptions>) =>
    new Deployer({
      plan,
      planPath: o.planPath,
      chartPath: chartResolver(o.planPath),
      kubeconfig: cluster.kubeconfig,
      major: o.major,
      helm: helm.tools.helm,
      helmEnv: helm.env,
      postRenderer: helm.postRenderer,
      workDir: work,
      run: (file, args, env) => exec(file, args, { env }),
      log: say,
      now,
      timeoutSeconds: TIMEOUT,
      ...over,
      overlay: (c) => mergeValues(hookSettings(TIMEOUT), over.overlay?.(c) ?? {}),
    });

  const problems: string[] = [];
  const expectThat = (cond: boolean, what: string) => {
    if (!cond) {
      problems.push(what);
      say(`  !! unexpected: ${what}`);
    }
  };
  try {
    say(`helm-tiers demo: plan "${plan.name}" (${plan.components.length} releases) into namespace ${plan.namespace}`);
    say(
      `  ${cluster.backend === 'sim' ? 'simulated Kubernetes API server' : 'real Kubernetes control plane (etcd, kube-apiserver, controller-manager, scheduler; the node agent as kubelet)'} at ${cluster.url} with RBAC enforced; real Helm ${o.major === 3 ? '3.17.3 (post-renderer executable)' : '4.1.4 (post-renderer plugin "tiers")'} and kubectl ${o.major === 3 ? '1.31' : '1.34'}`,
    );
    say(
      `  hook Jobs (image ${Object.keys(clusterScenario(o.root, crds.dir).images ?? {})[0] ?? '?'}) run the built programs in dist/hooks/`,
    );
    say(`  CRDs for the installer: ${crds.note}`);

    step(1, 'The plan: what may deploy in parallel');
    for (const [i, level] of planLevels(plan).entries()) {
      say(`  level ${i + 1}:`);
      for (const c of level) {
        const deps = dependencyReleases(plan, c);
        say(
          `    ${c.release.padEnd(16)} tier ${c.tier}  ${deps.length ? `after ${deps.join(', ')}` : 'no dependencies'}` +
            (c.requiredCRDs.length ? `  (requires ${c.requiredCRDs.length} CRDs)` : ''),
        );
      }
    }

    const platform = plan.components.find((c) => c.requiredCRDs.length > 0 && c.dependsOn.length === 0);
    if (platform) {
      step(2, `CRD check: ${platform.release} with its CRDs missing and global.autoInstallCRDs=false`);
      const first = await deployer({ releases: [platform.release] }).deploy();
      expectThat(first.results[0]?.status === 'failed', `${platform.release} should fail its CRD check`);
      await hookLog(`${platform.release}-pre-crd-check`, (lines) =>
        lines.filter((l) => !/^\s+\(the manifests/.test(l)),
      );
    }

    step(
      3,
      'Deploy the plan tier by tier, as Flux would (dependsOn: each release only after its dependencies are Ready)',
    );
    say('  platform releases: global.autoInstallCRDs=true; every release: global.autoFixPods=true');
    say(`  ${CRASHING}: its pods crash-loop at start (the cache is not reachable yet); installed without --wait (Flux`);
    say('  disableWait) so that the post-install check, not a Helm timeout, judges them');
    const wantsCrds = (c: Component) => c.requiredCRDs.length > 0;
    const fluxLike: Partial<DeployOptions> = {
      overlay: (c) => ({ global: { autoFixPods: true, ...(wantsCrds(c) ? { autoInstallCRDs: true } : {}) } }),
      wait: (c) => c.release !== CRASHING,
    };
    const all = await deployer(fluxLike).deploy();
    expectThat(all.ok, 'every release should be deployed');
    say();
    if (platform) {
      say(`CRDs installed by ${platform.release}'s pre-crd-check (server-side apply):`);
      await hookLog(`${platform.release}-pre-crd-check`, (lines) =>
        lines.filter((l) => /applied|unchanged|^crd-check:/.test(l)),
      );
    }
    const kyverno = plan.components.find((c) => c.name === 'kyverno');
    if (kyverno) {
      say();
      say(`${kyverno.release}'s own CRD check (Kyverno 1.13+ profile):`);
      await hookLog(`${kyverno.release}-kyverno-crd-check`, (lines) => lines.filter((l) => l.startsWith('crd-check:')));
    }
    say();
    say(`The crash loop, caught and remediated by ${CRASHING}'s post-install check:`);
    const postLog = (await kubectl(['logs', '-n', plan.namespace, `job/${CRASHING}-post-install-check`])).stdout;
    say(`$ kubectl logs -n ${plan.namespace} job/${CRASHING}-post-install-check   (JSON records summarised)`);
    for (const l of podCheckStory(postLog)) say(`  ${l}`);
    expectThat(/CrashLoopBackOff/.test(postLog), 'the post-install check should have seen CrashLoopBackOff');
    expectThat(/auto-fix: .*restarted|evicted/.test(postLog), 'the post-install check should have restarted the pods');

    // Custom resources whose CRDs a hook installed are left out of that first install (Helm reads .Capabilities
    // before hooks run); the next reconcile (Flux's interval, or any upgrade) renders them.
    const guarded = plan.components.filter((c) => c.requiredCRDs.length > 0 || c.optionalCRDs.length > 0);
    step(4, `Next reconcile: upgrade ${guarded.map((c) => c.release).join(', ')} (now that the CRDs exist)`);
    say('  Helm reads .Capabilities before hooks run, so custom resources whose CRDs a hook installed appear now');
    const again = await deployer({ ...fluxLike, releases: guarded.map((c) => c.release) }).deploy();
    expectThat(again.ok, 'the upgrades should succeed');
    const crs = await kubectl([
      'get',
      'prometheuses,servicemonitors,prometheusrules',
      '-n',
      plan.namespace,
      '-o',
      'name',
    ]);
    expectThat(/prometheus/.test(crs.stdout), 'the Prometheus resource should exist after the upgrade');
    await show(
      `kubectl get prometheuses,servicemonitors,prometheusrules -n ${plan.namespace}`,
      kubectl(['get', 'prometheuses,servicemonitors,prometheusrules', '-n', plan.namespace]),
    );
    await show('kubectl get clusterpolicies', kubectl(['get', 'clusterpolicies']));

    step(5, 'Final state');
    await show(`kubectl get pods -n ${plan.namespace}`, kubectl(['get', 'pods', '-n', plan.namespace]));
    await show(`helm list -n ${plan.namespace}`, helmCmd(['list', '-n', plan.namespace]));
    await show(
      'kubectl get crd',
      kubectl(['get', 'crd']),
      (l) => l.startsWith('NAME') || /monitoring\.coreos\.com|kyverno\.io/.test(l),
    );
    await show(
      `kubectl get pods -n ${plan.namespace} -L helm-tiers.io/tier,helm-tiers.io/release -l '!helm-tiers.io/hook'`,
      kubectl([
        'get',
        'pods',
        '-n',
        plan.namespace,
        '-L',
        'helm-tiers.io/tier,helm-tiers.io/release',
        '-l',
        '!helm-tiers.io/hook',
      ]),
    );
  } finally {
    await cluster.stop();
    cleanup();
  }
  const ok = problems.length === 0;
  say();
  say(
    `${ok ? 'demo complete' : 'demo FAILED'}: cluster stopped after ${((now() - started) / 1000).toFixed(1)} s` +
      (ok ? '' : ' (see the lines marked !!)'),
  );
  return ok ? 0 : 1;
}

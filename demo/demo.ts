/**
 * `npm start`: the example plan deployed end to end on the simulated cluster (no real cluster needed) by
 * `helm-tiers deploy` itself, with real Helm (the CLI wires the post-renderer as Helm 4's plugin or Helm 3's
 * executable), real kubectl, RBAC enforced and the hook Jobs running the built hook programs. The story is told
 * through deploy's own output: the CRD check stopping a platform release whose CRDs are missing, then the plan
 * deployed by levels with the CRDs installed by the hooks (and the second render that brings the custom resources
 * they guard), a crash-looping API caught and remediated by its post-install check, and `helm-tiers status`.
 */
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseDocument, stringify } from 'yaml';
import { runDeploy, type CommandIO } from '../cli/deploy.js';
import { runStatus } from '../cli/status.js';
import { createHelmHarness, type HelmMajor } from '../core/helm.js';
import { mergeValues } from '../plan/metadata.js';
import { dependencyReleases, planLevels, type Plan } from '../plan/plan.js';
import { readPlanFile } from '../plan/read.js';
import { startCluster, type Backend } from '../cluster/index.js';
import { prepareCrds } from './crds.js';
import { CLUSTER_TIMING, clusterScenario, crashingApi, hookSettings } from './env.js';

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

/**
 * The demo's copy of the plan and its charts: the plan as written, except that the crashing API is installed
 * without Helm's wait (plan `wait: false`, Flux's disableWait), so that its post-install check, not a Helm timeout,
 * judges and fixes its pods. Chart paths stay relative to the plan, so the charts are copied beside it.
 */
function demoPlan(planPath: string, plan: Plan, work: string): string {
  const dir = join(work, 'plan');
  mkdirSync(dir, { recursive: true });
  for (const chart of new Set(plan.components.map((c) => c.chart)))
    cpSync(join(planPath, '..', chart), join(dir, chart), { recursive: true });
  const doc = parseDocument(readFileSync(planPath, 'utf8'));
  const index = plan.components.findIndex((c) => c.release === CRASHING);
  if (index >= 0) doc.setIn(['components', index, 'wait'], false);
  const out = join(dir, 'plan.yaml');
  writeFileSync(out, doc.toString());
  return out;
}

/** Text written by a command, said line by line as it comes (indented under the command line). */
function lineWriter(say: (s: string) => void) {
  let pending = '';
  let all = '';
  return {
    write(t: string) {
      all += t;
      pending += t;
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const l of lines) say(`  ${l}`);
      return true;
    },
    flush() {
      if (pending !== '') say(`  ${pending}`);
      pending = '';
      return all;
    },
  };
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
  let planPath: string;
  try {
    planPath = demoPlan(o.planPath, plan, work);
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
  const valuesFile = (name: string, values: Record<string, unknown>) => {
    const file = join(work, `${name}.yaml`);
    writeFileSync(file, stringify(mergeValues(hookSettings(TIMEOUT), values)));
    return file;
  };
  /** `helm-tiers <command> ...` as a user runs it: the command's own output, its exit code. */
  const command = async (run: (io: CommandIO) => Promise<number>, shown: string, argv: string[]) => {
    say(`$ helm-tiers ${shown}`);
    const out = lineWriter(say);
    const err = lineWriter(say);
    const code = await run({
      argv: [...argv, '--plan', planPath, '--helm', helm.tools.helm],
      cwd: work,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: work, KUBECONFIG: cluster.kubeconfig },
      root: o.root,
      stdout: out,
      stderr: err,
    });
    const text = out.flush() + err.flush();
    say(`  (exit ${code})`);
    return { code, text };
  };

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
    say(`  ${CRASHING}: its pods crash-loop at start; the demo's copy of the plan gives it \`wait: false\` (Flux`);
    say('  disableWait), so that its post-install check, not a Helm timeout, judges them');

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
      const plain = valuesFile('hooks', {});
      const first = await command(
        runDeploy,
        `deploy --only ${platform.release} --values hooks.yaml --timeout ${TIMEOUT}s`,
        ['--only', platform.release, '--values', plain, '--timeout', `${TIMEOUT}s`],
      );
      expectThat(first.code === 2, `deploy --only ${platform.release} should exit 2 (its CRD check fails)`);
      await hookLog(`${platform.release}-pre-crd-check`, (lines) =>
        lines.filter((l) => !/^\s+\(the manifests/.test(l)),
      );
    }

    step(3, 'Deploy the plan by levels: each release only after its dependencies are Ready at the plan revision');
    say('  every release: global.autoInstallCRDs=true (the CRD checks install what is missing, server-side apply)');
    say('  and global.autoFixPods=true (the post-install checks restart pods a restart can fix)');
    const auto = valuesFile('auto', { global: { autoInstallCRDs: true, autoFixPods: true } });
    const all = await command(runDeploy, `deploy --values auto.yaml --timeout ${TIMEOUT}s`, [
      '--values',
      auto,
      '--timeout',
      `${TIMEOUT}s`,
    ]);
    expectThat(all.code === 0, 'every release should be deployed (exit 0)');
    // Helm reads .Capabilities before any hook runs: the custom resources whose CRDs a hook installed come with
    // the one more upgrade deploy runs at once (a "second render").
    for (const c of plan.components.filter((x) => x.requiredCRDs.length > 0))
      expectThat(
        new RegExp(`${c.release}\\s+tier \\d+\\s+upgrade started \\(again:`).test(all.text),
        `${c.release} should get its second render`,
      );
    say();
    if (platform) {
      // The run that installed them was replaced by the second render's (before-hook-creation).
      say(`${platform.release}'s pre-crd-check of the second render: the CRDs its first run installed are in place`);
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
    say();
    say('The custom resources guarded by .Capabilities, rendered by the second render:');
    const crs = await kubectl(['get', 'prometheuses', '-n', plan.namespace, '-o', 'name']);
    expectThat(/prometheus/.test(crs.stdout), 'the Prometheus resource should exist after the second render');
    await show(
      `kubectl get prometheuses,servicemonitors,prometheusrules -n ${plan.namespace}`,
      kubectl(['get', 'prometheuses,servicemonitors,prometheusrules', '-n', plan.namespace]),
    );
    await show('kubectl get clusterpolicies', kubectl(['get', 'clusterpolicies']));

    step(4, 'Nothing changed: a rerun performs no Helm action');
    const again = await command(runDeploy, `deploy --values auto.yaml --timeout ${TIMEOUT}s`, [
      '--values',
      auto,
      '--timeout',
      `${TIMEOUT}s`,
    ]);
    expectThat(
      again.code === 0 && !/> \S+\s+tier \d+\s+\w+ started/.test(again.text),
      'the rerun should start no Helm action',
    );

    step(5, 'Final state');
    const st = await command(runStatus, 'status', []);
    expectThat(st.code === 0, 'status should exit 0 (every release Ready at the plan revision)');
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

/**
 * `helm-tiers status --watch` on the simulated cluster (Helm 3), with an injected sleep that changes the cluster
 * between two reads:
 *   - on a terminal: the table is redrawn in place (cursor up over exactly the previous table) only when it
 *     changed; the release is deployed during the watch by `helm-tiers deploy` on a terminal too (its live table);
 *     exit 0 once every release is Ready,
 *   - elsewhere: a new snapshot only when it changed, no ANSI; a release whose pods crash-loop (installed during the
 *     watch through the Helm harness) ends the watch with exit 4.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { startCluster, type Cluster } from '../../cluster/index.js';
import { createHelmHarness, toolchainPaths, type HelmHarness } from '../../core/helm.js';
import { clusterScenario, hookSettings } from '../../demo/env.js';
import { readChartValues } from '../../cli/flux-command.js';
import { runDeploy } from '../../cli/deploy.js';
import { runStatus } from '../../cli/status.js';
import { installValues } from '../../flux/generate.js';
import { mergeValues } from '../../plan/metadata.js';
import { parsePlan } from '../../plan/plan.js';
import { planRevisionFromDisk } from '../../plan/revision.js';
import { ensureBuild, root } from '../e2e/support.js';

const ESC = '\x1b';
const REDRAW = new RegExp(`${ESC}\\[(\\d+)F${ESC}\\[J`, 'g');
const OK_NS = 'watch-ok';
const BROKEN_NS = 'watch-broken';
const RELEASE = 'tier1-database';

/** A one-release plan (status exits 0 only when every release of the plan is Ready). */
const planYaml = (ns: string) =>
  stringify({
    apiVersion: 'helm-tiers.io/v1alpha1',
    kind: 'DeploymentPlan',
    name: 'watch',
    namespace: ns,
    labelPrefix: 'helm-tiers.io/',
    chart: './charts/master-chart',
    crds: { autoInstall: false },
    components: [
      { name: 'database', release: RELEASE, tier: 1, dependsOn: [], values: { database: { enabled: true } } },
    ],
  });

describe('helm-tiers status --watch on the sim cluster', () => {
  let cluster: Cluster;
  let work = '';
  let okPlan = '';
  let brokenPlan = '';
  let shortValues = '';
  const helmBin = toolchainPaths(root, 3).helm;
  const env = () => ({ PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: work, KUBECONFIG: cluster.kubeconfig });

  /** Runs a command in-process; `tty`: stdout is a terminal 200 columns wide. */
  const cli = async (
    run: typeof runStatus,
    argv: string[],
    o: { tty?: boolean; sleep?: (ms: number) => Promise<unknown> } = {},
  ) => {
    let out = '';
    let err = '';
    const stdout = { write: (t: string) => (out += t), ...(o.tty ? { isTTY: true, columns: 200 } : {}) };
    const code = await run({
      argv: [...argv, '--helm', helmBin],
      cwd: root,
      env: env(),
      root,
      stdout,
      stderr: { write: (t: string) => (err += t) },
      sleep: o.sleep,
    });
    return { code, out, err };
  };

  beforeAll(async () => {
    await ensureBuild();
    work = mkdtempSync(join(tmpdir(), 'helm-tiers-status-watch-'));
    const crash = {
      selector: `helm-tiers.io/release=${RELEASE},!helm-tiers.io/hook`,
      namespace: BROKEN_NS,
      behavior: 'crashLoop' as const,
      previousLogs: 'FATAL cannot open /data: permission denied\n',
    };
    // No CRD is installed in this suite: the installer's folder is only named.
    cluster = await startCluster({
      backend: 'sim',
      rbac: true,
      scenario: clusterScenario(root, work, [crash]),
      sim: { timing: { crash: 300 } },
    });
    // A snapshot of the chart: the plan revision must not move while the suite runs (the tree is shared).
    cpSync(join(root, 'charts/master-chart'), join(work, 'charts/master-chart'), { recursive: true });
    okPlan = join(work, 'plan.yaml');
    writeFileSync(okPlan, planYaml(OK_NS));
    brokenPlan = join(work, 'broken-plan.yaml');
    writeFileSync(brokenPlan, planYaml(BROKEN_NS));
    shortValues = join(work, 'short.yaml');
    writeFileSync(shortValues, stringify(hookSettings(60)));
  });
  afterAll(async () => {
    if (cluster as Cluster | undefined) await cluster.stop();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('on a terminal: redraws in place when the table changed, exit 0 once every release is Ready', async () => {
    let sleeps = 0;
    let deploy: { code: number; out: string; err: string } | undefined;
    const r = await cli(runStatus, ['--plan', okPlan, '--watch', '--interval', '0.2', '--output', 'text'], {
      tty: true,
      // Read 1 and 2: not installed (the same table: no redraw); deployed before read 3.
      sleep: async () => {
        sleeps++;
        if (sleeps === 2)
          deploy = await cli(runDeploy, ['--plan', okPlan, '--values', shortValues, '--timeout', '60s'], {
            tty: true,
          });
        if (sleeps > 5) throw new Error('status --watch did not end');
      },
    });
    expect(r.code, r.out + r.err).toBe(0);
    expect(sleeps).toBe(2);
    const redraws = [...r.out.matchAll(REDRAW)];
    expect(redraws.length, r.out).toBe(1);
    const [first, second] = r.out.split(redraws[0]![0]);
    expect(first).toMatch(/^plan watch at revision [0-9a-f]{16}: NOT READY\n/);
    expect(first).toMatch(new RegExp(`${RELEASE}\\s+1\\s+-\\s+not installed\\s+-\\s+False\\n\\s+not installed`));
    // Up exactly the rows of the table it replaces (200 columns: no line wraps).
    expect(Number(redraws[0]![1])).toBe(first!.split('\n').length - 1);
    expect(second).toMatch(/^plan watch at revision [0-9a-f]{16}: Ready\n/);
    expect(second).toMatch(new RegExp(`${RELEASE}\\s+1\\s+1\\s+deployed\\s+[0-9a-f]{16}\\s+True`));

    // deploy on a terminal: the live table, redrawn, then the summary as a plain last line.
    expect(deploy?.code, (deploy?.out ?? '') + (deploy?.err ?? '')).toBe(0);
    const d = deploy!.out;
    expect(d).toMatch(/^plan watch at revision [0-9a-f]{16}\nRELEASE\s+TIER\s+ACTION\s+ELAPSED\s+HOOK\s+RESULT\n/);
    expect([...d.matchAll(REDRAW)].length).toBeGreaterThan(0);
    const lastFrame = d.slice(d.lastIndexOf(`${ESC}[J`) + 3);
    expect(lastFrame).toMatch(
      new RegExp(`  ${RELEASE}\\s+1\\s+install\\s+\\d+\\.\\ds\\s+-\\s+deployed \\(Helm revision 1\\)`),
    );
    expect(lastFrame.trimEnd().split('\n').at(-1)).toMatch(
      /^done: 1 deployed, 0 unchanged, 0 failed, 0 not started in \d+\.\ds$/,
    );
  }, 180_000);

  it('elsewhere: a snapshot only when it changed, exit 4 when a release failed', async () => {
    const plan = parsePlan(readFileSync(brokenPlan, 'utf8'), brokenPlan);
    const revision = planRevisionFromDisk(plan, brokenPlan);
    const component = plan.components[0]!;
    const chart = join(work, 'charts/master-chart');
    const values = join(work, 'broken-values.json');
    writeFileSync(
      values,
      JSON.stringify(
        mergeValues(
          installValues(plan, component, readChartValues(join(chart, 'values.yaml')), revision).values,
          hookSettings(60),
        ),
      ),
    );
    const harness: HelmHarness = await createHelmHarness({
      root,
      major: 3,
      kubeconfig: cluster.kubeconfig,
      prefix: 'status-watch-',
    });
    try {
      let sleeps = 0;
      const r = await cli(runStatus, ['--plan', brokenPlan, '--watch', '--interval', '0.2'], {
        // Read 1 and 2: not installed; installed (no hooks, no wait: its pods start crashing) before read 3.
        sleep: async () => {
          sleeps++;
          if (sleeps === 2) {
            const h = await harness.helm([
              'install',
              RELEASE,
              chart,
              '-n',
              BROKEN_NS,
              '--create-namespace',
              '--no-hooks',
              '-f',
              values,
              ...harness.postRenderFlags(`--plan=${brokenPlan}`, `--release=${RELEASE}`, `--plan-revision=${revision}`),
            ]);
            expect(h.code, h.stderr).toBe(0);
          }
          if (sleeps > 150) throw new Error('status --watch did not end');
          if (sleeps > 2) await delay(200);
        },
      });
      expect(r.code, r.out + r.err).toBe(4);
      expect(r.out).not.toContain(ESC);
      const snapshots = r.out.split(/\n(?=plan watch at revision)/);
      // Three reads or more, and the two identical first ones printed once.
      expect(sleeps).toBeGreaterThanOrEqual(2);
      expect(snapshots.length).toBeLessThan(sleeps + 1);
      expect(snapshots.filter((s) => /not installed/.test(s)).length).toBe(1);
      for (let i = 1; i < snapshots.length; i++) expect(snapshots[i]).not.toBe(snapshots[i - 1]);
      expect(snapshots[0]).toMatch(/: NOT READY\n/);
      expect(snapshots.at(-1)).toMatch(new RegExp(`pod/[a-z0-9-]+: CrashLoopBackOff`));
    } finally {
      harness.dispose();
    }
  }, 180_000);
});

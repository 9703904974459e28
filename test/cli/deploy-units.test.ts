// The pure parts of `helm-tiers deploy`/`status`: Helm major detection, the action decision, readiness, workload
// and pod rules, durations; and the command line (usage errors, an unsupported Helm) without a cluster.
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { EXIT_CODES, HelmTiersError } from '../../core/errors.js';
import { detectHelmMajor, helmMajorOf, toolchainPaths } from '../../core/helm.js';
import { exitCodeOf } from '../../core/shell.js';
import { parseDuration, runDeploy } from '../../cli/deploy.js';
import { decide } from '../../cli/deploy/driver.js';
import { podProblem, readiness, workloadNotReady, type ReleaseFacts } from '../../cli/deploy/state.js';
import { root } from '../e2e/support.js';

const REV = '0123456789abcdef';
const facts = (over: Partial<ReleaseFacts> = {}): ReleaseFacts => ({
  release: 'tier2-cache',
  namespace: 'apps',
  helm: { revision: 3, status: 'deployed', chart: 'master-chart-0.1.0', updated: '' },
  values: { a: 1, global: { tiers: { planRevision: REV } } },
  planRevision: REV,
  workloads: [{ kind: 'Deployment', name: 'cache' }],
  pods: [],
  failedHooks: [],
  ...over,
});
const desired = {
  values: { global: { tiers: { planRevision: REV } }, a: 1 },
  timeoutSeconds: 300,
  chart: 'master-chart-0.1.0',
};

const tmp = mkdtempSync(join(tmpdir(), 'deploy-units-'));
afterAll(() => {
  rmSync(tmp, { recursive: true, force: true });
});

describe('helm major', () => {
  it('reads 3 and 4 from helm version --short and refuses others', () => {
    expect(helmMajorOf('v3.17.3+ge4da497\n')).toBe(3);
    expect(helmMajorOf('v4.1.4+g1234')).toBe(4);
    expect(helmMajorOf('v2.17.0+ga690bad')).toBeUndefined();
    expect(helmMajorOf('Client: &version.Version{SemVer:"v2.17.0"}')).toBeUndefined();
  });

  it('an unsupported or missing helm is E_TOOL (exit 69)', async () => {
    const fake = join(tmp, 'helm2');
    writeFileSync(fake, '#!/bin/sh\necho v2.17.0+ga690bad\n');
    chmodSync(fake, 0o755);
    await expect(detectHelmMajor(fake)).rejects.toMatchObject({ code: 'E_TOOL' });
    await expect(detectHelmMajor(join(tmp, 'absent'))).rejects.toBeInstanceOf(HelmTiersError);
    const err: string[] = [];
    const code = await exitCodeOf(
      'helm-tiers',
      (t) => err.push(t),
      () =>
        runDeploy({
          argv: ['--plan', join(root, 'plan.yaml'), '--helm', fake],
          cwd: root,
          env: { PATH: process.env.PATH },
          root,
          stdout: { write: () => true },
          stderr: { write: () => true },
        }),
    );
    expect(code).toBe(EXIT_CODES.E_TOOL);
    expect(err.join('')).toMatch(/supports Helm 3 and Helm 4/);
  });

  it('an unreachable cluster is E_TOOL (exit 69) before any release is looked at', async () => {
    const kc = join(tmp, 'kubeconfig');
    writeFileSync(
      kc,
      'apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]\n' +
        'users: [{name: u, user: {token: t}}]\ncontexts: [{name: x, context: {cluster: c, user: u}}]\ncurrent-context: x\n',
    );
    const err: string[] = [];
    let out = '';
    const code = await exitCodeOf(
      'helm-tiers',
      (t) => err.push(t),
      () =>
        runDeploy({
          argv: ['--plan', join(root, 'plan.yaml'), '--helm', toolchainPaths(root, 3).helm],
          cwd: root,
          env: { PATH: process.env.PATH, KUBECONFIG: kc },
          root,
          stdout: { write: (t: string) => (out += t) },
          stderr: { write: () => true },
        }),
    );
    expect([code, out]).toEqual([EXIT_CODES.E_TOOL, '']);
    expect(err.join('')).toMatch(/E_TOOL: reaching the cluster/);
  });

  it('usage errors exit 64, an unknown --only release 65', async () => {
    const run = (argv: string[]) =>
      exitCodeOf(
        'helm-tiers',
        () => true,
        () =>
          runDeploy({ argv, cwd: root, env: {}, root, stdout: { write: () => true }, stderr: { write: () => true } }),
      );
    expect(await run(['--output', 'yaml'])).toBe(64);
    expect(await run(['--concurrency', '0'])).toBe(64);
    expect(await run(['--timeout', 'soon'])).toBe(64);
    expect(await run(['--bogus'])).toBe(64);
    expect(await run(['--only', 'nope'])).toBe(65);
  });
});

describe('decide', () => {
  it('nothing to do only when chart, values and plan revision match and the release is Ready', () => {
    expect(decide(facts(), desired, REV, true).action).toBe('none');
    expect(decide(facts({ helm: undefined }), desired, REV, false).action).toBe('install');
    expect(decide(facts(), { ...desired, values: { ...desired.values, a: 2 } }, REV, true)).toEqual({
      action: 'upgrade',
      why: 'values changed',
    });
    expect(decide(facts(), { ...desired, chart: 'master-chart-0.2.0' }, REV, true).why).toContain('chart');
    expect(decide(facts(), desired, 'ffffffffffffffff', true).why).toContain('plan revision');
    expect(decide(facts({ pods: ['pod/x: CrashLoopBackOff'] }), desired, REV, true).why).toMatch(/not Ready/);
    const failed = facts({ helm: { revision: 1, status: 'failed', chart: 'master-chart-0.1.0', updated: '' } });
    expect(decide(failed, desired, REV, false).action).toBe('reinstall');
    expect(decide(failed, desired, REV, true).action).toBe('upgrade');
  });
});

describe('readiness', () => {
  it('needs deployed, the plan revision, rolled-out workloads and healthy pods', () => {
    expect(readiness(facts(), REV)).toEqual({ ready: true, why: [] });
    expect(readiness(facts({ helm: undefined }), REV).why).toContain('not installed');
    expect(readiness(facts({ planRevision: 'aaaaaaaaaaaaaaaa' }), REV).why[0]).toMatch(/at plan revision aaaa/);
    expect(readiness(facts({ workloads: [{ kind: 'Deployment', name: 'cache', notReady: '0/1' }] }), REV).ready).toBe(
      false,
    );
    const hook = {
      job: 'tier2-cache-pre-install-check',
      summary: 'dependency-check: 0/1 ready',
      logCommand: 'kubectl logs',
    };
    // An old failed hook does not make a deployed release not Ready; it is the reason while the release is failed.
    expect(readiness(facts({ failedHooks: [hook] }), REV).ready).toBe(true);
    const failed = facts({ failedHooks: [hook], helm: { revision: 2, status: 'failed', chart: 'c', updated: '' } });
    expect(readiness(failed, REV).why.join('\n')).toMatch(
      /hook job\/tier2-cache-pre-install-check failed: dependency-check/,
    );
    const flux = {
      name: 'tier2-cache',
      namespace: 'flux-system',
      ready: 'False',
      reason: 'RetriesExceeded',
      stalled: true,
    };
    expect(readiness(facts({ flux }), REV).why.join('\n')).toContain(
      'flux reconcile helmrelease tier2-cache -n flux-system --reset',
    );
  });

  it('workload and pod rules', () => {
    const dep = (status: Record<string, unknown>, gen = 1) => ({
      kind: 'Deployment',
      metadata: { generation: gen },
      spec: { replicas: 2 },
      status: { observedGeneration: 1, ...status },
    });
    expect(workloadNotReady(dep({ readyReplicas: 2, updatedReplicas: 2, availableReplicas: 2 }))).toBeUndefined();
    expect(workloadNotReady(dep({ readyReplicas: 1, updatedReplicas: 2, availableReplicas: 1 }))).toMatch(/1\/2/);
    expect(workloadNotReady(dep({ readyReplicas: 2, updatedReplicas: 2, availableReplicas: 2 }, 2))).toMatch(
      /latest spec/,
    );
    const pod = (cs: Record<string, unknown>) => ({
      metadata: { name: 'p' },
      status: { phase: 'Running', containerStatuses: [{ name: 'c', restartCount: 4, ...cs }] },
    });
    expect(podProblem(pod({ state: { waiting: { reason: 'CrashLoopBackOff' } } }))).toBe(
      'pod/p: CrashLoopBackOff (container c, 4 restarts)',
    );
    expect(podProblem(pod({ state: { running: {} } }))).toBeUndefined();
    expect(
      podProblem(
        pod({ state: { running: {} }, ready: false, lastState: { terminated: { exitCode: 1, reason: 'Error' } } }),
      ),
    ).toBe('pod/p: restarting (container c, 4 restarts, last exit 1 Error)');
    expect(podProblem(pod({ state: { waiting: { reason: 'ContainerCreating' } } }))).toBeUndefined();
  });

  it('durations', () => {
    expect([parseDuration('90'), parseDuration('90s'), parseDuration('5m'), parseDuration('1m30s')]).toEqual([
      90, 90, 300, 90,
    ]);
  });
});

// The deploy driver's scheduling and Helm command lines, with a scripted runner instead of Helm (no cluster):
// Flux's dependsOn order, bounded parallelism, skipped dependents, install/upgrade/reinstall, and the flags.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ExecResult } from '../../core/helm.js';
import { deployPlan, errorHead, type DeployOptions, type Runner } from '../../demo/deploy.js';
import { plan, planPath } from './support.js';

interface Call {
  args: readonly string[];
  env: Record<string, string>;
}

/** A fake `helm`: `history` answers from `history`, installs take `ms` (simulated) and fail when listed. */
function fakeHelm(opts: { fail?: string[]; history?: Record<string, string[]> } = {}) {
  const calls: Call[] = [];
  let clock = 0;
  let running = 0;
  let maxRunning = 0;
  const events: string[] = [];
  const run: Runner = async (_file, args, env) => {
    calls.push({ args, env });
    const [verb, release] = args;
    if (verb === 'history') {
      const h = opts.history?.[release!];
      return h
        ? { code: 0, stdout: JSON.stringify(h.map((status) => ({ status }))), stderr: '' }
        : { code: 1, stdout: '', stderr: 'Error: release: not found\n' };
    }
    if (verb === 'uninstall') return { code: 0, stdout: `release "${release}" uninstalled\n`, stderr: '' };
    running++;
    maxRunning = Math.max(maxRunning, running);
    events.push(`start ${release}`);
    await new Promise((r) => setTimeout(r, 5));
    clock += 1;
    running--;
    events.push(`end ${release}`);
    const r: ExecResult = opts.fail?.includes(release!)
      ? { code: 1, stdout: '', stderr: `Error: INSTALLATION FAILED: failed pre-install: ${release} hook failed\n` }
      : { code: 0, stdout: `NAME: ${release}\nSTATUS: deployed\n`, stderr: '' };
    return r;
  };
  return { run, calls, events, stats: () => ({ maxRunning, clock }) };
}

function options(run: Runner, over: Partial<DeployOptions> = {}): DeployOptions {
  return {
    plan,
    planPath,
    chartPath: () => '/charts/master-chart',
    kubeconfig: '/tmp/kubeconfig',
    major: 3,
    helm: '/tools/helm',
    helmEnv: { HELM_DATA_HOME: '/h' },
    postRenderer: '/bin/post-renderer',
    workDir: mkdtempSync(join(tmpdir(), 'deploy-test-')),
    run,
    log: () => undefined,
    ...over,
  };
}

describe('deploy driver', () => {
  it('starts a release only after all its dependencies ended, level-1 releases together', async () => {
    const h = fakeHelm();
    const r = await deployPlan(options(h.run));
    expect(r.ok).toBe(true);
    const pos = (e: string) => h.events.indexOf(e);
    for (const c of plan.components)
      for (const d of c.dependsOn) {
        const dep = plan.components.find((x) => x.name === d)!.release;
        expect(pos(`end ${dep}`), `${c.release} after ${dep}`).toBeLessThan(pos(`start ${c.release}`));
      }
    expect(h.events.slice(0, 3).sort()).toEqual(['start kyverno', 'start monitoring', 'start tier1-database']);
  });

  it('bounds the parallelism', async () => {
    const h = fakeHelm();
    await deployPlan(options(h.run, { concurrency: 2 }));
    expect(h.stats().maxRunning).toBe(2);
  });

  it('skips the dependents of a failed release (like a HelmRelease waiting on a not-Ready dependency)', async () => {
    const h = fakeHelm({ fail: ['tier2-cache'] });
    const r = await deployPlan(options(h.run));
    expect(r.ok).toBe(false);
    expect(Object.fromEntries(r.results.map((x) => [x.release, x.status]))).toEqual({
      'tier1-database': 'deployed',
      'tier2-cache': 'failed',
      'tier3-api': 'skipped',
      'tier4-frontend': 'skipped',
      monitoring: 'deployed',
      kyverno: 'deployed',
    });
    expect(r.results.find((x) => x.release === 'tier3-api')!.reason).toBe('dependency tier2-cache is not ready');
    expect(r.results.find((x) => x.release === 'tier2-cache')!.reason).toContain('INSTALLATION FAILED');
    expect(h.events.some((e) => e.includes('tier3-api'))).toBe(false);
  });

  it('installs, upgrades a deployed release, and reinstalls a release whose only install failed', async () => {
    const h = fakeHelm({
      history: { monitoring: ['failed'], kyverno: ['deployed'], 'tier1-database': ['deployed', 'failed'] },
    });
    const r = await deployPlan(
      options(h.run, { releases: ['monitoring', 'kyverno', 'tier1-database', 'tier2-cache'] }),
    );
    expect(Object.fromEntries(r.results.map((x) => [x.release, x.action]))).toEqual({
      monitoring: 'reinstall',
      kyverno: 'upgrade',
      'tier1-database': 'upgrade',
      'tier2-cache': 'install',
    });
    const verbs = (rel: string) => h.calls.filter((c) => c.args[1] === rel).map((c) => c.args[0]);
    expect(verbs('monitoring')).toEqual(['history', 'uninstall', 'install']);
    expect(verbs('kyverno')).toEqual(['history', 'upgrade']);
  });

  it('passes namespace, values, --wait, --timeout and the post-renderer with --plan and --release', async () => {
    const h = fakeHelm();
    await deployPlan(
      options(h.run, {
        releases: ['tier3-api', 'tier4-frontend'],
        timeoutSeconds: 77,
        wait: (c) => c.release !== 'tier3-api',
        overlay: () => ({ global: { autoFixPods: true } }),
      }),
    );
    const install = (rel: string) => h.calls.find((c) => c.args[0] === 'install' && c.args[1] === rel)!;
    const api = install('tier3-api');
    expect(api.args.slice(0, 7)).toEqual([
      'install',
      'tier3-api',
      '/charts/master-chart',
      '-n',
      'apps',
      '--create-namespace',
      '-f',
    ]);
    expect(api.args).toContain('--post-renderer');
    expect(api.args[api.args.indexOf('--post-renderer') + 1]).toBe('/bin/post-renderer');
    expect(api.args).toContain(`--post-renderer-args=--plan=${planPath}`);
    expect(api.args).toContain('--post-renderer-args=--release=tier3-api');
    expect(api.args[api.args.indexOf('--timeout') + 1]).toBe('77s');
    expect(api.args).not.toContain('--wait');
    expect(install('tier4-frontend').args).toContain('--wait');
    expect(api.env).toEqual({ HELM_DATA_HOME: '/h', KUBECONFIG: '/tmp/kubeconfig' });
    const values = JSON.parse(readFileSync(api.args[api.args.indexOf('-f') + 1]!, 'utf8'));
    expect(values.global.tiers).toEqual({
      component: 'api',
      tier: 3,
      dependsOn: ['tier1-database', 'tier2-cache'],
      labelPrefix: 'helm-tiers.io/',
      plan: 'platform',
      partOfLabel: false,
    });
    expect(values.global.autoFixPods).toBe(true);
    expect(values.api.enabled).toBe(true);
  });

  it("errorHead keeps Helm's Error: line and its details, not Helm 4's hook-log dump", () => {
    const stderr =
      'level=INFO msg="CRD  NEED\\nfoo  required"\nError: INSTALLATION FAILED: failed pre-install: x\n\t* job y failed\n';
    expect(errorHead(stderr)).toBe('Error: INSTALLATION FAILED: failed pre-install: x\n\t* job y failed');
    expect(errorHead('WARNING: Kubernetes configuration file is group-readable\nboom\n')).toBe('boom');
  });
});

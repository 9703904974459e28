// The chart's safety hooks doing their job in real installs, on Helm 3 (post-renderer executable) and Helm 4
// (plugin), RBAC on: the CRD check stopping a platform release whose CRDs are missing and installing the real CRDs
// when allowed, and the post-install check catching a crash-looping API and, when allowed, remediating it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HelmMajor } from '../../core/helm.js';
import { crashingApi } from '../../demo/env.js';
import type { Backend } from '../../cluster/index.js';
import { INSTALL_TIMEOUT_MS, sharedMissing, skipBackend, startE2E, type E2E } from './support.js';

const MONITORING_CRDS = [
  'prometheuses.monitoring.coreos.com',
  'servicemonitors.monitoring.coreos.com',
  'podmonitors.monitoring.coreos.com',
  'prometheusrules.monitoring.coreos.com',
  'alertmanagers.monitoring.coreos.com',
];

/** One suite per Helm major and backend, each in its own test file so that they run in parallel. */
export function scenarioSuite(major: HelmMajor, backend: Backend = 'sim'): void {
  const skip = sharedMissing ?? skipBackend(backend);
  if (skip && backend === 'real')
    console.warn(`\n*** e2e scenarios (Helm ${major}, real backend) SKIPPED: ${skip} ***\n`);
  describe.skipIf(skip)(
    `Helm ${major} on the ${backend} backend: CRD check and post-install check${skip ? ` — ${skip}` : ''}`,
    () => {
      let e: E2E;
      const logs = async (job: string) => (await e.kubectl(['logs', '-n', 'apps', `job/${job}`])).stdout;

      beforeAll(async () => {
        e = await startE2E(major, [crashingApi()], backend);
      });
      afterAll(async () => {
        await e.stop();
      });

      it(
        'monitoring without its CRDs and autoInstallCRDs=false: the pre-crd-check fails the release, saying how to fix it',
        async () => {
          const r = await e.deploy({ releases: ['monitoring'] });
          const res = r.results[0]!;
          expect(res.outcome).toBe('failed');
          expect(res.reason).toMatch(/pre-install[\s\S]*monitoring-pre-crd-check/);
          // The driver read the failed Job: its summary line and the command for its whole log.
          expect(res.failedHooks.map((h) => [h.job, h.logCommand])).toEqual([
            ['monitoring-pre-crd-check', 'kubectl logs -n apps job/monitoring-pre-crd-check'],
          ]);
          expect(res.failedHooks[0]?.summary).toMatch(/^crd-check: 0\/5 required CRDs ready/);
          const log = await logs('monitoring-pre-crd-check');
          for (const crd of MONITORING_CRDS)
            expect(log).toMatch(new RegExp(`${crd.replace(/\./g, '\\.')}\\s+required\\s+Missing`));
          expect(log).toContain('global.autoInstallCRDs=true');
          expect(log).toMatch(/^crd-check: 0\/5 required CRDs ready .*\(exit \d+\)$/m);
          const crds = await e.kubectl(['get', 'crd', '-o', 'name']);
          expect(crds.code, crds.stderr).toBe(0);
          expect(crds.stdout).not.toContain('monitoring.coreos.com');
          // Helm recorded the failure (Flux would remediate it).
          expect((await e.helmCmd(['history', 'monitoring', '-n', 'apps'])).stdout).toMatch(/^1\s.*\sfailed\s/m);
        },
        INSTALL_TIMEOUT_MS,
      );

      it(
        'with autoInstallCRDs=true: installs the real CRDs by server-side apply and the release succeeds',
        async () => {
          const auto = { global: { autoInstallCRDs: true } };
          const r = await e.deploy({ releases: ['monitoring'], values: auto });
          expect([r.results[0]!.outcome, r.results[0]!.reason ?? '']).toEqual(['deployed', '']);
          // The failed first install is reinstalled (as helm-controller's install remediation does); its hooks
          // installed the CRDs during that action, so one more upgrade renders what they guard at once.
          expect([r.results[0]!.action, r.results[0]!.actions]).toEqual(['reinstall', 2]);
          const again = r.events.find(
            (x) => x.type === 'start' && x.release === 'monitoring' && x.action === 'upgrade',
          );
          expect(again && 'why' in again ? again.why : '').toMatch(/^again: 5 of its CRDs were installed by its hooks/);
          for (const crd of MONITORING_CRDS) {
            const got = JSON.parse(
              (await e.kubectl(['get', 'crd', crd, '-o', 'json', '--show-managed-fields'])).stdout,
            ) as {
              metadata: { managedFields?: { manager: string; operation: string }[] };
              status: { conditions?: { type: string; status: string }[] };
            };
            expect(got.status.conditions?.find((x) => x.type === 'Established')?.status, crd).toBe('True');
            // Server-side apply by the CRD check (its field manager), not a client-side create.
            expect(
              got.metadata.managedFields?.map((f) => `${f.manager}=${f.operation}`),
              crd,
            ).toContain('helm-tiers=Apply');
          }
          // The real 833 KB prometheuses CRD, not a stand-in.
          const big = await e.kubectl(['get', 'crd', 'prometheuses.monitoring.coreos.com', '-o', 'json']);
          expect(big.stdout.length).toBeGreaterThan(300_000);
          // The Prometheus resource, guarded by .Capabilities (read before hooks), is in the second render's manifest.
          expect((await e.kubectl(['get', 'prometheuses', '-n', 'apps', '-o', 'name'])).stdout).toContain('prometheus');
          expect(
            (await e.helmCmd(['get', 'manifest', 'monitoring', '-n', 'apps', '--revision', '1'])).stdout,
          ).not.toMatch(/^kind: Prometheus$/m);
          expect((await e.helmCmd(['get', 'manifest', 'monitoring', '-n', 'apps', '--revision', '2'])).stdout).toMatch(
            /^kind: Prometheus$/m,
          );
          // Nothing changed: a rerun performs no Helm action.
          const rerun = await e.deploy({ releases: ['monitoring'], values: auto });
          expect([rerun.results[0]!.outcome, rerun.results[0]!.actions]).toEqual(['unchanged', 0]);
          expect(await logs('monitoring-pre-crd-check')).toMatch(/^crd-check: .*5\/5 required CRDs ready/m);
        },
        INSTALL_TIMEOUT_MS,
      );

      it(
        'a crash-looping API pod is detected by the post-install check: the release fails naming CrashLoopBackOff',
        async () => {
          const deps = await e.deploy({ releases: ['tier1-database', 'tier2-cache'] });
          expect(deps.results.map((x) => x.outcome)).toEqual(['deployed', 'deployed']);
          // With --wait, Helm would time out on the unready pods before any post-install hook: like a HelmRelease with
          // disableWait (plan `wait: false`), the post-install check is the readiness gate here.
          const r = await e.deploy({ releases: ['tier3-api'], noWait: ['tier3-api'] });
          const res = r.results[0]!;
          expect(res.outcome).toBe('failed');
          expect(res.reason).toMatch(/post-install/);
          expect(res.reason).toContain('tier3-api-post-install-check');
          expect(res.failedHooks[0]?.job).toBe('tier3-api-post-install-check');
          expect(res.failedHooks[0]?.summary).toMatch(/^pod-check: 2 pods, 0 healthy, 2 unhealthy .*CrashLoopBackOff/);
          const log = await logs('tier3-api-post-install-check');
          expect(log).toMatch(/^pod-check: 2 pods, 0 healthy, 2 unhealthy .*CrashLoopBackOff/m);
          expect(log).toContain('connection refused'); // the previous container's log, in the diagnostics
          expect(log).not.toMatch(/rollout restart deployment\/api\b.*restarted/);
        },
        INSTALL_TIMEOUT_MS,
      );

      it(
        'with autoFixPods=true the post-install check restarts the API and the release succeeds',
        async () => {
          const r = await e.deploy({
            releases: ['tier3-api'],
            noWait: ['tier3-api'],
            values: { global: { autoFixPods: true } },
          });
          const res = r.results[0]!;
          expect([res.outcome, res.reason ?? '']).toEqual(['deployed', '']);
          const log = await logs('tier3-api-post-install-check');
          expect(log).toContain('CrashLoopBackOff');
          expect(log).toMatch(/^pod-check: 2 pods, 2 healthy, 0 unhealthy; auto-fix: deployment\/api restarted/m);
          const dep = await e.kubectl([
            'get',
            'deploy',
            'api',
            '-n',
            'apps',
            '-o',
            'jsonpath={.status.readyReplicas} {.spec.template.metadata.annotations.kubectl\\.kubernetes\\.io/restartedAt}',
          ]);
          expect(dep.stdout).toMatch(/^2 \d{4}-/);
          expect((await e.helmCmd(['status', 'tier3-api', '-n', 'apps'])).stdout).toMatch(/^STATUS: deployed$/m);
        },
        INSTALL_TIMEOUT_MS,
      );

      it(
        'the database password survives an upgrade (the Secret is reused through lookup, never regenerated)',
        async () => {
          const password = async () =>
            (await e.kubectl(['get', 'secret', 'database', '-n', 'apps', '-o', 'jsonpath={.data.password}'])).stdout;
          const before = await password();
          expect(Buffer.from(before, 'base64').toString()).toMatch(/^[A-Za-z0-9]{32}$/);
          // A changed value (the hooks' log level), so that deploy upgrades instead of leaving it unchanged.
          const r = await e.deploy({
            releases: ['tier1-database'],
            values: { global: { hooks: { logLevel: 'debug' } } },
          });
          expect([r.results[0]!.action, r.results[0]!.outcome]).toEqual(['upgrade', 'deployed']);
          expect((await e.helmCmd(['history', 'tier1-database', '-n', 'apps'])).stdout).toMatch(/^2\s.*\sdeployed\s/m);
          expect(await password()).toBe(before);
        },
        INSTALL_TIMEOUT_MS,
      );

      it(`the seed's troubleshooting commands work with this major's kubectl (${major === 3 ? '1.31' : '1.34'})`, async () => {
        const pods = await e.kubectl(['get', 'pods', '-n', 'apps']);
        expect(pods.stdout).toMatch(/^api-\S+\s+1\/1\s+Running\s+\d+\s/m);
        expect(pods.stdout).toMatch(/^tier3-api-post-install-check-\S+\s+0\/1\s+Completed/m);
        expect(await logs('tier1-database-pre-crd-check')).toMatch(/^crd-check: .*nothing to check/m);
        expect(await logs('tier1-database-post-install-check')).toMatch(/^pod-check: 1 pods, 1 healthy, 0 unhealthy/m);
        const describe = await e.sh(
          'kubectl describe pod -n apps -l helm-tiers.io/release=tier3-api,!helm-tiers.io/hook',
        );
        expect(describe.code).toBe(0);
        expect(describe.stdout).toMatch(/^Controlled By:\s+ReplicaSet\/api-/m);
        const crds = await e.sh('kubectl get crd | grep monitoring');
        expect(crds.stdout.trim().split('\n')).toHaveLength(5);
        const list = await e.helmCmd(['list', '-n', 'apps']);
        for (const r of ['monitoring', 'tier1-database', 'tier2-cache', 'tier3-api'])
          expect(list.stdout).toMatch(new RegExp(`^${r}\\s+apps\\s+\\d+\\s+.*deployed`, 'm'));
        expect((await e.helmCmd(['status', 'monitoring', '-n', 'apps'])).stdout).toMatch(/^REVISION: 2$/m);
      });
    },
  );
}

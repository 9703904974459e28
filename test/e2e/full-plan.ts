// The whole example plan, end to end on a cluster with RBAC on (the simulated one, and the real control plane with
// the node agent): real Helm 4 (post-renderer plugin)
// installs all six releases the way Flux would (dependencies first, independent releases in parallel), the hook
// Jobs run the built hook bundles, and every seed troubleshooting command works with real kubectl 1.34.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { labelKeys } from '../../core/labels.js';
import { dependencyReleases } from '../../plan/plan.js';
import type { Backend } from '../../cluster/index.js';
import { INSTALL_TIMEOUT_MS, plan, sharedMissing, skipBackend, startE2E, type E2E, type E2EDeploy } from './support.js';

const keys = labelKeys(plan.labelPrefix);
const HOOK_LABEL = `${plan.labelPrefix}hook`;

/** The suite on one backend; plan.test.ts and plan-real.test.ts run it. */
export function fullPlanSuite(backend: Backend): void {
  const skip = sharedMissing ?? skipBackend(backend);
  if (skip && backend === 'real') console.warn(`\n*** e2e full plan (real backend) SKIPPED: ${skip} ***\n`);
  describe.skipIf(skip)(`full plan on Helm 4 on the ${backend} backend (RBAC on)${skip ? ` — ${skip}` : ''}`, () => {
    let e: E2E;
    let result: E2EDeploy;

    beforeAll(async () => {
      e = await startE2E(4, [], backend);
      result = await e.deploy({ values: { global: { autoInstallCRDs: true } } });
    }, INSTALL_TIMEOUT_MS);
    afterAll(async () => {
      await e.stop();
    });

    it('installs all six releases, each only after its dependencies were deployed, independent ones in parallel', () => {
      expect(result.results.map((r) => [r.release, r.outcome, r.reason ?? ''])).toEqual(
        plan.components.map((c) => [c.release, 'deployed', '']),
      );
      const byRelease = new Map(result.results.map((r) => [r.release, r]));
      for (const c of plan.components) {
        const me = byRelease.get(c.release)!;
        for (const dep of dependencyReleases(plan, c)) {
          expect(byRelease.get(dep)!.finishedAt, `${c.release} started before ${dep} was ready`).toBeLessThanOrEqual(
            me.startedAt,
          );
        }
      }
      // Level 1 (tier 1 and the tier-0 platform services) ran side by side: each started before any of them finished.
      const level1 = result.results.filter((r) => r.level === 0);
      expect(level1.map((r) => r.release).sort()).toEqual(['kyverno', 'monitoring', 'tier1-database']);
      const firstEnd = Math.min(...level1.map((r) => r.finishedAt));
      for (const r of level1) expect(r.startedAt).toBeLessThan(firstEnd);
    });

    it('every workload pod is Ready, every hook pod Succeeded', async () => {
      const pods = JSON.parse((await e.kubectl(['get', 'pods', '-n', 'apps', '-o', 'json'])).stdout).items as any[];
      const workloads = pods.filter((p) => !p.metadata.labels?.[HOOK_LABEL]);
      const hooks = pods.filter((p) => p.metadata.labels?.[HOOK_LABEL]);
      expect(new Set(workloads.map((p) => p.metadata.labels[keys.release]))).toEqual(
        new Set(plan.components.map((c) => c.release)),
      );
      for (const p of workloads) {
        const ready = p.status.conditions?.find((x: any) => x.type === 'Ready')?.status;
        expect(`${p.metadata.name} Ready=${ready}`).toBe(`${p.metadata.name} Ready=True`);
      }
      expect(hooks.length).toBeGreaterThanOrEqual(16);
      for (const p of hooks) expect(`${p.metadata.name} ${p.status.phase}`).toBe(`${p.metadata.name} Succeeded`);
    });

    it('objects and pod templates carry the tier labels and annotations of the post-renderer', async () => {
      const kinds = 'deployments,statefulsets,services,secrets,configmaps,serviceaccounts,roles,rolebindings';
      const ns = JSON.parse((await e.kubectl(['get', kinds, '-n', 'apps', '-o', 'json'])).stdout).items as any[];
      const cluster = JSON.parse(
        (await e.kubectl(['get', 'clusterroles,clusterrolebindings,clusterpolicies', '-o', 'json'])).stdout,
      ).items as any[];
      const released = [...ns, ...cluster].filter((o) => o.metadata.annotations?.['meta.helm.sh/release-name']);
      expect(released.length).toBeGreaterThan(20);
      for (const o of released) {
        const release = o.metadata.annotations['meta.helm.sh/release-name'];
        const c = plan.components.find((x) => x.release === release)!;
        const want = {
          [keys.tier]: String(c.tier),
          [keys.component]: c.name,
          [keys.release]: c.release,
          [keys.plan]: plan.name,
        };
        const id = `${o.kind}/${o.metadata.name}`;
        expect({ id, labels: pick(o.metadata.labels, Object.keys(want)) }).toEqual({ id, labels: want });
        expect({ id, dependsOn: o.metadata.annotations[keys.dependsOn] }).toEqual({
          id,
          dependsOn: dependencyReleases(plan, c).join(','),
        });
        const tpl = o.spec?.template?.metadata?.labels;
        if (tpl) expect({ id, tpl: pick(tpl, Object.keys(want)) }).toEqual({ id, tpl: want });
      }
      // Cluster-scoped objects are labelled too. (Kyverno's ClusterPolicies are guarded by .Capabilities, read
      // before the hook installs their CRD: they appear on the next upgrade, see the scenarios suite.)
      expect(released.some((o) => o.kind === 'ClusterRole')).toBe(true);
    });

    describe('seed troubleshooting commands (real kubectl 1.34, real Helm 4)', () => {
      it('kubectl get pods -n apps', async () => {
        const r = await e.kubectl(['get', 'pods', '-n', 'apps']);
        expect(r.code).toBe(0);
        expect(r.stdout).toMatch(/^NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE/);
        expect(r.stdout).toMatch(/database-0\s+1\/1\s+Running\s+0/);
        expect(r.stdout).toMatch(/tier1-database-pre-crd-check-\S+\s+0\/1\s+Completed/);
      });

      it('kubectl logs -n apps job/tier1-database-pre-crd-check', async () => {
        const r = await e.kubectl(['logs', '-n', 'apps', 'job/tier1-database-pre-crd-check']);
        expect(r.code).toBe(0);
        expect(r.stdout).toMatch(/crd-check: .*nothing to check/);
      });

      it('kubectl logs -n apps job/kyverno-kyverno-crd-check', async () => {
        const r = await e.kubectl(['logs', '-n', 'apps', 'job/kyverno-kyverno-crd-check']);
        expect(r.code).toBe(0);
        expect(r.stdout).toContain('clusterpolicies.kyverno.io');
        expect(r.stdout).toMatch(/crd-check: .*6\/6 required CRDs ready/);
      });

      it('kubectl logs -n apps job/tier1-database-post-install-check', async () => {
        const r = await e.kubectl(['logs', '-n', 'apps', 'job/tier1-database-post-install-check']);
        expect(r.code).toBe(0);
        expect(r.stdout).toMatch(/pod-check: 1 pods, 1 healthy, 0 unhealthy/);
      });

      it('kubectl describe pod', async () => {
        const r = await e.kubectl(['describe', 'pod', '-n', 'apps', 'database-0']);
        expect(r.code).toBe(0);
        expect(r.stdout).toMatch(/^Name:\s+database-0$/m);
        expect(r.stdout).toMatch(/^Status:\s+Running$/m);
        expect(r.stdout).toContain('helm-tiers.io/release=tier1-database');
        const hook = await e.sh(
          'kubectl describe pod -n apps -l helm-tiers.io/hook=post-install-check,helm-tiers.io/release=tier3-api',
        );
        expect(hook.code).toBe(0);
        expect(hook.stdout).toMatch(/^Status:\s+Succeeded$/m);
      });

      it('kubectl get crd | grep kyverno', async () => {
        const r = await e.sh('kubectl get crd | grep kyverno');
        expect(r.code).toBe(0);
        const names = r.stdout
          .trim()
          .split('\n')
          .map((l) => l.split(/\s+/)[0]);
        for (const crd of plan.components
          .find((c) => c.name === 'kyverno')!
          .requiredCRDs.filter((n) => n.endsWith('.kyverno.io')))
          expect(names).toContain(crd);
      });

      it('helm list -n apps', async () => {
        const r = await e.helmCmd(['list', '-n', 'apps']);
        expect(r.code).toBe(0);
        // Revision 2 for the releases whose hooks installed their CRDs: deploy rendered them once more at once.
        const rendered = new Map(result.results.map((x) => [x.release, x.actions]));
        for (const c of plan.components)
          expect(r.stdout).toMatch(
            new RegExp(`^${c.release}\\s+apps\\s+${rendered.get(c.release)}\\s+.*deployed`, 'm'),
          );
        expect([rendered.get('monitoring'), rendered.get('kyverno'), rendered.get('tier1-database')]).toEqual([
          2, 2, 1,
        ]);
      });

      it('helm status', async () => {
        // (Helm 4 dropped --show-resources; the plain command is what the seed runs.)
        const r = await e.helmCmd(['status', 'tier3-api', '-n', 'apps']);
        expect(r.stderr).toBe('');
        expect(r.code).toBe(0);
        expect(r.stdout).toMatch(/^NAME: tier3-api$/m);
        expect(r.stdout).toMatch(/^STATUS: deployed$/m);
      });
    });
  });

  function pick(o: Record<string, string> | undefined, ks: string[]): Record<string, string | undefined> {
    return Object.fromEntries(ks.map((k) => [k, o?.[k]]));
  }
}

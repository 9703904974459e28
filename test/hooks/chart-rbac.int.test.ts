// The contract with the chart: render the master chart's hook Jobs and RBAC, then run each bundle with exactly the
// Job's args and exactly the (Cluster)Role the chart gives it, against the simulated cluster with RBAC enforced.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { check, createHelmHome, exec, toolchainPaths } from '../../core/helm.js';
import { HOOK_EXIT_CODES } from '../../hooks/src/errors.js';
import { startCluster, type SimCluster } from '../../cluster/sim/index.js';
import { create, deployment, ensureBundles, grant, namespace, repoRoot, runHook, sharedCrds } from './support.js';

const helm = toolchainPaths(repoRoot, 3).helm;
const chart = join(repoRoot, 'charts/master-chart');
const ready = existsSync(helm) && existsSync(chart) && existsSync(sharedCrds);
const NS = 'apps';
const RELEASE = 'mon';

interface Doc {
  kind: string;
  metadata: { name: string; labels?: Record<string, string> };
  rules?: { apiGroups: string[]; resources: string[]; verbs: string[]; resourceNames?: string[] }[];
  spec?: { template: { spec: { serviceAccountName: string; containers: { command: string[]; args: string[] }[] } } };
}

/** The chart rendered by Helm 3 in a fresh home of the one harness (never a fixed folder shared by every run). */
async function render(): Promise<Doc[]> {
  const home = createHelmHome('ht-chart-rbac-');
  try {
    const args = ['template', RELEASE, chart, '--namespace', NS];
    for (const v of ['monitoring.enabled', 'api.enabled', 'global.autoInstallCRDs', 'global.autoFixPods'])
      args.push('--set', `${v}=true`);
    const out = check(await exec(helm, args, { env: home.env }), 'helm template').stdout;
    return parseAllDocuments(out)
      .map((d) => d.toJS() as Doc | null)
      .filter((d): d is Doc => d !== null);
  } finally {
    home.dispose();
  }
}

describe.skipIf(!ready)(
  `hooks with the chart's own Job args and RBAC${ready ? '' : ' (skipped: helm, chart or ../shared/crds absent)'}`,
  () => {
    let c: SimCluster;
    let docs: Doc[];
    /** Kubeconfig of a ServiceAccount bound to the chart's rules for `hook`, and the program and args of its Job. */
    const fromChart = (hook: string, jobSuffix: string) => {
      const roles = docs.filter(
        (d) => (d.kind === 'Role' || d.kind === 'ClusterRole') && d.metadata.labels?.['helm-tiers.io/hook'] === hook,
      );
      expect(roles.length, `chart renders RBAC for ${hook}`).toBeGreaterThan(0);
      const rules = {
        cluster: roles.filter((r) => r.kind === 'ClusterRole').flatMap((r) => r.rules ?? []),
        namespaced: roles.filter((r) => r.kind === 'Role').flatMap((r) => r.rules ?? []),
      };
      const job = docs.find((d) => d.kind === 'Job' && d.metadata.name === `${RELEASE}-${jobSuffix}`);
      const container = job?.spec?.template.spec.containers[0];
      expect(container, `chart renders Job ${RELEASE}-${jobSuffix}`).toBeDefined();
      const program = (container?.command[1] ?? '').replace(/^\/app\/|\.cjs$/g, '');
      const kubeconfig = grant(c, NS, `${hook}-chart`, {
        ...(rules.cluster.length ? { cluster: rules.cluster } : {}),
        ...(rules.namespaced.length ? { namespaced: rules.namespaced } : {}),
      });
      return { kubeconfig, program, args: container?.args ?? [] };
    };

    beforeAll(async () => {
      ensureBundles();
      docs = await render();
      c = await startCluster({
        rbac: true,
        timing: { crash: 300 },
        scenario: { components: [{ selector: `helm-tiers.io/release=${RELEASE}`, behavior: 'crashLoop', crashes: 6 }] },
      });
      namespace(c, NS);
    });
    afterAll(async () => {
      await c.stop();
    });

    it('pre-crd-check with --install installs the required Prometheus CRDs (the image has them in /crds)', async () => {
      const { kubeconfig, program, args } = fromChart('crd-check', 'pre-crd-check');
      expect(program).toBe('crd-check');
      const env = { KUBECONFIG: kubeconfig, HT_CRDS_DIR: join(sharedCrds, 'prometheus-operator') };
      const r = await runHook(program, [...args, '--timeout=60'], env);
      expect(r.summary).toContain('5 applied');
      expect(r.code).toBe(0);
      const again = await runHook(program, [...args, '--timeout=60'], env);
      expect(again.code).toBe(0);
      expect(again.summary).toMatch(/^crd-check: 5\/5 required CRDs ready/);
    });

    it('pre-install-check: the Services the api is configured with', async () => {
      const { kubeconfig, program, args } = fromChart('dependency-check', 'pre-install-check');
      expect(program).toBe('dependency-check');
      // Before the Services exist the check blocks on them: proof that it reads --require-services at all.
      const before = await runHook(program, [...args, '--timeout=1'], { KUBECONFIG: kubeconfig });
      expect(before.code).toBe(HOOK_EXIT_CODES.E_SERVICE_MISSING);
      expect(before.summary).toContain('ServiceNotFound');
      for (const s of ['database', 'cache'])
        create(c, '', 'services', {
          apiVersion: 'v1',
          kind: 'Service',
          metadata: { name: s, namespace: NS },
          spec: { ports: [{ port: 80 }] },
        });
      const r = await runHook(program, [...args, '--timeout=20'], { KUBECONFIG: kubeconfig });
      expect(r.code).toBe(0);
      expect(r.summary).toContain('2 Services present');
    });

    it('post-install-check with --auto-fix restarts a crash-looping Deployment of the release and verifies it', async () => {
      const { kubeconfig, program, args } = fromChart('pod-check', 'post-install-check');
      expect(program).toBe('pod-check');
      expect(args).toContain('--auto-fix');
      create(c, 'apps', 'deployments', deployment(NS, 'operator', RELEASE, 2));
      let crashLooping = false;
      for (let i = 0; i < 200 && !crashLooping; i++) {
        const pods = c.store.list('/pods', NS) as {
          status?: { containerStatuses?: { state?: { waiting?: { reason?: string } } }[] };
        }[];
        crashLooping = pods.some(
          (p) => p.status?.containerStatuses?.[0]?.state?.waiting?.reason === 'CrashLoopBackOff',
        );
        if (!crashLooping) await new Promise((res) => setTimeout(res, 50));
      }
      expect(crashLooping, 'a pod was crash-looping before the check ran').toBe(true);
      const r = await runHook(program, [...args, '--grace=0', '--timeout=45'], { KUBECONFIG: kubeconfig });
      expect(r.summary).toContain('deployment/operator restarted');
      expect(r.code).toBe(0);
    });
  },
);

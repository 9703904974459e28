// crd-check and crd-install bundles against the simulated API server, with the real Prometheus/Kyverno CRDs and RBAC.
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NEVER_ESTABLISHED } from '../../cluster/sim/core.js';
import { startCluster, type SimCluster } from '../../cluster/sim/index.js';
import { create, ensureBundles, grant, namespace, RBAC, runHook, sharedCrds } from './support.js';

const haveShared = existsSync(sharedCrds);
const PROM =
  'servicemonitors.monitoring.coreos.com@v1,prometheusrules.monitoring.coreos.com@v1,prometheuses.monitoring.coreos.com@v1';

describe.skipIf(!haveShared)(
  `CRD hooks against the simulated cluster${haveShared ? '' : ` (skipped: ${sharedCrds} absent)`}`,
  () => {
    let c: SimCluster;
    let checkKc: string;
    let installKc: string;
    beforeAll(async () => {
      ensureBundles();
      c = await startCluster({ rbac: true });
      namespace(c, 'hooks');
      checkKc = grant(c, 'hooks', 'crd-check', RBAC['crd-check'] ?? {});
      installKc = grant(c, 'hooks', 'crd-install', RBAC['crd-install'] ?? {});
    });
    afterAll(async () => {
      await c.stop();
    });

    it('crd-check: missing required CRDs exit 10 with a table and both fix hints, in one LIST', async () => {
      const before = c.requests.length;
      const r = await runHook('crd-check', [`--required=${PROM}`, '--optional=podmonitors.monitoring.coreos.com'], {
        KUBECONFIG: checkKc,
      });
      expect(r.code).toBe(10);
      expect(r.stdout).toMatch(/servicemonitors\.monitoring\.coreos\.com\s+required\s+Missing/);
      expect(r.stdout).toMatch(/podmonitors\.monitoring\.coreos\.com\s+optional\s+Missing \(warning\)/);
      expect(r.stdout).toContain('global.autoInstallCRDs=true');
      expect(r.stdout).toContain('kubectl apply --server-side');
      expect(r.summary).toMatch(/^crd-check: 0\/3 required CRDs ready/);
      const calls = c.requests.slice(before).filter((q) => q.path.includes('customresourcedefinitions'));
      expect(calls.map((q) => q.method)).toEqual(['GET']);
    });

    it('crd-install: server-side applies the real ~833 KB CRDs, waits for Established, and a second run changes nothing', async () => {
      const env = { KUBECONFIG: installKc, HT_REQUIRED_CRDS: PROM, HT_CRDS_DIR: `${sharedCrds}/prometheus-operator` };
      const before = c.requests.length;
      const r = await runHook('crd-install', [], env);
      expect(r.summary).toContain('3 applied, 0 unchanged');
      expect(r.code).toBe(0);
      const patches = c.requests.slice(before).filter((q) => q.method === 'PATCH');
      expect(patches).toHaveLength(3);
      for (const p of patches) {
        expect(p.contentType).toBe('application/apply-patch+yaml');
        expect(p.query).toMatchObject({ fieldManager: 'helm-tiers', force: 'true' });
      }
      const stored = c.store.get(
        'apiextensions.k8s.io/customresourcedefinitions',
        undefined,
        'prometheuses.monitoring.coreos.com',
      ) as
        | {
            metadata: {
              annotations?: Record<string, string>;
              managedFields?: { manager: string; operation: string }[];
            };
          }
        | undefined;
      expect(stored?.metadata.annotations?.['helm-tiers.io/crd-manifest-sha256']).toMatch(/^[0-9a-f]{64}$/);
      expect(stored?.metadata.managedFields?.some((f) => f.manager === 'helm-tiers' && f.operation === 'Apply')).toBe(
        true,
      );
      const again = c.requests.length;
      const r2 = await runHook('crd-install', [], env);
      expect(r2.code).toBe(0);
      expect(r2.summary).toContain('0 applied, 3 unchanged');
      expect(c.requests.slice(again).filter((q) => q.method === 'PATCH')).toHaveLength(0);
      const check = await runHook('crd-check', [`--required=${PROM}`], { KUBECONFIG: checkKc });
      expect(check.code).toBe(0);
      expect(check.summary).toMatch(/3\/3 required CRDs ready/);
    });

    it('crd-install leaves an identical CRD installed by someone else alone (no PATCH)', async () => {
      const { parse } = await import('yaml');
      const { readFileSync } = await import('node:fs');
      const manifest = parse(
        readFileSync(`${sharedCrds}/prometheus-operator/monitoring.coreos.com_podmonitors.yaml`, 'utf8'),
        { version: '1.1' },
      ) as { metadata: { name: string } };
      create(c, 'apiextensions.k8s.io', 'customresourcedefinitions', manifest);
      await c.settle(5000);
      const before = c.requests.length;
      const r = await runHook(
        'crd-install',
        ['--required=podmonitors.monitoring.coreos.com', `--crds-dir=${sharedCrds}/prometheus-operator`],
        { KUBECONFIG: installKc },
      );
      expect(r.code).toBe(0);
      expect(r.summary).toContain('0 applied, 1 unchanged');
      expect(c.requests.slice(before).filter((q) => q.method === 'PATCH')).toHaveLength(0);
    });

    it('crd-check: a version the CRD does not serve exits 12', async () => {
      const r = await runHook('crd-check', ['--required=servicemonitors.monitoring.coreos.com@v2'], {
        KUBECONFIG: checkKc,
      });
      expect(r.code).toBe(12);
      expect(r.stdout).toMatch(/VersionNotServed\s+needs v2, serves v1/);
    });

    it('crd-check --install with the kyverno profile installs the Kyverno 1.19 core set (~1.4 MB CRDs) and passes', async () => {
      const r = await runHook('crd-check', ['--profile=kyverno', '--install', `--crds-dir=${sharedCrds}/kyverno`], {
        KUBECONFIG: installKc,
      });
      expect(r.summary).toContain('6 applied');
      expect(r.code).toBe(0);
      // kyverno-1.12 needs report CRDs that current Kyverno no longer ships: missing, exit 10.
      const old = await runHook('crd-check', ['--profile=kyverno-1.12'], { KUBECONFIG: checkKc });
      expect(old.code).toBe(10);
      expect(old.stdout).toMatch(/admissionreports\.kyverno\.io\s+required\s+Missing/);
    });

    it('403: without the patch permission, crd-install exits 40 naming verb and resource', async () => {
      const r = await runHook(
        'crd-install',
        ['--required=probes.monitoring.coreos.com', `--crds-dir=${sharedCrds}/prometheus-operator`],
        { KUBECONFIG: checkKc },
      );
      expect(r.code).toBe(40);
      expect(r.summary).toContain(
        'cannot patch customresourcedefinitions.apiextensions.k8s.io "probes.monitoring.coreos.com"',
      );
    });

    it('NamesAccepted=False (a name clash with another CRD): exit 11 with the reason', async () => {
      const crd = (name: string, plural: string, singular: string, kind: string) => ({
        apiVersion: 'apiextensions.k8s.io/v1',
        kind: 'CustomResourceDefinition',
        metadata: { name },
        spec: {
          group: 'example.com',
          scope: 'Namespaced',
          names: { plural, singular, kind },
          versions: [
            {
              name: 'v1',
              served: true,
              storage: true,
              schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } },
            },
          ],
        },
      });
      create(
        c,
        'apiextensions.k8s.io',
        'customresourcedefinitions',
        crd('widgets.example.com', 'widgets', 'widget', 'Widget'),
      );
      create(
        c,
        'apiextensions.k8s.io',
        'customresourcedefinitions',
        crd('gadgets.example.com', 'gadgets', 'widget', 'Widget'),
      );
      await c.settle(5000);
      const r = await runHook('crd-check', ['--required=widgets.example.com,gadgets.example.com'], {
        KUBECONFIG: checkKc,
      });
      expect(r.code).toBe(11);
      expect(r.stdout).toMatch(/gadgets\.example\.com\s+required\s+NamesNotAccepted/);
      expect(r.stdout).toMatch(/widgets\.example\.com\s+required\s+OK/);
      expect(r.stdout).toContain('another CRD already uses one of these names');
    });

    it('installs only what is missing or lacks a needed version: a newer CRD owned by another manager is kept byte-for-byte', async () => {
      const k8s = await import('@kubernetes/client-node');
      const { parse } = await import('yaml');
      const { readFileSync } = await import('node:fs');
      const dir = `${sharedCrds}/prometheus-operator`;
      type Manifest = {
        metadata: { name: string };
        spec: { versions: { name: string; served: boolean; storage: boolean; schema: Record<string, unknown> }[] };
      };
      const pinned = (plural: string) =>
        parse(readFileSync(`${dir}/monitoring.coreos.com_${plural}.yaml`, 'utf8'), { version: '1.1' }) as Manifest;
      const kc = new k8s.KubeConfig();
      kc.loadFromFile(c.kubeconfig);
      const ext = kc.makeApiClient(k8s.ApiextensionsV1Api);
      const applyAs = (fieldManager: string, body: Manifest) =>
        ext.patchCustomResourceDefinition(
          { name: body.metadata.name, body, fieldManager, force: true },
          k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.ServerSideApply),
        );
      // Newer than the pinned manifest, as the operator's own chart would install it: an extra served version and an
      // extra schema field.
      const newer = pinned('alertmanagers');
      const v1 = newer.spec.versions[0]!;
      const schema = JSON.parse(JSON.stringify(v1.schema)) as {
        openAPIV3Schema: { properties: { spec: { properties: Record<string, unknown> } } };
      };
      schema.openAPIV3Schema.properties.spec.properties.fieldFromTheFuture = { type: 'string' };
      newer.spec.versions = [
        { ...v1, schema },
        { ...v1, name: 'v2', storage: false, schema },
      ];
      await applyAs('prometheus-operator', newer);
      // Outdated: the v1 this release needs is not served.
      const outdated = pinned('thanosrulers');
      outdated.spec.versions = outdated.spec.versions.map((v) => ({ ...v, served: false }));
      await applyAs('old-chart', outdated);
      await c.settle(5000);
      const stored = (name: string) =>
        c.store.get('apiextensions.k8s.io/customresourcedefinitions', undefined, name) as
          | {
              spec: { versions: { name: string; served: boolean }[] };
              metadata: { managedFields?: { manager: string }[] };
            }
          | undefined;
      const newerBefore = JSON.stringify(stored('alertmanagers.monitoring.coreos.com'));
      expect(newerBefore).toContain('fieldFromTheFuture');

      const required = [
        'alertmanagers.monitoring.coreos.com@v1',
        'thanosrulers.monitoring.coreos.com@v1',
        'scrapeconfigs.monitoring.coreos.com',
      ].join(',');
      const before = c.requests.length;
      const r = await runHook('crd-check', [`--required=${required}`, '--install', `--crds-dir=${dir}`], {
        KUBECONFIG: installKc,
      });
      expect(r.code).toBe(0);
      expect(r.summary).toContain('2 applied, 0 unchanged, 1 kept');
      const patched = c.requests
        .slice(before)
        .filter((q) => q.method === 'PATCH')
        .map((q) => q.path.split('/').pop());
      expect(patched.sort()).toEqual(['scrapeconfigs.monitoring.coreos.com', 'thanosrulers.monitoring.coreos.com']);
      expect(r.stdout).toMatch(
        /alertmanagers\.monitoring\.coreos\.com\s+kept\s+differs from the pinned manifest, owned by prometheus-operator$/m,
      );
      expect(r.stdout).toMatch(
        /thanosrulers\.monitoring\.coreos\.com\s+applied\s+upgraded \(force\): did not serve v1; conflicting fields taken from old-chart$/m,
      );
      expect(r.stdout).toMatch(/scrapeconfigs\.monitoring\.coreos\.com\s+applied\s+created/);
      expect(r.logs.find((l) => l.crd === 'alertmanagers.monitoring.coreos.com' && l.level === 30)?.msg).toBe(
        'CRD alertmanagers.monitoring.coreos.com kept: differs from the pinned manifest, owned by prometheus-operator',
      );
      expect(JSON.stringify(stored('alertmanagers.monitoring.coreos.com'))).toBe(newerBefore);
      const upgraded = stored('thanosrulers.monitoring.coreos.com');
      expect(upgraded?.spec.versions.find((v) => v.name === 'v1')?.served).toBe(true);
      expect(upgraded?.metadata.managedFields?.map((f) => f.manager)).toContain('helm-tiers');

      // Idempotent: a second run sends no PATCH and still keeps the newer CRD as it is.
      const again = c.requests.length;
      const r2 = await runHook('crd-install', [`--required=${required}`, `--crds-dir=${dir}`], {
        KUBECONFIG: installKc,
      });
      expect(r2.code).toBe(0);
      expect(r2.summary).toContain('0 applied, 2 unchanged, 1 kept');
      expect(c.requests.slice(again).filter((q) => q.method === 'PATCH')).toHaveLength(0);
      expect(JSON.stringify(stored('alertmanagers.monitoring.coreos.com'))).toBe(newerBefore);
    });

    it('a CRD that never becomes Established: exit 11 with its state, inside the deadline (not a timeout)', async () => {
      const crd = c.store.get(
        'apiextensions.k8s.io/customresourcedefinitions',
        undefined,
        'prometheuses.monitoring.coreos.com',
      ) as { metadata: { annotations?: Record<string, string> } };
      crd.metadata.annotations = { ...crd.metadata.annotations, [NEVER_ESTABLISHED]: 'true' };
      c.cluster.update(
        c.cluster.rt('apiextensions.k8s.io', 'customresourcedefinitions')!,
        undefined,
        'prometheuses.monitoring.coreos.com',
        crd,
      );
      const started = Date.now();
      const r = await runHook('crd-install', ['--timeout=12'], {
        KUBECONFIG: installKc,
        HT_REQUIRED_CRDS: 'prometheuses.monitoring.coreos.com@v1',
        HT_CRDS_DIR: `${sharedCrds}/prometheus-operator`,
      });
      expect(r.code, r.summary).toBe(11);
      expect(r.stdout).toMatch(/prometheuses\.monitoring\.coreos\.com\s+required\s+NotEstablished/);
      expect(Date.now() - started).toBeLessThan(12_000);
    });

    it('no manifest for a required CRD: exit 13', async () => {
      const r = await runHook(
        'crd-install',
        ['--required=nothere.example.com', `--crds-dir=${sharedCrds}/prometheus-operator`],
        { KUBECONFIG: installKc },
      );
      expect(r.code).toBe(13);
    });
  },
);

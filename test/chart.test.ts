/**
 * The master chart rendered the way each release of the example plan installs it (plan values merged by
 * releaseValues), on Helm 3 and Helm 4: workloads, hook Jobs, hook RBAC and the restricted Pod Security Standard.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { entryMap, labelKeys, PART_OF_LABEL, tierMetadata } from '../core/labels.js';
import { identityFor, mergeValues } from '../plan/metadata.js';
import type { Values } from '../plan/plan.js';
import { FLUX_CHART_VALUES } from '../flux/generate.js';
import {
  chartDir,
  find,
  helmEnv,
  isHook,
  mapLimit,
  loadExamplePlan,
  MAJORS,
  planValues,
  podSpecs,
  repoRoot,
  template,
  writeValues,
  type K8sObject,
  type Major,
  type PodSpec,
  type Render,
  type Rule,
} from './chart-helm.js';
import { buildRequirements, PROFILES } from '../hooks/src/crd/selection.js';
import { bundle, ensureBundles, RBAC as HOOK_RBAC } from './hooks/support.js';

const plan = loadExamplePlan();
const RELEASES = plan.components.map((c) => c.release);
const HELM_TIMEOUT = 300;
const RBAC_KINDS = new Set(['ServiceAccount', 'Role', 'ClusterRole', 'RoleBinding', 'ClusterRoleBinding']);
const CLUSTER_KINDS = new Set(['ClusterRole', 'ClusterRoleBinding', 'ClusterPolicy']);
const ALL_APIS = [
  'monitoring.coreos.com/v1/Prometheus',
  'monitoring.coreos.com/v1/ServiceMonitor',
  'monitoring.coreos.com/v1/PrometheusRule',
  'kyverno.io/v1/ClusterPolicy',
].flatMap((a) => ['--api-versions', a]);

let env: NodeJS.ProcessEnv;
let cleanupEnv: () => void;
let dir: string;
const renders = new Map<string, Render>();
const key = (major: Major, release: string, variant = 'plan') => `${major}/${release}/${variant}`;

function valuesFile(release: string, overrides: Values = {}, variant = 'plan'): string {
  return writeValues(dir, `${release}-${variant}`, mergeValues(planValues(plan, release), overrides));
}

const REVISION = '0123456789abcdef';
const VARIANTS: Record<string, { overrides: Values; extra: string[] }> = {
  plan: { overrides: {}, extra: [] },
  // The cluster already serves the CRDs: the guarded custom resources are rendered.
  crds: { overrides: {}, extra: ALL_APIS },
  auto: { overrides: { global: { autoInstallCRDs: true, autoFixPods: true } }, extra: [] },
  // The plan's partOfLabel: the hook objects also carry app.kubernetes.io/part-of.
  partOf: { overrides: { global: { tiers: { partOfLabel: true } } }, extra: [] },
  // The plan revision the plan tooling writes (plan/revision.ts): hook objects are annotated with it.
  revision: { overrides: { global: { tiers: { planRevision: REVISION } } }, extra: [] },
  // What the Flux generator adds to every HelmRelease's values.
  flux: { overrides: FLUX_CHART_VALUES, extra: [] },
};

beforeAll(async () => {
  ({ env, cleanup: cleanupEnv } = helmEnv());
  dir = mkdtempSync(path.join(tmpdir(), 'ht-chart-values-'));
  const work: { major: Major; release: string; variant: string; file: string; extra: string[] }[] = [];
  for (const major of MAJORS)
    for (const release of RELEASES)
      for (const [variant, v] of Object.entries(VARIANTS))
        work.push({ major, release, variant, file: valuesFile(release, v.overrides, variant), extra: v.extra });
  await mapLimit(work, 4, async (w) => {
    renders.set(key(w.major, w.release, w.variant), await template(w.major, env, w.release, [w.file], w.extra));
  });
});

afterAll(() => {
  cleanupEnv();
  rmSync(dir, { recursive: true, force: true });
});

function rendered(major: Major, release: string, variant = 'plan'): K8sObject[] {
  const r = renders.get(key(major, release, variant));
  if (!r) throw new Error(`no render for ${key(major, release, variant)}`);
  expect(r.stderr, r.stderr).not.toMatch(/error/i);
  expect(r.code).toBe(0);
  return r.objects;
}

/** The entries of `map` whose keys are listed. */
const pick = (map: Record<string, string> | undefined, keys: readonly string[]) =>
  Object.fromEntries(Object.entries(map ?? {}).filter(([k]) => keys.includes(k)));

const jobArgs = (o: K8sObject | undefined): string[] => o?.spec?.template?.spec.containers[0]?.args ?? [];
const argValue = (args: string[], flag: string): string | undefined =>
  args.find((a) => a.startsWith(`--${flag}=`))?.slice(flag.length + 3);
const weight = (o: K8sObject): number => Number(o.metadata.annotations?.['helm.sh/hook-weight'] ?? '0');
const events = (o: K8sObject): string[] => (o.metadata.annotations?.['helm.sh/hook'] ?? '').split(',');
const sorted = (items: Iterable<string>): string[] => [...new Set(items)].sort();

/** What crd-check itself makes of a Job's command line (its own selection logic): required and optional names. */
function crdSelection(args: string[]): { required: string[]; optional: string[] } {
  const list = (flag: string) =>
    args.filter((a) => a.startsWith(`--${flag}=`)).flatMap((a) => a.split('=')[1]?.split(',') ?? []);
  const reqs = buildRequirements(list('required'), list('optional'), list('profile'));
  return {
    required: sorted(reqs.filter((r) => r.required).map((r) => r.name)),
    optional: sorted(reqs.filter((r) => !r.required).map((r) => r.name)),
  };
}

/** CRD names the release's crd-check ServiceAccount may create/patch, and the CRDs its Jobs require. */
function crdInstallRights(objs: K8sObject[], release: string): { names: string[]; required: string[] } {
  const rules = find(objs, 'ClusterRole', `apps-${release}-crd-check`)?.rules ?? [];
  const writes = rules.filter((r) => r.verbs.includes('create') || r.verbs.includes('patch'));
  const jobs = objs.filter(
    (o) => o.kind === 'Job' && o.spec?.template?.spec.serviceAccountName === `${release}-crd-check`,
  );
  return {
    names: sorted(writes.flatMap((r) => r.resourceNames ?? ['<any>'])),
    required: sorted(jobs.flatMap((j) => crdSelection(jobArgs(j)).required)),
  };
}

/** Releases of the example plan whose CRD check checks nothing (no required or optional CRDs). */
const NO_CRDS = plan.components
  .filter((c) => c.requiredCRDs.length === 0 && c.optionalCRDs.length === 0)
  .map((c) => c.release);

/** The restricted Pod Security Standard (v1.31 rules) for one pod spec; returns the violations. */
function restrictedViolations(spec: PodSpec): string[] {
  const v: string[] = [];
  const pod = spec.securityContext ?? {};
  if (spec.hostNetwork || spec.hostPID || spec.hostIPC) v.push('host namespaces');
  for (const vol of spec.volumes ?? []) {
    const allowed = [
      'configMap',
      'csi',
      'downwardAPI',
      'emptyDir',
      'ephemeral',
      'persistentVolumeClaim',
      'projected',
      'secret',
    ];
    const types = Object.keys(vol).filter((k) => k !== 'name');
    if (!types.every((t) => allowed.includes(t))) v.push(`volume type ${types.join()}`);
  }
  for (const c of [...(spec.initContainers ?? []), ...spec.containers]) {
    const sc = c.securityContext ?? {};
    if (sc.privileged) v.push(`${c.name}: privileged`);
    if (sc.allowPrivilegeEscalation !== false) v.push(`${c.name}: allowPrivilegeEscalation`);
    if (!(sc.capabilities?.drop ?? []).includes('ALL')) v.push(`${c.name}: capabilities not dropped`);
    if ((sc.capabilities?.add ?? []).some((a) => a !== 'NET_BIND_SERVICE')) v.push(`${c.name}: capabilities added`);
    if (!(sc.runAsNonRoot ?? pod.runAsNonRoot)) v.push(`${c.name}: runAsNonRoot`);
    if ((sc.runAsUser ?? pod.runAsUser) === 0) v.push(`${c.name}: runAsUser 0`);
    const seccomp = sc.seccompProfile?.type ?? pod.seccompProfile?.type;
    if (seccomp !== 'RuntimeDefault' && seccomp !== 'Localhost') v.push(`${c.name}: seccompProfile`);
    // Beyond the standard, what this chart promises: read-only root filesystems and bounded memory.
    if (sc.readOnlyRootFilesystem !== true) v.push(`${c.name}: readOnlyRootFilesystem`);
    if (!c.resources?.requests?.cpu || !c.resources.limits?.memory) v.push(`${c.name}: resources`);
  }
  return v;
}

describe.each(MAJORS)('master chart on %s', (major) => {
  it.each(RELEASES)('renders %s with its plan values', (release) => {
    const objs = rendered(major, release);
    expect(objs.length).toBeGreaterThan(5);
    for (const o of objs) expect(o.metadata.namespace ?? 'apps', `${o.kind}/${o.metadata.name}`).toBe('apps');
  });

  it('deploys only the component of each release, with the workloads issue 5 asks for', () => {
    const workloads = (release: string) =>
      rendered(major, release)
        .filter((o) => !isHook(o) && ['Deployment', 'StatefulSet'].includes(o.kind))
        .map((o) => `${o.kind}/${o.metadata.name}`)
        .sort();
    expect(workloads('tier1-database')).toEqual(['StatefulSet/database']);
    expect(workloads('tier2-cache')).toEqual(['Deployment/cache']);
    expect(workloads('tier3-api')).toEqual(['Deployment/api']);
    expect(workloads('tier4-frontend')).toEqual(['Deployment/frontend']);
    expect(workloads('monitoring')).toEqual(['Deployment/monitoring-operator']);
    expect(workloads('kyverno')).toEqual(['Deployment/kyverno-admission-controller']);
    for (const [release, svc] of [
      ['tier1-database', 'database'],
      ['tier2-cache', 'cache'],
      ['tier3-api', 'api'],
      ['tier4-frontend', 'frontend'],
      ['monitoring', 'monitoring-operator'],
      ['kyverno', 'kyverno-svc'],
    ] as const)
      expect(find(rendered(major, release), 'Service', svc), `${release} Service ${svc}`).toBeDefined();
  });

  it('pins every image to an exact tag', () => {
    for (const release of RELEASES)
      for (const o of rendered(major, release))
        for (const spec of podSpecs(o))
          for (const c of spec.containers) {
            expect(c.image, c.image).toMatch(/^[a-z0-9.-]+(\/[a-z0-9._-]+)+:[A-Za-z0-9._-]+$/);
            expect(c.image).not.toMatch(/:latest$/);
          }
  });

  it('meets the restricted Pod Security Standard in every pod spec, hooks included', () => {
    let checked = 0;
    for (const release of RELEASES)
      for (const variant of Object.keys(VARIANTS))
        for (const o of rendered(major, release, variant))
          for (const spec of podSpecs(o)) {
            expect(restrictedViolations(spec), `${release}/${variant} ${o.kind}/${o.metadata.name}`).toEqual([]);
            checked++;
          }
    expect(checked).toBeGreaterThan(40);
  });

  it('gives every workload container readiness and liveness probes', () => {
    for (const release of RELEASES)
      for (const o of rendered(major, release).filter((x) => !isHook(x)))
        for (const spec of podSpecs(o))
          for (const c of spec.containers) {
            expect(c.readinessProbe, `${o.metadata.name}/${c.name}`).toBeDefined();
            expect(c.livenessProbe, `${o.metadata.name}/${c.name}`).toBeDefined();
          }
  });

  it('database: StatefulSet with a volumeClaimTemplate, pg_isready probes and a kept password Secret', () => {
    const objs = rendered(major, 'tier1-database');
    const sts = find(objs, 'StatefulSet', 'database');
    const vct = sts?.spec?.volumeClaimTemplates ?? [];
    expect(vct.map((t) => t.metadata.name)).toEqual(['data']);
    // Nothing but selector labels: these are immutable on a live StatefulSet.
    expect(Object.keys(vct[0]?.metadata.labels ?? {}).sort()).toEqual([
      'app.kubernetes.io/instance',
      'app.kubernetes.io/name',
    ]);
    const pg = sts?.spec?.template?.spec.containers[0];
    for (const probe of [pg?.readinessProbe, pg?.livenessProbe, pg?.startupProbe])
      expect(probe?.exec?.command.join(' ')).toContain('pg_isready');
    const secret = find(objs, 'Secret', 'database');
    expect(secret?.metadata.annotations?.['helm.sh/resource-policy']).toBe('keep');
    expect(Buffer.from(secret?.data?.password ?? '', 'base64').toString()).toMatch(/^[A-Za-z0-9]{32}$/);
    const pw = pg?.env?.find((e) => e.name === 'POSTGRES_PASSWORD');
    expect(pw?.valueFrom?.secretKeyRef).toEqual({ name: 'database', key: 'password' });
  });

  it('protects the replicated tiers with PodDisruptionBudgets that never block evicting unhealthy pods', () => {
    for (const [release, name] of [
      ['tier3-api', 'api'],
      ['tier4-frontend', 'frontend'],
    ] as const) {
      const pdb = find(rendered(major, release), 'PodDisruptionBudget', name) as
        (K8sObject & { spec: { maxUnavailable: number; unhealthyPodEvictionPolicy: string } }) | undefined;
      expect(pdb?.spec.maxUnavailable).toBe(1);
      expect(pdb?.spec.unhealthyPodEvictionPolicy).toBe('AlwaysAllow');
    }
  });

  it('api is wired to the database and cache Services and the database Secret', () => {
    const api = find(rendered(major, 'tier3-api'), 'Deployment', 'api')?.spec?.template?.spec.containers[0];
    const env = new Map((api?.env ?? []).map((e) => [e.name, e]));
    expect(env.get('DATABASE_HOST')?.value).toBe('database');
    expect(env.get('DATABASE_PASSWORD')?.valueFrom?.secretKeyRef).toEqual({ name: 'database', key: 'password' });
    expect(env.get('CACHE_ADDRESS')?.value).toBe('cache:6379');
    expect(api?.command).toContain('--cache-server=tcp://cache:6379');
    const fe = find(rendered(major, 'tier4-frontend'), 'Deployment', 'frontend')?.spec?.template?.spec.containers[0];
    expect(fe?.command).toContain('--backend-url=http://api:9898/echo');
  });

  it('guards custom resources by the served API versions (Helm maps them before any hook runs)', () => {
    const crs = (release: string, variant: string) =>
      rendered(major, release, variant)
        .filter((o) => ['monitoring.coreos.com/v1', 'kyverno.io/v1'].includes(o.apiVersion))
        .map((o) => `${o.kind}/${o.metadata.name}`)
        .sort();
    for (const release of RELEASES) expect(crs(release, 'plan'), release).toEqual([]);
    expect(crs('tier3-api', 'crds')).toEqual(['ServiceMonitor/api']);
    expect(crs('monitoring', 'crds')).toEqual([
      'Prometheus/monitoring',
      'PrometheusRule/monitoring-platform',
      'ServiceMonitor/monitoring-operator',
      'ServiceMonitor/monitoring-prometheus',
    ]);
    expect(crs('kyverno', 'crds')).toEqual([
      'ClusterPolicy/apps-kyverno-pod-security-restricted',
      'ClusterPolicy/apps-kyverno-require-tier-labels',
      'ServiceMonitor/kyverno',
    ]);
    const prom = find(rendered(major, 'monitoring', 'crds'), 'Prometheus', 'monitoring');
    expect(prom?.spec?.securityContext).toMatchObject({
      runAsNonRoot: true,
      seccompProfile: { type: 'RuntimeDefault' },
    });
    const policy = find(rendered(major, 'kyverno', 'crds'), 'ClusterPolicy', 'apps-kyverno-require-tier-labels');
    expect(JSON.stringify(policy?.spec?.rules?.[0]?.validate?.pattern)).toContain('helm-tiers.io/tier');
  });

  it('renders the hook Jobs each release needs, named as the runbooks expect', () => {
    const jobs = (release: string) =>
      rendered(major, release)
        .filter((o) => o.kind === 'Job')
        .map((o) => o.metadata.name)
        .sort();
    for (const release of RELEASES) {
      const c = plan.components.find((x) => x.release === release);
      const expected = [`${release}-post-install-check`, `${release}-pre-crd-check`];
      if (c && c.dependsOn.length > 0) expected.push(`${release}-pre-install-check`);
      if (release === 'kyverno') expected.push('kyverno-kyverno-crd-check');
      expect(jobs(release), release).toEqual(expected.sort());
    }
  });

  it('passes the plan to the hook programs', () => {
    const monitoring = find(rendered(major, 'monitoring'), 'Job', 'monitoring-pre-crd-check');
    expect(argValue(jobArgs(monitoring), 'required')?.split(',')).toEqual([
      'prometheuses.monitoring.coreos.com',
      'servicemonitors.monitoring.coreos.com',
      'podmonitors.monitoring.coreos.com',
      'prometheusrules.monitoring.coreos.com',
      'alertmanagers.monitoring.coreos.com',
    ]);
    expect(jobArgs(monitoring)).not.toContain('--install');
    expect(monitoring?.spec?.template?.spec.containers[0]?.command).toEqual(['/nodejs/bin/node', '/app/crd-check.cjs']);

    // The kyverno profile (1.13+) expanded by the chart, plus the plan's lists; the 1.12 report CRDs never required.
    const kyverno = jobArgs(find(rendered(major, 'kyverno'), 'Job', 'kyverno-kyverno-crd-check'));
    const kc = plan.components.find((c) => c.name === 'kyverno');
    const profile = PROFILES.kyverno;
    expect(argValue(kyverno, 'profile')).toBeUndefined();
    expect(sorted(argValue(kyverno, 'required')?.split(',') ?? [])).toEqual(
      sorted([...(profile?.required ?? []), ...(kc?.requiredCRDs ?? [])]),
    );
    expect(argValue(kyverno, 'required')).not.toMatch(/admissionreports|backgroundscanreports/);
    expect(sorted(argValue(kyverno, 'optional')?.split(',') ?? [])).toEqual(
      sorted([...(profile?.optional ?? []), ...(kc?.optionalCRDs ?? [])]),
    );
    // The kyverno CRDs are the kyverno Job's business, not the generic check's.
    const generic = find(rendered(major, 'kyverno'), 'Job', 'kyverno-pre-crd-check');
    expect(generic).toBeDefined();
    expect(argValue(jobArgs(generic), 'required')).toBeUndefined();

    const apiCrd = jobArgs(find(rendered(major, 'tier3-api'), 'Job', 'tier3-api-pre-crd-check'));
    expect(argValue(apiCrd, 'required')).toBeUndefined();
    expect(argValue(apiCrd, 'optional')).toBe('servicemonitors.monitoring.coreos.com');

    const dep = jobArgs(find(rendered(major, 'tier3-api'), 'Job', 'tier3-api-pre-install-check'));
    expect(argValue(dep, 'depends-on')).toBe('tier1-database,tier2-cache');
    expect(argValue(dep, 'require-services')).toBe('database,cache');
    expect(argValue(dep, 'label-prefix')).toBe('helm-tiers.io/');
    expect(argValue(dep, 'namespace')).toBe('apps');
    const fe = jobArgs(find(rendered(major, 'tier4-frontend'), 'Job', 'tier4-frontend-pre-install-check'));
    expect(argValue(fe, 'require-services')).toBe('api');

    const post = jobArgs(find(rendered(major, 'tier1-database'), 'Job', 'tier1-database-post-install-check'));
    expect(argValue(post, 'release')).toBe('tier1-database');
    expect(post).not.toContain('--auto-fix');
    const postFix = jobArgs(
      find(rendered(major, 'tier1-database', 'auto'), 'Job', 'tier1-database-post-install-check'),
    );
    expect(postFix).toContain('--auto-fix');
    const crdAuto = jobArgs(find(rendered(major, 'monitoring', 'auto'), 'Job', 'monitoring-pre-crd-check'));
    expect(crdAuto).toContain('--install');
  });

  it('keeps the last Job readable, prints its logs, and ends it before the Helm/Flux timeout', () => {
    for (const release of RELEASES)
      for (const job of rendered(major, release).filter((o) => o.kind === 'Job')) {
        const a = job.metadata.annotations ?? {};
        expect(a['helm.sh/hook-delete-policy'], job.metadata.name).toBe('before-hook-creation');
        expect(a['helm.sh/hook-output-log-policy']).toBe('hook-succeeded,hook-failed');
        // Off under Flux: helm-controller 1.6.2-1.6.4 panics on it (the Jobs are otherwise the same).
        const flux = find(rendered(major, release, 'flux'), 'Job', job.metadata.name);
        expect(flux?.metadata.annotations?.['helm.sh/hook-delete-policy']).toBe('before-hook-creation');
        expect(flux?.metadata.annotations).not.toHaveProperty(['helm.sh/hook-output-log-policy']);
        expect(job.spec?.ttlSecondsAfterFinished).toBeUndefined();
        expect(job.spec?.backoffLimit).toBe(0);
        expect(job.spec?.activeDeadlineSeconds).toBeGreaterThan(0);
        expect(job.spec?.activeDeadlineSeconds).toBeLessThan(HELM_TIMEOUT);
        const timeout = Number(argValue(jobArgs(job), 'timeout'));
        expect(timeout).toBeLessThan(job.spec?.activeDeadlineSeconds ?? 0);
        expect(job.spec?.template?.spec.restartPolicy).toBe('Never');
        expect(job.spec?.template?.spec.containers[0]?.image).toBe('ghcr.io/helm-tiers/hooks:0.1.0');
      }
  });

  // Helm 3 never post-renders hooks: the chart labels them itself, with exactly the label contract's keys and
  // values (core/labels.ts), plus the hook marker that tells them from workloads.
  it.each([false, true])('labels every hook object with the label contract (partOfLabel: %s)', (partOfLabel) => {
    for (const release of RELEASES) {
      const meta = tierMetadata(identityFor({ ...plan, partOfLabel }, release));
      const keys = labelKeys(plan.labelPrefix);
      const labels = entryMap(meta.labels);
      const annotations = entryMap(meta.annotations);
      const hooks = rendered(major, release, partOfLabel ? 'partOf' : 'plan').filter(isHook);
      expect(hooks.length, release).toBeGreaterThan(0);
      for (const o of hooks) {
        const id = `${release} ${o.kind}/${o.metadata.name}`;
        const hook = o.metadata.labels?.[keys.hook];
        // The marker names the hook the object belongs to: its own name ends with it (Jobs and their RBAC alike).
        expect(hook, id).toMatch(/^[a-z][a-z0-9-]*$/);
        expect(o.metadata.name.endsWith(`-${hook}`), id).toBe(true);
        expect({ id, labels: pick(o.metadata.labels, [...Object.keys(labels), PART_OF_LABEL]) }).toEqual({
          id,
          labels,
        });
        expect({ id, annotations: pick(o.metadata.annotations, Object.keys(annotations)) }).toEqual({
          id,
          annotations,
        });
        if (o.kind !== 'Job') continue;
        const podLabels = o.spec?.template?.metadata?.labels;
        expect({ id, labels: pick(podLabels, [...Object.keys(labels), PART_OF_LABEL]) }).toEqual({ id, labels });
        expect(podLabels?.[keys.hook], id).toBe(hook);
      }
    }
  });

  // With global.tiers.planRevision the hook objects carry the contract's plan-revision annotation (what
  // `post-render --plan-revision` writes on Helm 4, where hooks are post-rendered too: equal values, no conflict),
  // never on the Jobs' pod templates; the dependency check is told to require it. Without it, neither.
  it('annotates every hook object with the plan revision and passes it to the dependency check', () => {
    const keys = labelKeys(plan.labelPrefix);
    for (const release of RELEASES) {
      const meta = tierMetadata({ ...identityFor(plan, release), planRevision: REVISION });
      const annotations = entryMap(meta.annotations);
      expect(annotations[keys.planRevision]).toBe(REVISION);
      const hooks = rendered(major, release, 'revision').filter(isHook);
      expect(hooks.length, release).toBeGreaterThan(0);
      for (const o of hooks) {
        const id = `${release} ${o.kind}/${o.metadata.name}`;
        expect({ id, annotations: pick(o.metadata.annotations, Object.keys(annotations)) }).toEqual({
          id,
          annotations,
        });
        expect(JSON.stringify(o.spec?.template?.metadata ?? {}), id).not.toContain(keys.planRevision);
      }
      for (const o of rendered(major, release).filter(isHook))
        expect(o.metadata.annotations?.[keys.planRevision], `${release} ${o.kind}/${o.metadata.name}`).toBeUndefined();
      const dep = find(rendered(major, release, 'revision'), 'Job', `${release}-pre-install-check`);
      const plain = find(rendered(major, release), 'Job', `${release}-pre-install-check`);
      expect(dep === undefined, release).toBe(plain === undefined);
      if (dep) expect(argValue(jobArgs(dep), 'plan-revision'), release).toBe(REVISION);
      if (plain) expect(argValue(jobArgs(plain), 'plan-revision'), release).toBeUndefined();
    }
    // Not vacuous: the releases with dependencies have the Job.
    expect(find(rendered(major, 'tier3-api', 'revision'), 'Job', 'tier3-api-pre-install-check')).toBeDefined();
  });

  it.each(Object.keys(VARIANTS))('orders hook RBAC before the Jobs that use it (%s)', (variant) => {
    for (const release of RELEASES) {
      const hooks = rendered(major, release, variant).filter(isHook);
      for (const job of hooks.filter((o) => o.kind === 'Job')) {
        const sa = job.spec?.template?.spec.serviceAccountName ?? '';
        const rbac = hooks.filter(
          (o) =>
            (o.kind === 'ServiceAccount' && o.metadata.name === sa) ||
            (o.subjects ?? []).some((s) => s.kind === 'ServiceAccount' && s.name === sa),
        );
        const roles = rbac
          .filter((o) => o.kind.endsWith('Binding'))
          .map((b) => `${b.roleRef?.kind}/${b.roleRef?.name}`);
        rbac.push(...hooks.filter((o) => roles.includes(`${o.kind}/${o.metadata.name}`)));
        expect(rbac.map((o) => o.kind).sort(), `${release} ${job.metadata.name}`).toContain('ServiceAccount');
        // A CRD check of nothing makes no API call: its ServiceAccount has no role at all.
        const checksNothing = job.metadata.name === `${release}-pre-crd-check` && NO_CRDS.includes(release);
        if (checksNothing) expect(rbac.map((o) => o.kind)).toEqual(['ServiceAccount']);
        else expect(rbac.length).toBeGreaterThanOrEqual(3);
        for (const r of rbac) {
          expect(weight(r), `${r.kind}/${r.metadata.name} vs ${job.metadata.name}`).toBeLessThan(weight(job));
          for (const e of events(job)) expect(events(r)).toContain(e);
          // No standing permissions: the RBAC goes once every hook of the event succeeded.
          expect(r.metadata.annotations?.['helm.sh/hook-delete-policy']).toBe('before-hook-creation,hook-succeeded');
        }
      }
      // Checks run in a fixed order: CRDs first, then dependencies.
      const w = (suffix: string) => hooks.find((o) => o.metadata.name === `${release}-${suffix}`);
      const crd = w('pre-crd-check');
      const dep = w('pre-install-check');
      if (crd && dep) expect(weight(crd)).toBeLessThan(weight(dep));
    }
  });

  it('grants the hooks least privilege', () => {
    const verbsOf = (objs: K8sObject[], kind: string, name: string) => find(objs, kind, name)?.rules ?? [];
    for (const release of RELEASES) {
      const objs = rendered(major, release);
      for (const o of objs.filter((x) => isHook(x) && (x.kind === 'Role' || x.kind === 'ClusterRole')))
        for (const r of o.rules ?? []) {
          expect(r.verbs, o.metadata.name).not.toContain('*');
          expect(r.resources).not.toContain('*');
          expect(r.verbs).not.toContain('delete');
          expect(r.resources).not.toContain('secrets');
        }
      // Without autoInstallCRDs the CRD check only reads CRDs (and has no ClusterRole when it checks none).
      const crd = verbsOf(objs, 'ClusterRole', `apps-${release}-crd-check`);
      expect(crd.flatMap((r) => r.verbs).sort(), release).toEqual(NO_CRDS.includes(release) ? [] : ['list']);
      // Without autoFixPods the pod check cannot evict or patch anything.
      const pod = verbsOf(objs, 'Role', `${release}-pod-check`);
      expect(pod.flatMap((r) => r.resources)).not.toContain('pods/eviction');
      expect(pod.flatMap((r) => r.verbs)).not.toContain('patch');
      expect(pod.flatMap((r) => r.resources)).not.toContain('replicasets');
      expect(pod.find((r) => r.resources.includes('pods/log'))?.verbs).toEqual(['get']);
      expect(find(objs, 'ClusterRole', `apps-${release}-pod-check`)).toBeUndefined();
    }
    const auto = rendered(major, 'monitoring', 'auto');
    const crd = find(auto, 'ClusterRole', 'apps-monitoring-crd-check')?.rules ?? [];
    expect(crd.find((r) => !r.resourceNames)?.verbs).toEqual(['get', 'list']);
    const patch = crd.find((r) => r.verbs.includes('patch'));
    // Server-side apply of a missing CRD is also authorized as create, with the CRD's name.
    expect(patch?.verbs).toEqual(['create', 'patch']);
    expect(crd.filter((r) => r.verbs.includes('create'))).toEqual([patch]);
    expect(patch?.resourceNames).toEqual([
      'prometheuses.monitoring.coreos.com',
      'servicemonitors.monitoring.coreos.com',
      'podmonitors.monitoring.coreos.com',
      'prometheusrules.monitoring.coreos.com',
      'alertmanagers.monitoring.coreos.com',
    ]);
    // The installer may create/patch exactly the CRDs its Jobs require (as crd-check reads their arguments).
    for (const release of RELEASES) {
      const { names, required } = crdInstallRights(rendered(major, release, 'auto'), release);
      expect(names, release).toEqual(required);
    }
    expect(crdInstallRights(rendered(major, 'kyverno', 'auto'), 'kyverno').names).toContain(
      'clusterpolicies.kyverno.io',
    );
    const pod = find(rendered(major, 'tier3-api', 'auto'), 'Role', 'tier3-api-pod-check')?.rules ?? [];
    expect(pod.find((r) => r.resources.includes('pods/eviction'))?.verbs).toEqual(['create']);
    expect(pod.find((r) => r.resources.includes('replicasets'))?.verbs).toEqual(['get']);
    expect(pod.find((r) => r.verbs.includes('patch'))?.resources.sort()).toEqual([
      'daemonsets',
      'deployments',
      'statefulsets',
    ]);
  });

  it('grants each hook program exactly the RBAC hooks/README.md documents', () => {
    // "group/resource:verb" triples; resourceNames only narrow a rule further.
    const triples = (rules: readonly Rule[]) =>
      [
        ...new Set(
          rules.flatMap((r) =>
            r.apiGroups.flatMap((g) => r.resources.flatMap((res) => r.verbs.map((v) => `${g}/${res}:${v}`))),
          ),
        ),
      ].sort();
    const rulesOf = (release: string, variant: string, kind: string, name: string) =>
      find(rendered(major, release, variant), kind, name)?.rules ?? [];
    expect(triples(rulesOf('monitoring', 'plan', 'ClusterRole', 'apps-monitoring-crd-check'))).toEqual(
      triples(HOOK_RBAC['crd-check']?.cluster ?? []),
    );
    // Installing also needs create: the API server authorizes an apply that creates a CRD as create as well.
    expect(triples(rulesOf('monitoring', 'auto', 'ClusterRole', 'apps-monitoring-crd-check'))).toEqual(
      triples([
        ...(HOOK_RBAC['crd-install']?.cluster ?? []),
        { apiGroups: ['apiextensions.k8s.io'], resources: ['customresourcedefinitions'], verbs: ['create'] },
      ]),
    );
    expect(triples(rulesOf('tier3-api', 'plan', 'Role', 'tier3-api-dependency-check'))).toEqual(
      triples(HOOK_RBAC['dependency-check']?.namespaced ?? []),
    );
    // Services are read only when the release has Services to check (the cache only waits for the database).
    expect(triples(rulesOf('tier2-cache', 'plan', 'Role', 'tier2-cache-dependency-check'))).toEqual(
      triples(HOOK_RBAC['dependency-check']?.namespaced ?? []).filter((t) => t !== '/services:get'),
    );
    expect(triples(rulesOf('tier3-api', 'plan', 'Role', 'tier3-api-pod-check'))).toEqual(
      triples(HOOK_RBAC['pod-check']?.namespaced ?? []),
    );
    expect(triples(rulesOf('tier3-api', 'auto', 'Role', 'tier3-api-pod-check'))).toEqual(
      triples(HOOK_RBAC['pod-check --auto-fix']?.namespaced ?? []),
    );
  });

  // Issue 5: "a ClusterRole for CRDs only where needed". The Job and its ServiceAccount stay (the runbook reads
  // `kubectl logs job/<release>-pre-crd-check`); crd-check passes it without an API call (the real-program suite below).
  it('grants cluster-wide CRD rights only to releases whose checks look at CRDs', () => {
    expect(NO_CRDS).toEqual(['tier1-database', 'tier2-cache', 'tier4-frontend']);
    for (const release of RELEASES)
      for (const variant of Object.keys(VARIANTS)) {
        const objs = rendered(major, release, variant);
        const cluster = objs.filter((o) => o.kind === 'ClusterRole' || o.kind === 'ClusterRoleBinding');
        const crdRbac = cluster.filter((o) => o.metadata.name === `apps-${release}-crd-check`);
        const job = find(objs, 'Job', `${release}-pre-crd-check`);
        expect(job?.spec?.template?.spec.serviceAccountName, release).toBe(`${release}-crd-check`);
        expect(find(objs, 'ServiceAccount', `${release}-crd-check`), release).toBeDefined();
        if (NO_CRDS.includes(release)) {
          expect(crdSelection(jobArgs(job)), `${release}/${variant}`).toEqual({ required: [], optional: [] });
          expect(
            cluster.map((o) => `${o.kind}/${o.metadata.name}`),
            `${release}/${variant}`,
          ).toEqual([]);
        } else
          expect(crdRbac.map((o) => o.kind).sort(), `${release}/${variant}`).toEqual([
            'ClusterRole',
            'ClusterRoleBinding',
          ]);
      }
  });

  it('names cluster-scoped objects with the namespace and the release', () => {
    for (const release of RELEASES)
      for (const o of rendered(major, release, 'crds').filter((x) => CLUSTER_KINDS.has(x.kind))) {
        expect(o.metadata.name, `${o.kind}/${o.metadata.name}`).toMatch(new RegExp(`^apps-${release}-`));
        expect(o.metadata.namespace).toBeUndefined();
      }
  });

  it('has no RBAC kinds outside the hooks except the operators that need them', () => {
    const owners = new Set(['monitoring', 'kyverno']);
    for (const release of RELEASES) {
      const plain = rendered(major, release).filter((o) => !isHook(o) && RBAC_KINDS.has(o.kind));
      if (!owners.has(release))
        expect(
          plain.map((o) => o.kind),
          release,
        ).toEqual([]);
    }
  });
});

describe('Helm 3 and Helm 4', () => {
  it.each(RELEASES)('render %s identically (but for the random password)', (release) => {
    const normalize = (objs: K8sObject[]) =>
      objs
        .map((o) => (o.kind === 'Secret' ? { ...o, data: { ...o.data, password: '<random>' } } : o))
        .map((o) => JSON.stringify(o))
        .sort();
    for (const variant of Object.keys(VARIANTS))
      expect(normalize(rendered('helm4', release, variant)), variant).toEqual(
        normalize(rendered('helm3', release, variant)),
      );
  });
});

describe.each(MAJORS)('master chart values on %s', (major) => {
  it('refuses hook deadlines that reach the Helm/Flux timeout', async () => {
    const file = valuesFile('tier1-database', { global: { hooks: { timeouts: { podCheck: 280 } } } }, 'deadline');
    const r = await template(major, env, 'tier1-database', [file]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('global.hooks.helmTimeoutSeconds');
    const raised = valuesFile(
      'tier1-database',
      { global: { hooks: { timeouts: { podCheck: 280 }, helmTimeoutSeconds: 600 } } },
      'raised',
    );
    expect((await template(major, env, 'tier1-database', [raised])).code).toBe(0);
  });

  it('uses an explicit database password or an existing Secret instead of generating one', async () => {
    const explicit = valuesFile('tier1-database', { database: { auth: { password: 's3cret' } } }, 'pw');
    const objs = (await template(major, env, 'tier1-database', [explicit])).objects;
    expect(find(objs, 'Secret', 'database')?.data?.password).toBe(Buffer.from('s3cret').toString('base64'));
    const existing = valuesFile('tier1-database', { database: { auth: { existingSecret: 'pg-creds' } } }, 'existing');
    const objs2 = (await template(major, env, 'tier1-database', [existing])).objects;
    expect(find(objs2, 'Secret', 'database')).toBeUndefined();
    const pg = find(objs2, 'StatefulSet', 'database')?.spec?.template?.spec.containers[0];
    expect(pg?.env?.find((e) => e.name === 'POSTGRES_PASSWORD')?.valueFrom?.secretKeyRef?.name).toBe('pg-creds');
  });

  it('renders no hook objects when global.hooks.enabled is false', async () => {
    const file = valuesFile('tier3-api', { global: { hooks: { enabled: false } } }, 'nohooks');
    const r = await template(major, env, 'tier3-api', [file]);
    expect(r.code).toBe(0);
    expect(r.objects.filter(isHook)).toEqual([]);
    expect(find(r.objects, 'Deployment', 'api')).toBeDefined();
  });

  it('keeps free-text values intact in command lines', async () => {
    const message = 'tier: 4 # "frontend"';
    const file = valuesFile('tier4-frontend', { frontend: { uiMessage: message } }, 'msg');
    const r = await template(major, env, 'tier4-frontend', [file]);
    expect(r.code, r.stderr).toBe(0);
    const fe = find(r.objects, 'Deployment', 'frontend')?.spec?.template?.spec.containers[0];
    expect(fe?.command).toContain(`--ui-message=${message}`);
  });

  // The README: "A component's requiredCRDs are required when its requiresCRDs is true and only warned about
  // otherwise". crd-check makes every CRD of a --profile required, so the chart must not pass one.
  it('kyverno.requiresCRDs decides whether the Kyverno CRDs are required, and the installer may create exactly those', async () => {
    const kyverno = (variant: string, values: Values) =>
      template(major, env, 'kyverno', [
        valuesFile('kyverno', mergeValues({ global: { autoInstallCRDs: true } }, values), variant),
      ]);
    const kjob = (objs: K8sObject[]) => jobArgs(find(objs, 'Job', 'kyverno-kyverno-crd-check'));

    const warnOnly = await kyverno('kyverno-optional', { kyverno: { requiresCRDs: false } });
    expect(warnOnly.code, warnOnly.stderr).toBe(0);
    const sel = crdSelection(kjob(warnOnly.objects));
    expect(sel.required).toEqual([]);
    for (const name of [...(PROFILES.kyverno?.required ?? []), ...(PROFILES.kyverno?.optional ?? [])])
      expect(sel.optional).toContain(name);
    // Nothing to install: the CRD check may read CRDs but never create or patch one.
    const rules = find(warnOnly.objects, 'ClusterRole', 'apps-kyverno-crd-check')?.rules ?? [];
    expect(rules.flatMap((r) => r.verbs).sort()).toEqual(['get', 'list']);

    // Each profile as crd-check knows it (hooks/src/crd/selection.ts), with nothing added by the values.
    for (const [crdProfile, p] of Object.entries(PROFILES).filter(([n]) => n.startsWith('kyverno'))) {
      const r = await kyverno(`profile-${crdProfile}`, { kyverno: { crdProfile, requiredCRDs: [], optionalCRDs: [] } });
      expect(r.code, r.stderr).toBe(0);
      expect(crdSelection(kjob(r.objects)), crdProfile).toEqual({
        required: sorted(p.required),
        optional: sorted(p.optional),
      });
      const rights = crdInstallRights(r.objects, 'kyverno');
      expect(rights.names, crdProfile).toEqual(rights.required);
    }

    // The 1.12 profile requires the old report CRDs: the installer may create them (no 403 half-way).
    const old = await kyverno('kyverno-1.12', { kyverno: { crdProfile: 'kyverno-1.12' } });
    const rights = crdInstallRights(old.objects, 'kyverno');
    expect(rights.required).toContain('admissionreports.kyverno.io');
    expect(rights.names).toEqual(rights.required);
  });

  // Issue 5: "Kyverno's list updated for 1.13+ with the older report CRDs optional", in the chart's defaults and
  // in the example plan alike.
  it('warns about the report CRDs Kyverno 1.13 removed, never requires them (kyverno profile)', async () => {
    const removed = PROFILES['kyverno-1.12']?.required.filter((n) => !PROFILES.kyverno?.required.includes(n)) ?? [];
    expect(sorted(removed)).toEqual([
      'admissionreports.kyverno.io',
      'backgroundscanreports.kyverno.io',
      'clusteradmissionreports.kyverno.io',
      'clusterbackgroundscanreports.kyverno.io',
    ]);
    const defaults = await template(major, env, 'kyverno', [
      writeValues(dir, 'kyverno-chart-defaults', { kyverno: { enabled: true } }),
    ]);
    expect(defaults.code, defaults.stderr).toBe(0);
    for (const [source, objs] of [
      ['chart defaults', defaults.objects],
      ['plan', rendered(major, 'kyverno')],
    ] as const) {
      const sel = crdSelection(jobArgs(find(objs, 'Job', 'kyverno-kyverno-crd-check')));
      for (const name of removed) {
        expect(sel.optional, `${source}: ${name}`).toContain(name);
        expect(sel.required, `${source}: ${name}`).not.toContain(name);
      }
      expect(sel.required, source).toEqual(sorted(PROFILES.kyverno?.required ?? []));
    }
  });

  // dependency-check can only find Services in the release namespace: an external database (an RDS endpoint) or a
  // Service named by its FQDN would be reported missing and fail the pre-install check (exit 22).
  it('checks only in-namespace Service names, never external or FQDN hosts', async () => {
    const file = valuesFile(
      'tier3-api',
      {
        api: {
          database: { host: 'mydb.abc.rds.amazonaws.com' },
          cache: { host: 'redis.cache.svc.cluster.local' },
        },
        frontend: { enabled: true, apiUrl: 'http://10.0.0.7:9898' },
      },
      'external',
    );
    const r = await template(major, env, 'tier3-api', [file]);
    expect(r.code, r.stderr).toBe(0);
    const dep = jobArgs(find(r.objects, 'Job', 'tier3-api-pre-install-check'));
    expect(argValue(dep, 'depends-on')).toBe('tier1-database,tier2-cache');
    expect(dep.filter((a) => a.startsWith('--require-services'))).toEqual([]);
    // No Services to check: no right to read them either.
    const role = find(r.objects, 'Role', 'tier3-api-dependency-check')?.rules ?? [];
    expect(role.flatMap((x) => x.resources)).not.toContain('services');
    // One in-namespace name among external ones is still checked.
    const mixed = valuesFile('tier3-api', { api: { database: { host: 'mydb.abc.rds.amazonaws.com' } } }, 'mixed');
    const m = await template(major, env, 'tier3-api', [mixed]);
    expect(argValue(jobArgs(find(m.objects, 'Job', 'tier3-api-pre-install-check')), 'require-services')).toBe('cache');
  });

  it('renders the optional Ingress with the frontend Service as backend', async () => {
    const file = valuesFile(
      'tier4-frontend',
      { frontend: { ingress: { enabled: true, host: 'app.example.org' } } },
      'ing',
    );
    const objs = (await template(major, env, 'tier4-frontend', [file])).objects;
    expect(JSON.stringify(find(objs, 'Ingress', 'frontend'))).toContain('"host":"app.example.org"');
  });
});

// helm-controller upgrades a release only when its chart revision, values or spec change, never because the cluster
// now serves a CRD: "the next reconciliation" (an interval run) would not render the guarded custom resources.
describe('docs: when the guarded custom resources appear under Flux', () => {
  it('name what makes helm-controller upgrade, as the generated HelmReleases are set up', () => {
    const flat = (file: string) => readFileSync(file, 'utf8').replace(/\s+/g, ' ');
    const readme = flat(path.join(chartDir, 'README.md'));
    const notes = flat(path.join(chartDir, 'templates/NOTES.txt'));
    const fluxDir = path.join(repoRoot, 'flux-resources');
    const releases = readdirSync(fluxDir)
      .filter((f) => f.endsWith('-helmrelease.yaml'))
      .map(
        (f) =>
          parse(readFileSync(path.join(fluxDir, f), 'utf8')) as {
            metadata: { namespace: string };
            spec: { chart: { spec: { reconcileStrategy: string; sourceRef: { kind: string } } } };
          },
      );
    expect(releases).toHaveLength(RELEASES.length);
    for (const hr of releases) {
      expect(hr.spec.chart.spec.sourceRef.kind).toBe('GitRepository');
      // The chart is repackaged only for a new plan revision (flux/generate.ts RECONCILE_STRATEGY).
      expect(hr.spec.chart.spec.reconcileStrategy).toBe('ChartVersion');
      expect(hr.metadata.namespace).toBe('flux-system');
    }
    expect(readme).not.toMatch(/next reconciliation/);
    expect(readme).toContain('the next chart revision or values change');
    expect(readme).toContain('carry the plan revision, so the next change to the plan or its charts');
    expect(readme).toContain('`flux reconcile helmrelease <name> -n flux-system --force`');
    // NOTES.txt gives the same advice, with the HelmRelease's namespace (not the release's).
    expect(notes).toContain('next chart revision or values change');
    expect(notes).toContain('flux reconcile helmrelease {{ $.Release.Name }} -n flux-system --force');
  });
});

describe('hook Jobs against the real hook programs', () => {
  interface JobRun {
    job: string;
    args: string[];
    code: number;
    out: string;
  }
  let results: JobRun[] = [];

  // Every rendered Job's command line, run by the bundled program against an API server that refuses connections:
  // flags and CRD references are parsed and validated, then the first API call fails fast with
  // E_API_UNAVAILABLE (exit 45) or E_TIMEOUT (50), never a usage error (exit 64). The last --timeout wins: retries stay short.
  beforeAll(async () => {
    ensureBundles();
    const kubeconfig = path.join(dir, 'unreachable.kubeconfig');
    writeFileSync(
      kubeconfig,
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Config',
        clusters: [{ name: 'c', cluster: { server: 'http://127.0.0.1:1', 'insecure-skip-tls-verify': true } }],
        users: [{ name: 'u', user: { token: 'x' } }],
        contexts: [{ name: 'c', context: { cluster: 'c', user: 'u', namespace: 'apps' } }],
        'current-context': 'c',
      }),
    );
    const jobs: { job: string; program: string; args: string[] }[] = [];
    for (const release of RELEASES)
      for (const variant of ['plan', 'auto', 'revision'])
        for (const job of rendered('helm3', release, variant).filter((o) => o.kind === 'Job')) {
          const c = job.spec?.template?.spec.containers[0];
          expect(c?.command?.[0]).toBe('/nodejs/bin/node');
          const program = /^\/app\/(.+)\.cjs$/.exec(c?.command?.[1] ?? '')?.[1] ?? '';
          jobs.push({ job: `${variant} ${job.metadata.name}`, program, args: c?.args ?? [] });
        }
    results = await mapLimit(
      jobs,
      4,
      (j) =>
        new Promise<JobRun>((resolve) => {
          execFile(
            process.execPath,
            [bundle(j.program), ...j.args, '--timeout=1'],
            { env: { PATH: process.env.PATH, KUBECONFIG: kubeconfig } },
            (err, stdout, stderr) => {
              resolve({ job: j.job, args: j.args, code: err ? Number(err.code) : 0, out: stdout + stderr });
            },
          );
        }),
    );
  });

  // crd-check without --required/--optional/--profile: a release whose components need no CRDs.
  const nothingToCheck = (r: JobRun) =>
    r.job.includes('crd-check') && !r.args.some((a) => /^--(required|optional|profile)=/.test(a));

  it('every Job command line is accepted by the bundled program', () => {
    const checked = results.filter((r) => !nothingToCheck(r));
    expect(checked.length).toBeGreaterThanOrEqual(16);
    for (const r of checked) {
      expect(r.out, r.job).not.toContain('E_USAGE');
      // E_API_UNAVAILABLE, or E_TIMEOUT when the 1 s deadline comes first on a busy machine.
      expect([45, 50], `${r.job}: ${r.out.slice(-400)}`).toContain(r.code);
    }
  });

  // The runbook reads `kubectl logs job/tier1-database-pre-crd-check`: a release that needs no CRDs still gets the
  // Job, and crd-check passes it without calling the API.
  it('a release that needs no CRDs gets a pre-crd-check that passes', () => {
    const empty = results.filter(nothingToCheck);
    expect(empty.map((r) => r.job)).toContain('plan tier1-database-pre-crd-check');
    for (const r of empty) {
      expect(r.out, r.job).toContain('nothing to check');
      expect(r.code, r.job).toBe(0);
    }
  });
});

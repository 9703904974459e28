/**
 * The Flux layout of a plan: a pure function from the plan and options to file name → YAML text.
 *
 * Layout (docs/flux.md, ADR 0004):
 * - `namespace.yaml`: the plan's target namespaces (never the Flux namespace, which bootstrap owns).
 * - `gitrepository.yaml`: the GitRepository the charts come from.
 * - one HelmRelease file per component: `tier<N>-helmrelease.yaml` for a component of tier N ≥ 1 (alone in its
 *   tier), `tier<N>-<component>-helmrelease.yaml` when several components share tier N, `<component>-helmrelease.yaml`
 *   for tier 0 platform components.
 * - `kustomization.yaml` listing them, in that order.
 *
 * The HelmReleases and the GitRepository live in the Flux namespace and install into the component's namespace
 * (`targetNamespace`, with `releaseName` and `storageNamespace` pinned so the Helm release is the same one the
 * CLI path installs: same name, same storage namespace).
 */
import { posix } from 'node:path';
import { Document } from 'yaml';
import { ErrorCodes, HelmTiersError } from '../core/errors.js';
import { labelKeys, tierMetadata } from '../core/labels.js';
import { identityFor, mergeValues, releaseValues } from '../plan/metadata.js';
import {
  crdTier,
  dependencyReleases,
  DNS1123_LABEL,
  planCharts,
  usesCRDs,
  DNS1123_SUBDOMAIN,
  type Component,
  type Plan,
  type Values,
} from '../plan/plan.js';
import { goDuration, hookDeadlines, releaseTimeoutSeconds } from './hooks.js';
import { kustomizePatches } from './patches.js';

export interface FluxOptions {
  /** Git URL of the repository holding the charts; must match `^(http|https|ssh)://` (GitRepository CRD). */
  readonly gitUrl: string;
  readonly branch: string;
  /**
   * Secret in the Flux namespace with the Git credentials (GitRepository `spec.secretRef`); empty for a public
   * repository. `flux bootstrap` keeps its deploy key in `flux-system` (use it with the ssh:// URL it prints).
   */
  readonly secretRef: string;
  /** Folder of the plan inside the Git repository; chart paths are relative to it. */
  readonly path: string;
  /** Reconcile interval of the GitRepository and the HelmReleases (Go duration). */
  readonly interval: string;
  /** Namespace of the Flux objects (GitRepository, HelmReleases). */
  readonly namespace: string;
  /** Flux version targeted, `major.minor`; 2.9 (helm-controller 1.6) adds `postRenderStrategy`. */
  readonly fluxVersion: string;
  /** Also write Argo CD sync waves / kapp change groups (the post-renderer's `--argocd` / `--kapp`). */
  readonly argocd: boolean;
  readonly kapp: boolean;
  /**
   * The charts' values.yaml by chart path as written in the plan (undefined: not readable). The hook deadlines
   * come from their `global.hooks`; missing values fall back to DEFAULT_HOOK_SETTINGS.
   */
  readonly chartValues: Readonly<Record<string, Values | undefined>>;
  /** Name of the plan file, for the generated-file header. */
  readonly planFile: string;
  /**
   * The plan revision (plan/revision.ts) written into every HelmRelease; empty: none (no revision ordering, for
   * callers that only want the layout). `helm-tiers flux` always computes it.
   */
  readonly planRevision: string;
  /** Chart paths (as written in the plan) that have a `crds/` folder: only those get `crds: CreateReplace`. */
  readonly chartsWithCRDs: readonly string[];
  /**
   * An existing GitRepository in the Flux namespace to take the charts from (e.g. `flux-system`, which
   * `flux bootstrap` creates); empty: generate `gitrepository.yaml` named after the plan.
   */
  readonly sourceName: string;
}

export const DEFAULT_FLUX_OPTIONS: FluxOptions = {
  gitUrl: 'https://github.com/example-org/helm-tiers',
  branch: 'main',
  secretRef: '',
  path: './',
  interval: '10m',
  namespace: 'flux-system',
  fluxVersion: '2.9',
  argocd: false,
  kapp: false,
  chartValues: {},
  planFile: 'plan.yaml',
  planRevision: '',
  chartsWithCRDs: [],
  sourceName: '',
};

/** Retries before helm-controller stops remediating; between attempts it uninstalls (install) or rolls back. */
export const REMEDIATION_RETRIES = 3;
/**
 * `crds/` policy on install and upgrade, written only for a chart that has a `crds/` folder (helm-controller's
 * `internal/action/crds.go` returns at once for a chart without one). CreateReplace: a CRD that already exists
 * (an earlier version, another tool, by hand) is brought to the chart's version on install and on every
 * upgrade (helm-controller applies `crds/` itself, by server-side apply); the upgrade default Skip would leave
 * an outdated CRD in place forever. CRDs are never deleted.
 */
export const CRD_POLICY = 'CreateReplace';
/**
 * HelmChart strategy. Not `Revision`: that makes the chart version `<version>+<commit>` for every commit of the
 * GitRepository, so any commit (docs included) upgrades every release, and the new chart reaches all releases at
 * once, whatever their dependencies (source-controller helmchart_controller.go, buildFromTarballArtifact). With
 * `ChartVersion` source-controller reuses the packaged chart while name and version stay the same, unless the
 * HelmChart's generation changed (BuildOptions.Force; builder_local.go): the chart template below carries the
 * plan revision, so a new revision, and only that, repackages each chart, inside the HelmRelease's own
 * reconcile, which waits for its dependencies.
 */
export const RECONCILE_STRATEGY = 'ChartVersion';

/** Annotation on the Namespace: a Flux Kustomization that stops listing (or is removed) never deletes it. */
export const PRUNE_DISABLED = { 'kustomize.toolkit.fluxcd.io/prune': 'disabled' } as const;

/**
 * `spec.chart.spec.version` carrying the plan revision. source-controller ignores the version of a chart from a
 * GitRepository (HelmChart API: "ignored for charts from v1.GitRepository and v1beta2.Bucket sources"), but it is
 * part of the HelmChart spec that helm-controller writes from the template, so a new revision bumps the HelmChart
 * generation and forces the rebuild. Still a valid semver range that every release version satisfies.
 */
export function chartVersionConstraint(planRevision: string): string {
  return planRevision === '' ? '*' : `>=0.0.0-0 || =0.0.0-rev.x${planRevision}`;
}

/**
 * CEL for `dependsOn[].readyExpr` (helm-controller ≥ 1.5, `checkDependencies`): the dependency runs this
 * HelmRelease's plan revision, has reconciled its current generation (observedGeneration is written only when a
 * reconcile ends, never while an upgrade runs) and is Ready. Self-contained, so it holds whether or not the
 * AdditiveCELDependencyCheck feature gate adds the built-in generation/Ready check to it.
 */
export const READY_EXPR = [
  'has(dep.status.observedGeneration) && dep.status.observedGeneration == dep.metadata.generation',
  "has(dep.status.conditions) && dep.status.conditions.exists(c, c.type == 'Ready' && c.status == 'True')",
  'has(dep.spec.values.global.tiers.planRevision)',
  'dep.spec.values.global.tiers.planRevision == self.spec.values.global.tiers.planRevision',
].join(' && ');

/** hc 1.6: hooks go through the post-renderers together with the templates, as in Helm 4 (ADR 0004). */
export const POST_RENDER_STRATEGY = 'combined';

const GIT_URL = /^(http|https|ssh):\/\/.+$/;
const DURATION = /^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$/;
const FLUX_VERSION = /^v?(\d+)\.(\d+)(\.\d+)?$/;
/** HelmRelease helm.toolkit.fluxcd.io/v2 is served from Flux 2.3. */
const MIN_FLUX = [2, 3] as const;
const POST_RENDER_STRATEGY_FLUX = [2, 9] as const;
/** `dependsOn[].readyExpr` as verified here (helm-controller 1.6, Flux 2.9); older controllers were not checked. */
const READY_EXPR_FLUX = [2, 9] as const;

const usage = (message: string, field: string) => new HelmTiersError(ErrorCodes.USAGE, message, { field });

function parseFluxVersion(v: string): [number, number] {
  const m = FLUX_VERSION.exec(v);
  if (!m) throw usage(`--flux-version "${v}" must look like 2.9`, 'flux-version');
  const version: [number, number] = [Number(m[1]), Number(m[2])];
  if (atLeast(version, MIN_FLUX)) return version;
  throw usage(`--flux-version ${v}: helm.toolkit.fluxcd.io/v2 needs Flux ≥ ${MIN_FLUX.join('.')}`, 'flux-version');
}

const atLeast = (v: readonly [number, number], min: readonly [number, number]) =>
  v[0] > min[0] || (v[0] === min[0] && v[1] >= min[1]);

function validate(o: FluxOptions): void {
  if (!GIT_URL.test(o.gitUrl))
    throw usage(`--git-url "${o.gitUrl}" must start with http://, https:// or ssh://`, 'git-url');
  if (o.branch.trim() === '') throw usage('--branch must not be empty', 'branch');
  if (o.secretRef !== '' && (o.secretRef.length > 253 || !DNS1123_SUBDOMAIN.test(o.secretRef)))
    throw usage(`--secret-ref "${o.secretRef}" is not a valid Secret name`, 'secret-ref');
  if (!DURATION.test(o.interval))
    throw usage(`--interval "${o.interval}" is not a duration like 10m or 1h30m`, 'interval');
  if (o.namespace.length > 63 || !DNS1123_LABEL.test(o.namespace)) {
    throw usage(`--namespace "${o.namespace}" is not a valid namespace name`, 'namespace');
  }
  if (posix.isAbsolute(o.path) || posix.normalize(o.path).startsWith('..')) {
    throw usage(`--path "${o.path}" must be a relative path inside the Git repository`, 'path');
  }
}

/** `./charts/master-chart`: the chart path relative to the repository root, as helm-controller wants it. */
export function chartPathInRepo(repoPath: string, chart: string): string {
  const joined = posix.normalize(posix.join(repoPath, chart));
  if (joined.startsWith('..') || posix.isAbsolute(joined)) {
    throw usage(`chart "${chart}" is outside the Git repository (--path ${repoPath})`, 'chart');
  }
  return `./${joined.replace(/\/$/, '')}`;
}

/**
 * GitRepository `spec.ignore` (gitignore syntax): the artifact holds only the charts the plan uses, so a commit
 * elsewhere changes nothing Flux hands to Helm (with ChartVersion it would not upgrade anyway; this keeps the
 * artifact small and its content digest stable).
 */
export function sourceIgnore(plan: Plan, o: FluxOptions): string {
  const charts = [...new Set(planCharts(plan).map((chart) => chartPathInRepo(o.path, chart).slice(2)))].sort();
  const lines = ['/*'];
  for (const chart of charts) {
    // gitignore cannot re-include a path whose parent folder is excluded: re-include each parent, exclude its
    // other entries, then re-include the chart folder.
    const parts = chart.split('/');
    for (let i = 1; i <= parts.length; i++) {
      const dir = parts.slice(0, i).join('/');
      for (const line of i < parts.length ? [`!/${dir}/`, `/${dir}/*`] : [`!/${dir}/`])
        if (!lines.includes(line)) lines.push(line);
    }
  }
  return lines.join('\n') + '\n';
}

/** The file a component's HelmRelease goes to (rule in the module comment). */
export function helmReleaseFileName(plan: Plan, c: Component): string {
  if (c.tier === 0) return `${c.name}-helmrelease.yaml`;
  const shared = plan.components.filter((x) => x.tier === c.tier).length > 1;
  return shared ? `tier${c.tier}-${c.name}-helmrelease.yaml` : `tier${c.tier}-helmrelease.yaml`;
}

function yamlText(value: unknown, header: string): string {
  const doc = new Document(value, { version: '1.1' });
  if (header !== '') doc.commentBefore = header;
  // YAML 1.1 like everything Kubernetes reads: strings such as "yes" or "0755" come out quoted.
  return doc.toString({ lineWidth: 0, indentSeq: false });
}

/**
 * The values a release is installed with on every path (the HelmRelease `spec.values` here, `helm-tiers deploy`'s
 * values file) and the Helm timeout they fit: the plan's values (`releaseValues`) with `over` merged on top (deploy's
 * `--values`), the timeout (the longest hook deadline's bound unless `timeoutSeconds` is given), told to the chart,
 * which refuses hook deadlines that reach it, and the plan revision (`''`: none).
 */
export function installValues(
  plan: Plan,
  c: Component,
  chartValues: Values | undefined,
  planRevision: string,
  over: { values?: Values; timeoutSeconds?: number } = {},
): { values: Values; timeoutSeconds: number } {
  const planValues = over.values
    ? mergeValues(releaseValues(plan, c.release), over.values)
    : releaseValues(plan, c.release);
  const timeoutSeconds = over.timeoutSeconds ?? releaseTimeoutSeconds(hookDeadlines(chartValues, planValues));
  const values = mergeValues(planValues, {
    global: {
      hooks: { helmTimeoutSeconds: timeoutSeconds },
      ...(planRevision === '' ? {} : { tiers: { planRevision } }),
    },
  });
  return { values, timeoutSeconds };
}

/**
 * Chart values every HelmRelease gets on top of the plan's. helm-controller 1.6.2-1.6.4 runs Helm 4's hooks without
 * an output function, and Helm dereferences it for every hook annotated `helm.sh/hook-output-log-policy`: the
 * controller panics at the first such hook and leaves the release pending-install (fluxcd/helm-controller#1562).
 * The controller could not show the log anyway; `helm-tiers status` and `kubectl logs job/...` read it.
 */
export const FLUX_CHART_VALUES: Values = { global: { hooks: { outputLogs: false } } };

function helmRelease(plan: Plan, c: Component, o: FluxOptions, gitRepositoryName: string): Record<string, unknown> {
  const k = labelKeys(plan.labelPrefix);
  const installed = installValues(plan, c, o.chartValues[c.chart], o.planRevision);
  const { timeoutSeconds } = installed;
  const values = mergeValues(installed.values, FLUX_CHART_VALUES);
  const timeout = goDuration(timeoutSeconds);
  // The revision annotation too (object metadata only), exactly as `post-render --plan-revision` writes it.
  const meta = tierMetadata({
    ...identityFor(plan, c.release),
    argocd: o.argocd,
    kapp: o.kapp,
    planRevision: o.planRevision,
  });
  const spec: Record<string, unknown> = {
    interval: o.interval,
    releaseName: c.release,
    targetNamespace: c.namespace,
    storageNamespace: c.namespace,
    chart: {
      spec: {
        chart: chartPathInRepo(o.path, c.chart),
        version: chartVersionConstraint(o.planRevision),
        reconcileStrategy: RECONCILE_STRATEGY,
        sourceRef: { kind: 'GitRepository', name: gitRepositoryName, namespace: o.namespace },
      },
    },
  };
  const fluxVersion = parseFluxVersion(o.fluxVersion);
  // The CRD tier first: a release that renders custom resources (guarded by `.Capabilities`) must be rendered
  // only once the CRDs are served, which the CRD tier's Ready (at this revision) guarantees.
  const tier = crdTier(plan);
  const deps = [...(tier && usesCRDs(c) ? [tier.release] : []), ...dependencyReleases(plan, c)];
  if (deps.length > 0) spec.dependsOn = deps.map((name) => dependsOnEntry(name, o, fluxVersion));
  const crds = o.chartsWithCRDs.includes(c.chart) ? { crds: CRD_POLICY } : {};
  // Plan `wait: false`: Helm does not wait for the resources; the post-install check judges the pods.
  const noWait = c.wait === false ? { disableWait: true } : {};
  Object.assign(spec, {
    timeout,
    install: { ...crds, ...noWait, remediation: { retries: REMEDIATION_RETRIES } },
    upgrade: { ...crds, ...noWait, remediation: { retries: REMEDIATION_RETRIES, remediateLastFailure: true } },
  });
  if (atLeast(fluxVersion, POST_RENDER_STRATEGY_FLUX)) spec.postRenderStrategy = POST_RENDER_STRATEGY;
  spec.postRenderers = [
    { kustomize: { patches: kustomizePatches(meta).map((p) => ({ patch: p.patch, target: { ...p.target } })) } },
  ];
  spec.values = values;
  return {
    apiVersion: 'helm.toolkit.fluxcd.io/v2',
    kind: 'HelmRelease',
    metadata: {
      name: c.release,
      namespace: o.namespace,
      labels: { [k.tier]: String(c.tier), [k.component]: c.name, [k.plan]: plan.name },
    },
    spec,
  };
}

function dependsOnEntry(name: string, o: FluxOptions, fluxVersion: [number, number]): Record<string, unknown> {
  return {
    name,
    namespace: o.namespace,
    ...(o.planRevision !== '' && atLeast(fluxVersion, READY_EXPR_FLUX) ? { readyExpr: READY_EXPR } : {}),
  };
}

/** File of the CRD tier's HelmRelease. */
export const CRD_TIER_FILE = 'crds-helmrelease.yaml';

/**
 * The CRD tier (plan `crds.autoInstall: true`): a HelmRelease of the plan's `crds.chart`, whose `crds/` folder holds
 * the CRDs. helm-controller applies `crds/` itself before rendering (`internal/action/crds.go`: server-side apply
 * with force, then a wait of up to 60 s for the CRDs, then a REST mapper reset), with `CreateReplace` on install
 * and on every upgrade, so the CRDs follow the chart; it never deletes them (Helm does not uninstall `crds/`). The
 * release carries the plan revision like every other, so the components that use CRDs (dependsOn with the same
 * readyExpr) render only after it applied this revision's CRDs: `.Capabilities.APIVersions` sees them at their
 * first render. No post-renderers: `crds/` is never post-rendered, and the chart has nothing else to label.
 */
function crdTierRelease(plan: Plan, o: FluxOptions, gitRepositoryName: string): Record<string, unknown> | undefined {
  const tier = crdTier(plan);
  if (!tier) return undefined;
  const k = labelKeys(plan.labelPrefix);
  const crds = o.chartsWithCRDs.includes(tier.chart) ? { crds: CRD_POLICY } : {};
  return {
    apiVersion: 'helm.toolkit.fluxcd.io/v2',
    kind: 'HelmRelease',
    metadata: { name: tier.release, namespace: o.namespace, labels: { [k.tier]: '0', [k.plan]: plan.name } },
    spec: {
      interval: o.interval,
      releaseName: tier.release,
      targetNamespace: plan.namespace,
      storageNamespace: plan.namespace,
      chart: {
        spec: {
          chart: chartPathInRepo(o.path, tier.chart),
          version: chartVersionConstraint(o.planRevision),
          reconcileStrategy: RECONCILE_STRATEGY,
          sourceRef: { kind: 'GitRepository', name: gitRepositoryName, namespace: o.namespace },
        },
      },
      timeout: goDuration(releaseTimeoutSeconds([])),
      install: { ...crds, remediation: { retries: REMEDIATION_RETRIES } },
      upgrade: { ...crds, remediation: { retries: REMEDIATION_RETRIES, remediateLastFailure: true } },
      values: o.planRevision === '' ? {} : { global: { tiers: { plan: plan.name, planRevision: o.planRevision } } },
    },
  };
}

/** The whole Flux layout of the plan: file name → YAML text (kustomization.yaml last), deterministic. */
export function generateFluxResources(plan: Plan, options: Partial<FluxOptions> = {}): Map<string, string> {
  const o: FluxOptions = { ...DEFAULT_FLUX_OPTIONS, ...options };
  validate(o);
  parseFluxVersion(o.fluxVersion);
  const header = ` Generated by \`helm-tiers flux\` from ${posix.basename(o.planFile)}: do not edit, regenerate.`;
  const files = new Map<string, string>();

  const namespaces = [...new Set(plan.components.map((c) => c.namespace))].filter((ns) => ns !== o.namespace);
  if (namespaces.length > 0) {
    files.set(
      'namespace.yaml',
      namespaces
        .map((ns, i) =>
          yamlText(
            {
              apiVersion: 'v1',
              kind: 'Namespace',
              metadata: {
                name: ns,
                labels: { [labelKeys(plan.labelPrefix).plan]: plan.name },
                annotations: { ...PRUNE_DISABLED },
              },
            },
            i === 0 ? header : '',
          ),
        )
        .map((text, i) => (i === 0 ? text : `---\n${text}`))
        .join(''),
    );
  }

  const gitRepositoryName = o.sourceName === '' ? plan.name : o.sourceName;
  if (o.sourceName === '')
    files.set(
      'gitrepository.yaml',
      yamlText(
        {
          apiVersion: 'source.toolkit.fluxcd.io/v1',
          kind: 'GitRepository',
          metadata: { name: gitRepositoryName, namespace: o.namespace },
          spec: {
            interval: o.interval,
            url: o.gitUrl,
            ref: { branch: o.branch },
            ...(o.secretRef ? { secretRef: { name: o.secretRef } } : {}),
            ignore: sourceIgnore(plan, o),
          },
        },
        header,
      ),
    );

  const tierRelease = crdTierRelease(plan, o, gitRepositoryName);
  if (tierRelease) files.set(CRD_TIER_FILE, yamlText(tierRelease, header));
  for (const c of plan.components) {
    const name = helmReleaseFileName(plan, c);
    if (files.has(name)) throw usage(`two components would write ${name}`, 'components');
    files.set(name, yamlText(helmRelease(plan, c, o, gitRepositoryName), header));
  }

  files.set(
    'kustomization.yaml',
    yamlText(
      { apiVersion: 'kustomize.config.k8s.io/v1beta1', kind: 'Kustomization', resources: [...files.keys()] },
      header,
    ),
  );
  return files;
}

/**
 * The deployment plan: components, tiers, dependencies, charts, values and CRDs. One source of truth for the
 * post-renderer, the Flux resources and the hook Jobs. Parsing and validation are pure; every error names the
 * file, line, column and field.
 */
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Node as YamlNode, type YAMLMap } from 'yaml';
import { ErrorCodes, HelmTiersError } from '../core/errors.js';
import { DEFAULT_LABEL_PREFIX, PART_OF_LABEL } from '../core/labels.js';

export const PLAN_API_VERSION = 'helm-tiers.io/v1alpha1';
export const PLAN_KIND = 'DeploymentPlan';
export const DEFAULT_NAMESPACE = 'default';

export type Values = Record<string, unknown>;

export interface Component {
  /** Component name: the value of the component label, and what `dependsOn` refers to. */
  readonly name: string;
  /** Helm release name (and Flux HelmRelease name). */
  readonly release: string;
  readonly namespace: string;
  /** Integer ≥ 0; strictly greater than the tier of every dependency. */
  readonly tier: number;
  /** Names of the components this one needs ready first. */
  readonly dependsOn: readonly string[];
  /** Chart path (relative to the plan file's directory). */
  readonly chart: string;
  readonly values: Values;
  readonly requiredCRDs: readonly string[];
  readonly optionalCRDs: readonly string[];
  /**
   * `wait: false`: Helm does not wait for the release's resources before its post-install hooks and success (Flux
   * `install/upgrade.disableWait`, no `--wait` on the CLI path), so the post-install pod check is what judges (and,
   * with `global.autoFixPods`, fixes) pods that crash at start. Absent: Helm waits (the default of both paths).
   */
  readonly wait?: false;
}

/**
 * Where the CRDs the plan's components need come from, and who installs them (`crds:` in the plan).
 * `autoInstall: true`: the plan installs them, `helm-tiers flux` writes a CRD tier (HelmRelease `<plan>-crds` of
 * `chart`, whose `crds/` folder holds them) that every component with `requiredCRDs`/`optionalCRDs` depends on.
 * `false`: the cluster owner installs them (no CRD tier; `chart`, if given, is where the docs' recovery command
 * applies them from).
 */
export interface PlanCRDs {
  readonly autoInstall: boolean;
  /** Chart path (relative to the plan file's directory) whose `crds/` folder holds the CRDs; '' when not named. */
  readonly chart: string;
}

export interface Plan {
  /** The `<labelPrefix>plan` label (and `app.kubernetes.io/part-of` where absent, with `partOfLabel`). */
  readonly name: string;
  readonly namespace: string;
  readonly labelPrefix: string;
  /** Also add `app.kubernetes.io/part-of: <name>` to objects that have none (post-renderer only). */
  readonly partOfLabel: boolean;
  readonly chart: string;
  readonly components: readonly Component[];
  /** The plan's CRD source and policy; undefined when the plan has no `crds:` section. */
  readonly crds?: PlanCRDs;
  /** The file the plan came from, for messages. */
  readonly file: string;
}

// Kubernetes validation rules (apimachinery validation.go): label values, DNS-1123 labels and subdomains.
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
export const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
export const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const CRD_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)+(@[a-z0-9]+)?$/;
/** Helm refuses release names longer than 53 characters (they end up in Secret names and labels). */
const MAX_RELEASE_NAME = 53;

const PLAN_KEYS = new Set([
  'apiVersion',
  'kind',
  'name',
  'namespace',
  'labelPrefix',
  'partOfLabel',
  'chart',
  'components',
  'crds',
]);
const CRDS_KEYS = new Set(['autoInstall', 'chart']);
const COMPONENT_KEYS = new Set([
  'name',
  'release',
  'namespace',
  'tier',
  'dependsOn',
  'chart',
  'values',
  'requiredCRDs',
  'optionalCRDs',
  'wait',
]);

/** Reads plan YAML (YAML 1.1, like everything Kubernetes reads) into a validated plan. */
export function parsePlan(text: string, file = 'plan.yaml'): Plan {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { version: '1.1', lineCounter, uniqueKeys: true, prettyErrors: false });
  const fail = (message: string, node: YamlNode | null | undefined, field?: string): never => {
    const offset = node?.range?.[0];
    const pos = offset === undefined ? undefined : lineCounter.linePos(offset);
    throw new HelmTiersError(ErrorCodes.PLAN_INVALID, message, {
      file,
      line: pos?.line,
      column: pos?.col,
      field,
    });
  };
  const firstError = doc.errors[0];
  if (firstError) {
    const pos = lineCounter.linePos(firstError.pos[0]);
    throw new HelmTiersError(ErrorCodes.PLAN_INVALID, `invalid YAML: ${firstError.message.split('\n')[0] ?? ''}`, {
      file,
      line: pos.line,
      column: pos.col,
    });
  }
  const root = doc.contents;
  if (!isMap(root)) return fail('the plan must be a YAML mapping', root);

  const get = (map: YAMLMap, key: string): YamlNode | undefined => map.get(key, true) as YamlNode | undefined; // eslint-disable-line @typescript-eslint/no-unnecessary-type-assertion -- yaml types get() loosely
  const checkKeys = (map: YAMLMap, allowed: Set<string>, where: string) => {
    for (const pair of map.items) {
      const key = isScalar(pair.key) ? String(pair.key.value) : '';
      if (!allowed.has(key)) {
        fail(
          `unknown field "${key}" (allowed: ${[...allowed].join(', ')})`,
          pair.key as YamlNode,
          where ? `${where}.${key}` : key,
        );
      }
    }
  };
  const str = (map: YAMLMap, key: string, field: string, fallback?: string): string => {
    const node = get(map, key);
    if (node === undefined || (isScalar(node) && node.value === null)) {
      if (fallback !== undefined) return fallback;
      return fail(`"${key}" is required`, map, field);
    }
    if (!isScalar(node) || typeof node.value !== 'string' || node.value === '') {
      return fail(`"${key}" must be a non-empty string`, node, field);
    }
    return node.value;
  };
  const strList = (map: YAMLMap, key: string, field: string): string[] => {
    const node = get(map, key);
    if (node === undefined || (isScalar(node) && node.value === null)) return [];
    if (!isSeq(node)) return fail(`"${key}" must be a list of strings`, node, field);
    return node.items.map((item, i) => {
      if (!isScalar(item) || typeof item.value !== 'string' || item.value === '') {
        return fail(`"${key}" must be a list of non-empty strings`, item as YamlNode, `${field}[${i}]`);
      }
      return item.value;
    });
  };

  checkKeys(root, PLAN_KEYS, '');
  const apiVersion = str(root, 'apiVersion', 'apiVersion', PLAN_API_VERSION);
  if (apiVersion !== PLAN_API_VERSION)
    fail(`apiVersion must be ${PLAN_API_VERSION}`, get(root, 'apiVersion'), 'apiVersion');
  const kind = str(root, 'kind', 'kind', PLAN_KIND);
  if (kind !== PLAN_KIND) fail(`kind must be ${PLAN_KIND}`, get(root, 'kind'), 'kind');

  const name = str(root, 'name', 'name');
  if (name.length > 63 || !LABEL_VALUE.test(name)) {
    fail(`"${name}" is not a valid label value (the plan label)`, get(root, 'name'), 'name');
  }
  const namespace = str(root, 'namespace', 'namespace', DEFAULT_NAMESPACE);
  if (namespace.length > 63 || !DNS1123_LABEL.test(namespace)) {
    fail(`"${namespace}" is not a valid namespace name (DNS-1123 label)`, get(root, 'namespace'), 'namespace');
  }
  const labelPrefix = str(root, 'labelPrefix', 'labelPrefix', DEFAULT_LABEL_PREFIX);
  const prefixDomain = labelPrefix.slice(0, -1);
  if (!labelPrefix.endsWith('/') || prefixDomain.length > 253 || !DNS1123_SUBDOMAIN.test(prefixDomain)) {
    fail(
      `labelPrefix "${labelPrefix}" must be a DNS subdomain followed by "/", e.g. ${DEFAULT_LABEL_PREFIX}`,
      get(root, 'labelPrefix'),
      'labelPrefix',
    );
  }
  const partOfNode = get(root, 'partOfLabel');
  if (partOfNode !== undefined && !(isScalar(partOfNode) && typeof partOfNode.value === 'boolean')) {
    fail(`"partOfLabel" must be true or false (adds ${PART_OF_LABEL} where absent)`, partOfNode, 'partOfLabel');
  }
  const partOfLabel = partOfNode !== undefined && (partOfNode as { value: boolean }).value;
  const chart = str(root, 'chart', 'chart', '');

  const componentsNode = get(root, 'components');
  if (!isSeq(componentsNode) || componentsNode.items.length === 0) {
    return fail('"components" must be a non-empty list', componentsNode ?? root, 'components');
  }

  const components: Component[] = [];
  const nodes = new Map<string, YAMLMap>();
  const releases = new Map<string, string>();
  componentsNode.items.forEach((item, i) => {
    const at = `components[${i}]`;
    if (!isMap(item)) return fail('a component must be a mapping', item as YamlNode, at);
    checkKeys(item, COMPONENT_KEYS, at);
    const cname = str(item, 'name', `${at}.name`);
    if (cname.length > 63 || !LABEL_VALUE.test(cname)) {
      fail(`component name "${cname}" is not a valid label value`, get(item, 'name'), `${at}.name`);
    }
    if (nodes.has(cname)) fail(`duplicate component name "${cname}"`, get(item, 'name'), `${at}.name`);
    const release = str(item, 'release', `${at}.release`, cname);
    if (release.length > MAX_RELEASE_NAME || !DNS1123_LABEL.test(release)) {
      fail(
        `release name "${release}" must be a DNS-1123 label of at most ${MAX_RELEASE_NAME} characters`,
        get(item, 'release') ?? item,
        `${at}.release`,
      );
    }
    const clash = releases.get(release);
    if (clash !== undefined) {
      fail(
        `release name "${release}" is already used by component "${clash}"`,
        get(item, 'release') ?? item,
        `${at}.release`,
      );
    }
    const ns = str(item, 'namespace', `${at}.namespace`, namespace);
    if (ns.length > 63 || !DNS1123_LABEL.test(ns)) {
      fail(`"${ns}" is not a valid namespace name`, get(item, 'namespace'), `${at}.namespace`);
    }
    const tierNode = get(item, 'tier');
    if (tierNode === undefined) fail('"tier" is required', item, `${at}.tier`);
    if (
      !isScalar(tierNode) ||
      typeof tierNode.value !== 'number' ||
      !Number.isInteger(tierNode.value) ||
      tierNode.value < 0
    ) {
      fail('"tier" must be an integer ≥ 0', tierNode, `${at}.tier`);
    }
    const tier = (tierNode as { value: number }).value;
    const cchart = str(item, 'chart', `${at}.chart`, chart);
    if (cchart === '') fail('no chart: set "chart" on the component or at the top of the plan', item, `${at}.chart`);
    const valuesNode = get(item, 'values');
    let values: Values = {};
    if (valuesNode !== undefined && !(isScalar(valuesNode) && valuesNode.value === null)) {
      if (!isMap(valuesNode)) fail('"values" must be a mapping', valuesNode, `${at}.values`);
      values = valuesNode.toJSON() as Values;
    }
    const crdList = (key: 'requiredCRDs' | 'optionalCRDs') => {
      const list = strList(item, key, `${at}.${key}`);
      list.forEach((crd, j) => {
        if (!CRD_NAME.test(crd)) {
          fail(
            `"${crd}" is not a CRD name (plural.group, optionally @version)`,
            (get(item, key) as { items: YamlNode[] }).items[j],
            `${at}.${key}[${j}]`,
          );
        }
      });
      return list;
    };
    const waitNode = get(item, 'wait');
    if (waitNode !== undefined && !(isScalar(waitNode) && typeof waitNode.value === 'boolean'))
      fail('"wait" must be true or false (false: Helm does not wait for the resources)', waitNode, `${at}.wait`);
    const wait = waitNode === undefined || (waitNode as { value: boolean }).value;
    nodes.set(cname, item);
    releases.set(release, cname);
    components.push({
      name: cname,
      release,
      namespace: ns,
      tier,
      dependsOn: strList(item, 'dependsOn', `${at}.dependsOn`),
      chart: cchart,
      values,
      requiredCRDs: crdList('requiredCRDs'),
      optionalCRDs: crdList('optionalCRDs'),
      // Only `false` is recorded: a plan that spells out the default keeps the revision of one that does not.
      ...(wait ? {} : { wait: false as const }),
    });
  });

  // Dependencies: known, not self, tier strictly increasing along every edge, no cycles.
  const byName = new Map(components.map((c) => [c.name, c]));
  for (const c of components) {
    const item = nodes.get(c.name) as YAMLMap;
    const depsNode = get(item, 'dependsOn') as { items?: YamlNode[] } | undefined;
    c.dependsOn.forEach((dep, j) => {
      const at = `components[${components.indexOf(c)}].dependsOn[${j}]`;
      const depNode = depsNode?.items?.[j];
      const target = byName.get(dep);
      if (dep === c.name) fail(`component "${c.name}" depends on itself`, depNode, at);
      if (!target) fail(`unknown dependency "${dep}" (components: ${[...byName.keys()].join(', ')})`, depNode, at);
      if (c.dependsOn.indexOf(dep) !== j) fail(`dependency "${dep}" is listed twice`, depNode, at);
    });
  }
  const cycle = findCycle(components);
  if (cycle) {
    const first = nodes.get(cycle[0] as string);
    const index = components.findIndex((c) => c.name === cycle[0]);
    fail(
      `dependency cycle: ${cycle.join(' → ')}`,
      first ? get(first, 'dependsOn') : root,
      `components[${index}].dependsOn`,
    );
  }
  for (const c of components) {
    const item = nodes.get(c.name) as YAMLMap;
    for (const dep of c.dependsOn) {
      const target = byName.get(dep) as Component;
      if (c.tier <= target.tier) {
        fail(
          `tier ${c.tier} of "${c.name}" must be greater than tier ${target.tier} of its dependency "${dep}"`,
          get(item, 'tier'),
          `components[${components.indexOf(c)}].tier`,
        );
      }
    }
  }

  const crdsNode = get(root, 'crds');
  let crds: PlanCRDs | undefined;
  if (crdsNode !== undefined && !(isScalar(crdsNode) && crdsNode.value === null)) {
    if (!isMap(crdsNode)) return fail('"crds" must be a mapping (autoInstall, chart)', crdsNode, 'crds');
    checkKeys(crdsNode, CRDS_KEYS, 'crds');
    const autoNode = get(crdsNode, 'autoInstall');
    if (autoNode !== undefined && !(isScalar(autoNode) && typeof autoNode.value === 'boolean'))
      fail('"autoInstall" must be true or false', autoNode, 'crds.autoInstall');
    const autoInstall = autoNode !== undefined && (autoNode as { value: boolean }).value;
    const crdChart = str(crdsNode, 'chart', 'crds.chart', '');
    if (autoInstall && crdChart === '')
      fail('"crds.autoInstall: true" needs "crds.chart": the chart whose crds/ holds the CRDs', crdsNode, 'crds.chart');
    const tier = crdTierRelease(name);
    const clash = releases.get(tier);
    if (autoInstall && clash !== undefined)
      fail(`release name "${tier}" of the CRD tier is already used by component "${clash}"`, crdsNode, 'crds');
    crds = { autoInstall, chart: crdChart };
  }

  return { name, namespace, labelPrefix, partOfLabel, chart, components, ...(crds ? { crds } : {}), file };
}

/** Release (and HelmRelease) name of the CRD tier of plan `planName`. */
export function crdTierRelease(planName: string): string {
  return `${planName}-crds`;
}

/** The CRD tier the plan asks for (`crds.autoInstall: true`), or undefined. */
export function crdTier(plan: Plan): { release: string; chart: string } | undefined {
  return plan.crds?.autoInstall ? { release: crdTierRelease(plan.name), chart: plan.crds.chart } : undefined;
}

/** A component renders custom resources (guarded by `.Capabilities`) when it names CRDs it needs or can use. */
export function usesCRDs(c: Component): boolean {
  return c.requiredCRDs.length > 0 || c.optionalCRDs.length > 0;
}

/** Every chart path the plan installs: the components' charts, then the CRD tier's chart (plan order, unique). */
export function planCharts(plan: Plan): string[] {
  const tier = crdTier(plan);
  return [...new Set([...plan.components.map((c) => c.chart), ...(tier ? [tier.chart] : [])])];
}

/** A dependency cycle as a closed path of component names (first = last), or undefined. */
function findCycle(components: readonly Component[]): string[] | undefined {
  const byName = new Map(components.map((c) => [c.name, c]));
  const state = new Map<string, 'visiting' | 'done'>();
  const stack: string[] = [];
  const visit = (name: string): string[] | undefined => {
    const s = state.get(name);
    if (s === 'done') return undefined;
    if (s === 'visiting') return [...stack.slice(stack.indexOf(name)), name];
    state.set(name, 'visiting');
    stack.push(name);
    for (const dep of byName.get(name)?.dependsOn ?? []) {
      const found = visit(dep);
      if (found) return found;
    }
    stack.pop();
    state.set(name, 'done');
    return undefined;
  };
  for (const c of components) {
    const found = visit(c.name);
    if (found) return found;
  }
  return undefined;
}

/**
 * Deployment levels: level k holds the components whose longest dependency chain has length k. Everything in a
 * level may deploy in parallel once the previous levels are ready. Plan order is kept inside a level.
 */
export function planLevels(plan: Plan): Component[][] {
  const byName = new Map(plan.components.map((c) => [c.name, c]));
  const depth = new Map<string, number>();
  const depthOf = (c: Component): number => {
    const known = depth.get(c.name);
    if (known !== undefined) return known;
    const d = c.dependsOn.reduce((m, dep) => Math.max(m, depthOf(byName.get(dep) as Component) + 1), 0);
    depth.set(c.name, d);
    return d;
  };
  const levels: Component[][] = [];
  for (const c of plan.components) (levels[depthOf(c)] ??= []).push(c);
  return levels;
}

export function findComponent(plan: Plan, releaseOrName: string): Component {
  const c =
    plan.components.find((x) => x.release === releaseOrName) ?? plan.components.find((x) => x.name === releaseOrName);
  if (!c) {
    throw new HelmTiersError(
      ErrorCodes.PLAN_UNKNOWN_RELEASE,
      `no release or component "${releaseOrName}" in the plan (releases: ${plan.components.map((x) => x.release).join(', ')})`,
      { file: plan.file },
    );
  }
  return c;
}

/** Release names of a component's direct dependencies, in the order the plan lists them. */
export function dependencyReleases(plan: Plan, component: Component): string[] {
  return component.dependsOn.map((dep) => findComponent(plan, dep).release);
}

/**
 * Kubernetes label selectors, dependency-free: matching them (the API's `LabelSelector`, plain map selectors such as
 * a Service's `spec.selector`, and the string form `a=b,c!=d,e in (x,y),!f`), and finding every selector an object
 * carries together with what it selects over (pods, Services, namespaces, ClusterRoles, monitoring resources, any
 * object). The post-renderer must never change what a chart's selectors select; the conformance suite proves that
 * with these functions, and hooks can use them to select objects the way the API server would.
 *
 * Semantics follow k8s.io/apimachinery (`metav1.LabelSelectorAsSelector`, `labels.Parse`, `labels.Requirement`):
 * an empty selector matches every label set, a null or absent `LabelSelector` matches none, `NotIn` and
 * `DoesNotExist` match a label set that lacks the key.
 */

export type Labels = Readonly<Record<string, string>>;

export type Operator = 'In' | 'NotIn' | 'Exists' | 'DoesNotExist' | 'Gt' | 'Lt';

/** One condition on one key; `In` with one value is equality, `NotIn` with one value is inequality. */
export interface Requirement {
  readonly key: string;
  readonly operator: Operator;
  readonly values: readonly string[];
}

/** A selector ready to match: every requirement must hold. */
export interface Selector {
  /** No requirements (and `matchesNothing` false): every label set matches. */
  readonly requirements: readonly Requirement[];
  /** A null or absent selector where the API defines that as "nothing" (e.g. a PodDisruptionBudget's). */
  readonly matchesNothing: boolean;
  /** Requirements on fields (a node selector term's `matchFields`, on `metadata.name`), not on labels. */
  readonly fieldRequirements?: readonly Requirement[];
}

export const EVERYTHING: Selector = Object.freeze({ requirements: Object.freeze([]), matchesNothing: false });
export const NOTHING: Selector = Object.freeze({ requirements: Object.freeze([]), matchesNothing: true });

/** A selector that is not valid (the API server would refuse the object carrying it). */
export class SelectorError extends Error {
  override readonly name = 'SelectorError';
  readonly code = 'E_SELECTOR_INVALID';
  constructor(
    message: string,
    /** Where in the selector, e.g. `matchExpressions[1].values`. */
    readonly field?: string,
  ) {
    super(message);
  }
}

// --- names and values -------------------------------------------------------------------------------------------

const NAME_PART = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

/** A label or annotation key: an optional DNS subdomain prefix (≤ 253) and `/`, then a name (≤ 63). */
export function isQualifiedName(key: string): boolean {
  const slash = key.indexOf('/');
  const name = slash < 0 ? key : key.slice(slash + 1);
  if (slash >= 0) {
    const prefix = key.slice(0, slash);
    if (prefix.length === 0 || prefix.length > 253 || !DNS1123_SUBDOMAIN.test(prefix)) return false;
  }
  return name.length > 0 && name.length <= 63 && NAME_PART.test(name);
}

/** A label value: at most 63 characters, empty or alphanumeric at both ends with `-_.` inside. */
export function isLabelValue(value: string): boolean {
  return value.length <= 63 && LABEL_VALUE.test(value);
}

// --- building selectors -------------------------------------------------------------------------------------------

type Json = Record<string, unknown>;
const isMap = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

function requirement(key: string, operator: Operator, values: readonly string[], field: string): Requirement {
  if (!isQualifiedName(key)) throw new SelectorError(`"${key}" is not a valid label key`, field);
  switch (operator) {
    case 'In':
    case 'NotIn':
      if (values.length === 0) throw new SelectorError(`operator ${operator} needs at least one value`, field);
      break;
    case 'Exists':
    case 'DoesNotExist':
      if (values.length > 0) throw new SelectorError(`operator ${operator} takes no values`, field);
      break;
    case 'Gt':
    case 'Lt':
      if (values.length !== 1 || !/^-?\d+$/.test(values[0] ?? ''))
        throw new SelectorError(`operator ${operator} needs exactly one integer value`, field);
      return { key, operator, values };
  }
  for (const v of values) if (!isLabelValue(v)) throw new SelectorError(`"${v}" is not a valid label value`, field);
  return { key, operator, values };
}

const LABEL_SELECTOR_OPERATORS = new Set<string>(['In', 'NotIn', 'Exists', 'DoesNotExist']);

/**
 * A `metav1.LabelSelector` value as found in an object: null or absent matches nothing; `{}` (no matchLabels and
 * no matchExpressions) matches everything. Throws `SelectorError` for what the API server would refuse.
 */
export function fromLabelSelector(value: unknown): Selector {
  if (value === null || value === undefined) return NOTHING;
  if (!isMap(value)) throw new SelectorError('a label selector must be a mapping');
  const requirements: Requirement[] = [];
  const { matchLabels, matchExpressions } = value;
  if (matchLabels !== null && matchLabels !== undefined) {
    if (!isMap(matchLabels)) throw new SelectorError('matchLabels must be a mapping', 'matchLabels');
    for (const [k, v] of Object.entries(matchLabels)) {
      const field = `matchLabels.${k}`;
      if (typeof v !== 'string') throw new SelectorError(`the value of ${k} must be a string`, field);
      requirements.push(requirement(k, 'In', [v], field));
    }
  }
  requirements.push(...expressions(matchExpressions, 'matchExpressions', LABEL_SELECTOR_OPERATORS));
  return requirements.length === 0 ? EVERYTHING : { requirements, matchesNothing: false };
}

/**
 * A plain map selector (`key: value` pairs that must all be equal), as a Service's or a ReplicationController's
 * `spec.selector`. A Service with a null, absent or empty selector selects no pods (its endpoints are managed
 * elsewhere), so that is the default; `empty: 'everything'` gives `labels.SelectorFromSet` semantics instead.
 */
export function fromMapSelector(value: unknown, empty: 'nothing' | 'everything' = 'nothing'): Selector {
  if (value === null || value === undefined) return empty === 'nothing' ? NOTHING : EVERYTHING;
  if (!isMap(value)) throw new SelectorError('a map selector must be a mapping');
  const entries = Object.entries(value);
  if (entries.length === 0) return empty === 'nothing' ? NOTHING : EVERYTHING;
  return {
    requirements: entries.map(([k, v]) => {
      if (typeof v !== 'string') throw new SelectorError(`the value of ${k} must be a string`, k);
      return requirement(k, 'In', [v], k);
    }),
    matchesNothing: false,
  };
}

const NODE_OPERATORS = new Set<string>(['In', 'NotIn', 'Exists', 'DoesNotExist', 'Gt', 'Lt']);

function expressions(list: unknown, field: string, operators: ReadonlySet<string>): Requirement[] {
  if (list === null || list === undefined) return [];
  if (!Array.isArray(list)) throw new SelectorError(`${field} must be a list`, field);
  return list.map((e: unknown, i) => {
    const at = `${field}[${i}]`;
    if (!isMap(e)) throw new SelectorError('an expression must be a mapping', at);
    const { key, operator, values } = e;
    if (typeof key !== 'string') throw new SelectorError('key must be a string', `${at}.key`);
    if (typeof operator !== 'string' || !operators.has(operator))
      throw new SelectorError(`"${String(operator)}" is not a valid operator`, `${at}.operator`);
    const vals = values === null || values === undefined ? [] : values;
    if (!Array.isArray(vals) || !vals.every((v): v is string => typeof v === 'string'))
      throw new SelectorError('values must be a list of strings', `${at}.values`);
    return requirement(key, operator as Operator, vals, at);
  });
}

/**
 * A node affinity `NodeSelectorTerm` (`matchExpressions` on node labels, with `Gt`/`Lt`; `matchFields` on
 * `metadata.name`). Unlike a LabelSelector, a null or empty term matches no node.
 */
export function fromNodeSelectorTerm(value: unknown): Selector {
  if (value === null || value === undefined) return NOTHING;
  if (!isMap(value)) throw new SelectorError('a node selector term must be a mapping');
  const requirements = expressions(value.matchExpressions, 'matchExpressions', NODE_OPERATORS);
  const fieldRequirements = expressions(value.matchFields, 'matchFields', NODE_OPERATORS);
  if (requirements.length + fieldRequirements.length === 0) return NOTHING;
  return { requirements, fieldRequirements, matchesNothing: false };
}

/**
 * The string form (`labels.Parse`): `a=b`, `a==b`, `a!=b`, `a in (x,y)`, `a notin (x)`, `a` (exists), `!a`,
 * `a>1`, `a<1`, comma-separated; an empty string matches everything.
 */
export function parseSelector(text: string): Selector {
  const tokens = tokenize(text);
  let pos = 0;
  const peek = () => tokens[pos];
  const next = () => tokens[pos++];
  const fail = (msg: string): never => {
    throw new SelectorError(`${msg} in "${text}"`);
  };
  const ident = (what: string): string => {
    const t = next();
    if (t?.type !== 'id') fail(`expected ${what}`);
    return (t as Token).text;
  };
  const requirements: Requirement[] = [];
  if (tokens.length === 0) return EVERYTHING;
  for (;;) {
    const field = `requirement ${requirements.length + 1}`;
    if (peek()?.text === '!') {
      next();
      requirements.push(requirement(ident('a key after "!"'), 'DoesNotExist', [], field));
    } else {
      const key = ident('a key');
      const op = peek();
      if (op === undefined || op.text === ',') {
        requirements.push(requirement(key, 'Exists', [], field));
      } else if (op.type === 'op') {
        next();
        const value = peek()?.type === 'id' ? (next() as Token).text : '';
        if (op.text === '=' || op.text === '==') requirements.push(requirement(key, 'In', [value], field));
        else if (op.text === '!=') requirements.push(requirement(key, 'NotIn', [value], field));
        else if (op.text === '>') requirements.push(requirement(key, 'Gt', [value], field));
        else if (op.text === '<') requirements.push(requirement(key, 'Lt', [value], field));
        else fail(`unexpected "${op.text}"`);
      } else if (op.type === 'id' && (op.text === 'in' || op.text === 'notin')) {
        next();
        if (next()?.text !== '(') fail(`expected "(" after ${op.text}`);
        // As labels.Parse reads them: `(a,,b)` and `(a,)` hold an empty value; `()` holds none (refused below).
        const values: string[] = [];
        let current: string | undefined;
        let started = false;
        for (;;) {
          const t = next() ?? fail('unterminated value list');
          if (t.type === 'id' && current === undefined) current = t.text;
          else if (t.text === ',') {
            values.push(current ?? '');
            current = undefined;
          } else if (t.text === ')') {
            if (started) values.push(current ?? '');
            break;
          } else fail(`unexpected "${t.text}" in a value list`);
          started = true;
        }
        requirements.push(requirement(key, op.text === 'in' ? 'In' : 'NotIn', values, field));
      } else fail(`unexpected "${op.text}"`);
    }
    const sep = next();
    if (sep === undefined) break;
    if (sep.text !== ',') fail(`expected "," before "${sep.text}"`);
  }
  return { requirements, matchesNothing: false };
}

interface Token {
  readonly type: 'id' | 'op' | 'punct';
  readonly text: string;
}

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  // Every character that is not a space starts a token: an operator, punctuation, or an identifier.
  const re = /\s*(?:(==|!=|=|>|<)|([!(),])|([^\s=!(),<>]+))/y;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    if (m[1] !== undefined) tokens.push({ type: 'op', text: m[1] });
    else if (m[2] !== undefined) tokens.push({ type: 'punct', text: m[2] });
    else tokens.push({ type: 'id', text: m[3] ?? '' });
  }
  return tokens;
}

// --- matching -----------------------------------------------------------------------------------------------------

function holds(r: Requirement, labels: Labels): boolean {
  const has = Object.prototype.hasOwnProperty.call(labels, r.key);
  const value = has ? labels[r.key] : undefined;
  switch (r.operator) {
    case 'In':
      return value !== undefined && r.values.includes(value);
    case 'NotIn':
      return value === undefined || !r.values.includes(value);
    case 'Exists':
      return has;
    case 'DoesNotExist':
      return !has;
    case 'Gt':
    case 'Lt': {
      if (value === undefined || !/^-?\d+$/.test(value)) return false;
      const [a, b] = [BigInt(value), BigInt(r.values[0] ?? '0')];
      return r.operator === 'Gt' ? a > b : a < b;
    }
  }
}

/** Whether a label set (absent labels = none) is selected. */
export function matches(
  selector: Selector,
  labels: Labels | null | undefined,
  /** Field values for `fieldRequirements`, e.g. `{ 'metadata.name': 'node-1' }`. */
  fields: Labels = {},
): boolean {
  if (selector.matchesNothing) return false;
  const set = labels ?? {};
  return (
    selector.requirements.every((r) => holds(r, set)) &&
    (selector.fieldRequirements ?? []).every((r) => holds(r, fields))
  );
}

/** `fromLabelSelector` and `matches` in one call. */
export function labelSelectorMatches(labelSelector: unknown, labels: Labels | null | undefined): boolean {
  return matches(fromLabelSelector(labelSelector), labels);
}

/** The string form of a selector (`labels.Selector.String()` style), for messages. */
export function selectorToString(selector: Selector): string {
  if (selector.matchesNothing) return '<none>';
  return selector.requirements
    .map((r) => {
      const v = r.values;
      switch (r.operator) {
        case 'In':
          return v.length === 1 ? `${r.key}=${v[0] ?? ''}` : `${r.key} in (${v.join(',')})`;
        case 'NotIn':
          return v.length === 1 ? `${r.key}!=${v[0] ?? ''}` : `${r.key} notin (${v.join(',')})`;
        case 'Exists':
          return r.key;
        case 'DoesNotExist':
          return `!${r.key}`;
        case 'Gt':
          return `${r.key}>${v[0] ?? ''}`;
        case 'Lt':
          return `${r.key}<${v[0] ?? ''}`;
      }
    })
    .join(',');
}

// --- finding selectors in objects ---------------------------------------------------------------------------------

/** What a selector picks from. */
export type SelectsOver =
  /** Pods: the pods of workloads' pod templates and bare Pods. */
  | { readonly type: 'pods' }
  /** Objects of one kind (`group` '' is the core group). */
  | { readonly type: 'kind'; readonly group: string; readonly kind: string }
  /** Any object (admission webhooks' `objectSelector`, selectors at places no rule names). */
  | { readonly type: 'objects' }
  /** Something that is not a Kubernetes object, e.g. the series of an HPA's external metric. */
  | { readonly type: 'external'; readonly what: string };

/**
 * How to read a found selector: `labelSelector` (metav1.LabelSelector), `map` (`key: value` pairs, empty = none,
 * as a Service's), `set` (`key: value` pairs, empty = all, as a pod's `nodeSelector`), `string` (`a=b,!c`),
 * `nodeSelectorTerm` (node affinity).
 */
export type SelectorForm = 'labelSelector' | 'map' | 'set' | 'string' | 'nodeSelectorTerm';

export interface FoundSelector {
  /** JSON path from the object root, e.g. `spec.template.spec.affinity.podAntiAffinity.…[0].labelSelector`. */
  readonly path: string;
  readonly form: SelectorForm;
  /** The selector exactly as the object carries it. */
  readonly selector: unknown;
  readonly selects: SelectsOver;
  /** Found by the fallback: a mapping holding matchLabels/matchExpressions at a place no rule names. */
  readonly generic: boolean;
}

/** The `Selector` of a found selector (throws `SelectorError` when it is invalid). */
export function compileFound(found: Pick<FoundSelector, 'form' | 'selector'>): Selector {
  switch (found.form) {
    case 'labelSelector':
      return fromLabelSelector(found.selector);
    case 'map':
      return fromMapSelector(found.selector, 'nothing');
    case 'set':
      return fromMapSelector(found.selector, 'everything');
    case 'nodeSelectorTerm':
      return fromNodeSelectorTerm(found.selector);
    case 'string':
      if (typeof found.selector !== 'string') throw new SelectorError('a string selector must be a string');
      return parseSelector(found.selector);
  }
}

const PODS: SelectsOver = { type: 'pods' };
const OBJECTS: SelectsOver = { type: 'objects' };
const kindOf = (group: string, kind: string): SelectsOver => ({ type: 'kind', group, kind });
const NAMESPACES = kindOf('', 'Namespace');
const NODES = kindOf('', 'Node');
const VOLUMES = kindOf('', 'PersistentVolume');
const MONITORING = 'monitoring.coreos.com';

/** Prometheus-operator `<x>Selector` fields and the kinds they pick (their `<x>NamespaceSelector` picks namespaces). */
const MONITORING_SELECTORS: ReadonlyArray<readonly [string, string]> = [
  ['serviceMonitor', 'ServiceMonitor'],
  ['podMonitor', 'PodMonitor'],
  ['rule', 'PrometheusRule'],
  ['probe', 'Probe'],
  ['scrapeConfig', 'ScrapeConfig'],
  ['alertmanagerConfig', 'AlertmanagerConfig'],
];
const MONITORING_SERVERS = new Set(['Prometheus', 'PrometheusAgent', 'Alertmanager', 'ThanosRuler']);

/** Prometheus `kubernetes_sd_configs` roles and the objects they discover. */
const SD_ROLES: Readonly<Record<string, SelectsOver>> = {
  pod: PODS,
  service: kindOf('', 'Service'),
  endpoints: kindOf('', 'Endpoints'),
  endpointslice: kindOf('discovery.k8s.io', 'EndpointSlice'),
  node: NODES,
  ingress: kindOf('networking.k8s.io', 'Ingress'),
};

type Segment = string | number;

interface Rule {
  /** Path from the object root; `'*'` is every item of a list. */
  readonly path: readonly Segment[];
  readonly form: SelectorForm;
  /** What it selects over; a function gets the mapping holding the selector. */
  readonly selects: SelectsOver | ((holder: unknown) => SelectsOver);
  /** Not reported when empty: a ReplicationController's empty selector is defaulted to its template's labels. */
  readonly skipEmpty?: boolean;
}

const APPS_WORKLOADS = new Set(['Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet']);
const WEBHOOK_CONFIGURATIONS = new Set(['ValidatingWebhookConfiguration', 'MutatingWebhookConfiguration']);

/** Selectors at known places of known kinds. */
function rulesFor(group: string, kind: string): Rule[] {
  const rules: Rule[] = [];
  const ls = (path: Segment[], selects: Rule['selects']) => rules.push({ path, form: 'labelSelector', selects });
  if (group === 'apps' && APPS_WORKLOADS.has(kind)) ls(['spec', 'selector'], PODS);
  if (group === 'batch' && kind === 'Job') ls(['spec', 'selector'], PODS);
  if (group === 'batch' && kind === 'CronJob') ls(['spec', 'jobTemplate', 'spec', 'selector'], PODS);
  if (group === '' && kind === 'ReplicationController')
    rules.push({ path: ['spec', 'selector'], form: 'map', selects: PODS, skipEmpty: true });
  if (group === '' && kind === 'Service') rules.push({ path: ['spec', 'selector'], form: 'map', selects: PODS });
  if (group === '' && kind === 'PersistentVolumeClaim') ls(['spec', 'selector'], VOLUMES);
  if (group === 'policy' && kind === 'PodDisruptionBudget') ls(['spec', 'selector'], PODS);
  if (group === 'networking.k8s.io' && kind === 'NetworkPolicy') {
    ls(['spec', 'podSelector'], PODS);
    for (const [rule, peers] of [
      ['ingress', 'from'],
      ['egress', 'to'],
    ] as const) {
      ls(['spec', rule, '*', peers, '*', 'podSelector'], PODS);
      ls(['spec', rule, '*', peers, '*', 'namespaceSelector'], NAMESPACES);
    }
  }
  if (group === 'rbac.authorization.k8s.io' && kind === 'ClusterRole')
    ls(['aggregationRule', 'clusterRoleSelectors', '*'], kindOf('rbac.authorization.k8s.io', 'ClusterRole'));
  if (group === 'admissionregistration.k8s.io' && WEBHOOK_CONFIGURATIONS.has(kind)) {
    ls(['webhooks', '*', 'objectSelector'], OBJECTS);
    ls(['webhooks', '*', 'namespaceSelector'], NAMESPACES);
  }
  if (group === 'autoscaling')
    for (const source of ['external', 'object', 'pods'])
      ls(['spec', 'metrics', '*', source, 'metric', 'selector'], { type: 'external', what: 'metric series' });
  if (group === MONITORING) {
    if (kind === 'PodMonitor') ls(['spec', 'selector'], PODS);
    if (kind === 'ServiceMonitor') ls(['spec', 'selector'], kindOf('', 'Service'));
    if (kind === 'Probe') ls(['spec', 'targets', 'ingress', 'selector'], kindOf('networking.k8s.io', 'Ingress'));
    if (kind === 'ScrapeConfig')
      rules.push({
        path: ['spec', 'kubernetesSDConfigs', '*', 'selectors', '*', 'label'],
        form: 'string',
        selects: (holder) => {
          const role = isMap(holder) && typeof holder.role === 'string' ? holder.role.toLowerCase() : '';
          return SD_ROLES[role] ?? OBJECTS;
        },
      });
    if (MONITORING_SERVERS.has(kind))
      for (const [field, target] of MONITORING_SELECTORS) {
        ls(['spec', `${field}Selector`], kindOf(MONITORING, target));
        ls(['spec', `${field}NamespaceSelector`], NAMESPACES);
      }
  }
  return rules;
}

/** Places named like label selectors that are not: a monitoring `NamespaceSelector` is `{any, matchNames}`. */
function notASelector(group: string, kind: string, path: readonly Segment[]): boolean {
  if (group !== MONITORING) return false;
  const p = path.join('.');
  if ((kind === 'ServiceMonitor' || kind === 'PodMonitor') && p === 'spec.namespaceSelector') return true;
  return kind === 'Probe' && p === 'spec.targets.ingress.namespaceSelector';
}

const LABEL_SELECTOR_KEYS = new Set(['matchLabels', 'matchExpressions']);
const NODE_TERM_KEYS = new Set(['matchExpressions', 'matchFields']);

/** A mapping with only `keys`, at least one of them when `needKey`, that compiles as `form`. */
function hasShape(value: unknown, form: SelectorForm, keys: ReadonlySet<string> | undefined, needKey: boolean) {
  if (!isMap(value)) return false;
  const own = Object.keys(value);
  if (keys && !own.every((k) => keys.has(k))) return false;
  if (needKey && own.length === 0) return false;
  try {
    compileFound({ form, selector: value });
    return true;
  } catch {
    return false;
  }
}

/**
 * What a selector found by its place says it selects, by field names only (these appear in core pod specs and in
 * custom resources' embedded pod specs alike).
 */
function named(path: readonly Segment[]): { form: SelectorForm; selects: SelectsOver } | undefined {
  const at = (back: number) => path[path.length - back];
  const key = at(1);
  const under = (...names: string[]) => path.some((s) => typeof s === 'string' && names.includes(s));
  if (key === 'namespaceSelector') return { form: 'labelSelector', selects: NAMESPACES };
  if (key === 'objectSelector') return { form: 'labelSelector', selects: OBJECTS };
  if (key === 'labelSelector') {
    // podAffinity.requiredDuringScheduling…[i].labelSelector, …preferredDuringScheduling…[i].podAffinityTerm.labelSelector
    const term = typeof at(2) === 'number' ? at(3) : at(2);
    if (under('podAffinity', 'podAntiAffinity') && (term === 'podAffinityTerm' || term === REQUIRED))
      return { form: 'labelSelector', selects: PODS };
    if (typeof at(2) === 'number' && at(3) === 'topologySpreadConstraints')
      return { form: 'labelSelector', selects: PODS };
  }
  if (under('nodeAffinity')) {
    // nodeAffinity.required….nodeSelectorTerms[i], nodeAffinity.preferred…[i].preference
    if (typeof key === 'number' && at(2) === 'nodeSelectorTerms') return { form: 'nodeSelectorTerm', selects: NODES };
    if (key === 'preference' && typeof at(2) === 'number') return { form: 'nodeSelectorTerm', selects: NODES };
  }
  if (key === 'nodeSelector') return { form: 'set', selects: NODES };
  // A PVC template's selector picks PersistentVolumes, never pods.
  if (key === 'selector' && at(2) === 'spec') {
    if (at(3) === 'volumeClaimTemplate' || (typeof at(3) === 'number' && at(4) === 'volumeClaimTemplates'))
      return { form: 'labelSelector', selects: VOLUMES };
  }
  return undefined;
}

const REQUIRED = 'requiredDuringSchedulingIgnoredDuringExecution';

function pathText(path: readonly Segment[]): string {
  let out = '';
  for (const s of path) {
    if (typeof s === 'number') out += `[${s}]`;
    else if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(s)) out += out === '' ? s : `.${s}`;
    else out += `[${JSON.stringify(s)}]`;
  }
  return out;
}

function groupOf(apiVersion: unknown): string {
  const v = typeof apiVersion === 'string' ? apiVersion : '';
  const slash = v.indexOf('/');
  return slash < 0 ? '' : v.slice(0, slash);
}

/** The items of a List document that Helm and kubectl flatten (a `kind: List`, or `…List` of objects only). */
function listItems(obj: Json): Json[] | undefined {
  const kind = typeof obj.kind === 'string' ? obj.kind : '';
  const items = obj.items;
  if (!kind.endsWith('List') || !Array.isArray(items)) return undefined;
  const objects = items.filter((i): i is Json => isMap(i) && typeof i.kind === 'string');
  return kind === 'List' || objects.length === items.length ? objects : undefined;
}

/**
 * Every label selector `obj` carries, with its JSON path and what it selects over. Null and absent selectors are
 * not reported: what they select does not depend on any label.
 *
 * First the known places of known kinds: workload, Service, ReplicationController, PodDisruptionBudget,
 * NetworkPolicy (`podSelector`, `from`/`to` peers), ServiceMonitor/PodMonitor/Probe/ScrapeConfig, the
 * Prometheus-operator servers' `*Selector`/`*NamespaceSelector`, ClusterRole aggregation, admission webhooks, PVCs
 * and HPA metrics. Then, anywhere (so also in custom resources' embedded pod specs): pod (anti-)affinity terms and
 * topology spread constraints (pods), node affinity and `nodeSelector` (nodes), `namespaceSelector` (namespaces),
 * `objectSelector` (any object), a PVC template's `spec.selector` (volumes, never pods). Last, the fallback: any
 * other mapping holding only a valid `matchLabels`/`matchExpressions` (any object). CRD schemas are not searched
 * (a schema describes selectors, it carries none). A List's items are searched as objects, paths `items[i].…`.
 */
export function findSelectors(obj: unknown): FoundSelector[] {
  if (!isMap(obj)) return [];
  const items = listItems(obj);
  if (items)
    return items.flatMap((item, i) =>
      findSelectors(item).map((f) => ({ ...f, path: `items[${i}]${f.path.startsWith('[') ? '' : '.'}${f.path}` })),
    );
  const group = groupOf(obj.apiVersion);
  const kind = typeof obj.kind === 'string' ? obj.kind : '';
  const found: FoundSelector[] = [];
  const claimed = new Set<string>();
  const add = (
    path: readonly Segment[],
    form: SelectorForm,
    selector: unknown,
    selects: SelectsOver,
    generic: boolean,
  ) => {
    const text = pathText(path);
    if (claimed.has(text)) return;
    claimed.add(text);
    found.push({ path: text, form, selector, selects, generic });
  };

  for (const rule of rulesFor(group, kind)) {
    const visit = (value: unknown, i: number, path: Segment[], holder: unknown): void => {
      if (i === rule.path.length) {
        if (value === null || value === undefined) return;
        if (rule.skipEmpty && isMap(value) && Object.keys(value).length === 0) return;
        add(path, rule.form, value, typeof rule.selects === 'function' ? rule.selects(holder) : rule.selects, false);
        return;
      }
      const seg = rule.path[i] as Segment;
      if (seg === '*') {
        if (Array.isArray(value))
          value.forEach((v, j) => {
            visit(v, i + 1, [...path, j], value);
          });
      } else if (isMap(value) && Object.prototype.hasOwnProperty.call(value, seg)) {
        visit(value[seg], i + 1, [...path, seg], value);
      }
    };
    visit(obj, 0, [], undefined);
  }

  const isCrd = group === 'apiextensions.k8s.io' && kind === 'CustomResourceDefinition';
  const walk = (value: unknown, path: Segment[]): void => {
    if (value === null || value === undefined) return;
    if (path.length > 0) {
      if (claimed.has(pathText(path))) return;
      const byName = notASelector(group, kind, path) ? undefined : named(path);
      const keys = byName?.form === 'nodeSelectorTerm' ? NODE_TERM_KEYS : LABEL_SELECTOR_KEYS;
      if (byName && hasShape(value, byName.form, byName.form === 'set' ? undefined : keys, false)) {
        add(path, byName.form, value, byName.selects, false);
        return;
      }
      if (!byName && hasShape(value, 'labelSelector', LABEL_SELECTOR_KEYS, true)) {
        add(path, 'labelSelector', value, OBJECTS, true);
        return;
      }
    }
    if (Array.isArray(value)) {
      value.forEach((v, i) => {
        walk(v, [...path, i]);
      });
    } else if (isMap(value)) {
      for (const [key, child] of Object.entries(value)) {
        if (isCrd && (key === 'openAPIV3Schema' || key === 'validation')) continue;
        walk(child, [...path, key]);
      }
    }
  };
  walk(obj, []);
  return found;
}

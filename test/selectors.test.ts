import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  compileFound,
  EVERYTHING,
  findSelectors,
  fromLabelSelector,
  fromMapSelector,
  fromNodeSelectorTerm,
  isLabelValue,
  isQualifiedName,
  labelSelectorMatches,
  matches,
  NOTHING,
  parseSelector,
  SelectorError,
  selectorToString,
  type FoundSelector,
} from '../core/selectors.js';

const codeOf = (fn: () => unknown): string | undefined => {
  try {
    fn();
  } catch (err) {
    return err instanceof SelectorError ? err.code : 'not a SelectorError';
  }
  return undefined;
};

describe('label keys and values', () => {
  it('accepts qualified names and refuses the rest', () => {
    for (const ok of ['app', 'app.kubernetes.io/part-of', 'a', 'A_b-c.d', 'helm-tiers.io/tier', `x/${'n'.repeat(63)}`])
      expect(isQualifiedName(ok), ok).toBe(true);
    for (const bad of [
      '',
      '/a',
      'a/',
      '-a',
      'a-',
      'Upper.io/a',
      'a/b/c',
      'n'.repeat(64),
      `${'p'.repeat(254)}/a`,
      'a b',
    ])
      expect(isQualifiedName(bad), bad).toBe(false);
  });

  it('accepts label values of at most 63 characters, alphanumeric at both ends', () => {
    for (const ok of ['', 'a', 'v1.2.3', 'a_b-c', 'x'.repeat(63)]) expect(isLabelValue(ok), ok).toBe(true);
    for (const bad of ['x'.repeat(64), '-a', 'a.', 'a b', 'a/b', 'ä']) expect(isLabelValue(bad), bad).toBe(false);
  });
});

describe('LabelSelector', () => {
  const labels = { app: 'web', tier: 'front', 'app.kubernetes.io/part-of': 'shop' };

  it('null and absent match nothing, {} matches everything', () => {
    expect(labelSelectorMatches(null, labels)).toBe(false);
    expect(labelSelectorMatches(undefined, {})).toBe(false);
    expect(labelSelectorMatches({}, labels)).toBe(true);
    expect(labelSelectorMatches({}, {})).toBe(true);
    expect(labelSelectorMatches({ matchLabels: {}, matchExpressions: [] }, undefined)).toBe(true);
  });

  it('matchLabels needs every pair', () => {
    expect(labelSelectorMatches({ matchLabels: { app: 'web' } }, labels)).toBe(true);
    expect(labelSelectorMatches({ matchLabels: { app: 'web', tier: 'back' } }, labels)).toBe(false);
    expect(labelSelectorMatches({ matchLabels: { missing: '' } }, labels)).toBe(false);
    expect(labelSelectorMatches({ matchLabels: { 'app.kubernetes.io/part-of': 'shop' } }, labels)).toBe(true);
  });

  it('matchExpressions: In, NotIn, Exists, DoesNotExist, all of them together', () => {
    const expr = (key: string, operator: string, values?: string[]) => ({
      matchExpressions: [{ key, operator, ...(values ? { values } : {}) }],
    });
    expect(labelSelectorMatches(expr('tier', 'In', ['front', 'back']), labels)).toBe(true);
    expect(labelSelectorMatches(expr('tier', 'In', ['back']), labels)).toBe(false);
    expect(labelSelectorMatches(expr('missing', 'In', ['x']), labels)).toBe(false);
    expect(labelSelectorMatches(expr('tier', 'NotIn', ['back']), labels)).toBe(true);
    expect(labelSelectorMatches(expr('tier', 'NotIn', ['front']), labels)).toBe(false);
    // NotIn and DoesNotExist hold for a key the labels do not have.
    expect(labelSelectorMatches(expr('missing', 'NotIn', ['x']), labels)).toBe(true);
    expect(labelSelectorMatches(expr('missing', 'DoesNotExist'), labels)).toBe(true);
    expect(labelSelectorMatches(expr('app', 'DoesNotExist'), labels)).toBe(false);
    expect(labelSelectorMatches(expr('app', 'Exists'), labels)).toBe(true);
    expect(labelSelectorMatches(expr('missing', 'Exists'), labels)).toBe(false);
    expect(labelSelectorMatches({ ...expr('app', 'Exists'), matchLabels: { tier: 'back' } }, labels)).toBe(false);
    expect(labelSelectorMatches({ ...expr('app', 'Exists'), matchLabels: { tier: 'front' } }, labels)).toBe(true);
    // null values are no values (as the API decodes them).
    expect(labelSelectorMatches({ matchExpressions: [{ key: 'app', operator: 'Exists', values: null }] }, labels)).toBe(
      true,
    );
  });

  it('refuses what the API server refuses', () => {
    const bad: unknown[] = [
      'app=web',
      { matchLabels: ['app'] },
      { matchLabels: { app: 1 } },
      { matchLabels: { '-bad': 'x' } },
      { matchLabels: { app: 'not valid' } },
      { matchExpressions: { key: 'app' } },
      { matchExpressions: [{ key: 'app', operator: 'In', values: [] }] },
      { matchExpressions: [{ key: 'app', operator: 'NotIn' }] },
      { matchExpressions: [{ key: 'app', operator: 'Exists', values: ['x'] }] },
      { matchExpressions: [{ key: 'app', operator: 'Gt', values: ['1'] }] },
      { matchExpressions: [{ key: 'app', operator: 'in', values: ['x'] }] },
      { matchExpressions: [{ operator: 'Exists' }] },
      { matchExpressions: [{ key: 'app', operator: 'In', values: [1] }] },
    ];
    for (const b of bad)
      expect(
        codeOf(() => fromLabelSelector(b)),
        JSON.stringify(b),
      ).toBe('E_SELECTOR_INVALID');
  });
});

describe('map selectors', () => {
  it("a Service's selector: all pairs; null, absent or empty selects nothing", () => {
    expect(matches(fromMapSelector({ app: 'web' }), { app: 'web', x: 'y' })).toBe(true);
    expect(matches(fromMapSelector({ app: 'web', x: 'z' }), { app: 'web', x: 'y' })).toBe(false);
    expect(matches(fromMapSelector({}), { app: 'web' })).toBe(false);
    expect(matches(fromMapSelector(null), { app: 'web' })).toBe(false);
  });

  it('SelectorFromSet semantics on request: empty selects everything', () => {
    expect(matches(fromMapSelector({}, 'everything'), { app: 'web' })).toBe(true);
    expect(matches(fromMapSelector(undefined, 'everything'), {})).toBe(true);
  });

  it('refuses non-string values', () => {
    expect(codeOf(() => fromMapSelector({ replicas: 2 }))).toBe('E_SELECTOR_INVALID');
  });
});

describe('string form', () => {
  const labels = { a: 'b', c: 'x', e: 'y' };

  it('reads equality, inequality, sets, existence', () => {
    expect(matches(parseSelector('a=b,c!=d,e in (x,y),!f'), labels)).toBe(true);
    expect(matches(parseSelector('a == b'), labels)).toBe(true);
    expect(matches(parseSelector('a=b, c notin (x)'), labels)).toBe(false);
    expect(matches(parseSelector('  e in ( x , y ) , a  '), labels)).toBe(true);
    expect(matches(parseSelector('!a'), labels)).toBe(false);
    expect(matches(parseSelector('f'), labels)).toBe(false);
    expect(matches(parseSelector('f!=g'), labels)).toBe(true);
    expect(matches(parseSelector('a='), labels)).toBe(false);
    expect(matches(parseSelector('a='), { a: '' })).toBe(true);
    expect(matches(parseSelector('e in (z,)'), { e: '' })).toBe(true);
  });

  it('an empty string matches everything', () => {
    expect(parseSelector('')).toEqual(EVERYTHING);
    expect(matches(parseSelector('   '), {})).toBe(true);
  });

  it('compares numbers with > and <', () => {
    expect(matches(parseSelector('n>5'), { n: '10' })).toBe(true);
    expect(matches(parseSelector('n<5'), { n: '10' })).toBe(false);
    expect(matches(parseSelector('n>5'), { n: 'ten' })).toBe(false);
    expect(matches(parseSelector('n>5'), {})).toBe(false);
  });

  it('refuses malformed selectors', () => {
    for (const bad of [
      'a in ()',
      'a in (x',
      'a in x',
      ',',
      'a,',
      'a b',
      'a=b=c',
      '!',
      'a in (x y)',
      'n>x',
      '-a=b',
      'a=b c',
    ])
      expect(
        codeOf(() => parseSelector(bad)),
        bad,
      ).toBe('E_SELECTOR_INVALID');
  });

  it('selectorToString gives back a selector that matches the same label sets', () => {
    const key = fc.constantFrom('a', 'b', 'x.io/c');
    const value = fc.constantFrom('', '1', 'v', 'w');
    const labelSet = fc.dictionary(key, value, { maxKeys: 3 });
    const expression = fc.oneof(
      fc.record({
        key,
        operator: fc.constantFrom('In', 'NotIn'),
        values: fc.array(value, { minLength: 1, maxLength: 3 }),
      }),
      fc.record({ key, operator: fc.constantFrom('Exists', 'DoesNotExist') }),
    );
    const labelSelector = fc.record(
      {
        matchLabels: fc.dictionary(key, value, { maxKeys: 2 }),
        matchExpressions: fc.array(expression, { maxLength: 3 }),
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(labelSelector, labelSet, (sel, ls) => {
        const compiled = fromLabelSelector(sel);
        expect(matches(parseSelector(selectorToString(compiled)), ls)).toBe(matches(compiled, ls));
      }),
      { numRuns: 500 },
    );
  });
});

describe('node selector terms', () => {
  it('an empty term matches no node; Gt/Lt and matchFields work', () => {
    expect(matches(fromNodeSelectorTerm({}), { a: 'b' })).toBe(false);
    expect(fromNodeSelectorTerm(null)).toEqual(NOTHING);
    const term = fromNodeSelectorTerm({
      matchExpressions: [{ key: 'cpus', operator: 'Gt', values: ['4'] }],
      matchFields: [{ key: 'metadata.name', operator: 'In', values: ['node-1'] }],
    });
    expect(matches(term, { cpus: '8' }, { 'metadata.name': 'node-1' })).toBe(true);
    expect(matches(term, { cpus: '8' }, { 'metadata.name': 'node-2' })).toBe(false);
    expect(matches(term, { cpus: '2' }, { 'metadata.name': 'node-1' })).toBe(false);
  });
});

// --- findSelectors ---------------------------------------------------------------------------------------------------

const byPath = (obj: unknown) => new Map(findSelectors(obj).map((f) => [f.path, f]));
const summary = (f: FoundSelector | undefined) =>
  f && {
    form: f.form,
    selects: f.selects.type === 'kind' ? `${f.selects.group}/${f.selects.kind}` : f.selects.type,
    generic: f.generic,
  };

const podSpec = {
  affinity: {
    podAntiAffinity: {
      requiredDuringSchedulingIgnoredDuringExecution: [
        {
          labelSelector: { matchLabels: { app: 'web' } },
          namespaceSelector: {},
          topologyKey: 'kubernetes.io/hostname',
        },
      ],
      preferredDuringSchedulingIgnoredDuringExecution: [
        {
          weight: 1,
          podAffinityTerm: {
            labelSelector: { matchExpressions: [{ key: 'app', operator: 'In', values: ['web'] }] },
            topologyKey: 'zone',
          },
        },
      ],
    },
    podAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ labelSelector: { matchLabels: { a: 'b' } } }] },
    nodeAffinity: {
      requiredDuringSchedulingIgnoredDuringExecution: {
        nodeSelectorTerms: [{ matchExpressions: [{ key: 'type', operator: 'NotIn', values: ['virtual'] }] }],
      },
      preferredDuringSchedulingIgnoredDuringExecution: [
        { weight: 1, preference: { matchExpressions: [{ key: 'ssd', operator: 'Exists' }] } },
      ],
    },
  },
  topologySpreadConstraints: [{ maxSkew: 1, labelSelector: { matchLabels: { app: 'web' } } }],
  nodeSelector: { 'kubernetes.io/os': 'linux' },
  containers: [{ name: 'c', image: 'x' }],
};

describe('findSelectors', () => {
  it('a Deployment: its selector and every pod-spec selector, with exact paths', () => {
    const found = byPath({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'web', labels: { app: 'web' } },
      spec: {
        selector: { matchLabels: { app: 'web' } },
        template: { metadata: { labels: { app: 'web' } }, spec: podSpec },
      },
    });
    const t = 'spec.template.spec';
    expect(Object.fromEntries([...found].map(([p, f]) => [p, summary(f)]))).toEqual({
      'spec.selector': { form: 'labelSelector', selects: 'pods', generic: false },
      [`${t}.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution[0].labelSelector`]: {
        form: 'labelSelector',
        selects: 'pods',
        generic: false,
      },
      [`${t}.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution[0].namespaceSelector`]: {
        form: 'labelSelector',
        selects: '/Namespace',
        generic: false,
      },
      [`${t}.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].podAffinityTerm.labelSelector`]:
        { form: 'labelSelector', selects: 'pods', generic: false },
      [`${t}.affinity.podAffinity.requiredDuringSchedulingIgnoredDuringExecution[0].labelSelector`]: {
        form: 'labelSelector',
        selects: 'pods',
        generic: false,
      },
      [`${t}.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0]`]: {
        form: 'nodeSelectorTerm',
        selects: '/Node',
        generic: false,
      },
      [`${t}.affinity.nodeAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].preference`]: {
        form: 'nodeSelectorTerm',
        selects: '/Node',
        generic: false,
      },
      [`${t}.topologySpreadConstraints[0].labelSelector`]: { form: 'labelSelector', selects: 'pods', generic: false },
      [`${t}.nodeSelector`]: { form: 'set', selects: '/Node', generic: false },
    });
    // The selector is the object's own value, not a copy.
    expect(found.get('spec.selector')?.selector).toEqual({ matchLabels: { app: 'web' } });
  });

  it('a CronJob, a Job, a bare Pod and a StatefulSet whose volume claim templates are no pods', () => {
    expect(
      summary(
        byPath({
          apiVersion: 'batch/v1',
          kind: 'CronJob',
          metadata: { name: 'c' },
          spec: { jobTemplate: { spec: { selector: { matchLabels: { a: 'b' } }, template: { spec: podSpec } } } },
        }).get('spec.jobTemplate.spec.selector'),
      ),
    ).toEqual({ form: 'labelSelector', selects: 'pods', generic: false });
    expect(
      byPath({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec: podSpec }).has(
        'spec.topologySpreadConstraints[0].labelSelector',
      ),
    ).toBe(true);
    const sts = byPath({
      apiVersion: 'apps/v1',
      kind: 'StatefulSet',
      metadata: { name: 's' },
      spec: {
        selector: { matchLabels: { app: 'db' } },
        template: { metadata: { labels: { app: 'db' } } },
        volumeClaimTemplates: [
          { metadata: { name: 'data', labels: { app: 'db' } }, spec: { selector: { matchLabels: { disk: 'fast' } } } },
        ],
      },
    });
    expect(summary(sts.get('spec.volumeClaimTemplates[0].spec.selector'))).toEqual({
      form: 'labelSelector',
      selects: '/PersistentVolume',
      generic: false,
    });
    expect([...sts.values()].filter((f) => f.selects.type === 'pods').map((f) => f.path)).toEqual(['spec.selector']);
  });

  it('Service, PodDisruptionBudget and NetworkPolicy selectors select pods; peers namespaces too', () => {
    expect(
      summary(
        byPath({ apiVersion: 'v1', kind: 'Service', metadata: { name: 's' }, spec: { selector: { app: 'web' } } }).get(
          'spec.selector',
        ),
      ),
    ).toEqual({ form: 'map', selects: 'pods', generic: false });
    expect(
      summary(
        byPath({
          apiVersion: 'policy/v1',
          kind: 'PodDisruptionBudget',
          metadata: { name: 'p' },
          spec: { selector: { matchLabels: { app: 'web' } } },
        }).get('spec.selector'),
      ),
    ).toEqual({ form: 'labelSelector', selects: 'pods', generic: false });
    const np = byPath({
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: { name: 'n' },
      spec: {
        podSelector: {},
        ingress: [
          { from: [{ podSelector: { matchLabels: { a: 'b' } } }, { namespaceSelector: { matchLabels: { t: 'x' } } }] },
        ],
        egress: [{ to: [{ podSelector: { matchLabels: { c: 'd' } }, namespaceSelector: {} }] }],
      },
    });
    expect(Object.fromEntries([...np].map(([p, f]) => [p, summary(f)?.selects]))).toEqual({
      'spec.podSelector': 'pods',
      'spec.ingress[0].from[0].podSelector': 'pods',
      'spec.ingress[0].from[1].namespaceSelector': '/Namespace',
      'spec.egress[0].to[0].podSelector': 'pods',
      'spec.egress[0].to[0].namespaceSelector': '/Namespace',
    });
  });

  it('monitoring.coreos.com: monitors, servers, and NamespaceSelectors that are no label selectors', () => {
    const sm = byPath({
      apiVersion: 'monitoring.coreos.com/v1',
      kind: 'ServiceMonitor',
      metadata: { name: 'm' },
      spec: { selector: { matchLabels: { app: 'web' } }, namespaceSelector: { matchNames: ['apps'] } },
    });
    expect([...sm.keys()]).toEqual(['spec.selector']);
    expect(summary(sm.get('spec.selector'))?.selects).toBe('/Service');
    const pm = byPath({
      apiVersion: 'monitoring.coreos.com/v1',
      kind: 'PodMonitor',
      metadata: { name: 'm' },
      spec: { selector: { matchLabels: { app: 'web' } }, namespaceSelector: {} },
    });
    expect([...pm.keys()]).toEqual(['spec.selector']);
    expect(summary(pm.get('spec.selector'))?.selects).toBe('pods');
    const prom = byPath({
      apiVersion: 'monitoring.coreos.com/v1',
      kind: 'Prometheus',
      metadata: { name: 'p' },
      spec: {
        serviceMonitorSelector: { matchLabels: { release: 'x' } },
        serviceMonitorNamespaceSelector: {},
        podMonitorSelector: {},
        ruleSelector: { matchLabels: { release: 'x' } },
        probeSelector: {},
        scrapeConfigSelector: {},
        affinity: podSpec.affinity,
      },
    });
    expect(summary(prom.get('spec.serviceMonitorSelector'))?.selects).toBe('monitoring.coreos.com/ServiceMonitor');
    expect(summary(prom.get('spec.serviceMonitorNamespaceSelector'))?.selects).toBe('/Namespace');
    expect(summary(prom.get('spec.podMonitorSelector'))?.selects).toBe('monitoring.coreos.com/PodMonitor');
    expect(summary(prom.get('spec.ruleSelector'))?.selects).toBe('monitoring.coreos.com/PrometheusRule');
    expect(summary(prom.get('spec.probeSelector'))?.selects).toBe('monitoring.coreos.com/Probe');
    expect(summary(prom.get('spec.scrapeConfigSelector'))?.selects).toBe('monitoring.coreos.com/ScrapeConfig');
    // A custom resource's embedded pod spec: affinity terms still select pods.
    expect(
      summary(prom.get('spec.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution[0].labelSelector'))
        ?.selects,
    ).toBe('pods');
    const am = byPath({
      apiVersion: 'monitoring.coreos.com/v1',
      kind: 'Alertmanager',
      metadata: { name: 'a' },
      spec: { alertmanagerConfigSelector: {}, alertmanagerConfigNamespaceSelector: { matchLabels: { a: 'b' } } },
    });
    expect(summary(am.get('spec.alertmanagerConfigSelector'))?.selects).toBe(
      'monitoring.coreos.com/AlertmanagerConfig',
    );
    expect(summary(am.get('spec.alertmanagerConfigNamespaceSelector'))?.selects).toBe('/Namespace');
    const sc = findSelectors({
      apiVersion: 'monitoring.coreos.com/v1alpha1',
      kind: 'ScrapeConfig',
      metadata: { name: 's' },
      spec: { kubernetesSDConfigs: [{ role: 'Pod', selectors: [{ role: 'Pod', label: 'app=web,tier!=db' }] }] },
    });
    expect(sc.map((f) => [f.path, f.form, summary(f)?.selects])).toEqual([
      ['spec.kubernetesSDConfigs[0].selectors[0].label', 'string', 'pods'],
    ]);
    expect(matches(compileFound(sc[0] as FoundSelector), { app: 'web' })).toBe(true);
  });

  it('ClusterRole aggregation, admission webhooks and HPA metric selectors', () => {
    const cr = byPath({
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRole',
      metadata: { name: 'agg' },
      aggregationRule: { clusterRoleSelectors: [{ matchLabels: { a: 'b' } }, { matchLabels: { c: 'd' } }] },
    });
    expect([...cr.keys()]).toEqual([
      'aggregationRule.clusterRoleSelectors[0]',
      'aggregationRule.clusterRoleSelectors[1]',
    ]);
    expect(summary(cr.get('aggregationRule.clusterRoleSelectors[1]'))?.selects).toBe(
      'rbac.authorization.k8s.io/ClusterRole',
    );
    const wh = byPath({
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'ValidatingWebhookConfiguration',
      metadata: { name: 'w' },
      webhooks: [{ name: 'w.x.io', objectSelector: { matchLabels: { a: 'b' } }, namespaceSelector: {} }],
    });
    expect(summary(wh.get('webhooks[0].objectSelector'))?.selects).toBe('objects');
    expect(summary(wh.get('webhooks[0].namespaceSelector'))?.selects).toBe('/Namespace');
    const hpa = findSelectors({
      apiVersion: 'autoscaling/v2',
      kind: 'HorizontalPodAutoscaler',
      metadata: { name: 'h' },
      spec: {
        metrics: [{ type: 'External', external: { metric: { name: 'q', selector: { matchLabels: { q: 'x' } } } } }],
      },
    });
    expect(hpa.map((f) => [f.path, f.selects.type])).toEqual([
      ['spec.metrics[0].external.metric.selector', 'external'],
    ]);
  });

  it('the fallback finds selectors at places no rule names, and only real ones', () => {
    const found = findSelectors({
      apiVersion: 'kyverno.io/v1',
      kind: 'ClusterPolicy',
      metadata: { name: 'p' },
      spec: {
        rules: [
          {
            match: {
              any: [
                {
                  resources: {
                    kinds: ['Pod'],
                    selector: { matchLabels: { app: 'web' } },
                    namespaceSelector: { matchExpressions: [{ key: 'team', operator: 'Exists' }] },
                  },
                },
              ],
            },
            notASelector: { matchLabels: 'app=web' },
            alsoNot: { matchLabels: { a: 'b' }, other: 1 },
            plainData: { matchExpressions: [{ key: 'k', operator: 'Sometimes' }] },
          },
        ],
      },
    });
    expect(found.map((f) => [f.path, summary(f)])).toEqual([
      ['spec.rules[0].match.any[0].resources.selector', { form: 'labelSelector', selects: 'objects', generic: true }],
      [
        'spec.rules[0].match.any[0].resources.namespaceSelector',
        { form: 'labelSelector', selects: '/Namespace', generic: false },
      ],
    ]);
  });

  it('CRD schemas describe selectors and carry none; null selectors are not reported', () => {
    const props = {
      matchLabels: { type: 'object', additionalProperties: { type: 'string' } },
      matchExpressions: { type: 'array', items: { type: 'object' } },
    };
    expect(
      findSelectors({
        apiVersion: 'apiextensions.k8s.io/v1',
        kind: 'CustomResourceDefinition',
        metadata: { name: 'xs.example.com' },
        spec: {
          versions: [{ name: 'v1', schema: { openAPIV3Schema: { properties: { selector: { properties: props } } } } }],
        },
      }),
    ).toEqual([]);
    expect(
      findSelectors({
        apiVersion: 'policy/v1',
        kind: 'PodDisruptionBudget',
        metadata: { name: 'p' },
        spec: { selector: null },
      }),
    ).toEqual([]);
    // A ReplicationController's empty selector is defaulted to its template's labels: no selector of its own.
    expect(
      findSelectors({
        apiVersion: 'v1',
        kind: 'ReplicationController',
        metadata: { name: 'r' },
        spec: { selector: {} },
      }),
    ).toEqual([]);
  });

  it('searches a List item by item, with item paths', () => {
    const found = findSelectors({
      apiVersion: 'v1',
      kind: 'List',
      items: [
        { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' } },
        { apiVersion: 'v1', kind: 'Service', metadata: { name: 's' }, spec: { selector: { app: 'web' } } },
      ],
    });
    expect(found.map((f) => [f.path, f.selects.type])).toEqual([['items[1].spec.selector', 'pods']]);
  });

  it('keys that are no identifiers are quoted in paths', () => {
    const found = findSelectors({
      apiVersion: 'example.com/v1',
      kind: 'Thing',
      metadata: { name: 't' },
      spec: { 'my-selectors': { 'a.b': { matchLabels: { x: 'y' } } } },
    });
    expect(found.map((f) => f.path)).toEqual(['spec["my-selectors"]["a.b"]']);
  });

  it('compileFound reads each form with its own empty semantics', () => {
    expect(matches(compileFound({ form: 'labelSelector', selector: {} }), {})).toBe(true);
    expect(matches(compileFound({ form: 'map', selector: {} }), {})).toBe(false);
    expect(matches(compileFound({ form: 'set', selector: {} }), {})).toBe(true);
    expect(matches(compileFound({ form: 'nodeSelectorTerm', selector: {} }), {})).toBe(false);
    expect(matches(compileFound({ form: 'string', selector: '' }), {})).toBe(true);
    expect(codeOf(() => compileFound({ form: 'string', selector: 3 }))).toBe('E_SELECTOR_INVALID');
  });
});

/**
 * The conformance checkers can fail: a correct OUT passes every one of them, and each deliberately broken OUT (a
 * part-of label overwritten on a pod template, a selector label changed, our key written into a selector or a
 * volume claim template, an object lost, a type changed, an invalid label, ...) is reported by the checker of the
 * invariant it breaks, with the object and the field. On a kyverno-like render written here, and on the real
 * kyverno render of the corpus when it and the oracle are there (the corpus suite itself fails when they are not).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  checkLabelValidity,
  checkOnlyAddedKeys,
  checkSameObjects,
  checkSelections,
  checkWorkloadSelectors,
  clone,
  flatten,
  formatFailures,
  PART_OF,
  podTemplatePath,
  type Expectations,
  type Failure,
} from './invariants.js';
import { ExactNumber, oracleStatus, parseJsonExact, yamlToJson } from './oracle.js';
import { ROOT } from '../helpers/helm.js';

type Obj = Record<string, any>;

const PREFIX = 'helm-tiers.io/';
const EXPECT: Expectations = {
  prefix: PREFIX,
  requiredLabels: { [`${PREFIX}tier`]: '0', [`${PREFIX}release`]: 'monitoring' },
  requiredAnnotations: [`${PREFIX}depends-on`],
};
const OURS = { ...EXPECT.requiredLabels, [`${PREFIX}component`]: 'monitoring', [`${PREFIX}plan`]: 'platform' };

/** What a correct post-renderer does: our keys on object metadata and pod templates, nothing else touched. */
function postRender(objs: readonly Obj[], partOf?: string): Obj[] {
  return objs.map((o) => {
    const copy = clone(o) as Obj;
    const addLabels = (meta: Obj) => {
      meta.labels = { ...(meta.labels ?? {}), ...OURS };
      if (partOf !== undefined && !(PART_OF in meta.labels)) meta.labels[PART_OF] = partOf;
    };
    copy.metadata ??= {};
    addLabels(copy.metadata);
    copy.metadata.annotations = { ...(copy.metadata.annotations ?? {}), [`${PREFIX}depends-on`]: '' };
    const path = podTemplatePath(copy);
    if (path) {
      const template = path.reduce<Obj | undefined>((v, k) => v?.[k], copy);
      if (template) addLabels((template.metadata ??= {}));
    }
    return copy;
  });
}

const kyvernoLabels = (component: string) => ({
  'app.kubernetes.io/component': component,
  'app.kubernetes.io/instance': 'kyverno',
  'app.kubernetes.io/part-of': 'kyverno',
});

/** A kyverno-like release: everything selects on app.kubernetes.io/part-of: kyverno. */
const IN: Obj[] = [
  {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: {
      name: 'kyverno-admission-controller',
      namespace: 'apps',
      labels: kyvernoLabels('admission-controller'),
    },
    spec: {
      selector: { matchLabels: kyvernoLabels('admission-controller') },
      template: {
        metadata: { labels: kyvernoLabels('admission-controller'), creationTimestamp: null },
        spec: { containers: [{ name: 'kyverno', image: 'kyverno:1', args: ['--port=9443'] }] },
      },
    },
  },
  {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'kyverno-svc', namespace: 'apps', labels: kyvernoLabels('admission-controller') },
    spec: { selector: kyvernoLabels('admission-controller'), ports: [{ port: 443 }] },
  },
  {
    apiVersion: 'policy/v1',
    kind: 'PodDisruptionBudget',
    metadata: { name: 'kyverno-admission-controller', namespace: 'apps' },
    spec: { minAvailable: 1, selector: { matchLabels: kyvernoLabels('admission-controller') } },
  },
  {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRole',
    metadata: { name: 'kyverno:admission-controller', labels: kyvernoLabels('admission-controller') },
    aggregationRule: { clusterRoleSelectors: [{ matchLabels: kyvernoLabels('admission-controller') }] },
  },
  {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRole',
    metadata: { name: 'kyverno:admission-controller:core', labels: kyvernoLabels('admission-controller') },
    rules: [],
  },
  {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name: 'reports', namespace: 'apps' },
    spec: {
      selector: { matchLabels: { app: 'reports' } },
      template: { metadata: { labels: { app: 'reports' } } },
      volumeClaimTemplates: [{ metadata: { name: 'data', labels: { app: 'reports' } }, spec: { resources: {} } }],
    },
  },
  {
    apiVersion: 'autoscaling/v2',
    kind: 'HorizontalPodAutoscaler',
    metadata: { name: 'kyverno', namespace: 'apps' },
    spec: { scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'kyverno-admission-controller' } },
  },
  {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'kyverno', namespace: 'apps', annotations: { note: 'x' } },
    data: { replicas: '1', enabled: 'true', nothing: null },
  },
];

const all = (inObjs: readonly Obj[], outObjs: readonly Obj[], e: Expectations = EXPECT) => [
  ...checkSameObjects(inObjs, outObjs),
  ...checkOnlyAddedKeys(inObjs, outObjs, e),
  ...checkWorkloadSelectors(inObjs, outObjs),
  ...checkSelections(inObjs, outObjs),
  ...checkLabelValidity(inObjs, outObjs),
];

const where = (failures: readonly Failure[]) => failures.map((f) => [f.invariant, f.object, f.field]);

/** OUT of a correct post-render with `edit` applied to the object `Kind/name`. */
function broken(kindName: string, edit: (o: Obj) => void, inObjs: readonly Obj[] = IN): Obj[] {
  const out = postRender(inObjs);
  const target = out.find((o) => `${o.kind}/${o.metadata.name}` === kindName);
  if (!target) throw new Error(`no ${kindName}`);
  edit(target);
  return out;
}

describe('conformance checkers', () => {
  it('pass a correct OUT, with and without the opt-in part-of', () => {
    expect(all(IN, postRender(IN))).toEqual([]);
    const e = { ...EXPECT, partOf: 'platform' };
    expect(all(IN, postRender(IN, 'platform'), e)).toEqual([]);
    // part-of is required then where IN lacked it (the StatefulSet, the PDB, ...), and kept where IN had it.
    expect(where(checkOnlyAddedKeys(IN, postRender(IN), e))).toContainEqual([
      2,
      'StatefulSet/apps/reports',
      'spec.template.metadata.labels["app.kubernetes.io/part-of"]',
    ]);
  });

  it('a null in IN may be absent in OUT, a value may not become null', () => {
    expect(
      all(
        IN,
        broken('ConfigMap/kyverno', (o) => delete o.data.nothing),
      ),
    ).toEqual([]);
    expect(
      all(
        IN,
        broken('Deployment/kyverno-admission-controller', (o) => {
          delete o.spec.template.metadata.creationTimestamp;
        }),
      ),
    ).toEqual([]);
    expect(
      where(
        all(
          IN,
          broken('ConfigMap/kyverno', (o) => (o.data.replicas = null)),
        ),
      ),
    ).toEqual([[2, 'ConfigMap/apps/kyverno', 'data.replicas']]);
  });

  it("report part-of overwritten on kyverno's pod template: the value, the workload's and the Service's selection", () => {
    const out = broken('Deployment/kyverno-admission-controller', (o) => {
      o.spec.template.metadata.labels[PART_OF] = 'platform';
    });
    const f2 = checkOnlyAddedKeys(IN, out, EXPECT);
    expect(f2).toEqual([
      expect.objectContaining({
        object: 'Deployment/apps/kyverno-admission-controller',
        field: 'spec.template.metadata.labels["app.kubernetes.io/part-of"]',
        before: 'kyverno',
        after: 'platform',
      }),
    ]);
    expect(where(checkWorkloadSelectors(IN, out))).toEqual([
      [3, 'Deployment/apps/kyverno-admission-controller', 'spec.selector'],
    ]);
    expect(where(checkSelections(IN, out))).toEqual([
      [4, 'Deployment/apps/kyverno-admission-controller', 'spec.selector'],
      [4, 'Service/apps/kyverno-svc', 'spec.selector'],
      [4, 'PodDisruptionBudget/apps/kyverno-admission-controller', 'spec.selector'],
    ]);
    expect(checkSameObjects(IN, out)).toEqual([]);
    expect(checkLabelValidity(IN, out)).toEqual([]);
    expect(formatFailures('x', f2)).toContain('spec.template.metadata.labels["app.kubernetes.io/part-of"]');
  });

  it('report part-of overwritten on object metadata: ClusterRole aggregation selects less', () => {
    const out = broken(
      'ClusterRole/kyverno:admission-controller:core',
      (o) => (o.metadata.labels[PART_OF] = 'platform'),
    );
    expect(where(all(IN, out))).toEqual([
      [2, 'ClusterRole/kyverno:admission-controller:core', 'metadata.labels["app.kubernetes.io/part-of"]'],
      [4, 'ClusterRole/kyverno:admission-controller', 'aggregationRule.clusterRoleSelectors[0]'],
    ]);
  });

  it('report a changed selector label', () => {
    const out = broken('Service/kyverno-svc', (o) => (o.spec.selector['app.kubernetes.io/component'] = 'other'));
    expect(where(all(IN, out))).toEqual([
      [2, 'Service/apps/kyverno-svc', 'spec.selector["app.kubernetes.io/component"]'],
      [4, 'Service/apps/kyverno-svc', 'spec.selector'],
    ]);
  });

  it('report our keys in a selector or a volume claim template, even where selections stay the same', () => {
    const inSelector = broken('Deployment/kyverno-admission-controller', (o) => {
      o.spec.selector.matchLabels[`${PREFIX}tier`] = '0';
    });
    expect(where(all(IN, inSelector))).toEqual([
      [2, 'Deployment/apps/kyverno-admission-controller', 'spec.selector.matchLabels["helm-tiers.io/tier"]'],
    ]);
    const inClaims = broken(
      'StatefulSet/reports',
      (o) => (o.spec.volumeClaimTemplates[0].metadata.labels[`${PREFIX}tier`] = '0'),
    );
    const failures = all(IN, inClaims);
    expect(where(failures)).toEqual([
      [2, 'StatefulSet/apps/reports', 'spec.volumeClaimTemplates[0].metadata.labels["helm-tiers.io/tier"]'],
    ]);
    expect(failures[0]?.message).toContain('helm-tiers.io/tier');
  });

  it('report our keys missing: a passing comparison must not be vacuous', () => {
    const out = broken('StatefulSet/reports', (o) =>
      Reflect.deleteProperty(o.spec.template.metadata.labels, `${PREFIX}release`),
    );
    expect(where(all(IN, out))).toEqual([
      [2, 'StatefulSet/apps/reports', 'spec.template.metadata.labels["helm-tiers.io/release"]'],
    ]);
    const noAnnotation = broken('ConfigMap/kyverno', (o) =>
      Reflect.deleteProperty(o.metadata.annotations, `${PREFIX}depends-on`),
    );
    expect(where(all(IN, noAnnotation))).toEqual([
      [2, 'ConfigMap/apps/kyverno', 'metadata.annotations["helm-tiers.io/depends-on"]'],
    ]);
  });

  it('report lost, added and renamed objects, and an HPA whose target is gone', () => {
    const out = postRender(IN).filter((o) => o.kind !== 'Deployment');
    out.push({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'extra', namespace: 'apps' } });
    const failures = all(IN, out);
    expect(where(failures.filter((f) => f.invariant === 1))).toEqual([
      [1, 'Deployment/apps/kyverno-admission-controller', ''],
      [1, 'ConfigMap/apps/extra', ''],
    ]);
    expect(where(failures.filter((f) => f.invariant === 4))).toContainEqual([
      4,
      'HorizontalPodAutoscaler/apps/kyverno',
      'spec.scaleTargetRef',
    ]);
    const moved = broken('ConfigMap/kyverno', (o) => (o.metadata.namespace = 'other'));
    expect(where(checkSameObjects(IN, moved))).toEqual([
      [1, 'ConfigMap/apps/kyverno', ''],
      [1, 'ConfigMap/other/kyverno', ''],
    ]);
  });

  it('report a value whose type changed, however equal it looks', () => {
    const failures = all(
      IN,
      broken('ConfigMap/kyverno', (o) => {
        o.data.replicas = 1;
        o.data.enabled = true;
      }),
    );
    expect(where(failures)).toEqual([
      [2, 'ConfigMap/apps/kyverno', 'data.replicas'],
      [2, 'ConfigMap/apps/kyverno', 'data.enabled'],
    ]);
    expect(failures[0]).toMatchObject({ before: '1', after: 1 });
  });

  it('tell numbers apart that a double cannot', () => {
    const a = parseJsonExact('{"n":12345678901234567890}') as Obj;
    const b = parseJsonExact('{"n":12345678901234567891}') as Obj;
    expect(a.n).toBeInstanceOf(ExactNumber);
    const inObjs = [{ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'n' }, spec: a }];
    expect(where(checkOnlyAddedKeys(inObjs, postRender([{ ...inObjs[0], spec: b }]), EXPECT))).toEqual([
      [2, 'ConfigMap/n', 'spec.n'],
    ]);
    expect(checkOnlyAddedKeys(inObjs, postRender(inObjs), EXPECT)).toEqual([]);
  });

  it('report invalid labels and oversized annotations, but not what IN already had', () => {
    const long = broken('ConfigMap/kyverno', (o) => (o.metadata.labels[`${PREFIX}component`] = 'x'.repeat(64)));
    expect(where(checkLabelValidity(IN, long))).toEqual([
      [5, 'ConfigMap/apps/kyverno', 'metadata.labels["helm-tiers.io/component"]'],
    ]);
    const badKey = broken(
      'StatefulSet/reports',
      (o) => (o.spec.template.metadata.labels['helm-tiers.io/bad key'] = 'x'),
    );
    expect(where(checkLabelValidity(IN, badKey))).toEqual([
      [5, 'StatefulSet/apps/reports', 'spec.template.metadata.labels["helm-tiers.io/bad key"]'],
    ]);
    const number = broken('ConfigMap/kyverno', (o) => (o.metadata.labels[`${PREFIX}tier`] = 0));
    expect(where(checkLabelValidity(IN, number))).toEqual([
      [5, 'ConfigMap/apps/kyverno', 'metadata.labels["helm-tiers.io/tier"]'],
    ]);
    const big = broken(
      'ConfigMap/kyverno',
      (o) => (o.metadata.annotations[`${PREFIX}depends-on`] = 'x'.repeat(262_144)),
    );
    expect(where(checkLabelValidity(IN, big))).toEqual([[5, 'ConfigMap/apps/kyverno', 'metadata.annotations']]);
    // The chart's own invalid label is the chart's problem.
    const chartBad = IN.map((o) =>
      o.kind === 'ConfigMap' ? { ...o, metadata: { ...o.metadata, labels: { bad: 'not valid' } } } : o,
    );
    expect(checkLabelValidity(chartBad, postRender(chartBad))).toEqual([]);
  });

  it('flatten kind: List items as Helm does', () => {
    const list = { apiVersion: 'v1', kind: 'List', items: IN.slice(0, 2) };
    expect(flatten([list, IN[2]]).map((o) => o.kind)).toEqual(['Deployment', 'Service', 'PodDisruptionBudget']);
    // A custom resource whose kind ends in List and whose items are no objects is one object.
    const ports = { apiVersion: 'example.com/v1', kind: 'PortList', metadata: { name: 'p' }, items: [80, 443] };
    expect(flatten([ports])).toEqual([ports]);
  });
});

const CORPUS = join(resolve(ROOT, '../shared'), 'corpus');
const KYVERNO = join(CORPUS, 'kyverno', 'helm3.yaml');
const oracle = oracleStatus(ROOT);
const corpusFiles = existsSync(CORPUS)
  ? readdirSync(CORPUS, { recursive: true, encoding: 'utf8' })
      .filter((f) => /(^|\/)helm\d+\.yaml$/.test(f))
      .sort()
  : [];

describe('conformance checkers on the real corpus', () => {
  // No false alarms on real charts: a correct post-render of every corpus file passes every checker.
  it.skipIf(corpusFiles.length === 0 || !oracle.built)(
    'pass a correct OUT of every corpus file (skipped without corpus or oracle)',
    async () => {
      for (const file of corpusFiles) {
        const inObjs = flatten(await yamlToJson(oracle.binary, readFileSync(join(CORPUS, file), 'utf8'))) as Obj[];
        const failures = all(inObjs, postRender(inObjs));
        expect(failures, failures.length ? formatFailures(file, failures) : '').toEqual([]);
      }
    },
  );

  it.skipIf(!existsSync(KYVERNO) || !oracle.built)(
    'kyverno: report part-of overwritten on a pod template, a changed selector label (skipped without corpus or oracle)',
    async () => {
      const inObjs = flatten(await yamlToJson(oracle.binary, readFileSync(KYVERNO, 'utf8'))) as Obj[];
      const deployment = inObjs.find(
        (o) => o.kind === 'Deployment' && o.metadata.name === 'kyverno-admission-controller',
      );
      expect(deployment?.spec.template.metadata.labels[PART_OF]).toBe('kyverno');
      const out = broken(
        'Deployment/kyverno-admission-controller',
        (o) => {
          o.spec.template.metadata.labels[PART_OF] = 'platform';
        },
        inObjs,
      );
      const failures = all(inObjs, out);
      const object = 'Deployment/apps/kyverno-admission-controller';
      expect(where(failures)).toEqual(
        expect.arrayContaining([
          [2, object, 'spec.template.metadata.labels["app.kubernetes.io/part-of"]'],
          [3, object, 'spec.selector'],
          [4, object, 'spec.selector'],
          [4, 'Service/apps/kyverno-svc', 'spec.selector'],
        ]),
      );
      const changedSelector = broken(
        'Service/kyverno-svc',
        (o) => (o.spec.selector['app.kubernetes.io/part-of'] = 'platform'),
        inObjs,
      );
      expect(where(all(inObjs, changedSelector))).toEqual([
        [2, 'Service/apps/kyverno-svc', 'spec.selector["app.kubernetes.io/part-of"]'],
        [4, 'Service/apps/kyverno-svc', 'spec.selector'],
      ]);
    },
  );
});

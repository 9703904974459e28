/**
 * Schema proof: every object `helm-tiers flux` generates validates against the real Flux CRD schemas
 * (helm-controller v1.6.3 / source-controller, ../shared/crds/flux) made strict (unknown fields rejected, as the
 * API server's pruning would silently drop them), and against @kubernetes-models/flux-cd 4.0.0.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv, type ValidateFunction } from 'ajv';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { HelmRelease } from '@kubernetes-models/flux-cd/helm.toolkit.fluxcd.io/v2';
import { GitRepository } from '@kubernetes-models/flux-cd/source.toolkit.fluxcd.io/v1';
import { Namespace } from 'kubernetes-models/v1';
import { crdKey, crdVersionSchema, openApiToJsonSchema } from '../flux/crd-schema.js';
import { generateFluxResources } from '../flux/generate.js';
import { parsePlan, type Values } from '../plan/plan.js';
import { ROOT, SHARED } from './helpers/helm.js';
import { parseStream } from './helpers/yaml.js';

type Obj = Record<string, any>;
const CRD_DIR = join(SHARED, 'crds/flux');
const hasShared = existsSync(CRD_DIR);
const plan = parsePlan(readFileSync(join(ROOT, 'plan.yaml'), 'utf8'), 'plan.yaml');
const chartValues = {
  './charts/master-chart': parse(readFileSync(join(ROOT, 'charts/master-chart/values.yaml'), 'utf8')) as Values,
};

/** Objects of every variant the generator can write: defaults, Argo CD + kapp, an older Flux, another layout. */
const VARIANTS = {
  default: {},
  'argocd+kapp': { argocd: true, kapp: true },
  'flux 2.8': { fluxVersion: '2.8' },
  'ssh, secret, custom namespace and path': {
    gitUrl: 'ssh://git@github.com/acme/deploy',
    secretRef: 'flux-system',
    namespace: 'gitops',
    path: 'deploy/',
    interval: '1h30m',
  },
};
const objects = (options: object): Obj[] =>
  [...generateFluxResources(plan, { chartValues, ...options })]
    .filter(([name]) => name !== 'kustomization.yaml')
    .flatMap(([, text]) => parseStream(text) as Obj[]);
const committed = (): Obj[] =>
  readdirSync(join(ROOT, 'flux-resources'))
    .filter((f) => f !== 'kustomization.yaml')
    .flatMap((f) => parseStream(readFileSync(join(ROOT, 'flux-resources', f), 'utf8')) as Obj[]);

describe('openApiToJsonSchema', () => {
  const compile = (schema: Obj) => new Ajv({ strict: true, allErrors: true }).compile(openApiToJsonSchema(schema));
  it('closes objects that list properties, keeps preserve-unknown-fields and free maps open', () => {
    const fn = compile({
      type: 'object',
      properties: {
        closed: { type: 'object', properties: { a: { type: 'string' } } },
        open: { type: 'object', properties: { a: { type: 'string' } }, 'x-kubernetes-preserve-unknown-fields': true },
        map: { type: 'object', additionalProperties: { type: 'string' } },
        anything: { type: 'object' },
      },
    });
    expect(fn({ closed: { a: 'x' }, open: { a: 'x', b: 1 }, map: { k: 'v' }, anything: { x: [1] } })).toBe(true);
    expect(fn({ closed: { a: 'x', b: 1 } })).toBe(false);
    expect(fn({ map: { k: 1 } })).toBe(false);
    expect(fn({ extra: true })).toBe(false);
  });
  it('maps int-or-string, nullable and Kubernetes formats', () => {
    const fn = compile({
      type: 'object',
      properties: {
        port: { 'x-kubernetes-int-or-string': true },
        maybe: { type: 'string', nullable: true },
        n: { type: 'integer', format: 'int64' },
      },
    });
    expect(fn({ port: 80, maybe: null, n: 5 })).toBe(true);
    expect(fn({ port: 'http' })).toBe(true);
    expect(fn({ port: true })).toBe(false);
    expect(fn({ n: 1.5 })).toBe(false);
  });
});

describe('against the Flux CRD OpenAPI schemas (strict)', () => {
  if (!hasShared) {
    it('skipped: ../shared/crds/flux is absent', (ctx) => {
      ctx.skip(`${CRD_DIR} is absent: the CRD schema tests need the shared test data`);
    });
    return;
  }

  const validators = new Map<string, ValidateFunction>();
  const ajv = new Ajv({ strict: true, allErrors: true });
  for (const file of readdirSync(CRD_DIR).filter((f) => f.endsWith('.yaml'))) {
    const crd = parse(readFileSync(join(CRD_DIR, file), 'utf8')) as Obj;
    for (const v of crd.spec.versions as Obj[]) {
      if (v.served) validators.set(crdKey(crd, v.name as string), ajv.compile(crdVersionSchema(crd, v.name as string)));
    }
  }
  const validate = (o: Obj) => {
    const fn = validators.get(`${String(o.apiVersion)}/${String(o.kind)}`);
    if (!fn) throw new Error(`no CRD schema for ${o.apiVersion}/${o.kind}`);
    return fn(o)
      ? []
      : (fn.errors ?? []).map((e) => `${e.instancePath} ${e.message ?? ''} ${JSON.stringify(e.params)}`);
  };

  it('has the schemas of HelmRelease v2 and GitRepository v1', () => {
    expect(validators.has('helm.toolkit.fluxcd.io/v2/HelmRelease')).toBe(true);
    expect(validators.has('source.toolkit.fluxcd.io/v1/GitRepository')).toBe(true);
  });

  it.each(Object.entries(VARIANTS))('every Flux object validates (%s)', (_, options) => {
    const flux = objects(options).filter((o) => o.kind !== 'Namespace');
    expect(flux.map((o) => o.kind).sort()).toEqual(['GitRepository', ...Array(6).fill('HelmRelease')].sort());
    for (const o of flux) expect(validate(o), `${o.kind}/${o.metadata.name}`).toEqual([]);
  });

  // The schemas above leave out the CRDs' CEL rules (x-kubernetes-validations; no CEL engine here). Each rule is
  // written once more as a predicate, and the table must name every rule the CRDs have, so a new one fails here.
  const has = (o: Obj, k: string) => Object.prototype.hasOwnProperty.call(o, k);
  const CEL: Record<string, (self: Obj) => boolean> = {
    '(has(self.chart) && !has(self.chartRef)) || (!has(self.chart) && has(self.chartRef))': (s) =>
      has(s, 'chart') !== has(s, 'chartRef'),
    "!has(self.retryInterval) || self.name != 'RemediateOnFailure'": (s) =>
      !has(s, 'retryInterval') || s.name !== 'RemediateOnFailure',
    'has(self.configMapRef) || has(self.secretRef)': (s) => has(s, 'configMapRef') || has(s, 'secretRef'),
    '!has(self.configMapRef) || !has(self.secretRef)': (s) => !has(s, 'configMapRef') || !has(s, 'secretRef'),
    "!has(self.retryInterval) || self.name == 'RetryOnFailure'": (s) =>
      !has(s, 'retryInterval') || s.name === 'RetryOnFailure',
    "!has(self.serviceAccountName) || (has(self.provider) && (self.provider == 'azure' || self.provider == 'aws'))": (
      s,
    ) => !has(s, 'serviceAccountName') || s.provider === 'azure' || s.provider === 'aws',
  };
  /** CEL rules by `apiVersion/kind`, each with the path (property names, `[]` for list items) it applies at. */
  const celRules = new Map<string, { path: string[]; rule: string }[]>();
  for (const file of readdirSync(CRD_DIR).filter((f) => f.endsWith('.yaml'))) {
    const crd = parse(readFileSync(join(CRD_DIR, file), 'utf8')) as Obj;
    for (const v of crd.spec.versions as Obj[]) {
      const rules: { path: string[]; rule: string }[] = [];
      const walk = (s: Obj | undefined, path: string[]) => {
        if (!s) return;
        for (const r of (s['x-kubernetes-validations'] ?? []) as Obj[]) rules.push({ path, rule: String(r.rule) });
        for (const [k, child] of Object.entries((s.properties ?? {}) as Record<string, Obj>)) walk(child, [...path, k]);
        walk(s.items as Obj | undefined, [...path, '[]']);
      };
      walk(v.schema.openAPIV3Schema as Obj, []);
      celRules.set(crdKey(crd, v.name as string), rules);
    }
  }
  const at = (value: unknown, path: string[]): Obj[] => {
    if (value === undefined || value === null) return [];
    if (path.length === 0) return [value];
    const [head, ...rest] = path;
    if (head === '[]') return Array.isArray(value) ? value.flatMap((v) => at(v, rest)) : [];
    return at((value as Obj)[head as string], rest);
  };

  it('every generated object satisfies the CRDs CEL rules (checked as predicates)', () => {
    const ours = ['helm.toolkit.fluxcd.io/v2/HelmRelease', 'source.toolkit.fluxcd.io/v1/GitRepository'];
    for (const key of ours) for (const { rule } of celRules.get(key) ?? []) expect(CEL[rule], rule).toBeDefined();
    let checked = 0;
    for (const options of Object.values(VARIANTS)) {
      for (const o of objects(options).filter((x) => x.kind !== 'Namespace')) {
        for (const { path, rule } of celRules.get(`${String(o.apiVersion)}/${String(o.kind)}`) ?? []) {
          for (const node of at(o, path)) {
            checked++;
            expect(CEL[rule]?.(node), `${o.kind}/${o.metadata.name}: ${rule}`).toBe(true);
          }
        }
      }
    }
    // At least the chart/chartRef rule on each HelmRelease and the serviceAccountName rule on each GitRepository.
    expect(checked).toBeGreaterThanOrEqual(Object.keys(VARIANTS).length * 7);
    // The predicates are not vacuous: a HelmRelease with both chart and chartRef breaks the first rule.
    const hr = objects({}).find((x) => x.kind === 'HelmRelease') as Obj;
    expect(CEL[celRules.get('helm.toolkit.fluxcd.io/v2/HelmRelease')![0]!.rule]!({ ...hr.spec, chartRef: {} })).toBe(
      false,
    );
  });

  it('the committed flux-resources/ validates', () => {
    for (const o of committed().filter((x) => x.kind !== 'Namespace')) expect(validate(o), o.metadata.name).toEqual([]);
  });

  const base = () => objects({}).find((o) => o.metadata.name === 'tier3-api') as Obj;
  it.each([
    [
      'a misspelled spec field',
      (o: Obj) => {
        o.spec.intervall = '5m';
      },
      'additionalProperties',
    ],
    [
      'a misspelled nested field',
      (o: Obj) => {
        o.spec.upgrade.remediation.remediateLastFailures = true;
      },
      'additionalProperties',
    ],
    [
      'a misspelled patch target field',
      (o: Obj) => {
        o.spec.postRenderers[0].kustomize.patches[0].targett = { kind: '.*' };
      },
      'additionalProperties',
    ],
    [
      'an exec post-renderer (Flux has none)',
      (o: Obj) => {
        o.spec.postRenderers[0].exec = { command: 'helm-tiers' };
      },
      'additionalProperties',
    ],
    [
      'a wrong CRD policy',
      (o: Obj) => {
        o.spec.install.crds = 'Replace';
      },
      'enum',
    ],
    [
      'a wrong post-render strategy',
      (o: Obj) => {
        o.spec.postRenderStrategy = 'hooks';
      },
      'enum',
    ],
    [
      'a timeout that is not a duration',
      (o: Obj) => {
        o.spec.timeout = '17 minutes';
      },
      'pattern',
    ],
    [
      'a dependsOn entry without name',
      (o: Obj) => {
        o.spec.dependsOn[0] = { namespace: 'flux-system' };
      },
      'required',
    ],
  ] as const)('rejects %s', (_, mutate, keyword) => {
    const o = base();
    expect(validate(o)).toEqual([]);
    mutate(o);
    const fn = validators.get('helm.toolkit.fluxcd.io/v2/HelmRelease') as ValidateFunction;
    expect(fn(o)).toBe(false);
    expect(fn.errors?.map((e) => e.keyword)).toContain(keyword);
  });

  it('keeps free-form values open (x-kubernetes-preserve-unknown-fields) and rejects a GitRepository URL without a scheme', () => {
    const hr = base();
    hr.spec.values.anything = { nested: ['goes'] };
    expect(validate(hr)).toEqual([]);
    const repo = objects({}).find((o) => o.kind === 'GitRepository') as Obj;
    repo.spec.url = 'git@github.com:acme/deploy.git';
    expect(validate(repo).join('\n')).toMatch(/pattern/);
  });
});

describe('against @kubernetes-models/flux-cd 4.0.0', () => {
  /**
   * The package predates helm-controller 1.6: its schema has no `postRenderStrategy`, so the model validates a copy
   * without that hc 1.6 field (the CRD schema test above covers it). It does not reject unknown fields at all (see
   * the last test), which is why the CRD schema test is the strict one.
   */
  const withoutHc16 = (o: Obj): Obj => {
    const copy = structuredClone(o);
    if (copy.kind === 'HelmRelease') delete copy.spec.postRenderStrategy;
    return copy;
  };
  const model = (o: Obj) => {
    switch (o.kind) {
      case 'HelmRelease':
        return new HelmRelease(withoutHc16(o));
      case 'GitRepository':
        return new GitRepository(o);
      case 'Namespace':
        return new Namespace(o);
      default:
        throw new Error(`unexpected kind ${o.kind}`);
    }
  };

  it.each(Object.entries(VARIANTS))('every generated object validates (%s)', (_, options) => {
    const list = objects(options);
    expect(list.length).toBe(8);
    for (const o of list)
      expect(() => {
        model(o).validate();
      }, `${o.kind}/${o.metadata.name}`).not.toThrow();
  });

  it('rejects a wrong CRD policy, a non-integer retry count and a bad source kind', () => {
    const hr = objects({}).find((o) => o.kind === 'HelmRelease') as Obj;
    for (const mutate of [
      (o: Obj) => {
        o.spec.install.crds = 'Replace';
      },
      (o: Obj) => {
        o.spec.install.remediation.retries = 'three';
      },
      (o: Obj) => {
        o.spec.chart.spec.sourceRef.kind = 'Bucket2';
      },
    ]) {
      const o = structuredClone(hr);
      mutate(o);
      expect(() => {
        model(o).validate();
      }).toThrow();
    }
  });

  it('does not catch misspelled fields (the gap the strict CRD schema test closes)', () => {
    const o = structuredClone(objects({}).find((x) => x.kind === 'HelmRelease') as Obj);
    o.spec.intervall = '5m';
    expect(() => {
      model(o).validate();
    }).not.toThrow();
  });
});

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ErrorCodes, HelmTiersError } from '../../core/errors.js';
import { labelKeys, tierMetadata } from '../../core/labels.js';
import { identityFor, releaseValues } from '../../plan/metadata.js';
import { parsePlan, planLevels } from '../../plan/plan.js';
import { describePlan } from '../../cli/plan-command.js';
import { ROOT } from '../helpers/helm.js';

const example = () => parsePlan(readFileSync(join(ROOT, 'plan.yaml'), 'utf8'), 'plan.yaml');

const minimal = (components: string, head = 'name: p\nnamespace: apps\nchart: ./c\n') =>
  `${head}components:\n${components}`;

function planError(text: string): HelmTiersError {
  try {
    parsePlan(text, 'bad.yaml');
  } catch (err) {
    if (err instanceof HelmTiersError) return err;
    throw err;
  }
  throw new Error('expected the plan to be refused');
}

describe('the example plan', () => {
  it('has the six releases in four levels, platform services in parallel with tier 1', () => {
    const plan = example();
    expect(plan.components.map((c) => c.release)).toEqual([
      'tier1-database',
      'tier2-cache',
      'tier3-api',
      'tier4-frontend',
      'monitoring',
      'kyverno',
    ]);
    expect(planLevels(plan).map((l) => l.map((c) => c.release))).toEqual([
      ['tier1-database', 'monitoring', 'kyverno'],
      ['tier2-cache'],
      ['tier3-api'],
      ['tier4-frontend'],
    ]);
  });

  it('gives each release its labels, annotations and values', () => {
    const plan = example();
    const meta = tierMetadata(identityFor(plan, 'tier3-api'));
    expect(Object.fromEntries(meta.labels)).toEqual({
      'helm-tiers.io/tier': '3',
      'helm-tiers.io/component': 'api',
      'helm-tiers.io/release': 'tier3-api',
      'helm-tiers.io/plan': 'platform',
    });
    expect(Object.fromEntries(meta.annotations)).toEqual({
      'helm-tiers.io/tier': '3',
      'helm-tiers.io/depends-on': 'tier1-database,tier2-cache',
    });
    expect(releaseValues(plan, 'kyverno')).toMatchObject({
      kyverno: {
        enabled: true,
        requiresCRDs: true,
        requiredCRDs: expect.arrayContaining(['clusterpolicies.kyverno.io']),
      },
      global: {
        tiers: {
          component: 'kyverno',
          tier: 0,
          dependsOn: [],
          plan: 'platform',
          partOfLabel: false,
          labelPrefix: 'helm-tiers.io/',
        },
      },
    });
    expect(releaseValues(plan, 'tier2-cache')).toMatchObject({ global: { tiers: { dependsOn: ['tier1-database'] } } });
  });

  it('prints levels and dependencies', () => {
    const text = describePlan(example());
    expect(text).toContain('level 1: tier1-database (tier 1), monitoring (tier 0), kyverno (tier 0)');
    expect(text).toMatch(/tier3-api\s+component=api tier=3 namespace=apps dependsOn=\[tier1-database, tier2-cache\]/);
  });

  it('adds the plan-revision annotation only when a revision is given (never a label)', () => {
    const id = identityFor(example(), 'tier3-api');
    const plain = tierMetadata(id);
    expect(tierMetadata({ ...id, planRevision: '' })).toEqual(plain);
    expect(tierMetadata({ ...id, planRevision: undefined })).toEqual(plain);
    const meta = tierMetadata({ ...id, planRevision: '0123456789abcdef' });
    expect(meta.labels).toEqual(plain.labels);
    expect(meta.annotations).toEqual([...plain.annotations, ['helm-tiers.io/plan-revision', '0123456789abcdef']]);
    expect(labelKeys('example.com/').planRevision).toBe('example.com/plan-revision');
  });

  it('adds Argo CD and kapp ordering annotations on request', () => {
    const meta = tierMetadata({ ...identityFor(example(), 'tier3-api'), argocd: true, kapp: true });
    expect(Object.fromEntries(meta.annotations)).toMatchObject({
      'argocd.argoproj.io/sync-wave': '3',
      'kapp.k14s.io/change-group': 'platform/tier3-api',
      'kapp.k14s.io/change-rule': 'upsert after upserting platform/tier1-database',
      'kapp.k14s.io/change-rule.1': 'upsert after upserting platform/tier2-cache',
    });
  });
});

describe('plan validation', () => {
  it.each([
    ['unknown dependency', minimal('  - {name: a, tier: 1, dependsOn: [ghost]}\n'), 'components[0].dependsOn[0]', 5],
    ['self dependency', minimal('  - {name: a, tier: 1, dependsOn: [a]}\n'), 'components[0].dependsOn[0]', 5],
    [
      'tier not above its dependency',
      minimal('  - {name: a, tier: 2}\n  - {name: b, tier: 2, dependsOn: [a]}\n'),
      'components[1].tier',
      6,
    ],
    ['duplicate component', minimal('  - {name: a, tier: 1}\n  - {name: a, tier: 2}\n'), 'components[1].name', 6],
    [
      'duplicate release',
      minimal('  - {name: a, release: r, tier: 1}\n  - {name: b, release: r, tier: 2}\n'),
      'components[1].release',
      6,
    ],
    ['bad label value', minimal('  - {name: "not ok!", tier: 1}\n'), 'components[0].name', 5],
    ['bad part-of', minimal('  - {name: a, tier: 1}\n', 'name: "-x-"\nchart: ./c\n'), 'name', 1],
    ['negative tier', minimal('  - {name: a, tier: -1}\n'), 'components[0].tier', 5],
    ['string tier', minimal('  - {name: a, tier: "1"}\n'), 'components[0].tier', 5],
    ['unknown field', minimal('  - {name: a, tier: 1, dependson: []}\n'), 'components[0].dependson', 5],
    ['bad CRD name', minimal('  - {name: a, tier: 1, requiredCRDs: [widgets]}\n'), 'components[0].requiredCRDs[0]', 5],
    [
      'bad label prefix',
      minimal('  - {name: a, tier: 1}\n', 'name: p\nchart: ./c\nlabelPrefix: Bad_Prefix\n'),
      'labelPrefix',
      3,
    ],
    ['long release name', minimal(`  - {name: a, release: ${'r'.repeat(54)}, tier: 1}\n`), 'components[0].release', 5],
    ['no chart', '  \nname: p\ncomponents:\n  - {name: a, tier: 1}\n', 'components[0].chart', 4],
    ['non-boolean wait', minimal('  - {name: a, tier: 1, wait: "no"}\n'), 'components[0].wait', 5],
  ])('refuses %s with file, line and field', (_name, text, field, line) => {
    const err = planError(text);
    expect(err.code).toBe(ErrorCodes.PLAN_INVALID);
    expect(err.location).toMatchObject({ file: 'bad.yaml', field, line });
  });

  it('names the cycle', () => {
    const err = planError(
      minimal(
        '  - {name: a, tier: 3, dependsOn: [c]}\n  - {name: b, tier: 1, dependsOn: [a]}\n  - {name: c, tier: 2, dependsOn: [b]}\n',
      ),
    );
    expect(err.code).toBe(ErrorCodes.PLAN_INVALID);
    expect(err.message).toContain('a → c → b → a');
  });

  it('refuses invalid YAML with its position', () => {
    const err = planError('name: p\ncomponents: [\n');
    expect(err.code).toBe(ErrorCodes.PLAN_INVALID);
    expect(err.location.line).toBeGreaterThanOrEqual(2);
  });
});

describe('component wait', () => {
  it('records only wait: false (true is the default, spelled out or not)', () => {
    const [a, b, c] = parsePlan(
      minimal('  - {name: a, tier: 1, wait: false}\n  - {name: b, tier: 1, wait: true}\n  - {name: c, tier: 1}\n'),
    ).components;
    expect(a?.wait).toBe(false);
    expect(b).not.toHaveProperty('wait');
    expect(c).not.toHaveProperty('wait');
  });
});

import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parsePlan } from '../../plan/plan.js';
import {
  canonicalJson,
  planRevision,
  planRevisionFromDisk,
  PLAN_REVISION_PATTERN,
  readChartFiles,
  type ChartFiles,
} from '../../plan/revision.js';

const PLAN = `name: p
namespace: apps
chart: ./c
components:
  - name: a
    tier: 1
    values: {x: 1, y: {z: true}}
  - name: b
    tier: 2
    dependsOn: [a]
`;
const chart = (files: Record<string, string>): Map<string, ChartFiles> =>
  new Map([['./c', new Map(Object.entries(files))]]);
const BASE = { 'Chart.yaml': 'apiVersion: v2\nname: c\nversion: 0.1.0\n', 'templates/cm.yaml': 'kind: ConfigMap\n' };

describe('planRevision', () => {
  const base = planRevision(parsePlan(PLAN), chart(BASE));

  it('is 16 hex characters and deterministic', () => {
    expect(base).toMatch(PLAN_REVISION_PATTERN);
    expect(planRevision(parsePlan(PLAN), chart({ ...BASE }))).toBe(base);
  });

  it('ignores what the releases do not see: comments, layout, key order, the file name, file order', () => {
    const reformatted = `# a comment\nnamespace: apps\nname: p\nchart: ./c\ncomponents:\n  - {name: a, tier: 1, values: {y: {z: true}, x: 1}}\n  - {name: b, tier: 2, dependsOn: [a]}\n`;
    const reordered = new Map([['./c', new Map(Object.entries(BASE).reverse())]]);
    expect(planRevision(parsePlan(reformatted, 'other.yaml'), reordered)).toBe(base);
  });

  it('changes with any value, dependency, tier or chart file', () => {
    const variants = [
      planRevision(parsePlan(PLAN.replace('x: 1', 'x: 2')), chart(BASE)),
      planRevision(parsePlan(PLAN.replace('tier: 2', 'tier: 3')), chart(BASE)),
      planRevision(parsePlan(PLAN.replace('    dependsOn: [a]\n', '')), chart(BASE)),
      planRevision(parsePlan(PLAN), chart({ ...BASE, 'templates/cm.yaml': 'kind: Secret\n' })),
      planRevision(parsePlan(PLAN), chart({ ...BASE, 'templates/new.yaml': '' })),
      // Moving content between a file name and its body must not collide (length-prefixed fields).
      planRevision(
        parsePlan(PLAN),
        chart({ 'Chart.yaml': BASE['Chart.yaml'], 'templates/cm.yamlkind: ConfigMap\n': '' }),
      ),
    ];
    for (const v of variants) expect(v).not.toBe(base);
    expect(new Set(variants).size).toBe(variants.length);
  });

  it('refuses to run without the files of a chart the plan uses', () => {
    expect(() => planRevision(parsePlan(PLAN), new Map())).toThrow(/chart "\.\/c"/);
  });

  it('canonicalJson sorts keys at every level and keeps array order', () => {
    expect(canonicalJson({ b: [2, 1], a: { d: 1, c: null } })).toBe('{"a":{"c":null,"d":1},"b":[2,1]}');
  });
});

describe('planRevisionFromDisk', () => {
  const dir = mkdtempSync(join(tmpdir(), 'revision-'));
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('reads the charts next to the plan, and a file outside them does not count', () => {
    mkdirSync(join(dir, 'c', 'templates'), { recursive: true });
    writeFileSync(join(dir, 'plan.yaml'), PLAN);
    for (const [name, text] of Object.entries(BASE)) writeFileSync(join(dir, 'c', name), text);
    const onDisk = planRevisionFromDisk(parsePlan(PLAN), join(dir, 'plan.yaml'));
    expect(onDisk).toBe(planRevision(parsePlan(PLAN), chart(BASE)));
    expect([...readChartFiles(join(dir, 'c')).keys()].sort()).toEqual(['Chart.yaml', 'templates/cm.yaml']);
    writeFileSync(join(dir, 'README.md'), 'docs only');
    expect(planRevisionFromDisk(parsePlan(PLAN), join(dir, 'plan.yaml'))).toBe(onDisk);
    writeFileSync(join(dir, 'c', 'templates', 'cm.yaml'), 'kind: Secret\n');
    expect(planRevisionFromDisk(parsePlan(PLAN), join(dir, 'plan.yaml'))).not.toBe(onDisk);
  });
});

/**
 * The master chart's values contract on Helm 3 and Helm 4: `helm lint --strict` with every release's values, the
 * values schemas refusing bad values on both majors, and the README tables matching the values files.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { mergeValues } from '../plan/metadata.js';
import type { Values } from '../plan/plan.js';
import {
  chartDir,
  repoRoot,
  helmEnv,
  loadExamplePlan,
  MAJORS,
  planValues,
  runHelm,
  writeValues,
} from './chart-helm.js';

const plan = loadExamplePlan();
const RELEASES = plan.components.map((c) => c.release);

let env: NodeJS.ProcessEnv;
let cleanupEnv: () => void;
let dir: string;

beforeAll(() => {
  ({ env, cleanup: cleanupEnv } = helmEnv());
  dir = mkdtempSync(path.join(tmpdir(), 'ht-chart-lint-'));
});

afterAll(() => {
  cleanupEnv();
  rmSync(dir, { recursive: true, force: true });
});

/** Each case: a release, values merged over its plan values, and the value path the error must name. */
const BAD: { name: string; release: string; values: Values; path: RegExp }[] = [
  {
    name: 'unknown global key',
    release: 'tier1-database',
    values: { global: { autoInstallCRD: true } },
    path: /autoInstallCRD/,
  },
  {
    name: 'label prefix without slash',
    release: 'tier1-database',
    values: { global: { tiers: { labelPrefix: 'helm-tiers.io' } } },
    path: /labelPrefix/,
  },
  {
    name: 'string for a boolean',
    release: 'tier2-cache',
    values: { global: { autoFixPods: 'yes' } },
    path: /autoFixPods/,
  },
  {
    name: 'invalid dependsOn release',
    release: 'tier3-api',
    values: { global: { tiers: { dependsOn: ['Tier1_DB'] } } },
    path: /dependsOn/,
  },
  { name: 'negative tier', release: 'tier3-api', values: { global: { tiers: { tier: -1 } } }, path: /tier/ },
  {
    name: 'hook image without tag',
    release: 'tier1-database',
    values: { global: { hooks: { image: { tag: '' } } } },
    path: /tag/,
  },
  {
    name: 'bad CRD name',
    release: 'monitoring',
    values: { monitoring: { requiredCRDs: ['Prometheuses'] } },
    path: /requiredCRDs/,
  },
  {
    name: 'CRD version that is not an API version',
    release: 'tier3-api',
    values: { api: { optionalCRDs: ['servicemonitors.monitoring.coreos.com@1'] } },
    path: /optionalCRDs/,
  },
  {
    name: 'unknown crd profile',
    release: 'kyverno',
    values: { kyverno: { crdProfile: 'kyverno-2' } },
    path: /crdProfile/,
  },
  {
    name: 'privilege escalation',
    release: 'tier3-api',
    values: { api: { securityContext: { allowPrivilegeEscalation: true } } },
    path: /allowPrivilegeEscalation/,
  },
  {
    name: 'running as root allowed',
    release: 'tier1-database',
    values: { database: { podSecurityContext: { runAsNonRoot: false } } },
    path: /runAsNonRoot/,
  },
  {
    name: 'capabilities kept',
    release: 'tier2-cache',
    values: { cache: { securityContext: { capabilities: { drop: ['NET_RAW'] } } } },
    path: /drop/,
  },
  { name: 'unknown subchart key', release: 'tier4-frontend', values: { frontend: { replicas: 3 } }, path: /replicas/ },
  {
    name: 'bad failure action',
    release: 'kyverno',
    values: { kyverno: { policies: { failureAction: 'Block' } } },
    path: /failureAction/,
  },
  {
    name: 'port out of range',
    release: 'tier1-database',
    values: { database: { service: { port: 70000 } } },
    path: /port/,
  },
];

describe.each(MAJORS)('master chart values on %s', (major) => {
  it.each(RELEASES)('lints --strict with the values of %s', async (release) => {
    const file = writeValues(dir, `${major}-${release}`, planValues(plan, release));
    const r = await runHelm(major, ['lint', '--strict', chartDir, '--namespace', 'apps', '-f', file], env);
    expect(r.stdout + r.stderr).toMatch(/1 chart\(s\) linted, 0 chart\(s\) failed/);
    expect(r.stdout).not.toMatch(/\[(WARNING|ERROR)\]/);
    expect(r.code).toBe(0);
  });

  it.each(RELEASES)('lints --strict with autoInstallCRDs and autoFixPods on for %s', async (release) => {
    const values = mergeValues(planValues(plan, release), { global: { autoInstallCRDs: true, autoFixPods: true } });
    const file = writeValues(dir, `${major}-${release}-auto`, values);
    const r = await runHelm(major, ['lint', '--strict', chartDir, '--namespace', 'apps', '-f', file], env);
    expect(r.stdout).not.toMatch(/\[(WARNING|ERROR)\]/);
    expect(r.code, r.stdout + r.stderr).toBe(0);
  });

  it('lints --strict with the chart defaults (every component off)', async () => {
    const r = await runHelm(major, ['lint', '--strict', chartDir], env);
    expect(r.code, r.stdout + r.stderr).toBe(0);
  });

  it.each(BAD)('schema rejects: $name', async ({ release, values, path: where }) => {
    const file = writeValues(dir, `${major}-bad`, mergeValues(planValues(plan, release), values));
    const r = await runHelm(major, ['template', release, chartDir, '--namespace', 'apps', '-f', file], env);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/values don't meet the specifications of the schema/);
    expect(r.stderr).toMatch(where);
  });
});

describe('values schemas', () => {
  it('are what charts/tools/gen-schemas.mjs generates', async () => {
    const r = await new Promise<{ code: number; stderr: string }>((resolve) => {
      execFile(
        process.execPath,
        [path.join(repoRoot, 'charts/tools/gen-schemas.mjs'), '--check'],
        (err, _o, stderr) => {
          resolve({ code: err ? 1 : 0, stderr });
        },
      );
    });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
  });
});

// ---- README tables generated by @bitnami/readme-generator-for-helm from the values files -------------------------

interface Param {
  key: string;
  value: string;
}

/** The `@param` keys of a values file with their defaults, formatted as the generator writes them. */
function params(valuesFile: string): Param[] {
  const text = readFileSync(valuesFile, 'utf8');
  const values = parse(text) as Values;
  const out: Param[] = [];
  for (const m of text.matchAll(/^\s*## @param (\S+)/gm)) {
    const key = m[1] ?? '';
    let v: unknown = values;
    for (const k of key.split('.')) v = (v as Values | undefined)?.[k];
    // The generator shows strings bare (empty as ""), everything else as JSON.
    const value = typeof v === 'string' ? (v === '' ? '""' : v) : JSON.stringify(v);
    out.push({ key, value });
  }
  return out;
}

/** The table rows of the README's Parameters section: key → value column. */
function readmeRows(readme: string): Map<string, string> {
  const rows = new Map<string, string>();
  const text = readFileSync(readme, 'utf8');
  const start = text.indexOf('\n## Parameters\n');
  const end = text.indexOf('\n## ', start + 1);
  const section = text.slice(start, end === -1 ? undefined : end);
  for (const m of section.matchAll(/^\| `([^`]+)`\s*\|[^|]*\|\s*(.*?)\s*\|$/gm))
    rows.set(m[1] ?? '', (m[2] ?? '').replace(/^`|`$/g, ''));
  return rows;
}

const charts = [chartDir, ...readdirSync(path.join(chartDir, 'charts')).map((c) => path.join(chartDir, 'charts', c))];

describe('chart READMEs', () => {
  it.each(charts.map((c) => [path.relative(chartDir, c) || '.', c]))(
    '%s: the parameter table matches values.yaml (regenerate with readme-generator-for-helm)',
    (_name, chart) => {
      const expected = params(path.join(chart, 'values.yaml'));
      expect(expected.length).toBeGreaterThan(3);
      const rows = readmeRows(path.join(chart, 'README.md'));
      for (const p of expected) {
        expect(p.value, `${p.key}: no such key in values.yaml`).toBeDefined();
        expect(rows.has(p.key), `${p.key}: missing from the README table`).toBe(true);
        expect(rows.get(p.key), p.key).toBe(p.value);
      }
      const documented = new Set(expected.map((p) => p.key));
      const extra = [...rows.keys()].filter((k) => !documented.has(k) && rows.get(k) !== '');
      expect(extra, 'rows without an @param in values.yaml').toEqual([]);
    },
  );
});

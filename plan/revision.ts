/**
 * The plan revision: one digest of everything the releases of a plan are installed from, namely the parsed plan
 * (components, tiers, dependencies, values, CRD lists; not its comments or layout) and the files of every chart
 * it uses. Nothing else in the repository counts, so a docs-only commit keeps the revision.
 *
 * Every path carries it: the Flux generator writes it into each HelmRelease (`values.global.tiers.planRevision`,
 * so a change bumps every generation together and `dependsOn[].readyExpr` can compare it), and the dependency
 * check requires each dependency to run the same revision. Computed here only (docs/flux.md, "Strict ordering").
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join, posix, relative, sep } from 'node:path';
import { planCharts, type Plan } from './plan.js';
import { chartDir } from './read.js';

/** Hex characters kept: 64 bits, far from collisions between two consecutive revisions of a plan. */
export const PLAN_REVISION_LENGTH = 16;
/** Format of a revision (what the chart schema and the hooks accept). */
export const PLAN_REVISION_PATTERN = /^[0-9a-f]{16}$/;

/** A chart's files: path relative to the chart folder (`/`-separated) → content. */
export type ChartFiles = ReadonlyMap<string, Uint8Array | string>;

/** Canonical JSON: object keys sorted at every level, so equal values give equal text whatever their order. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (typeof value === 'object' && value !== null) {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  // undefined, functions and symbols have no JSON form; values parsed from YAML never hold them.
  return value === undefined ? 'null' : JSON.stringify(value);
}

/** What of the plan the releases see (the file name is only for messages). */
function planContent(plan: Plan): unknown {
  const { file: _file, ...rest } = plan; // eslint-disable-line @typescript-eslint/no-unused-vars -- dropped on purpose
  return rest;
}

/**
 * The revision of `plan` with its charts' files (keyed by the chart path as the plan writes it). Pure. Every
 * chart the plan names must be given: a missing chart would make the revision blind to it.
 */
export function planRevision(plan: Plan, charts: ReadonlyMap<string, ChartFiles>): string {
  const hash = createHash('sha256');
  const field = (text: string | Uint8Array) => {
    const bytes = typeof text === 'string' ? Buffer.from(text, 'utf8') : text;
    // Length-prefixed fields: no two different inputs concatenate to the same byte stream.
    hash.update(`${bytes.length}:`);
    hash.update(bytes);
  };
  field('helm-tiers plan revision v1');
  field(canonicalJson(planContent(plan)));
  const used = planCharts(plan).sort();
  for (const chart of used) {
    const files = charts.get(chart);
    if (files === undefined) throw new Error(`planRevision: the files of chart "${chart}" were not given`);
    field(`chart ${chart}`);
    const names = [...files.keys()].sort();
    field(String(names.length));
    for (const name of names) {
      field(name);
      field(files.get(name) as Uint8Array | string);
    }
  }
  return hash.digest('hex').slice(0, PLAN_REVISION_LENGTH);
}

/** Every file under `dir` (recursively; `.git` left out), relative `/`-separated paths. */
export function readChartFiles(dir: string): Map<string, Uint8Array> {
  const out = new Map<string, Uint8Array>();
  const walk = (d: string) => {
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      if (entry.name === '.git') continue;
      const full = join(d, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.isFile()) out.set(relative(dir, full).split(sep).join(posix.sep), readFileSync(full));
    }
  };
  walk(dir);
  return out;
}

/** The I/O shell: reads the plan's charts next to `planFile` and returns the plan revision. */
export function planRevisionFromDisk(plan: Plan, planFile: string): string {
  const charts = new Map<string, ChartFiles>();
  for (const chart of planCharts(plan)) charts.set(chart, readChartFiles(chartDir(planFile, chart)));
  return planRevision(plan, charts);
}

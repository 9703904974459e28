/**
 * `helm-tiers flux`: the thin shell around flux/generate.ts. Reads the plan and the charts' values.yaml, writes
 * (or with --check compares) the Flux layout. Returns the exit code.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Writable } from 'node:stream';
import minimist from 'minimist';
import { parse } from 'yaml';
import { ErrorCodes, exitCodeFor, formatError, HelmTiersError } from '../core/errors.js';
import { DEFAULT_FLUX_OPTIONS, generateFluxResources } from '../flux/generate.js';
import { planCharts, type Values } from '../plan/plan.js';
import { chartDir, readPlanFile } from '../plan/read.js';
import { planRevisionFromDisk } from '../plan/revision.js';

export const FLUX_USAGE = `Usage: helm-tiers flux [options]

Writes the Flux resources of the plan (namespace, GitRepository, one HelmRelease per release, kustomization).

  --plan FILE            deployment plan (default ./plan.yaml, env HELM_TIERS_PLAN)
  --out DIR              output folder (default flux-resources)
  --git-url URL          repository Flux clones (http://, https:// or ssh://; default ${DEFAULT_FLUX_OPTIONS.gitUrl})
  --branch NAME          branch (default ${DEFAULT_FLUX_OPTIONS.branch})
  --secret-ref NAME      Secret with the Git credentials, for a private repository (e.g. flux-system, the deploy
                         key \`flux bootstrap\` creates; use the ssh:// URL then); default none (public repository)
  --path DIR             folder of the plan inside the repository; chart paths are relative to it (default ${DEFAULT_FLUX_OPTIONS.path})
  --interval DURATION    reconcile interval (default ${DEFAULT_FLUX_OPTIONS.interval})
  --namespace NS         namespace of the Flux objects (default ${DEFAULT_FLUX_OPTIONS.namespace})
  --source NAME          take the charts from this existing GitRepository in the Flux namespace (e.g. flux-system,
                         from \`flux bootstrap\`) instead of generating gitrepository.yaml
  --flux-version X.Y     Flux version targeted (default ${DEFAULT_FLUX_OPTIONS.fluxVersion}; ≥ 2.9 sets postRenderStrategy)
  --argocd               also write argocd.argoproj.io/sync-wave annotations
  --kapp                 also write kapp.k14s.io change-group/change-rule annotations
  --check                write nothing; exit 1 when DIR differs from what would be written
  --help                 this text
`;

export interface FluxCommandContext {
  readonly argv: readonly string[];
  readonly cwd: string;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly stdout: Writable;
  readonly stderr: Writable;
}

const STRING_FLAGS = [
  'plan',
  'out',
  'git-url',
  'branch',
  'secret-ref',
  'path',
  'interval',
  'namespace',
  'flux-version',
  'source',
];
const BOOLEAN_FLAGS = ['argocd', 'kapp', 'check', 'help'];
/** Files this command owns in the output folder: stale ones (a removed release) are deleted. */
const GENERATED = /^(namespace|gitrepository|kustomization|.+-helmrelease)\.yaml$/;

export function readChartValues(file: string): Values | undefined {
  if (!existsSync(file)) return undefined;
  try {
    const v = parse(readFileSync(file, 'utf8'), { version: '1.1' }) as unknown;
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Values) : undefined;
  } catch (err) {
    throw new HelmTiersError(ErrorCodes.PLAN_INVALID, `cannot read the chart values: ${(err as Error).message}`, {
      file,
    });
  }
}

export function runFlux(ctx: FluxCommandContext): number {
  try {
    const unknown: string[] = [];
    const args = minimist([...ctx.argv], {
      string: STRING_FLAGS,
      boolean: BOOLEAN_FLAGS,
      unknown: (a) => {
        unknown.push(a);
        return false;
      },
    });
    if (unknown.length > 0)
      throw new HelmTiersError(ErrorCodes.USAGE, `unknown argument ${unknown.join(' ')}\n${FLUX_USAGE}`);
    if (args.help) {
      ctx.stdout.write(FLUX_USAGE);
      return 0;
    }
    const str = (key: string, fallback: string) => (args[key] as string | undefined) ?? fallback;
    const planFile = str('plan', ctx.env.HELM_TIERS_PLAN ?? 'plan.yaml');
    const planPath = resolve(ctx.cwd, planFile);
    const plan = readPlanFile(planFile, ctx.cwd);
    const chartValues: Record<string, Values | undefined> = {};
    for (const c of plan.components)
      chartValues[c.chart] ??= readChartValues(join(chartDir(planPath, c.chart), 'values.yaml'));
    const chartsWithCRDs = planCharts(plan).filter((chart) => existsSync(join(chartDir(planPath, chart), 'crds')));
    let planRevision: string;
    try {
      planRevision = planRevisionFromDisk(plan, planPath);
    } catch (err) {
      throw new HelmTiersError(ErrorCodes.PLAN_INVALID, `cannot read the charts: ${(err as Error).message}`, {
        file: planFile,
      });
    }

    const files = generateFluxResources(plan, {
      gitUrl: str('git-url', DEFAULT_FLUX_OPTIONS.gitUrl),
      branch: str('branch', DEFAULT_FLUX_OPTIONS.branch),
      secretRef: str('secret-ref', DEFAULT_FLUX_OPTIONS.secretRef),
      path: str('path', DEFAULT_FLUX_OPTIONS.path),
      interval: str('interval', DEFAULT_FLUX_OPTIONS.interval),
      namespace: str('namespace', DEFAULT_FLUX_OPTIONS.namespace),
      fluxVersion: str('flux-version', DEFAULT_FLUX_OPTIONS.fluxVersion),
      argocd: Boolean(args.argocd),
      kapp: Boolean(args.kapp),
      chartValues,
      planFile,
      planRevision,
      chartsWithCRDs,
      sourceName: str('source', DEFAULT_FLUX_OPTIONS.sourceName),
    });

    const out = resolve(ctx.cwd, str('out', 'flux-resources'));
    const existing = existsSync(out) ? readdirSync(out).filter((f) => GENERATED.test(f)) : [];
    const stale = existing.filter((f) => !files.has(f));
    const changed = [...files].filter(([name, content]) => {
      const path = join(out, name);
      return !existsSync(path) || readFileSync(path, 'utf8') !== content;
    });

    if (args.check) {
      if (changed.length === 0 && stale.length === 0) {
        ctx.stdout.write(`${out}: up to date (${files.size} files)\n`);
        return 0;
      }
      for (const [name] of changed) ctx.stderr.write(`differs: ${join(out, name)}\n`);
      for (const name of stale) ctx.stderr.write(`not generated any more: ${join(out, name)}\n`);
      ctx.stderr.write('run `helm-tiers flux` with the same options to regenerate\n');
      return 1;
    }
    mkdirSync(out, { recursive: true });
    for (const [name, content] of changed) writeFileSync(join(out, name), content);
    for (const name of stale) unlinkSync(join(out, name));
    ctx.stdout.write(
      `${out}: ${files.size} files (${changed.length} written, ${stale.length} removed): ${[...files.keys()].join(', ')}\n`,
    );
    return 0;
  } catch (err) {
    ctx.stderr.write(formatError(err) + '\n');
    return exitCodeFor(err);
  }
}

/**
 * The post-renderer's shell: arguments, stdin, stdout, stderr and the log file. `run` returns the exit code; the
 * bin sets `process.exitCode` from it.
 */
import { appendFileSync, mkdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import type { Readable } from 'node:stream';
import minimist from 'minimist';
import { ErrorCodes, exitCodeFor, formatError, formatLocation, HelmTiersError } from '../../core/errors.js';
import { DEFAULT_LABEL_PREFIX, tierMetadata, type TierIdentity } from '../../core/labels.js';
import { identityFor } from '../../plan/metadata.js';
import { parsePlan } from '../../plan/plan.js';
import { readPlanFile } from '../../plan/read.js';
import { PLAN_REVISION_PATTERN } from '../../plan/revision.js';
import type { ConflictPolicy } from './model.js';
import { postRender } from './render.js';

export const USAGE = `Usage: helm-tiers post-render (--plan FILE --release NAME | --release NAME --component NAME --tier N
                                [--plan-name NAME] [--part-of-label] [--depends-on REL1,REL2]
                                [--label-prefix PREFIX/]) [options]

Reads Helm's rendered manifests on stdin and writes them to stdout with tier labels and annotations added.
Only keys under the label prefix are added; no value the chart rendered is ever changed.

  --plan FILE          deployment plan (env HELM_TIERS_PLAN)
  --release NAME       the Helm release being rendered (a release or component name of the plan)
  --component, --tier, --plan-name, --part-of-label, --depends-on, --label-prefix
                       explicit identity instead of a plan, checked by the plan's rules
                       (--depends-on lists release names; --plan-name defaults to the component;
                       --part-of-label adds app.kubernetes.io/part-of: <plan name> where absent)
  --argocd             also write argocd.argoproj.io/sync-wave (the tier)
  --kapp               also write kapp.k14s.io/change-group and change-rule (from dependsOn)
  --plan-revision REV  also write the annotation <prefix>plan-revision: REV on every object (16 hex digits,
                       the plan revision the caller computed; the dependency check compares it)
  --on-conflict MODE   error (default: refuse, E_CONFLICT) or keep (keep the chart's value and warn),
                       when an object already has another value for one of our keys
  --allow-empty        accept a render without objects (a release holding only hooks)
  --log-file FILE      where diagnostics are also appended (env HELM_TIERS_LOG_FILE; default
                       $XDG_STATE_HOME/helm-tiers/post-renderer.log, i.e. ~/.local/state/...):
                       Helm 4 discards a plugin's stderr
  --help               this text
`;

export type Env = Readonly<Record<string, string | undefined>>;

export function defaultLogFile(env: Env): string {
  const state = env.XDG_STATE_HOME || join(env.HOME || homedir(), '.local', 'state');
  return join(state, 'helm-tiers', 'post-renderer.log');
}

interface Options {
  identity: TierIdentity;
  onConflict: ConflictPolicy;
  allowEmpty: boolean;
}

const STRING_FLAGS = [
  'plan',
  'release',
  'component',
  'tier',
  'plan-name',
  'depends-on',
  'label-prefix',
  'on-conflict',
  'log-file',
  'plan-revision',
];
const BOOLEAN_FLAGS = ['argocd', 'kapp', 'allow-empty', 'part-of-label', 'help'];

export function parseArgs(argv: readonly string[], env: Env, cwd: string): Options | 'help' {
  const unknown: string[] = [];
  const args = minimist([...argv], {
    string: STRING_FLAGS,
    boolean: BOOLEAN_FLAGS,
    unknown: (a) => {
      unknown.push(a);
      return false;
    },
  });
  if (args.help) return 'help';
  if (unknown.length > 0) throw new HelmTiersError(ErrorCodes.USAGE, `unknown argument ${unknown.join(' ')}`);
  const str = (k: string): string | undefined => {
    const v: unknown = args[k];
    if (Array.isArray(v)) throw new HelmTiersError(ErrorCodes.USAGE, `--${k} given more than once`);
    return typeof v === 'string' && v !== '' ? v : undefined;
  };
  const onConflict = str('on-conflict') ?? 'error';
  if (onConflict !== 'keep' && onConflict !== 'error') {
    const why = onConflict === 'overwrite' ? ' (overwrite is gone: it changed values charts rendered)' : '';
    throw new HelmTiersError(ErrorCodes.USAGE, `--on-conflict must be error or keep, not "${onConflict}"${why}`);
  }
  // Given by the caller (helm-tiers deploy, the demo), who computed it once for the plan: computing it here would
  // read every chart file on each render.
  const planRevision = str('plan-revision');
  if (planRevision !== undefined && !PLAN_REVISION_PATTERN.test(planRevision))
    throw new HelmTiersError(
      ErrorCodes.USAGE,
      `--plan-revision must be a plan revision (16 lowercase hex digits), not "${planRevision}"`,
    );
  const release = str('release');
  if (!release) throw new HelmTiersError(ErrorCodes.USAGE, '--release is required');
  const planFile = str('plan') ?? env.HELM_TIERS_PLAN;
  let identity: TierIdentity;
  if (planFile) {
    identity = identityFor(readPlanFile(planFile, cwd), release);
  } else {
    const component = str('component');
    const tierText = str('tier');
    if (!component || tierText === undefined) {
      throw new HelmTiersError(ErrorCodes.USAGE, 'give --plan FILE, or --component and --tier');
    }
    if (!/^\d+$/.test(tierText))
      throw new HelmTiersError(ErrorCodes.USAGE, `--tier must be an integer ≥ 0, not "${tierText}"`);
    identity = explicitIdentity({
      release,
      component,
      tier: Number(tierText),
      plan: str('plan-name'),
      partOfLabel: Boolean(args['part-of-label']),
      dependsOn: (str('depends-on') ?? '').split(',').filter(Boolean),
      labelPrefix: str('label-prefix'),
    });
  }
  return {
    identity: { ...identity, argocd: Boolean(args.argocd), kapp: Boolean(args.kapp), planRevision },
    onConflict,
    allowEmpty: Boolean(args['allow-empty']),
  };
}

/** Which flag gave the value a plan field holds in the one-release plan of `explicitIdentity`. */
function flagFor(field: string | undefined): string {
  if (field === 'name') return '--plan-name';
  if (field === 'labelPrefix') return '--label-prefix';
  if (field === 'components[0].name') return '--component';
  if (field === 'components[0].release') return '--release';
  if (field !== undefined && /^components\[\d+\]\.release$/.test(field)) return '--depends-on';
  return field ?? 'the explicit identity flags';
}

/**
 * Explicit identity flags get the plan's own checks, not a copy of them: they become a one-release plan (plus one
 * component per `--depends-on` release, so each of those is checked as a release name) that `parsePlan` validates.
 * Its errors keep the plan path's code (E_PLAN_INVALID for the same mistake) and name the flag instead of the field.
 * A dependency on itself or a repeated one is checked here first, only for the message: the plan refuses both too,
 * but would name a stand-in component instead of the flag. Without `--plan-name` the component
 * name is the plan name (already checked as the component's, by the same rule).
 */
function explicitIdentity(id: Omit<TierIdentity, 'plan'> & { readonly plan: string | undefined }): TierIdentity {
  const invalid = (message: string, flag: string) =>
    new HelmTiersError(ErrorCodes.PLAN_INVALID, message, { field: flag });
  id.dependsOn.forEach((dep, i) => {
    if (dep === id.release) throw invalid(`release "${id.release}" depends on itself`, '--depends-on');
    if (id.dependsOn.indexOf(dep) !== i) throw invalid(`dependency "${dep}" is listed twice`, '--depends-on');
  });
  // Component names of the dependency stand-ins: distinct, valid, never the real component's name.
  const standIn = (i: number) => (`d${i}` === id.component ? `e${i}` : `d${i}`);
  const plan = {
    name: id.plan ?? 'p',
    labelPrefix: id.labelPrefix ?? DEFAULT_LABEL_PREFIX,
    chart: '.',
    components: [
      { name: id.component, release: id.release, tier: id.tier },
      ...id.dependsOn.map((dep, i) => ({ name: standIn(i), release: dep, tier: 0 })),
    ],
  };
  try {
    // JSON is YAML: the same parser, the same rules as a plan file.
    parsePlan(JSON.stringify(plan), 'the command line');
  } catch (err) {
    if (!(err instanceof HelmTiersError)) throw err;
    throw new HelmTiersError(err.code, err.message, { field: flagFor(err.location.field) }, { cause: err });
  }
  return { ...id, plan: id.plan ?? id.component, labelPrefix: plan.labelPrefix };
}

async function readAll(stream: Readable | string): Promise<string> {
  if (typeof stream === 'string') return stream;
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer));
  return Buffer.concat(chunks).toString('utf8');
}

function appendLog(file: string, lines: readonly string[]): void {
  try {
    mkdirSync(dirname(file), { recursive: true });
    const stamp = new Date().toISOString();
    appendFileSync(file, lines.map((l) => `${stamp} ${l}\n`).join(''));
  } catch {
    // The log file is a convenience for Helm 4 users; failing to write it must not fail the render.
  }
}

/** Where text goes: a Writable stream (process.stdout, tests) or the bin's direct write(2) on a descriptor. */
export interface TextSink {
  write(text: string, done?: (err?: Error | null) => void): boolean;
}

export interface RunContext {
  /** The rendered manifests: a stream, or the text already read (the bin reads fd 0 in one call: one copy in memory). */
  readonly stdin: Readable | string;
  readonly stdout: TextSink;
  readonly stderr: TextSink;
  readonly argv: readonly string[];
  readonly env: Env;
  readonly cwd: string;
}

export async function run(ctx: RunContext): Promise<number> {
  // Known before the arguments are validated, so that a usage error is logged too.
  const fromArgs: unknown = minimist([...ctx.argv], { string: ['log-file'] })['log-file'];
  const logFile = (typeof fromArgs === 'string' && fromArgs) || ctx.env.HELM_TIERS_LOG_FILE || defaultLogFile(ctx.env);
  const program = 'helm-tiers post-render';
  try {
    const options = parseArgs(ctx.argv, ctx.env, ctx.cwd);
    if (options === 'help') {
      ctx.stdout.write(USAGE);
      return 0;
    }
    const input = await readAll(ctx.stdin);
    const result = postRender(input, {
      meta: tierMetadata(options.identity),
      onConflict: options.onConflict,
      allowEmpty: options.allowEmpty,
    });
    const notes = result.warnings.map((w) => {
      const where = formatLocation(w.location);
      return `${program}: warning: ${where ? `${where}: ` : ''}${w.message}`;
    });
    if (notes.length > 0) {
      ctx.stderr.write(notes.join('\n') + '\n');
      appendLog(logFile, notes);
    }
    await new Promise<void>((done, fail) => {
      ctx.stdout.write(result.output, (err) => {
        if (err) fail(new HelmTiersError(ErrorCodes.IO, err.message));
        else done();
      });
    });
    return 0;
  } catch (err) {
    const message = formatError(err, program);
    ctx.stderr.write(`${message}\n`);
    appendLog(logFile, [message]);
    if (ctx.env.HELM_PLUGIN_NAME) ctx.stderr.write(`(Helm 4 hides this message; it is also in ${logFile})\n`);
    return exitCodeFor(err);
  }
}

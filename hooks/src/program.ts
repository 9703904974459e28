/** The common life cycle of a hook program: flags, --help, context, one summary line, typed errors → exit codes. */
import {
  createContext,
  helpText,
  parseFlags,
  type Context,
  type FlagSpec,
  type FlagValue,
  type RunDeps,
} from './cli.js';
import { HOOK_EXIT_CODES, HookError, HookErrorCodes, hookExitCode, formatHookError } from './errors.js';

export interface ProgramDef {
  name: string;
  summary: string;
  flags: readonly FlagSpec[];
  exitCodes: readonly [number, string][];
  /** Checks flag combinations before any Kubernetes configuration is loaded (throws E_USAGE). */
  validate?: (values: Record<string, FlagValue>) => void;
  /** Returns the exit code and the human summary line (without the program prefix). */
  main: (ctx: Context, values: Record<string, FlagValue>) => Promise<{ code: number; summary: string }>;
}

export const COMMON_EXIT_CODES: [number, string][] = [
  [
    HOOK_EXIT_CODES.E_FORBIDDEN,
    'forbidden: the ServiceAccount lacks an RBAC rule (the message names verb and resource)',
  ],
  [HOOK_EXIT_CODES.E_UNAUTHORIZED, 'unauthorized: credentials rejected'],
  [
    HOOK_EXIT_CODES.E_NOT_FOUND,
    'not found (404): a resource type the program lists is not served (after bounded retries), or an object it needs is gone',
  ],
  [HOOK_EXIT_CODES.E_API_CONFLICT, 'conflict (409) after bounded retries'],
  [HOOK_EXIT_CODES.E_API_THROTTLED, 'throttled (429) after bounded retries (Retry-After honoured)'],
  [HOOK_EXIT_CODES.E_API_UNAVAILABLE, 'API server unreachable or 5xx after bounded retries'],
  [HOOK_EXIT_CODES.E_API_REJECTED, 'API server rejected a request (400/422)'],
  [
    HOOK_EXIT_CODES.E_LIST_EXPIRED,
    'a paginated list expired (410 Gone) on every attempt: restarted from scratch twice, it expired each time',
  ],
  [HOOK_EXIT_CODES.E_TIMEOUT, 'overall deadline (--timeout) reached before an answer'],
  [HOOK_EXIT_CODES.E_KUBECONFIG, 'no usable Kubernetes configuration'],
  [HOOK_EXIT_CODES.E_USAGE, 'bad flags or environment variables'],
  [HOOK_EXIT_CODES.E_INTERNAL, 'unexpected error (a bug)'],
  [HOOK_EXIT_CODES.E_TERMINATED, 'terminated by SIGTERM (a summary is still printed)'],
];

export async function runProgram(
  def: ProgramDef,
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
  deps: RunDeps,
): Promise<number> {
  const out = deps.out ?? ((t: string) => process.stdout.write(t));
  let values: Record<string, FlagValue>;
  try {
    const parsed = parseFlags(argv, env, def.flags);
    if (parsed.help) {
      out(helpText(def.name, def.summary, def.flags, def.exitCodes));
      return 0;
    }
    values = parsed.values;
    def.validate?.(values);
  } catch (err) {
    out(`${formatHookError(err, def.name)}\n`);
    return hookExitCode(err);
  }
  let ctx: Context;
  try {
    ctx = await createContext(def.name, values, env, deps);
  } catch (err) {
    out(`${formatHookError(err, def.name)}\n`);
    return hookExitCode(err);
  }
  try {
    const { code, summary } = await def.main(ctx, values);
    const final = ctx.deadline.signal.aborted && code !== 0 ? HOOK_EXIT_CODES.E_TERMINATED : code;
    ctx.log.info({ exitCode: final, apiCalls: ctx.apiCalls() }, 'done');
    out(`${def.name}: ${summary} (exit ${final})\n`);
    return final;
  } catch (err) {
    const terminated =
      ctx.deadline.signal.aborted || (err instanceof HookError && err.code === HookErrorCodes.TERMINATED);
    const code = terminated ? HOOK_EXIT_CODES.E_TERMINATED : hookExitCode(err);
    const e = err instanceof HookError ? err : undefined;
    ctx.log.error(
      { code: e?.code ?? HookErrorCodes.INTERNAL, details: e?.details, exitCode: code, apiCalls: ctx.apiCalls() },
      e ? e.message : formatHookError(err, def.name),
    );
    out(
      `${terminated ? `${def.name}: terminated before finishing: ${e?.message ?? 'SIGTERM'}` : formatHookError(err, def.name)} (exit ${code})\n`,
    );
    return code;
  }
}

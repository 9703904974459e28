/**
 * Shared command-line plumbing: flag table → minimist → env fallback → typed options, `--help` text, the pino
 * logger, the overall deadline and SIGTERM handling. Every flag has an environment variable so that the chart can
 * configure Jobs through `env:` alone.
 */
import minimist from 'minimist';
import type { Logger } from 'pino';
import type { Writable } from 'node:stream';
import { HookError, HookErrorCodes } from './errors.js';
import { Deadline, systemClock, type Clock } from './k8s/clock.js';
import type { HookKube } from './k8s/client.js';
import type { RetryHooks } from './k8s/retry.js';

export type FlagType = 'string' | 'boolean' | 'number' | 'list';

export interface FlagSpec {
  name: string;
  env: string;
  type: FlagType;
  default?: string | number | boolean | undefined;
  help: string;
}

export type FlagValue = string | number | boolean | string[] | undefined;

export const COMMON_FLAGS: FlagSpec[] = [
  {
    name: 'namespace',
    env: 'HT_NAMESPACE',
    type: 'string',
    help: 'namespace (default: the pod ServiceAccount namespace, else the kubeconfig context namespace, else "default")',
  },
  {
    name: 'timeout',
    env: 'HT_TIMEOUT',
    type: 'number',
    default: 240,
    help: 'overall deadline in seconds; keep it below the Helm hook timeout',
  },
  {
    name: 'log-level',
    env: 'HT_LOG_LEVEL',
    type: 'string',
    default: 'info',
    help: 'pino log level: fatal, error, warn, info, debug, trace, silent',
  },
];

const TRUE = new Set(['true', '1', 'yes', 'on']);
const FALSE = new Set(['false', '0', 'no', 'off', '']);

function toBool(v: unknown, flag: FlagSpec, source: string): boolean {
  if (typeof v === 'boolean') return v;
  const s = String(v).toLowerCase();
  if (TRUE.has(s)) return true;
  if (FALSE.has(s)) return false;
  throw new HookError(HookErrorCodes.USAGE, `${source} for --${flag.name} must be true or false, got "${String(v)}"`);
}

export function splitList(v: string): string[] {
  return v
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

const show = (v: unknown): string => (typeof v === 'string' ? v : JSON.stringify(v));

export interface ParsedFlags {
  help: boolean;
  values: Record<string, FlagValue>;
}

/** Precedence: command line, then environment variable, then default. Unknown flags are usage errors. */
export function parseFlags(argv: readonly string[], env: NodeJS.ProcessEnv, specs: readonly FlagSpec[]): ParsedFlags {
  const booleans = specs.filter((s) => s.type === 'boolean').map((s) => s.name);
  const strings = specs.filter((s) => s.type !== 'boolean').map((s) => s.name);
  const known = new Set([...specs.map((s) => s.name), 'help', 'h', '_']);
  let unknownFlag: string | undefined;
  const args = minimist([...argv], {
    boolean: [...booleans, 'help'],
    string: strings,
    alias: { h: 'help' },
    unknown: (a) => {
      if (a.startsWith('-')) {
        const name = a.replace(/^--?(no-)?/, '').split('=')[0] ?? a;
        if (!known.has(name)) unknownFlag ??= a;
      }
      return true;
    },
  });
  if (args.help === true) return { help: true, values: {} };
  if (unknownFlag !== undefined) throw new HookError(HookErrorCodes.USAGE, `unknown flag ${unknownFlag} (see --help)`);
  if (args._.length > 0)
    throw new HookError(HookErrorCodes.USAGE, `unexpected argument "${String(args._[0])}" (see --help)`);
  const values: Record<string, FlagValue> = {};
  for (const spec of specs) {
    // minimist reports every declared boolean as false when absent: only trust it when the flag was given.
    const given =
      spec.type !== 'boolean' ||
      argv.some((a) => a === `--${spec.name}` || a === `--no-${spec.name}` || a.startsWith(`--${spec.name}=`));
    const fromArgv: unknown = given ? args[spec.name] : undefined;
    const fromEnv = env[spec.env];
    let raw: unknown;
    let source: string;
    if (fromArgv !== undefined && !(Array.isArray(fromArgv) && fromArgv.length === 0)) {
      // A repeated flag: the last one wins, except for lists, which accumulate.
      raw = Array.isArray(fromArgv) && spec.type !== 'list' ? fromArgv[fromArgv.length - 1] : fromArgv;
      source = `--${spec.name}`;
    } else if (fromEnv !== undefined && fromEnv !== '') {
      raw = fromEnv;
      source = spec.env;
    } else {
      raw = spec.default;
      source = 'default';
    }
    if (raw === undefined) {
      values[spec.name] = undefined;
      continue;
    }
    switch (spec.type) {
      case 'boolean':
        values[spec.name] = toBool(raw, spec, source);
        break;
      case 'number': {
        const n = typeof raw === 'number' ? raw : Number(show(raw));
        if (!Number.isFinite(n) || n < 0)
          throw new HookError(
            HookErrorCodes.USAGE,
            `${source} for --${spec.name} must be a non-negative number, got "${show(raw)}"`,
          );
        values[spec.name] = n;
        break;
      }
      case 'list':
        values[spec.name] = (Array.isArray(raw) ? raw.map(show) : [show(raw)]).flatMap(splitList);
        break;
      case 'string':
        values[spec.name] = show(raw);
        break;
    }
  }
  return { help: false, values };
}

export function helpText(
  program: string,
  summary: string,
  specs: readonly FlagSpec[],
  exitCodes: readonly [number, string][],
): string {
  const lines = [
    `Usage: ${program} [flags]`,
    '',
    summary,
    '',
    'Flags (each also settable by its environment variable):',
  ];
  for (const s of [...specs, { name: 'help', env: '', type: 'boolean' as const, help: 'show this help' }]) {
    const arg = s.type === 'boolean' ? '' : s.type === 'list' ? ' a,b,...' : s.type === 'number' ? ' N' : ' VALUE';
    const def = s.default !== undefined ? ` (default ${String(s.default)})` : '';
    lines.push(`  --${s.name}${arg}${s.env ? `  [${s.env}]` : ''}`, `      ${s.help}${def}`);
  }
  lines.push(
    '',
    'Kubernetes access: in-cluster ServiceAccount by default; KUBECONFIG (or ~/.kube/config) when present.',
    '',
    'Exit codes:',
  );
  for (const [code, what] of exitCodes) lines.push(`  ${String(code).padStart(3)}  ${what}`);
  return lines.join('\n') + '\n';
}

/** Side effects a program needs, injected so tests can run `run()` in-process. */
export interface RunDeps {
  /** Human-readable output (tables, the final summary line). Default: process.stdout. */
  out?: (text: string) => void;
  /** Destination of the JSON log lines. Default: stdout (fd 1), synchronous. */
  logDestination?: Writable | NodeJS.WritableStream;
  /** Builds the Kubernetes client; default loads kubeconfig/in-cluster config. */
  kube?: (ctx: { env: NodeJS.ProcessEnv; deadline: Deadline; hooks: RetryHooks }) => HookKube;
  clock?: Clock;
  /** Aborted on SIGTERM: programs stop waiting, print their summary and exit 143. */
  signal?: AbortSignal;
  /** Where the in-cluster namespace is read from (tests point it elsewhere). */
  saNamespaceFile?: string;
}

export interface Context {
  program: string;
  log: Logger;
  out: (text: string) => void;
  namespace: string;
  deadline: Deadline;
  kube: HookKube;
  clock: Clock;
  apiCalls: () => number;
}

/** Builds the shared context once the flags are parsed. */
export async function createContext(
  program: string,
  values: Record<string, FlagValue>,
  env: NodeJS.ProcessEnv,
  deps: RunDeps,
): Promise<Context> {
  // Loaded on demand: client-node is most of the bundle, and `--help` or a usage error should not pay for it.
  const { createHookKube, loadKubeConfig, resolveNamespace } = await import('./k8s/client.js');
  const clock = deps.clock ?? systemClock;
  const level = String(values['log-level'] ?? 'info');
  if (!['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].includes(level)) {
    throw new HookError(
      HookErrorCodes.USAGE,
      `--log-level must be one of fatal, error, warn, info, debug, trace, silent; got "${level}"`,
    );
  }
  // Loaded on demand too: `--help` and usage errors do not need a logger.
  const { default: pino } = await import('pino');
  const dest = deps.logDestination ?? pino.destination({ dest: 1, sync: true });
  const log = pino({ level, base: { program }, timestamp: pino.stdTimeFunctions.isoTime }, dest);
  const out = deps.out ?? ((t: string) => process.stdout.write(t));
  const controller = new AbortController();
  deps.signal?.addEventListener(
    'abort',
    () => {
      controller.abort();
    },
    { once: true },
  );
  if (deps.signal?.aborted) controller.abort();
  const timeoutS = Number(values.timeout ?? 240);
  const deadline = new Deadline(clock, clock.now() + timeoutS * 1000, controller.signal);
  let calls = 0;
  const hooks: RetryHooks = {
    onCall: () => {
      calls++;
    },
    onRetry: (err, attempt, waitMs) => {
      log.warn({ code: err.code, status: err.details.status, attempt, waitMs }, `retrying: ${err.message}`);
    },
  };
  let namespaceFromConfig: string | undefined;
  let kube: HookKube;
  if (deps.kube) {
    kube = deps.kube({ env, deadline, hooks });
  } else {
    const kc = loadKubeConfig(env);
    namespaceFromConfig = resolveNamespace(values.namespace as string | undefined, kc, deps.saNamespaceFile);
    kube = createHookKube(kc, deadline, hooks);
  }
  const namespace =
    namespaceFromConfig ?? resolveNamespace(values.namespace as string | undefined, undefined, deps.saNamespaceFile);
  return { program, log, out, namespace, deadline, kube, clock, apiCalls: () => calls };
}

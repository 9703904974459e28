/**
 * The one process shell of every helm-tiers entry point (docs/adr/0008): the CLI, the post-renderer (its
 * executable and its Helm 4 plugin run the same bundle), each hook program, the demo and the benchmarks. It wires
 * process.argv/env/cwd/stdin/stdout/stderr (and, for the hooks, SIGTERM/SIGINT into an AbortSignal) into a
 * `main(io) → exit code`, sets `process.exitCode`, and turns whatever main throws into a diagnostic and an exit
 * code through the one registry of core/errors.ts (untyped: 70).
 *
 * Start-up cost matters (the post-renderer runs on every `helm install`, docs/adr/0006): this module imports
 * nothing but core/errors.ts, and touches process.stdin/stdout/stderr only when main reads them (Node builds those
 * streams on first use).
 */
import type { Readable, Writable } from 'node:stream';
import { exitCodeFor, formatError } from './errors.js';
import { forceExit } from './bin/exit.js';

/** Anything text can be written to: a Writable, or the post-renderer's write(2) sink. */
export interface TextOut {
  write(text: string): unknown;
}

export interface ProcessIO<Out extends TextOut = Writable> {
  readonly argv: readonly string[];
  readonly env: NodeJS.ProcessEnv;
  readonly cwd: string;
  readonly stdin: Readable;
  readonly stdout: Out;
  readonly stderr: Out;
  /** Aborted on SIGTERM/SIGINT when the shell handles signals; never aborted otherwise. */
  readonly signal: AbortSignal;
}

export type Main<Out extends TextOut = Writable> = (io: ProcessIO<Out>) => Promise<number> | number;

export interface ShellOptions<Out extends TextOut = Writable> {
  /** Prefix of the diagnostic of an error main did not handle (`<program>: E_…: …`). */
  readonly program: string;
  /** Own stdout/stderr (the post-renderer writes with write(2)); default process.stdout/stderr. */
  readonly stdout?: Out;
  readonly stderr?: Out;
  /** SIGTERM/SIGINT abort `io.signal` instead of killing the process (the hooks print a summary first). */
  readonly handleSignals?: boolean;
  /**
   * End the process this long after main returned, even if a handle is left (a request abandoned at a deadline
   * may hold a socket open and keep a hook Job running). Default: never force.
   */
  readonly forceExitAfterMs?: number;
  /** Where the diagnostic of an unhandled error goes; the hooks keep it in their one stdout log. */
  readonly diagnostics?: 'stdout' | 'stderr';
}

/**
 * Runs `main` and returns its exit code; an error it throws is written (`write`) as `<program>: <code>: …` and
 * mapped by the registry. The in-process form of the shell: tests and composite commands use it directly.
 */
export async function exitCodeOf(
  program: string,
  write: (text: string) => unknown,
  main: () => Promise<number> | number,
) {
  try {
    return await main();
  } catch (err) {
    write(`${formatError(err, program)}\n`);
    return exitCodeFor(err);
  }
}

/** The bin entry point: wires the process into `main`, sets `process.exitCode`; resolves with the exit code. */
export function runMain<Out extends TextOut = Writable>(main: Main<Out>, options: ShellOptions<Out>): Promise<number> {
  const controller = new AbortController();
  if (options.handleSignals) {
    const abort = (): void => {
      controller.abort();
    };
    // Kept for the process's life (not `once`): a launcher's own signal handler (cluster/real) re-raises the signal
    // when nobody else listens, which would end the process before main has finished its clean-up.
    process.on('SIGTERM', abort);
    process.on('SIGINT', abort);
  }
  const own = options;
  const io: ProcessIO<Out> = {
    argv: process.argv.slice(2),
    env: process.env,
    cwd: process.cwd(),
    signal: controller.signal,
    // Getters: a stream Node builds on first use costs the post-renderer milliseconds it does not need.
    get stdin() {
      return process.stdin;
    },
    get stdout() {
      return own.stdout ?? (process.stdout as unknown as Out);
    },
    get stderr() {
      return own.stderr ?? (process.stderr as unknown as Out);
    },
  };
  const report = (text: string) => (options.diagnostics === 'stdout' ? io.stdout : io.stderr).write(text);
  return exitCodeOf(options.program, report, () => main(io)).then((code) => {
    process.exitCode = code;
    if (options.forceExitAfterMs !== undefined) {
      setTimeout(() => forceExit(code), options.forceExitAfterMs).unref();
    }
    return code;
  });
}

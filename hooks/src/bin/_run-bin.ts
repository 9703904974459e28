/** What every hook bin does, through the one process shell (core/shell.ts): SIGTERM/SIGINT abort the run. */
import { runMain } from '../../../core/shell.js';
import type { RunDeps } from '../cli.js';

export type RunFn = (argv: readonly string[], env: NodeJS.ProcessEnv, deps?: RunDeps) => Promise<number>;

export function runBin(program: string, run: RunFn): void {
  void runMain((io) => run(io.argv, io.env, { signal: io.signal }), {
    program,
    handleSignals: true,
    // A request abandoned at the deadline may still hold a socket open; do not let it keep the Job running.
    forceExitAfterMs: 500,
    // The Job's log is stdout: the JSON records, the tables and the summary line in one ordered stream.
    diagnostics: 'stdout',
  });
}

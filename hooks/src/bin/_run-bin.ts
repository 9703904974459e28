/** What every bin does: wire process.* into run(), turn SIGTERM into an abort, set the exit code. */
import type { RunDeps } from '../cli.js';

export type RunFn = (argv: readonly string[], env: NodeJS.ProcessEnv, deps?: RunDeps) => Promise<number>;

export function runBin(run: RunFn): void {
  const controller = new AbortController();
  const onTerm = (): void => {
    controller.abort();
  };
  process.once('SIGTERM', onTerm);
  process.once('SIGINT', onTerm);
  run(process.argv.slice(2), process.env, { signal: controller.signal }).then(
    (code) => {
      process.exitCode = code;
      // A request abandoned at the deadline may still hold a socket open; do not let it keep the Job running.
      // eslint-disable-next-line no-restricted-properties -- bin entry point: the only place allowed to end the process.
      setTimeout(() => process.exit(code), 500).unref();
    },
    (err: unknown) => {
      process.stdout.write(`unexpected error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exitCode = 70;
    },
  );
}

/**
 * Child processes of the control plane: each one's stdout and stderr go to its own log file, its exit is
 * observable as a promise, and stopping it is SIGTERM, a grace period, then SIGKILL.
 */
import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';

export interface Child {
  readonly name: string;
  readonly pid: number;
  readonly logFile: string;
  /** Resolves when the process has exited (and been reaped), with its exit code or signal. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Whether the process has exited. */
  hasExited(): boolean;
  /** The last `lines` lines of the log file. */
  tail(lines?: number): string;
  /** Sends a signal if the process is still running; never throws. */
  signal(sig: NodeJS.Signals): void;
}

export function spawnLogged(
  name: string,
  file: string,
  args: readonly string[],
  logFile: string,
  env: NodeJS.ProcessEnv,
): Child {
  // The child gets its own copy of the descriptor: the parent's can be closed right after spawn.
  const fd = openSync(logFile, 'a');
  let proc;
  try {
    proc = spawn(file, args, { stdio: ['ignore', fd, fd], env });
  } finally {
    closeSync(fd);
  }
  let done = false;
  let spawnError: Error | undefined;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    proc.once('exit', (code, signal) => {
      done = true;
      resolve({ code, signal });
    });
    // A spawn failure (ENOENT, EACCES) emits 'error' and no 'exit'.
    proc.once('error', (err) => {
      spawnError = err;
      done = true;
      resolve({ code: null, signal: null });
    });
  });
  return {
    name,
    pid: proc.pid ?? -1,
    logFile,
    exited,
    hasExited: () => done,
    tail(lines = 30): string {
      let text = '';
      try {
        text = readFileSync(logFile, 'utf8');
      } catch {
        // The log may not exist yet.
      }
      const all = text.trimEnd().split('\n');
      const out = all.slice(-lines).join('\n');
      return spawnError ? `${out}\n(spawn failed: ${spawnError.message})`.trim() : out;
    },
    signal(sig: NodeJS.Signals): void {
      if (done) return;
      try {
        proc.kill(sig);
      } catch {
        // Already gone.
      }
    },
  };
}

/** SIGTERM, wait up to `graceMs`, then SIGKILL and wait for the exit. */
export async function stopChild(child: Child, graceMs: number): Promise<void> {
  if (child.hasExited()) return;
  child.signal('SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  const timedOut = await Promise.race([
    child.exited.then(() => false),
    new Promise<boolean>((resolve) => {
      timer = setTimeout(() => {
        resolve(true);
      }, graceMs);
    }),
  ]);
  clearTimeout(timer);
  if (timedOut) {
    child.signal('SIGKILL');
    await child.exited;
  }
}

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

export interface Watchdog {
  /** Adds a process for the watchdog to SIGKILL if this process dies without release(). */
  watch(pid: number | undefined): void;
  /** This process cleaned up itself: the watchdog exits without killing anything. */
  release(): void;
}

/**
 * A `sh` that outlives this process to clean up after it: it is told each child's pid over a pipe and, when the
 * pipe closes without a final `ok` (this process died: a signal, SIGKILL, a crash), kills them and removes `dir`.
 * It ignores INT, TERM and HUP, which a terminal sends to the whole process group. No signal handlers are
 * installed here: a library listening for SIGTERM would take away the default exit of the process that imports it.
 */
export function startWatchdog(dir: string, name = 'watchdog'): Watchdog {
  const script = [
    "trap '' INT TERM HUP",
    'pids=',
    'while read -r cmd arg; do',
    '  case "$cmd" in',
    '    pid) pids="$pids $arg" ;;',
    '    ok) exit 0 ;;',
    '  esac',
    'done',
    '[ -n "$pids" ] && kill -KILL $pids 2>/dev/null',
    'rm -rf "$1"',
  ].join('\n');
  const sh = spawn('/bin/sh', ['-c', script, name, dir], { stdio: ['pipe', 'ignore', 'ignore'] });
  sh.stdin.on('error', () => undefined);
  // Neither the watchdog nor its pipe may keep this process's event loop alive.
  sh.unref();
  (sh.stdin as unknown as { unref?: () => void }).unref?.();
  let released = false;
  return {
    watch(pid) {
      if (pid !== undefined && !released) sh.stdin.write(`pid ${String(pid)}\n`);
    },
    release() {
      if (released) return;
      released = true;
      sh.stdin.end('ok\n');
    },
  };
}

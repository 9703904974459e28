/** Runs a command to completion and measures wall time and peak RSS (VmHWM, sampled from /proc). */
import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';

export interface Measurement {
  readonly ms: number;
  readonly peakRssBytes: number;
  readonly code: number;
  readonly stdoutBytes: number;
}

function vmHwm(pid: number): number {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** process.env with `changes` applied; an undefined value removes the variable. */
function withEnv(changes: Readonly<Record<string, string | undefined>>): NodeJS.ProcessEnv {
  const removed = new Set(Object.keys(changes).filter((k) => changes[k] === undefined));
  return Object.fromEntries(
    Object.entries({ ...process.env, ...changes }).filter(([k, v]) => v !== undefined && !removed.has(k)),
  );
}

/**
 * stdin from `inputFile`; stdout counted and discarded. Peak RSS is sampled every `rssEveryMs` (default 2 ms) and on
 * each stdout chunk; `false` samples nothing (peakRssBytes 0): on 2 cores the 2 ms sampling costs a 0.2 s process
 * 30–60 ms of wall time, so short runs are timed unsampled and their RSS taken from a separate sampled run.
 */
export function measure(
  cmd: string,
  args: readonly string[],
  inputFile?: string,
  env?: Readonly<Record<string, string | undefined>>,
  rssEveryMs: number | false = 2,
): Promise<Measurement> {
  return new Promise((resolve, reject) => {
    const fd = inputFile ? openSync(inputFile, 'r') : 'ignore';
    const start = process.hrtime.bigint();
    const child = spawn(cmd, [...args], {
      stdio: [fd, 'pipe', 'pipe'],
      env: env ? withEnv(env) : process.env,
    });
    if (typeof fd === 'number') closeSync(fd);
    let peak = 0;
    let out = 0;
    let err = '';
    const sample = () => {
      if (rssEveryMs !== false && child.pid) peak = Math.max(peak, vmHwm(child.pid));
    };
    const timer = rssEveryMs === false ? undefined : setInterval(sample, rssEveryMs);
    child.stdout?.on('data', (b: Buffer) => {
      out += b.length;
      sample();
    });
    child.stderr?.on('data', (b: Buffer) => (err += b.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      clearInterval(timer);
      const ms = Number(process.hrtime.bigint() - start) / 1e6;
      if (code !== 0) reject(new Error(`${cmd} exited ${code}: ${err.slice(0, 500)}`));
      else resolve({ ms, peakRssBytes: peak, code: 0, stdoutBytes: out });
    });
  });
}

/** The run with the median wall time. */
export function medianOf(all: Measurement[]): Measurement {
  return [...all].sort((a, b) => a.ms - b.ms)[Math.floor(all.length / 2)] as Measurement;
}

export async function median(runs: number, fn: () => Promise<Measurement>): Promise<Measurement> {
  const all: Measurement[] = [];
  for (let i = 0; i < runs; i++) all.push(await fn());
  return medianOf(all);
}

/** Prints rows as aligned columns (first row = header). */
export function printTable(rows: readonly (readonly string[])[]): void {
  const widths: number[] = [];
  for (const r of rows) r.forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 0, c.length)));
  for (const r of rows)
    console.log(
      r
        .map((c, i) => c.padEnd(widths[i] ?? 0))
        .join('  ')
        .trimEnd(),
    );
}

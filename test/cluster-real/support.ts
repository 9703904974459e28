// Helpers of the suites that drive the real control plane as a kubelet's or a user's processes would.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { gunzipSync } from 'node:zlib';

export interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

let home: string | undefined;
/** A HOME of this test process for commands given none: without one kubectl writes its cache to ./.kube. */
function scratchHome(): string {
  if (home === undefined) {
    const dir = mkdtempSync(join(tmpdir(), 'helm-tiers-cluster-real-home-'));
    process.once('exit', () => {
      rmSync(dir, { recursive: true, force: true });
    });
    home = dir;
  }
  return home;
}

/**
 * Runs `bin` with only PATH, HOME (a scratch folder unless `env` names one) and `env` in its environment (no caller's
 * KUBECONFIG leaks in), `input` on stdin.
 */
export function exec(bin: string, args: string[], env: Record<string, string>, input?: string): Promise<Result> {
  return new Promise((done, fail) => {
    const base = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: env.HOME ?? scratchHome() };
    const p = spawn(bin, args, { env: { ...base, ...env }, stdio: 'pipe' });
    let stdout = '';
    let stderr = '';
    p.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    p.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    p.on('error', fail);
    p.on('close', (code) => {
      done({ code, stdout, stderr });
    });
    p.stdin.end(input ?? '');
  });
}

/** Polls `fn` until it returns a value (errors count as "not yet"); past the bound, fails naming `what` and the last error. */
export async function eventually<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 90_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}${last instanceof Error ? `: ${last.message}` : ''}`);
    await sleep(300);
  }
}

/** Helm's release record from its storage Secret's `data.release` (base64 by the API, then base64, gzip, JSON). */
export function decodeHelmRelease(data: string): any {
  const inner = Buffer.from(Buffer.from(data, 'base64').toString('utf8'), 'base64');
  return JSON.parse(gunzipSync(inner).toString('utf8'));
}

// The control-plane launcher's own behaviour (port retry, failure reports, bounded waits, clean-up), with stand-in
// binaries: small scripts in place of etcd and the Kubernetes components. Needs no Go build, so it always runs.
import { spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { build } from 'esbuild';
import { afterEach, describe, expect, it } from 'vitest';
import { COMPONENTS, kubeBinDir, startControlPlane } from '../../cluster/real/control-plane.js';
import { HelmTiersError } from '../../core/errors.js';

const root = resolve(import.meta.dirname, '../..');
const cleanups: string[] = [];
/** Stand-in processes to end should a test fail with them still running. */
const strays: number[] = [];

afterEach(() => {
  for (const pid of strays.splice(0))
    try {
      // Only our stand-in (`sleep 600`), never whatever process may have been given the pid since.
      if (readFileSync(`/proc/${pid}/cmdline`, 'utf8') === ['sleep', '600', ''].join('\0'))
        process.kill(pid, 'SIGKILL');
    } catch {
      // Gone, as it should be.
    }
  for (const d of cleanups.splice(0)) rmSync(d, { recursive: true, force: true });
});

function tempDir(prefix: string): string {
  const d = mkdtempSync(join(tmpdir(), prefix));
  cleanups.push(d);
  return d;
}

/** A folder with the four binaries as shell scripts (default: exit 1 at once). */
function fakeBinDir(scripts: Partial<Record<(typeof COMPONENTS)[number], string>>): string {
  const dir = tempDir('fake-kube-bin-');
  for (const c of COMPONENTS) {
    const file = join(dir, c);
    writeFileSync(file, `#!/bin/sh\n${scripts[c] ?? 'exit 1'}\n`);
    chmodSync(file, 0o755);
  }
  return dir;
}

/** A stand-in etcd: answers /health on the port of --listen-client-urls, as etcd does. */
function fakeEtcdServer(dir: string): string {
  const file = join(dir, 'fake-etcd.mjs');
  writeFileSync(
    file,
    `import { createServer } from 'node:http';
const url = process.argv.find((a) => a.startsWith('--listen-client-urls=')).split('=')[1];
const { hostname, port } = new URL(url);
createServer((req, res) => res.end(JSON.stringify({ health: 'true' }))).listen(Number(port), hostname);
process.on('SIGTERM', () => process.exit(0));
`,
  );
  return file;
}

/** Alive and not a zombie (an orphan killed with its parent may wait for a reaper for a moment). */
function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code !== 'ESRCH';
  }
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

async function startError(opts: Parameters<typeof startControlPlane>[0]): Promise<HelmTiersError> {
  const err: unknown = await startControlPlane(opts).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(HelmTiersError);
  return err as HelmTiersError;
}

describe('control-plane launcher (stand-in binaries)', () => {
  it('kubeBinDir is undefined for a tree where setup-kube has not built anything', () => {
    expect(kubeBinDir(tempDir('no-build-'))).toBeUndefined();
  });

  it('refuses to start without binaries, naming npm run setup:kube', async () => {
    const err = await startError({ binDir: tempDir('empty-bin-') });
    expect(err.code).toBe('E_TOOL');
    expect(err.message).toMatch(/npm run setup:kube/);
  });

  it('retries a component whose port was taken, and reports a failing one with its log tail', async () => {
    const work = tempDir('retry-');
    const mark = join(work, 'etcd-tried');
    const etcd = fakeEtcdServer(work);
    const binDir = fakeBinDir({
      // First start: the message Go's net package gives for a taken port. Second start: a working etcd.
      etcd: `if [ ! -e '${mark}' ]; then : > '${mark}'; echo 'listen tcp 127.0.0.1:2379: bind: address already in use' >&2; exit 1; fi
exec '${process.execPath}' '${etcd}' "$@"`,
      'kube-apiserver': `echo 'line one'; echo 'boom: the stand-in API server gives up' >&2; exit 3`,
    });
    const parent = tempDir('retry-parent-');
    const lines: string[] = [];
    const err = await startError({ binDir, tmpParent: parent, log: (l) => lines.push(l) });
    expect(err.code).toBe('E_TOOL');
    expect(err.message).toMatch(/kube-apiserver exited \(code 3\)/);
    expect(err.message).toMatch(/boom: the stand-in API server gives up/);
    expect(lines.some((l) => /etcd: port taken, retrying/.test(l))).toBe(true);
    expect(lines.some((l) => /etcd: healthy/.test(l))).toBe(true);
    expect(readdirSync(parent)).toEqual([]);
  });

  it('waits for readiness only up to the timeout, then stops what it started', async () => {
    const work = tempDir('timeout-');
    const pidFile = join(work, 'etcd.pid');
    const binDir = fakeBinDir({ etcd: `echo $$ > '${pidFile}'; exec sleep 600` });
    const parent = tempDir('timeout-parent-');
    const err = await startError({ binDir, tmpParent: parent, readyTimeoutMs: 1500 });
    expect(err.code).toBe('E_TOOL');
    expect(err.message).toMatch(/etcd not healthy within the timeout/);
    const pid = Number(readFileSync(pidFile, 'utf8'));
    strays.push(pid);
    expect(isRunning(pid)).toBe(false);
    expect(readdirSync(parent)).toEqual([]);
  });

  for (const [how, ending, expected] of [
    ['exits without stop() (the exit handler)', 'process.exit(0)', { code: 0, signal: null }],
    [
      'is killed by SIGTERM (the signal handler)',
      "process.kill(process.pid, 'SIGTERM')",
      { code: null, signal: 'SIGTERM' },
    ],
  ] as const) {
    it(`kills the components and removes the folder when the caller ${how}`, async () => {
      const work = tempDir('exit-');
      const pidFile = join(work, 'etcd.pid');
      const binDir = fakeBinDir({ etcd: `echo $$ > '${pidFile}'; exec sleep 600` });
      const parent = tempDir('exit-parent-');
      // A separate Node process that starts a control plane and ends while it is still starting.
      const entry = join(work, 'caller.ts');
      writeFileSync(
        entry,
        `import { startControlPlane } from ${JSON.stringify(join(root, 'cluster/real/control-plane.js'))};
import { existsSync } from 'node:fs';
void startControlPlane({ binDir: ${JSON.stringify(binDir)}, tmpParent: ${JSON.stringify(parent)} }).catch(() => {});
const timer = setInterval(() => { if (existsSync(${JSON.stringify(pidFile)})) { clearInterval(timer); ${ending}; } }, 50);
`,
      );
      const bundle = join(work, 'caller.mjs');
      await build({
        entryPoints: [entry],
        bundle: true,
        platform: 'node',
        format: 'esm',
        outfile: bundle,
        logLevel: 'error',
      });
      const ended = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done) => {
        spawn(process.execPath, [bundle], { stdio: 'inherit' }).on('exit', (code, signal) => {
          done({ code, signal });
        });
      });
      expect(ended).toEqual(expected);
      const pid = Number(readFileSync(pidFile, 'utf8'));
      strays.push(pid);
      // SIGKILL is sent before the caller ends; the kernel may take a moment to reap the orphan.
      for (let i = 0; i < 50 && isRunning(pid); i++) await sleep(100);
      expect(isRunning(pid)).toBe(false);
      expect(readdirSync(parent)).toEqual([]);
    });
  }
});

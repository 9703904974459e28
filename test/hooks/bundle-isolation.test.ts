// Runs the bundles the way the image does: only node and the .cjs files in a read-only directory, no node_modules,
// as a non-root user when the test runs as root (uid 65532, like distroless :nonroot and the chart's securityContext).
import { execFile, execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCluster, type SimCluster } from '../../cluster/sim/index.js';
import { bundle, ensureBundles, HOOKS } from './support.js';

const asRoot = process.getuid?.() === 0;
const NONROOT = 65532;

function exec(
  node: string,
  args: string[],
  cwd: string,
  env: Record<string, string>,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((res) => {
    execFile(node, args, { cwd, env, ...(asRoot ? { uid: NONROOT, gid: NONROOT } : {}) }, (err, stdout, stderr) => {
      res({
        code: err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0,
        stdout,
        stderr,
      });
    });
  });
}

describe('bundles in an image-like sandbox', () => {
  let dir: string;
  let node: string;
  let c: SimCluster;
  beforeAll(async () => {
    ensureBundles();
    dir = mkdtempSync(join(tmpdir(), 'hooks-image-'));
    node = join(dir, 'node');
    copyFileSync(process.execPath, node);
    chmodSync(node, 0o555);
    // dist/ is shared with concurrent builds: retry until the copy is a complete, parseable bundle.
    for (const h of HOOKS) {
      for (let attempt = 1; ; attempt++) {
        copyFileSync(bundle(h), join(dir, `${h}.cjs`));
        try {
          execFileSync(process.execPath, ['--check', join(dir, `${h}.cjs`)]);
          break;
        } catch (err) {
          if (attempt >= 10) throw err;
          await new Promise((r) => setTimeout(r, 500));
        }
      }
    }
    chmodSync(dir, 0o555);
    c = await startCluster();
  });
  afterAll(async () => {
    await c.stop();
    chmodSync(dir, 0o755);
    rmSync(dir, { recursive: true, force: true });
  });

  it('holds only node and the bundles (no node_modules)', () => {
    expect(readdirSync(dir).sort()).toEqual(['node', ...HOOKS.map((h) => `${h}.cjs`)].sort());
  });

  it.each(HOOKS)('%s --help works from a read-only directory with an empty environment', async (h) => {
    const r = await exec(node, [join(dir, `${h}.cjs`), '--help'], dir, { HOME: '/nonexistent' });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`Usage: ${h} [flags]`);
    expect(r.stdout).toContain('Exit codes:');
  });

  it('talks to the API server from the sandbox (crd-check, env-only configuration)', async () => {
    const { writeFileSync, readFileSync } = await import('node:fs');
    // The kubeconfig must be readable by the non-root user.
    const kc = join(mkdtempSync(join(tmpdir(), 'hooks-kc-')), 'config');
    writeFileSync(kc, readFileSync(c.kubeconfig));
    chmodSync(kc, 0o444);
    chmodSync(join(kc, '..'), 0o755);
    const r = await exec(node, [join(dir, 'crd-check.cjs')], dir, {
      HOME: '/nonexistent',
      KUBECONFIG: kc,
      HT_REQUIRED_CRDS: 'widgets.example.com',
    });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(10);
    expect(r.stdout).toMatch(/widgets\.example\.com\s+required\s+Missing/);
  });
});

// The one Helm harness (core/helm.ts): pinned toolchains, a fresh home per harness, post-renderer wiring, bounded
// commands with typed errors. Real Helm and kubectl.
import { existsSync, readdirSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, relative } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ErrorCodes, HelmTiersError } from '../../core/errors.js';
import {
  check,
  createHelmHarness,
  exec,
  HELM_MAJORS,
  postRendererPaths,
  TOOLCHAIN_VERSIONS,
  type HelmHarness,
} from '../../core/helm.js';
import { ROOT } from '../helpers/helm.js';

const made: HelmHarness[] = [];
afterAll(() => {
  for (const h of made.splice(0)) h.dispose();
});
const harness = async (o: Omit<Parameters<typeof createHelmHarness>[0], 'root'>) => {
  const h = await createHelmHarness({ root: ROOT, ...o });
  made.push(h);
  return h;
};
const built = existsSync(join(ROOT, 'dist/helm-plugin/tiers/plugin.yaml'));

async function rejection(p: Promise<unknown>): Promise<HelmTiersError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof HelmTiersError) return err;
    throw err;
  }
  throw new Error('expected a HelmTiersError');
}

/** What Helm itself says its homes are (`helm env`), not what we think we set. */
async function helmHomes(h: HelmHarness): Promise<Record<string, string>> {
  const out = check(await h.helm(['env']), 'helm env').stdout;
  const env: Record<string, string> = {};
  for (const m of out.matchAll(/^(HELM_(?:CONFIG|CACHE|DATA)_HOME|HELM_PLUGINS)="(.*)"$/gm)) env[m[1]!] = m[2]!;
  return env;
}

let server: Server | undefined;
afterAll(() => server?.close());
/** URL of an empty chart repository served from this process. */
async function emptyRepo(): Promise<string> {
  server ??= createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/x-yaml' }).end('apiVersion: v1\nentries: {}\n');
  });
  if (!server.listening) await new Promise<void>((res) => server?.listen(0, '127.0.0.1', res));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
}

describe.each(HELM_MAJORS)('Helm %i harness', (major) => {
  it('runs the pinned toolchain', async () => {
    const h = await harness({ major, postRenderer: false });
    expect(check(await h.helm(['version', '--short']), 'helm version').stdout).toContain(
      `v${TOOLCHAIN_VERSIONS[major].helm}`,
    );
    const kubectl = check(await h.kubectl(['version', '--client', '-o', 'json']), 'kubectl version').stdout;
    const v = JSON.parse(kubectl) as { clientVersion: { major: string; minor: string } };
    expect(`${v.clientVersion.major}.${v.clientVersion.minor}`).toBe(TOOLCHAIN_VERSIONS[major].kubectl);
  });

  it('two harnesses never share a Helm home; dispose removes only its own', async () => {
    const [a, b] = [await harness({ major, postRenderer: false }), await harness({ major, postRenderer: false })];
    expect(a.home.dir).not.toBe(b.home.dir);
    const [ha, hb] = [await helmHomes(a), await helmHomes(b)];
    expect(Object.keys(ha).sort()).toEqual(['HELM_CACHE_HOME', 'HELM_CONFIG_HOME', 'HELM_DATA_HOME', 'HELM_PLUGINS']);
    for (const key of Object.keys(ha)) {
      // Each of Helm's folders lies inside its own harness's home and outside the other's.
      expect(relative(a.home.dir, ha[key]!).startsWith('..'), `${key} ${ha[key]}`).toBe(false);
      expect(relative(b.home.dir, hb[key]!).startsWith('..'), `${key} ${hb[key]}`).toBe(false);
      expect(relative(b.home.dir, ha[key]!).startsWith('..'), key).toBe(true);
    }
    // A repository added in one is not seen by the other (a local, empty repository: no network).
    check(await a.helm(['repo', 'add', 'only-a', await emptyRepo()]), 'helm repo add');
    expect((await a.helm(['repo', 'list'])).stdout).toContain('only-a');
    expect((await b.helm(['repo', 'list'])).stdout).not.toContain('only-a');
    a.dispose();
    expect(existsSync(a.home.dir)).toBe(false);
    expect(existsSync(b.home.dir)).toBe(true);
    a.dispose(); // idempotent
  });

  it.skipIf(!built)(
    `wires the post-renderer the Helm ${major} way${built ? '' : ' (skipped: run npm run build)'}`,
    async () => {
      const h = await harness({ major });
      const flags = h.postRenderFlags('--plan=/p.yaml', '--release=r');
      expect(flags).toEqual([
        '--post-renderer',
        major === 3 ? postRendererPaths(ROOT).executable : 'tiers',
        '--post-renderer-args=--plan=/p.yaml',
        '--post-renderer-args=--release=r',
      ]);
      const plugins = readdirSync(h.env.HELM_PLUGINS!);
      // Helm 4: the postrenderer/v1 plugin installed into this home only; Helm 3: none (it warns about a v4 one).
      expect(plugins).toEqual(major === 4 ? ['tiers'] : []);
      const other = await harness({ major, postRenderer: false });
      expect(readdirSync(other.env.HELM_PLUGINS!)).toEqual([]);
    },
  );
});

describe('running a command', () => {
  it('a non-zero exit is a result; check() makes it E_TOOL with the stderr tail', async () => {
    const h = await harness({ major: 4, postRenderer: false });
    const r = await h.helm(['no-such-command']);
    expect(r.code).not.toBe(0);
    const err = (() => {
      try {
        check(r, 'helm no-such-command');
      } catch (e) {
        return e as HelmTiersError;
      }
      throw new Error('check did not throw');
    })();
    expect(err.code).toBe(ErrorCodes.TOOL);
    expect(err.message).toContain('unknown command');
  });

  it('a command past its bound is killed and is E_TOOL', async () => {
    const err = await rejection(exec('/bin/sh', ['-c', 'echo started >&2; exec sleep 30'], { timeoutMs: 300 }));
    expect(err.code).toBe(ErrorCodes.TOOL);
    expect(err.message).toMatch(/timed out after 300 ms\nstarted/);
  });

  it('a command that cannot start is E_TOOL', async () => {
    expect((await rejection(exec(join(ROOT, 'no-such-tool'), []))).code).toBe(ErrorCodes.TOOL);
  });

  it('a missing toolchain is E_TOOL naming the setup step', async () => {
    const err = await rejection(createHelmHarness({ root: join(ROOT, 'test'), major: 3 }));
    expect(err.code).toBe(ErrorCodes.TOOL);
    expect(err.message).toContain('npm run setup');
  });
});

// Real Flux against a real API server: source-controller and helm-controller (built from Go modules by
// `npm run setup:flux`) run as local processes against the control plane of cluster/real/control-plane.ts
// (`npm run setup:kube`). source-controller clones the chart repository with go-git over our smart-HTTP git server;
// helm-controller downloads the chart artifact from source-controller's storage server and installs it with Helm.
// The chart holds only a ConfigMap: there is no node, so nothing may need a pod.
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { kubeBinDir, startControlPlane, type ControlPlane } from '../../cluster/real/control-plane.js';
import { KUBECTL, fluxBinDir, fluxCrdDir, missingFluxBinaries, startFlux, type Flux } from '../../cluster/real/flux.js';
import { HelmTiersError } from '../../core/errors.js';
import { commitFiles, snapshotRepo, startGitServer, type GitServer } from '../../cluster/real/git-server.js';

const run = promisify(execFile);

const missing: string[] = [];
const absentFlux = missingFluxBinaries();
if (absentFlux.length) missing.push(`${absentFlux.join(', ')} in ${fluxBinDir()} (run \`npm run setup:flux\`)`);
if (kubeBinDir() === undefined) missing.push('the control-plane binaries (run `npm run setup:kube`)');
if (!existsSync(fluxCrdDir())) missing.push(`the Flux CRDs in ${fluxCrdDir()} (shared test data)`);
if (!existsSync(KUBECTL)) missing.push(`${KUBECTL} (run \`npm ci\`)`);
// In CI a missing build fails the suite (beforeAll throws); elsewhere it is skipped, loudly.
const skip = missing.length > 0 && !process.env.CI;
if (skip) console.warn(`\n*** test/cluster-real/flux.test.ts SKIPPED: missing ${missing.join('; ')} ***\n`);

const NS = 'flux-system';
const TARGET_NS = 'apps';

function chartFiles(version: string, greeting: string): Record<string, string> {
  return {
    'charts/demo/Chart.yaml': `apiVersion: v2\nname: demo\nversion: ${version}\n`,
    'charts/demo/values.yaml': `greeting: ${greeting}\n`,
    'charts/demo/templates/configmap.yaml': [
      'apiVersion: v1',
      'kind: ConfigMap',
      'metadata:',
      '  name: {{ .Release.Name }}-settings',
      'data:',
      '  greeting: {{ .Values.greeting | quote }}',
      '  chartVersion: {{ .Chart.Version | quote }}',
      '',
    ].join('\n'),
  };
}

describe.skipIf(skip)('Flux controllers against a real API server', () => {
  let tmp: string;
  let cp: ControlPlane | undefined;
  let flux: Flux | undefined;
  let git: GitServer | undefined;
  let repoDir = '';
  let firstSha = '';
  let kubeconfig = '';

  const kubectl = async (args: string[], input?: string): Promise<string> => {
    const child = run(KUBECTL, [`--kubeconfig=${kubeconfig}`, ...args], { encoding: 'utf8' });
    if (input !== undefined) child.child.stdin?.end(input);
    return (await child).stdout;
  };
  const getJson = async (args: string[]): Promise<any> => {
    try {
      return JSON.parse(await kubectl(['get', ...args, '-o', 'json']));
    } catch {
      return undefined;
    }
  };
  const ready = (obj: any): any => obj?.status?.conditions?.find((c: any) => c.type === 'Ready');
  /** Polls until `fn` returns a value; on timeout the error carries both controllers' log tails. */
  const eventually = async <T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 120_000): Promise<T> => {
    const deadline = Date.now() + timeoutMs;
    let last: Error | undefined;
    for (;;) {
      try {
        const v = await fn();
        if (v !== undefined) return v;
      } catch (err) {
        last = err instanceof Error ? err : new Error(String(err));
      }
      if (Date.now() > deadline) {
        throw new Error(
          `timed out waiting for ${what}${last ? ` (last error: ${last.message})` : ''}\n` +
            `--- source-controller:\n${flux?.tail('source', 25) ?? ''}\n--- helm-controller:\n${flux?.tail('helm', 25) ?? ''}`,
        );
      }
      await sleep(500);
    }
  };

  beforeAll(async () => {
    if (missing.length) throw new Error(`missing ${missing.join('; ')}`);
    tmp = mkdtempSync(join(tmpdir(), 'flux-test-'));
    const work = join(tmp, 'work');
    for (const [rel, text] of Object.entries(chartFiles('0.1.0', 'hello'))) {
      mkdirSync(join(work, rel, '..'), { recursive: true });
      writeFileSync(join(work, rel), text);
    }
    repoDir = join(tmp, 'repos', 'charts.git');
    firstSha = await snapshotRepo(work, { into: repoDir, message: 'demo chart 0.1.0' });
    git = await startGitServer({ repoDir });
    cp = await startControlPlane({});
    kubeconfig = cp.kubeconfig;
    flux = await startFlux({ kubeconfig, namespace: NS, requeueDependency: '5s' });
  }, 300_000);

  afterAll(async () => {
    await flux?.stop();
    await cp?.stop();
    await git?.stop();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  }, 60_000);

  it('starts both controllers with their logs in a temp folder', () => {
    expect(flux?.namespace).toBe(NS);
    expect(existsSync(flux!.logs.source)).toBe(true);
    expect(existsSync(flux!.logs.helm)).toBe(true);
    expect(flux!.storageUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  });

  it('a GitRepository over the smart-HTTP server becomes Ready with an artifact of the commit', async () => {
    await kubectl(
      ['apply', '-f', '-'],
      JSON.stringify({
        apiVersion: 'source.toolkit.fluxcd.io/v1',
        kind: 'GitRepository',
        metadata: { name: 'charts', namespace: NS },
        spec: { url: git!.url, interval: '1m', ref: { branch: 'main' } },
      }),
    );
    const repo = await eventually('GitRepository charts Ready', async () => {
      const o = await getJson(['gitrepository', 'charts', '-n', NS]);
      return ready(o)?.status === 'True' ? o : undefined;
    });
    expect(repo.status.artifact.revision).toBe(`main@sha1:${firstSha}`);
    expect(repo.status.artifact.url).toContain(flux!.storageUrl);
    expect(repo.status.artifact.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
  });

  it('a HelmRelease of a chart in that repository becomes Ready and its ConfigMap exists', async () => {
    await kubectl(
      ['apply', '-f', '-'],
      JSON.stringify({
        apiVersion: 'helm.toolkit.fluxcd.io/v2',
        kind: 'HelmRelease',
        metadata: { name: 'demo', namespace: NS },
        spec: {
          interval: '1m',
          targetNamespace: TARGET_NS,
          install: { createNamespace: true },
          chart: {
            spec: { chart: './charts/demo', sourceRef: { kind: 'GitRepository', name: 'charts' }, interval: '1m' },
          },
        },
      }),
    );
    const hr = await eventually('HelmRelease demo Ready', async () => {
      const o = await getJson(['helmrelease', 'demo', '-n', NS]);
      return ready(o)?.status === 'True' ? o : undefined;
    });
    expect(hr.status.history[0].chartVersion).toBe('0.1.0');
    expect(hr.status.history[0].status).toBe('deployed');
    // With targetNamespace and no releaseName, Flux names the Helm release <targetNamespace>-<name>.
    expect(hr.status.history[0].name).toBe('apps-demo');
    const cm = await getJson(['configmap', 'apps-demo-settings', '-n', TARGET_NS]);
    expect(cm.data).toEqual({ greeting: 'hello', chartVersion: '0.1.0' });
    // helm-controller's origin labels: the object came through Flux, not a local helm.
    expect(cm.metadata.labels['helm.toolkit.fluxcd.io/name']).toBe('demo');
    expect(cm.metadata.labels['helm.toolkit.fluxcd.io/namespace']).toBe(NS);
  });

  it('the built flux CLI lists the HelmRelease as Ready', async () => {
    const { stdout } = await run(join(fluxBinDir(), 'flux'), ['get', 'helmreleases', '-A'], {
      env: { ...process.env, KUBECONFIG: kubeconfig },
      encoding: 'utf8',
    });
    const line = stdout.split('\n').find((l) => /^flux-system\s+demo\s/.test(l));
    expect(line, stdout).toBeDefined();
    expect(line).toMatch(/\sTrue\s/);
    const version = await run(join(fluxBinDir(), 'flux'), ['version', '--client'], { encoding: 'utf8' });
    expect(version.stdout).toContain('flux: v2.9.5');
  });

  it('a new commit reaches the cluster through `flux reconcile --with-source`', async () => {
    const sha = await commitFiles(repoDir, { files: chartFiles('0.2.0', 'bonjour'), message: 'demo chart 0.2.0' });
    await run(
      join(fluxBinDir(), 'flux'),
      ['reconcile', 'helmrelease', 'demo', '-n', NS, '--with-source', '--timeout=2m'],
      { env: { ...process.env, KUBECONFIG: kubeconfig }, encoding: 'utf8' },
    );
    const repo = await getJson(['gitrepository', 'charts', '-n', NS]);
    expect(repo.status.artifact.revision).toBe(`main@sha1:${sha}`);
    const cm = await eventually('ConfigMap with the new greeting', async () => {
      const o = await getJson(['configmap', 'apps-demo-settings', '-n', TARGET_NS]);
      return o?.data?.greeting === 'bonjour' ? o : undefined;
    });
    expect(cm.data.chartVersion).toBe('0.2.0');
    const hr = await getJson(['helmrelease', 'demo', '-n', NS]);
    expect(ready(hr)?.status).toBe('True');
    expect(hr.status.history[0].chartVersion).toBe('0.2.0');
  }, 180_000);

  it('stop() ends both controllers and removes the temp folder', async () => {
    const f = flux!;
    const dir = join(f.storageDir, '..');
    await f.stop();
    for (const pid of Object.values(f.pids)) expect(() => process.kill(pid, 0)).toThrow(/ESRCH/);
    expect(existsSync(dir)).toBe(false);
    await f.stop(); // idempotent
  });
});

describe('startFlux without binaries', () => {
  it('fails with E_TOOL naming the setup script', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'flux-nobin-'));
    try {
      const err = await startFlux({ kubeconfig: '/nonexistent', binDir: empty }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(HelmTiersError);
      expect((err as HelmTiersError).code).toBe('E_TOOL');
      expect((err as HelmTiersError).message).toContain('npm run setup:flux');
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });
});

// Real Flux against a real API server: source-controller and helm-controller (built from Go modules by
// `npm run setup:flux`) run as local processes against the control plane of cluster/real/control-plane.ts
// (`npm run setup:kube`). source-controller clones the chart repository with go-git over our smart-HTTP git server;
// helm-controller downloads the chart artifact from source-controller's storage server and installs it with Helm.
// The chart holds only a ConfigMap: there is no node, so nothing may need a pod.
import { execFile, spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';

import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { kubeBinDir, startControlPlane, type ControlPlane } from '../../cluster/real/control-plane.js';
import { KUBECTL, fluxBinDir, fluxCrdDir, missingFluxBinaries, startFlux, type Flux } from '../../cluster/real/flux.js';
import { HelmTiersError } from '../../core/errors.js';
import { pushFiles, snapshotRepo, startGitServer, type GitServer } from '../../cluster/real/git-server.js';

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
  let repoDir: string;
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

  it('a pushed commit reaches the cluster through `flux reconcile --with-source`', async () => {
    // Pushed over HTTP (receive-pack), as a user would.
    const sha = await pushFiles(git!.url, { files: chartFiles('0.2.0', 'bonjour'), message: 'demo chart 0.2.0' });
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

// The launcher's own behaviour with stand-ins: a kubectl script that records its arguments and controllers that
// answer /readyz on their --health-addr (or die, or never get ready). Needs no Go build, so it always runs.
describe('startFlux with stand-in binaries', () => {
  const temps: string[] = [];
  const temp = (prefix: string) => {
    const d = mkdtempSync(join(tmpdir(), prefix));
    temps.push(d);
    return d;
  };
  afterAll(() => {
    for (const d of temps) rmSync(d, { recursive: true, force: true });
  });

  /** kubectl that appends its argv (one line per call) to `calls` and names one CRD for `apply -o name`. */
  function fakeKubectl(): { bin: string; calls: string } {
    const dir = temp('flux-fake-kubectl-');
    const calls = join(dir, 'calls');
    const bin = join(dir, 'kubectl');
    writeFileSync(
      bin,
      `#!/bin/sh\necho "$*" >> '${calls}'\ncase "$*" in *"-o name"*) echo customresourcedefinition.apiextensions.k8s.io/gitrepositories.source.toolkit.fluxcd.io ;; esac\ncat > /dev/null\n`,
    );
    chmodSync(bin, 0o755);
    return { bin, calls };
  }

  /** A bin folder whose two controllers run `mode`: ready (200 on /readyz), never-ready (503) or die. */
  function fakeControllers(mode: 'ready' | 'never-ready' | 'die'): string {
    const dir = temp('flux-fake-bin-');
    const js = join(dir, 'controller.mjs');
    writeFileSync(
      js,
      `import { createServer } from 'node:http';
console.log(JSON.stringify({ argv: process.argv.slice(2), RUNTIME_NAMESPACE: process.env.RUNTIME_NAMESPACE,
  KUBECONFIG: process.env.KUBECONFIG, HOME: process.env.HOME, TMPDIR: process.env.TMPDIR }));
if (${JSON.stringify(mode)} === 'die') { console.log('boom: cannot start'); process.exit(3); }
const addr = process.argv.find((a) => a.startsWith('--health-addr=')).split('=')[1];
const [host, port] = addr.split(':');
createServer((req, res) => { res.statusCode = ${mode === 'ready' ? 200 : 503}; res.end(); }).listen(Number(port), host);
`,
    );
    for (const name of ['source-controller', 'helm-controller']) {
      writeFileSync(join(dir, name), `#!/bin/sh\nexec '${process.execPath}' '${js}' "$@"\n`);
      chmodSync(join(dir, name), 0o755);
    }
    return dir;
  }

  function crdDir(): string {
    const dir = temp('flux-fake-crds-');
    writeFileSync(join(dir, 'a.yaml'), 'kind: CustomResourceDefinition\n');
    writeFileSync(join(dir, 'b.yaml'), 'kind: CustomResourceDefinition\n');
    return dir;
  }

  const isRunning = (pid: number) => {
    try {
      process.kill(pid, 0);
    } catch {
      return false;
    }
    try {
      return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${String(pid)}/stat`, 'utf8'));
    } catch {
      return false;
    }
  };
  const gone = async (pids: number[]) => {
    for (let i = 0; i < 50 && pids.some(isRunning); i++) await sleep(100);
    return pids.filter(isRunning);
  };

  it('applies the CRDs server-side, then starts both controllers with distinct loopback ports and the flags', async () => {
    const kubectl = fakeKubectl();
    const crds = crdDir();
    const f = await startFlux({
      kubeconfig: '/some/kubeconfig',
      binDir: fakeControllers('ready'),
      kubectl: kubectl.bin,
      crdDir: crds,
      namespace: 'flux-x',
      requeueDependency: '2s',
    });
    try {
      const calls = readFileSync(kubectl.calls, 'utf8').trim().split('\n');
      expect(calls[0]).toContain('--kubeconfig=/some/kubeconfig apply --server-side --force-conflicts');
      expect(calls[0]).toContain(`-f ${join(crds, 'a.yaml')} -f ${join(crds, 'b.yaml')}`);
      expect(calls[1]).toMatch(
        /wait --for=condition=Established --timeout=\d+s customresourcedefinition.apiextensions.k8s.io\/gitrepositories/,
      );
      expect(calls[2]).toContain('apply --server-side');
      const source = JSON.parse(readFileSync(f.logs.source, 'utf8').split('\n')[0]!);
      const helm = JSON.parse(readFileSync(f.logs.helm, 'utf8').split('\n')[0]!);
      for (const c of [source, helm]) {
        expect(c.RUNTIME_NAMESPACE).toBe('flux-x');
        expect(c.KUBECONFIG).toBe('/some/kubeconfig');
        expect(c.HOME.startsWith(join(f.storageDir, '..'))).toBe(true);
        expect(c.argv).toEqual(
          expect.arrayContaining([
            '--enable-leader-election=false',
            '--watch-all-namespaces=true',
            '--requeue-dependency=2s',
          ]),
        );
      }
      const flag = (argv: string[], name: string) => argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1];
      expect(flag(source.argv, 'storage-path')).toBe(f.storageDir);
      expect(flag(source.argv, 'storage-adv-addr')).toBe(flag(source.argv, 'storage-addr'));
      expect(`http://${flag(source.argv, 'storage-addr')!}`).toBe(f.storageUrl);
      const addrs = [
        flag(source.argv, 'metrics-addr'),
        flag(source.argv, 'health-addr'),
        flag(source.argv, 'storage-addr'),
        flag(helm.argv, 'metrics-addr'),
        flag(helm.argv, 'health-addr'),
      ];
      for (const a of addrs) expect(a).toMatch(/^127\.0\.0\.1:\d+$/);
      expect(new Set(addrs).size).toBe(5);
    } finally {
      await f.stop();
    }
    expect(await gone(Object.values(f.pids))).toEqual([]);
    expect(existsSync(f.storageDir)).toBe(false);
  });

  it('a controller that dies at start: E_TOOL with its log tail, nothing left running', async () => {
    const err = await startFlux({
      kubeconfig: '/k',
      binDir: fakeControllers('die'),
      kubectl: fakeKubectl().bin,
      crdDir: crdDir(),
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HelmTiersError);
    expect((err as HelmTiersError).code).toBe('E_TOOL');
    expect((err as Error).message).toMatch(/source-controller exited during startup/);
    expect((err as Error).message).toContain('boom: cannot start');
    const dir = /(\/\S+\/flux-[^/]+)\/source-controller\.log/.exec((err as Error).message)?.[1];
    expect(dir).toBeDefined();
    expect(existsSync(dir!)).toBe(false);
  });

  it('a controller that never gets ready: the wait is bounded, E_TOOL, both stopped', async () => {
    const err = await startFlux({
      kubeconfig: '/k',
      binDir: fakeControllers('never-ready'),
      kubectl: fakeKubectl().bin,
      crdDir: crdDir(),
      readyTimeoutMs: 1500,
    }).catch((e: unknown) => e);
    expect((err as HelmTiersError).code).toBe('E_TOOL');
    expect((err as Error).message).toMatch(/source-controller not ready at http:\/\/127\.0\.0\.1:\d+\/readyz in time/);
    const argv = JSON.parse(/^\{.*\}$/m.exec((err as Error).message)![0]).argv as string[];
    const health = argv.find((a) => a.startsWith('--health-addr='))!.split('=')[1]!;
    // The stand-in's server went with its process.
    await expect(fetch(`http://${health}/readyz`)).rejects.toThrow();
  });

  it('a kubectl failure is E_TOOL carrying kubectl stderr', async () => {
    const dir = temp('flux-bad-kubectl-');
    const bin = join(dir, 'kubectl');
    writeFileSync(bin, '#!/bin/sh\necho "error: the server could not find the requested resource" >&2\nexit 1\n');
    chmodSync(bin, 0o755);
    const err = await startFlux({
      kubeconfig: '/k',
      binDir: fakeControllers('ready'),
      kubectl: bin,
      crdDir: crdDir(),
    }).catch((e: unknown) => e);
    expect((err as HelmTiersError).code).toBe('E_TOOL');
    expect((err as Error).message).toContain('could not find the requested resource');
  });

  for (const how of ['SIGTERM', 'SIGKILL'] as const) {
    it(`the watchdog ends the controllers and removes the folder when the caller dies by ${how}`, async () => {
      const work = temp('flux-watchdog-');
      const entry = join(work, 'entry.ts');
      writeFileSync(
        entry,
        `import { startFlux } from ${JSON.stringify(join(import.meta.dirname, '../../cluster/real/flux.js').replace(/\.js$/, '.ts'))};
const f = await startFlux(${JSON.stringify({ kubeconfig: '/k', binDir: fakeControllers('ready'), kubectl: fakeKubectl().bin, crdDir: crdDir() })});
console.log(JSON.stringify({ pids: Object.values(f.pids), dir: join(f.storageDir, '..') }));
setInterval(() => undefined, 1000);
import { join } from 'node:path';
`,
      );
      const bundle = join(work, 'entry.mjs');
      await build({
        entryPoints: [entry],
        bundle: true,
        platform: 'node',
        format: 'esm',
        outfile: bundle,
        logLevel: 'error',
      });
      const child = spawn(process.execPath, [bundle], { stdio: ['ignore', 'pipe', 'inherit'] });
      const line = await new Promise<string>((done, fail) => {
        let out = '';
        child.stdout.setEncoding('utf8').on('data', (d: string) => {
          out += d;
          if (out.includes('\n')) done(out.split('\n')[0]!);
        });
        child.once('exit', () => {
          fail(new Error(`caller exited before starting: ${out}`));
        });
      });
      const { pids, dir } = JSON.parse(line) as { pids: number[]; dir: string };
      expect(pids.every(isRunning)).toBe(true);
      expect(existsSync(dir)).toBe(true);
      child.kill(how);
      expect(await gone(pids)).toEqual([]);
      for (let i = 0; i < 50 && existsSync(dir); i++) await sleep(100);
      expect(existsSync(dir)).toBe(false);
    });
  }
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

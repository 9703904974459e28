// `npm run cluster` (dist/cluster.cjs) on both backends: the first line is the kubeconfig to export, the cluster
// answers real kubectl, with --flux the git server and Flux's CRDs are there, SIGINT stops it with exit 0 and
// leaves no process and no folder behind. startCluster({ backend }) is the one interface behind it.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { startCluster } from '../../cluster/index.js';
import { kubeBinDir } from '../../cluster/real/control-plane.js';
import { fluxBinDir, missingFluxBinaries } from '../../cluster/real/flux.js';

const run = promisify(execFile);
const root = join(import.meta.dirname, '../..');
const KUBECTL = join(root, '.tools/helm4/kubectl');

const missing: string[] = [];
if (kubeBinDir() === undefined) missing.push('the control-plane binaries (run `npm run setup:kube`)');
if (missingFluxBinaries().length) missing.push(`Flux in ${fluxBinDir()} (run \`npm run setup:flux\`)`);
const skipReal = missing.length > 0 && !process.env.CI;
if (skipReal)
  console.warn(`\n*** test/cluster-real/cluster-cli.test.ts (real) SKIPPED: missing ${missing.join('; ')} ***\n`);

interface Started {
  child: ChildProcess;
  lines: string[];
  stderr: () => string;
  exited: Promise<number | null>;
}

/** Starts the CLI and resolves once it printed `want` lines on stdout (or exited). */
function startCli(args: string[], want: number): Promise<Started> {
  const child = spawn(process.execPath, [join(root, 'dist/cluster.cjs'), ...args], { cwd: root });
  let out = '';
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((done) =>
    child.on('exit', (code) => {
      done(code);
    }),
  );
  return new Promise((resolve, reject) => {
    const ready = () => {
      const lines = out.split('\n').filter(Boolean);
      if (lines.length >= want) resolve({ child, lines, stderr: () => err, exited });
    };
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      ready();
    });
    void exited.then((code) => {
      reject(new Error(`cluster CLI exited ${code}: ${err}`));
    });
  });
}

async function kubectl(kubeconfig: string, ...args: string[]): Promise<string> {
  return (await run(KUBECTL, [`--kubeconfig=${kubeconfig}`, ...args], { encoding: 'utf8' })).stdout;
}

const exportOf = (line: string | undefined, name: string): string => {
  const m = new RegExp(`^export ${name}=(\\S+)$`).exec(line ?? '');
  if (!m?.[1]) throw new Error(`expected "export ${name}=..." but got ${JSON.stringify(line)}`);
  return m[1];
};

describe('npm run cluster', () => {
  beforeAll(() => {
    if (!existsSync(join(root, 'dist/cluster.cjs')))
      throw new Error('dist/ is missing: run `npm run build` (npm test does it first)');
  });

  it('refuses an unknown backend and an unknown option with the usage code', async () => {
    for (const args of [['--backend', 'kind'], ['--nodes=3'], ['--flux', '--backend', 'sim']]) {
      const r = await run(process.execPath, [join(root, 'dist/cluster.cjs'), ...args]).catch(
        (e: unknown) => e as { code: number; stderr: string },
      );
      expect((r as { code: number }).code, args.join(' ')).toBe(64);
    }
  });

  it('--backend sim: prints the kubeconfig first, answers kubectl, stops on SIGINT leaving nothing', async () => {
    const c = await startCli(['--backend', 'sim'], 1);
    const kubeconfig = exportOf(c.lines[0], 'KUBECONFIG');
    expect(await kubectl(kubeconfig, 'get', 'namespace', 'default', '-o', 'name')).toBe('namespace/default\n');
    c.child.kill('SIGINT');
    expect(await c.exited).toBe(0);
    expect(existsSync(dirname(kubeconfig))).toBe(false);
  });

  describe.skipIf(skipReal)('--backend real --flux', () => {
    it('a Ready node, Flux CRDs, the git server, and nothing left after SIGINT', async () => {
      const c = await startCli(['--backend', 'real', '--flux'], 2);
      const kubeconfig = exportOf(c.lines[0], 'KUBECONFIG');
      const gitUrl = exportOf(c.lines[1], 'GIT_URL');
      const version = JSON.parse(await kubectl(kubeconfig, 'version', '-o', 'json')) as {
        serverVersion: { gitVersion: string };
      };
      expect(version.serverVersion.gitVersion).toMatch(/^v1\.\d+\.\d+$/);
      const nodes = await kubectl(
        kubeconfig,
        'get',
        'nodes',
        '-o',
        'jsonpath={.items[*].status.conditions[?(@.type=="Ready")].status}',
      );
      expect(nodes).toBe('True');
      expect(await kubectl(kubeconfig, 'get', 'crd', 'helmreleases.helm.toolkit.fluxcd.io', '-o', 'name')).toContain(
        'helmreleases.helm.toolkit.fluxcd.io',
      );
      // The served repository is a snapshot of the working tree: its plan is there.
      const refs = (await run('git', ['ls-remote', gitUrl], { encoding: 'utf8' })).stdout;
      expect(refs).toMatch(/^[0-9a-f]{40}\trefs\/heads\/main$/m);
      expect(readFileSync(kubeconfig, 'utf8')).toContain('https://127.0.0.1:');
      const pids = await controlPlanePids(kubeconfig);
      expect(pids.length).toBeGreaterThan(0);
      c.child.kill('SIGINT');
      expect(await c.exited, c.stderr()).toBe(0);
      expect(existsSync(dirname(kubeconfig))).toBe(false);
      for (const pid of pids) expect(alive(pid), `pid ${pid}`).toBe(false);
    });

    it('startCluster({ backend: "real" }) runs pods through the node agent and stops cleanly', async () => {
      const c = await startCluster({ backend: 'real' });
      try {
        await kubectl(c.kubeconfig, 'create', 'deployment', 'web', '--image=registry.invalid/web:1', '--replicas=2');
        await kubectl(c.kubeconfig, 'rollout', 'status', 'deployment/web', '--timeout=120s');
        const ready = await kubectl(c.kubeconfig, 'get', 'deployment', 'web', '-o', 'jsonpath={.status.readyReplicas}');
        expect(ready).toBe('2');
        // A StatefulSet's claim is provisioned (default StorageClass) and bound by the real PV controller.
        const sts = {
          apiVersion: 'apps/v1',
          kind: 'StatefulSet',
          metadata: { name: 'db', namespace: 'default' },
          spec: {
            serviceName: 'db',
            replicas: 1,
            selector: { matchLabels: { app: 'db' } },
            template: {
              metadata: { labels: { app: 'db' } },
              spec: { containers: [{ name: 'db', image: 'registry.invalid/db:1' }] },
            },
            volumeClaimTemplates: [
              {
                metadata: { name: 'data' },
                spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
              },
            ],
          },
        };
        const apply = spawn(KUBECTL, [`--kubeconfig=${c.kubeconfig}`, 'apply', '-f', '-']);
        apply.stdin.end(JSON.stringify(sts));
        expect(await new Promise((done) => apply.on('exit', done))).toBe(0);
        await kubectl(c.kubeconfig, 'rollout', 'status', 'statefulset/db', '--timeout=120s');
        expect(await kubectl(c.kubeconfig, 'get', 'pvc', 'data-db-0', '-o', 'jsonpath={.status.phase}')).toBe('Bound');
      } finally {
        await c.stop();
      }
      expect(existsSync(dirname(c.kubeconfig))).toBe(false);
    });
  });
});

/** Pids of processes whose command line names the cluster's temp folder (etcd, the API server, ...). */
async function controlPlanePids(kubeconfig: string): Promise<number[]> {
  const dir = dirname(kubeconfig);
  const out = (await run('ps', ['-eo', 'pid=,args='], { encoding: 'utf8' })).stdout;
  return out
    .split('\n')
    .filter((l) => l.includes(dir))
    .map((l) => Number(l.trim().split(/\s+/)[0]));
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

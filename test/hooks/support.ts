/**
 * Helpers for the hook integration suites: run the esbuild bundles (never src/) as the Job would, seed the simulated
 * cluster, and grant exactly the RBAC documented in hooks/README.md.
 */
import { execFile, execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { SimCluster } from '../../cluster/sim/index.js';

export const repoRoot = resolve(import.meta.dirname, '../..');
export const sharedCrds = resolve(repoRoot, '../shared/crds');
export const bundle = (name: string): string => join(repoRoot, 'dist/hooks', `${name}.cjs`);
export const HOOKS = ['crd-check', 'crd-install', 'dependency-check', 'pod-check'] as const;

/** `npm test` builds first; a direct `vitest run` may not have: build once when a bundle is missing. */
export function ensureBundles(): void {
  if (HOOKS.every((h) => existsSync(bundle(h)))) return;
  execFileSync(process.execPath, [join(repoRoot, 'scripts/build.mjs'), '--quiet'], { cwd: repoRoot, stdio: 'inherit' });
}

export interface HookRun {
  code: number;
  stdout: string;
  /** Parsed pino JSON lines. */
  logs: Record<string, unknown>[];
  /** The non-JSON lines (tables, summary). */
  text: string[];
  /** The last line: the human summary. */
  summary: string;
}

export function runHook(
  name: string,
  args: string[],
  env: Record<string, string>,
  opts: { cwd?: string; node?: string; file?: string } = {},
): Promise<HookRun> {
  return new Promise((res) => {
    execFile(
      opts.node ?? process.execPath,
      [opts.file ?? bundle(name), ...args],
      {
        cwd: opts.cwd ?? repoRoot,
        env: { PATH: process.env.PATH ?? '', HOME: '/nonexistent', ...env },
        maxBuffer: 64 * 1024 * 1024,
      },
      (err, stdout) => {
        const code = err
          ? typeof (err as { code?: unknown }).code === 'number'
            ? (err as { code: number }).code
            : 1
          : 0;
        const logs: Record<string, unknown>[] = [];
        const text: string[] = [];
        for (const line of stdout.split('\n')) {
          if (!line) continue;
          if (line.startsWith('{')) {
            try {
              logs.push(JSON.parse(line) as Record<string, unknown>);
              continue;
            } catch {
              // not JSON after all
            }
          }
          text.push(line);
        }
        res({ code, stdout: stdout, logs, text, summary: text[text.length - 1] ?? '' });
      },
    );
  });
}

type Obj = Record<string, unknown> & {
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
};

export function create(c: SimCluster, group: string, resource: string, obj: Obj): void {
  const rt = c.cluster.rt(group, resource);
  if (!rt) throw new Error(`no resource type ${group}/${resource}`);
  c.cluster.create(rt, obj.metadata.namespace, obj);
}

export function namespace(c: SimCluster, name: string): void {
  create(c, '', 'namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
}

interface Rule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
}

/** The RBAC of hooks/README.md, per program. */
export const RBAC: Record<string, { cluster?: Rule[]; namespaced?: Rule[] }> = {
  'crd-check': {
    cluster: [{ apiGroups: ['apiextensions.k8s.io'], resources: ['customresourcedefinitions'], verbs: ['list'] }],
  },
  'crd-install': {
    cluster: [
      {
        apiGroups: ['apiextensions.k8s.io'],
        resources: ['customresourcedefinitions'],
        verbs: ['get', 'list', 'patch'],
      },
      // A server-side apply that creates a CRD is also authorized as `create` of that name (apiserver patch.go);
      // the chart limits both verbs by resourceNames to the CRDs it may install.
      { apiGroups: ['apiextensions.k8s.io'], resources: ['customresourcedefinitions'], verbs: ['create'] },
    ],
  },
  'dependency-check': {
    namespaced: [
      { apiGroups: ['apps'], resources: ['deployments', 'statefulsets', 'daemonsets'], verbs: ['list'] },
      { apiGroups: ['batch'], resources: ['jobs'], verbs: ['list'] },
      { apiGroups: [''], resources: ['persistentvolumeclaims'], verbs: ['list'] },
      { apiGroups: [''], resources: ['services'], verbs: ['get'] },
    ],
  },
  'pod-check': {
    namespaced: [
      { apiGroups: [''], resources: ['pods'], verbs: ['list'] },
      { apiGroups: [''], resources: ['pods/log'], verbs: ['get'] },
      { apiGroups: [''], resources: ['events'], verbs: ['list'] },
      // Zero pods: does any workload of the release want some? (a release must not pass with pods it cannot create)
      { apiGroups: ['apps'], resources: ['deployments', 'statefulsets', 'daemonsets'], verbs: ['list'] },
    ],
  },
  'pod-check --auto-fix': {
    namespaced: [
      { apiGroups: [''], resources: ['pods'], verbs: ['list'] },
      { apiGroups: [''], resources: ['pods/log'], verbs: ['get'] },
      { apiGroups: [''], resources: ['events'], verbs: ['list'] },
      { apiGroups: ['apps'], resources: ['deployments', 'statefulsets', 'daemonsets'], verbs: ['list'] },
      { apiGroups: [''], resources: ['pods/eviction'], verbs: ['create'] },
      { apiGroups: ['apps'], resources: ['replicasets'], verbs: ['get'] },
      { apiGroups: ['apps'], resources: ['deployments', 'statefulsets', 'daemonsets'], verbs: ['patch'] },
    ],
  },
};

/** A ServiceAccount bound to `rules` (namespaced Role or ClusterRole); returns its kubeconfig. */
export function grant(c: SimCluster, ns: string, sa: string, rules: { cluster?: Rule[]; namespaced?: Rule[] }): string {
  create(c, '', 'serviceaccounts', { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: sa, namespace: ns } });
  const subject = [{ kind: 'ServiceAccount', name: sa, namespace: ns }];
  if (rules.namespaced) {
    create(c, 'rbac.authorization.k8s.io', 'roles', {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'Role',
      metadata: { name: sa, namespace: ns },
      rules: rules.namespaced,
    });
    create(c, 'rbac.authorization.k8s.io', 'rolebindings', {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: { name: sa, namespace: ns },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: sa },
      subjects: subject,
    });
  }
  if (rules.cluster) {
    create(c, 'rbac.authorization.k8s.io', 'clusterroles', {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRole',
      metadata: { name: `${ns}-${sa}` },
      rules: rules.cluster,
    });
    create(c, 'rbac.authorization.k8s.io', 'clusterrolebindings', {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: { name: `${ns}-${sa}` },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: `${ns}-${sa}` },
      subjects: subject,
    });
  }
  return c.kubeconfigFor({ namespace: ns, name: sa });
}

export function deployment(
  ns: string,
  name: string,
  release: string,
  replicas = 2,
  extraLabels: Record<string, string> = {},
): Obj {
  const labels = { app: name, 'helm-tiers.io/release': release, ...extraLabels };
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: ns, labels },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels }, spec: { containers: [{ name: 'app', image: `example/${name}:1` }] } },
    },
  };
}

/** Starts a bundle and lets the test wait for a given output before acting (no sleeps: no timing assumptions). */
export function startHook(name: string, args: string[], env: Record<string, string>) {
  const child = spawn(process.execPath, [bundle(name), ...args], {
    env: { PATH: process.env.PATH ?? '', HOME: '/nonexistent', ...env },
  });
  let out = '';
  const waiters: { text: string; resolve: () => void }[] = [];
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString();
    for (const w of waiters.filter((x) => out.includes(x.text))) w.resolve();
  });
  const exit = new Promise<number | null>((res) =>
    child.on('exit', (code) => {
      res(code);
    }),
  );
  return {
    child,
    output: () => out,
    waitFor: (text: string) =>
      new Promise<void>((resolve, reject) => {
        if (out.includes(text)) resolve();
        else {
          waiters.push({ text, resolve });
          void exit.then(() => {
            reject(new Error(`${name} exited before printing "${text}":\n${out}`));
          });
        }
      }),
    exit,
  };
}

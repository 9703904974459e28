/**
 * Helpers for the master chart suites: run the pinned Helm 3 / Helm 4 binaries (paths and homes from the one
 * harness, core/helm.ts), render a release of the example plan, and read the output as typed Kubernetes objects.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { createHelmHome, exec, toolchainPaths } from '../core/helm.js';
import { releaseValues } from '../plan/metadata.js';
import { parsePlan, type Plan, type Values } from '../plan/plan.js';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const chartDir = path.join(repoRoot, 'charts/master-chart');
export const HELMS = {
  helm3: toolchainPaths(repoRoot, 3).helm,
  helm4: toolchainPaths(repoRoot, 4).helm,
};
export type Major = keyof typeof HELMS;
export const MAJORS = Object.keys(HELMS) as Major[];

export interface Meta {
  name: string;
  namespace?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
export interface SecurityContext {
  runAsNonRoot?: boolean;
  runAsUser?: number;
  allowPrivilegeEscalation?: boolean;
  privileged?: boolean;
  readOnlyRootFilesystem?: boolean;
  capabilities?: { drop?: string[]; add?: string[] };
  seccompProfile?: { type: string };
}
export interface Container {
  name: string;
  image: string;
  command?: string[];
  args?: string[];
  env?: { name: string; value?: string; valueFrom?: { secretKeyRef?: { name: string; key: string } } }[];
  securityContext?: SecurityContext;
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  readinessProbe?: { exec?: { command: string[] } };
  livenessProbe?: { exec?: { command: string[] } };
  startupProbe?: { exec?: { command: string[] } };
  volumeMounts?: { name: string; mountPath: string }[];
}
export interface PodSpec {
  securityContext?: SecurityContext;
  containers: Container[];
  initContainers?: Container[];
  volumes?: Record<string, unknown>[];
  hostNetwork?: boolean;
  hostPID?: boolean;
  hostIPC?: boolean;
  serviceAccountName?: string;
  restartPolicy?: string;
}
export interface Rule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
  resourceNames?: string[];
}
export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: Meta;
  spec?: {
    template?: { metadata?: Meta; spec: PodSpec };
    activeDeadlineSeconds?: number;
    backoffLimit?: number;
    ttlSecondsAfterFinished?: number;
    volumeClaimTemplates?: { metadata: Meta }[];
    securityContext?: SecurityContext;
    rules?: { validate?: { failureAction?: string; pattern?: unknown; podSecurity?: unknown } }[];
  };
  rules?: Rule[];
  subjects?: { kind: string; name: string; namespace?: string }[];
  roleRef?: { kind: string; name: string };
  data?: Record<string, string>;
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** A fresh Helm home of the one harness (core/helm.ts): the user's repositories, plugins and cache never leak in. */
export function helmEnv(): { env: NodeJS.ProcessEnv; cleanup: () => void } {
  const home = createHelmHome('ht-chart-helm-');
  return { env: { ...home.env, KUBECONFIG: path.join(home.dir, 'no-kubeconfig') }, cleanup: home.dispose };
}

export function runHelm(major: Major, args: string[], env: NodeJS.ProcessEnv): Promise<RunResult> {
  return exec(HELMS[major], args, { env });
}

export function loadExamplePlan(): Plan {
  const file = path.join(repoRoot, 'plan.yaml');
  return parsePlan(readFileSync(file, 'utf8'), file);
}

/** Writes values to a temp file (JSON is YAML) and returns its path. */
export function writeValues(dir: string, name: string, values: Values): string {
  const file = path.join(dir, `${name}.values.json`);
  writeFileSync(file, JSON.stringify(values));
  return file;
}

export function planValues(plan: Plan, release: string): Values {
  return releaseValues(plan, release);
}

export function parseManifests(text: string): K8sObject[] {
  const out: K8sObject[] = [];
  for (const doc of parseAllDocuments(text, { version: '1.1' })) {
    if (doc.errors.length > 0) throw new Error(`invalid YAML from helm: ${doc.errors[0]?.message ?? ''}`);
    const value: unknown = doc.toJS();
    if (value !== null && typeof value === 'object') out.push(value as K8sObject);
  }
  return out;
}

export interface Render {
  objects: K8sObject[];
  code: number;
  stderr: string;
}

export async function template(
  major: Major,
  env: NodeJS.ProcessEnv,
  release: string,
  valueFiles: string[],
  extra: string[] = [],
): Promise<Render> {
  const args = [
    'template',
    release,
    chartDir,
    '--namespace',
    'apps',
    ...valueFiles.flatMap((f) => ['-f', f]),
    ...extra,
  ];
  const r = await runHelm(major, args, env);
  return { objects: r.code === 0 ? parseManifests(r.stdout) : [], code: r.code, stderr: r.stderr };
}

export const find = (objs: K8sObject[], kind: string, name: string): K8sObject | undefined =>
  objs.find((o) => o.kind === kind && o.metadata.name === name);

export const isHook = (o: K8sObject): boolean => o.metadata.annotations?.['helm.sh/hook'] !== undefined;

/** Every pod spec an object carries (workload templates; the Prometheus CR's pod-level settings are separate). */
export function podSpecs(o: K8sObject): PodSpec[] {
  const kinds = ['Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet', 'Job'];
  if (kinds.includes(o.kind) && o.spec?.template) return [o.spec.template.spec];
  if (o.kind === 'Pod') return [o.spec as unknown as PodSpec];
  return [];
}

/** Runs `fn` over `items` with at most `limit` in flight: real processes on a 2-core machine shared with other suites. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

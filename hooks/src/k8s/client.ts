/**
 * The narrow Kubernetes interface the hook programs depend on, and its @kubernetes/client-node implementation.
 * Every call goes through callWithRetry (bounded retries, per-request timeout, typed errors naming verb+resource).
 */
import {
  ApiextensionsV1Api,
  AppsV1Api,
  BatchV1Api,
  CoreV1Api,
  KubeConfig,
  PatchStrategy,
  setHeaderOptions,
  V1Eviction,
  V1ObjectMeta,
} from '@kubernetes/client-node';
import { readFileSync } from 'node:fs';
import { HookError, HookErrorCodes } from '../errors.js';
import type { Deadline } from './clock.js';
import type { RequestInfo } from './errors.js';
import { callWithRetry, DEFAULT_RETRY, type RetryHooks, type RetryOptions } from './retry.js';
import type { Crd, KubeEvent, Page, Pod, Workload } from './types.js';

export { listAll } from './pages.js';

export type WorkloadKind = 'Deployment' | 'StatefulSet' | 'DaemonSet' | 'Job' | 'PersistentVolumeClaim';
export type RestartableKind = 'Deployment' | 'StatefulSet' | 'DaemonSet';

export interface ListOptions {
  labelSelector?: string | undefined;
  fieldSelector?: string | undefined;
  limit?: number | undefined;
  continueToken?: string | undefined;
}

export interface LogOptions {
  container: string;
  previous: boolean;
  tailLines: number;
}

/** Everything the hooks ask of the API server. Programs receive this, never client-node. */
export interface HookKube {
  listCrds(opts: ListOptions): Promise<Page<Crd>>;
  readCrd(name: string): Promise<Crd>;
  /** Server-side apply (application/apply-patch+yaml, force). */
  applyCrd(name: string, manifest: object, fieldManager: string): Promise<Crd>;
  listPods(namespace: string, opts: ListOptions): Promise<Page<Pod>>;
  listEvents(namespace: string, opts: ListOptions): Promise<Page<KubeEvent>>;
  readPodLog(namespace: string, name: string, opts: LogOptions): Promise<string>;
  /** policy/v1 Eviction. Resolves false when the pod is already gone (404). */
  evictPod(namespace: string, name: string): Promise<boolean>;
  readReplicaSet(namespace: string, name: string): Promise<Workload>;
  /** Rollout restart: strategic-merge patch of spec.template.metadata.annotations. */
  restartWorkload(kind: RestartableKind, namespace: string, name: string, restartedAt: string): Promise<void>;
  listWorkloads(kind: WorkloadKind, namespace: string, opts: ListOptions): Promise<Page<Workload>>;
  /** Resolves false when the Service does not exist. */
  serviceExists(namespace: string, name: string): Promise<boolean>;
}

/** Loads config the way client-node's loadFromDefault does: $KUBECONFIG, ~/.kube/config, then in-cluster. */
export function loadKubeConfig(env: NodeJS.ProcessEnv): KubeConfig {
  const kc = new KubeConfig();
  try {
    // loadFromDefault reads process.env itself; make the env we were given win.
    if (env.KUBECONFIG)
      kc.loadFromFile(env.KUBECONFIG.split(process.platform === 'win32' ? ';' : ':')[0] ?? env.KUBECONFIG);
    else kc.loadFromDefault();
  } catch (err) {
    throw new HookError(
      HookErrorCodes.CONFIG,
      `cannot load Kubernetes configuration: ${err instanceof Error ? err.message : String(err)}`,
      {},
      { cause: err },
    );
  }
  if (!kc.getCurrentCluster()) {
    throw new HookError(
      HookErrorCodes.CONFIG,
      'no Kubernetes cluster configured: not in a cluster and no KUBECONFIG/~/.kube/config',
    );
  }
  return kc;
}

export const SA_NAMESPACE_FILE = '/var/run/secrets/kubernetes.io/serviceaccount/namespace';

/** --namespace, else the in-cluster ServiceAccount namespace, else the kubeconfig context's namespace, else default. */
export function resolveNamespace(
  flag: string | undefined,
  kc: KubeConfig | undefined,
  saFile = SA_NAMESPACE_FILE,
): string {
  if (flag) return flag;
  try {
    const ns = readFileSync(saFile, 'utf8').trim();
    if (ns) return ns;
  } catch {
    // not in a pod
  }
  if (kc) {
    const ctx = kc.getContextObject(kc.getCurrentContext());
    if (ctx?.namespace) return ctx.namespace;
  }
  return 'default';
}

const PAGE_LIMIT_MAX = 500;

function evictionBody(name: string, namespace: string): V1Eviction {
  const body = new V1Eviction();
  body.apiVersion = 'policy/v1';
  body.kind = 'Eviction';
  body.metadata = new V1ObjectMeta();
  body.metadata.name = name;
  body.metadata.namespace = namespace;
  return body;
}

export function createHookKube(
  kc: KubeConfig,
  deadline: Deadline,
  hooks: RetryHooks = {},
  retry: RetryOptions = DEFAULT_RETRY,
): HookKube {
  const core = kc.makeApiClient(CoreV1Api);
  const apps = kc.makeApiClient(AppsV1Api);
  const batch = kc.makeApiClient(BatchV1Api);
  const ext = kc.makeApiClient(ApiextensionsV1Api);
  const call = <T>(req: RequestInfo, op: () => Promise<T>, opts: Partial<RetryOptions> = {}): Promise<T> =>
    callWithRetry(req, op, deadline, { ...retry, ...opts }, hooks);
  const page = <T>(list: { items: T[]; metadata?: { _continue?: string } }): Page<T> => ({
    items: list.items,
    continueToken: list.metadata?._continue || undefined,
  });
  const listArgs = (namespace: string, o: ListOptions) => ({
    namespace,
    labelSelector: o.labelSelector,
    fieldSelector: o.fieldSelector,
    limit: Math.min(o.limit ?? PAGE_LIMIT_MAX, PAGE_LIMIT_MAX),
    _continue: o.continueToken,
  });

  return {
    async listCrds(o) {
      const req = { verb: 'list', resource: 'customresourcedefinitions', group: 'apiextensions.k8s.io' };
      const res = await call(req, () =>
        ext.listCustomResourceDefinition({ limit: o.limit ?? PAGE_LIMIT_MAX, _continue: o.continueToken }),
      );
      return page(res as { items: Crd[]; metadata?: { _continue?: string } });
    },
    async readCrd(name) {
      const req = { verb: 'get', resource: 'customresourcedefinitions', group: 'apiextensions.k8s.io', name };
      return await call(req, () => ext.readCustomResourceDefinition({ name }));
    },
    async applyCrd(name, manifest, fieldManager) {
      const req = { verb: 'patch', resource: 'customresourcedefinitions', group: 'apiextensions.k8s.io', name };
      // client-node defaults PATCH to json-patch+json; server-side apply needs its own content type (JSON is YAML).
      const res = await call(
        req,
        () =>
          ext.patchCustomResourceDefinition(
            { name, body: manifest, fieldManager, force: true },
            setHeaderOptions('Content-Type', PatchStrategy.ServerSideApply),
          ),
        { requestTimeoutMs: 60_000 },
      );
      return res;
    },
    async listPods(namespace, o) {
      const req = { verb: 'list', resource: 'pods', group: '', namespace };
      return page((await call(req, () => core.listNamespacedPod(listArgs(namespace, o)))) as { items: Pod[] });
    },
    async listEvents(namespace, o) {
      const req = { verb: 'list', resource: 'events', group: '', namespace };
      return page((await call(req, () => core.listNamespacedEvent(listArgs(namespace, o)))) as { items: KubeEvent[] });
    },
    async readPodLog(namespace, name, o) {
      const req = { verb: 'get', resource: 'pods/log', group: '', namespace, name };
      return call(
        req,
        () =>
          core.readNamespacedPodLog({
            namespace,
            name,
            container: o.container,
            previous: o.previous,
            tailLines: o.tailLines,
          }),
        {
          attempts: 2,
        },
      );
    },
    async evictPod(namespace, name) {
      const req = { verb: 'create', resource: 'pods/eviction', group: '', namespace, name };
      try {
        // 429 (a PodDisruptionBudget blocks) is handled by the caller's own bounded loop: one attempt here.
        await call(
          req,
          () =>
            core.createNamespacedPodEviction({
              namespace,
              name,
              body: evictionBody(name, namespace),
            }),
          {
            attempts: 1,
          },
        );
        return true;
      } catch (err) {
        if (err instanceof HookError && err.code === HookErrorCodes.NOT_FOUND) return false;
        throw err;
      }
    },
    async readReplicaSet(namespace, name) {
      const req = { verb: 'get', resource: 'replicasets', group: 'apps', namespace, name };
      return (await call(req, () => apps.readNamespacedReplicaSet({ namespace, name }))) as Workload;
    },
    async restartWorkload(kind, namespace, name, restartedAt) {
      const body = {
        spec: { template: { metadata: { annotations: { 'kubectl.kubernetes.io/restartedAt': restartedAt } } } },
      };
      const opts = setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch);
      const resource = { Deployment: 'deployments', StatefulSet: 'statefulsets', DaemonSet: 'daemonsets' }[kind];
      const req = { verb: 'patch', resource, group: 'apps', namespace, name };
      if (kind === 'Deployment') await call(req, () => apps.patchNamespacedDeployment({ namespace, name, body }, opts));
      else if (kind === 'StatefulSet')
        await call(req, () => apps.patchNamespacedStatefulSet({ namespace, name, body }, opts));
      else await call(req, () => apps.patchNamespacedDaemonSet({ namespace, name, body }, opts));
    },
    async listWorkloads(kind, namespace, o) {
      const a = listArgs(namespace, o);
      type L = { items: Workload[] };
      switch (kind) {
        case 'Deployment':
          return page(
            (await call({ verb: 'list', resource: 'deployments', group: 'apps', namespace }, () =>
              apps.listNamespacedDeployment(a),
            )) as L,
          );
        case 'StatefulSet':
          return page(
            (await call({ verb: 'list', resource: 'statefulsets', group: 'apps', namespace }, () =>
              apps.listNamespacedStatefulSet(a),
            )) as L,
          );
        case 'DaemonSet':
          return page(
            (await call({ verb: 'list', resource: 'daemonsets', group: 'apps', namespace }, () =>
              apps.listNamespacedDaemonSet(a),
            )) as L,
          );
        case 'Job':
          return page(
            (await call({ verb: 'list', resource: 'jobs', group: 'batch', namespace }, () =>
              batch.listNamespacedJob(a),
            )) as L,
          );
        case 'PersistentVolumeClaim':
          return page(
            (await call({ verb: 'list', resource: 'persistentvolumeclaims', group: '', namespace }, () =>
              core.listNamespacedPersistentVolumeClaim(a),
            )) as L,
          );
      }
    },
    async serviceExists(namespace, name) {
      try {
        await call({ verb: 'get', resource: 'services', group: '', namespace, name }, () =>
          core.readNamespacedService({ namespace, name }),
        );
        return true;
      } catch (err) {
        if (err instanceof HookError && err.code === HookErrorCodes.NOT_FOUND) return false;
        throw err;
      }
    },
  };
}

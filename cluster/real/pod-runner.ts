/**
 * Containers whose image a scenario maps to a local command run as real processes: the container's environment as
 * a kubelet builds it (values, fieldRef, configMapKeyRef/secretKeyRef, envFrom), a kubeconfig for the pod's
 * ServiceAccount with a token from the TokenRequest API bound to the pod, and KUBERNETES_SERVICE_HOST/PORT. The
 * output becomes the container's log; the exit code its terminated state.
 */
/* eslint-disable @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-assignment, @typescript-eslint/no-explicit-any --
   pods, ConfigMaps and Secrets are untyped JSON from the API server, walked as such. */
import { spawn } from 'node:child_process';
import type { Obj } from '../sim/types.js';
import type { ContainerLog } from './kubelet-server.js';

/** Reads an object from the API server: undefined when it does not exist. */
export type ObjectReader = (path: string) => Promise<Obj | undefined>;

/** A reference to a ConfigMap/Secret that does not exist and is not optional: the kubelet's message. */
export class MissingConfigError extends Error {}

/** The value of a downward-API fieldRef for `pod` (what the kubelet supports for env). */
export function fieldRefValue(pod: Obj, fieldPath: string): string {
  const labelOrAnnotation = /^metadata\.(labels|annotations)\['(.+)'\]$/.exec(fieldPath);
  if (labelOrAnnotation) {
    const [, field = '', key = ''] = labelOrAnnotation;
    return String(pod.metadata?.[field]?.[key] ?? '');
  }
  switch (fieldPath) {
    case 'metadata.name':
      return String(pod.metadata.name);
    case 'metadata.namespace':
      return String(pod.metadata.namespace);
    case 'metadata.uid':
      return String(pod.metadata.uid);
    case 'spec.nodeName':
      return String(pod.spec.nodeName ?? '');
    case 'spec.serviceAccountName':
      return String(pod.spec.serviceAccountName ?? 'default');
    case 'status.podIP':
      return String(pod.status?.podIP ?? '');
    case 'status.hostIP':
      return String(pod.status?.hostIP ?? '');
    default:
      return '';
  }
}

/** $(VAR) references to earlier variables, as the kubelet expands them; $$ escapes. */
function expand(value: string, env: Record<string, string>): string {
  return value.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)/g, (whole, name: string | undefined) =>
    name === undefined ? '$' : (env[name] ?? whole),
  );
}

/**
 * The container's environment: envFrom first, then env in order (later wins), as the kubelet does. Throws
 * MissingConfigError (the kubelet's CreateContainerConfigError message) for a missing, non-optional reference.
 */
export async function containerEnv(pod: Obj, c: Obj, read: ObjectReader): Promise<Record<string, string>> {
  const ns = String(pod.metadata.namespace);
  const cache = new Map<string, Obj | undefined>();
  const source = async (kind: 'configmaps' | 'secrets', name: string, optional: boolean) => {
    const key = `${kind}/${name}`;
    if (!cache.has(key)) cache.set(key, await read(`/api/v1/namespaces/${ns}/${kind}/${name}`));
    const obj = cache.get(key);
    if (!obj && !optional)
      throw new MissingConfigError(`${kind === 'secrets' ? 'secret' : 'configmap'} "${name}" not found`);
    return obj;
  };
  const decode = (kind: 'configmaps' | 'secrets', v: unknown) =>
    kind === 'secrets' ? Buffer.from(String(v), 'base64').toString('utf8') : String(v);
  const env: Record<string, string> = {};
  for (const from of (c.envFrom ?? []) as Obj[]) {
    const [kind, ref] = from.configMapRef
      ? (['configmaps', from.configMapRef] as const)
      : from.secretRef
        ? (['secrets', from.secretRef] as const)
        : [undefined, undefined];
    if (!kind) continue;
    const obj = await source(kind, String(ref.name), ref.optional === true);
    for (const [k, v] of Object.entries((obj?.data ?? {}) as Record<string, unknown>))
      env[`${String(from.prefix ?? '')}${k}`] = decode(kind, v);
  }
  for (const e of (c.env ?? []) as Obj[]) {
    const name = String(e.name);
    if (e.value !== undefined) env[name] = expand(String(e.value), env);
    else if (e.valueFrom?.fieldRef?.fieldPath) env[name] = fieldRefValue(pod, String(e.valueFrom.fieldRef.fieldPath));
    else if (e.valueFrom?.configMapKeyRef || e.valueFrom?.secretKeyRef) {
      const kind = e.valueFrom.configMapKeyRef ? 'configmaps' : 'secrets';
      const ref = e.valueFrom.configMapKeyRef ?? e.valueFrom.secretKeyRef;
      const optional = ref.optional === true;
      const obj = await source(kind, String(ref.name), optional);
      const v = obj?.data?.[ref.key];
      if (v === undefined) {
        if (obj && !optional)
          throw new MissingConfigError(
            `couldn't find key ${String(ref.key)} in ${kind === 'secrets' ? 'Secret' : 'ConfigMap'} ${ns}/${String(ref.name)}`,
          );
        continue;
      }
      env[name] = decode(kind, v);
    } else if (e.valueFrom === undefined) env[name] = '';
  }
  return env;
}

/** Every ConfigMap/Secret reference of the containers resolves (the kubelet checks before it creates a container). */
export async function checkConfigRefs(pod: Obj, read: ObjectReader): Promise<string | undefined> {
  for (const c of [...((pod.spec.initContainers ?? []) as Obj[]), ...((pod.spec.containers ?? []) as Obj[])]) {
    try {
      await containerEnv(pod, c, read);
    } catch (err) {
      if (err instanceof MissingConfigError) return err.message;
      throw err;
    }
  }
  return undefined;
}

export interface ContainerProcess {
  pid: number | undefined;
  /** Resolves with the exit code (128+n for a signal, as a container runtime reports it). */
  exited: Promise<number>;
  signal(sig: NodeJS.Signals): void;
  running(): boolean;
}

/** Runs argv with env, its stdout and stderr appended to `log`. */
export function runProcess(
  argv: string[],
  env: Record<string, string>,
  log: ContainerLog,
  cwd: string,
  onSpawn?: (pid: number | undefined) => void,
): ContainerProcess {
  const [file = '', ...args] = argv;
  const proc = spawn(file, args, { env, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  onSpawn?.(proc.pid);
  let alive = true;
  proc.stdout.setEncoding('utf8').on('data', (d: string) => {
    log.append(d);
  });
  proc.stderr.setEncoding('utf8').on('data', (d: string) => {
    log.append(d);
  });
  const signals: Record<string, number> = { SIGKILL: 9, SIGTERM: 15, SIGINT: 2, SIGHUP: 1 };
  const exited = new Promise<number>((resolve) => {
    proc.once('error', (err) => {
      alive = false;
      log.append(`exec ${argv[0] ?? ''}: ${err.message}\n`);
      log.finish();
      // What a runtime reports when the entry point cannot be executed.
      resolve(128);
    });
    proc.once('close', (code, sig) => {
      alive = false;
      log.finish();
      resolve(code ?? 128 + (sig ? (signals[sig] ?? 9) : 9));
    });
  });
  return {
    pid: proc.pid,
    exited,
    running: () => alive,
    signal(sig) {
      if (!alive) return;
      try {
        proc.kill(sig);
      } catch {
        // gone already
      }
    },
  };
}

/** kubeconfig of a pod's ServiceAccount, YAML written line by line (hook scripts read it with plain regexes). */
export function podKubeconfig(server: string, caData: string, token: string, namespace: string): string {
  return [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    '- name: cluster',
    '  cluster:',
    `    server: ${server}`,
    `    certificate-authority-data: ${caData}`,
    'users:',
    '- name: sa',
    '  user:',
    `    token: ${token}`,
    'contexts:',
    '- name: sa',
    '  context:',
    '    cluster: cluster',
    '    user: sa',
    `    namespace: ${namespace}`,
    'current-context: sa',
    '',
  ].join('\n');
}

export type { Obj as PodObject };
export type AnyObj = Record<string, any>;

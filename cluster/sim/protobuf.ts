// Minimal decoder for the Kubernetes protobuf wire format ("k8s\0" + runtime.Unknown envelope). client-go's typed
// clientset (Helm's release storage driver) sends Secrets and DeleteOptions this way; answers stay JSON, which
// client-go accepts because its Accept header lists application/json as well.
import { badRequest, type Obj } from './types.js';

const MAGIC = Buffer.from([0x6b, 0x38, 0x73, 0x00]);

type Field = { no: number; wt: number; v: bigint | Buffer };

function fields(buf: Buffer): Field[] {
  const out: Field[] = [];
  let i = 0;
  const varint = (): bigint => {
    let r = 0n;
    let shift = 0n;
    for (;;) {
      if (i >= buf.length) throw badRequest('truncated protobuf');
      const b = buf[i++]!;
      r |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) return r;
      shift += 7n;
    }
  };
  while (i < buf.length) {
    const tag = Number(varint());
    const no = tag >>> 3;
    const wt = tag & 7;
    if (wt === 0) out.push({ no, wt, v: varint() });
    else if (wt === 2) {
      const len = Number(varint());
      out.push({ no, wt, v: buf.subarray(i, i + len) });
      i += len;
    } else if (wt === 1) {
      out.push({ no, wt, v: buf.subarray(i, i + 8) });
      i += 8;
    } else if (wt === 5) {
      out.push({ no, wt, v: buf.subarray(i, i + 4) });
      i += 4;
    } else throw badRequest(`unsupported protobuf wire type ${wt}`);
  }
  return out;
}

const str = (f: Field) => (f.v as Buffer).toString('utf8');
const num = (f: Field) => Number(f.v);

function mapEntry(f: Field, bytes: boolean): [string, string] {
  let k = '';
  let v = '';
  for (const e of fields(f.v as Buffer)) {
    if (e.no === 1) k = str(e);
    if (e.no === 2) v = bytes ? (e.v as Buffer).toString('base64') : str(e);
  }
  return [k, v];
}

function time(f: Field): string {
  let s = 0;
  for (const e of fields(f.v as Buffer)) if (e.no === 1) s = num(e);
  return new Date(s * 1000).toISOString().replace(/\.\d+Z$/, 'Z');
}

// Field tables of the k8s.io/api generated.proto messages that client-go's typed clients (Helm's release
// storage, `kubectl create ...`, `kubectl drain`, `kubectl create token`) send. Types: s string, S repeated
// string, i integer (pointer: zero kept), z integer (omitempty), b bool, t Time, x IntOrString, q Quantity, m map<string,string>, B map<string,bytes>,
// y bytes (base64), '<Msg>' message, '*<Msg>' repeated message. Fields not listed are skipped.
type FieldSpec = [string, string];
const SCHEMA: Record<string, Record<number, FieldSpec>> = {
  ObjectMeta: {
    1: ['name', 's'],
    2: ['generateName', 's'],
    3: ['namespace', 's'],
    5: ['uid', 's'],
    6: ['resourceVersion', 's'],
    7: ['generation', 'z'],
    8: ['creationTimestamp', 't'],
    11: ['labels', 'm'],
    12: ['annotations', 'm'],
    13: ['ownerReferences', '*OwnerReference'],
    14: ['finalizers', 'S'],
  },
  OwnerReference: {
    1: ['kind', 's'],
    3: ['name', 's'],
    4: ['uid', 's'],
    5: ['apiVersion', 's'],
    6: ['controller', 'b'],
    7: ['blockOwnerDeletion', 'b'],
  },
  Secret: {
    1: ['metadata', 'ObjectMeta'],
    2: ['data', 'B'],
    3: ['type', 's'],
    4: ['stringData', 'm'],
    5: ['immutable', 'b'],
  },
  ConfigMap: { 1: ['metadata', 'ObjectMeta'], 2: ['data', 'm'], 3: ['binaryData', 'B'], 4: ['immutable', 'b'] },
  Namespace: { 1: ['metadata', 'ObjectMeta'], 2: ['spec', 'NamespaceSpec'] },
  NamespaceSpec: { 1: ['finalizers', 'S'] },
  ServiceAccount: {
    1: ['metadata', 'ObjectMeta'],
    3: ['imagePullSecrets', '*LocalObjectReference'],
    4: ['automountServiceAccountToken', 'b'],
  },
  LocalObjectReference: { 1: ['name', 's'] },
  Role: { 1: ['metadata', 'ObjectMeta'], 2: ['rules', '*PolicyRule'] },
  ClusterRole: { 1: ['metadata', 'ObjectMeta'], 2: ['rules', '*PolicyRule'] },
  PolicyRule: {
    1: ['verbs', 'S'],
    2: ['apiGroups', 'S'],
    3: ['resources', 'S'],
    4: ['resourceNames', 'S'],
    5: ['nonResourceURLs', 'S'],
  },
  RoleBinding: { 1: ['metadata', 'ObjectMeta'], 2: ['subjects', '*Subject'], 3: ['roleRef', 'RoleRef'] },
  ClusterRoleBinding: { 1: ['metadata', 'ObjectMeta'], 2: ['subjects', '*Subject'], 3: ['roleRef', 'RoleRef'] },
  Subject: { 1: ['kind', 's'], 2: ['apiGroup', 's'], 3: ['name', 's'], 4: ['namespace', 's'] },
  RoleRef: { 1: ['apiGroup', 's'], 2: ['kind', 's'], 3: ['name', 's'] },
  Service: { 1: ['metadata', 'ObjectMeta'], 2: ['spec', 'ServiceSpec'] },
  ServiceSpec: {
    1: ['ports', '*ServicePort'],
    2: ['selector', 'm'],
    3: ['clusterIP', 's'],
    4: ['type', 's'],
    5: ['externalIPs', 'S'],
    7: ['sessionAffinity', 's'],
    10: ['externalName', 's'],
  },
  ServicePort: {
    1: ['name', 's'],
    2: ['protocol', 's'],
    3: ['port', 'i'],
    4: ['targetPort', 'x'],
    5: ['nodePort', 'z'],
  },
  Deployment: { 1: ['metadata', 'ObjectMeta'], 2: ['spec', 'DeploymentSpec'] },
  DeploymentSpec: {
    1: ['replicas', 'i'],
    2: ['selector', 'LabelSelector'],
    3: ['template', 'PodTemplateSpec'],
    4: ['strategy', 'DeploymentStrategy'],
    6: ['revisionHistoryLimit', 'i'],
    9: ['progressDeadlineSeconds', 'i'],
  },
  DeploymentStrategy: { 1: ['type', 's'], 2: ['rollingUpdate', 'RollingUpdateDeployment'] },
  RollingUpdateDeployment: { 1: ['maxUnavailable', 'x'], 2: ['maxSurge', 'x'] },
  LabelSelector: { 1: ['matchLabels', 'm'], 2: ['matchExpressions', '*LabelSelectorRequirement'] },
  LabelSelectorRequirement: { 1: ['key', 's'], 2: ['operator', 's'], 3: ['values', 'S'] },
  PodTemplateSpec: { 1: ['metadata', 'ObjectMeta'], 2: ['spec', 'PodSpec'] },
  PodSpec: {
    2: ['containers', '*Container'],
    3: ['restartPolicy', 's'],
    4: ['terminationGracePeriodSeconds', 'i'],
    5: ['activeDeadlineSeconds', 'i'],
    7: ['nodeSelector', 'm'],
    8: ['serviceAccountName', 's'],
    10: ['nodeName', 's'],
    15: ['imagePullSecrets', '*LocalObjectReference'],
    20: ['initContainers', '*Container'],
  },
  Container: {
    1: ['name', 's'],
    2: ['image', 's'],
    3: ['command', 'S'],
    4: ['args', 'S'],
    5: ['workingDir', 's'],
    6: ['ports', '*ContainerPort'],
    7: ['env', '*EnvVar'],
    14: ['imagePullPolicy', 's'],
  },
  ContainerPort: { 1: ['name', 's'], 2: ['hostPort', 'z'], 3: ['containerPort', 'i'], 4: ['protocol', 's'] },
  EnvVar: { 1: ['name', 's'], 2: ['value', 's'] },
  Job: { 1: ['metadata', 'ObjectMeta'], 2: ['spec', 'JobSpec'] },
  JobSpec: {
    1: ['parallelism', 'i'],
    2: ['completions', 'i'],
    3: ['activeDeadlineSeconds', 'i'],
    4: ['selector', 'LabelSelector'],
    5: ['manualSelector', 'b'],
    6: ['template', 'PodTemplateSpec'],
    7: ['backoffLimit', 'i'],
    8: ['ttlSecondsAfterFinished', 'i'],
    10: ['suspend', 'b'],
  },
  CronJob: { 1: ['metadata', 'ObjectMeta'], 2: ['spec', 'CronJobSpec'] },
  CronJobSpec: {
    1: ['schedule', 's'],
    3: ['concurrencyPolicy', 's'],
    4: ['suspend', 'b'],
    5: ['jobTemplate', 'JobTemplateSpec'],
    8: ['timeZone', 's'],
  },
  JobTemplateSpec: { 1: ['metadata', 'ObjectMeta'], 2: ['spec', 'JobSpec'] },
  PodDisruptionBudget: { 1: ['metadata', 'ObjectMeta'], 2: ['spec', 'PodDisruptionBudgetSpec'] },
  PodDisruptionBudgetSpec: { 1: ['minAvailable', 'x'], 2: ['selector', 'LabelSelector'], 3: ['maxUnavailable', 'x'] },
  Eviction: { 1: ['metadata', 'ObjectMeta'], 2: ['deleteOptions', 'DeleteOptions'] },
  DeleteOptions: {
    1: ['gracePeriodSeconds', 'i'],
    3: ['orphanDependents', 'b'],
    4: ['propagationPolicy', 's'],
    5: ['dryRun', 'S'],
  },
  TokenRequest: { 1: ['metadata', 'ObjectMeta'], 2: ['spec', 'TokenRequestSpec'] },
  TokenRequestSpec: { 1: ['audiences', 'S'], 2: ['expirationSeconds', 'i'] },
};

function signed(v: bigint): number {
  return Number(BigInt.asIntN(64, v));
}

function decodeMessage(buf: Buffer, type: string): Obj {
  const spec = SCHEMA[type] ?? {};
  const o: Obj = {};
  for (const f of fields(buf)) {
    const fs = spec[f.no];
    if (!fs) continue;
    const [name, t] = fs;
    switch (t) {
      case 's':
        if ((f.v as Buffer).length > 0) o[name] = str(f);
        break;
      case 'S':
        (o[name] ??= []).push(str(f));
        break;
      case 'i':
        o[name] = signed(f.v as bigint);
        break;
      case 'z':
        if ((f.v as bigint) !== 0n) o[name] = signed(f.v as bigint);
        break;
      case 'b':
        o[name] = (f.v as bigint) !== 0n;
        break;
      case 't': {
        const ts = time(f);
        if (ts !== '1970-01-01T00:00:00Z') o[name] = ts;
        break;
      }
      case 'x': {
        let kind = 0;
        let iv = 0;
        let sv = '';
        for (const e of fields(f.v as Buffer)) {
          if (e.no === 1) kind = num(e);
          else if (e.no === 2) iv = signed(e.v as bigint);
          else if (e.no === 3) sv = str(e);
        }
        o[name] = kind === 1 ? sv : iv;
        break;
      }
      case 'm':
      case 'B': {
        const [k, v] = mapEntry(f, t === 'B');
        (o[name] ??= {})[k] = v;
        break;
      }
      default: {
        const repeated = t.startsWith('*');
        const sub = decodeMessage(f.v as Buffer, repeated ? t.slice(1) : t);
        if (repeated) (o[name] ??= []).push(sub);
        else if (Object.keys(sub).length > 0) o[name] = sub;
      }
    }
  }
  return o;
}

/** A kind this decoder has no field table for: the server answers 415. */
export class UnknownKind extends Error {}

export function isProtobuf(contentType: string | undefined): boolean {
  return (contentType ?? '').startsWith('application/vnd.kubernetes.protobuf');
}

/** Decode a protobuf request body into the JSON object the rest of the server handles. */
export function decodeProtobuf(body: Buffer): Obj {
  if (body.length < 4 || !body.subarray(0, 4).equals(MAGIC))
    throw badRequest('protobuf body without the k8s magic prefix');
  let apiVersion = '';
  let kind = '';
  let raw: Buffer = Buffer.alloc(0);
  for (const f of fields(body.subarray(4))) {
    if (f.no === 1) {
      for (const t of fields(f.v as Buffer)) {
        if (t.no === 1) apiVersion = str(t);
        if (t.no === 2) kind = str(t);
      }
    } else if (f.no === 2) raw = f.v as Buffer;
  }
  if (!SCHEMA[kind]) throw new UnknownKind(`protobuf ${apiVersion}/${kind}`);
  const o = decodeMessage(raw, kind);
  if (kind === 'DeleteOptions') return { kind, apiVersion: 'v1', ...o };
  return { apiVersion, kind, metadata: {}, ...o };
}

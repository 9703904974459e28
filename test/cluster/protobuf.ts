// Minimal decoder for the Kubernetes protobuf wire format ("k8s\0" + runtime.Unknown envelope). client-go's typed
// clientset (Helm's release storage driver) sends Secrets and DeleteOptions this way; answers stay JSON, which
// client-go accepts because its Accept header lists application/json as well.
/* eslint-disable @typescript-eslint/no-dynamic-delete -- removing JSON fields by name is what patches and defaulting do */
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

function ownerRef(f: Field): Obj {
  const o: Obj = {};
  for (const e of fields(f.v as Buffer)) {
    if (e.no === 1) o.kind = str(e);
    else if (e.no === 3) o.name = str(e);
    else if (e.no === 4) o.uid = str(e);
    else if (e.no === 5) o.apiVersion = str(e);
    else if (e.no === 6) o.controller = num(e) !== 0;
    else if (e.no === 7) o.blockOwnerDeletion = num(e) !== 0;
  }
  return o;
}

function objectMeta(buf: Buffer): Obj {
  const m: Obj = {};
  for (const f of fields(buf)) {
    switch (f.no) {
      case 1:
        m.name = str(f);
        break;
      case 2:
        m.generateName = str(f);
        break;
      case 3:
        m.namespace = str(f);
        break;
      case 5:
        m.uid = str(f);
        break;
      case 6:
        m.resourceVersion = str(f);
        break;
      case 7:
        m.generation = num(f);
        break;
      case 8:
        m.creationTimestamp = time(f);
        break;
      case 11: {
        const [k, v] = mapEntry(f, false);
        (m.labels ??= {})[k] = v;
        break;
      }
      case 12: {
        const [k, v] = mapEntry(f, false);
        (m.annotations ??= {})[k] = v;
        break;
      }
      case 13:
        (m.ownerReferences ??= []).push(ownerRef(f));
        break;
      case 14:
        (m.finalizers ??= []).push(str(f));
        break;
    }
  }
  // Unset optional strings arrive as empty strings; the JSON form omits them.
  for (const k of ['resourceVersion', 'uid', 'generateName', 'namespace']) if (m[k] === '') delete m[k];
  if (m.creationTimestamp === '1970-01-01T00:00:00Z') delete m.creationTimestamp;
  return m;
}

function decodeSecret(buf: Buffer): Obj {
  const o: Obj = { apiVersion: 'v1', kind: 'Secret', metadata: {} };
  for (const f of fields(buf)) {
    if (f.no === 1) o.metadata = objectMeta(f.v as Buffer);
    else if (f.no === 2) {
      const [k, v] = mapEntry(f, true);
      (o.data ??= {})[k] = v;
    } else if (f.no === 3) o.type = str(f);
    else if (f.no === 4) {
      const [k, v] = mapEntry(f, false);
      (o.stringData ??= {})[k] = v;
    } else if (f.no === 5) o.immutable = num(f) !== 0;
  }
  return o;
}

function decodeConfigMap(buf: Buffer): Obj {
  const o: Obj = { apiVersion: 'v1', kind: 'ConfigMap', metadata: {} };
  for (const f of fields(buf)) {
    if (f.no === 1) o.metadata = objectMeta(f.v as Buffer);
    else if (f.no === 2) {
      const [k, v] = mapEntry(f, false);
      (o.data ??= {})[k] = v;
    } else if (f.no === 3) {
      const [k, v] = mapEntry(f, true);
      (o.binaryData ??= {})[k] = v;
    } else if (f.no === 4) o.immutable = num(f) !== 0;
  }
  return o;
}

function decodeDeleteOptions(buf: Buffer): Obj {
  const o: Obj = { kind: 'DeleteOptions', apiVersion: 'v1' };
  for (const f of fields(buf)) {
    if (f.no === 1) o.gracePeriodSeconds = num(f);
    else if (f.no === 3) o.orphanDependents = num(f) !== 0;
    else if (f.no === 4) o.propagationPolicy = str(f);
    else if (f.no === 5) (o.dryRun ??= []).push(str(f));
  }
  return o;
}

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
  switch (kind) {
    case 'Secret':
      return { ...decodeSecret(raw), apiVersion: apiVersion || 'v1' };
    case 'ConfigMap':
      return { ...decodeConfigMap(raw), apiVersion: apiVersion || 'v1' };
    case 'DeleteOptions':
      return decodeDeleteOptions(raw);
    default:
      throw new (class extends Error {})(`protobuf ${apiVersion}/${kind}`);
  }
}

// Label and field selectors with the apiserver's string syntax (set-based included) and the LabelSelector object.
import { badRequest, type Obj } from './types.js';

type Req = { key: string; op: 'in' | 'notin' | 'exists' | '!exists' | '=' | '!=' | 'gt' | 'lt'; values: string[] };

export function parseLabelSelector(s: string | undefined): Req[] {
  const out: Req[] = [];
  if (!s) return out;
  let i = 0;
  const n = s.length;
  const skip = () => {
    while (i < n && s[i] === ' ') i++;
  };
  const ident = () => {
    skip();
    const st = i;
    while (i < n && !' ,=!()<>'.includes(s[i]!)) i++;
    return s.slice(st, i);
  };
  while (i < n) {
    skip();
    if (s[i] === '!') {
      i++;
      out.push({ key: ident(), op: '!exists', values: [] });
    } else {
      const key = ident();
      if (!key) throw badRequest(`unable to parse requirement: found '${s[i] ?? ''}', expected: identifier`);
      skip();
      if (s.startsWith('==', i)) {
        i += 2;
        out.push({ key, op: '=', values: [ident()] });
      } else if (s.startsWith('!=', i)) {
        i += 2;
        out.push({ key, op: '!=', values: [ident()] });
      } else if (s[i] === '=') {
        i++;
        out.push({ key, op: '=', values: [ident()] });
      } else if (s[i] === '>' || s[i] === '<') {
        const op = s[i] === '>' ? 'gt' : 'lt';
        i++;
        out.push({ key, op, values: [ident()] });
      } else if (/^(in|notin)\s*\(/.test(s.slice(i))) {
        const op = s.startsWith('notin', i) ? 'notin' : 'in';
        i = s.indexOf('(', i) + 1;
        const close = s.indexOf(')', i);
        if (close < 0) throw badRequest(`unable to parse requirement: found '', expected: ')'`);
        const values = s
          .slice(i, close)
          .split(',')
          .map((v) => v.trim())
          .filter((v, idx, arr) => v !== '' || arr.length > 1);
        i = close + 1;
        out.push({ key, op, values });
      } else {
        out.push({ key, op: 'exists', values: [] });
      }
    }
    skip();
    if (i < n) {
      if (s[i] !== ',') throw badRequest(`unable to parse requirement: found '${s[i]}', expected: ','`);
      i++;
    }
  }
  return out;
}

export function matchRequirements(reqs: Req[], labels: Record<string, string> | undefined): boolean {
  const l = labels ?? {};
  return reqs.every((r) => {
    const has = Object.prototype.hasOwnProperty.call(l, r.key);
    const v = l[r.key];
    switch (r.op) {
      case '=':
        return has && v === r.values[0];
      case '!=':
        return !has || v !== r.values[0];
      case 'in':
        return has && r.values.includes(v!);
      case 'notin':
        return !has || !r.values.includes(v!);
      case 'exists':
        return has;
      case '!exists':
        return !has;
      case 'gt':
        return has && Number(v) > Number(r.values[0]);
      case 'lt':
        return has && Number(v) < Number(r.values[0]);
    }
    return false;
  });
}

/** metav1.LabelSelector object semantics; an empty selector matches everything, null matches nothing. */
export function matchLabelSelector(sel: Obj | undefined | null, labels: Record<string, string> | undefined): boolean {
  if (!sel) return false;
  const l = labels ?? {};
  for (const [k, v] of Object.entries(sel.matchLabels ?? {})) if (l[k] !== v) return false;
  for (const e of (sel.matchExpressions ?? []) as Obj[]) {
    const has = Object.prototype.hasOwnProperty.call(l, e.key);
    const vals: string[] = e.values ?? [];
    switch (e.operator) {
      case 'In':
        if (!has || !vals.includes(l[e.key]!)) return false;
        break;
      case 'NotIn':
        if (has && vals.includes(l[e.key]!)) return false;
        break;
      case 'Exists':
        if (!has) return false;
        break;
      case 'DoesNotExist':
        if (has) return false;
        break;
    }
  }
  return true;
}

export function selectorToString(sel: Obj | undefined): string {
  if (!sel) return '';
  const parts = Object.entries(sel.matchLabels ?? {}).map(([k, v]) => `${k}=${String(v)}`);
  for (const e of (sel.matchExpressions ?? []) as Obj[]) {
    if (e.operator === 'In') parts.push(`${e.key} in (${(e.values ?? []).join(',')})`);
    else if (e.operator === 'NotIn') parts.push(`${e.key} notin (${(e.values ?? []).join(',')})`);
    else if (e.operator === 'Exists') parts.push(String(e.key));
    else parts.push(`!${e.key}`);
  }
  return parts.join(',');
}

type FieldReq = { path: string; neg: boolean; value: string };

export function parseFieldSelector(s: string | undefined): FieldReq[] {
  if (!s) return [];
  return s
    .split(',')
    .filter((p) => p.trim() !== '')
    .map((p) => {
      const m = /^\s*([^=!]+?)\s*(==|!=|=)\s*(.*?)\s*$/.exec(p);
      if (!m) throw badRequest(`invalid selector: '${s}'; can't understand '${p}'`);
      return { path: m[1]!, neg: m[2] === '!=', value: m[3]! };
    });
}

const META = ['metadata.name', 'metadata.namespace'];
const INVOLVED = ['kind', 'namespace', 'name', 'uid', 'apiVersion', 'resourceVersion', 'fieldPath'].map(
  (f) => `involvedObject.${f}`,
);
/**
 * Field labels of the built-in kinds that register a field-label conversion (the v1 conversion.go of each API group); an
 * unknown label there is `field label not supported: <label>`. Every other built-in kind takes only metadata.name
 * and metadata.namespace (runtime.DefaultMetaV1FieldSelectorConversion).
 */
const FIELD_LABELS: Record<string, string[]> = {
  '/pods': [
    ...META,
    'spec.nodeName',
    'spec.restartPolicy',
    'spec.schedulerName',
    'spec.serviceAccountName',
    'spec.hostNetwork',
    'spec.host',
    'status.phase',
    'status.podIP',
    'status.podIPs',
    'status.nominatedNodeName',
  ],
  '/nodes': ['metadata.name', 'spec.unschedulable'],
  '/namespaces': ['metadata.name', 'status.phase'],
  '/secrets': [...META, 'type'],
  '/events': [...META, ...INVOLVED, 'reason', 'reportingComponent', 'source', 'type'],
  '/replicationcontrollers': [...META, 'status.replicas'],
  'apps/replicasets': [...META, 'status.replicas'],
  'batch/jobs': [...META, 'status.successful'],
};

/** Rejects field labels the kind does not support, with the apiserver's 400 (custom resources are not checked). */
export function validateFieldSelector(rt: { group: string; resource: string; crd?: boolean }, reqs: FieldReq[]): void {
  if (rt.crd) return;
  const labels = FIELD_LABELS[`${rt.group}/${rt.resource}`];
  for (const r of reqs) {
    if (labels) {
      if (!labels.includes(r.path)) throw badRequest(`field label not supported: ${r.path}`);
    } else if (!META.includes(r.path))
      throw badRequest(`"${r.path}" is not a known field selector: only "metadata.name", "metadata.namespace"`);
  }
}

const FIELD_ALIASES: Record<string, (o: Obj) => unknown> = {
  'metadata.name': (o) => o.metadata?.name,
  'metadata.namespace': (o) => o.metadata?.namespace,
  'status.phase': (o) => o.status?.phase,
  'spec.nodeName': (o) => o.spec?.nodeName ?? '',
  'spec.host': (o) => o.spec?.nodeName ?? '',
  'spec.hostNetwork': (o) => String(o.spec?.hostNetwork ?? false),
  'spec.unschedulable': (o) => String(o.spec?.unschedulable ?? false),
  'status.podIPs': (o) => o.status?.podIP ?? '',
  'status.nominatedNodeName': (o) => o.status?.nominatedNodeName ?? '',
  'status.replicas': (o) => String(o.status?.replicas ?? 0),
  'spec.restartPolicy': (o) => o.spec?.restartPolicy,
  'spec.schedulerName': (o) => o.spec?.schedulerName,
  'spec.serviceAccountName': (o) => o.spec?.serviceAccountName,
  'status.podIP': (o) => o.status?.podIP ?? '',
  'status.successful': (o) => String(o.status?.succeeded ?? 0),
  type: (o) => o.type,
  reason: (o) => o.reason,
  source: (o) => o.source?.component ?? '',
  reportingComponent: (o) => o.reportingComponent ?? '',
};

function fieldValue(o: Obj, path: string): string {
  const f = FIELD_ALIASES[path];
  let v: unknown;
  if (f) v = f(o);
  else if (path.startsWith('involvedObject.')) v = o.involvedObject?.[path.slice('involvedObject.'.length)];
  else throw badRequest(`"${path}" is not a known field selector: only "metadata.name", "metadata.namespace"`);
  return v === undefined || v === null ? '' : typeof v === 'string' ? v : JSON.stringify(v);
}

export function matchFields(reqs: FieldReq[], o: Obj): boolean {
  return reqs.every((r) => (fieldValue(o, r.path) === r.value) !== r.neg);
}

// Object validation the real kube-apiserver does on create and update, for the cases the product and its tests
// depend on (the Kyverno breakage was a Deployment whose selector no longer matched its template). Field paths,
// reasons and message texts follow k8s.io/apimachinery's validation package and the apps/core validators; the Go
// value dumps of the real messages (map[string]string{...}) are reproduced where a test or user reads them.
import type { Obj } from './types.js';

export interface Cause {
  field: string;
  reason: string;
  message: string;
}

const QUALIFIED_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const CONFIG_KEY = /^[-._a-zA-Z0-9]+$/;

const LABEL_VALUE_MSG =
  "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')";
const QUALIFIED_NAME_MSG =
  "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";
const SUBDOMAIN_MSG =
  "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
const LABEL_MSG =
  "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
const CONFIG_KEY_MSG =
  "a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')";

/** Go's %q-like quoting as the apiserver prints string values. */
const q = (s: string) => JSON.stringify(s);
/** A map value as kube-apiserver 1.36 prints it in Invalid value messages (JSON, keys sorted). */
const jsonMap = (m: Record<string, unknown>) =>
  JSON.stringify(
    Object.fromEntries(
      Object.keys(m)
        .sort()
        .map((k) => [k, String(m[k])]),
    ),
  );

const invalidValue = (field: string, value: string, detail: string): Cause => ({
  field,
  reason: 'FieldValueInvalid',
  message: `Invalid value: ${value}: ${detail}`,
});

/** Label and annotation keys: an optional DNS subdomain prefix and `/`, then a name of at most 63 characters. */
function qualifiedNameErrors(key: string): string[] {
  const parts = key.split('/');
  let name = key;
  const errs: string[] = [];
  if (parts.length === 2) {
    const [prefix, rest] = parts as [string, string];
    name = rest;
    if (prefix.length === 0) errs.push('prefix part must be non-empty');
    else {
      if (prefix.length > 253) errs.push('prefix part must be no more than 253 characters');
      if (!DNS1123_SUBDOMAIN.test(prefix)) errs.push(`prefix part ${SUBDOMAIN_MSG}`);
    }
  } else if (parts.length > 2)
    return [
      `a qualified name ${QUALIFIED_NAME_MSG.replace('name part must', 'must')} with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')`,
    ];
  if (name.length === 0) errs.push('name part must be non-empty');
  else if (name.length > 63) errs.push('name part must be no more than 63 characters');
  if (name.length > 0 && !QUALIFIED_NAME.test(name)) errs.push(QUALIFIED_NAME_MSG);
  return errs;
}

function labelErrors(labels: unknown, field: string): Cause[] {
  if (labels === null || typeof labels !== 'object') return [];
  const causes: Cause[] = [];
  for (const [k, v] of Object.entries(labels as Record<string, unknown>)) {
    for (const e of qualifiedNameErrors(k)) causes.push(invalidValue(field, q(k), e));
    const s = String(v);
    if (s.length > 63) causes.push(invalidValue(field, q(s), 'must be no more than 63 bytes'));
    if (!LABEL_VALUE.test(s)) causes.push(invalidValue(field, q(s), LABEL_VALUE_MSG));
  }
  return causes;
}

function annotationKeyErrors(ann: unknown): Cause[] {
  if (ann === null || typeof ann !== 'object') return [];
  const causes: Cause[] = [];
  for (const k of Object.keys(ann))
    for (const e of qualifiedNameErrors(k.toLowerCase())) causes.push(invalidValue('metadata.annotations', q(k), e));
  return causes;
}

/** Kinds whose names are DNS labels (the rest of the built-ins, and custom resources, take DNS subdomains). */
const DNS_LABEL_NAMES = new Set(['/namespaces', '/services']);

function nameErrors(group: string, resource: string, name: unknown): Cause[] {
  if (typeof name !== 'string' || name === '') return [];
  const label = DNS_LABEL_NAMES.has(`${group}/${resource}`);
  const max = label ? 63 : 253;
  const causes: Cause[] = [];
  if (!(label ? DNS1123_LABEL : DNS1123_SUBDOMAIN).test(name))
    causes.push(invalidValue('metadata.name', q(name), label ? LABEL_MSG : SUBDOMAIN_MSG));
  if (name.length > max) causes.push(invalidValue('metadata.name', q(name), `must be no more than ${max} characters`));
  return causes;
}

/** Does a LabelSelector (matchLabels and matchExpressions) select `labels`? */
function selects(selector: Obj, labels: Record<string, string>): boolean {
  for (const [k, v] of Object.entries((selector.matchLabels ?? {}) as Record<string, unknown>))
    if (labels[k] !== String(v)) return false;
  for (const e of (selector.matchExpressions ?? []) as Obj[]) {
    const key = String(e.key);
    const values = ((e.values ?? []) as unknown[]).map(String);
    const has = Object.hasOwn(labels, key);
    switch (e.operator) {
      case 'In':
        if (!has || !values.includes(labels[key]!)) return false;
        break;
      case 'NotIn':
        if (has && values.includes(labels[key]!)) return false;
        break;
      case 'Exists':
        if (!has) return false;
        break;
      case 'DoesNotExist':
        if (has) return false;
        break;
      default:
        return false;
    }
  }
  return true;
}

function containerErrors(spec: Obj | undefined, base: string): Cause[] {
  const causes: Cause[] = [];
  for (const list of ['initContainers', 'containers'] as const)
    ((spec?.[list] ?? []) as Obj[]).forEach((c, i) => {
      if (typeof c.image !== 'string' || c.image.trim() === '')
        causes.push({ field: `${base}.${list}[${i}].image`, reason: 'FieldValueRequired', message: 'Required value' });
    });
  return causes;
}

function workloadErrors(o: Obj, withReplicas: boolean): Cause[] {
  const causes: Cause[] = [];
  const spec = (o.spec ?? {}) as Obj;
  if (withReplicas && typeof spec.replicas === 'number' && spec.replicas < 0)
    causes.push(invalidValue('spec.replicas', String(spec.replicas), 'must be greater than or equal to 0'));
  const selector = spec.selector as Obj | null | undefined;
  const tplLabels = (spec.template?.metadata?.labels ?? {}) as Record<string, string>;
  if (selector === undefined || selector === null)
    causes.push({ field: 'spec.selector', reason: 'FieldValueRequired', message: 'Required value' });
  else {
    const empty =
      Object.keys((selector.matchLabels ?? {}) as object).length === 0 &&
      ((selector.matchExpressions ?? []) as unknown[]).length === 0;
    if (empty)
      causes.push(invalidValue('spec.selector', goSelector(selector), 'empty selector is invalid for deployment'));
    else if (!selects(selector, tplLabels))
      causes.push(
        invalidValue(
          'spec.template.metadata.labels',
          jsonMap(tplLabels),
          '`selector` does not match template `labels`',
        ),
      );
  }
  // The real server validates the template's ObjectMeta at spec.template (so: spec.template.labels).
  causes.push(...labelErrors(spec.template?.metadata?.labels, 'spec.template.labels'));
  causes.push(...containerErrors(spec.template?.spec as Obj | undefined, 'spec.template.spec'));
  return causes;
}

/** The selector as printed in the message (JSON, like the 1.36 server's value dumps). */
const goSelector = (s: Obj) => JSON.stringify(s);

function serviceErrors(o: Obj): Cause[] {
  const causes: Cause[] = [];
  const seen = new Set<string>();
  ((o.spec?.ports ?? []) as Obj[]).forEach((p, i) => {
    const key = `${String(p.port)}/${String(p.protocol ?? 'TCP')}`;
    if (seen.has(key))
      causes.push({
        field: `spec.ports[${i}]`,
        reason: 'FieldValueDuplicate',
        // The real server dumps the key it compared: a ServicePort with only protocol and port set.
        message: `Duplicate value: {"Name":"","Protocol":${q(String(p.protocol ?? 'TCP'))},"AppProtocol":null,"Port":${String(p.port)},"TargetPort":0,"NodePort":0}`,
      });
    seen.add(key);
  });
  return causes;
}

/** All validation failures of `o` as a resource of `group/resource`; empty when the real server would accept it. */
export function validateObject(group: string, resource: string, o: Obj): Cause[] {
  const causes: Cause[] = [
    ...nameErrors(group, resource, o.metadata?.name),
    ...labelErrors(o.metadata?.labels, 'metadata.labels'),
    ...annotationKeyErrors(o.metadata?.annotations),
  ];
  const key = `${group}/${resource}`;
  if (key === 'apps/deployments' || key === 'apps/replicasets' || key === 'apps/statefulsets')
    causes.push(...workloadErrors(o, true));
  else if (key === 'apps/daemonsets') causes.push(...workloadErrors(o, false));
  else if (key === '/pods') causes.push(...containerErrors(o.spec as Obj | undefined, 'spec'));
  else if (key === '/services') causes.push(...serviceErrors(o));
  else if (key === '/configmaps' || key === '/secrets')
    for (const field of ['data', 'binaryData', 'stringData'])
      for (const k of Object.keys((o[field] ?? {}) as object))
        if (!CONFIG_KEY.test(k) || k.length > 253) causes.push(invalidValue(`${field}[${k}]`, q(k), CONFIG_KEY_MSG));
  return causes;
}

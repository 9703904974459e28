/**
 * A CRD's `openAPIV3Schema` as a JSON Schema that ajv (draft-07) can compile, as strict as the API server's
 * structural-schema pruning: where a schema lists `properties` and does not say
 * `x-kubernetes-preserve-unknown-fields`, any other field is rejected (the API server would silently drop it,
 * which for a misspelled HelmRelease field means the setting is simply lost).
 *
 * Not converted: `x-kubernetes-validations` (CEL rules) and `format` (Kubernetes formats like int64 are not JSON
 * Schema formats); the tests that rely on this converter do not depend on either.
 */

export type JsonSchema = Record<string, unknown>;

/** Keywords that mean the same in OpenAPI v3 (Kubernetes subset) and JSON Schema draft-07. */
const SAME = [
  'type',
  'enum',
  'pattern',
  'required',
  'minimum',
  'maximum',
  'exclusiveMinimum',
  'exclusiveMaximum',
  'minLength',
  'maxLength',
  'minItems',
  'maxItems',
  'uniqueItems',
  'minProperties',
  'maxProperties',
  'multipleOf',
] as const;

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

export function openApiToJsonSchema(s: Obj): JsonSchema {
  const out: JsonSchema = {};
  for (const key of SAME) if (key in s) out[key] = s[key];
  // OpenAPI 3.0 exclusiveMinimum/Maximum are booleans; draft-07 wants numbers.
  if (typeof s.exclusiveMinimum === 'boolean') {
    delete out.exclusiveMinimum;
    if (s.exclusiveMinimum) out.exclusiveMinimum = s.minimum;
    if (s.exclusiveMinimum) delete out.minimum;
  }
  if (typeof s.exclusiveMaximum === 'boolean') {
    delete out.exclusiveMaximum;
    if (s.exclusiveMaximum) out.exclusiveMaximum = s.maximum;
    if (s.exclusiveMaximum) delete out.maximum;
  }
  if (s['x-kubernetes-int-or-string'] === true) {
    delete out.type;
    out.anyOf = [{ type: 'integer' }, { type: 'string' }];
  }
  if (s.nullable === true && typeof out.type === 'string') out.type = [out.type, 'null'];
  for (const key of ['allOf', 'anyOf', 'oneOf'] as const) {
    const list = s[key];
    if (Array.isArray(list)) out[key] = list.map((x) => openApiToJsonSchema(x as Obj));
  }
  if (isObj(s.not)) out.not = openApiToJsonSchema(s.not);
  if (isObj(s.items)) out.items = openApiToJsonSchema(s.items);
  const preserve = s['x-kubernetes-preserve-unknown-fields'] === true;
  if (isObj(s.properties)) {
    out.properties = Object.fromEntries(
      Object.entries(s.properties).map(([k, v]) => [k, openApiToJsonSchema(v as Obj)]),
    );
  }
  if (isObj(s.additionalProperties)) out.additionalProperties = openApiToJsonSchema(s.additionalProperties);
  else if (typeof s.additionalProperties === 'boolean') out.additionalProperties = s.additionalProperties;
  else if (isObj(s.properties) && !preserve) out.additionalProperties = false;
  return out;
}

/** The JSON Schema of one served version of a CRD (the parsed CRD object). */
export function crdVersionSchema(crd: unknown, version: string): JsonSchema {
  const spec = isObj(crd) && isObj(crd.spec) ? crd.spec : {};
  const versions = Array.isArray(spec.versions) ? (spec.versions as unknown[]) : [];
  const v = versions.find((x) => isObj(x) && x.name === version) as Obj | undefined;
  const schema = v && isObj(v.schema) && isObj(v.schema.openAPIV3Schema) ? v.schema.openAPIV3Schema : undefined;
  if (!schema) throw new Error(`CRD has no schema for version ${version}`);
  return openApiToJsonSchema(schema);
}

/** `group/version` + kind of a CRD, for matching objects to schemas. */
export function crdKey(crd: unknown, version: string): string {
  const spec = isObj(crd) && isObj(crd.spec) ? crd.spec : {};
  const names = isObj(spec.names) ? spec.names : {};
  return `${String(spec.group)}/${version}/${String(names.kind)}`;
}

/* eslint-disable @typescript-eslint/no-dynamic-delete -- stripping keys is the point of this helper */
import { parseAllDocuments } from 'yaml';
import { injectIntoValue } from '../../post-renderer/src/model.js';
import type { InjectionMetadata } from '../../post-renderer/src/targets.js';

/** Every document of a stream as plain data (YAML 1.1, as Kubernetes reads it); empty documents dropped. */
export function parseStream(text: string): unknown[] {
  return parseAllDocuments(text, { version: '1.1', uniqueKeys: false })
    .map((d) => {
      if (d.errors.length > 0) throw new Error(d.errors[0]?.message);
      return d.toJS({ maxAliasCount: 10_000 }) as unknown;
    })
    .filter((v) => v !== null && v !== undefined);
}

/** What the post-renderer must produce, by definition: the document model applied to the parsed input. */
export function expectedStream(input: string, meta: InjectionMetadata): unknown[] {
  return parseStream(input).map((value) => injectIntoValue(value, meta).value);
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Removes our keys from every place the post-renderer writes, and maps it emptied (deep copy). */
export function stripKeys(value: unknown, labelKeys: readonly string[], annotationKeys: readonly string[]): unknown {
  const copy = structuredClone(value);
  const strip = (map: unknown, keys: readonly string[], parent: Obj, field: string) => {
    if (map === null) delete parent[field];
    if (!isObj(map)) return;
    for (const k of keys) delete map[k];
    if (Object.keys(map).length === 0) delete parent[field];
  };
  const visitObject = (o: unknown) => {
    if (!isObj(o)) return;
    if (Array.isArray(o.items) && String(o.kind).endsWith('List')) o.items.forEach(visitObject);
    const md = o.metadata;
    if (isObj(md)) {
      strip(md.labels, labelKeys, md, 'labels');
      strip(md.annotations, annotationKeys, md, 'annotations');
      if (Object.keys(md).length === 0) delete o.metadata;
    }
    const spec = o.spec as Obj | undefined;
    const templates = [spec?.template, ((spec?.jobTemplate as Obj | undefined)?.spec as Obj | undefined)?.template];
    for (const t of templates) {
      if (!isObj(t) || !isObj(t.metadata)) continue;
      strip(t.metadata.labels, labelKeys, t.metadata, 'labels');
      if (Object.keys(t.metadata).length === 0) delete t.metadata;
    }
  };
  visitObject(copy);
  return copy;
}

/** Small questions about nodes of the `yaml` library's parse tree, asked by the full path's stages. */
import { isMap, isScalar, type YAMLMap } from 'yaml';

/** An absent value, an empty one (`key:`) or `null`/`~`. */
export function isNullNode(node: unknown): boolean {
  return node === undefined || node === null || (isScalar(node) && node.value === null);
}

/** A key's value when it is a non-empty string scalar. */
export function stringField(map: YAMLMap, key: string): string | undefined {
  const node = map.get(key, true);
  return isScalar(node) && typeof node.value === 'string' && node.value !== '' ? node.value : undefined;
}

/** A Kubernetes object: a mapping with a non-empty string apiVersion and kind (an item of a List). */
export function isObjectNode(node: unknown): node is YAMLMap {
  return isMap(node) && stringField(node, 'kind') !== undefined && stringField(node, 'apiVersion') !== undefined;
}

/**
 * The nesting bound. go-yaml (what Helm and Kubernetes read YAML with) refuses more than 10,000 nested block
 * indentation levels or flow levels ("exceeded max depth of 10000"). The `yaml` library composes documents
 * recursively and overflows the JavaScript stack at about 900 nested flow collections, so helm-tiers refuses
 * documents nested deeper than MAX_NESTING_DEPTH collections with a located error, on every path: the scanner
 * falls back past it, and the full path measures the depth on the parser's concrete syntax tree (built without
 * recursion) before composing it. Real manifests stay far below it (the deepest document of the real-chart
 * corpus, a Kyverno CRD schema, nests 40 collections).
 */
import type { CST } from 'yaml';

export const MAX_NESTING_DEPTH = 500;

const COLLECTIONS = new Set(['block-map', 'block-seq', 'flow-collection']);

/**
 * The offset of the first collection nested deeper than MAX_NESTING_DEPTH in a parsed document, or -1. Walks the
 * tree with an explicit stack: no depth of input can overflow it.
 */
export function tooDeepAt(doc: CST.Token): number {
  const stack: [CST.Token, number][] = [[doc, 0]];
  for (let top = stack.pop(); top; top = stack.pop()) {
    const [token, outer] = top;
    const depth = COLLECTIONS.has(token.type) ? outer + 1 : outer;
    if (depth > MAX_NESTING_DEPTH) return token.offset;
    const push = (child: CST.Token | undefined) => {
      if (child) stack.push([child, depth]);
    };
    switch (token.type) {
      case 'document':
        push(token.value);
        break;
      case 'block-map':
      case 'block-seq':
        for (const item of token.items) {
          if ('key' in item) push(item.key ?? undefined);
          push(item.value);
        }
        break;
      case 'flow-collection':
        for (const item of token.items) {
          if ('key' in item) push(item.key ?? undefined);
          push(item.value);
        }
        break;
      default:
        break;
    }
  }
  return -1;
}

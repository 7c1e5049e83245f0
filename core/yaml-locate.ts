// Finding where a field of a YAML document is written, for file:line:col in the
// loaders' messages (recipes, inventories).
import { isAlias, isMap, isPair, isScalar, isSeq, type Document, type Node } from 'yaml';

export type Segment = string | number;

/**
 * Walks the YAML tree along a field path. `node` is the value reached (or the
 * deepest one found), `key` the key node of the last map step taken, and
 * `complete` whether the whole path exists in the document.
 */
export function locateInYaml(doc: Document, segs: Segment[]): { node?: Node; key?: Node; complete: boolean } {
  let node = doc.contents as Node | null | undefined;
  let key: Node | undefined;
  for (const [i, seg] of segs.entries()) {
    while (node && isAlias(node)) node = node.resolve(doc) as Node | undefined;
    if (node && isMap(node)) {
      const pair = node.items.find((p) => isPair(p) && (isScalar(p.key) ? String(p.key.value) : String(p.key)) === String(seg));
      if (!pair) return { node, key, complete: false };
      key = pair.key as Node;
      node = (pair.value as Node | null) ?? undefined;
      if (!node) return { node: undefined, key, complete: i === segs.length - 1 };
    } else if (node && isSeq(node) && typeof seg === 'number' && seg < node.items.length) {
      node = node.items[seg] as Node;
      key = undefined;
    } else {
      return { node: node ?? undefined, key, complete: false };
    }
  }
  return { node: node ?? undefined, key, complete: true };
}

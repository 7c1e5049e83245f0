// Field paths in parsed YAML, shared by the loaders (recipes, inventories): from
// ajv's JSON pointers to path segments, values at a path, and where a field is
// written in the document (for file:line:col in messages).
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

/** ajv's instancePath (`/a/0/b`) as segments; numbers where the data has an array. */
export function pointerSegments(pointer: string, data: unknown): Segment[] {
  if (!pointer) return [];
  const out: Segment[] = [];
  let cur = data;
  for (const raw of pointer.slice(1).split('/')) {
    const s = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    const seg: Segment = Array.isArray(cur) && /^\d+$/.test(s) ? Number(s) : s;
    out.push(seg);
    cur = getAt(cur, [seg]);
  }
  return out;
}

export function getAt(data: unknown, segs: Segment[]): unknown {
  let cur = data;
  for (const s of segs) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[s as string];
  }
  return cur;
}

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

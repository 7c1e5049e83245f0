// Says which inputs of a stage changed since the last build, as readable lines
// ("options.boot.xen.dom0_mem: "1024M" -> "2048M"").
import type { Json } from './hash.ts';

export function diffInputs(before: Json | undefined, after: Json): string[] {
  if (before === undefined) return ['no earlier build of this stage recorded'];
  const changes: string[] = [];
  walk(before, after, '', changes);
  return changes.length ? changes : ['nothing changed in the key inputs (entry was missing or evicted from the cache)'];
}

function show(v: Json | undefined): string {
  if (v === undefined) return '(absent)';
  const s = JSON.stringify(v);
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}

function label(path: string): string {
  // Make the common cases read well.
  return path
    .replace(/^files\./, 'input file ')
    .replace(/^deps\.([^.]+)$/, 'upstream stage $1')
    .replace(/^tools\./, 'tool ');
}

function walk(a: Json | undefined, b: Json | undefined, path: string, out: string[]): void {
  if (JSON.stringify(a) === JSON.stringify(b)) return;
  const isObj = (v: unknown): v is Record<string, Json> => !!v && typeof v === 'object' && !Array.isArray(v);
  if (isObj(a) && isObj(b)) {
    const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
    for (const k of keys) walk(a[k], b[k], path ? `${path}.${k}` : k, out);
    return;
  }
  if (path.startsWith('deps.') || path.startsWith('files.')) out.push(`${label(path)} changed`);
  else out.push(`${label(path)}: ${show(a)} -> ${show(b)}`);
}

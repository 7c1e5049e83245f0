// The local source files a TypeScript entry point pulls in (static and dynamic
// relative imports, followed transitively). Stages that bundle code into their
// output (the installer runtime) list these as inputs, so any change to what
// ends up in the bundle changes the stage key. A regex scan, not a parser:
// the project writes imports one way (`from './x.ts'`), and a miss would only
// add a file, never drop one that matters, as long as imports use that form.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

const IMPORT_RE = /(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)['"](\.{1,2}\/[^'"]+)['"]/g;

/** Relative import specifiers in a source text, in order of appearance. */
export function relativeImports(text: string): string[] {
  return [...text.matchAll(IMPORT_RE)].map((m) => m[1]!);
}

/** Every local file reachable from `entry` (absolute paths, sorted, entry included). */
export function localImportClosure(entry: string): string[] {
  const seen = new Set<string>();
  const stack = [resolve(entry)];
  while (stack.length) {
    const file = stack.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    if (!/\.[cm]?[jt]s$/.test(file)) continue; // data files are inputs, not parsed
    for (const spec of relativeImports(readFileSync(file, 'utf8'))) {
      const target = resolve(dirname(file), spec);
      if (existsSync(target)) stack.push(target);
    }
  }
  return [...seen].sort();
}

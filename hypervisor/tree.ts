// The digest of a Xen source tree given as a directory (a git checkout): the
// same entries as core/hash.ts walkTree (paths, types, modes, file sha256s,
// symlink targets; no mtimes) but never entering `.git`, whose objects are
// large and whose state (index, refs) changes without the sources changing.
import { cp, lstat, readdir, readlink } from 'node:fs/promises';
import { basename, join, posix } from 'node:path';
import { XsforgeError } from '../core/errors.ts';
import { hashJson, sha256File, type TreeEntry } from '../core/hash.ts';

/** Names skipped at any depth (a submodule's .git is a file). */
const SKIPPED = new Set(['.git']);

/** walkTree's entries for root, without .git. */
export async function sourceTreeEntries(root: string): Promise<TreeEntry[]> {
  const out: TreeEntry[] = [];
  async function visit(rel: string): Promise<void> {
    const names = (await readdir(rel ? join(root, rel) : root)).filter((n) => !SKIPPED.has(n)).sort();
    for (const name of names) {
      const r = rel ? `${rel}/${name}` : name;
      const abs = join(root, r);
      const st = await lstat(abs);
      if (st.isSymbolicLink()) {
        const target = await readlink(abs);
        // the build follows links: one leaving the tree would compile (or copy) host files
        if (escapesTree(r, target)) {
          throw new XsforgeError(`Xen source tree ${root}: symlink ${r} -> ${target} points outside the tree`,
            'a source tree may hold relative symlinks that stay inside it; replace this one with the file');
        }
        out.push({ path: r, type: 'symlink', mode: st.mode & 0o7777, size: 0, target });
      }
      else if (st.isDirectory()) {
        out.push({ path: r, type: 'dir', mode: st.mode & 0o7777, size: 0 });
        await visit(r);
      } else out.push({ path: r, type: 'file', mode: st.mode & 0o7777, size: st.size, sha256: await sha256File(abs) });
    }
  }
  await visit('');
  return out;
}

/** A link at `rel` (relative to the tree root) whose target is absolute or climbs above the root. */
export function escapesTree(rel: string, target: string): boolean {
  if (posix.isAbsolute(target)) return true;
  const resolved = posix.normalize(posix.join(posix.dirname(rel), target));
  return resolved === '..' || resolved.startsWith('../');
}

/** sha256 of the tree's entries (canonical JSON), .git excluded: names the sources of a `directory` hypervisor. */
export async function sourceTreeDigest(root: string): Promise<string> {
  return hashJson(await sourceTreeEntries(root));
}

/** Copy root to dest without .git, symlinks as they are (relative targets stay relative), modes kept. */
export async function copySourceTree(root: string, dest: string): Promise<void> {
  await cp(root, dest, { recursive: true, verbatimSymlinks: true, filter: (src) => src === root || !SKIPPED.has(basename(src)) });
}

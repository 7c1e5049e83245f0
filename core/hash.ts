// Hashing: sha256 of bytes, files, directory trees and canonical JSON.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { lstat, readdir, readlink } from 'node:fs/promises';
import { join } from 'node:path';

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

export function sha256(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/** JSON with sorted keys and no whitespace: equal values give equal text. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(v).sort()) {
      const x = (v as Record<string, unknown>)[k];
      if (x !== undefined) out[k] = sortKeys(x);
    }
    return out;
  }
  return v;
}

export function hashJson(value: unknown): string {
  return sha256(canonicalJson(value));
}

export function sha256File(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const h = createHash('sha256');
    createReadStream(path, { highWaterMark: 1 << 20 })
      .on('data', (c) => h.update(c))
      .on('error', reject)
      .on('end', () => resolve(h.digest('hex')));
  });
}

export interface TreeEntry {
  path: string; // relative, '/'-separated
  type: 'file' | 'dir' | 'symlink';
  mode: number;
  size: number;
  sha256?: string;
  target?: string;
}

/** Walk a tree in sorted order; files hashed. Mode bits count, mtimes do not. */
export async function walkTree(root: string, hashFiles = true): Promise<TreeEntry[]> {
  const out: TreeEntry[] = [];
  async function visit(rel: string): Promise<void> {
    const abs = rel ? join(root, rel) : root;
    const names = (await readdir(abs)).sort();
    for (const name of names) {
      const r = rel ? `${rel}/${name}` : name;
      const st = await lstat(join(root, r));
      if (st.isSymbolicLink()) out.push({ path: r, type: 'symlink', mode: st.mode & 0o7777, size: 0, target: await readlink(join(root, r)) });
      else if (st.isDirectory()) {
        out.push({ path: r, type: 'dir', mode: st.mode & 0o7777, size: 0 });
        await visit(r);
      } else out.push({ path: r, type: 'file', mode: st.mode & 0o7777, size: st.size, sha256: hashFiles ? await sha256File(join(root, r)) : undefined });
    }
  }
  await visit('');
  return out;
}

export async function hashTree(root: string): Promise<string> {
  return hashJson(await walkTree(root));
}

// What `xsforge cache ls|verify|gc` do to a stage cache (core/cache.ts):
// list entries with size and last use, re-hash every file against the manifest,
// and evict least-recently-used entries down to a size, never one a running
// build holds. The choice of what to evict is pure (selectEvictions).
import { readdirSync, readFileSync } from 'node:fs';
import { lstat, readdir, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { removeTree, type CacheManifest, type StageCache } from './cache.ts';
import { walkTree, type TreeEntry } from './hash.ts';

export interface CacheEntryInfo {
  key: string;
  /** stage name from the manifest; undefined when the manifest is missing or unreadable */
  stage?: string;
  /** bytes of the entry's files (outputs, manifest, log) */
  sizeBytes: number;
  /** ms since the epoch: the `used` stamp (else manifest, else directory mtime) */
  lastUsedMs: number;
  /** ms since the epoch the entry was committed, when known */
  committedMs?: number;
  fileCount: number;
}

function readManifest(dir: string): CacheManifest | undefined {
  try {
    return JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
  } catch {
    return undefined;
  }
}

/** Apparent size of every file under `dir` (lstat, no hashing). */
async function treeBytes(dir: string): Promise<{ bytes: number; files: number }> {
  let bytes = 0;
  let files = 0;
  const visit = async (d: string) => {
    let names: string[];
    try { names = await readdir(d); } catch { return; }
    for (const n of names) {
      const st = await lstat(join(d, n)).catch(() => undefined);
      if (!st) continue;
      if (st.isDirectory()) await visit(join(d, n));
      else { bytes += st.size; files++; }
    }
  };
  await visit(dir);
  return { bytes, files };
}

export function entryKeys(cache: StageCache): string[] {
  try {
    return readdirSync(join(cache.root, 'stages')).sort();
  } catch {
    return [];
  }
}

/** Every entry, least recently used first. Sizes come from the manifest when it is readable. */
export async function listEntries(cache: StageCache): Promise<CacheEntryInfo[]> {
  const out: CacheEntryInfo[] = [];
  for (const key of entryKeys(cache)) {
    const dir = cache.entryDir(key);
    const m = readManifest(dir);
    let sizeBytes: number;
    let fileCount: number;
    if (m && Array.isArray(m.files)) {
      const own = m.files.filter((f) => f.type === 'file');
      sizeBytes = own.reduce((a, f) => a + f.size, 0);
      fileCount = own.length;
      for (const f of ['manifest.json', 'build.log']) sizeBytes += (await lstat(join(dir, f)).catch(() => undefined))?.size ?? 0;
    } else {
      ({ bytes: sizeBytes, files: fileCount } = await treeBytes(dir));
    }
    const committedMs = m?.committedAt ?? (await lstat(join(dir, 'manifest.json')).catch(() => undefined))?.mtimeMs;
    out.push({ key, stage: m?.stage, sizeBytes, lastUsedMs: cache.lastUsedMs(key), committedMs, fileCount });
  }
  return out.sort((a, b) => a.lastUsedMs - b.lastUsedMs || (a.key < b.key ? -1 : 1));
}

export interface VerifyResult {
  key: string;
  stage?: string;
  ok: boolean;
  /** what differs from the manifest, one line each */
  problems: string[];
}

/** Differences between a manifest's file list and a fresh walk of the output tree. */
export function compareTrees(expected: TreeEntry[], actual: TreeEntry[]): string[] {
  const problems: string[] = [];
  const have = new Map(actual.map((e) => [e.path, e]));
  for (const e of expected) {
    const a = have.get(e.path);
    have.delete(e.path);
    if (!a) problems.push(`out/${e.path}: missing`);
    else if (a.type !== e.type) problems.push(`out/${e.path}: is a ${a.type}, was a ${e.type}`);
    else if (a.mode !== e.mode) problems.push(`out/${e.path}: mode ${a.mode.toString(8)}, was ${e.mode.toString(8)}`);
    else if (a.size !== e.size) problems.push(`out/${e.path}: ${a.size} bytes, was ${e.size}`);
    else if (a.sha256 !== e.sha256) problems.push(`out/${e.path}: content differs (sha256 ${a.sha256?.slice(0, 16)}, was ${e.sha256?.slice(0, 16)})`);
    else if (a.target !== e.target) problems.push(`out/${e.path}: points to ${a.target}, was ${e.target}`);
  }
  for (const p of have.keys()) problems.push(`out/${p}: not in the manifest`);
  return problems;
}

/** Full check of one entry: every file re-hashed and compared with the manifest. */
export async function verifyEntry(cache: StageCache, key: string): Promise<VerifyResult> {
  const dir = cache.entryDir(key);
  const m = readManifest(dir);
  if (!m || !Array.isArray(m.files)) return { key, ok: false, problems: ['manifest.json is missing or unreadable'] };
  let actual: TreeEntry[];
  try {
    actual = await walkTree(join(dir, 'out'));
  } catch (e) {
    return { key, stage: m.stage, ok: false, problems: [`out/ cannot be read: ${(e as Error).message}`] };
  }
  const problems = compareTrees(m.files, actual);
  if (m.key !== key) problems.push(`manifest names key ${m.key}`);
  return { key, stage: m.stage, ok: problems.length === 0, problems };
}

export interface EvictionPlan {
  /** keys to evict, least recently used first */
  evict: string[];
  totalBytes: number;
  /** total once the evictions are done */
  afterBytes: number;
  /** entries that would have gone but a running build holds them */
  skippedHeld: string[];
}

/**
 * Least-recently-used entries go first until the total is at most maxBytes;
 * held entries are never chosen (afterBytes may then stay above maxBytes).
 */
export function selectEvictions(entries: Pick<CacheEntryInfo, 'key' | 'sizeBytes' | 'lastUsedMs'>[], maxBytes: number, held: ReadonlySet<string> = new Set()): EvictionPlan {
  const totalBytes = entries.reduce((a, e) => a + e.sizeBytes, 0);
  const order = [...entries].sort((a, b) => a.lastUsedMs - b.lastUsedMs || (a.key < b.key ? -1 : 1));
  let after = totalBytes;
  const evict: string[] = [];
  const skippedHeld: string[] = [];
  for (const e of order) {
    if (after <= maxBytes) break;
    if (held.has(e.key)) {
      skippedHeld.push(e.key);
      continue;
    }
    evict.push(e.key);
    after -= e.sizeBytes;
  }
  return { evict, totalBytes, afterBytes: after, skippedHeld };
}

/**
 * Moves entries out of stages/ (one rename each) under the maintenance lock,
 * skipping any a build holds, then deletes them after releasing the lock.
 * Returns the keys actually removed.
 */
export async function removeEntries(cache: StageCache, keys: string[]): Promise<{ removed: string[]; held: string[] }> {
  const removed: string[] = [];
  const heldNow: string[] = [];
  const asides: string[] = [];
  await cache.withMaintenanceLock(async () => {
    // read under the lock: a build that holds a key after this waits for the lock before using it
    const held = cache.heldKeys();
    for (const [i, key] of keys.entries()) {
      if (held.has(key)) { heldNow.push(key); continue; }
      const aside = join(cache.root, 'tmp', `${key.slice(0, 16)}.${process.pid}.gc${i}.evicted`);
      try {
        await rename(cache.entryDir(key), aside);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') continue;
        throw e;
      }
      asides.push(aside);
      removed.push(key);
    }
  });
  for (const a of asides) await removeTree(a);
  return { removed, held: heldNow };
}

export interface GcResult extends EvictionPlan {
  maxBytes: number;
  dryRun: boolean;
  /** entries actually removed (the plan's, less any a build took meanwhile) */
  removed: string[];
}

export async function gcCache(cache: StageCache, maxBytes: number, dryRun = false): Promise<GcResult> {
  const entries = await listEntries(cache);
  const plan = selectEvictions(entries, maxBytes, cache.heldKeys());
  if (dryRun) return { ...plan, maxBytes, dryRun, removed: [] };
  // scratch of killed builds takes space too, and nothing can use it
  await cache.sweepScratch();
  const { removed, held } = await removeEntries(cache, plan.evict);
  const sizes = new Map(entries.map((e) => [e.key, e.sizeBytes]));
  const afterBytes = plan.totalBytes - removed.reduce((a, k) => a + (sizes.get(k) ?? 0), 0);
  return { ...plan, afterBytes, skippedHeld: [...plan.skippedHeld, ...held], maxBytes, dryRun, removed };
}

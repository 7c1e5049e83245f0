// Content-addressed stage cache, outside the work tree.
//   <root>/stages/<key>/out/...        the stage's output files
//   <root>/stages/<key>/manifest.json  digests, sizes and mtimes of those files (written before the rename)
//   <root>/stages/<key>/build.log      what the stage's tools printed
//   <root>/stages/<key>/used           empty stamp; its mtime is the entry's last use (for `cache gc`)
//   <root>/tmp/<key>.<pid>.<n>[.why]/  scratch, and entries being removed; renamed into stages/ on success
//   <root>/locks/<pid>.<n>             keys a running build uses (one a line): `cache gc` leaves them alone
//   <root>/locks/maintenance           held by `cache gc` / `cache verify --fix` while they pick and move entries
//   <root>/explain/<scope>/<stage>.json  key inputs of the last build (for --explain)
// An entry appears by one rename(2), so it is complete or absent. A killed build
// leaves only scratch directories, which nothing trusts and the next build
// sweeps away. An entry damaged afterwards (a file edited, truncated or
// deleted) is caught by lookup's size/mtime check, moved aside and rebuilt.
import { appendFileSync, lstatSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { lstat, mkdir, readFile, rename, rm, utimes, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { run } from './exec.ts';
import { hashJson, sha256File, walkTree, type Json, type TreeEntry } from './hash.ts';

export interface CacheManifest {
  stage: string;
  key: string;
  /** digest of the output tree: what downstream keys use */
  digest: string;
  files: TreeEntry[];
  keyInputs: Json;
  durationMs: number;
  /** mtimeMs of each regular file under out/, by path (absent in entries written before mtimes were kept) */
  mtimes?: Record<string, number>;
  /** when the entry was committed, ms since the epoch (absent in older entries) */
  committedAt?: number;
}

/** What lookup's cheap check found; `ino` identifies the damaged entry directory. */
export type EntryCheck =
  | { status: 'absent' }
  | { status: 'ok'; manifest: CacheManifest }
  | { status: 'corrupt'; problem: string; ino: number };

/** Mount points at or below `dir`, deepest first (from /proc/self/mounts; octal escapes decoded). */
export function mountsUnder(dir: string, mountsText?: string): string[] {
  let text = mountsText;
  if (text === undefined) {
    try {
      text = readFileSync('/proc/self/mounts', 'utf8');
    } catch {
      return [];
    }
  }
  const prefix = dir.endsWith('/') ? dir : `${dir}/`;
  return text.split('\n').map((l) => l.split(' ')[1]).filter((m): m is string => !!m)
    .map((m) => m.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8))))
    .filter((m) => m === dir || m.startsWith(prefix))
    .sort((a, b) => b.length - a.length);
}

/**
 * rm -r that first unmounts whatever is mounted below `dir` (a killed chroot
 * build can leave /proc, /sys, /dev mounted in its tree: rm would walk into the host's).
 */
export async function removeTree(dir: string): Promise<void> {
  for (const mnt of mountsUnder(dir)) await run(['umount', '--lazy', mnt]);
  await rm(dir, { recursive: true, force: true });
}

export function downloadsRootFor(cacheRoot: string): string {
  return process.env.XSFORGE_DOWNLOADS || join(cacheRoot, 'downloads');
}

export function defaultCacheRoot(): string {
  if (process.env.XSFORGE_CACHE) return process.env.XSFORGE_CACHE;
  const xdg = process.env.XDG_CACHE_HOME || join(homedir(), '.cache');
  return join(xdg, 'xsforge');
}

export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: it exists but belongs to someone else
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

let scratchCounter = 0;
let holdCounter = 0;

/** Regular files' mtimes under `out`, by manifest path. */
async function fileMtimes(out: string, files: TreeEntry[]): Promise<Record<string, number>> {
  const mtimes: Record<string, number> = {};
  for (const f of files) if (f.type === 'file') mtimes[f.path] = (await lstat(join(out, f.path))).mtimeMs;
  return mtimes;
}

export class StageCache {
  constructor(readonly root: string = defaultCacheRoot()) {
    mkdirSync(join(root, 'stages'), { recursive: true });
    mkdirSync(join(root, 'tmp'), { recursive: true });
  }

  entryDir(key: string): string {
    return join(this.root, 'stages', key);
  }

  get locksDir(): string {
    return join(this.root, 'locks');
  }

  /** A directory name under tmp/ that sweepScratch removes once this process is gone. */
  private tmpName(key: string, why?: string): string {
    return join(this.root, 'tmp', `${key.slice(0, 16)}.${process.pid}.${scratchCounter++}${why ? `.${why}` : ''}`);
  }

  /**
   * Cheap check of an entry: the manifest parses and every file has its recorded
   * size and mtime, every symlink exists. A file whose mtime alone changed is
   * re-hashed: a stage that hard-links an upstream file and sets its time
   * (repo/stage.ts does, for primary.xml) changes the upstream entry's mtime
   * without changing its bytes; then the new mtime is recorded, so the next
   * check is cheap again. Entries without mtimes (older manifests) check sizes only.
   */
  async check(key: string): Promise<EntryCheck> {
    const dir = this.entryDir(key);
    let ino: number;
    try {
      ino = statSync(dir).ino;
    } catch {
      return { status: 'absent' };
    }
    let manifest: CacheManifest;
    try {
      manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
      if (!Array.isArray(manifest.files) || typeof manifest.digest !== 'string') throw new Error('not a cache manifest');
    } catch (e) {
      const why = (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'manifest.json is missing' : `manifest.json is unreadable (${(e as Error).message})`;
      return { status: 'corrupt', problem: why, ino };
    }
    const refreshed: Record<string, number> = {};
    for (const f of manifest.files) {
      if (f.type === 'dir') continue;
      const p = join(dir, 'out', f.path);
      let st;
      try {
        st = lstatSync(p); // sync: thousands of stats, each far cheaper than a thread-pool round trip
      } catch {
        return { status: 'corrupt', problem: `out/${f.path} is missing`, ino };
      }
      if (f.type === 'symlink') {
        if (!st.isSymbolicLink()) return { status: 'corrupt', problem: `out/${f.path} is no longer a symlink`, ino };
        continue;
      }
      if (!st.isFile()) return { status: 'corrupt', problem: `out/${f.path} is no longer a regular file`, ino };
      if (st.size !== f.size) return { status: 'corrupt', problem: `out/${f.path} has ${st.size} bytes, the manifest says ${f.size}`, ino };
      const recorded = manifest.mtimes?.[f.path];
      if (recorded !== undefined && recorded !== st.mtimeMs) {
        if ((await sha256File(p)) !== f.sha256) {
          return { status: 'corrupt', problem: `out/${f.path} was modified (mtime ${new Date(st.mtimeMs).toISOString()}, committed with ${new Date(recorded).toISOString()}; content differs)`, ino };
        }
        refreshed[f.path] = st.mtimeMs;
      }
    }
    if (Object.keys(refreshed).length) {
      manifest = { ...manifest, mtimes: { ...manifest.mtimes, ...refreshed } };
      await this.writeManifest(dir, manifest).catch(() => { /* read-only cache: re-hash next time */ });
    }
    return { status: 'ok', manifest };
  }

  /**
   * The manifest of a complete, undamaged entry, or undefined. A damaged entry
   * is reported through `warn` (what is wrong) and removed, so the caller rebuilds it.
   * A hit refreshes the entry's `used` stamp.
   */
  async lookup(key: string, warn?: (problem: string) => void): Promise<CacheManifest | undefined> {
    const c = await this.check(key);
    if (c.status === 'ok') {
      await this.touchUsed(key);
      return c.manifest;
    }
    if (c.status === 'corrupt') {
      warn?.(c.problem);
      await this.discard(key, c.ino);
    }
    return undefined;
  }

  /**
   * Move an entry aside into tmp/ (one rename: builds never see half of it) and
   * remove it. With `ino`, only that directory: when another build has meanwhile
   * committed a fresh entry under the key, that one is put back.
   */
  async discard(key: string, ino?: number): Promise<boolean> {
    const aside = this.tmpName(key, 'discarded');
    try {
      await rename(this.entryDir(key), aside);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw e;
    }
    if (ino !== undefined && statSync(aside).ino !== ino) {
      // not the one we judged: put it back (unless yet another is already in place)
      const restored = await rename(aside, this.entryDir(key)).then(() => true, () => false);
      if (restored) return false;
    }
    await removeTree(aside).catch((e) => {
      process.stderr.write(`warning: could not remove ${aside}: ${(e as Error).message.split('\n')[0]} (the next build retries)\n`);
    });
    return true;
  }

  /** Mark an entry as just used (the `used` stamp's mtime), for least-recently-used eviction. */
  async touchUsed(key: string): Promise<void> {
    const p = join(this.entryDir(key), 'used');
    const now = new Date();
    try {
      await utimes(p, now, now);
    } catch {
      await writeFile(p, '').catch(() => { /* read-only cache: no LRU record */ });
    }
  }

  /** When an entry was last used: its `used` stamp, else its manifest, else its directory. */
  lastUsedMs(key: string): number {
    for (const f of ['used', 'manifest.json', '']) {
      try {
        return statSync(join(this.entryDir(key), f)).mtimeMs;
      } catch { /* next */ }
    }
    return 0;
  }

  /** A fresh scratch directory with out/ and work/ inside. */
  async scratch(key: string): Promise<string> {
    const dir = this.tmpName(key);
    await rm(dir, { recursive: true, force: true });
    await mkdir(join(dir, 'out'), { recursive: true });
    await mkdir(join(dir, 'work'), { recursive: true });
    return dir;
  }

  private async writeManifest(dir: string, manifest: CacheManifest): Promise<void> {
    const tmp = join(dir, `manifest.json.${process.pid}.tmp`);
    await writeFile(tmp, JSON.stringify(manifest, null, 1));
    await rename(tmp, join(dir, 'manifest.json'));
  }

  /**
   * Hash the scratch output, write its manifest, and rename it into place.
   * When another build committed the same key first, theirs is kept (same
   * inputs); when what is there is damaged, it is discarded (`warn` says why) and ours goes in.
   */
  async commit(key: string, stage: string, scratchDir: string, keyInputs: Json, durationMs: number, warn?: (problem: string) => void): Promise<CacheManifest> {
    await removeTree(join(scratchDir, 'work'));
    const out = join(scratchDir, 'out');
    const files = await walkTree(out);
    // rename(2) of the scratch directory moves it without touching the files
    // inside, so the mtimes taken here are the ones the entry has once in place
    const mtimes = await fileMtimes(out, files);
    const manifest: CacheManifest = { stage, key, digest: hashJson(files), files, keyInputs, durationMs, mtimes, committedAt: Date.now() };
    await writeFile(join(scratchDir, 'manifest.json'), JSON.stringify(manifest, null, 1));
    await writeFile(join(scratchDir, 'used'), '');
    const dest = this.entryDir(key);
    for (let attempt = 0; ; attempt++) {
      try {
        await rename(scratchDir, dest);
        return manifest;
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if ((code !== 'ENOTEMPTY' && code !== 'EEXIST') || attempt >= 3) throw err;
      }
      const there = await this.check(key);
      if (there.status === 'ok') {
        // another build committed the same key first: same inputs, so keep theirs
        await removeTree(scratchDir);
        await this.touchUsed(key);
        return there.manifest;
      }
      if (there.status === 'corrupt') {
        warn?.(there.problem);
        await this.discard(key, there.ino);
      }
    }
  }

  /** Remove scratch directories left by builds whose process is gone. */
  async sweepScratch(): Promise<void> {
    const tmp = join(this.root, 'tmp');
    for (const name of readdirSync(tmp)) {
      const pid = Number(name.split('.')[1]);
      if (pid === process.pid || (pid && processAlive(pid))) continue;
      const dir = join(tmp, name);
      try {
        await removeTree(dir);
      } catch (e) {
        process.stderr.write(`warning: could not remove stale scratch ${dir}: ${(e as Error).message.split('\n')[0]}\n`);
      }
    }
  }

  /**
   * Declares the keys this build uses, so `cache gc` leaves their entries alone
   * while this process lives. Call hold(key) before looking a key up: it also
   * waits while gc is moving entries out (gc read the holds before ours).
   */
  holdKeys(): KeyHold {
    mkdirSync(this.locksDir, { recursive: true });
    return new KeyHold(join(this.locksDir, `${process.pid}.${holdCounter++}`), this.maintenanceLockPath);
  }

  get maintenanceLockPath(): string {
    return join(this.locksDir, 'maintenance');
  }

  /**
   * Keys held by running builds (lock files of live processes). Lock files of
   * processes that are gone are removed.
   */
  heldKeys(): Set<string> {
    const held = new Set<string>();
    let names: string[] = [];
    try {
      names = readdirSync(this.locksDir);
    } catch { /* no builds yet */ }
    for (const name of names) {
      const m = /^(\d+)\.\d+$/.exec(name);
      if (!m) continue;
      const p = join(this.locksDir, name);
      if (!processAlive(Number(m[1]))) {
        rmSync(p, { force: true });
        continue;
      }
      let text = '';
      try { text = readFileSync(p, 'utf8'); } catch { continue; }
      for (const k of text.split('\n')) if (k) held.add(k);
    }
    return held;
  }

  /**
   * Runs `fn` holding the maintenance lock: builds wait in KeyHold.hold until
   * it is released, so entries `fn` picks cannot be taken by a build meanwhile.
   * Keep `fn` short (renames, not deletes).
   */
  async withMaintenanceLock<T>(fn: () => Promise<T>): Promise<T> {
    mkdirSync(this.locksDir, { recursive: true });
    const p = this.maintenanceLockPath;
    for (let tries = 0; ; tries++) {
      try {
        writeFileSync(p, String(process.pid), { flag: 'wx' });
        break;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
        let owner: number;
        try {
          owner = Number(readFileSync(p, 'utf8').trim() || 0);
        } catch {
          continue; // released meanwhile: try again
        }
        // an empty file: its owner is between create and write; a dead owner: stale
        if (owner && !processAlive(owner)) rmSync(p, { force: true });
        else if (tries > 600) throw new Error(`${p} is held by process ${owner}; another cache gc or verify --fix is running`);
        else await new Promise((r) => setTimeout(r, 100));
      }
    }
    try {
      return await fn();
    } finally {
      rmSync(p, { force: true });
    }
  }

  explainPath(scope: string, stage: string): string {
    return join(this.root, 'explain', scope.replace(/[^\w.-]/g, '_'), `${stage}.json`);
  }

  async readLastInputs(scope: string, stage: string): Promise<Json | undefined> {
    try {
      return JSON.parse(await readFile(this.explainPath(scope, stage), 'utf8'));
    } catch {
      return undefined;
    }
  }

  async writeLastInputs(scope: string, stage: string, inputs: Json): Promise<void> {
    const p = this.explainPath(scope, stage);
    await mkdir(join(p, '..'), { recursive: true });
    // write and rename: two builds of one scope must not interleave the file
    const tmp = `${p}.${process.pid}.tmp`;
    await writeFile(tmp, JSON.stringify(inputs));
    await rename(tmp, p);
  }

  /**
   * Downloads (package index, .debs, apt archives) are content-addressed and
   * verified, so they may live apart from the stage cache ($XSFORGE_DOWNLOADS):
   * a build with an empty stage cache then still skips the network.
   */
  get downloadsRoot(): string {
    return downloadsRootFor(this.root);
  }
}

/** A running build's claim on cache keys (a file under <root>/locks/). */
export class KeyHold {
  private readonly keys = new Set<string>();
  constructor(readonly file: string, private readonly maintenanceLock: string) {}

  async hold(key: string): Promise<void> {
    if (!this.keys.has(key)) {
      this.keys.add(key);
      appendFileSync(this.file, `${key}\n`);
    }
    // gc may have read the holds before ours: wait until it has finished moving entries
    for (;;) {
      let owner: number;
      try {
        owner = Number(readFileSync(this.maintenanceLock, 'utf8').trim() || 0);
      } catch {
        return;
      }
      if (owner && !processAlive(owner)) return;
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  release(): void {
    try { unlinkSync(this.file); } catch { /* never held anything */ }
  }
}


// Content-addressed stage cache, outside the work tree.
//   <root>/stages/<key>/out/...        the stage's output files
//   <root>/stages/<key>/manifest.json  digests of those files (written last)
//   <root>/stages/<key>/build.log      what the stage's tools printed
//   <root>/tmp/<key>.<pid>.<n>/        scratch; renamed into stages/ on success
//   <root>/explain/<scope>/<stage>.json  key inputs of the last build (for --explain)
// A killed build leaves only scratch directories, which nothing trusts and the
// next build sweeps away.
import { mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { run } from './exec.ts';
import { hashJson, walkTree, type Json, type TreeEntry } from './hash.ts';

export interface CacheManifest {
  stage: string;
  key: string;
  /** digest of the output tree: what downstream keys use */
  digest: string;
  files: TreeEntry[];
  keyInputs: Json;
  durationMs: number;
}

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

export function downloadsRootFor(cacheRoot: string): string {
  return process.env.XSFORGE_DOWNLOADS || join(cacheRoot, 'downloads');
}

export function defaultCacheRoot(): string {
  if (process.env.XSFORGE_CACHE) return process.env.XSFORGE_CACHE;
  const xdg = process.env.XDG_CACHE_HOME || join(homedir(), '.cache');
  return join(xdg, 'xsforge');
}

let scratchCounter = 0;

export class StageCache {
  constructor(readonly root: string = defaultCacheRoot()) {
    mkdirSync(join(root, 'stages'), { recursive: true });
    mkdirSync(join(root, 'tmp'), { recursive: true });
  }

  entryDir(key: string): string {
    return join(this.root, 'stages', key);
  }

  /** The manifest of a complete entry, or undefined. Cheap check: every file's size. */
  lookup(key: string): CacheManifest | undefined {
    const dir = this.entryDir(key);
    let manifest: CacheManifest;
    try {
      manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
    } catch {
      return undefined;
    }
    for (const f of manifest.files) {
      if (f.type !== 'file') continue;
      try {
        if (statSync(join(dir, 'out', f.path)).size !== f.size) return undefined;
      } catch {
        return undefined;
      }
    }
    return manifest;
  }

  /** A fresh scratch directory with out/ and work/ inside. */
  async scratch(key: string): Promise<string> {
    const dir = join(this.root, 'tmp', `${key.slice(0, 16)}.${process.pid}.${scratchCounter++}`);
    await rm(dir, { recursive: true, force: true });
    await mkdir(join(dir, 'out'), { recursive: true });
    await mkdir(join(dir, 'work'), { recursive: true });
    return dir;
  }

  /** Hash the scratch output, write its manifest, and rename it into place. */
  async commit(key: string, stage: string, scratchDir: string, keyInputs: Json, durationMs: number): Promise<CacheManifest> {
    await rm(join(scratchDir, 'work'), { recursive: true, force: true });
    const files = await walkTree(join(scratchDir, 'out'));
    const manifest: CacheManifest = { stage, key, digest: hashJson(files), files, keyInputs, durationMs };
    await writeFile(join(scratchDir, 'manifest.json'), JSON.stringify(manifest, null, 1));
    const dest = this.entryDir(key);
    try {
      await rename(scratchDir, dest);
    } catch (err) {
      // Another build committed the same key first: same inputs, so keep theirs.
      const code = (err as NodeJS.ErrnoException).code;
      if ((code === 'ENOTEMPTY' || code === 'EEXIST') && this.lookup(key)) {
        await rm(scratchDir, { recursive: true, force: true });
        return this.lookup(key)!;
      }
      throw err;
    }
    return manifest;
  }

  /** Remove scratch directories left by builds whose process is gone. */
  async sweepScratch(): Promise<void> {
    const tmp = join(this.root, 'tmp');
    for (const name of readdirSync(tmp)) {
      const pid = Number(name.split('.')[1]);
      if (pid === process.pid || (pid && processAlive(pid))) continue;
      const dir = join(tmp, name);
      // a killed chroot build (mmdebstrap) can leave /proc, /sys, /dev mounted in
      // its scratch root: unmount them first, or rm would walk into the host's
      try {
        for (const mnt of mountsUnder(dir)) await run(['umount', '--lazy', mnt]);
        await rm(dir, { recursive: true, force: true });
      } catch (e) {
        process.stderr.write(`warning: could not remove stale scratch ${dir}: ${(e as Error).message.split('\n')[0]}\n`);
      }
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
    await writeFile(p, JSON.stringify(inputs));
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

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

// Publishing: finished artifacts go to output/<name>/ with a manifest.json.
// The new directory is assembled beside the old one and swapped in by rename,
// so a build that fails (or is killed) leaves the previous good output intact.
import { existsSync, readFileSync } from 'node:fs';
import { copyFile, mkdir, rename, rm, writeFile, constants } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { canonicalJson, sha256File } from './hash.ts';

export interface PublishedArtifact {
  /** what it is: install-iso, hypervisor, kernel, installer-initrd, ... */
  kind: string;
  /** path inside output/<name>/ */
  path: string;
  sha256: string;
  size: number;
}

export interface OutputManifest {
  recipe: string;
  product: Record<string, string>;
  sourceDateEpoch: number;
  artifacts: PublishedArtifact[];
  stages: Record<string, string>;
  extra?: Record<string, unknown>;
}

export interface ArtifactSource {
  kind: string;
  path: string; // destination inside the output directory
  from: string; // absolute source path (a cache entry file)
  /** sha256 known from the cache manifest, to skip rehashing */
  sha256?: string;
  size?: number;
}

/** True when output/<name>/manifest.json already lists exactly these artifacts. */
export function outputIsCurrent(dir: string, sources: ArtifactSource[], stages: Record<string, string>): boolean {
  try {
    const m: OutputManifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
    if (canonicalJson(m.stages) !== canonicalJson(stages)) return false;
    return sources.every((s) => m.artifacts.some((a) => a.path === s.path && existsSync(join(dir, a.path))));
  } catch {
    return false;
  }
}

export async function publish(dir: string, sources: ArtifactSource[], manifest: Omit<OutputManifest, 'artifacts'>): Promise<OutputManifest> {
  const staging = `${dir}.new-${process.pid}`;
  await rm(staging, { recursive: true, force: true });
  await mkdir(staging, { recursive: true });
  const artifacts: PublishedArtifact[] = [];
  for (const s of sources) {
    const dest = join(staging, s.path);
    await mkdir(dirname(dest), { recursive: true });
    // a reflink where the file system can, a copy otherwise: output files are
    // the user's to change, never links into the cache
    await copyFile(s.from, dest, constants.COPYFILE_FICLONE);
    const sha = s.sha256 ?? (await sha256File(dest));
    artifacts.push({ kind: s.kind, path: s.path, sha256: sha, size: s.size ?? 0 });
  }
  const full: OutputManifest = { ...manifest, artifacts };
  await writeFile(join(staging, 'manifest.json'), `${JSON.stringify(full, null, 2)}\n`);
  const old = `${dir}.old-${process.pid}`;
  await mkdir(dirname(dir), { recursive: true });
  if (existsSync(dir)) await rename(dir, old);
  await rename(staging, dir);
  await rm(old, { recursive: true, force: true });
  return full;
}

// Stages that take files out of Debian packages. Each stage's options carry the
// resolved package identity (name, version, sha256), so its key changes exactly
// when the archive gives a different package.
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { StageContext } from '../core/stage.ts';
import type { AptRoot, ResolvedPackage } from './apt.ts';

export type PackageRef = Pick<ResolvedPackage, 'name' | 'version' | 'sha256'>;

export function packageRef(p: ResolvedPackage): PackageRef {
  return { name: p.name, version: p.version, sha256: p.sha256 };
}

/** Download (or reuse) each package and unpack them all into one directory. */
export async function unpackPackages(ctx: StageContext<any>, apt: AptRoot, pkgs: ResolvedPackage[], dest: string): Promise<void> {
  await mkdir(dest, { recursive: true });
  for (const [i, p] of pkgs.entries()) {
    ctx.progress(`${p.name} ${p.version} (${i + 1}/${pkgs.length})`);
    const deb = await apt.fetch(p);
    await ctx.run(['dpkg-deb', '-x', deb, dest]);
  }
}

export function scratchRoot(ctx: StageContext<any>, name = 'root'): string {
  return join(ctx.work, name);
}

// The dom0 (and installer) kernel from Debian: vmlinuz plus its module tree,
// taken from the real package a metapackage such as linux-image-amd64 points at.
import { copyFile, mkdir, readdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { XsforgeError } from '../core/errors.ts';
import { defineStage, type Stage } from '../core/stage.ts';
import type { AptRoot, ResolvedPackage } from './apt.ts';
import { packageRef, scratchRoot, unpackPackages } from './stages.ts';

/** out/vmlinuz, out/release (uname -r), out/modules/lib/modules/<release>/... */
export function debianKernelStage(apt: AptRoot, pkg: ResolvedPackage): Stage<any> {
  return defineStage({
    name: 'kernel',
    version: 1,
    options: { from: 'debian-package', package: packageRef(pkg) },
    tools: ['dpkg-deb'],
    artifacts: { vmlinuz: { path: 'vmlinuz', kind: 'kernel' } },
    async run(ctx) {
      const root = scratchRoot(ctx);
      await unpackPackages(ctx, apt, [pkg], root);
      const boot = await readdir(join(root, 'boot')).catch(() => [] as string[]);
      const vmlinuz = boot.find((f) => f.startsWith('vmlinuz-'));
      if (!vmlinuz) throw new XsforgeError(`package ${pkg.name} ${pkg.version} has no /boot/vmlinuz-*`, 'kernel.package must name a Debian linux-image package');
      const release = vmlinuz.slice('vmlinuz-'.length);
      await copyFile(join(root, 'boot', vmlinuz), join(ctx.out, 'vmlinuz'));
      await writeFile(join(ctx.out, 'release'), `${release}\n`);
      await mkdir(join(ctx.out, 'modules', 'lib', 'modules'), { recursive: true });
      await rename(join(root, 'lib', 'modules', release), join(ctx.out, 'modules', 'lib', 'modules', release));
    },
  });
}

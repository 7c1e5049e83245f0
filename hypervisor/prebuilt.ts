// The hypervisor from a prebuilt Debian package (xen-hypervisor-4.17-amd64):
// xen.gz and its build config, as the media boot them.
import { copyFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { XsforgeError } from '../core/errors.ts';
import { defineStage, type Stage } from '../core/stage.ts';
import type { AptRoot, ResolvedPackage } from '../debian/apt.ts';
import { packageRef, scratchRoot, unpackPackages } from '../debian/stages.ts';

export function prebuiltXenStage(apt: AptRoot, pkg: ResolvedPackage): Stage<any> {
  return defineStage({
    name: 'hypervisor',
    version: 1,
    options: { from: 'debian-package', package: packageRef(pkg) },
    tools: ['dpkg-deb'],
    artifacts: { 'xen.gz': { path: 'xen.gz', kind: 'hypervisor' } },
    async run(ctx) {
      const root = scratchRoot(ctx);
      await unpackPackages(ctx, apt, [pkg], root);
      const boot = join(root, 'boot');
      const files = await readdir(boot).catch(() => [] as string[]);
      const gz = files.find((f) => /^xen-.*\.gz$/.test(f));
      if (!gz) throw new XsforgeError(`package ${pkg.name} ${pkg.version} has no /boot/xen-*.gz (found: ${files.join(', ') || 'nothing'})`,
        'hypervisor.package must name a Debian xen-hypervisor-*-amd64 package');
      await copyFile(join(boot, gz), join(ctx.out, 'xen.gz'));
      const config = files.find((f) => /^xen-.*\.config$/.test(f));
      if (config) await copyFile(join(boot, config), join(ctx.out, 'xen.config'));
    },
  });
}

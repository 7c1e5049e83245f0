// Turns a recipe into the build graph for the install ISO, and names what gets
// published to output/<name>/. The one place that wires stage families together.
import { join } from 'node:path';
import { downloadsRootFor } from '../core/cache.ts';
import type { ArtifactSource } from '../core/output.ts';
import type { StageResult } from '../core/engine.ts';
import type { Stage } from '../core/stage.ts';
import { AptRoot } from '../debian/apt.ts';
import { debianKernelStage } from '../debian/kernel.ts';
import { dom0RootfsStage } from '../dom0-rootfs/rootfs.ts';
import { prebuiltXenStage } from '../hypervisor/prebuilt.ts';
import { installImgStage } from '../installer/install-img.ts';
import { BOOTLOADER_PACKAGES, bootFilesStage, efiImageStage, isoStage, menusStage } from '../media/stages.ts';
import { formatTreeinfo } from '../media/treeinfo.ts';
import type { LoadedRecipe } from '../recipes/load.ts';

export interface BuildGraph {
  targets: Stage<any>[];
  /** artifacts to publish, once the graph has run */
  artifacts(results: Map<string, StageResult>): ArtifactSource[];
  resolved: Record<string, string>;
}

export function treeinfoText(r: LoadedRecipe, keys: string[] = []): string {
  return formatTreeinfo([
    { name: 'platform', entries: [['name', r.product.platform.name], ['version', r.product.platform.version]] },
    { name: 'branding', entries: [['name', r.product.brand], ['version', r.product.version]] },
    { name: 'build', entries: [['number', r.product.build_number]] },
    ...(keys.length ? [{ name: 'keys', entries: keys.map((k, i): [string, string] => [`key${i + 1}`, k]) }] : []),
  ]);
}

export function isoFileName(r: LoadedRecipe): string {
  return `${r.name}.iso`;
}

export async function planIsoBuild(r: LoadedRecipe, opts: { cacheRoot: string; refreshIndex?: boolean }): Promise<BuildGraph> {
  const apt = new AptRoot(r.debian, downloadsRootFor(opts.cacheRoot));
  await apt.ensureIndex(opts.refreshIndex);
  const [xenPkg] = await apt.resolve([r.hypervisor.package]);
  const kernelPkg = await apt.resolveMeta(r.kernel.package, /^linux-image-\d/);
  const bootPkgs = await apt.resolve(BOOTLOADER_PACKAGES);

  const hypervisor = prebuiltXenStage(apt, xenPkg);
  const kernel = debianKernelStage(apt, kernelPkg);
  const bootFiles = bootFilesStage(apt, bootPkgs);
  const id = { brand: r.product.brand, version: r.product.version, build: r.product.build_number };
  const menus = menusStage({ boot: r.boot, product: r.product }, id);
  const efi = efiImageStage(bootFiles, menus, `${r.name}:${r.product.volume_id}`);
  const installImg = installImgStage({
    kernel,
    debian: r.debian,
    indexDigest: apt.indexDigest(),
    packages: r.installer.packages,
    moduleDirs: r.installer.modules ?? [],
    compression: r.installer.compression,
    product: { brand: r.product.brand, version: r.product.version, build_number: r.product.build_number, platform: r.product.platform },
  });
  const product = { brand: r.product.brand, version: r.product.version, build_number: r.product.build_number, platform: r.product.platform };
  const dom0 = dom0RootfsStage({ debian: r.debian, indexDigest: apt.indexDigest(), packages: [], product });
  const isoName = isoFileName(r);
  const iso = isoStage({ hypervisor, kernel, bootFiles, menus, efi, installImg, dom0 },
    { volumeId: r.product.volume_id, treeinfo: treeinfoText(r), eulaFile: r.product.eula, isoName });

  const fileOf = (results: Map<string, StageResult>, stage: string, path: string, kind: string, dest: string): ArtifactSource => {
    const res = results.get(stage)!;
    const entry = res.manifest.files.find((f) => f.path === path);
    return { kind, path: dest, from: join(res.dir, path), sha256: entry?.sha256, size: entry?.size };
  };
  return {
    targets: [iso],
    resolved: {
      [xenPkg.name]: xenPkg.version, [kernelPkg.name]: kernelPkg.version,
      ...Object.fromEntries(bootPkgs.map((p) => [p.name, p.version])),
    },
    artifacts: (results) => [
      fileOf(results, 'iso', isoName, 'install-iso', isoName),
      fileOf(results, 'hypervisor', 'xen.gz', 'hypervisor', 'boot/xen.gz'),
      fileOf(results, 'kernel', 'vmlinuz', 'kernel', 'boot/vmlinuz'),
      fileOf(results, 'install-img', 'install.img', 'installer-initrd', 'install.img'),
      fileOf(results, 'dom0-rootfs', 'dom0-root.tar.zst', 'dom0-root-image', 'dom0/root.tar.zst'),
      fileOf(results, 'dom0-rootfs', 'dom0-root.json', 'dom0-root-manifest', 'dom0/root.json'),
      fileOf(results, 'efi-image', 'efiboot.img', 'efi-boot-image', 'boot/efiboot.img'),
      fileOf(results, 'efi-image', 'grubx64.efi', 'efi-loader', 'EFI/xenserver/grubx64.efi'),
      fileOf(results, 'menus', 'isolinux.cfg', 'boot-menu', 'boot/isolinux/isolinux.cfg'),
      fileOf(results, 'menus', 'grub.cfg', 'boot-menu', 'EFI/xenserver/grub.cfg'),
    ],
  };
}

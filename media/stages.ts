// Stages that make the install media: boot loader files (from Debian's syslinux
// and GRUB packages), the rendered menus, the GRUB EFI image and efiboot.img,
// and the hybrid ISO mastered by xorriso.
import { copyFile, cp, mkdir, readdir, stat, utimes, writeFile, link } from 'node:fs/promises';
import { join } from 'node:path';
import { XsforgeError } from '../core/errors.ts';
import { sha256, walkTree } from '../core/hash.ts';
import { defineStage, type Stage, type StageContext } from '../core/stage.ts';
import type { AptRoot, ResolvedPackage } from '../debian/apt.ts';
import { packageRef, scratchRoot, unpackPackages } from '../debian/stages.ts';
import { buildMenu, type MenuInput } from './menu.ts';
import { PARTIALS, partialPath, renderMenu, templatePath, type BootPaths, type MenuIdentity } from './render.ts';

/** Debian packages the boot loader files come from. */
export const BOOTLOADER_PACKAGES = ['isolinux', 'syslinux-common', 'pxelinux', 'grub-efi-amd64-bin', 'grub-pc-bin'];

/** Files copied to boot/isolinux (and boot/pxelinux) on the ISO. */
export const SYSLINUX_MODULES = ['ldlinux.c32', 'mboot.c32', 'menu.c32', 'libcom32.c32', 'libutil.c32'];

/** GRUB modules built into the EFI image: what the menus and the medium search need. */
export const GRUB_EFI_MODULES = [
  'part_gpt', 'part_msdos', 'iso9660', 'fat', 'ext2', 'search', 'search_fs_file', 'search_label', 'configfile', 'normal',
  'multiboot2', 'gzio', 'echo', 'serial', 'terminal', 'all_video', 'efi_gop', 'efi_uga', 'video_bochs', 'video_cirrus',
  'test', 'ls', 'cat', 'chain', 'boot', 'reboot', 'halt', 'sleep', 'minicmd', 'loadenv',
];

export const ISO_PATHS: BootPaths = { xen: '/boot/xen.gz', kernel: '/boot/vmlinuz', initrd: '/install.img' };

export function bootFilesStage(apt: AptRoot, pkgs: ResolvedPackage[]): Stage<any> {
  return defineStage({
    name: 'boot-files',
    version: 1,
    options: { packages: pkgs.map(packageRef) },
    tools: ['dpkg-deb'],
    async run(ctx) {
      const root = scratchRoot(ctx);
      await unpackPackages(ctx, apt, pkgs, root);
      const syslinux = join(ctx.out, 'syslinux');
      await mkdir(syslinux, { recursive: true });
      await copyFile(join(root, 'usr/lib/ISOLINUX/isolinux.bin'), join(syslinux, 'isolinux.bin'));
      await copyFile(join(root, 'usr/lib/ISOLINUX/isohdpfx.bin'), join(syslinux, 'isohdpfx.bin'));
      await copyFile(join(root, 'usr/lib/PXELINUX/pxelinux.0'), join(syslinux, 'pxelinux.0'));
      for (const m of SYSLINUX_MODULES) await copyFile(join(root, 'usr/lib/syslinux/modules/bios', m), join(syslinux, m));
      await cp(join(root, 'usr/lib/grub/x86_64-efi'), join(ctx.out, 'grub-x86_64-efi'), { recursive: true });
      // BIOS GRUB for preinstalled disks (disk-image)
      await cp(join(root, 'usr/lib/grub/i386-pc'), join(ctx.out, 'grub-i386-pc'), { recursive: true });
    },
  });
}

/** Options are the recipe's own boot section, so --explain names the parameter that changed. */
export function menusStage(input: MenuInput, id: MenuIdentity): Stage<any> {
  return defineStage({
    name: 'menus',
    version: 1,
    options: { boot: input.boot as any, brand: input.product.brand, id: id as any, paths: ISO_PATHS as any },
    inputFiles: { isolinux: templatePath('isolinux.cfg'), grub: templatePath('grub.cfg'), ...Object.fromEntries(PARTIALS.map((p) => [`partial:${p}`, partialPath(p)])) },
    artifacts: { 'isolinux.cfg': { path: 'isolinux.cfg', kind: 'boot-menu' }, 'grub.cfg': { path: 'grub.cfg', kind: 'boot-menu' } },
    async run(ctx) {
      const menu = buildMenu(input);
      await writeFile(join(ctx.out, 'isolinux.cfg'), renderMenu('isolinux.cfg', menu, ISO_PATHS, id));
      await writeFile(join(ctx.out, 'grub.cfg'), renderMenu('grub.cfg', menu, ISO_PATHS, id));
    },
  });
}

/** Early config built into the GRUB image: find the medium, then its real menu. */
export function embeddedGrubConfig(initrd: string): string {
  return [
    `search --no-floppy --file --set=root ${initrd}`,
    'set prefix=($root)/EFI/xenserver',
    'configfile ($root)/EFI/xenserver/grub.cfg',
    '',
  ].join('\n');
}

/** FAT volume serial derived from the recipe, so efiboot.img is the same every build. */
export function fatVolumeId(seed: string): string {
  return sha256(seed).slice(0, 8);
}

export function efiImageStage(bootFiles: Stage<any>, menus: Stage<any>, volumeSeed: string): Stage<any> {
  return defineStage({
    name: 'efi-image',
    version: 1,
    options: { modules: GRUB_EFI_MODULES, volumeSeed, embedded: embeddedGrubConfig(ISO_PATHS.initrd) },
    deps: { bootFiles, menus },
    tools: ['grub-mkimage', 'mkfs.vfat', 'mcopy', 'mmd'],
    artifacts: { 'efiboot.img': { path: 'efiboot.img', kind: 'efi-boot-image' }, 'grubx64.efi': { path: 'grubx64.efi', kind: 'efi-loader' } },
    async run(ctx) {
      const early = join(ctx.work, 'early.cfg');
      await writeFile(early, embeddedGrubConfig(ISO_PATHS.initrd));
      const efi = join(ctx.out, 'grubx64.efi');
      await ctx.run(['grub-mkimage', '-O', 'x86_64-efi', '-d', join(ctx.dep('bootFiles'), 'grub-x86_64-efi'),
        '-p', '/EFI/xenserver', '-c', early, '-o', efi, ...GRUB_EFI_MODULES]);
      await efibootImage(ctx, efi, join(ctx.dep('menus'), 'grub.cfg'), join(ctx.out, 'efiboot.img'), fatVolumeId(volumeSeed));
    },
  });
}

/** A FAT image holding EFI/BOOT/BOOTX64.EFI and EFI/xenserver/grub.cfg, invariant across builds. */
async function efibootImage(ctx: StageContext<any>, efi: string, grubCfg: string, img: string, volumeId: string): Promise<void> {
  const epoch = ctx.sourceDateEpoch;
  const staged = join(ctx.work, 'fat');
  await mkdir(staged, { recursive: true });
  const files: [string, string][] = [[efi, 'EFI/BOOT/BOOTX64.EFI'], [grubCfg, 'EFI/xenserver/grub.cfg'], [efi, 'EFI/xenserver/grubx64.efi']];
  let bytes = 0;
  for (const [src] of files) bytes += (await stat(src)).size;
  // room for the files plus FAT overhead, in whole MiB
  const kib = Math.ceil((bytes * 1.1 + 512 * 1024) / (1024 * 1024)) * 1024;
  await ctx.run(['mkfs.vfat', '--invariant', '-i', volumeId, '-n', 'EFIBOOT', '-C', img, String(kib)]);
  for (const dir of ['::EFI', '::EFI/BOOT', '::EFI/xenserver']) await ctx.run(['mmd', '-i', img, dir]);
  for (const [i, [src, dest]] of files.entries()) {
    const copy = join(staged, String(i));
    await copyFile(src, copy);
    await utimes(copy, epoch, epoch); // mcopy -m keeps the file's mtime
    await ctx.run(['mcopy', '-m', '-i', img, copy, `::${dest}`]);
  }
}

/** Where factory media carry their answer file (answerfile=file:///answerfile.xml). */
export const FACTORY_ANSWERFILE = 'answerfile.xml';

export interface IsoIdentity {
  volumeId: string;
  treeinfo: string;
  eulaFile?: string;
  isoName: string;
  /** factory media: an answer file put at the root as answerfile.xml (the boot menu names it) */
  answerFile?: string;
}

/** dom0 (optional): the dom0-rootfs stage, whose root image the installer lays down (dom0/root.tar.zst). */
export function isoStage(deps: { hypervisor: Stage<any>; kernel: Stage<any>; bootFiles: Stage<any>; menus: Stage<any>; efi: Stage<any>; installImg: Stage<any>; dom0?: Stage<any>; repo?: Stage<any> }, id: IsoIdentity): Stage<any> {
  return defineStage({
    name: 'iso',
    version: 3,
    options: { volumeId: id.volumeId, treeinfo: id.treeinfo, isoName: id.isoName },
    deps: deps as Record<string, Stage<any>>,
    inputFiles: { ...(id.eulaFile ? { eula: id.eulaFile } : {}), ...(id.answerFile ? { answerfile: id.answerFile } : {}) },
    tools: ['xorriso'],
    artifacts: { iso: { path: id.isoName, kind: 'install-iso' } },
    async run(ctx) {
      const tree = join(ctx.work, 'tree');
      const put = async (src: string, dest: string) => {
        await mkdir(join(tree, dest, '..'), { recursive: true });
        // hard links keep large inputs (install.img) from being copied twice
        await link(src, join(tree, dest)).catch(() => copyFile(src, join(tree, dest)));
      };
      const sys = join(ctx.dep('bootFiles'), 'syslinux');
      await put(join(ctx.dep('hypervisor'), 'xen.gz'), 'boot/xen.gz');
      await put(join(ctx.dep('kernel'), 'vmlinuz'), 'boot/vmlinuz');
      const installImg = join(ctx.dep('installImg'), 'install.img');
      await put(installImg, 'install.img');
      await put(join(sys, 'isolinux.bin'), 'boot/isolinux/isolinux.bin');
      await put(join(ctx.dep('menus'), 'isolinux.cfg'), 'boot/isolinux/isolinux.cfg');
      for (const m of SYSLINUX_MODULES) {
        await put(join(sys, m), `boot/isolinux/${m}`);
        await put(join(sys, m), `boot/pxelinux/${m}`);
      }
      await put(join(sys, 'pxelinux.0'), 'boot/pxelinux/pxelinux.0');
      await put(join(ctx.dep('efi'), 'grubx64.efi'), 'EFI/xenserver/grubx64.efi');
      await put(join(ctx.dep('efi'), 'grubx64.efi'), 'EFI/BOOT/BOOTX64.EFI');
      await put(join(ctx.dep('menus'), 'grub.cfg'), 'EFI/xenserver/grub.cfg');
      await put(join(ctx.dep('efi'), 'efiboot.img'), 'boot/efiboot.img');
      if (deps.dom0) {
        await put(join(ctx.dep('dom0'), 'dom0-root.tar.zst'), 'dom0/root.tar.zst');
        await put(join(ctx.dep('dom0'), 'dom0-root.json'), 'dom0/root.json');
      }
      if (deps.repo) {
        // the yum repository at the root: Packages/, repodata/, RPM-GPG-KEY-* (SPEC section 1)
        for (const f of await walkTree(ctx.dep('repo'), false)) if (f.type === 'file') await put(join(ctx.dep('repo'), f.path), f.path);
      }
      await writeFile(join(tree, '.treeinfo'), id.treeinfo);
      if (id.eulaFile) await copyFile(ctx.inputFile('eula'), join(tree, 'EULA'));
      if (id.answerFile) await copyFile(ctx.inputFile('answerfile'), join(tree, FACTORY_ANSWERFILE));
      const iso = join(ctx.out, id.isoName);
      ctx.progress('xorriso');
      // SOURCE_DATE_EPOCH (set by the engine for every tool) fixes xorriso's
      // volume dates, file dates, volume UUID and the GPT/MBR ids it derives.
      await ctx.run(xorrisoArgs(tree, iso, id.volumeId, join(sys, 'isohdpfx.bin'), ctx.sourceDateEpoch), { env: { TZ: 'UTC' } });
      const names = await readdir(ctx.out);
      if (!names.includes(id.isoName)) throw new XsforgeError('xorriso wrote no ISO');
    },
  });
}

/** xorriso's timestring form YYYYMMDDhhmmsscc (read as local time: run it with TZ=UTC). */
export function xorrisoTime(epoch: number): string {
  return `${new Date(epoch * 1000).toISOString().replace(/[-:T]/g, '').slice(0, 14)}00`;
}

export function xorrisoArgs(tree: string, iso: string, volumeId: string, mbr: string, epoch: number): string[] {
  const t = xorrisoTime(epoch);
  return [
    'xorriso', '-as', 'mkisofs',
    '-o', iso,
    // every date in the image from the epoch: volume dates, file dates (files come
    // from the cache with the time they were built), and the GPT/MBR ids derived from them
    `--modification-date=${t}`, '--set_all_file_dates', t,
    '-r', '-J', '-joliet-long', // -r: Rock Ridge with owner 0 and normalised modes
    '-V', volumeId,
    '-isohybrid-mbr', mbr,
    '-c', 'boot/isolinux/boot.cat',
    '-b', 'boot/isolinux/isolinux.bin', '-no-emul-boot', '-boot-load-size', '4', '-boot-info-table',
    '-eltorito-alt-boot',
    '-e', 'boot/efiboot.img', '-no-emul-boot', '-isohybrid-gpt-basdat',
    tree,
  ];
}

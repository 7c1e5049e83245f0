// A preinstalled disk for imaging on the factory line: what an unattended
// install from the answer file would leave on the disk (same plan, same layout,
// same dom0 root and product packages, first boot pending), made without
// booting anything. The installer's own planner and writers are used; only the
// steps that need a booted installer are done differently here: file systems
// are made into the image at their partitions' offsets from directory trees
// (mke2fs -d, mkfs.vfat + mtools, a mkswap header) and GRUB's BIOS boot code is
// written by biosBootSectors instead of grub-install.
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, readFileSync } from 'node:fs';
import { chmod, copyFile, cp, mkdir, open, readdir, rename, rm, stat, truncate, utimes, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { FreshInstallConfig } from '../answerfiles/model.ts';
import { parseAnswerFile } from '../answerfiles/parse.ts';
import { mountsUnder } from '../core/cache.ts';
import { XsforgeError } from '../core/errors.ts';
import { partitionByRole, type PlannedPartition } from '../disk/layout.ts';
import { formatBytes } from '../disk/size.ts';
import { writeTableToImage } from '../disk/write-table.ts';
import { writeFiles } from '../installer/runtime/execute.ts';
import type { FetchEnv } from '../installer/runtime/fetch.ts';
import type { InstallLog } from '../installer/runtime/log.ts';
import { installProductPackages, verifyProductRepository } from '../installer/runtime/packages.ts';
import { planInstall, type InstallPlan, type ProductInfo } from '../installer/runtime/plan.ts';
import { cryptSaltFromBytes } from '../installer/runtime/sha512crypt.ts';
import { extractRoot, parseRootManifest } from '../installer/runtime/source.ts';
import { installationDate } from '../installer/runtime/unattended.ts';
import { clampExtTimes, type BlockIo } from './ext-times.ts';
import { biosBootSectors, SECTOR } from './grub-bios.ts';

export const DISK_IMAGE_FORMATS = ['raw', 'qcow2', 'vhd'] as const;
export type DiskImageFormat = (typeof DISK_IMAGE_FORMATS)[number];

/**
 * Modules in the BIOS core image: the fewest that find the root file system, so
 * core.img (56 sectors) also fits the 62-sector gap before a DOS layout's first
 * partition at sector 63; normal.mod and the rest load from /boot/grub/i386-pc.
 */
export const GRUB_BIOS_CORE_MODULES = ['biosdisk', 'part_gpt', 'part_msdos', 'ext2', 'search_label'];
/** Modules built into the EFI loader: enough to read grub.cfg and boot Xen without /boot/grub/x86_64-efi. */
export const GRUB_EFI_DISK_MODULES = ['part_gpt', 'part_msdos', 'ext2', 'fat', 'search', 'search_label', 'normal', 'configfile',
  'multiboot2', 'gzio', 'serial', 'terminal', 'echo', 'test', 'boot', 'cat', 'ls', 'halt', 'reboot'];

export class DiskImageError extends XsforgeError {}

export interface DiskImageInputs {
  /** the dom0-rootfs stage's dom0-root.tar.zst and dom0-root.json */
  rootArchive: string;
  rootManifest: string;
  /** the yum-repo stage's output: the product repository (absent: dom0 root only) */
  repoDir?: string;
  /** GRUB module directories (grub-pc-bin's i386-pc, grub-efi-amd64-bin's x86_64-efi) */
  grubPcDir: string;
  grubEfiDir: string;
}

export interface DiskImageOptions {
  answerFile: { name: string; text: string };
  sizeBytes: number;
  boot: 'bios' | 'uefi';
  /** a DOS partition table (the installer's disable-gpt) */
  disableGpt?: boolean;
  format: DiskImageFormat;
  out: string;
  product: ProductInfo;
  sourceDateEpoch: number;
  /** varies the identities (UUIDs, labels, salt) derived for this image; default: none */
  seed?: string;
  /** scratch directory (the root tree goes here) */
  work: string;
  log: InstallLog;
}

export interface DiskImageResult {
  path: string;
  format: DiskImageFormat;
  plan: InstallPlan;
  /** bytes of the image file (sparse for raw) */
  sizeBytes: number;
}

/** Identities an installer would draw at random, derived from the inputs so a rebuild gives the same disk. */
export function derivedIdentity(seed: string): { labelSuffix: string; uuids: InstallPlan['uuids']; passwordSalt: string; fsUuid(role: string): string } {
  const bytes = (what: string) => createHash('sha256').update(`${seed}\0${what}`).digest();
  const uuid = (what: string) => {
    const b = bytes(what).subarray(0, 16);
    b[6] = (b[6]! & 0x0f) | 0x40; // shaped as version 4 so tools that check the variant accept it
    b[8] = (b[8]! & 0x3f) | 0x80;
    const h = b.toString('hex');
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
  };
  return {
    labelSuffix: [...bytes('labels').subarray(0, 6)].map((x) => String.fromCharCode(97 + (x % 26))).join(''),
    uuids: { installation: uuid('installation'), controlDomain: uuid('control-domain'), sr: uuid('sr') },
    passwordSalt: cryptSaltFromBytes(bytes('salt').subarray(0, 16)),
    fsUuid: (role) => uuid(`fs:${role}`),
  };
}

/** The answer file as disk-image can honour it; anything that needs a booted installer is refused with the reason. */
export function diskImageConfig(name: string, text: string): FreshInstallConfig {
  const parsed = parseAnswerFile(text);
  if (!parsed.config) {
    throw new DiskImageError(`${name} is not a valid answer file:\n${parsed.errors.map((e) => `  ${name}${e.line !== undefined ? `:${e.line}` : ''}: ${e.message}${e.detail ? ` (${e.detail})` : ''}`).join('\n')}`,
      'check it with `xsforge answerfile validate`');
  }
  const c = parsed.config;
  if (c.kind !== 'install') throw new DiskImageError(`${name}: a preinstalled disk is a fresh install; <restore> needs a host with a backup`);
  if (c.mode === 'upgrade') throw new DiskImageError(`${name}: a preinstalled disk is a fresh install; mode="upgrade" needs the host's existing installation`, 'use mode="fresh"');
  if (c.guestDisks.length) {
    throw new DiskImageError(`${name}: <guest-disk> names other disks (${c.guestDisks.join(', ')}); disk-image makes the primary disk only`,
      'drop the <guest-disk> elements; first boot can add storage later');
  }
  if (c.scripts.length) {
    throw new DiskImageError(`${name}: disk-image does not run answer-file scripts (${c.scripts.map((s) => `${s.stage}: ${s.url}`).join(', ')}); they need a booted installer`,
      'use factory media (`xsforge build --answerfile`) for installs that run scripts');
  }
  if (c.driverSources.length) throw new DiskImageError(`${name}: <driver-source> needs a booted installer; disk-image cannot load drivers`);
  if (c.sources.length > 1) {
    throw new DiskImageError(`${name}: disk-image installs this build's packages only; the ${c.sources.length - 1} supplemental pack <source> element(s) after the first are not installed by it`,
      'use factory media (`xsforge build --answerfile`), whose installer installs packs, or apply them on the host with xsforge-update');
  }
  return c;
}

function partitionOffset(p: PlannedPartition, sectorSize: number): { offset: number; bytes: number } {
  return { offset: p.firstSector * sectorSize, bytes: p.sectorCount * sectorSize };
}

/** Move `from` (a directory in the root tree) to `to`, leaving an empty mount point behind. */
async function splitOff(from: string, to: string): Promise<void> {
  if (existsSync(from)) await rename(from, to);
  else await mkdir(to, { recursive: true });
  await mkdir(from, { recursive: true });
  await chmod(from, 0o755);
}

async function writeAt(path: string, data: Buffer, offset: number): Promise<void> {
  const fh = await open(path, 'r+');
  try {
    const { bytesWritten } = await fh.write(data, 0, data.length, offset);
    if (bytesWritten !== data.length) throw new DiskImageError(`short write to ${path} at ${offset}`);
  } finally {
    await fh.close();
  }
}

async function readAt(path: string, length: number, offset: number): Promise<Buffer> {
  const fh = await open(path, 'r');
  try {
    const b = Buffer.alloc(length);
    await fh.read(b, 0, length, offset);
    return b;
  } finally {
    await fh.close();
  }
}

/** Byte access to the file system at `base` in an image file. */
function fileIo(path: string, base: number): BlockIo {
  return {
    read: (offset, length) => readAt(path, length, base + offset),
    write: (offset, data) => writeAt(path, data, base + offset),
  };
}

/** Every file and directory under `dir` dated `epoch` (mtools copies mtimes onto FAT). */
async function dateTree(dir: string, epoch: number): Promise<void> {
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) await dateTree(p, epoch);
    await utimes(p, epoch, epoch);
  }
}

export type DiskImagePlanOptions = Pick<DiskImageOptions, 'answerFile' | 'sizeBytes' | 'boot' | 'disableGpt' | 'product' | 'sourceDateEpoch' | 'seed'>;

/**
 * The install plan the image is made from, with identities derived from the
 * inputs. Pure: `disk-image` calls it before building anything, so a disk that
 * is too small or an answer file it cannot honour costs no build.
 */
export function planDiskImage(o: DiskImagePlanOptions): { plan: InstallPlan; id: ReturnType<typeof derivedIdentity> } {
  const config = diskImageConfig(o.answerFile.name, o.answerFile.text);
  if (o.sizeBytes % SECTOR) throw new DiskImageError(`the disk size must be a whole number of ${SECTOR}-byte sectors (${o.sizeBytes} bytes is not)`);
  const id = derivedIdentity(`${o.product.brand} ${o.product.version} ${o.product.build_number}\0${o.answerFile.text}\0${o.sizeBytes}\0${o.boot}\0${o.seed ?? ''}`);
  const disk = { name: basename(config.primaryDisk), path: config.primaryDisk, sizeBytes: o.sizeBytes, sectorSize: SECTOR };
  const plan = planInstall(config, [disk], { disableGpt: !!o.disableGpt, atexit: 'reboot', multipath: false }, {
    uefi: o.boot === 'uefi',
    labelSuffix: id.labelSuffix,
    uuids: id.uuids,
    product: o.product,
    passwordSalt: id.passwordSalt,
    installationDate: installationDate(new Date(o.sourceDateEpoch * 1000)),
  });
  if (config.sources[0] && config.sources[0].type !== 'local') {
    plan.notes.push(`the answer file's <source type="${config.sources[0].type}"> is not read: the image carries this build's dom0 and packages`);
  }
  return { plan, id };
}

export async function buildDiskImage(inputs: DiskImageInputs, o: DiskImageOptions): Promise<DiskImageResult> {
  const log = o.log;
  const { plan, id } = planDiskImage(o);
  for (const n of plan.notes) log.say(`note: ${n}`);

  const root = join(o.work, 'root');
  // a bind mount left by an interrupted run would take the host's /dev with it
  const stale = mountsUnder(o.work);
  if (stale.length) throw new DiskImageError(`${o.work} still has mounts (${stale.join(', ')}); unmount them first`);
  await rm(o.work, { recursive: true, force: true });
  await mkdir(root, { recursive: true });
  const env: FetchEnv = { log, workDir: join(o.work, 'scratch'), sysRoot: '/sys', devRoot: '/dev', excludeDisks: [], mounted: [] };

  log.say('Installing the control domain into the root tree');
  const manifest = parseRootManifest(readFileSync(inputs.rootManifest, 'utf8'), inputs.rootManifest);
  const extracted = await extractRoot(env, { where: inputs.rootArchive, manifest, openImage: () => createReadStream(inputs.rootArchive) }, basename(inputs.rootArchive), root);
  log.say(`Control domain: ${extracted.bytes} bytes, sha256 ${extracted.sha256} verified`);
  if (inputs.repoDir) {
    const repo = await verifyProductRepository(env, inputs.repoDir);
    if (repo) {
      const installed = await installProductPackages(env, repo, root);
      log.say(`Product packages installed; the rpm database lists ${installed.nevras.length}`);
    }
  }
  log.say('Writing the configuration');
  writeFiles({ targetRoot: root, log }, plan);
  await mkdir(join(root, 'var/log/installer'), { recursive: true });
  await writeFile(join(root, 'var/log/installer/disk-image.txt'),
    `Preinstalled by xsforge disk-image from ${basename(o.answerFile.name)} (${o.boot}, ${plan.layout.tableType}, ${formatBytes(o.sizeBytes)}).\n`);

  // GRUB: modules where grub-install would put them, loaders built with the root found by label
  const rootLabel = partitionByRole(plan.layout, 'root')!.label!;
  const early = join(o.work, 'grub-early.cfg');
  // search.fs_label is search_label.mod's own command: `search --label` would need search.mod too
  await writeFile(early, `search.fs_label ${rootLabel} root\nset prefix=($root)/boot/grub\n`);
  const platformDir = o.boot === 'bios' ? inputs.grubPcDir : inputs.grubEfiDir;
  const platform = o.boot === 'bios' ? 'i386-pc' : 'x86_64-efi';
  await cp(platformDir, join(root, 'boot/grub', platform), { recursive: true });
  let coreImg: string | undefined;
  if (o.boot === 'bios') {
    coreImg = join(o.work, 'core.img');
    await log.run(['grub-mkimage', '-O', 'i386-pc', '-d', inputs.grubPcDir, '-p', '/boot/grub', '-c', early, '-o', coreImg, ...GRUB_BIOS_CORE_MODULES]);
  } else {
    const efiDir = join(root, 'boot/efi/EFI');
    await mkdir(join(efiDir, 'xenserver'), { recursive: true });
    await mkdir(join(efiDir, 'BOOT'), { recursive: true });
    const loader = join(efiDir, 'xenserver/grubx64.efi');
    await log.run(['grub-mkimage', '-O', 'x86_64-efi', '-d', inputs.grubEfiDir, '-p', '/EFI/xenserver', '-c', early, '-o', loader, ...GRUB_EFI_DISK_MODULES]);
    // the removable-media path: a new board has no boot entry for us yet
    await copyFile(loader, join(efiDir, 'BOOT/BOOTX64.EFI'));
    await copyFile(join(efiDir, 'xenserver/grub.cfg'), join(efiDir, 'BOOT/grub.cfg'));
  }

  // each file system's tree on its own
  const trees: Record<string, string> = { root };
  if (partitionByRole(plan.layout, 'logs')) {
    trees.logs = join(o.work, 'logs');
    await splitOff(join(root, 'var/log'), trees.logs);
  }
  if (o.boot === 'uefi') {
    trees.boot = join(o.work, 'esp');
    await splitOff(join(root, 'boot/efi'), trees.boot);
    await dateTree(trees.boot, o.sourceDateEpoch);
  }

  const raw = o.format === 'raw' ? o.out : join(o.work, 'disk.raw');
  await mkdir(join(raw, '..'), { recursive: true });
  await rm(raw, { force: true });
  await writeFile(raw, '');
  await truncate(raw, o.sizeBytes);
  log.say(`Writing the ${plan.layout.tableType.toUpperCase()} partition table (${formatBytes(o.sizeBytes)})`);
  await writeTableToImage(raw, plan.layout);

  const timeEnv = { E2FSPROGS_FAKE_TIME: String(o.sourceDateEpoch) };
  for (const fs of plan.fileSystems) {
    const p = plan.layout.partitions.find((x) => x.number === fs.partition)!;
    const { offset, bytes } = partitionOffset(p, plan.layout.sectorSize);
    log.say(`Making ${fs.fsType} ${fs.label} at ${offset} (${formatBytes(bytes)})`);
    if (fs.fsType === 'ext3') {
      const uuid = id.fsUuid(fs.role);
      await log.run(['mke2fs', '-q', '-F', '-t', 'ext3', '-L', fs.label, '-U', uuid,
        '-E', `offset=${offset},nodiscard,hash_seed=${id.fsUuid(`${fs.role}:hash`)}`,
        ...(trees[fs.role] ? ['-d', trees[fs.role]!] : []), raw, `${bytes / 1024}k`], { env: timeEnv, timeoutMs: 1_800_000 });
      const clamped = await clampExtTimes(fileIo(raw, offset), o.sourceDateEpoch);
      log.detail(`${fs.label}: times of ${clamped.changed} of ${clamped.inodes} inodes clamped to ${o.sourceDateEpoch}`);
    } else if (fs.fsType === 'vfat') {
      const volumeId = id.fsUuid(fs.role).replace(/-/g, '').slice(0, 8);
      // FAT32 and 4 KiB clusters said outright: with --offset, mkfs.fat 4.2 sizes its choices by the
      // whole file (a 60 GB guess: too few clusters for FAT32 on 512 MiB, which mtools then misreads)
      if (bytes < 260 * 2 ** 20) throw new DiskImageError(`the EFI system partition (${formatBytes(bytes)}) is too small for FAT32 with 4 KiB clusters`);
      await log.run(['mkfs.vfat', '-F', '32', '-s', '8', '--invariant', '-i', volumeId, '-n', fs.label, '--offset', String(p.firstSector), raw, String(bytes / 1024)]);
      const tree = trees[fs.role];
      if (tree) {
        const img = `${raw}@@${offset}`;
        // mtools checks the FAT's size against the whole image file unless told not to
        for (const e of (await readdir(tree)).sort()) await log.run(['mcopy', '-s', '-m', '-i', img, join(tree, e), '::/'], { env: { MTOOLS_SKIP_CHECK: '1' } });
      }
    } else {
      // util-linux 2.38's mkswap has no --offset: make the header on a file of the partition's size, copy its first page
      const swap = join(o.work, 'swap.img');
      await writeFile(swap, '');
      await truncate(swap, bytes);
      await log.run(['mkswap', '-L', fs.label, '-U', id.fsUuid(fs.role), swap]);
      await writeAt(raw, await readAt(swap, 4096, 0), offset);
      await rm(swap, { force: true });
    }
  }

  if (coreImg) {
    // the BIOS-boot partition on GPT; the gap between the MBR and the first partition on DOS
    const bootPart = plan.layout.tableType === 'gpt' ? partitionByRole(plan.layout, 'boot') : undefined;
    const firstStart = Math.min(...plan.layout.partitions.map((x) => x.firstSector));
    const coreLba = bootPart ? bootPart.firstSector : 1;
    const area = bootPart ? bootPart.sectorCount : firstStart - 1;
    const s = biosBootSectors({
      mbr: await readAt(raw, SECTOR, 0),
      bootImg: readFileSync(join(inputs.grubPcDir, 'boot.img')),
      coreImg: readFileSync(coreImg),
      coreLba,
      coreAreaSectors: area,
    });
    await writeAt(raw, s.core, coreLba * SECTOR);
    await writeAt(raw, s.mbr, 0);
    log.say(`GRUB (BIOS): boot.img in sector 0, core.img (${s.coreSectors} sectors) at sector ${coreLba}`);
  }

  if (o.format !== 'raw') {
    await rm(o.out, { force: true });
    const argv = o.format === 'qcow2'
      ? ['qemu-img', 'convert', '-f', 'raw', '-O', 'qcow2', raw, o.out]
      // force_size: VHD's CHS geometry would otherwise round the disk up, leaving the GPT backup header short of the end
      : ['qemu-img', 'convert', '-f', 'raw', '-O', 'vpc', '-o', 'subformat=dynamic,force_size=on', raw, o.out];
    await log.run(argv, { timeoutMs: 1_800_000 });
    await rm(raw, { force: true });
  }
  const { size } = await stat(o.out);
  return { path: o.out, format: o.format, plan, sizeBytes: size };
}

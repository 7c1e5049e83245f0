// Restore from the backup partition (answer file <restore>; the interactive
// "restore" choice, seed:1505): the backed-up root goes back onto the root
// partition under its old label, the table goes back to the layout the backup
// was taken from (seed:3496-3498: going back to 6.x restores the 6.x layout),
// and the bootloader is installed again so it reads the restored root's own
// grub.cfg. Pure: a plan the runtime carries out.
import { partitionLayoutInventory, type LayoutPlan, type PartitionNumbers, type PlannedPartition, type Role } from '../disk/layout.ts';
import { gptUsableRange } from '../disk/gpt.ts';
import { normalizeGuid } from '../disk/guid.ts';
import { type PartitionChange, type ExistingLayout } from '../disk/upgrade-layout.ts';
import { partitionDevice } from '../disk/device.ts';
import { efiStubGrubConfig } from '../target/grub.ts';
import { FIRSTBOOT_PATHS, type CarriedFile } from './carry-over.ts';
import { BACKUP_INFO, BACKUP_MARKER, type FoundBackup, type FoundInstallation, type RecordedPartition } from './detect.ts';
import { UpgradeError, describeProduct, fileText, type InstalledProduct, type MediaProduct, type RootFiles } from './model.ts';
import { compareVersions, sameProductLine } from './version.ts';

export interface RestoreOptions {
  media: MediaProduct;
  uefi: boolean;
  /** the local SR holds VDIs now (restore refuses to make it anew then) */
  srHasData: boolean;
  /** the installation now on the backup's disk, if any (findInstallations) */
  current?: FoundInstallation;
  /** the backup's files (fstab is read for the root label of a product-made backup) */
  backupFiles?: RootFiles;
}

export interface RestorePlan {
  disk: string;
  backupDevice: string;
  restored: InstalledProduct;
  bootMode: 'uefi' | 'bios';
  /** the label the restored root gets: the one its fstab and grub.cfg name */
  rootLabel: string;
  rootDevice: string;
  /**
   * Table steps. Empty: the table stays. Otherwise first a transitional table
   * (the recorded root's sectors as the root partition, the backup where it is),
   * the copy, then the recorded table.
   */
  tables: { when: 'before-copy' | 'after-copy'; layout: LayoutPlan }[];
  changes: PartitionChange[];
  copy: { from: string; to: string; mkfs: string[]; exclude: string[] };
  /** file systems made after the final table (partitions that changed place) */
  fileSystems: { device: string; role: string; argv: string[] }[];
  /** labels given back to partitions the restored fstab names */
  relabel: { device: string; role: string; argv: string[] }[];
  bootloader: {
    mode: 'uefi' | 'bios';
    disk: string;
    /** GRUB reads the restored root's own configuration */
    grubCfg: 'boot/grub/grub.cfg of the restored root';
    /** i386-pc on a GPT disk without a BIOS-boot partition: blocklists (grub-install --force) */
    biosBlocklists?: boolean;
    efi?: { espDevice: string; espPartition: number; stubCfg: string };
  };
  /** changed in the restored root after the copy (relative paths) */
  rootFiles: CarriedFile[];
  rootRemovals: string[];
  notes: string[];
}

const typeOf = (p: { typeGuid?: string; dosId?: number }) =>
  p.typeGuid ? normalizeGuid(p.typeGuid) : p.dosId !== undefined ? `0x${p.dosId.toString(16).padStart(2, '0')}` : '-';
const sameExtent = (a: { firstSector: number; sectorCount: number }, b: { firstSector: number; sectorCount: number }) =>
  a.firstSector === b.firstSector && a.sectorCount === b.sectorCount;
const overlaps = (a: { firstSector: number; sectorCount: number }, b: { firstSector: number; sectorCount: number }) =>
  a.firstSector < b.firstSector + b.sectorCount && b.firstSector < a.firstSector + a.sectorCount;

function toPlanned(p: RecordedPartition | ExistingLayout['partitions'][number]): PlannedPartition {
  // a partition the product did not make is carried through the table as it is; 'utility' is the role planners keep untouched
  const role: Role = p.role === 'unknown' ? 'utility' : p.role;
  const attrs = typeof p.attributes === 'string' ? BigInt(p.attributes) : p.attributes;
  return {
    number: p.number, role, firstSector: p.firstSector, sectorCount: p.sectorCount, lastSector: p.firstSector + p.sectorCount - 1,
    ...(p.typeGuid && { typeGuid: normalizeGuid(p.typeGuid) }), ...(p.uniqueGuid && { uniqueGuid: normalizeGuid(p.uniqueGuid) }),
    ...(p.name !== undefined && { name: p.name }),
    // the writer sets legacy-BIOS-bootable from `active`; the rest of the bits ride along
    ...(attrs !== undefined && { attributes: attrs & ~4n, ...(attrs & 4n ? { active: true } : {}) }),
    ...(p.dosId !== undefined && { dosId: p.dosId }), ...(p.active !== undefined && p.dosId !== undefined && { active: p.active }),
  };
}

function layoutOf(base: { scheme: LayoutPlan['scheme']; tableType: LayoutPlan['tableType']; diskSectors: number; sectorSize: number; diskGuid?: string; diskSignature?: number },
  parts: PlannedPartition[], disk: string, bootMode: 'uefi' | 'bios'): LayoutPlan {
  const numbers = { root: 0, backup: 0 } as PartitionNumbers;
  for (const p of parts) (numbers as unknown as Record<string, number>)[p.role] = p.number;
  const { first, last } = base.tableType === 'gpt' ? gptUsableRange(base.diskSectors, base.sectorSize) : { first: 63, last: base.diskSectors - 1 };
  const plan: LayoutPlan = {
    scheme: base.scheme, tableType: base.tableType, bootMode, diskName: disk, sectorSize: base.sectorSize, diskSectors: base.diskSectors,
    firstUsableSector: first, lastUsableSector: last,
    partitions: [...parts].sort((a, b) => a.firstSector - b.firstSector), numbers, partitionLayout: '',
    ...(base.diskGuid && { diskGuid: normalizeGuid(base.diskGuid) }), ...(base.diskSignature !== undefined && { diskSignature: base.diskSignature }),
  };
  plan.partitionLayout = partitionLayoutInventory(plan);
  return plan;
}

/** The root label a backup's fstab mounts on / (for backups without xsforge's record). */
export function fstabRootLabel(fstab: string): string | undefined {
  for (const line of fstab.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f.length >= 2 && f[1] === '/' && f[0]!.startsWith('LABEL=')) return f[0]!.slice(6);
  }
  return undefined;
}

export function planRestore(backup: FoundBackup, o: RestoreOptions): RestorePlan {
  const disk = backup.info?.disk ?? backup.disk;
  const notes: string[] = [];
  if (!sameProductLine(backup.product, o.media)) {
    throw new UpgradeError(`The backup on ${backup.device} holds ${describeProduct(backup.product)}, not ${o.media.brand} on ${o.media.platform.name}: this installer cannot restore it.`);
  }
  // the product restores only backups up to its own version (product.findXenSourceBackups);
  // a restore has no install source, so without booted media the release is unknown ('')
  if (!o.media.version) notes.push(`the installer's release is unknown (no install media with a .treeinfo): the backup's ${backup.product.version} is not compared with it`);
  else if (compareVersions(backup.product.version, o.media.version) > 0) {
    throw new UpgradeError(`The backup on ${backup.device} holds ${describeProduct(backup.product)}, newer than this installer's ${o.media.brand} ${o.media.version}.`,
      `restore it with media of ${backup.product.version} or later`);
  }
  const cur = o.current && o.current.disk === disk ? o.current.layout : undefined;
  const info = backup.info;
  const rootLabel = info?.rootLabel ?? (o.backupFiles && fileText(o.backupFiles, '/etc/fstab') !== undefined ? fstabRootLabel(fileText(o.backupFiles, '/etc/fstab')!) : undefined) ?? o.current?.rootLabel;
  if (!rootLabel) throw new UpgradeError(`The backup on ${backup.device} does not say which label its root had (no ${BACKUP_INFO}, no LABEL= for / in its /etc/fstab).`);
  const sfx = /^root-([a-z]{6})$/.exec(rootLabel)?.[1];
  const bootMode: 'uefi' | 'bios' = o.uefi ? 'uefi' : 'bios';
  if (info && info.bootMode !== bootMode) notes.push(`the backup was taken from a host booted by ${info.bootMode.toUpperCase()}; the installer now runs by ${bootMode.toUpperCase()}, so the bootloader is installed for ${bootMode.toUpperCase()}`);

  // The table the backup was taken from; without a record, the one on the disk now.
  let final: LayoutPlan;
  let current: LayoutPlan | undefined;
  if (cur) current = layoutOf(cur, cur.partitions.map(toPlanned), disk, bootMode);
  if (info) final = layoutOf(info.layout, info.layout.partitions.map(toPlanned), disk, bootMode);
  else if (current) final = current;
  else throw new UpgradeError(`The backup on ${backup.device} has no record of its layout (${BACKUP_INFO}) and ${disk} has no installation to take it from.`);
  current ??= final;

  const byNum = (l: LayoutPlan) => new Map(l.partitions.map((p) => [p.number, p]));
  const nowBy = byNum(current);
  const finalBy = byNum(final);
  const finalRoot = final.partitions.find((p) => p.role === 'root');
  if (!finalRoot) throw new UpgradeError(`the recorded layout of ${backup.device} has no root partition`);
  const backupNow = current.partitions.find((p) => p.number === backup.partition) ?? final.partitions.find((p) => p.number === backup.partition);
  if (!backupNow) throw new UpgradeError(`partition ${backup.partition} holding the backup is not in the table of ${disk}`);

  const same = (a?: PlannedPartition, b?: PlannedPartition) => !!a && !!b && sameExtent(a, b) && typeOf(a) === typeOf(b);
  const rewrite = current.partitions.length !== final.partitions.length || final.partitions.some((p) => !same(p, nowBy.get(p.number)));
  const changes: PartitionChange[] = [];
  const ext = (p: PlannedPartition) => ({ firstSector: p.firstSector, sectorCount: p.sectorCount, type: typeOf(p) });
  for (const p of current.partitions) {
    if (!finalBy.has(p.number)) changes.push({ number: p.number, role: p.role, action: 'deleted', before: ext(p), why: 'not in the layout the backup was taken from' });
  }
  const fileSystems: RestorePlan['fileSystems'] = [];
  const rootFiles: CarriedFile[] = [];
  const rootRemovals: string[] = [];
  for (const p of final.partitions) {
    const now = nowBy.get(p.number);
    const dev = partitionDevice(disk, p.number);
    const moved = !same(p, now);
    let c: Pick<PartitionChange, 'action' | 'why'>;
    if (p.role === 'root') c = { action: moved ? 'recreated' : 'reformatted', why: `gets the backup's copy, labelled ${rootLabel} again` };
    else if (p.number === backup.partition) {
      c = moved ? { action: 'recreated', why: 'back to its size in the old layout; its copy is used up by the restore (made empty)' }
        : { action: 'kept', why: 'the backup stays: it can be restored again' };
      if (moved) fileSystems.push({ device: dev, role: 'backup', argv: ['mkfs.ext3', '-F', '-q', dev] });
    } else if (p.role === 'sr') {
      if (moved) {
        if (o.srHasData) {
          throw new UpgradeError(`Restoring the backup on ${backup.device} would make the local SR partition ${p.number} anew (the layout it was taken from places it elsewhere), but the SR holds virtual disks now.`,
            'move the VDIs off the local SR first');
        }
        c = { action: now ? 'recreated' : 'created', why: 'back where the old layout had it; empty, so first boot makes the SR again' };
        rootRemovals.push(FIRSTBOOT_PATHS.localSrConf.slice(1));
        rootFiles.push({ kind: 'file', path: FIRSTBOOT_PATHS.pendingFlag.slice(1), content: '', mode: 0o644 });
      } else c = { action: 'kept', why: 'a restore does not touch the local SR' };
    } else if (!moved) c = { action: 'kept', why: p.role === 'boot' ? 'the bootloader is installed again' : 'unchanged' };
    else {
      c = { action: now ? 'recreated' : 'created', why: 'back to the layout the backup was taken from' };
      if (p.role === 'logs' && sfx) fileSystems.push({ device: dev, role: 'logs', argv: ['mkfs.ext3', '-F', '-q', '-L', `logs-${sfx}`, dev] });
      if (p.role === 'swap' && sfx) fileSystems.push({ device: dev, role: 'swap', argv: ['mkswap', '-L', `swap-${sfx}`, dev] });
      if (p.role === 'boot' && bootMode === 'uefi' && sfx) fileSystems.push({ device: dev, role: 'boot', argv: ['mkfs.vfat', '-n', `BOOT-${sfx.toUpperCase()}`, dev] });
    }
    changes.push({ number: p.number, role: p.role, ...c, ...(now && { before: ext(now) }), after: ext(p) });
  }
  changes.sort((a, b) => (a.after ?? a.before)!.firstSector - (b.after ?? b.before)!.firstSector);

  const tables: RestorePlan['tables'] = [];
  if (rewrite) {
    if (overlaps(finalRoot, backupNow)) {
      throw new UpgradeError(`The root partition of the layout the backup was taken from overlaps the backup partition ${backupNow.number} as it is now: the backup cannot be copied back.`);
    }
    // first: today's partitions minus whatever the old root's sectors overlap, plus the old root
    const keep = current.partitions.filter((p) => p.number !== finalRoot.number && !overlaps(p, finalRoot));
    tables.push({ when: 'before-copy', layout: layoutOf(current, [...keep, { ...finalRoot }], disk, bootMode) });
    tables.push({ when: 'after-copy', layout: final });
  }

  // Labels the restored fstab names, on partitions kept from the newer layout.
  const relabel: RestorePlan['relabel'] = [];
  if (sfx && o.current?.labelSuffix && o.current.labelSuffix !== sfx) {
    for (const p of final.partitions) {
      if (!same(p, nowBy.get(p.number))) continue; // made anew above, with the right label
      const dev = partitionDevice(disk, p.number);
      if (p.role === 'logs') relabel.push({ device: dev, role: 'logs', argv: ['e2label', dev, `logs-${sfx}`] });
      if (p.role === 'swap') relabel.push({ device: dev, role: 'swap', argv: ['swaplabel', '-L', `swap-${sfx}`, dev] });
      if (p.role === 'boot' && bootMode === 'uefi') relabel.push({ device: dev, role: 'boot', argv: ['fatlabel', dev, `BOOT-${sfx.toUpperCase()}`] });
    }
  }

  const rootDevice = partitionDevice(disk, finalRoot.number);
  const boot = final.partitions.find((p) => p.role === 'boot');
  if (bootMode === 'uefi' && (final.tableType !== 'gpt' || !boot || boot.typeGuid !== 'C12A7328-F81F-11D2-BA4B-00A0C93EC93B')) {
    throw new UpgradeError(`The layout the backup on ${backup.device} was taken from has no EFI system partition: the restored system cannot boot by UEFI.`,
      'boot the installer by BIOS (legacy) to restore it');
  }
  const biosBlocklists = bootMode === 'bios' && final.tableType === 'gpt' && !final.partitions.some((p) => p.role === 'boot' && p.typeGuid === '21686148-6449-6E6F-744E-656564454649');
  if (biosBlocklists) notes.push('the restored layout has no BIOS-boot partition: GRUB is installed with blocklists (grub-install --force), as on 6.x hosts');
  notes.push(`the backup partition ${backup.device} ${changes.find((c) => c.number === backup.partition)?.action === 'kept' ? 'keeps its copy' : 'is made empty'} after the restore`);
  return {
    disk, backupDevice: backup.device, restored: backup.product, bootMode, rootLabel, rootDevice,
    tables, changes,
    copy: { from: backup.device, to: rootDevice, mkfs: ['mkfs.ext3', '-F', '-q', '-L', rootLabel, rootDevice], exclude: [BACKUP_MARKER.slice(1), BACKUP_INFO.slice(1)] },
    fileSystems, relabel,
    bootloader: {
      mode: bootMode, disk, grubCfg: 'boot/grub/grub.cfg of the restored root',
      ...(biosBlocklists && { biosBlocklists }),
      ...(bootMode === 'uefi' && boot && { efi: { espDevice: partitionDevice(disk, boot.number), espPartition: boot.number, stubCfg: efiStubGrubConfig(rootLabel) } }),
    },
    rootFiles, rootRemovals, notes,
  };
}

// Finding an existing installation and the backups of earlier ones, from
// bytes: each disk's partition table and the first bytes of its partitions
// (ext superblocks). Pure: probeDiskImage (disk/probe.ts) or the installer
// runtime reads the bytes; the runtime mounts the root it is pointed to and
// reads the files that tell the version (ROOT_FILES_TO_READ).
//
// As the product does it (host-installer diskutil.probeDisk): an installation
// is a basic-data (GPT) or Linux (DOS, 0x83) partition whose ext label starts
// with "root-"; a backup is a partition holding the marker file
// /.xen-backup-partition (product.findXenSourceBackups), to which xsforge adds
// /.xsforge-backup.json: the version it holds and the layout it was taken from.
import { MESSAGES } from '../answerfiles/model.ts';
import type { ImageProbe } from '../disk/probe.ts';
import { EXT_PROBE_BYTES, readExtSuperblock, type ExtSuperblock } from '../disk/ext-superblock.ts';
import type { Role, Scheme, TableType } from '../disk/layout.ts';
import { classifyLayout, isLinuxDataPartition, type ExistingLayout } from '../disk/upgrade-layout.ts';
import { partitionDevice } from '../disk/device.ts';
import {
  INVENTORY_PATH, UpgradeError, fileText, readInstalledProduct, describeProduct, type InstalledProduct, type RootFiles,
} from './model.ts';

/** What the planners need of one disk. */
/** A disk as the planners see it: read by disk/probe.ts from an image or a device. */
export type DiskProbe = ImageProbe;

export { EXT_PROBE_BYTES };

export interface FoundInstallation {
  disk: string;
  sizeBytes: number;
  rootPartition: number;
  rootDevice: string;
  rootLabel: string;
  /** the six letters after root- (labels logs-, swap-, BOOT- share them); undefined when the label has another form */
  labelSuffix?: string;
  layout: ExistingLayout;
  backupDevice?: string;
  /** ext superblocks found on the disk, by partition number */
  superblocks: Record<number, ExtSuperblock>;
}

export interface DetectedInstallation extends FoundInstallation {
  product: InstalledProduct;
}

function superblocks(probe: DiskProbe): Record<number, ExtSuperblock> {
  const out: Record<number, ExtSuperblock> = {};
  for (const p of probe.table.existing) {
    const bytes = probe.partitionStarts[p.number];
    const sb = bytes && readExtSuperblock(bytes);
    if (sb) out[p.number] = sb;
  }
  return out;
}

/** Every disk's installation (a root-* ext file system on a basic-data/Linux partition), lowest partition first. */
export function findInstallations(probes: DiskProbe[]): FoundInstallation[] {
  const found: FoundInstallation[] = [];
  for (const probe of probes) {
    if (probe.table.tableType === 'none') continue;
    const sbs = superblocks(probe);
    const root = [...probe.table.existing].sort((a, b) => a.number - b.number)
      .find((p) => isLinuxDataPartition(p) && sbs[p.number]?.label.startsWith('root-'));
    if (!root) continue;
    const labels = Object.fromEntries(Object.entries(sbs).map(([n, sb]) => [n, sb.label]));
    const layout = classifyLayout({ ...probe.table, tableType: probe.table.tableType }, root.number, labels);
    const rootLabel = sbs[root.number]!.label;
    const sfx = /^root-([a-z]{6})$/.exec(rootLabel)?.[1];
    found.push({
      disk: probe.diskName, sizeBytes: probe.sizeBytes, rootPartition: root.number,
      rootDevice: partitionDevice(probe.diskName, root.number), rootLabel, ...(sfx && { labelSuffix: sfx }), layout,
      ...(layout.numbers.backup !== undefined && { backupDevice: partitionDevice(probe.diskName, layout.numbers.backup) }),
      superblocks: sbs,
    });
  }
  return found;
}

/**
 * The installation on `disk` (answer file <existing-installation>). Throws the
 * product's "Could not locate the installation specified to be reinstalled."
 * (SPEC section 3) with a hint of what was found instead.
 */
export function locateInstallation(probes: DiskProbe[], disk: string): FoundInstallation {
  const all = findInstallations(probes);
  const here = all.find((f) => f.disk === disk);
  if (here) return here;
  const seen = probes.map((p) => p.diskName);
  throw new UpgradeError(MESSAGES.installationNotFound,
    all.length ? `installations were found on ${all.map((f) => `${f.disk} (${f.rootLabel} on ${f.rootDevice})`).join(', ')}; point <existing-installation> there`
      : !seen.includes(disk) ? `there is no disk ${disk}; disks found: ${seen.join(', ') || 'none'}`
        : `no basic-data or Linux partition on ${disk} holds an ext file system labelled root-*`);
}

/** Paths the runtime reads from a root (or backup) it mounted, for the planners. */
export const ROOT_FILES_TO_READ = {
  /** exact paths (the carry-over list adds its own: carry-over.ts CARRY_OVER_PATHS) */
  paths: [INVENTORY_PATH, '/.xen-backup-partition', '/.xsforge-backup.json'],
  /** /etc/<brand>-release, matched against the names in /etc */
  patterns: [/^\/etc\/[a-z0-9._+]+-release$/],
};

/** The installation with the product read from its root's files; throws when the root does not say what it is. */
export function describeInstallation(found: FoundInstallation, rootFiles: RootFiles): DetectedInstallation {
  const product = readInstalledProduct(rootFiles);
  if (!product) {
    throw new UpgradeError(`The file system ${found.rootLabel} on ${found.rootDevice} has neither ${INVENTORY_PATH} with PRODUCT_BRAND and PRODUCT_VERSION nor a release file: it is not an installation this installer can upgrade.`,
      'install afresh (mode="fresh" or "reinstall")');
  }
  return { ...found, product };
}

// ---------------------------------------------------------------------------
// Backups

/** The product's marker: an empty file at the top of the backup partition. */
export const BACKUP_MARKER = '/.xen-backup-partition';
/** xsforge's record of what the backup holds (JSON, BackupInfo). */
export const BACKUP_INFO = '/.xsforge-backup.json';
/** ext label of a backup file system; never root-*, so the backup is not taken for an installation. */
export const backupLabel = (sfx: string) => `backup-${sfx}`;

/** A partition as it was when the backup was taken (restore writes the table back from these). */
export interface RecordedPartition {
  number: number;
  role: Role | 'unknown';
  firstSector: number;
  sectorCount: number;
  typeGuid?: string;
  uniqueGuid?: string;
  name?: string;
  /** GPT attribute bits as 0x hex */
  attributes?: string;
  dosId?: number;
  active?: boolean;
}

export interface BackupInfo {
  format: 1;
  /** the product the backed-up root holds */
  product: InstalledProduct;
  disk: string;
  rootPartition: number;
  backupPartition: number;
  /** the backed-up root's label: restore gives the root this label again, as its fstab and grub.cfg expect */
  rootLabel: string;
  labelSuffix?: string;
  bootMode: 'uefi' | 'bios';
  /** the table when the backup was taken */
  layout: {
    scheme: Scheme;
    tableType: TableType;
    diskSectors: number;
    sectorSize: number;
    diskGuid?: string;
    diskSignature?: number;
    partitions: RecordedPartition[];
  };
  /** the installer that took the backup */
  takenBy: { brand: string; version: string; build: string; mode: 'upgrade' | 'reinstall' };
}

/** BackupInfo of an installation about to be backed up. */
export function backupInfoFor(inst: DetectedInstallation, bootMode: 'uefi' | 'bios', takenBy: BackupInfo['takenBy']): BackupInfo {
  if (inst.layout.numbers.backup === undefined) throw new UpgradeError(`${inst.disk} has no backup partition next to ${inst.rootDevice}`);
  return {
    format: 1, product: inst.product, disk: inst.disk, rootPartition: inst.rootPartition, backupPartition: inst.layout.numbers.backup,
    rootLabel: inst.rootLabel, ...(inst.labelSuffix && { labelSuffix: inst.labelSuffix }), bootMode,
    layout: {
      scheme: inst.layout.scheme, tableType: inst.layout.tableType, diskSectors: inst.layout.diskSectors, sectorSize: inst.layout.sectorSize,
      ...(inst.layout.diskGuid && { diskGuid: inst.layout.diskGuid }),
      ...(inst.layout.diskSignature !== undefined && { diskSignature: inst.layout.diskSignature }),
      partitions: inst.layout.partitions.map((p) => ({
        number: p.number, role: p.role, firstSector: p.firstSector, sectorCount: p.sectorCount,
        ...(p.typeGuid && { typeGuid: p.typeGuid }), ...(p.uniqueGuid && { uniqueGuid: p.uniqueGuid }),
        ...(p.name !== undefined && { name: p.name }), ...(p.attributes !== undefined && { attributes: `0x${p.attributes.toString(16)}` }),
        ...(p.dosId !== undefined && { dosId: p.dosId }), ...(p.active !== undefined && { active: p.active }),
      })),
    },
    takenBy,
  };
}

/** The marker file's text: JSON with a trailing newline. */
export function backupInfoJson(info: BackupInfo): string {
  return `${JSON.stringify(info, null, 2)}\n`;
}

/** Parse and check a marker file; throws UpgradeError naming what is wrong. */
export function parseBackupInfo(text: string, where = BACKUP_INFO): BackupInfo {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new UpgradeError(`${where} is not valid JSON: ${(e as Error).message}`);
  }
  const o = v as Partial<BackupInfo>;
  const bad = (what: string) => new UpgradeError(`${where} is not an xsforge backup record: ${what}`);
  if (!o || typeof o !== 'object' || o.format !== 1) throw bad('format is not 1');
  if (!o.product || typeof o.product.brand !== 'string' || typeof o.product.version !== 'string') throw bad('no product brand and version');
  if (typeof o.rootLabel !== 'string' || !o.rootLabel.startsWith('root-')) throw bad('no root-* rootLabel');
  if (!Number.isInteger(o.rootPartition) || !Number.isInteger(o.backupPartition)) throw bad('no root and backup partition numbers');
  if (o.bootMode !== 'uefi' && o.bootMode !== 'bios') throw bad('bootMode is neither uefi nor bios');
  const l = o.layout;
  if (!l || !Array.isArray(l.partitions) || !['gpt', 'dos'].includes(l.tableType as string) || !Number.isInteger(l.diskSectors)) throw bad('no layout');
  for (const p of l.partitions) {
    if (!Number.isInteger(p.number) || !Number.isInteger(p.firstSector) || !Number.isInteger(p.sectorCount)) throw bad(`partition entry ${JSON.stringify(p)}`);
  }
  return o as BackupInfo;
}

export interface BackupCandidate {
  disk: string;
  partition: number;
  device: string;
  label: string;
}

/** Partitions that may hold a backup: ext file systems on basic-data/Linux partitions that are no root or logs. The runtime mounts each read-only and reads BACKUP_MARKER, BACKUP_INFO and the inventory. */
export function backupCandidates(probes: DiskProbe[]): BackupCandidate[] {
  const out: BackupCandidate[] = [];
  for (const probe of probes) {
    if (probe.table.tableType === 'none') continue;
    const sbs = superblocks(probe);
    for (const p of [...probe.table.existing].sort((a, b) => a.number - b.number)) {
      const sb = sbs[p.number];
      if (!sb || !isLinuxDataPartition(p) || sb.label.startsWith('root-') || sb.label.startsWith('logs-')) continue;
      out.push({ disk: probe.diskName, partition: p.number, device: partitionDevice(probe.diskName, p.number), label: sb.label });
    }
  }
  return out;
}

export interface FoundBackup extends BackupCandidate {
  product: InstalledProduct;
  /** xsforge's record; absent for a product-made backup (marker only) */
  info?: BackupInfo;
}

/** The backup on a candidate, from its files; undefined when it holds no marker or no readable product. */
export function readBackup(candidate: BackupCandidate, files: RootFiles): FoundBackup | undefined {
  const marker = fileText(files, BACKUP_MARKER) !== undefined;
  const infoText = fileText(files, BACKUP_INFO);
  if (!marker && infoText === undefined) return undefined;
  const info = infoText !== undefined ? parseBackupInfo(infoText, `${candidate.device}:${BACKUP_INFO}`) : undefined;
  const product = readInstalledProduct(files) ?? info?.product;
  if (!product) return undefined;
  return { ...candidate, product, ...(info && { info }) };
}

/**
 * The one backup to restore (answer file <restore>, optional <backup-disk>), with
 * the product's texts (host-installer answerfile.py parseRestore; the seed has
 * none: seed:1505 only says restore is offered when a backup is found):
 * none at all: "Could not locate exsisting backup." (sic); more than one:
 * "Multiple backups were found. ..."; none on the given disk: "Unable to find a backup to restore."
 */
export function selectBackup(backups: FoundBackup[], backupDisk?: string): FoundBackup {
  if (backups.length === 0) throw new UpgradeError(MESSAGES.noBackupFound, 'an upgrade or reinstall leaves a backup of the previous installation; there is none on any disk');
  const list = (b: FoundBackup[]) => b.map((x) => `${x.device} (${describeProduct(x.product)})`).join(', ');
  const here = backupDisk === undefined ? backups : backups.filter((b) => b.disk === backupDisk || b.info?.disk === backupDisk);
  if (here.length > 1) throw new UpgradeError(MESSAGES.multipleBackups, `backups: ${list(here)}; name the disk with <backup-disk>${backupDisk ? ' (each disk may hold one)' : ''}`);
  if (here.length === 0) throw new UpgradeError(MESSAGES.backupNotFound, `backups found: ${list(backups)}; <backup-disk> is ${backupDisk}`);
  return here[0]!;
}

// The product's partition layouts (SPEC section 4, seed:3439-3550), planned as
// pure data: disk size and options in, partitions sector for sector out. The
// arithmetic follows the 7.1 installer (host-installer 10.0.x backend.py
// inspectTargetDisk/writeDom0DiskPartitions and disktools.py createPartition):
// each partition starts where the previous one in on-disk order ends, the SR
// takes what is left, GPT's last usable sector is taken as extent - 34 and a
// DOS disk is cut to whole 255x63 cylinders below 0xffe00000 sectors.
import { XsforgeError } from '../core/errors.ts';
import { guidFromSeed, normalizeGuid, u32FromSeed } from './guid.ts';

export type Scheme = 'gpt' | 'dos' | 'old-gpt';
export type TableType = 'gpt' | 'dos';
export type Role = 'root' | 'backup' | 'logs' | 'boot' | 'swap' | 'sr' | 'utility';
export type PreserveFirstPartition = 'true' | 'false' | 'if-utility';

/** Partition type GUIDs the installer uses (GPTPartitionTool). */
export const TYPE_GUID = {
  /** root, backup, logs: "basic data", not 0FC63DAF; the installer finds root-* labels only on this type */
  basicData: 'EBD0A0A2-B9E5-4433-87C0-68B6B72699C7',
  swap: '0657FD6D-A4AB-43C4-84E5-0933C84B4F4F',
  lvm: 'E6D6D379-F507-44C2-A23C-238F2A3DF928',
  esp: 'C12A7328-F81F-11D2-BA4B-00A0C93EC93B',
  biosBoot: '21686148-6449-6E6F-744E-656564454649',
} as const;

/** sgdisk type codes for the GUIDs above (what `sgdisk -p` prints in "Code"). */
export const SGDISK_CODE: Record<string, string> = {
  [TYPE_GUID.basicData]: '0700',
  [TYPE_GUID.swap]: '8200',
  [TYPE_GUID.lvm]: '8E00',
  [TYPE_GUID.esp]: 'EF00',
  [TYPE_GUID.biosBoot]: 'EF02',
};

export const DOS_ID = { linux: 0x83, swap: 0x82, lvm: 0x8e, utility: 0xde, efi: 0xef } as const;

/** Partition sizes in MiB (constants.py). */
export const SIZE_MIB = {
  boot: 512,
  root: 18432,
  backup: 18432,
  logs: 4096,
  swap: 1024,
  rootOldGpt: 3584,
  rootOldDos: 4096,
  backupOld: 4096,
} as const;

export const MIN_DISK_GIB = 46;
export const MIN_DISK_GIB_OLD = 12;
export const MAX_DOS_DISK_GIB = 2047;
/** DOS tables address 32-bit sectors; the installer stops a little short (2047 GiB). */
export const DOS_MAX_SECTORS = 0xffe00000;
export const DOS_HEADS = 255;
export const DOS_SECTORS_PER_TRACK = 63;
/** GPT name of a vendor utility partition kept on GPT disks. */
export const UTILITY_PARTLABEL = 'DELLUTILITY';
/** GPT attribute bit 2: legacy BIOS bootable (set on the boot partition for BIOS boot). */
export const ATTR_LEGACY_BIOS_BOOTABLE = 1n << 2n;

export class LayoutError extends XsforgeError {
  constructor(message: string, hint?: string) {
    super(message, hint);
    this.name = 'LayoutError';
  }
}

/** A partition already on the disk (as readGpt/readMbr return them). */
export interface ExistingPartition {
  number: number;
  firstSector: number;
  sectorCount: number;
  /** GPT disks */
  typeGuid?: string;
  uniqueGuid?: string;
  name?: string;
  attributes?: bigint;
  /** DOS disks */
  dosId?: number;
  active?: boolean;
}

export interface LayoutRequest {
  /** gpt: the new 7.x layout; dos: `disable-gpt`; old-gpt: the pre-7.0 GPT layout */
  scheme: Scheme;
  /** disk size in sectors of `sectorSize` bytes */
  diskSectors: number | bigint;
  /** 512 (default) or 4096; the DOS layout needs 512 */
  sectorSize?: number;
  /** partitions on the disk now (only partition 1 can survive) */
  existing?: ExistingPartition[];
  /** table type on the disk now; defaults to what the kept partition looks like */
  existingTableType?: TableType;
  /** a local SR on the primary disk (answer file `guest-storage`, default yes) */
  guestStorage: boolean;
  uefi: boolean;
  /** for messages, e.g. /dev/sda */
  diskName: string;
  /** answer file `preserve-first-partition` (default if-utility) */
  preserveFirstPartition?: PreserveFirstPartition;
  /** six lower-case letters chosen by the caller; labels are filled in when given */
  labelSuffix?: string;
  /** seed for the disk GUID, partition GUIDs and DOS disk signature; given => filled in */
  guidSeed?: string;
}

export interface PlannedPartition {
  number: number;
  role: Role;
  firstSector: number;
  sectorCount: number;
  lastSector: number;
  /** GPT tables */
  typeGuid?: string;
  uniqueGuid?: string;
  /** GPT partition name (empty for new partitions, as the product leaves them) */
  name?: string;
  /** GPT attribute bits other than legacy-BIOS-bootable (kept from a utility partition) */
  attributes?: bigint;
  /** DOS tables */
  dosId?: number;
  /** file system the installer makes here, if any */
  fsType?: 'ext3' | 'vfat' | 'swap';
  mountPoint?: string;
  labelPrefix?: 'root-' | 'logs-' | 'swap-' | 'BOOT-';
  label?: string;
  /** DOS bootable flag, or on GPT the legacy-BIOS-bootable attribute */
  active?: boolean;
}

export interface PartitionNumbers {
  root: number;
  backup: number;
  logs?: number;
  boot?: number;
  swap?: number;
  sr?: number;
  utility?: number;
}

export interface LayoutPlan {
  /** the layout actually planned (a kept DOS utility partition forces dos) */
  scheme: Scheme;
  tableType: TableType;
  bootMode: 'uefi' | 'bios';
  diskName: string;
  sectorSize: number;
  diskSectors: number;
  /** usable area as the product computes it (GPT: 34 .. extent-34; DOS: 63 .. last whole cylinder) */
  firstUsableSector: number;
  lastUsableSector: number;
  /** in on-disk order */
  partitions: PlannedPartition[];
  numbers: PartitionNumbers;
  /** inventory PARTITION_LAYOUT value */
  partitionLayout: string;
  labelSuffix?: string;
  diskGuid?: string;
  /** DOS disk signature (MBR bytes 440..443) */
  diskSignature?: number;
}

function toSafeNumber(v: number | bigint, what: string): number {
  const n = typeof v === 'bigint' ? Number(v) : v;
  if (!Number.isSafeInteger(n) || n <= 0 || (typeof v === 'bigint' && BigInt(n) !== v)) {
    throw new LayoutError(`${what} must be a positive whole number below 2^53, got ${String(v)}`);
  }
  return n;
}

/** GiB the way the installer counts them: floor(bytes / 2^30). */
export function diskGiB(diskSectors: number | bigint, sectorSize = 512): number {
  return Number((BigInt(diskSectors) * BigInt(sectorSize)) / (1n << 30n));
}

function isUtility(p: ExistingPartition, tableType: TableType | undefined): boolean {
  const dos = p.dosId !== undefined && p.dosId === DOS_ID.utility;
  const gpt = p.typeGuid !== undefined && normalizeGuid(p.typeGuid) === TYPE_GUID.esp && (p.name ?? '') === UTILITY_PARTLABEL;
  if (tableType === 'dos') return dos;
  if (tableType === 'gpt') return gpt;
  return dos || gpt;
}

/** The partition numbers the installer picks for a fresh install (inspectTargetDisk). */
function partitionNumbers(primary: number, guestStorage: boolean, newLayout: boolean, tableType: TableType): PartitionNumbers {
  const sr = guestStorage ? primary + 2 : -1;
  const nums: PartitionNumbers = { root: primary, backup: primary + 1 };
  if (primary > 1) nums.utility = 1;
  if (sr > 0) nums.sr = sr;
  if (tableType === 'gpt') nums.boot = Math.max(primary + 1, sr) + 1;
  if (newLayout) {
    nums.logs = primary + 4;
    nums.swap = primary + 5;
  }
  return nums;
}

/** Inventory PARTITION_LAYOUT (backend.py writeInventory). */
export function partitionLayoutInventory(plan: Pick<LayoutPlan, 'tableType' | 'scheme' | 'numbers'>): string {
  let layout = 'ROOT,BACKUP';
  if (plan.tableType === 'gpt') layout += plan.scheme === 'gpt' ? ',LOG,BOOT,SWAP' : ',BOOT';
  if (plan.numbers.sr !== undefined) layout += ',SR';
  return layout;
}

/**
 * Plan the primary disk's partitions for a fresh install. Throws LayoutError
 * with the product's messages (utility partitions, disk too small, UEFI on DOS).
 */
export function planLayout(req: LayoutRequest): LayoutPlan {
  const sectorSize = req.sectorSize ?? 512;
  if (sectorSize !== 512 && sectorSize !== 4096) {
    throw new LayoutError(`sector size ${sectorSize} of ${req.diskName} is not supported: only 512 and 4096 bytes are`);
  }
  const diskSectors = toSafeNumber(req.diskSectors, 'diskSectors');
  if (!['gpt', 'dos', 'old-gpt'].includes(req.scheme)) {
    throw new LayoutError(`unknown partition scheme '${req.scheme}'`, 'use gpt, dos (disable-gpt) or old-gpt');
  }
  if (req.labelSuffix !== undefined && !/^[a-z]{6}$/.test(req.labelSuffix)) {
    throw new LayoutError(`label suffix must be 6 lower-case letters, got '${req.labelSuffix}'`);
  }
  const existing = [...(req.existing ?? [])].sort((a, b) => a.number - b.number);
  const preserve = req.preserveFirstPartition ?? 'if-utility';

  // Which partition (if any) survives at 1 (inspectTargetDisk).
  let primary = 1;
  let kept: ExistingPartition | undefined;
  if (preserve === 'true') {
    kept = existing.find((p) => p.number === 1);
    if (!kept) {
      throw new LayoutError(`preserve-first-partition is true but ${req.diskName} has no partition 1`);
    }
    primary = 2;
  } else if (preserve === 'if-utility') {
    const utilityNumbers = existing.filter((p) => isUtility(p, req.existingTableType)).map((p) => p.number);
    primary += Math.max(0, ...utilityNumbers);
    if (primary > 2) {
      throw new LayoutError(`Installer only supports a single Utility Partition at partition 1, but found Utility Partitions at [${utilityNumbers.join(', ')}]`,
        'remove the extra utility partitions, or set preserve-first-partition="false" to zap them');
    }
    kept = existing.find((p) => p.number === 1);
  } else if (preserve !== 'false') {
    throw new LayoutError(`preserve-first-partition must be true, false or if-utility, got '${String(preserve)}'`);
  }
  if (primary === 1) kept = undefined;

  // Table type (selectPartitionTableType): a kept partition 1 keeps the disk's
  // table, since something probably chain-boots from it.
  let tableType: TableType = req.scheme === 'dos' ? 'dos' : 'gpt';
  if (kept) tableType = req.existingTableType ?? (kept.dosId !== undefined && kept.typeGuid === undefined ? 'dos' : 'gpt');
  let scheme: Scheme;
  if (tableType === 'dos') scheme = 'dos'; // seed:3517: a utility partition on DOS keeps the DOS layout
  else scheme = req.scheme === 'gpt' ? 'gpt' : 'old-gpt';
  const newLayout = scheme === 'gpt';

  // Minimum sizes, old first, as writeDom0DiskPartitions checks them.
  const gib = diskGiB(diskSectors, sectorSize);
  if (gib < MIN_DISK_GIB_OLD) throw new LayoutError(`The disk ${req.diskName} is smaller than ${MIN_DISK_GIB_OLD}GB.`);
  if (newLayout && gib < MIN_DISK_GIB) {
    throw new LayoutError(`The disk ${req.diskName} is smaller than ${MIN_DISK_GIB}GB.`,
      `the new GPT layout needs ${MIN_DISK_GIB} GiB; disks of ${MIN_DISK_GIB_OLD} to ${MIN_DISK_GIB} GiB can use the DOS layout (disable-gpt)`);
  }
  if (req.uefi && tableType !== 'gpt') throw new LayoutError('UEFI boot requires the partition type to be GPT');
  if (tableType === 'dos' && sectorSize !== 512) {
    throw new LayoutError(`the DOS layout needs 512-byte sectors; ${req.diskName} has ${sectorSize}-byte sectors`, 'use the GPT layout on this disk');
  }

  // Usable area (disktools.py readDiskDetails).
  let firstUsable: number;
  let lastUsable: number;
  if (tableType === 'gpt') {
    firstUsable = 34;
    lastUsable = diskSectors - 34;
  } else {
    const cylinder = DOS_HEADS * DOS_SECTORS_PER_TRACK;
    const extent = Math.floor(Math.min(diskSectors, DOS_MAX_SECTORS) / cylinder) * cylinder;
    firstUsable = DOS_SECTORS_PER_TRACK;
    lastUsable = extent - 1;
  }

  const numbers = partitionNumbers(primary, req.guestStorage, newLayout, tableType);
  const mib = (n: number) => (n * 2 ** 20) / sectorSize;
  const parts: PlannedPartition[] = [];
  // Each new partition follows the previous one; the first follows the kept
  // partition 1, or starts at 1 MiB (new layout) / the first usable sector (old).
  let cursor: number;
  if (kept) cursor = kept.firstSector + kept.sectorCount;
  else cursor = newLayout ? mib(1) : firstUsable;

  const sfx = req.labelSuffix;
  const add = (p: Omit<PlannedPartition, 'firstSector' | 'lastSector' | 'sectorCount'>, sectorCount: number | 'rest') => {
    const count = sectorCount === 'rest' ? lastUsable + 1 - cursor : sectorCount;
    if (count <= 0 || cursor + count - 1 > lastUsable) {
      throw new LayoutError(`the partitions do not fit on ${req.diskName}: partition ${p.number} (${p.role}) would ${count <= 0 ? 'have no space' : `end at sector ${cursor + count - 1}, past the last usable sector ${lastUsable}`}`);
    }
    parts.push({ ...p, firstSector: cursor, sectorCount: count, lastSector: cursor + count - 1 });
    cursor += count;
  };
  const labelled = (prefix: 'root-' | 'logs-' | 'swap-' | 'BOOT-') => ({
    labelPrefix: prefix,
    ...(sfx ? { label: prefix === 'BOOT-' ? `${prefix}${sfx.toUpperCase()}` : `${prefix}${sfx}` } : {}),
  });
  const gpt = tableType === 'gpt';
  const linux = gpt ? { typeGuid: TYPE_GUID.basicData } : { dosId: DOS_ID.linux };
  const bootPart = () => {
    if (!gpt || numbers.boot === undefined) return;
    if (req.uefi) add({ number: numbers.boot, role: 'boot', typeGuid: TYPE_GUID.esp, fsType: 'vfat', mountPoint: '/boot/efi', ...labelled('BOOT-') }, mib(SIZE_MIB.boot));
    // BIOS: the BIOS-boot partition holds GRUB's core image; the installer marks it legacy-BIOS-bootable
    else add({ number: numbers.boot, role: 'boot', typeGuid: TYPE_GUID.biosBoot, active: true }, mib(SIZE_MIB.boot));
  };
  const srPart = () => {
    if (numbers.sr === undefined) return;
    add({ number: numbers.sr, role: 'sr', ...(gpt ? { typeGuid: TYPE_GUID.lvm } : { dosId: DOS_ID.lvm }) }, 'rest');
  };

  if (newLayout) {
    // On disk: logs, backup, root, boot, swap, SR (5,2,1,4,6,3 without a utility partition)
    add({ number: numbers.logs!, role: 'logs', ...linux, fsType: 'ext3', mountPoint: '/var/log', ...labelled('logs-') }, mib(SIZE_MIB.logs));
    add({ number: numbers.backup, role: 'backup', ...linux }, mib(SIZE_MIB.backup));
    add({ number: numbers.root, role: 'root', ...linux, fsType: 'ext3', mountPoint: '/', ...labelled('root-') }, mib(SIZE_MIB.root));
    bootPart();
    add({ number: numbers.swap!, role: 'swap', ...(gpt ? { typeGuid: TYPE_GUID.swap } : { dosId: DOS_ID.swap }), fsType: 'swap', ...labelled('swap-') }, mib(SIZE_MIB.swap));
    srPart();
  } else {
    // Old layouts: [boot,] root, backup, SR; DOS has no boot partition and root is active
    bootPart();
    add({ number: numbers.root, role: 'root', ...linux, fsType: 'ext3', mountPoint: '/', ...labelled('root-'), ...(gpt ? {} : { active: true }) },
      mib(gpt ? SIZE_MIB.rootOldGpt : SIZE_MIB.rootOldDos));
    add({ number: numbers.backup, role: 'backup', ...linux }, mib(SIZE_MIB.backupOld));
    srPart();
  }

  if (kept) {
    const keep: PlannedPartition = {
      number: 1, role: 'utility', firstSector: kept.firstSector, sectorCount: kept.sectorCount,
      lastSector: kept.firstSector + kept.sectorCount - 1,
    };
    if (gpt) {
      if (!kept.typeGuid) throw new LayoutError(`partition 1 of ${req.diskName} has no GPT type GUID to keep`);
      keep.typeGuid = normalizeGuid(kept.typeGuid);
      keep.name = kept.name ?? '';
      if (kept.uniqueGuid) keep.uniqueGuid = normalizeGuid(kept.uniqueGuid);
      // the installer clears legacy-BIOS-bootable on every partition but the boot one
      const attrs = (kept.attributes ?? 0n) & ~ATTR_LEGACY_BIOS_BOOTABLE;
      if (attrs) keep.attributes = attrs;
    } else {
      if (kept.dosId === undefined) throw new LayoutError(`partition 1 of ${req.diskName} has no DOS partition id to keep`);
      keep.dosId = kept.dosId;
      keep.active = false; // sfdisk -A<root> leaves only the root partition active
    }
    if (keep.lastSector > lastUsable) {
      throw new LayoutError(`partition 1 of ${req.diskName} ends at sector ${keep.lastSector}, past the last usable sector ${lastUsable}`);
    }
    parts.unshift(keep);
  }

  parts.sort((a, b) => a.firstSector - b.firstSector);
  const plan: LayoutPlan = {
    scheme, tableType, bootMode: req.uefi ? 'uefi' : 'bios', diskName: req.diskName, sectorSize, diskSectors,
    firstUsableSector: firstUsable, lastUsableSector: lastUsable, partitions: parts, numbers,
    partitionLayout: '',
  };
  plan.partitionLayout = partitionLayoutInventory(plan);
  if (sfx) plan.labelSuffix = sfx;
  if (req.guidSeed !== undefined) {
    if (gpt) {
      plan.diskGuid = guidFromSeed(req.guidSeed, 'disk');
      for (const p of parts) p.uniqueGuid ??= guidFromSeed(req.guidSeed, `partition-${p.number}`);
    } else {
      plan.diskSignature = u32FromSeed(req.guidSeed, 'disk-signature');
    }
  }
  return plan;
}

/** Partition of a plan by role (undefined when the layout has none). */
export function partitionByRole(plan: LayoutPlan, role: Role): PlannedPartition | undefined {
  return plan.partitions.find((p) => p.role === role);
}

// ---------------------------------------------------------------------------
// Upgrades (seed:3487-3523): which layout an upgrade keeps or moves to.

export interface UpgradeLayoutInput {
  /** layout on the disk now: dos (5.x), old-gpt (6.x: root, backup, SR), gpt (7.x new layout) */
  existingScheme: Scheme;
  /** the local SR holds VDIs (VMs) */
  srHasData: boolean;
  /** primary disk size in GiB (floor(bytes / 2^30)) */
  diskGiB: number;
  /** a utility partition at 1 (counted in the partition numbers) */
  utilityPartition?: boolean;
  /** upgrade run by XenCenter's rolling pool upgrade, which leaves the safe2upgrade mark (default true) */
  rollingPoolUpgrade?: boolean;
}

export interface UpgradeLayoutDecision {
  scheme: Scheme;
  /** the upgrade repartitions the disk */
  changesLayout: boolean;
  partitionsBefore: number;
  partitionsAfter: number;
  reason: string;
}

/** The seed's table of upgrade cases (seed:3510-3523) as a decision. */
export function layoutForUpgrade(input: UpgradeLayoutInput): UpgradeLayoutDecision {
  const util = input.utilityPartition ? 1 : 0;
  switch (input.existingScheme) {
    case 'dos':
      return { scheme: 'dos', changesLayout: false, partitionsBefore: 3 + util, partitionsAfter: 3 + util,
        reason: 'upgrades from a DOS partition table keep the DOS layout (and any utility partition), preserving local storage' };
    case 'gpt':
      return { scheme: 'gpt', changesLayout: false, partitionsBefore: 6 + util, partitionsAfter: 6 + util,
        reason: 'the disk already has the new GPT layout' };
    case 'old-gpt': {
      const rpu = input.rollingPoolUpgrade ?? true;
      const bigEnough = input.diskGiB >= MIN_DISK_GIB;
      if (!input.srHasData && bigEnough && rpu) {
        return { scheme: 'gpt', changesLayout: true, partitionsBefore: 3 + util, partitionsAfter: 6 + util,
          reason: `no VDIs on the local SR and at least ${MIN_DISK_GIB} GB: moving to the new GPT layout` };
      }
      const why = !rpu ? 'the upgrade is not a XenCenter rolling pool upgrade (the xe CLI cannot move to the new layout)'
        : input.srHasData ? 'the local SR holds VDIs' : `the disk is smaller than ${MIN_DISK_GIB} GB`;
      return { scheme: 'old-gpt', changesLayout: true, partitionsBefore: 3 + util, partitionsAfter: 4 + util,
        reason: `${why}: keeping the old GPT layout, with 512 MiB of the dom0 partition made into a boot partition` };
    }
    default:
      throw new LayoutError(`unknown partition scheme '${String(input.existingScheme)}'`);
  }
}

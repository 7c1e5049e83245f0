// Layouts on upgrade (seed:3487-3523), as pure data: the partitions an
// existing installation has (classified from its table and file-system
// labels), and what an upgrade does to each of them. The rules of the seed's
// table are layoutForUpgrade's (layout.ts); this file turns its decision into a
// LayoutPlan the table writer takes, plus a verdict per partition.
//
// The invariant the product promises: an upgrade never touches the local SR.
// The one exception is the seed's own: a 6.x host moves to the new layout only
// when its SR holds no VDIs (seed:3477-3494), and then the SR is made anew.
import { guidFromSeed, normalizeGuid } from './guid.ts';
import { gptUsableRange } from './gpt.ts';
import {
  DOS_ID, LayoutError, SIZE_MIB, TYPE_GUID, diskGiB, layoutForUpgrade, planLayout,
  type ExistingPartition, type LayoutPlan, type PartitionNumbers, type PlannedPartition, type Role, type Scheme,
  type TableType, type UpgradeLayoutDecision,
} from './layout.ts';

export type ExistingRole = Role | 'unknown';

export interface ClassifiedPartition extends ExistingPartition {
  role: ExistingRole;
  /** ext label, when the partition holds an ext file system */
  label?: string;
}

/** The layout of a disk that holds an installation. */
export interface ExistingLayout {
  /** dos (5.x, disable-gpt, utility partitions), old-gpt (6.x: root, backup, SR [, boot]), gpt (the 7.x new layout) */
  scheme: Scheme;
  tableType: TableType;
  diskSectors: number;
  sectorSize: number;
  /** a partition at 1 kept in front of the product's (root is then 2) */
  utility: boolean;
  diskGuid?: string;
  diskSignature?: number;
  numbers: Partial<PartitionNumbers> & { root: number };
  /** by partition number */
  partitions: ClassifiedPartition[];
  /** from the boot partition's type (GPT only): ESP = uefi, BIOS-boot = bios */
  bootMode?: 'uefi' | 'bios';
}

export interface TableFacts {
  tableType: TableType;
  diskSectors: number;
  sectorSize: number;
  existing: ExistingPartition[];
  diskGuid?: string;
  diskSignature?: number;
}

const isType = (p: ExistingPartition, guid: string) => p.typeGuid !== undefined && normalizeGuid(p.typeGuid) === guid;
/** Where the installer looks for ext labels: basic data (GPT) or Linux (DOS) (diskutil.probeDisk, ID_LINUX). */
export function isLinuxDataPartition(p: ExistingPartition): boolean {
  return isType(p, TYPE_GUID.basicData) || p.dosId === DOS_ID.linux;
}

/**
 * Classify the partitions of a disk around its root partition (the one labelled
 * root-*). Numbers follow the installer's (backend.py): backup = root + 1; the
 * others are told by type (SR: LVM, boot: ESP or BIOS boot, swap) and by label
 * (logs-*, or basic data at root + 4). A logs partition makes it the new layout.
 */
export function classifyLayout(table: TableFacts, rootNumber: number, labels: Record<number, string | undefined> = {}): ExistingLayout {
  const parts = [...table.existing].sort((a, b) => a.number - b.number);
  const byNumber = new Map(parts.map((p) => [p.number, p]));
  const root = byNumber.get(rootNumber);
  if (!root) throw new LayoutError(`partition ${rootNumber} is not in the partition table`);
  const roles = new Map<number, ExistingRole>();
  roles.set(rootNumber, 'root');
  const utility = rootNumber === 2 && byNumber.has(1);
  if (utility) roles.set(1, 'utility');
  const backup = byNumber.get(rootNumber + 1);
  if (backup && isLinuxDataPartition(backup)) roles.set(backup.number, 'backup');
  for (const p of parts) {
    if (roles.has(p.number)) continue;
    const label = labels[p.number];
    if (isType(p, TYPE_GUID.lvm) || p.dosId === DOS_ID.lvm) roles.set(p.number, 'sr');
    else if (isType(p, TYPE_GUID.esp) || isType(p, TYPE_GUID.biosBoot)) roles.set(p.number, 'boot');
    else if (isType(p, TYPE_GUID.swap) || p.dosId === DOS_ID.swap) roles.set(p.number, 'swap');
    else if (isLinuxDataPartition(p) && (label?.startsWith('logs-') || (label === undefined && p.number === rootNumber + 4))) roles.set(p.number, 'logs');
  }
  const numbers: ExistingLayout['numbers'] = { root: rootNumber };
  for (const [n, r] of roles) if (r !== 'unknown' && r !== 'root') (numbers as Record<string, number>)[r] = n;
  if (numbers.utility === undefined) delete numbers.utility;
  const boot = numbers.boot !== undefined ? byNumber.get(numbers.boot) : undefined;
  const scheme: Scheme = table.tableType === 'dos' ? 'dos' : numbers.logs !== undefined ? 'gpt' : 'old-gpt';
  return {
    scheme, tableType: table.tableType, diskSectors: table.diskSectors, sectorSize: table.sectorSize, utility,
    ...(table.diskGuid && { diskGuid: table.diskGuid }),
    ...(table.diskSignature !== undefined && { diskSignature: table.diskSignature }),
    numbers,
    partitions: parts.map((p) => ({ ...p, role: roles.get(p.number) ?? 'unknown', ...(labels[p.number] !== undefined && { label: labels[p.number] }) })),
    ...(boot && { bootMode: isType(boot, TYPE_GUID.esp) ? 'uefi' as const : 'bios' as const }),
  };
}

export type PartitionAction =
  /** left as it is, contents and all */
  | 'kept'
  /** same place, new file system */
  | 'reformatted'
  /** same place and type, no file system: GRUB's BIOS core image is written again */
  | 'bootloader'
  /** a new partition where there was none */
  | 'created'
  /** the table entry changes (place or type) and the partition is made anew */
  | 'recreated'
  /** gone from the table */
  | 'deleted';

export interface PartitionChange {
  number: number;
  role: ExistingRole;
  action: PartitionAction;
  before?: { firstSector: number; sectorCount: number; type: string };
  after?: { firstSector: number; sectorCount: number; type: string };
  why: string;
}

export interface UpgradeLayoutOptions {
  /** the local SR holds VDIs (the runtime asks LVM) */
  srHasData: boolean;
  diskBytes: number;
  uefi: boolean;
  /** kept from the existing root label (root-<sfx>) so logs/swap/boot labels stay valid */
  labelSuffix: string;
  /** for GUIDs of partitions the upgrade creates */
  guidSeed: string;
  diskName: string;
  /** false: never move to the new layout (the seed: only XenCenter's rolling pool upgrade does); default true */
  allowLayoutMove?: boolean;
}

export interface UpgradeLayoutPlan {
  decision: UpgradeLayoutDecision;
  /** the table after the upgrade */
  layout: LayoutPlan;
  changes: PartitionChange[];
  /** the partition table is written (new layout, a boot partition carved or retyped) */
  writesTable: boolean;
  partitionsBefore: number;
  partitionsAfter: number;
  /** the old root, sector for sector: where the backup is copied from */
  oldRoot: { number: number; firstSector: number; sectorCount: number };
  /**
   * before-table-write: the old root is copied to the backup partition first (its
   * place is kept); after-table-write: the backup partition is new, so the copy
   * reads the old root from its old sectors, which no partition made before the
   * copy overlaps (checked here)
   */
  backupCopy: 'before-table-write' | 'after-table-write';
  /** the SR keeps number, first sector, size and type: the upgrade does not touch it */
  srUntouched: boolean;
}

function typeOf(p: { typeGuid?: string; dosId?: number }): string {
  return p.typeGuid ? normalizeGuid(p.typeGuid) : p.dosId !== undefined ? `0x${p.dosId.toString(16).padStart(2, '0')}` : '-';
}

const mibSectors = (mib: number, sectorSize: number) => (mib * 2 ** 20) / sectorSize;

function overlaps(a: { firstSector: number; sectorCount: number }, b: { firstSector: number; sectorCount: number }): boolean {
  return a.firstSector < b.firstSector + b.sectorCount && b.firstSector < a.firstSector + a.sectorCount;
}

/** The reference plan of a scheme for this disk: numbers, labels, types and usable range as a fresh install has them. */
function referencePlan(existing: ExistingLayout, scheme: Scheme, o: UpgradeLayoutOptions): LayoutPlan {
  return planLayout({
    scheme, diskSectors: existing.diskSectors, sectorSize: existing.sectorSize,
    existing: existing.partitions, existingTableType: existing.tableType,
    guestStorage: existing.numbers.sr !== undefined, uefi: o.uefi, diskName: o.diskName,
    // whatever is at 1 in front of root stays, utility partition or not (the installer's primary_partnum)
    preserveFirstPartition: existing.utility ? 'true' : 'false',
    labelSuffix: o.labelSuffix, guidSeed: o.guidSeed,
  });
}

/**
 * What an upgrade does to the disk's layout (seed:3510-3523): DOS stays DOS; the
 * new layout stays; old GPT moves to the new layout when the SR is empty and
 * the disk has at least 46 GB, and otherwise stays old GPT, gaining a 512 MiB
 * boot partition cut from the front of the old root (seed:3492-3494).
 */
export function planUpgradeLayout(existing: ExistingLayout, o: UpgradeLayoutOptions): UpgradeLayoutPlan {
  const sectorSize = existing.sectorSize;
  const diskSectors = Math.floor(o.diskBytes / sectorSize);
  if (diskSectors !== existing.diskSectors) {
    throw new LayoutError(`${o.diskName} has ${diskSectors} sectors but its partition table was read for ${existing.diskSectors}`);
  }
  const oldRootPart = existing.partitions.find((p) => p.role === 'root')!;
  const oldRoot = { number: oldRootPart.number, firstSector: oldRootPart.firstSector, sectorCount: oldRootPart.sectorCount };
  if (existing.numbers.backup === undefined) {
    throw new LayoutError(`${o.diskName} has no backup partition (${oldRoot.number + 1}) next to the root partition ${oldRoot.number}`,
      'an upgrade keeps the old root there; reinstall (mode="fresh") instead');
  }
  const unknown = existing.partitions.filter((p) => p.role === 'unknown');
  const gib = diskGiB(existing.diskSectors, sectorSize);
  let decision = layoutForUpgrade({
    existingScheme: existing.scheme, srHasData: o.srHasData, diskGiB: gib, utilityPartition: existing.utility,
    rollingPoolUpgrade: o.allowLayoutMove ?? true,
  });
  // The counts of the seed's table are of 6.x hosts; a 7.x host already on the
  // old layout has its boot partition: count what is on the disk.
  const before = existing.partitions.length;

  let layout: LayoutPlan | undefined;
  let backupCopy: UpgradeLayoutPlan['backupCopy'] = 'before-table-write';
  if (decision.scheme === 'gpt' && existing.scheme === 'old-gpt') {
    const candidate = referencePlan(existing, 'gpt', o);
    const newBackup = candidate.partitions.find((p) => p.role === 'backup')!;
    const blocker = unknown.length ? `partitions ${unknown.map((p) => p.number).join(', ')} are not the product's and would be lost`
      : overlaps(oldRoot, newBackup) ? `the old root (sectors ${oldRoot.firstSector}..${oldRoot.firstSector + oldRoot.sectorCount - 1}) overlaps the new backup partition, where it must be copied`
        : undefined;
    if (blocker) {
      decision = { ...layoutForUpgrade({ existingScheme: 'old-gpt', srHasData: true, diskGiB: gib, utilityPartition: existing.utility }),
        reason: `${blocker}: keeping the old GPT layout, with 512 MiB of the dom0 partition made into a boot partition` };
    } else {
      layout = candidate;
      backupCopy = 'after-table-write';
    }
  }
  layout ??= keptLayout(existing, decision.scheme, o);

  const changes: PartitionChange[] = [];
  const moved = backupCopy === 'after-table-write';
  const plannedBy = new Map(layout.partitions.map((p) => [p.number, p]));
  const extent = (p: { firstSector: number; sectorCount: number; typeGuid?: string; dosId?: number }) => ({ firstSector: p.firstSector, sectorCount: p.sectorCount, type: typeOf(p) });
  for (const old of existing.partitions) {
    const now = plannedBy.get(old.number);
    if (old.role === 'unknown') {
      changes.push({ number: old.number, role: old.role, action: 'kept', before: extent(old), after: extent(old), why: 'not the product\'s partition: left alone' });
      continue;
    }
    if (!now) {
      changes.push({ number: old.number, role: old.role, action: 'deleted', before: extent(old), why: 'not in the layout after the upgrade' });
      continue;
    }
    const same = now.firstSector === old.firstSector && now.sectorCount === old.sectorCount && typeOf(now) === typeOf(old);
    changes.push({ number: old.number, role: old.role, before: extent(old), after: extent(now), ...verdict(old.role, now, same, moved, o.uefi) });
  }
  for (const p of layout.partitions) {
    if (existing.partitions.some((x) => x.number === p.number)) continue;
    changes.push({ number: p.number, role: p.role, action: 'created', after: extent(p),
      why: p.role === 'boot' ? 'the old layout had no boot partition: 512 MiB cut from the front of the old root (seed:3492-3494)' : 'part of the new layout' });
  }
  changes.sort((a, b) => (a.after ?? a.before)!.firstSector - (b.after ?? b.before)!.firstSector);

  const writesTable = changes.some((c) => c.action === 'created' || c.action === 'recreated' || c.action === 'deleted');
  if (writesTable && unknown.length) {
    throw new LayoutError(`${o.diskName} has partitions the product did not make (${unknown.map((p) => p.number).join(', ')}), and the upgrade must rewrite its partition table`,
      'move their data off and delete them, or reinstall');
  }
  const srBefore = existing.partitions.find((p) => p.role === 'sr');
  const srAfter = layout.partitions.find((p) => p.role === 'sr');
  const srUntouched = srBefore === undefined ? srAfter === undefined
    : srAfter !== undefined && srAfter.number === srBefore.number && srAfter.firstSector === srBefore.firstSector &&
      srAfter.sectorCount === srBefore.sectorCount && typeOf(srAfter) === typeOf(srBefore);
  // The promise, checked rather than trusted: only the seed's move of an empty SR may change it.
  if (!srUntouched && !(moved && !o.srHasData)) {
    throw new LayoutError(`internal error: the upgrade plan for ${o.diskName} would change the local SR partition ${srBefore?.number ?? '?'}`);
  }
  return {
    decision: { ...decision, partitionsBefore: before },
    layout, changes, writesTable, partitionsBefore: before, partitionsAfter: layout.partitions.length,
    oldRoot, backupCopy, srUntouched,
  };
}

function verdict(role: ExistingRole, now: PlannedPartition, same: boolean, moved: boolean, uefi: boolean): Pick<PartitionChange, 'action' | 'why'> {
  if (!same) {
    if (role === 'sr') return { action: 'recreated', why: 'the local SR holds no VDIs: it is made anew at the end of the new layout (seed:3477-3494)' };
    if (role === 'boot') return { action: 'recreated', why: `retyped for ${uefi ? 'UEFI (ESP)' : 'BIOS (BIOS boot)'}, the mode the installer was booted in` };
    if (role === 'root' && !moved) return { action: 'recreated', why: 'shrunk by the 512 MiB given to the new boot partition (seed:3492-3494); gets the new dom0' };
    return { action: 'recreated', why: moved ? 'moved to its place in the new layout' : 'changed by the new layout' };
  }
  switch (role) {
    case 'root': return { action: 'reformatted', why: 'gets the new dom0' };
    case 'backup': return { action: 'reformatted', why: 'gets a copy of the old root (marked as a backup, restorable)' };
    case 'logs': return { action: 'kept', why: 'the logs stay' };
    case 'swap': return { action: 'kept', why: 'swap space; nothing to carry' };
    case 'sr': return { action: 'kept', why: 'an upgrade never touches the local SR' };
    case 'utility': return { action: 'kept', why: 'the utility partition at 1 stays (seed:3522-3523)' };
    case 'boot':
      return now.fsType === 'vfat' ? { action: 'reformatted', why: 'ESP: gets the new bootloader' } : { action: 'bootloader', why: 'BIOS boot: GRUB\'s core image is written again' };
    default: return { action: 'kept', why: 'not the product\'s partition' };
  }
}

/**
 * The table after an upgrade that keeps the scheme (or stays old GPT): every
 * existing partition at its place, with the reference plan's types, labels and
 * file systems; on old GPT without a boot partition, boot is cut from root's front.
 */
function keptLayout(existing: ExistingLayout, scheme: Scheme, o: UpgradeLayoutOptions): LayoutPlan {
  const ref = referencePlan(existing, scheme, o);
  const sectorSize = existing.sectorSize;
  const gpt = existing.tableType === 'gpt';
  const byRole = new Map(existing.partitions.filter((p) => p.role !== 'unknown').map((p) => [p.role as Role, p]));
  const refNumbers = ref.numbers as unknown as Record<string, number | undefined>;
  const mismatch = [...byRole].filter(([role, p]) => refNumbers[role] !== undefined && refNumbers[role] !== p.number);
  if (mismatch.length) {
    throw new LayoutError(`${o.diskName} numbers its partitions unlike the product: ${mismatch.map(([r, p]) => `${r} is ${p.number}, expected ${refNumbers[r]}`).join('; ')}`,
      'this installation cannot be upgraded in place; back up the VMs and reinstall');
  }
  const parts: PlannedPartition[] = [];
  const carve = scheme === 'old-gpt' && !byRole.has('boot') && ref.numbers.boot !== undefined;
  for (const planned of ref.partitions) {
    const old = byRole.get(planned.role);
    if (!old) {
      if (planned.role === 'boot' && carve) continue; // placed below, from root's sectors
      if (planned.role === 'sr') continue; // no SR now: the upgrade makes none
      throw new LayoutError(`${o.diskName} has no ${planned.role} partition ${planned.number}, which its ${scheme} layout needs`);
    }
    const keep: PlannedPartition = { ...planned, firstSector: old.firstSector, sectorCount: old.sectorCount, lastSector: old.firstSector + old.sectorCount - 1 };
    if (gpt) {
      if (old.uniqueGuid) keep.uniqueGuid = normalizeGuid(old.uniqueGuid);
      if (old.name !== undefined) keep.name = old.name;
      if (planned.role === 'utility' || planned.role === 'sr') keep.typeGuid = normalizeGuid(old.typeGuid!);
    } else if (planned.role === 'utility' || planned.role === 'sr') {
      keep.dosId = old.dosId!;
    }
    parts.push(keep);
  }
  if (carve) {
    const root = parts.find((p) => p.role === 'root')!;
    const bootSectors = mibSectors(SIZE_MIB.boot, sectorSize);
    if (root.sectorCount < bootSectors + mibSectors(1024, sectorSize)) {
      throw new LayoutError(`the root partition ${root.number} of ${o.diskName} is too small to give 512 MiB to a boot partition`);
    }
    const refBoot = ref.partitions.find((p) => p.role === 'boot')!;
    parts.push({ ...refBoot, firstSector: root.firstSector, sectorCount: bootSectors, lastSector: root.firstSector + bootSectors - 1,
      uniqueGuid: guidFromSeed(o.guidSeed, `partition-${refBoot.number}`) });
    root.firstSector += bootSectors;
    root.sectorCount -= bootSectors;
  }
  // partitions the product did not make are not in the plan: it is written only when there are none (checked by the caller)
  parts.sort((a, b) => a.firstSector - b.firstSector);
  const plan: LayoutPlan = { ...ref, partitions: parts };
  if (gpt && existing.diskGuid) plan.diskGuid = normalizeGuid(existing.diskGuid);
  if (!gpt && existing.diskSignature !== undefined) plan.diskSignature = existing.diskSignature;
  return plan;
}

export interface LegacyGptRequest {
  diskSectors: number;
  sectorSize?: number;
  diskName: string;
  labelSuffix?: string;
  guidSeed?: string;
  /** first sector of root (6.x aligned to 1 MiB; default 2048) */
  firstSector?: number;
}

/**
 * A 6.x host's GPT layout before any upgrade (seed:3504, 3519; 4 GB root seed:3457): root 1 and
 * backup 2 of 4 GiB each, then the SR 3; no boot partition. For test disks and
 * factory images of "old" hosts; planLayout's old-gpt is the 7.x form with boot.
 */
export function planLegacyGptLayout(req: LegacyGptRequest): LayoutPlan {
  const sectorSize = req.sectorSize ?? 512;
  const { first, last } = gptUsableRange(req.diskSectors, sectorSize);
  const gib = diskGiB(req.diskSectors, sectorSize);
  if (gib < 12) throw new LayoutError(`The disk ${req.diskName} is smaller than 12GB.`);
  const mib = (n: number) => mibSectors(n, sectorSize);
  const start = Math.max(first, req.firstSector ?? mib(1));
  const sfx = req.labelSuffix;
  const mk = (number: number, role: Role, firstSector: number, sectorCount: number, extra: Partial<PlannedPartition>): PlannedPartition =>
    ({ number, role, firstSector, sectorCount, lastSector: firstSector + sectorCount - 1, ...extra });
  const rootCount = mib(SIZE_MIB.rootOldDos);
  const backupCount = mib(SIZE_MIB.backupOld);
  const srStart = start + rootCount + backupCount;
  // the SR ends at the product's last usable sector (extent - 34), as planLayout's does
  const srLast = req.diskSectors - 34;
  const partitions = [
    mk(1, 'root', start, rootCount, { typeGuid: TYPE_GUID.basicData, fsType: 'ext3', mountPoint: '/', labelPrefix: 'root-', ...(sfx && { label: `root-${sfx}` }) }),
    mk(2, 'backup', start + rootCount, backupCount, { typeGuid: TYPE_GUID.basicData }),
    mk(3, 'sr', srStart, srLast - srStart + 1, { typeGuid: TYPE_GUID.lvm }),
  ];
  if (srLast > last) throw new LayoutError('internal error: SR past the last usable sector');
  const plan: LayoutPlan = {
    scheme: 'old-gpt', tableType: 'gpt', bootMode: 'bios', diskName: req.diskName, sectorSize, diskSectors: req.diskSectors,
    firstUsableSector: 34, lastUsableSector: srLast, partitions, numbers: { root: 1, backup: 2, sr: 3 }, partitionLayout: 'ROOT,BACKUP,SR',
    ...(sfx && { labelSuffix: sfx }),
  };
  if (req.guidSeed !== undefined) {
    plan.diskGuid = guidFromSeed(req.guidSeed, 'disk');
    for (const p of partitions) p.uniqueGuid = guidFromSeed(req.guidSeed, `partition-${p.number}`);
  }
  return plan;
}

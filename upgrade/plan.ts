// An upgrade as a plan (pure data, printable, testable without root), in the
// order the runtime carries it out: check the versions, copy the old root to
// the backup partition and mark it, write the table when the layout changes,
// make the file systems, lay down the new dom0, write the carried settings,
// install the bootloader. A reinstall uses only the backup step.
import { type LayoutPlan, type PlannedPartition } from '../disk/layout.ts';
import { formatPlan } from '../disk/format.ts';
import { formatBytes } from '../disk/size.ts';
import { planUpgradeLayout, type UpgradeLayoutPlan } from '../disk/upgrade-layout.ts';
import { partitionDevice } from '../disk/device.ts';
import { dom0MemMiB, hostBoot } from '../target/boot-args.ts';
import { efiStubGrubConfig, grubConfig } from '../target/grub.ts';
import { XEN_CMDLINE_CONF, XenCmdlineConfError, applyCmdlineEdits, parseXenCmdlineConf, type CmdlineEdit } from '../target/xen-cmdline.ts';
import { carryOverSettings, type CarriedFile, type CarryOver } from './carry-over.ts';
import { BACKUP_INFO, BACKUP_MARKER, backupInfoFor, backupInfoJson, backupLabel, type BackupInfo, type DetectedInstallation } from './detect.ts';
import { UpgradeError, describeProduct, fileText, type InstalledProduct, type MediaProduct, type RootFiles } from './model.ts';
import type { RestorePlan } from './restore.ts';
import { checkUpgrade } from './version.ts';

export interface BackupStep {
  /** the old root: its partition device and its sectors (read by offset when the table changed first) */
  from: { device: string; partition: number; firstSector: number; sectorCount: number; byteOffset: number; byteLength: number };
  to: { device: string; partition: number };
  /** before-table-write: copy, then change the table; after-table-write: write the table, make the backup, copy from the old sectors */
  when: 'before-table-write' | 'after-table-write';
  label: string;
  mkfs: string[];
  /** written at the top of the backup after the copy (relative paths) */
  markerFiles: CarriedFile[];
  info: BackupInfo;
}

export interface UpgradeFileSystem {
  partition: number;
  role: PlannedPartition['role'];
  device: string;
  fsType: 'ext3' | 'vfat' | 'swap';
  label: string;
  argv: string[];
}

export interface UpgradePlan {
  mode: 'upgrade';
  disk: string;
  installed: InstalledProduct;
  media: MediaProduct;
  bootMode: 'uefi' | 'bios';
  labelSuffix: string;
  layout: UpgradeLayoutPlan;
  backup: BackupStep;
  /** made after the backup copy (and after the table write), root first */
  fileSystems: UpgradeFileSystem[];
  /** in mount order */
  mounts: { device: string; mountPoint: string; fsType: 'ext3' | 'vfat' }[];
  carryOver: CarryOver;
  bootloader: {
    mode: 'uefi' | 'bios';
    disk: string;
    rootLabel: string;
    /** boot/grub/grub.cfg of the new root */
    grubCfg: string;
    efi?: { espDevice: string; espPartition: number; stubCfg: string };
  };
  notes: string[];
}

export interface UpgradePlanOptions {
  media: MediaProduct;
  uefi: boolean;
  /** the local SR holds VDIs (the runtime asks LVM before planning) */
  srHasData: boolean;
  installationDate: string;
  /** for GUIDs of new partitions; default the installation UUID */
  guidSeed?: string;
  /** used when the old root label is not root-<6 letters> */
  labelSuffix?: string;
  /** refuse installations older than this (XENSERVER_71_MIN_UPGRADE_FROM for 7.1 media) */
  minVersion?: string;
  /** false: an old GPT host keeps the old layout even with an empty SR */
  allowLayoutMove?: boolean;
}

function backupStep(inst: DetectedInstallation, backupPart: PlannedPartition, when: BackupStep['when'], sfx: string, bootMode: 'uefi' | 'bios',
  media: MediaProduct, mode: 'upgrade' | 'reinstall'): BackupStep {
  const sectorSize = inst.layout.sectorSize;
  const root = inst.layout.partitions.find((p) => p.role === 'root')!;
  const dev = partitionDevice(inst.disk, backupPart.number);
  const label = backupLabel(sfx);
  const info = backupInfoFor(inst, bootMode, { brand: media.brand, version: media.version, build: media.build_number, mode });
  info.backupPartition = backupPart.number;
  return {
    from: { device: inst.rootDevice, partition: root.number, firstSector: root.firstSector, sectorCount: root.sectorCount,
      byteOffset: root.firstSector * sectorSize, byteLength: root.sectorCount * sectorSize },
    to: { device: dev, partition: backupPart.number },
    when, label, mkfs: ['mkfs.ext3', '-F', '-q', '-L', label, dev],
    markerFiles: [
      { kind: 'file', path: BACKUP_MARKER.slice(1), content: '', mode: 0o644 },
      { kind: 'file', path: BACKUP_INFO.slice(1), content: backupInfoJson(info), mode: 0o644 },
    ],
    info,
  };
}

const overlaps = (a: { firstSector: number; sectorCount: number }, b: { firstSector: number; sectorCount: number }) =>
  a.firstSector < b.firstSector + b.sectorCount && b.firstSector < a.firstSector + a.sectorCount;

/**
 * The backup step of a reinstall (mode="reinstall": a fresh install that keeps
 * the old root in the backup partition, but none of its settings). `fresh` is
 * the layout planInstall chose; the old root is copied before the table is
 * written when the backup partition stays where it is, else after, from its old
 * sectors, which the new backup partition must not overlap.
 */
export function planReinstallBackup(inst: DetectedInstallation, fresh: LayoutPlan, o: { media: MediaProduct; uefi: boolean }): BackupStep {
  const newBackup = fresh.partitions.find((p) => p.role === 'backup');
  if (!newBackup) throw new UpgradeError('the new layout has no backup partition');
  const oldBackup = inst.layout.partitions.find((p) => p.role === 'backup');
  const root = inst.layout.partitions.find((p) => p.role === 'root')!;
  const sfx = fresh.labelSuffix ?? inst.labelSuffix;
  if (!sfx) throw new UpgradeError('the new layout has no label suffix (plan it with a labelSuffix)');
  let when: BackupStep['when'];
  if (oldBackup && oldBackup.number === newBackup.number && oldBackup.firstSector === newBackup.firstSector && oldBackup.sectorCount === newBackup.sectorCount) when = 'before-table-write';
  else if (!overlaps(root, newBackup) && newBackup.sectorCount >= root.sectorCount) when = 'after-table-write';
  else {
    throw new UpgradeError(`A reinstall on ${inst.disk} cannot keep a backup: the new backup partition ${newBackup.number} ${overlaps(root, newBackup) ? 'overlaps the old root' : 'is smaller than the old root'}.`,
      'install with mode="fresh" (no backup), after saving what you need');
  }
  return backupStep(inst, newBackup, when, sfx, o.uefi ? 'uefi' : 'bios', o.media, 'reinstall');
}

/** Plan an upgrade of a detected installation; throws UpgradeError/LayoutError before anything is touched. */
export function planUpgrade(inst: DetectedInstallation, oldRoot: RootFiles, o: UpgradePlanOptions): UpgradePlan {
  const check = checkUpgrade(inst.product, o.media, { disk: inst.disk, ...(o.minVersion && { minVersion: o.minVersion }) });
  const notes = [...check.notes];
  const sfx = inst.labelSuffix ?? o.labelSuffix;
  if (!sfx) throw new UpgradeError(`the root label ${inst.rootLabel} is not root-<6 letters>: give the planner a labelSuffix`);
  if (!inst.labelSuffix) notes.push(`the root label ${inst.rootLabel} is not root-<6 letters>: the new file systems are labelled *-${sfx}`);
  const bootMode = o.uefi ? 'uefi' : 'bios';
  const layout = planUpgradeLayout(inst.layout, {
    srHasData: o.srHasData, diskBytes: inst.sizeBytes, uefi: o.uefi, labelSuffix: sfx, diskName: inst.disk,
    guidSeed: o.guidSeed ?? `${inst.rootLabel}:${inst.disk}`, ...(o.allowLayoutMove !== undefined && { allowLayoutMove: o.allowLayoutMove }),
  });
  const plan = layout.layout;
  const dev = (p: PlannedPartition) => partitionDevice(inst.disk, p.number);
  const backupPart = plan.partitions.find((p) => p.role === 'backup')!;
  const backup = backupStep(inst, backupPart, layout.backupCopy, sfx, bootMode, o.media, 'upgrade');
  if (backupPart.sectorCount < layout.oldRoot.sectorCount) {
    // a file copy, not a block copy: the old root's files must fit, which the runtime checks (df) before copying
    notes.push(`the backup partition (${formatBytes(backupPart.sectorCount * plan.sectorSize)}) is smaller than the old root partition (${formatBytes(layout.oldRoot.sectorCount * plan.sectorSize)}): its files must fit`);
  }

  const fileSystems: UpgradeFileSystem[] = [];
  const made = new Set(layout.changes.filter((c) => c.action !== 'kept' && c.action !== 'bootloader' && c.action !== 'deleted').map((c) => c.number));
  for (const p of plan.partitions) {
    if (!made.has(p.number) || !p.fsType || !p.label) continue;
    const d = dev(p);
    const argv = p.fsType === 'ext3' ? ['mkfs.ext3', '-F', '-q', '-L', p.label, d] : p.fsType === 'swap' ? ['mkswap', '-L', p.label, d] : ['mkfs.vfat', '-n', p.label, d];
    fileSystems.push({ partition: p.number, role: p.role, device: d, fsType: p.fsType, label: p.label, argv });
  }
  const order = ['root', 'logs', 'boot', 'swap'];
  fileSystems.sort((a, b) => order.indexOf(a.role) - order.indexOf(b.role));
  const root = plan.partitions.find((p) => p.role === 'root')!;
  const logs = plan.partitions.find((p) => p.role === 'logs');
  const esp = o.uefi ? plan.partitions.find((p) => p.role === 'boot' && p.fsType === 'vfat') : undefined;
  const mounts: UpgradePlan['mounts'] = [{ device: dev(root), mountPoint: '/', fsType: 'ext3' }];
  if (logs) mounts.push({ device: dev(logs), mountPoint: '/var/log', fsType: 'ext3' });
  if (esp) mounts.push({ device: dev(esp), mountPoint: '/boot/efi', fsType: 'vfat' });

  const srRecreated = layout.changes.some((c) => c.role === 'sr' && c.action === 'recreated');
  const boot = hostBoot(o.media);
  const edits = xenCmdlineEdits(oldRoot);
  if (edits.length) notes.push(`boot arguments changed with xen-cmdline are kept: ${edits.map((e) => `${e.target} ${e.op} ${e.arg}`).join(', ')}`);
  // the inventory's DOM0_MEM follows what the host really boots with
  const dom0Mem = applyCmdlineEdits([`dom0_mem=${boot.xen.dom0_mem}`], edits, 'xen').find((w) => w.startsWith('dom0_mem='))?.slice('dom0_mem='.length);
  const carryOver = carryOverSettings({
    oldRoot, media: o.media, layout: plan, primaryDisk: inst.disk, backupPartition: dev(backupPart),
    installationDate: o.installationDate, dom0MemMiB: dom0MemMiB(dom0Mem ?? boot.xen.dom0_mem), srRecreated,
  });
  if (carryOver.firstBoot === 'pending') notes.push(srRecreated ? 'first boot runs again on the upgraded host, to make the local SR anew' : 'first boot had not run on the old host: it runs on the upgraded one');
  const rootLabel = root.label!;
  return {
    mode: 'upgrade', disk: inst.disk, installed: inst.product, media: o.media, bootMode, labelSuffix: sfx, layout, backup, fileSystems, mounts, carryOver,
    bootloader: {
      mode: bootMode, disk: inst.disk, rootLabel,
      grubCfg: grubConfig({ brand: o.media.brand, rootLabel, boot, edits }),
      ...(esp && { efi: { espDevice: dev(esp), espPartition: esp.number, stubCfg: efiStubGrubConfig(rootLabel) } }),
    },
    notes,
  };
}

/** The old host's xen-cmdline record; a record the tool never writes stops the upgrade before anything is touched. */
function xenCmdlineEdits(oldRoot: RootFiles): CmdlineEdit[] {
  const text = fileText(oldRoot, XEN_CMDLINE_CONF);
  if (text === undefined) return [];
  try {
    return parseXenCmdlineConf(text);
  } catch (e) {
    if (e instanceof XenCmdlineConfError) {
      throw new UpgradeError(`The old root's ${e.message}; nothing was written.`, `fix or remove ${XEN_CMDLINE_CONF} on the host (xen-cmdline writes it), then upgrade again`);
    }
    throw e;
  }
}

function changeLines(changes: UpgradeLayoutPlan['changes']): string[] {
  const rows = changes.map((c) => {
    const ext = (e?: { firstSector: number; sectorCount: number }) => (e ? `${e.firstSector}+${e.sectorCount}` : '-');
    return [String(c.number), c.role, c.action, ext(c.before), ext(c.after), c.why];
  });
  const head = ['#', 'role', 'action', 'before (start+sectors)', 'after', 'why'];
  const all = [head, ...rows];
  const w = head.map((_, i) => Math.max(...all.map((r) => r[i]!.length)));
  return all.map((r) => `  ${r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(w[i]!))).join('  ')}`.trimEnd());
}

/** The plan as a person reads it (installer console and log, `xsforge answerfile plan`). */
export function formatUpgradePlan(plan: UpgradePlan): string {
  const out: string[] = [];
  const l = plan.layout;
  out.push(`Upgrade plan: ${describeProduct(plan.installed)} on ${plan.disk} -> ${plan.media.brand} ${plan.media.version} (build ${plan.media.build_number})`);
  out.push(`  boot:          ${plan.bootMode.toUpperCase()}; labels *-${plan.labelSuffix} kept`);
  out.push(`  layout:        ${l.decision.reason}`);
  out.push(`                 ${l.partitionsBefore} -> ${l.partitionsAfter} partitions, ${l.layout.scheme} (${l.layout.tableType.toUpperCase()})${l.writesTable ? '; the partition table is rewritten' : '; the partition table stays'}`);
  out.push(`  local SR:      ${l.srUntouched ? 'untouched' : 'made anew (it held no VDIs)'}`);
  out.push(`  identity:      installation ${plan.carryOver.identity.installationUuid}, control domain ${plan.carryOver.identity.controlDomainUuid}${plan.carryOver.identity.hostname ? `, hostname ${plan.carryOver.identity.hostname}` : ''}`);
  out.push('');
  out.push('Partitions:');
  out.push(...changeLines(l.changes));
  out.push('');
  out.push('Partition table after the upgrade:');
  for (const line of formatPlan(l.layout).trimEnd().split('\n')) out.push(line ? `  ${line}` : '');
  out.push('');
  const b = plan.backup;
  out.push(`Backup: the old root ${b.from.device} (sectors ${b.from.firstSector}..${b.from.firstSector + b.from.sectorCount - 1}) is copied to ${b.to.device}, ${b.when === 'before-table-write' ? 'before anything else changes' : 'after the new table is written, read from its old sectors'}`);
  out.push(`  ${b.mkfs.join(' ')}; then ${b.markerFiles.map((f) => `/${f.kind === 'file' ? f.path : ''}`).join(' and ')} (holds ${describeProduct(b.info.product)})`);
  out.push('File systems:');
  for (const f of plan.fileSystems) out.push(`  ${f.device.padEnd(14)} ${f.fsType.padEnd(5)} ${f.label.padEnd(13)} (${f.argv.join(' ')})`);
  out.push('Settings carried over:');
  for (const f of plan.carryOver.files) out.push(`  /${f.path}${f.kind === 'symlink' ? ` -> ${f.target}` : ` (${Buffer.byteLength(f.content)} bytes, mode ${f.mode.toString(8)})`}`);
  if (plan.carryOver.rootPasswordHash !== undefined) out.push('  /etc/shadow: root\'s password hash');
  out.push(`  first boot: ${plan.carryOver.firstBoot === 'done' ? 'done on the old host; does not run again' : 'pending: runs on the next boot'}`);
  out.push('Not carried:');
  for (const n of plan.carryOver.notCarried) out.push(`  ${n.what}: ${n.why}`);
  const bl = plan.bootloader;
  out.push(`Bootloader: GRUB 2, ${bl.mode === 'bios' ? `i386-pc on ${bl.disk}` : `x86_64-efi on ${bl.efi?.espDevice ?? '?'}`}, root=LABEL=${bl.rootLabel}`);
  for (const l of bl.grubCfg.split('\n').filter((x) => /^\s*(menuentry|multiboot2|module2)/.test(x))) out.push(`  ${l.trim()}`);
  for (const n of plan.notes) out.push(`Note: ${n}`);
  return out.join('\n') + '\n';
}

/** A restore plan as a person reads it. */
export function formatRestorePlan(plan: RestorePlan): string {
  const out: string[] = [];
  out.push(`Restore plan: ${describeProduct(plan.restored)} from ${plan.backupDevice} onto ${plan.rootDevice} (label ${plan.rootLabel})`);
  out.push(`  boot:          ${plan.bootMode.toUpperCase()}`);
  out.push(`  table:         ${plan.tables.length ? 'back to the layout the backup was taken from (a transitional table for the copy, then the old one)' : 'unchanged'}`);
  out.push('Partitions:');
  out.push(...changeLines(plan.changes));
  if (plan.tables.length) {
    out.push('Partition table after the restore:');
    for (const line of formatPlan(plan.tables.at(-1)!.layout).trimEnd().split('\n')) out.push(line ? `  ${line}` : '');
  }
  out.push(`Copy: ${plan.copy.mkfs.join(' ')}; every file of ${plan.copy.from} to ${plan.copy.to} except ${plan.copy.exclude.map((e) => `/${e}`).join(', ')}`);
  for (const f of plan.fileSystems) out.push(`File system: ${f.argv.join(' ')}`);
  for (const r of plan.relabel) out.push(`Label: ${r.argv.join(' ')}`);
  for (const f of plan.rootFiles) out.push(`Restored root: write /${f.path}`);
  for (const r of plan.rootRemovals) out.push(`Restored root: remove /${r}`);
  const bl = plan.bootloader;
  out.push(`Bootloader: GRUB 2, ${bl.mode === 'bios' ? `i386-pc on ${bl.disk}${bl.biosBlocklists ? ' (blocklists)' : ''}` : `x86_64-efi on ${bl.efi!.espDevice}, EFI/xenserver/grub.cfg finds ${plan.rootLabel}`}, reading the restored root's boot/grub/grub.cfg`);
  for (const n of plan.notes) out.push(`Note: ${n}`);
  return out.join('\n') + '\n';
}

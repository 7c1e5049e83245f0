// Upgrade (mode="upgrade"), the backup step of a reinstall (mode="reinstall")
// and restore (<restore>), carried out with real tools. The planning is pure
// (upgrade/: detect, plan, restore); this file reads what the planners need
// from the disks (tables and superblocks by plain reads, the old root's files
// from a read-only mount, whether the local SR holds data), prints the plan,
// and then changes the disk in the plan's order. Every refusal (no
// installation, newer or foreign product, no backup) happens before anything
// is written.
import { existsSync, lstatSync, mkdirSync, readFileSync, readdirSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { findOnPath } from '../../core/which.ts';
import type { RestoreConfig, UpgradeConfig } from '../../answerfiles/model.ts';
import { issueFile, issueNetFile, releaseFile } from '../../dom0-rootfs/identity.ts';
import { probeDiskImage } from '../../disk/probe.ts';
import { writeTableToImage } from '../../disk/write-table.ts';
import { partitionDevice } from '../../disk/device.ts';
import { CARRY_OVER_PATHS, CARRY_OVER_PATTERNS } from '../../upgrade/carry-over.ts';
import {
  ROOT_FILES_TO_READ, backupCandidates, describeInstallation, findInstallations, locateInstallation, readBackup, selectBackup,
  type DetectedInstallation, type DiskProbe, type FoundBackup, type FoundInstallation,
} from '../../upgrade/detect.ts';
import { UpgradeError, type RootFiles } from '../../upgrade/model.ts';
import { formatRestorePlan, formatUpgradePlan, planReinstallBackup, planUpgrade, type BackupStep, type UpgradePlan } from '../../upgrade/plan.ts';
import { planRestore, type RestorePlan } from '../../upgrade/restore.ts';
import { XENSERVER_71_MIN_UPGRADE_FROM } from '../../upgrade/version.ts';
import { copyLogs, installBootloader, rereadPartitions, unmountAll, writeFiles, type ExecuteEnv, type ExecuteHooks, InstallError } from './execute.ts';
import { scratchDir, unmount } from './fetch.ts';
import { installProductPackages, mirrorRepository, verifyProductRepository, type ProductRepository } from './packages.ts';
import { ROOT_IMAGE_PATH, ROOT_MANIFEST_PATH, scriptsByStage, type DetectedDisk, type InstallPlan, type PlannedBootloader, type ProductInfo } from './plan.ts';
import { runStageScripts } from './scripts.ts';
import { extractRoot, openSource } from './source.ts';
import { checkKeyNames, installUpdateMedium, prepareUpdateMedia, type UpdateMedium } from './update-media.ts';

export interface UpgradeContext {
  product: ProductInfo;
  disks: DetectedDisk[];
  uefi: boolean;
  installationDate: string;
  /** the plan is written here as JSON */
  planFile: string;
  /** the line tests wait for (unattended.ts PLAN_MARKER) */
  planMarker: string;
}

/** JSON of a plan: GPT attribute bits are bigints. */
export function planJson(plan: unknown): string {
  return JSON.stringify(plan, (_k, v) => (typeof v === 'bigint' ? v.toString() : v), 2);
}

/**
 * Every disk's table and partition starts (probeDiskImage reads block devices
 * as it reads images). A disk that cannot be read (no medium, I/O error) holds
 * no installation as far as the planners go: it is logged and left out.
 */
export async function probeDisks(env: Pick<ExecuteEnv, 'log'>, disks: DetectedDisk[]): Promise<DiskProbe[]> {
  const out: DiskProbe[] = [];
  for (const d of disks) {
    try {
      out.push(await probeDiskImage(d.path, d.path, d.sectorSize));
    } catch (e) {
      env.log.detail(`cannot read ${d.path}: ${(e as Error).message}`);
    }
  }
  return out;
}

/**
 * Files of a mounted root: the exact paths, and every entry of the directories
 * the patterns name (the part of each pattern's source before its first
 * non-literal character) that a pattern matches. Text stays text; anything
 * that is not valid UTF-8 is kept as bytes.
 */
export function readRootFiles(dir: string, paths: string[], patterns: RegExp[]): RootFiles {
  const files: RootFiles = {};
  const readOne = (p: string) => {
    const full = join(dir, p);
    let st;
    try {
      st = lstatSync(full);
    } catch {
      return;
    }
    if (st.isSymbolicLink()) files[p] = { symlink: readlinkSync(full) };
    else if (st.isFile()) {
      const bytes = readFileSync(full);
      const text = bytes.toString('utf8');
      files[p] = Buffer.from(text, 'utf8').equals(bytes) ? text : new Uint8Array(bytes);
    }
  };
  for (const p of paths) readOne(p);
  const dirs = new Set(patterns.map((re) => {
    const literal = re.source.replace(/^\^/, '').replace(/\\\//g, '/').replace(/\\\./g, '.');
    const stop = literal.search(/[[\]()*+?{}|\\^$]/);
    return dirname((stop < 0 ? literal : literal.slice(0, stop)) + 'x');
  }));
  for (const d of dirs) {
    let names: string[] = [];
    try {
      names = readdirSync(join(dir, d));
    } catch {
      continue;
    }
    for (const n of names.sort()) {
      const p = `${d}/${n}`;
      if (patterns.some((re) => re.test(p))) readOne(p);
    }
  }
  return files;
}

async function mountReadOnly(env: ExecuteEnv, device: string, what: string, extra: string[] = []): Promise<string> {
  const dir = scratchDir(env, what);
  await env.log.run(['mount', '-o', ['ro', ...extra].join(','), device, dir]);
  env.mounted.push(dir);
  return dir;
}

async function mountRw(env: ExecuteEnv, device: string, dir: string, fsType: string): Promise<void> {
  mkdirSync(dir, { recursive: true });
  await env.log.run(['mount', '-t', fsType, device, dir]);
  env.mounted.push(dir);
}

/** What blkid says a device holds (TYPE), '' for nothing it knows. */
async function blkidType(env: ExecuteEnv, device: string): Promise<string> {
  const r = await env.log.run(['blkid', '-p', '-o', 'value', '-s', 'TYPE', device]).catch(() => undefined);
  return r ? r.stdout.trim() : '';
}

/**
 * Whether the local SR partition holds virtual disks. LVM: any logical volume
 * of its volume group besides the SR's own metadata volume (MGT); without
 * the LVM tools an LVM SR counts as holding data (the layout is then kept,
 * which is always safe). ext: any file besides lost+found. Nothing on it: empty.
 */
export async function srHasData(env: ExecuteEnv, device: string): Promise<{ hasData: boolean; why: string }> {
  const type = await blkidType(env, device);
  if (type === 'LVM2_member') {
    if (!findOnPath('pvs') || !findOnPath('lvs')) return { hasData: true, why: `${device} is an LVM physical volume and this installer has no LVM tools to look inside: treated as holding VDIs` };
    const vg = (await env.log.run(['pvs', '--noheadings', '-o', 'vg_name', device])).stdout.trim();
    if (!vg) return { hasData: false, why: `${device} is an LVM physical volume in no volume group` };
    const lvs = (await env.log.run(['lvs', '--noheadings', '-o', 'lv_name', vg])).stdout.split('\n').map((l) => l.trim()).filter(Boolean);
    const vdis = lvs.filter((l) => l !== 'MGT');
    return { hasData: vdis.length > 0, why: `volume group ${vg} on ${device} has ${vdis.length ? `logical volumes ${vdis.join(', ')}` : 'no logical volume besides MGT'}` };
  }
  if (type.startsWith('ext')) {
    // noload: a journal left to replay is not replayed, so not one byte of the SR is written
    const dir = await mountReadOnly(env, device, 'sr', ['noload']);
    try {
      const entries = readdirSync(dir).filter((n) => n !== 'lost+found');
      return { hasData: entries.length > 0, why: `the ext SR on ${device} holds ${entries.length} ${entries.length === 1 ? 'entry' : 'entries'} besides lost+found` };
    } finally {
      await unmount(env, dir);
    }
  }
  return { hasData: type !== '', why: type ? `${device} holds ${type}: treated as data` : `${device} holds no file system or volume group` };
}

/** The source and packages, checked before the disk is touched (as executePlan does). */
async function prepareSource(env: ExecuteEnv, config: UpgradeConfig, drivers?: UpdateMedium[]) {
  const source = await openSource(env, config.sources[0]!, ROOT_IMAGE_PATH, ROOT_MANIFEST_PATH);
  env.log.say(`Installation source: ${source.where} (dom0 root ${source.manifest.size} bytes)`);
  let repo: ProductRepository | undefined;
  if (source.dir) repo = await verifyProductRepository(env, source.dir);
  else {
    const copy = scratchDir(env, 'repository');
    repo = await mirrorRepository(env, source.where, copy) ? await verifyProductRepository(env, copy) : undefined;
  }
  const driverMedia = drivers ?? await prepareUpdateMedia(env, config.driverSources, 'driver disk');
  const packs = await prepareUpdateMedia(env, config.sources.slice(1), 'supplemental pack', driverMedia);
  const updates = [...driverMedia, ...packs];
  if (updates.length && !repo) throw new InstallError(`The installation source ${source.where} has no product repository, so driver disks and supplemental packs cannot be installed.`);
  checkKeyNames(updates, repo ? repo.keyFiles.map((k) => join(repo!.dir, k)) : []);
  return { source, repo, updates };
}

/** cp -a of a mounted tree into another (hard links, owners, modes, times, xattrs kept). */
async function copyTree(env: ExecuteEnv, from: string, to: string): Promise<void> {
  const t0 = Date.now();
  await env.log.run(['cp', '-a', `${from}/.`, `${to}/`], { timeoutMs: 3_600_000 });
  env.log.detail(`copied ${from} to ${to} in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
}

/**
 * The backup step: make the backup file system, copy the old root (from its
 * mount, or from its old sectors when the table was rewritten first), write
 * the marker files. `oldRootDir`: the old root already mounted read-only.
 */
export async function takeBackup(env: ExecuteEnv, step: BackupStep, disk: string, oldRootDir?: string): Promise<void> {
  env.log.say(`Backing up ${step.from.device} to ${step.to.device}`);
  await env.log.run(['wipefs', '--all', '--quiet', step.to.device]);
  await env.log.run(step.mkfs);
  let from = oldRootDir;
  if (!from) {
    from = step.when === 'after-table-write'
      ? await mountReadOnly(env, disk, 'old-root', [`offset=${step.from.byteOffset}`, `sizelimit=${step.from.byteLength}`])
      : await mountReadOnly(env, step.from.device, 'old-root');
  }
  const to = scratchDir(env, 'backup');
  await mountRw(env, step.to.device, to, 'ext3');
  try {
    await copyTree(env, from, to);
    for (const f of step.markerFiles) {
      if (f.kind !== 'file') continue;
      writeFileSync(join(to, f.path), f.content, { mode: f.mode });
    }
    await env.log.run(['sync']);
  } finally {
    await unmount(env, to);
    if (!oldRootDir) await unmount(env, from);
  }
}

/** The installation to upgrade or reinstall, its root's files and its product; nothing written. */
async function detect(env: ExecuteEnv, ctx: UpgradeContext, disk: string): Promise<{ inst: DetectedInstallation; rootDir: string; files: RootFiles; probes: DiskProbe[] }> {
  const probes = await probeDisks(env, ctx.disks);
  const found = locateInstallation(probes, disk);
  const rootDir = await mountReadOnly(env, found.rootDevice, 'old-root');
  const files = readRootFiles(rootDir, [...new Set([...ROOT_FILES_TO_READ.paths, ...CARRY_OVER_PATHS])], [...ROOT_FILES_TO_READ.patterns, ...CARRY_OVER_PATTERNS]);
  return { inst: describeInstallation(found, files), rootDir, files, probes };
}

async function localSrHasData(env: ExecuteEnv, found: FoundInstallation): Promise<boolean> {
  const n = found.layout.numbers.sr;
  if (n === undefined) return false;
  const r = await srHasData(env, partitionDevice(found.disk, n));
  env.log.say(`Local SR: ${r.why}`);
  return r.hasData;
}

/** The SR partition of an upgrade is kept, or made anew only when it held no VDIs (the planner's rule). */
function assertSrSafe(plan: UpgradePlan, hasData: boolean): void {
  const sr = plan.layout.changes.filter((c) => c.role === 'sr');
  const touched = sr.filter((c) => c.action !== 'kept');
  if (hasData && touched.length) throw new UpgradeError(`The upgrade plan would change the local SR partition ${touched.map((c) => c.number).join(', ')} although it holds VDIs; nothing was written.`);
  if (plan.fileSystems.some((f) => f.role === 'sr') || plan.backup.to.partition === sr[0]?.number) {
    throw new UpgradeError('The upgrade plan would write to the local SR partition; nothing was written.');
  }
}

export async function upgradeInstallation(config: UpgradeConfig, env: ExecuteEnv, ctx: UpgradeContext, drivers?: UpdateMedium[]): Promise<{ disk: string; labelSuffix: string }> {
  const scripts = scriptsByStage(config.scripts);
  // the local media are never looked for on the disk being upgraded
  env.excludeDisks = [config.existingInstallation];
  await runStageScripts(env, 'installation-start', scripts['installation-start'], [], true);
  env.log.say(`Looking for the installation on ${config.existingInstallation}`);
  const { inst, rootDir, files } = await detect(env, ctx, config.existingInstallation);
  env.log.say(`Found ${inst.product.brand} ${inst.product.version} (${inst.rootLabel} on ${inst.rootDevice})`);
  const hasData = await localSrHasData(env, inst);
  const plan = planUpgrade(inst, files, {
    media: ctx.product, uefi: ctx.uefi, srHasData: hasData, installationDate: ctx.installationDate,
    ...(ctx.product.version.startsWith('7.1') && { minVersion: XENSERVER_71_MIN_UPGRADE_FROM }),
  });
  assertSrSafe(plan, hasData);
  writeFileSync(ctx.planFile, planJson(plan) + '\n');
  env.log.say(`${ctx.planMarker} disk=${plan.disk} table=${plan.layout.layout.tableType} boot=${plan.bootMode} labels=${plan.labelSuffix} mode=upgrade plan=${ctx.planFile}`);
  env.log.say(formatUpgradePlan(plan));
  const { source, repo, updates } = await prepareSource(env, config, drivers);

  // from here on the disk changes
  const b = plan.backup;
  if (b.when === 'before-table-write') await takeBackup(env, b, plan.disk, rootDir);
  await unmount(env, rootDir);
  if (plan.layout.writesTable) {
    env.log.say(`Writing the ${plan.layout.layout.tableType.toUpperCase()} partition table on ${plan.disk}`);
    await writeTableToImage(plan.disk, plan.layout.layout);
    await rereadPartitions(env, plan.disk, plan.layout.layout.partitions);
  }
  if (b.when === 'after-table-write') await takeBackup(env, b, plan.disk);
  for (const fs of plan.fileSystems) {
    env.log.say(`Making ${fs.fsType} ${fs.label} on ${fs.device}`);
    await env.log.run(['wipefs', '--all', '--quiet', fs.device]);
    await env.log.run(fs.argv);
  }

  const sourceMounts = env.mounted.length;
  let finished = false;
  try {
    for (const m of plan.mounts) await mountRw(env, m.device, m.mountPoint === '/' ? env.targetRoot : join(env.targetRoot, m.mountPoint), m.fsType);
    env.log.say('Installing the control domain');
    const r = await extractRoot(env, source, ROOT_IMAGE_PATH, env.targetRoot);
    env.log.say(`Control domain installed: ${r.bytes} bytes, sha256 ${r.sha256} verified`);
    if (repo) {
      const installed = await installProductPackages(env, repo, env.targetRoot);
      env.log.say(`Product packages installed; the rpm database lists ${installed.nevras.length}: ${installed.nevras.join(' ')}`);
    }
    for (const m of updates) await installUpdateMedium(env, m, env.targetRoot);
    env.log.say('Writing the settings carried over');
    const carried = plan.carryOver;
    const bl = upgradeBootloader(plan, ctx.product.brand);
    const boot: InstallPlan['files'] = [{ kind: 'file', path: 'boot/grub/grub.cfg', content: plan.bootloader.grubCfg, mode: 0o644 }];
    if (bl.efi) boot.push({ kind: 'file', path: `boot/efi/EFI/${bl.efi.bootloaderId}/grub.cfg`, content: bl.efi.stubCfg, mode: 0o644 });
    // the release the source names (as a fresh install writes them)
    const identity: InstallPlan['files'] = [
      { kind: 'file', path: 'etc/xsforge-release', content: releaseFile(ctx.product), mode: 0o644 },
      { kind: 'file', path: 'etc/issue', content: issueFile(ctx.product), mode: 0o644 },
      { kind: 'file', path: 'etc/issue.net', content: issueNetFile(ctx.product), mode: 0o644 },
    ];
    writeFiles(env, {
      files: [...identity, ...carried.files, ...boot],
      // no root line in the old shadow: the account stays locked until first boot sets it, as a fresh install without a password
      rootPassword: { kind: carried.rootPasswordHash !== undefined ? 'hash' : 'locked', hash: carried.rootPasswordHash ?? '!!' },
    });
    if (carried.firstBoot === 'pending') {
      // the image's own state/done (if any) would skip first boot
      rmSync(join(env.targetRoot, 'etc/firstboot.d/state/done'), { force: true });
    }
    await installBootloader(env, { bootloader: bl, target: { path: plan.disk } });
    await runStageScripts(env, 'filesystem-populated', scripts['filesystem-populated'], [env.targetRoot], true);
    await env.log.run(['sync']);
    copyLogs(env);
    env.log.say(`Upgrade finished: ${plan.installed.version} -> ${plan.media.version}; the old root is on ${b.to.device}`);
    finished = true;
  } finally {
    const stack = { ...env, mounted: env.mounted.splice(sourceMounts) };
    await unmountAll(stack).catch((e) => { if (finished) throw e; });
  }
  return { disk: plan.disk, labelSuffix: plan.labelSuffix };
}

function upgradeBootloader(plan: UpgradePlan, brand: string): PlannedBootloader {
  const bl = plan.bootloader;
  return {
    mode: bl.mode, grubCfg: bl.grubCfg, disk: bl.disk,
    ...(bl.efi && { efi: { ...bl.efi, bootloaderId: 'xenserver', writeBootEntry: true, label: brand } }),
  };
}

/**
 * mode="reinstall": the installation on the primary disk is found and checked
 * before anything is written; the returned hooks copy its root to the new
 * backup partition before (or right after) the table write. No installation:
 * the product's "Could not locate the installation specified to be reinstalled."
 */
export async function reinstallHooks(plan: InstallPlan, env: ExecuteEnv, ctx: Pick<UpgradeContext, 'disks' | 'product' | 'uefi'>): Promise<ExecuteHooks> {
  const probes = await probeDisks(env, ctx.disks);
  const found = locateInstallation(probes, plan.target.path);
  const rootDir = await mountReadOnly(env, found.rootDevice, 'old-root');
  let step: BackupStep;
  try {
    const files = readRootFiles(rootDir, ROOT_FILES_TO_READ.paths, ROOT_FILES_TO_READ.patterns);
    step = planReinstallBackup(describeInstallation(found, files), plan.layout, { media: ctx.product, uefi: ctx.uefi });
  } finally {
    await unmount(env, rootDir);
  }
  env.log.say(`Reinstall: the old root ${step.from.device} is kept on ${step.to.device} (${step.when})`);
  const keepPartitions = [step.to.partition];
  if (plan.fileSystems.some((f) => f.partition === step.to.partition)) throw new UpgradeError(`the install plan makes a file system on the backup partition ${step.to.device}`);
  return step.when === 'before-table-write'
    ? { beforeTable: () => takeBackup(env, step, plan.target.path), keepPartitions }
    : { afterTable: () => takeBackup(env, step, plan.target.path), keepPartitions };
}

/** Backups on the disks, each candidate mounted read-only and read. */
async function findBackups(env: ExecuteEnv, probes: DiskProbe[]): Promise<{ backup: FoundBackup; files: RootFiles }[]> {
  const out: { backup: FoundBackup; files: RootFiles }[] = [];
  for (const c of backupCandidates(probes)) {
    const dir = await mountReadOnly(env, c.device, 'backup').catch(() => undefined);
    if (!dir) continue;
    try {
      const files = readRootFiles(dir, [...ROOT_FILES_TO_READ.paths, '/etc/fstab'], ROOT_FILES_TO_READ.patterns);
      const b = readBackup(c, files);
      if (b) out.push({ backup: b, files });
    } finally {
      await unmount(env, dir);
    }
  }
  return out;
}

async function writeTableStep(env: ExecuteEnv, disk: string, t: RestorePlan['tables'][number]): Promise<void> {
  env.log.say(`Writing the ${t.layout.tableType.toUpperCase()} partition table on ${disk} (${t.when})`);
  await writeTableToImage(disk, t.layout);
  await rereadPartitions(env, disk, t.layout.partitions);
}

export async function restoreFromBackup(config: RestoreConfig, env: ExecuteEnv, ctx: UpgradeContext): Promise<{ disk: string; labelSuffix: string }> {
  const scripts = scriptsByStage(config.scripts);
  await runStageScripts(env, 'installation-start', scripts['installation-start'], [], true);
  env.log.say('Looking for backups');
  const probes = await probeDisks(env, ctx.disks);
  const found = await findBackups(env, probes);
  const backup = selectBackup(found.map((f) => f.backup), config.backupDisk);
  const backupFiles = found.find((f) => f.backup.device === backup.device)!.files;
  const current = findInstallations(probes).find((i) => i.disk === (backup.info?.disk ?? backup.disk));
  const hasData = current ? await localSrHasData(env, current) : false;
  const plan = planRestore(backup, { media: ctx.product, uefi: ctx.uefi, srHasData: hasData, ...(current && { current }), backupFiles });
  writeFileSync(ctx.planFile, planJson(plan) + '\n');
  const sfx = /^root-([a-z]{6})$/.exec(plan.rootLabel)?.[1] ?? '';
  env.log.say(`${ctx.planMarker} disk=${plan.disk} table=${(plan.tables.at(-1)?.layout.tableType ?? current?.layout.tableType) ?? '?'} boot=${plan.bootMode} labels=${sfx} mode=restore plan=${ctx.planFile}`);
  env.log.say(formatRestorePlan(plan));

  // from here on the disk changes
  for (const t of plan.tables.filter((x) => x.when === 'before-copy')) await writeTableStep(env, plan.disk, t);
  env.log.say(`Restoring ${plan.restored.brand} ${plan.restored.version} from ${plan.backupDevice} onto ${plan.rootDevice}`);
  await env.log.run(['wipefs', '--all', '--quiet', plan.rootDevice]);
  await env.log.run(plan.copy.mkfs);
  const from = await mountReadOnly(env, plan.backupDevice, 'backup');
  const sourceMounts = env.mounted.length;
  let finished = false;
  try {
    await mountRw(env, plan.rootDevice, env.targetRoot, 'ext3');
    await copyTree(env, from, env.targetRoot);
    for (const x of plan.copy.exclude) rmSync(join(env.targetRoot, x), { force: true });
    for (const f of plan.rootFiles) {
      const path = join(env.targetRoot, f.path);
      mkdirSync(dirname(path), { recursive: true });
      rmSync(path, { force: true });
      if (f.kind === 'file') writeFileSync(path, f.content, { mode: f.mode });
      else symlinkSync(f.target, path);
    }
    for (const r of plan.rootRemovals) rmSync(join(env.targetRoot, r), { force: true });
    await unmount(env, env.targetRoot);
    await unmount(env, from);

    for (const t of plan.tables.filter((x) => x.when === 'after-copy')) await writeTableStep(env, plan.disk, t);
    for (const f of plan.fileSystems) {
      await env.log.run(['wipefs', '--all', '--quiet', f.device]);
      await env.log.run(f.argv);
    }
    for (const r of plan.relabel) await env.log.run(r.argv);

    await mountRw(env, plan.rootDevice, env.targetRoot, 'ext3');
    const bl = plan.bootloader;
    if (bl.efi) {
      await mountRw(env, bl.efi.espDevice, join(env.targetRoot, 'boot/efi'), 'vfat');
      const stub = join(env.targetRoot, 'boot/efi/EFI/xenserver/grub.cfg');
      mkdirSync(dirname(stub), { recursive: true });
      writeFileSync(stub, bl.efi.stubCfg);
    }
    if (!existsSync(join(env.targetRoot, 'boot/grub/grub.cfg'))) env.log.say('warning: the restored root has no boot/grub/grub.cfg');
    if (bl.biosBlocklists) {
      env.log.say(`Installing GRUB (BIOS, blocklists) on ${bl.disk}`);
      await env.log.run(['grub-install', '--target=i386-pc', '--force', `--boot-directory=${join(env.targetRoot, 'boot')}`, '--no-floppy', bl.disk]);
    } else {
      await installBootloader(env, {
        bootloader: { mode: bl.mode, disk: bl.disk, grubCfg: '', ...(bl.efi && { efi: { ...bl.efi, bootloaderId: 'xenserver', writeBootEntry: true, label: ctx.product.brand } }) },
        target: { path: plan.disk },
      });
    }
    await runStageScripts(env, 'filesystem-populated', scripts['filesystem-populated'], [env.targetRoot], true);
    await env.log.run(['sync']);
    env.log.say(`Restore finished: ${plan.restored.brand} ${plan.restored.version} is on ${plan.rootDevice}`);
    finished = true;
  } finally {
    const stack = { ...env, mounted: env.mounted.splice(sourceMounts - 1) };
    await unmountAll(stack).catch((e) => { if (finished) throw e; });
  }
  return { disk: plan.disk, labelSuffix: sfx };
}

/**
 * What the interactive installer offers besides a fresh install: every
 * installation (its product read from its root, mounted read-only) and every
 * backup partition. A disk that cannot be read, or a root whose product cannot
 * be read, is logged and left out; nothing is written.
 */
export async function detectForMenu(env: ExecuteEnv, disks: DetectedDisk[]): Promise<{ installations: { disk: string; brand: string; version: string }[]; backups: { disk: string; brand: string; version: string }[] }> {
  const probes = await probeDisks(env, disks);
  const installations: { disk: string; brand: string; version: string }[] = [];
  for (const found of findInstallations(probes)) {
    let dir: string | undefined;
    try {
      dir = await mountReadOnly(env, found.rootDevice, 'detect-root');
      const inst = describeInstallation(found, readRootFiles(dir, ROOT_FILES_TO_READ.paths, ROOT_FILES_TO_READ.patterns));
      installations.push({ disk: found.disk, brand: inst.product.brand, version: inst.product.version });
    } catch (e) {
      env.log.detail(`no upgrade offered for ${found.rootDevice}: ${(e as Error).message.split('\n')[0]}`);
    } finally {
      if (dir) await unmount(env, dir).catch(() => undefined);
    }
  }
  const backups = (await findBackups(env, probes)).map(({ backup: b }) => ({ disk: b.info?.disk ?? b.disk, brand: b.product.brand, version: b.product.version }));
  return { installations, backups };
}

// Carrying out an InstallPlan with real tools: the only part of the installer
// that changes disks. Every step is logged; the caller (unattended.ts) turns any
// error into the product's "An unrecoverable error has occurred" text.
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync, accessSync, constants, chmodSync, lstatSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { findOnPath } from '../../core/which.ts';
import { writeTableToImage } from '../../disk/write-table.ts';
import { FetchError, scratchDir, type FetchEnv } from './fetch.ts';
import { installProductPackages, mirrorRepository, verifyProductRepository, type ProductRepository } from './packages.ts';
import { partitionDevice } from '../../disk/device.ts';
import type { InstallPlan } from './plan.ts';
import { runStageScripts } from './scripts.ts';
import { extractRoot, openSource } from './source.ts';
import { checkKeyNames, installUpdateMedium, prepareUpdateMedia, type UpdateMedium } from './update-media.ts';
import { setShadowPassword } from '../../target/host-files.ts';

export interface ExecuteEnv extends FetchEnv {
  /** where the target's root file system is mounted (the product uses /tmp/root) */
  targetRoot: string;
  /** firmware variables; a boot entry is written only when this is writable */
  efivarsDir: string;
  /** files copied into /var/log/installer/ on the target before it is unmounted */
  logFiles: string[];
}

export class InstallError extends FetchError {}

/** Wait until every path exists; false on timeout. */
async function waitForDevices(paths: string[], timeoutMs: number): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (paths.some((p) => !existsSync(p))) {
    if (Date.now() > end) return false;
    await new Promise((r) => setTimeout(r, 200));
  }
  return true;
}

/**
 * Make the kernel use the new table. BLKRRPART (blockdev --rereadpt) fails on a
 * busy disk and some kernels (loop devices in sandboxes) take it without
 * creating partitions; partx then adds them one by one (BLKPG).
 */
export async function rereadPartitions(env: FetchEnv, disk: string, partitions: { number: number }[]): Promise<void> {
  const nodes = partitions.map((p) => partitionDevice(disk, p.number));
  const settle = async () => {
    if (findOnPath('udevadm')) await env.log.run(['udevadm', 'settle', '--timeout=30']).catch(() => undefined);
  };
  await env.log.run(['blockdev', '--rereadpt', disk]).catch(() => undefined);
  await settle();
  if (await waitForDevices(nodes, 3000)) return;
  await env.log.run(['partx', '--update', disk]).catch(() => undefined);
  await settle();
  if (await waitForDevices(nodes, 3000)) return;
  await env.log.run(['partx', '--add', disk]).catch(() => undefined);
  await settle();
  if (await waitForDevices(nodes, 10_000)) return;
  throw new InstallError(`The partitions ${nodes.filter((n) => !existsSync(n)).join(', ')} did not appear after the partition table was written to ${disk}.`);
}

function isWritableDir(dir: string): boolean {
  try {
    accessSync(dir, constants.W_OK);
    return statSync(dir).isDirectory() && readdirSync(dir).length > 0;
  } catch {
    return false;
  }
}

async function mountAll(env: ExecuteEnv, plan: InstallPlan, which: (mountPoint: string) => boolean): Promise<void> {
  for (const m of plan.mounts) {
    if (!which(m.mountPoint)) continue;
    const dir = m.mountPoint === '/' ? env.targetRoot : join(env.targetRoot, m.mountPoint);
    mkdirSync(dir, { recursive: true });
    await env.log.run(['mount', '-t', m.fsType === 'ext3' ? 'ext3' : 'vfat', m.device, dir]);
    env.mounted.push(dir);
  }
}

/** The plan's configuration files and root's password, into the target root (also used by disk-image). */
export function writeFiles(env: Pick<ExecuteEnv, 'targetRoot' | 'log'>, plan: Pick<InstallPlan, 'files' | 'rootPassword'>): void {
  for (const f of plan.files) {
    const path = join(env.targetRoot, f.path);
    mkdirSync(dirname(path), { recursive: true });
    if (f.kind === 'symlink') {
      if (existsSync(path) || isSymlink(path)) rmSync(path, { force: true });
      symlinkSync(f.target, path);
    } else {
      writeFileSync(path, f.content);
      chmodSync(path, f.mode);
    }
    env.log.detail(`wrote /${f.path}`);
  }
  const shadowPath = join(env.targetRoot, 'etc/shadow');
  const shadow = existsSync(shadowPath) ? readFileSync(shadowPath, 'utf8') : '';
  // writing in place keeps the file's owner and mode (root:shadow 0640 on Debian)
  writeFileSync(shadowPath, setShadowPassword(shadow, 'root', plan.rootPassword.hash));
  if (!shadow) chmodSync(shadowPath, 0o640);
  env.log.detail(`set root's password field in /etc/shadow (${plan.rootPassword.kind})`);
}

function isSymlink(path: string): boolean {
  try {
    return lstatSync(path).isSymbolicLink();
  } catch {
    return false;
  }
}

/** GRUB onto the disk (BIOS) or the ESP mounted at <targetRoot>/boot/efi (UEFI); also used by upgrade.ts. */
export async function installBootloader(env: ExecuteEnv, plan: Pick<InstallPlan, 'bootloader'> & { target: { path: string } }): Promise<void> {
  const bl = plan.bootloader;
  const bootDir = join(env.targetRoot, 'boot');
  if (bl.mode === 'bios') {
    env.log.say(`Installing GRUB (BIOS) on ${bl.disk}`);
    await env.log.run(['grub-install', '--target=i386-pc', `--boot-directory=${bootDir}`, '--no-floppy', bl.disk]);
    return;
  }
  const efi = bl.efi!;
  const espDir = join(env.targetRoot, 'boot/efi');
  env.log.say(`Installing GRUB (UEFI) on ${efi.espDevice}`);
  await env.log.run(['grub-install', '--target=x86_64-efi', `--efi-directory=${espDir}`, `--boot-directory=${bootDir}`,
    `--bootloader-id=${efi.bootloaderId}`, '--no-nvram']);
  const loader = join(espDir, 'EFI', efi.bootloaderId, 'grubx64.efi');
  if (!existsSync(loader)) throw new InstallError(`grub-install did not write EFI/${efi.bootloaderId}/grubx64.efi`);
  // the removable-media path: firmware that lost (or never got) our boot entry still finds it
  mkdirSync(join(espDir, 'EFI/BOOT'), { recursive: true });
  copyFileSync(loader, join(espDir, 'EFI/BOOT/BOOTX64.EFI'));
  copyFileSync(join(espDir, 'EFI', efi.bootloaderId, 'grub.cfg'), join(espDir, 'EFI/BOOT/grub.cfg'));
  if (!efi.writeBootEntry) {
    env.log.detail('no firmware boot entry: the answer file says write-boot-entry="false"');
  } else if (!isWritableDir(env.efivarsDir) || !findOnPath('efibootmgr')) {
    env.log.say(`No firmware boot entry written (${!findOnPath('efibootmgr') ? 'no efibootmgr' : `${env.efivarsDir} is not writable`}); the firmware boots EFI/BOOT/BOOTX64.EFI`);
  } else {
    try {
      await env.log.run(['efibootmgr', '--create', '--disk', plan.target.path, '--part', String(efi.espPartition),
        '--label', efi.label, '--loader', `\\EFI\\${efi.bootloaderId}\\grubx64.efi`]);
    } catch (e) {
      env.log.say(`warning: efibootmgr could not write a boot entry (${(e as Error).message.split('\n')[0]}); the firmware boots EFI/BOOT/BOOTX64.EFI`);
    }
  }
}

export function copyLogs(env: ExecuteEnv): void {
  const dir = join(env.targetRoot, 'var/log/installer');
  mkdirSync(dir, { recursive: true });
  for (const f of env.logFiles) {
    if (!existsSync(f)) continue;
    copyFileSync(f, join(dir, f.split('/').pop()!));
  }
}

/** Unmount everything this install mounted, innermost first. Errors are logged, the first one thrown. */
export async function unmountAll(env: FetchEnv): Promise<void> {
  let first: Error | undefined;
  while (env.mounted.length) {
    const dir = env.mounted.pop()!;
    // what was found on a mount is gone with it: the next look mounts again
    if (env.mediumDir === dir) delete env.mediumDir;
    for (const [spec, d] of Object.entries(env.nfsDirs ?? {})) if (d === dir) delete env.nfsDirs![spec];
    try {
      await env.log.run(['umount', dir]);
    } catch (e) {
      env.log.detail(`umount ${dir} failed: ${(e as Error).message}`);
      first ??= e as Error;
    }
  }
  if (first) throw first;
}

/** Steps a reinstall adds (upgrade.ts: the backup copy), around the table write. */
export interface ExecuteHooks {
  /** after every check, before the table is written */
  beforeTable?: () => Promise<void>;
  /** after the new table is in the kernel, before any partition is wiped */
  afterTable?: () => Promise<void>;
  /** partitions not wiped after the table write (the backup a hook just made) */
  keepPartitions?: number[];
}

/**
 * Carry out the plan. installation-start scripts, the source check and the
 * checks of every driver disk and supplemental pack run before the disk is
 * touched. `drivers`: driver disks already fetched and verified (unattended.ts
 * loads them into the installer before listing disks); absent, the plan's
 * driver sources are fetched here. The caller runs installation-complete scripts.
 *
 * Order after the dom0 root: product packages, driver disks, supplemental packs
 * (answer-file order), then the configuration files and the bootloader. A pack
 * that rpm refuses stops the install before the bootloader is written, so the
 * disk never boots a system that lacks what the answer file asked for.
 */
export async function executePlan(plan: InstallPlan, env: ExecuteEnv, drivers?: UpdateMedium[], hooks: ExecuteHooks = {}): Promise<void> {
  await runStageScripts(env, 'installation-start', plan.scripts['installation-start'], [], true);

  env.log.say('Looking for the installation source');
  const source = await openSource(env, plan.source, plan.rootImage, plan.rootManifest);
  env.log.say(`Installation source: ${source.where} (dom0 root ${source.manifest.size} bytes, kernel ${source.manifest.kernelRelease || '?'}, Xen ${source.manifest.xenVersion || '?'})`);

  // the product repository is checked before the disk is touched: a damaged package stops here
  let repo: ProductRepository | undefined;
  if (source.dir) repo = await verifyProductRepository(env, source.dir);
  else {
    const copy = scratchDir(env, 'repository');
    repo = await mirrorRepository(env, source.where, copy) ? await verifyProductRepository(env, copy) : undefined;
    if (!repo) env.log.say(`The installation source ${source.where} has no product repository: only the dom0 root image is installed`);
  }
  const driverMedia = drivers ?? await prepareUpdateMedia(env, plan.driverSources, 'driver disk');
  const packs = await prepareUpdateMedia(env, plan.extraSources, 'supplemental pack', driverMedia);
  const updates = [...driverMedia, ...packs];
  if (updates.length && !repo) {
    throw new InstallError(`The installation source ${source.where} has no product repository, so nothing provides what driver disks and supplemental packs require (product-version, platform-version, kernel-uname-r).`);
  }
  checkKeyNames(updates, repo ? repo.keyFiles.map((k) => join(repo!.dir, k)) : []);

  // the source stays mounted below; the target's mounts come after it on the stack
  const sourceMounts = env.mounted.length;
  await hooks.beforeTable?.();
  env.log.say(`Writing the ${plan.layout.tableType.toUpperCase()} partition table on ${plan.target.path}`);
  await writeTableToImage(plan.target.path, plan.layout);
  await rereadPartitions(env, plan.target.path, plan.layout.partitions);
  await hooks.afterTable?.();
  for (const p of plan.layout.partitions) {
    if (p.role === 'utility' || hooks.keepPartitions?.includes(p.number)) continue;
    const dev = partitionDevice(plan.target.path, p.number);
    // old signatures (LVM, RAID, file systems) on the new partitions would confuse first boot
    await env.log.run(['wipefs', '--all', '--quiet', dev]);
  }

  for (const fs of plan.fileSystems) {
    env.log.say(`Making ${fs.fsType} ${fs.label} on ${fs.device}`);
    await env.log.run(fs.argv);
  }

  let finished = false;
  try {
    mkdirSync(env.targetRoot, { recursive: true });
    await mountAll(env, plan, (m) => m !== '/boot/efi');
    env.log.say('Installing the control domain');
    const t0 = Date.now();
    const r = await extractRoot(env, source, plan.rootImage, env.targetRoot);
    env.log.say(`Control domain installed: ${r.bytes} bytes, sha256 ${r.sha256} verified (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
    for (const must of ['boot/xen.gz', 'boot/vmlinuz', 'boot/initrd.img']) {
      if (!existsSync(join(env.targetRoot, must))) throw new InstallError(`The dom0 root from ${source.where} has no /${must}.`);
    }
    await mountAll(env, plan, (m) => m === '/boot/efi');
    if (repo) {
      const installed = await installProductPackages(env, repo, env.targetRoot);
      env.log.say(`Product packages installed; the rpm database lists ${installed.nevras.length}: ${installed.nevras.join(' ')}`);
    }
    for (const m of updates) await installUpdateMedium(env, m, env.targetRoot);

    env.log.say('Writing the configuration');
    writeFiles(env, plan);
    await installBootloader(env, plan);

    await runStageScripts(env, 'filesystem-populated', plan.scripts['filesystem-populated'], [env.targetRoot], true);
    await env.log.run(['sync']);
    env.log.say('Installation finished; unmounting the target');
    copyLogs(env);
    finished = true;
  } finally {
    // unmount the target even when something failed; the source after it
    const targetMounts = env.mounted.splice(sourceMounts);
    const stack = { ...env, mounted: targetMounts };
    // after a failure, the failure is what the user needs to see, not a busy mount
    await unmountAll(stack).catch((e) => { if (finished) throw e; });
  }
}

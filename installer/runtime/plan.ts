// Answer file + detected hardware + command line → InstallPlan: everything the
// executor will do, as pure data that can be printed, compared in tests and shown
// by `xsforge answerfile plan` before a machine is booted. No processes, no I/O.
import { XsforgeError } from '../../core/errors.ts';
import {
  DEFAULTS, SCRIPT_STAGES, localSrDisks,
  type FreshInstallConfig, type InstallConfig, type RepoSource, type ScriptSpec, type ScriptStage,
} from '../../answerfiles/model.ts';
import { partitionByRole, planLayout, type LayoutPlan, type PlannedPartition } from '../../disk/layout.ts';
import { formatPlan } from '../../disk/format.ts';
import { formatBytes } from '../../disk/size.ts';
import { partitionDevice } from '../../disk/device.ts';
import type { AtExit, InstallerCmdline } from './cmdline.ts';
import { sha512Crypt } from './sha512crypt.ts';
import { issueFile, issueNetFile, releaseFile } from '../../dom0-rootfs/identity.ts';
import {
  chronySources, defaultStorageConf, fstab, hostsFile, inventoryFile, managementBridge, managementConf,
  networkConf, resolvConf, type ManagementConfig,
} from '../../target/host-files.ts';
import { efiStubGrubConfig, grubConfig } from '../../target/grub.ts';
import { dom0MemMiB, hostBoot, type BootValues } from '../../target/boot-args.ts';

/** A disk the installer can see (system.ts lists them from sysfs). */
export interface DetectedDisk {
  /** kernel name, e.g. sda */
  name: string;
  /** device node, e.g. /dev/sda */
  path: string;
  sizeBytes: number;
  /** logical sector size in bytes */
  sectorSize: number;
}

export interface ProductInfo {
  brand: string;
  version: string;
  build_number: string;
  platform: { name: string; version: string };
  /** what the installed host boots with, as the install medium names it (absent: target/boot-args.ts DEFAULT_BOOT) */
  boot?: BootValues;
}

export interface PlanOptions {
  uefi: boolean;
  /** six lower-case letters for the file-system labels */
  labelSuffix: string;
  uuids: { installation: string; controlDomain: string; sr: string };
  product: ProductInfo;
  /** crypt salt for a plaintext root password (16 of ./0-9A-Za-z); required when the password is plaintext */
  passwordSalt?: string;
  /** INSTALLATION_DATE in the inventory */
  installationDate: string;
  /** NICs, to name an `<admin-interface hwaddr=...>` */
  nics?: { name: string; mac: string }[];
  /** seed of the disk and partition GUIDs (default: the installation UUID) */
  guidSeed?: string;
}

/** Where the media carry the dom0 root (contract with the dom0-rootfs stage). */
export const ROOT_IMAGE_PATH = 'dom0/root.tar.zst';
export const ROOT_MANIFEST_PATH = 'dom0/root.json';

export class InstallPlanError extends XsforgeError {
  constructor(message: string, hint?: string) {
    super(message, hint);
    this.name = 'InstallPlanError';
  }
}

export interface PlannedFileSystem {
  partition: number;
  role: PlannedPartition['role'];
  device: string;
  fsType: 'ext3' | 'vfat' | 'swap';
  label: string;
  argv: string[];
}

export interface PlannedMount {
  device: string;
  /** inside the target, e.g. / or /var/log */
  mountPoint: string;
  fsType: 'ext3' | 'vfat';
}

export type PlannedFile =
  | { kind: 'file'; path: string; content: string; mode: number }
  | { kind: 'symlink'; path: string; target: string };

export interface PlannedBootloader {
  mode: 'bios' | 'uefi';
  /** /boot/grub/grub.cfg on the root file system */
  grubCfg: string;
  /** the whole disk GRUB's i386-pc core goes to (BIOS) */
  disk: string;
  efi?: {
    espDevice: string;
    espPartition: number;
    bootloaderId: string;
    /** EFI/<id>/grub.cfg on the ESP */
    stubCfg: string;
    /** write a firmware boot entry with efibootmgr (answer file write-boot-entry) */
    writeBootEntry: boolean;
    label: string;
  };
}

export interface InstallPlan {
  product: ProductInfo;
  mode: 'fresh' | 'reinstall';
  bootMode: 'bios' | 'uefi';
  target: DetectedDisk;
  layout: LayoutPlan;
  labelSuffix: string;
  uuids: PlanOptions['uuids'];
  /** in the order they are made */
  fileSystems: PlannedFileSystem[];
  /** in mount order (unmounted in reverse) */
  mounts: PlannedMount[];
  /** the main repository; `local` is searched on the block devices */
  source: RepoSource;
  /**
   * supplemental packs (the `<source>` elements after the first), in answer-file
   * order: fetched and verified before the disk is touched, installed after the
   * product packages (update-media.ts)
   */
  extraSources: RepoSource[];
  /** driver disks: loaded into the installer before the disks are listed, installed into dom0 before the packs */
  driverSources: RepoSource[];
  rootImage: string;
  rootManifest: string;
  /** written after the root is laid down, paths relative to the target root */
  files: PlannedFile[];
  /** root's /etc/shadow password field */
  rootPassword: { kind: 'hash' | 'hashed-plaintext' | 'locked'; hash: string };
  bootloader: PlannedBootloader;
  scripts: Record<ScriptStage, ScriptSpec[]>;
  /** SR partitions and disks for first boot */
  srDevices: string[];
  srType: 'lvm' | 'ext';
  atexit: AtExit;
  /** things the answer file or command line ask for that this installer does not do */
  notes: string[];
}

/** Scripts grouped by the stages the installer runs; other stages are dropped. */
export function scriptsByStage(scripts: ScriptSpec[]): Record<ScriptStage, ScriptSpec[]> {
  const out = Object.fromEntries(SCRIPT_STAGES.map((s) => [s, [] as ScriptSpec[]])) as Record<ScriptStage, ScriptSpec[]>;
  for (const s of scripts) if ((SCRIPT_STAGES as readonly string[]).includes(s.stage)) out[s.stage as ScriptStage].push(s);
  return out;
}

function findDisk(disks: DetectedDisk[], path: string): DetectedDisk {
  const d = disks.find((x) => x.path === path);
  if (!d) {
    throw new InstallPlanError(`No such disk "${path}".`,
      disks.length ? `disks found: ${disks.map((x) => `${x.path} (${formatBytes(x.sizeBytes)})`).join(', ')}` : 'no disks were found');
  }
  return d;
}

function managementConfig(config: FreshInstallConfig, nics: PlanOptions['nics']): ManagementConfig {
  const ai = config.adminInterface;
  let label = ai.name;
  if (ai.hwaddr !== undefined) {
    const nic = (nics ?? []).find((n) => n.mac.toLowerCase() === ai.hwaddr!.toLowerCase());
    if (nic) label = nic.name;
    else if (label === undefined) {
      throw new InstallPlanError(`No network interface has the MAC address ${ai.hwaddr} given in <admin-interface hwaddr=...>.`,
        nics?.length ? `interfaces found: ${nics.map((n) => `${n.name} ${n.mac}`).join(', ')}` : 'no network interfaces were found');
    }
  }
  const common = { label: label!, bridge: managementBridge(label!), ...(ai.vlan !== undefined && { vlan: ai.vlan }) };
  if (ai.proto === 'static' && ai.ipv4) {
    const hostname = config.hostname ?? '';
    const dot = hostname.indexOf('.');
    const domain = dot > 0 ? hostname.slice(dot + 1) : undefined;
    return {
      ...common, mode: 'static', ip: ai.ipv4.address, netmask: ai.ipv4.netmask,
      ...(ai.ipv4.gateway && { gateway: ai.ipv4.gateway }), dns: config.nameServers,
      ...(domain && domain !== 'localdomain' && { domain }),
    };
  }
  return { ...common, mode: 'dhcp' };
}

/**
 * Plan a fresh (or re-) install. Throws InstallPlanError or LayoutError with the
 * product's messages (disk missing, too small, UEFI with a DOS table).
 */
export function planInstall(config: InstallConfig, disks: DetectedDisk[], cmdline: Pick<InstallerCmdline, 'disableGpt' | 'atexit' | 'multipath'>, opts: PlanOptions): InstallPlan {
  if (config.kind === 'restore') throw new InstallPlanError('Restoring from a backup is not supported by this installer yet.');
  if (config.mode === 'upgrade') throw new InstallPlanError('Upgrading an existing installation is not supported by this installer yet.', 'use mode="fresh" or mode="reinstall"');
  if (!/^[a-z]{6}$/.test(opts.labelSuffix)) throw new InstallPlanError(`label suffix must be 6 lower-case letters, got '${opts.labelSuffix}'`);
  const notes: string[] = [];

  const target = findDisk(disks, config.primaryDisk);
  for (const g of config.guestDisks) findDisk(disks, g);
  const layout = planLayout({
    scheme: cmdline.disableGpt ? 'dos' : 'gpt',
    diskSectors: Math.floor(target.sizeBytes / target.sectorSize),
    sectorSize: target.sectorSize,
    guestStorage: config.guestStorage,
    uefi: opts.uefi,
    diskName: target.path,
    // a blank or overwritten disk: nothing on it is kept (utility partitions need the disk read first)
    preserveFirstPartition: 'false',
    labelSuffix: opts.labelSuffix,
    guidSeed: opts.guidSeed ?? opts.uuids.installation,
  });
  if (config.preserveFirstPartition === 'true') notes.push('preserve-first-partition="true" is not supported yet: the whole disk is repartitioned');

  const dev = (p: PlannedPartition) => partitionDevice(target.path, p.number);
  const root = partitionByRole(layout, 'root')!;
  const logs = partitionByRole(layout, 'logs');
  const swap = partitionByRole(layout, 'swap');
  const backup = partitionByRole(layout, 'backup')!;
  const boot = partitionByRole(layout, 'boot');
  const sr = partitionByRole(layout, 'sr');
  const esp = opts.uefi ? boot : undefined;

  const fileSystems: PlannedFileSystem[] = [];
  for (const p of layout.partitions) {
    if (!p.fsType || !p.label) continue;
    const d = dev(p);
    const argv = p.fsType === 'ext3' ? ['mkfs.ext3', '-F', '-q', '-L', p.label, d]
      : p.fsType === 'swap' ? ['mkswap', '-L', p.label, d]
        : ['mkfs.vfat', '-n', p.label, d];
    fileSystems.push({ partition: p.number, role: p.role, device: d, fsType: p.fsType, label: p.label, argv });
  }
  // root first: everything else is mounted inside it
  const order: PlannedPartition['role'][] = ['root', 'logs', 'boot', 'swap'];
  fileSystems.sort((a, b) => order.indexOf(a.role) - order.indexOf(b.role));
  const mounts: PlannedMount[] = [{ device: dev(root), mountPoint: '/', fsType: 'ext3' }];
  if (logs) mounts.push({ device: dev(logs), mountPoint: '/var/log', fsType: 'ext3' });
  if (esp) mounts.push({ device: dev(esp), mountPoint: '/boot/efi', fsType: 'vfat' });

  const hostname = config.hostname ?? DEFAULTS.hostname;
  const mgmt = managementConfig(config, opts.nics);
  const srDevices = [...(sr ? [dev(sr)] : []), ...localSrDisks(config).filter((d) => d !== config.primaryDisk)];
  const backend = config.networkBackend ?? DEFAULTS.networkBackend;
  const domain = hostname.includes('.') && hostname !== DEFAULTS.hostname ? hostname.slice(hostname.indexOf('.') + 1) : undefined;
  const hostBootValues = hostBoot(opts.product);

  const files: PlannedFile[] = [];
  const file = (path: string, content: string, mode = 0o644) => files.push({ kind: 'file', path, content, mode });
  // the release installed is the source's (a CU base-install medium names 7.1.3 while its
  // dom0 image was built as 7.1.2): the host's own identity files say what it runs
  file('etc/xsforge-release', releaseFile(opts.product));
  file('etc/issue', issueFile(opts.product));
  file('etc/issue.net', issueNetFile(opts.product));
  file('etc/hostname', `${hostname}\n`);
  file('etc/hosts', hostsFile(hostname));
  file('etc/resolv.conf', resolvConf(config.nameServers, domain));
  file('etc/timezone', `${config.timezone}\n`);
  files.push({ kind: 'symlink', path: 'etc/localtime', target: `/usr/share/zoneinfo/${config.timezone}` });
  if (config.ntpServers.length) file('etc/chrony/sources.d/xsforge.sources', chronySources(config.ntpServers));
  file('etc/fstab', fstab({
    rootLabel: root.label!,
    ...(logs?.label && { logsLabel: logs.label }),
    ...(swap?.label && { swapLabel: swap.label }),
    ...(esp?.label && { bootLabel: esp.label }),
  }));
  file('etc/xensource-inventory', inventoryFile({
    productBrand: opts.product.brand,
    productVersion: opts.product.version,
    platformName: opts.product.platform.name,
    platformVersion: opts.product.platform.version,
    buildNumber: opts.product.build_number,
    installationUuid: opts.uuids.installation,
    controlDomainUuid: opts.uuids.controlDomain,
    primaryDisk: target.path,
    backupPartition: dev(backup),
    partitionLayout: layout.partitionLayout,
    managementInterface: mgmt.bridge,
    installationDate: opts.installationDate,
    dom0MemMiB: dom0MemMiB(hostBootValues.xen.dom0_mem),
    defaultSrPhysdevs: srDevices,
  }));
  file('etc/xensource/network.conf', networkConf(backend));
  file('etc/firstboot.d/data/management.conf', managementConf(mgmt));
  if (srDevices.length) file('etc/firstboot.d/data/default-storage.conf', defaultStorageConf(srDevices, config.srType, opts.uuids.sr));
  file('etc/firstboot.d/state/pending', '');
  const grubCfg = grubConfig({ brand: opts.product.brand, rootLabel: root.label!, boot: hostBootValues });
  file('boot/grub/grub.cfg', grubCfg);
  const bootloaderId = 'xenserver';
  if (esp) file(`boot/efi/EFI/${bootloaderId}/grub.cfg`, efiStubGrubConfig(root.label!));

  let rootPassword: InstallPlan['rootPassword'];
  if (!config.rootPassword) rootPassword = { kind: 'locked', hash: DEFAULTS.lockedPasswordHash };
  else if (config.rootPassword.type === 'hash') rootPassword = { kind: 'hash', hash: config.rootPassword.value };
  else {
    if (!opts.passwordSalt) throw new InstallPlanError('a plaintext root password needs a salt to be hashed (planInstall opts.passwordSalt)');
    rootPassword = { kind: 'hashed-plaintext', hash: sha512Crypt(config.rootPassword.value, opts.passwordSalt) };
  }

  if (cmdline.multipath) notes.push('device_mapper_multipath: multipath roots are not supported yet; the disk is used directly');
  if (Object.keys(config.services).length) notes.push(`<service> elements are not applied yet (${Object.keys(config.services).join(', ')})`);
  if (config.keymap && config.keymap !== DEFAULTS.keymap) notes.push(`keymap ${config.keymap} is not written to the installed system yet`);
  if (config.adminInterface.protov6 !== 'none') notes.push('IPv6 on the management interface is not configured yet');

  return {
    product: opts.product,
    mode: config.mode,
    bootMode: opts.uefi ? 'uefi' : 'bios',
    target,
    layout,
    labelSuffix: opts.labelSuffix,
    uuids: opts.uuids,
    fileSystems,
    mounts,
    source: config.sources[0]!,
    extraSources: config.sources.slice(1),
    driverSources: config.driverSources,
    rootImage: ROOT_IMAGE_PATH,
    rootManifest: ROOT_MANIFEST_PATH,
    files,
    rootPassword,
    bootloader: {
      mode: opts.uefi ? 'uefi' : 'bios',
      grubCfg,
      disk: target.path,
      ...(esp && {
        efi: {
          espDevice: dev(esp), espPartition: esp.number, bootloaderId, stubCfg: efiStubGrubConfig(root.label!),
          writeBootEntry: config.bootloader.writeBootEntry, label: opts.product.brand,
        },
      }),
    },
    scripts: scriptsByStage(config.scripts),
    srDevices,
    srType: config.srType,
    atexit: cmdline.atexit,
    notes,
  };
}

function describeSource(s: RepoSource, what = 'main'): string {
  if (s.type === 'local') return what === 'main' ? 'local media (a device with /.treeinfo)' : 'local media (a device with /update.xml)';
  return s.type === 'nfs' ? `nfs ${s.address}` : s.address;
}

/** The plan as a person reads it (installer console and log, `xsforge answerfile plan`). */
export function formatInstallPlan(plan: InstallPlan): string {
  const out: string[] = [];
  out.push(`Installation plan: ${plan.mode} install of ${plan.product.brand} ${plan.product.version} (build ${plan.product.build_number})`);
  out.push(`  target disk:   ${plan.target.path} (${formatBytes(plan.target.sizeBytes)}, ${plan.target.sectorSize}-byte sectors)`);
  out.push(`  boot:          ${plan.bootMode.toUpperCase()}, ${plan.layout.tableType.toUpperCase()} table, labels *-${plan.labelSuffix}`);
  out.push(`  source:        ${describeSource(plan.source)} → ${plan.rootImage} (checked against ${plan.rootManifest})`);
  plan.driverSources.forEach((s, i) => out.push(`  driver disk ${i + 1}: ${describeSource(s, 'driver disk')}`));
  plan.extraSources.forEach((s, i) => out.push(`  supp. pack ${i + 1}: ${describeSource(s, 'supplemental pack')}`));
  out.push(`  installation:  ${plan.uuids.installation}; control domain ${plan.uuids.controlDomain}`);
  out.push(`  local SR:      ${plan.srDevices.length ? `${plan.srType} on ${plan.srDevices.join(' ')} (SR ${plan.uuids.sr})` : 'none'}`);
  out.push(`  root password: ${plan.rootPassword.kind === 'locked' ? 'none (locked until first boot)' : plan.rootPassword.kind === 'hash' ? 'hash from the answer file' : 'plaintext from the answer file, stored as a SHA-512 crypt hash'}`);
  out.push(`  at exit:       ${plan.atexit}`);
  out.push('');
  out.push('Partitions:');
  for (const l of formatPlan(plan.layout).trimEnd().split('\n')) out.push(l ? `  ${l}` : '');
  out.push('');
  out.push('File systems:');
  for (const f of plan.fileSystems) out.push(`  ${f.device.padEnd(14)} ${f.fsType.padEnd(5)} ${f.label.padEnd(12)} (${f.argv.join(' ')})`);
  out.push('Mounts:');
  for (const m of plan.mounts) out.push(`  ${m.device.padEnd(14)} on <target>${m.mountPoint === '/' ? '' : m.mountPoint}/`);
  out.push('Files written into the installed system:');
  for (const f of plan.files) out.push(`  /${f.path}${f.kind === 'symlink' ? ` -> ${f.target}` : ` (${Buffer.byteLength(f.content)} bytes)`}`);
  out.push('  /etc/shadow (root password field)');
  out.push(`  /var/log/installer/ (the installer log)`);
  const bl = plan.bootloader;
  if (plan.driverSources.length || plan.extraSources.length) {
    // the order execute.ts keeps; a pack that cannot be installed stops the install before the bootloader
    out.push('Updates installed into the new dom0 after the product packages, before the configuration and the bootloader:');
    out.push('  (each: verified before the disk is touched; its groups update and drivers plus its control package in one rpm transaction;');
    out.push('   rpm\'s dependency check enforces product-version, platform-version and kernel-uname-r)');
    plan.driverSources.forEach((s, i) => out.push(`  ${i + 1}. driver disk ${describeSource(s, 'driver disk')} (its modules are loaded into the installer first)`));
    plan.extraSources.forEach((s, i) => out.push(`  ${plan.driverSources.length + i + 1}. supplemental pack ${describeSource(s, 'supplemental pack')}`));
  }
  out.push(`Bootloader: GRUB 2, ${bl.mode === 'bios' ? `i386-pc on ${bl.disk} (BIOS-boot partition)` : `x86_64-efi on ${bl.efi!.espDevice}: EFI/${bl.efi!.bootloaderId}/grubx64.efi and EFI/BOOT/BOOTX64.EFI${bl.efi!.writeBootEntry ? ', firmware boot entry' : ''}`}`);
  for (const l of bl.grubCfg.split('\n').filter((x) => /^\s*(menuentry|multiboot2|module2)/.test(x))) out.push(`  ${l.trim()}`);
  out.push('Scripts:');
  let any = false;
  for (const stage of SCRIPT_STAGES) {
    for (const s of plan.scripts[stage]) {
      out.push(`  ${stage}: ${s.url}`);
      any = true;
    }
  }
  if (!any) out.push('  (none)');
  for (const n of plan.notes) out.push(`Note: ${n}`);
  return out.join('\n') + '\n';
}

/** A plan for JSON output (bigint GPT attributes as hex; no plaintext anywhere). */
export function installPlanJson(plan: InstallPlan): string {
  return JSON.stringify(plan, (_k, v) => (typeof v === 'bigint' ? `0x${v.toString(16)}` : v), 2);
}

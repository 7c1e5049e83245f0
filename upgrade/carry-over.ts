// The settings an upgrade carries from the old root to the new one (seed:2223-2224:
// "保留网络连接配置、系统时间等现有设置": network configuration, time and the
// like are kept and not asked again). Pure: the old root's files in (RootFiles,
// read by the runtime: CARRY_OVER_PATHS and CARRY_OVER_PATTERNS), the files of
// the new root out, in the shape of the install plan's files (plan.ts
// PlannedFile: paths relative to the target root), plus what is not carried and why.
//
// What a fresh install writes (installer/runtime/plan.ts, target/host-files.ts) and
// what first boot adds (dom0-rootfs/overlay/usr/lib/xsforge/firstboot: the
// systemd-networkd file, local-sr.conf, SR_UUID/SR_TYPE in the inventory, an
// fstab line for an ext SR, state/done) is what an upgraded host must have again.
import type { LayoutPlan } from '../disk/layout.ts';
import { fstab, inventoryFile, shellAssign } from '../target/host-files.ts';
import { XEN_CMDLINE_CONF } from '../target/xen-cmdline.ts';
import { INVENTORY_PATH, UpgradeError, fileText, isSymlink, parseShellVars, type MediaProduct, type RootFiles } from './model.ts';

export type CarriedFile =
  | { kind: 'file'; path: string; content: string; mode: number }
  | { kind: 'symlink'; path: string; target: string };

export interface NotCarried {
  what: string;
  why: string;
}

export interface CarryOver {
  /** written into the new root after the dom0 is laid down (relative paths, as plan.ts files) */
  files: CarriedFile[];
  /** root's password field for /etc/shadow (setShadowPassword); absent when the old root had no root line */
  rootPasswordHash?: string;
  /** done: first boot ran on the old host and does not run again; pending: it runs on the next boot */
  firstBoot: 'done' | 'pending';
  notCarried: NotCarried[];
  /** identity kept, for the plan's summary */
  identity: { installationUuid: string; controlDomainUuid: string; hostname?: string; srUuid?: string };
}

export interface CarryOverInput {
  oldRoot: RootFiles;
  media: MediaProduct;
  /** the table after the upgrade (labels, PARTITION_LAYOUT) */
  layout: LayoutPlan;
  primaryDisk: string;
  backupPartition: string;
  installationDate: string;
  dom0MemMiB: number;
  /** the upgrade moved to the new layout and made the (empty) local SR anew */
  srRecreated: boolean;
}

/**
 * The first-boot contract (dom0-rootfs/rootfs.ts FIRSTBOOT, which imports the
 * build's stage code and so cannot be bundled into the installer: the unit test
 * checks these paths against it).
 */
export const FIRSTBOOT_PATHS = {
  pendingFlag: '/etc/firstboot.d/state/pending',
  doneFile: '/etc/firstboot.d/state/done',
  managementConf: '/etc/firstboot.d/data/management.conf',
  storageConf: '/etc/firstboot.d/data/default-storage.conf',
  localSrConf: '/etc/xensource/local-sr.conf',
} as const;
const FIRSTBOOT = FIRSTBOOT_PATHS;

const NETWORK_CONF = '/etc/xensource/network.conf';

/** Files read as they are, when present. */
const VERBATIM: { path: string; what: string; mode: number }[] = [
  { path: '/etc/hostname', what: 'hostname', mode: 0o644 },
  { path: '/etc/hosts', what: 'hosts file (the host\'s own name)', mode: 0o644 },
  { path: '/etc/resolv.conf', what: 'DNS servers and search domain', mode: 0o644 },
  { path: '/etc/timezone', what: 'timezone', mode: 0o644 },
  { path: '/etc/machine-id', what: 'machine id (systemd-networkd derives the DHCP client id from it: the host keeps its lease)', mode: 0o444 },
  { path: NETWORK_CONF, what: 'network backend', mode: 0o644 },
  // applied to the new GRUB entries too (upgrade/plan.ts)
  { path: XEN_CMDLINE_CONF, what: 'boot arguments changed with xen-cmdline', mode: 0o644 },
  { path: FIRSTBOOT.managementConf, what: 'management interface (first-boot data)', mode: 0o644 },
  { path: FIRSTBOOT.storageConf, what: 'local SR devices and type (first-boot data)', mode: 0o644 },
  // what a product host records besides (xapi's pool membership and state); absent on xsforge's dom0
  { path: '/etc/xensource/pool.conf', what: 'pool role', mode: 0o644 },
  { path: '/etc/xensource/ptoken', what: 'pool token', mode: 0o600 },
  { path: '/etc/xensource/xapi-ssl.pem', what: 'xapi TLS certificate', mode: 0o400 },
  { path: '/var/xapi/state.db', what: 'xapi database', mode: 0o600 },
];

const LOCAL_SR_CONF = FIRSTBOOT.localSrConf;
const SSH_KEY = /^\/etc\/ssh\/ssh_host_[a-z0-9]+_key(\.pub)?$/;
const CHRONY_SOURCES = /^\/etc\/chrony\/sources\.d\/[^/]+\.sources$/;
// the management bridge is a .netdev (and its VLAN, if any) plus .network files
const NETWORKD_FILE = /^\/etc\/systemd\/network\/[^/]+\.net(work|dev)$/;
/**
 * libvirt's definitions: VMs (libxl), storage pools, networks, and their
 * autostart links. One pattern a directory: the runtime lists each pattern's
 * literal directory (installer/runtime/upgrade.ts readRootFiles).
 */
const LIBVIRT_FILES = ['libxl', 'libxl\\/autostart', 'storage', 'storage\\/autostart', 'qemu\\/networks', 'qemu\\/networks\\/autostart']
  .map((d) => new RegExp(`^\\/etc\\/libvirt\\/${d}\\/[^/]+\\.xml$`));

/** Exact paths the runtime reads from the old root for carryOverSettings. */
export const CARRY_OVER_PATHS = [
  INVENTORY_PATH, '/etc/shadow', '/etc/fstab', '/etc/localtime', LOCAL_SR_CONF, FIRSTBOOT.pendingFlag, FIRSTBOOT.doneFile,
  ...VERBATIM.map((v) => v.path),
];
/** Patterns of paths to read (list the directories /etc/ssh, /etc/chrony/sources.d, /etc/systemd/network). */
export const CARRY_OVER_PATTERNS = [SSH_KEY, CHRONY_SOURCES, NETWORKD_FILE, ...LIBVIRT_FILES];

/** Inventory keys the new media sets; every other key of the old inventory is carried. */
const NEW_INVENTORY_KEYS = new Set([
  'PRODUCT_BRAND', 'PRODUCT_VERSION', 'PLATFORM_NAME', 'PLATFORM_VERSION', 'BUILD_NUMBER', 'INSTALLATION_DATE',
  'PRIMARY_DISK', 'BACKUP_PARTITION', 'PARTITION_LAYOUT', 'DOM0_MEM',
]);
/** Keys first boot writes after making the SR: dropped when the SR is made anew. */
const SR_INVENTORY_KEYS = ['SR_UUID', 'SR_TYPE'];

/** An ext SR's mount line (first boot adds it): the mount point is under /var/run/sr-mount/. */
function isSrFstabLine(line: string): boolean {
  const f = line.trim().split(/\s+/);
  return !line.trim().startsWith('#') && f.length >= 2 && /^\/(var\/)?run\/sr-mount\//.test(f[1]!);
}

/** root's password field of /etc/shadow. */
export function shadowRootHash(shadow: string): string | undefined {
  for (const line of shadow.split('\n')) {
    const f = line.split(':');
    if (f[0] === 'root' && f.length >= 2) return f[1];
  }
  return undefined;
}

export function carryOverSettings(input: CarryOverInput): CarryOver {
  const old = input.oldRoot;
  const files: CarriedFile[] = [];
  const notCarried: NotCarried[] = [];
  const rel = (p: string) => p.replace(/^\/+/, '');
  const text = (p: string) => fileText(old, p);
  const keys = Object.keys(old).sort();

  // Inventory: the host's identity stays, the product's and the layout's values are the media's.
  const invText = text(INVENTORY_PATH);
  if (invText === undefined) throw new UpgradeError(`The old root has no ${INVENTORY_PATH}: its installation and control-domain UUIDs cannot be kept.`);
  const inv = parseShellVars(invText);
  const installationUuid = inv.get('INSTALLATION_UUID');
  const controlDomainUuid = inv.get('CONTROL_DOMAIN_UUID');
  if (!installationUuid || !controlDomainUuid) {
    throw new UpgradeError(`${INVENTORY_PATH} of the old root has no ${!installationUuid ? 'INSTALLATION_UUID' : 'CONTROL_DOMAIN_UUID'}: the host's identity cannot be kept.`);
  }
  const srPartition = input.layout.partitions.find((p) => p.role === 'sr');
  const physdevs = (inv.get('DEFAULT_SR_PHYSDEVS') ?? '').split(/\s+/).filter(Boolean);
  let inventory = inventoryFile({
    productBrand: input.media.brand, productVersion: input.media.version, platformName: input.media.platform.name,
    platformVersion: input.media.platform.version, buildNumber: input.media.build_number,
    installationUuid, controlDomainUuid, primaryDisk: input.primaryDisk, backupPartition: input.backupPartition,
    partitionLayout: input.layout.partitionLayout, managementInterface: inv.get('MANAGEMENT_INTERFACE') ?? '',
    installationDate: input.installationDate, dom0MemMiB: input.dom0MemMiB, defaultSrPhysdevs: physdevs,
  });
  const written = new Set(parseShellVars(inventory).keys());
  for (const [k, v] of inv) {
    if (written.has(k) || NEW_INVENTORY_KEYS.has(k)) continue;
    if (input.srRecreated && SR_INVENTORY_KEYS.includes(k)) continue;
    inventory += `${shellAssign(k, v)}\n`;
  }
  files.push({ kind: 'file', path: rel(INVENTORY_PATH), content: inventory, mode: 0o644 });
  if (!inv.get('MANAGEMENT_INTERFACE')) notCarried.push({ what: 'MANAGEMENT_INTERFACE', why: 'the old inventory has none' });

  for (const v of VERBATIM) {
    let t = text(v.path);
    // earlier versions wrote the product's default, openvswitch, and used the NIC
    // itself; this version has only the bridge (first boot refuses anything else)
    if (v.path === NETWORK_CONF && t !== undefined && t.trim() !== 'bridge') {
      notCarried.push({ what: `network backend '${t.trim()}'`, why: `this version has only the Linux bridge: ${NETWORK_CONF} says bridge` });
      t = 'bridge\n';
    }
    if (t === undefined) {
      if (!v.path.startsWith('/etc/xensource/p') && !v.path.startsWith('/var/xapi') && !v.path.endsWith('xapi-ssl.pem')) {
        notCarried.push({ what: v.what, why: `${v.path} is not in the old root: the new root's default applies` });
      }
      continue;
    }
    files.push({ kind: 'file', path: rel(v.path), content: t, mode: v.mode });
  }

  // Timezone: /etc/localtime is a link into zoneinfo (a copied file is carried as it is).
  const lt = old['/etc/localtime'];
  if (isSymlink(lt)) files.push({ kind: 'symlink', path: 'etc/localtime', target: lt.symlink });
  else if (lt !== undefined) notCarried.push({ what: '/etc/localtime', why: 'a regular file, not a link into /usr/share/zoneinfo: /etc/timezone is carried and the link is the new root\'s' });

  for (const p of keys.filter((k) => CHRONY_SOURCES.test(k))) files.push({ kind: 'file', path: rel(p), content: text(p) ?? '', mode: 0o644 });
  if (!keys.some((k) => CHRONY_SOURCES.test(k))) notCarried.push({ what: 'NTP servers', why: 'no /etc/chrony/sources.d/*.sources in the old root: chrony keeps its default pool' });
  for (const p of keys.filter((k) => NETWORKD_FILE.test(k))) files.push({ kind: 'file', path: rel(p), content: text(p) ?? '', mode: 0o644 });

  // VMs, the local SR's pool and the bridge's network as libvirt knows them
  const libvirt = keys.filter((k) => LIBVIRT_FILES.some((re) => re.test(k)));
  for (const p of libvirt) {
    const v = old[p]!;
    if (isSymlink(v)) files.push({ kind: 'symlink', path: rel(p), target: v.symlink });
    else files.push({ kind: 'file', path: rel(p), content: typeof v === 'string' ? v : Buffer.from(v).toString('utf8'), mode: 0o600 });
  }

  // SSH host keys: clients keep trusting the host; private keys stay 0600.
  const sshKeys = keys.filter((k) => SSH_KEY.test(k));
  for (const p of sshKeys) {
    const v = old[p]!;
    if (isSymlink(v)) continue;
    files.push({ kind: 'file', path: rel(p), content: typeof v === 'string' ? v : Buffer.from(v).toString('utf8'), mode: p.endsWith('.pub') ? 0o644 : 0o600 });
  }
  if (!sshKeys.length) notCarried.push({ what: 'SSH host keys', why: 'none in the old root: the new host makes its own on the first start of sshd (xsforge-ssh-hostkeys.service)' });

  // SR records and first boot. The SR stays: its record stays, and first boot
  // (which would make a new SR) must not run again. A recreated SR is made by first boot.
  const localSr = text(LOCAL_SR_CONF);
  let srUuid = inv.get('SR_UUID');
  const oldFstab = text('/etc/fstab') ?? '';
  const srMounts = oldFstab.split('\n').filter(isSrFstabLine);
  if (input.srRecreated) {
    srUuid = undefined;
    notCarried.push({ what: `local SR record (${LOCAL_SR_CONF}, SR_UUID in the inventory${srMounts.length ? ', its fstab line' : ''})`,
      why: 'the move to the new layout makes the (empty) local SR anew: first boot creates it again from default-storage.conf' });
  } else if (localSr !== undefined) {
    files.push({ kind: 'file', path: rel(LOCAL_SR_CONF), content: localSr, mode: 0o644 });
  } else if (srPartition) {
    notCarried.push({ what: 'local SR record', why: `no ${LOCAL_SR_CONF} in the old root${text(FIRSTBOOT.pendingFlag) !== undefined ? ': first boot had not run yet and will make the SR' : ''}` });
  }
  const oldPending = text(FIRSTBOOT.pendingFlag) !== undefined;
  const oldDone = text(FIRSTBOOT.doneFile);
  let firstBoot: CarryOver['firstBoot'];
  if (input.srRecreated || oldPending || oldDone === undefined) {
    firstBoot = 'pending';
    files.push({ kind: 'file', path: rel(FIRSTBOOT.pendingFlag), content: '', mode: 0o644 });
    if (!input.srRecreated && !oldPending) notCarried.push({ what: 'first-boot state', why: `neither ${FIRSTBOOT.pendingFlag} nor ${FIRSTBOOT.doneFile} in the old root: first boot runs on the new version` });
  } else {
    firstBoot = 'done';
    files.push({ kind: 'file', path: rel(FIRSTBOOT.doneFile), content: oldDone, mode: 0o644 });
  }

  // fstab: the new layout's file systems by label, then the old host's SR mounts.
  const label = (role: string) => input.layout.partitions.find((p) => p.role === role)?.label;
  const rootLabel = label('root');
  if (!rootLabel) throw new UpgradeError('the layout after the upgrade has no labelled root partition (plan it with a labelSuffix)');
  const bootP = input.layout.partitions.find((p) => p.role === 'boot' && p.fsType === 'vfat');
  let newFstab = fstab({
    rootLabel,
    ...(label('logs') && { logsLabel: label('logs')! }),
    ...(label('swap') && { swapLabel: label('swap')! }),
    ...(bootP?.label && { bootLabel: bootP.label }),
  });
  if (!input.srRecreated && srMounts.length) newFstab += `${srMounts.join('\n')}\n`;
  files.push({ kind: 'file', path: 'etc/fstab', content: newFstab, mode: 0o644 });

  const shadow = text('/etc/shadow');
  const rootPasswordHash = shadow !== undefined ? shadowRootHash(shadow) : undefined;
  if (rootPasswordHash === undefined) notCarried.push({ what: 'root password', why: 'no root line in the old /etc/shadow: the new root\'s stays' });

  notCarried.push(
    { what: '/etc/shadow (other accounts), /etc/passwd, /etc/group', why: 'the new version\'s system accounts; only root\'s password is kept' },
    { what: '/boot, the kernel and GRUB configuration', why: 'the new version\'s; the bootloader is installed again' },
    { what: 'installed packages and their files', why: 'the new version\'s; supplemental packs must be installed again' },
    { what: '/root, /home and other files', why: 'not settings: they stay in the backup partition, which holds the old root' },
  );
  if (!input.layout.partitions.some((p) => p.role === 'logs')) notCarried.push({ what: '/var/log', why: 'on the old root (no log partition): it stays in the backup partition' });

  const hostname = text('/etc/hostname')?.trim();
  return {
    files, ...(rootPasswordHash !== undefined && { rootPasswordHash }), firstBoot, notCarried,
    identity: { installationUuid, controlDomainUuid, ...(hostname && { hostname }), ...(srUuid && { srUuid }) },
  };
}

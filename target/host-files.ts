// The configuration files written into the installed dom0, as text: by a fresh
// install (installer/runtime/plan.ts) and again by an upgrade (upgrade/carry-over.ts).
// Pure: values in, file contents out. Formats follow host-installer 10.0.x
// (backend.py writeInventory, configureNetworking, prepareStorageRepositories)
// where the product has them, Debian's where the dom0 is Debian's (chrony, fstab).

import type { NetworkBackend } from '../answerfiles/model.ts';

/** KEY='value' with the value quoted as a POSIX shell reads it. */
export function shellAssign(key: string, value: string): string {
  return `${key}='${value.replace(/'/g, `'\\''`)}'`;
}

export interface InventoryValues {
  productBrand: string;
  productVersion: string;
  platformName: string;
  platformVersion: string;
  buildNumber: string;
  installationUuid: string;
  controlDomainUuid: string;
  primaryDisk: string;
  backupPartition: string;
  partitionLayout: string;
  managementInterface: string;
  installationDate: string;
  /** dom0 memory in MiB (dom0MemMiB of the grub entry's dom0_mem) */
  dom0MemMiB: number;
  /** the disks/partitions of the local SR (space separated in the file) */
  defaultSrPhysdevs: string[];
}

/** /etc/xensource-inventory. */
export function inventoryFile(v: InventoryValues): string {
  const lines: [string, string][] = [
    ['PRODUCT_BRAND', v.productBrand],
    ['PRODUCT_VERSION', v.productVersion],
    ['PLATFORM_NAME', v.platformName],
    ['PLATFORM_VERSION', v.platformVersion],
    ['BUILD_NUMBER', v.buildNumber],
    ['INSTALLATION_DATE', v.installationDate],
    ['INSTALLATION_UUID', v.installationUuid],
    ['CONTROL_DOMAIN_UUID', v.controlDomainUuid],
    ['PRIMARY_DISK', v.primaryDisk],
    ['BACKUP_PARTITION', v.backupPartition],
    ['PARTITION_LAYOUT', v.partitionLayout],
    ['DEFAULT_SR_PHYSDEVS', v.defaultSrPhysdevs.join(' ')],
    ['DOM0_MEM', String(v.dom0MemMiB)],
    ['MANAGEMENT_INTERFACE', v.managementInterface],
    ['MANAGEMENT_ADDRESS_TYPE', 'IPv4'],
  ];
  return lines.map(([k, val]) => shellAssign(k, val)).join('\n') + '\n';
}

/**
 * The bridge the management NIC becomes a port of (the product's names: ethN ->
 * xenbrN; any other name -> xenbr0). The inventory's MANAGEMENT_INTERFACE and
 * first boot's bridge (management.conf BRIDGE) both come from here.
 */
export function managementBridge(label: string): string {
  const m = /^eth(\d+)$/.exec(label);
  return m ? `xenbr${m[1]}` : 'xenbr0';
}

interface ManagementCommon {
  /** the NIC, e.g. eth0 */
  label: string;
  /** managementBridge(label) */
  bridge: string;
  /** a tagged management network: the address goes on <bridge>.<vlan> */
  vlan?: number;
}

export type ManagementConfig =
  | ManagementCommon & { mode: 'dhcp' }
  | ManagementCommon & { mode: 'static'; ip: string; netmask: string; gateway?: string; dns: string[]; domain?: string };

/**
 * /etc/firstboot.d/data/management.conf (DNS and DOMAIN only for static, as the
 * product writes them; BRIDGE and VLAN are read by xsforge's first boot).
 */
export function managementConf(m: ManagementConfig): string {
  const lines = [shellAssign('LABEL', m.label), shellAssign('MODE', m.mode), shellAssign('BRIDGE', m.bridge)];
  if (m.vlan !== undefined) lines.push(shellAssign('VLAN', String(m.vlan)));
  if (m.mode === 'static') {
    lines.push(shellAssign('IP', m.ip), shellAssign('NETMASK', m.netmask));
    if (m.gateway) lines.push(shellAssign('GATEWAY', m.gateway));
    m.dns.forEach((d, i) => lines.push(shellAssign(`DNS${i + 1}`, d)));
    if (m.domain) lines.push(shellAssign('DOMAIN', m.domain));
  }
  return lines.join('\n') + '\n';
}

/** /etc/firstboot.d/data/default-storage.conf (with the product's legacy names too). */
export function defaultStorageConf(partitions: string[], type: 'lvm' | 'ext', srUuid: string): string {
  return [
    shellAssign('XSPARTITIONS', partitions.join(' ')),
    shellAssign('XSTYPE', type),
    shellAssign('PARTITIONS', partitions.join(' ')),
    shellAssign('TYPE', type),
    shellAssign('SR_UUID', srUuid),
  ].join('\n') + '\n';
}

/** /etc/xensource/network.conf */
export function networkConf(backend: NetworkBackend): string {
  return `${backend}\n`;
}

export interface FstabEntries {
  rootLabel: string;
  logsLabel?: string;
  swapLabel?: string;
  /** UEFI only */
  bootLabel?: string;
}

const DEVICE_TIMEOUT = 'x-systemd.device-timeout=5min';

/** /etc/fstab, every file system by label. */
export function fstab(e: FstabEntries): string {
  const rows: string[][] = [['# <file system>', '<mount point>', '<type>', '<options>', '<dump>', '<pass>']];
  rows.push([`LABEL=${e.rootLabel}`, '/', 'ext3', 'defaults', '1', '1']);
  if (e.bootLabel) rows.push([`LABEL=${e.bootLabel}`, '/boot/efi', 'vfat', 'umask=0077', '0', '2']);
  // udev on a slow or busy host (a loaded hypervisor, TCG) can take longer than
  // systemd's 90 s device wait; five minutes keeps first boot out of emergency mode
  if (e.logsLabel) rows.push([`LABEL=${e.logsLabel}`, '/var/log', 'ext3', `defaults,${DEVICE_TIMEOUT}`, '0', '2']);
  // a missing swap partition must not stop the boot
  if (e.swapLabel) rows.push([`LABEL=${e.swapLabel}`, 'none', 'swap', `sw,nofail,${DEVICE_TIMEOUT}`, '0', '0']);
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join(' ')).join('\n') + '\n';
}

/** /etc/hosts: localhost, plus the host's own name on 127.0.1.1 (Debian's convention). */
export function hostsFile(hostname: string): string {
  const lines = [
    '127.0.0.1\tlocalhost localhost.localdomain',
    '::1\t\tlocalhost localhost.localdomain ip6-localhost ip6-loopback',
    'ff02::1\t\tip6-allnodes',
    'ff02::2\t\tip6-allrouters',
  ];
  if (hostname && hostname !== 'localhost' && hostname !== 'localhost.localdomain') {
    const short = hostname.split('.')[0]!;
    lines.splice(1, 0, `127.0.1.1\t${short === hostname ? hostname : `${hostname} ${short}`}`);
  }
  return lines.join('\n') + '\n';
}

/** /etc/resolv.conf: a search line for the domain, then name servers (at most 3 are used by libc). */
export function resolvConf(nameServers: string[], domain?: string): string {
  const lines = ['# written by the installer'];
  if (domain) lines.push(`search ${domain}`);
  for (const ns of nameServers) lines.push(`nameserver ${ns}`);
  return lines.join('\n') + '\n';
}

/** /etc/chrony/sources.d/xsforge.sources */
export function chronySources(servers: string[]): string {
  return servers.map((s) => `server ${s} iburst`).join('\n') + (servers.length ? '\n' : '');
}

/**
 * /etc/shadow with root's password field replaced (a root line is added when
 * missing). Other fields and lines are kept byte for byte; lastchg is left as is.
 */
export function setShadowPassword(shadow: string, user: string, hash: string): string {
  if (hash.includes(':') || hash.includes('\n')) throw new Error('a password hash cannot contain ":" or a line break');
  const lines = shadow.split('\n');
  const trailing = lines.at(-1) === '';
  if (trailing) lines.pop();
  let found = false;
  const out = lines.map((l) => {
    const f = l.split(':');
    if (f[0] !== user || f.length < 2) return l;
    found = true;
    f[1] = hash;
    return f.join(':');
  });
  if (!found) out.unshift(`${user}:${hash}:0:0:99999:7:::`);
  return out.join('\n') + '\n';
}

/** Dotted netmask → prefix length; undefined when the mask is not contiguous. */
export function netmaskPrefix(mask: string): number | undefined {
  const parts = mask.split('.').map(Number);
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) return undefined;
  const bits = parts.map((p) => p.toString(2).padStart(8, '0')).join('');
  if (!/^1*0*$/.test(bits)) return undefined;
  return bits.indexOf('0') < 0 ? 32 : bits.indexOf('0');
}

// Network boot configuration files, rendered from the same boot menu model as the
// ISO (media/menu.ts) with the same entry partials (media/templates/partials).
// Pure: menu and hosts in, text out.
//
//   pxelinux.cfg/default        the ISO's menu, paths under xenserver/ (unknown MACs)
//   pxelinux.cfg/01-<mac>       one unattended entry for one host (pxelinux looks it up itself)
//   EFI/xenserver/grub.cfg      UEFI: one file, a $net_default_mac switch over the known
//                               hosts, the ISO's menu for every other machine
//
// Why one grub.cfg with a switch rather than per-MAC grub.cfg-01-<mac> files: GRUB
// 2.06 (Debian's, which our image is made from) does look for grub.cfg-01-<mac>
// first, but only when $prefix is on a "(tftp" device and no embedded config took
// over; UEFI HTTP boot, an embedded early config or another GRUB build skip that
// search silently. $net_default_mac (net.mod: the MAC of the interface GRUB booted
// from, lower-case, colon-separated) is set in every network boot, so the switch
// works in all of them, and one file is one thing to check.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { XsforgeError } from '../core/errors.ts';
import type { BootEntry, BootMenu } from '../media/menu.ts';
import { menuContext, renderMenu, renderTemplateFile, type BootPaths, type MenuIdentity } from '../media/render.ts';

/** One machine to install over the network (the host inventory produces these). */
export interface NetbootHost {
  /** lower-case aa:bb:cc:dd:ee:ff */
  mac: string;
  hostname: string;
  /** http://.../answers/<mac>.xml */
  answerfileUrl: string;
  /** per-host extra hypervisor arguments (console choice etc.), after the menu's */
  xenArgs: string[];
  /** per-host dom0 arguments: install, answerfile=..., answerfile_device=..., network_config=..., ... */
  dom0Args: string[];
  /** the menu entry whose arguments the host's line starts from (e.g. no-serial for a VGA-only host); default: the menu's default */
  baseLabel?: string;
}

export const NETBOOT_TEMPLATE_DIR = join(dirname(fileURLToPath(import.meta.url)), 'templates');
export const PXELINUX_HOST_TEMPLATE = join(NETBOOT_TEMPLATE_DIR, 'pxelinux-host.cfg.hbs');
export const GRUB_NET_TEMPLATE = join(NETBOOT_TEMPLATE_DIR, 'grub-net.cfg.hbs');

/** pxelinux resolves relative names against the directory pxelinux.0 came from: the TFTP root. */
export const PXE_PATHS: BootPaths = { xen: 'xenserver/xen.gz', kernel: 'xenserver/vmlinuz', initrd: 'xenserver/install.img' };
/** GRUB's $root after a network boot is (tftp,<server>): the same files as PXE, from the TFTP root. */
export const GRUB_NET_PATHS: BootPaths = { xen: '/xenserver/xen.gz', kernel: '/xenserver/vmlinuz', initrd: '/xenserver/install.img' };

/** The label of a host's single unattended entry (the seed's name for it). */
export const AUTO_LABEL = 'xenserver-auto';

const MAC_RE = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/;
const HOSTNAME_RE = /^[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$/;

/** The MAC in the form pxelinux, GRUB and our file names use; rejects anything else. */
export function normalizeMac(mac: string): string {
  const m = mac.trim().toLowerCase();
  if (!MAC_RE.test(m)) throw new XsforgeError(`not a MAC address: '${mac}'`, 'write it as six hex pairs separated by colons, e.g. 52:54:00:12:34:56');
  return m;
}

/** pxelinux's per-host file name: ARP type 01, then the MAC with dashes (pxelinux.cfg/01-aa-bb-...). */
export function pxelinuxHostFileName(mac: string): string {
  return `01-${normalizeMac(mac).replaceAll(':', '-')}`;
}

/** The menu entry an unattended host boots: the menu's default entry, not the interactive-only ones. */
function baseEntry(menu: BootMenu, label?: string): BootEntry {
  if (label !== undefined) {
    const wanted = menu.entries.find((x) => x.label === label);
    if (!wanted) throw new XsforgeError(`the boot menu has no entry '${label}'`, `entries: ${menu.entries.map((x) => x.label).join(', ')}`);
    return wanted;
  }
  const e = menu.entries.find((x) => x.label === menu.defaultLabel) ?? menu.entries[0];
  if (!e) throw new XsforgeError('the boot menu has no entries');
  return e;
}

function checkArgs(host: NetbootHost, what: string, args: string[]): void {
  for (const a of args) {
    // a blank would split one argument into two; '---' is mboot.c32's module separator
    if (a === '' || /\s/.test(a) || a === '---') {
      throw new XsforgeError(`host ${host.hostname} (${host.mac}): ${what} argument ${JSON.stringify(a)} cannot go on a boot line`, 'one argument per list item, no blanks, not ---');
    }
  }
}

/**
 * The boot entry for one host: the menu's default entry with the host's
 * arguments after it. dom0 arguments end as in the seed's unattended example
 * (seed:3164): `... answerfile=URL install`, whatever order the host listed them in.
 */
export function hostEntry(menu: BootMenu, host: NetbootHost): BootEntry {
  const mac = normalizeMac(host.mac);
  if (!HOSTNAME_RE.test(host.hostname)) {
    throw new XsforgeError(`host ${mac}: '${host.hostname}' is not a host name`, 'letters, digits, dots and dashes; starting and ending with a letter or digit');
  }
  checkArgs(host, 'Xen', host.xenArgs);
  checkArgs(host, 'dom0', host.dom0Args);
  const answerfiles = host.dom0Args.filter((a) => a.startsWith('answerfile='));
  for (const a of answerfiles) {
    if (a !== `answerfile=${host.answerfileUrl}`) {
      throw new XsforgeError(`host ${host.hostname} (${mac}): dom0 argument ${a} disagrees with its answer file URL ${host.answerfileUrl}`, 'leave answerfile= out of dom0Args, or give the same URL');
    }
  }
  if (!/^(https?|ftp|nfs|file):\/\//.test(host.answerfileUrl)) {
    throw new XsforgeError(`host ${host.hostname} (${mac}): answer file URL '${host.answerfileUrl}' is not http://, https://, ftp://, nfs:// or file://`);
  }
  const rest = host.dom0Args.filter((a) => a !== 'install' && !a.startsWith('answerfile='));
  const base = baseEntry(menu, host.baseLabel);
  return {
    label: AUTO_LABEL,
    title: `${base.title} on ${host.hostname} (unattended)`,
    xenArgs: [...base.xenArgs, ...host.xenArgs],
    dom0Args: [...base.dom0Args, ...rest, `answerfile=${host.answerfileUrl}`, 'install'],
  };
}

/** pxelinux.cfg/default: the ISO's menu (same template, same entries), for machines with no file of their own. */
export function pxelinuxDefault(menu: BootMenu, paths: BootPaths, id: MenuIdentity): string {
  return renderMenu('isolinux.cfg', menu, paths, id);
}

/** pxelinux.cfg/01-<mac>: one entry, booted at once (PROMPT 0, no timeout). */
export function pxelinuxHost(menu: BootMenu, host: NetbootHost, paths: BootPaths, id: MenuIdentity): string {
  const entry = hostEntry(menu, host);
  return renderTemplateFile(PXELINUX_HOST_TEMPLATE, { ...menuContext(menu, paths, id), host: { ...host, mac: normalizeMac(host.mac) }, entry });
}

/** Rejects two hosts with one MAC (one of them would never be installed) and sorts by MAC (stable output). */
export function checkHosts(hosts: NetbootHost[]): NetbootHost[] {
  const seen = new Map<string, string>();
  for (const h of hosts) {
    const mac = normalizeMac(h.mac);
    const other = seen.get(mac);
    if (other !== undefined) throw new XsforgeError(`hosts ${other} and ${h.hostname} have the same MAC ${mac}`, 'each host needs the MAC of its own boot NIC');
    seen.set(mac, h.hostname);
  }
  return [...hosts].map((h) => ({ ...h, mac: normalizeMac(h.mac) })).sort((a, b) => (a.mac < b.mac ? -1 : a.mac > b.mac ? 1 : 0));
}

/** EFI/xenserver/grub.cfg for network boot: a $net_default_mac switch over the hosts, else the ISO's menu. */
export function grubNetConfig(menu: BootMenu, hosts: NetbootHost[], paths: BootPaths, id: MenuIdentity): string {
  const known = checkHosts(hosts).map((host) => ({ host, entry: hostEntry(menu, host) }));
  return renderTemplateFile(GRUB_NET_TEMPLATE, { ...menuContext(menu, paths, id), hosts: known });
}

export interface NetbootConfigs {
  /** the hosts as checkHosts returns them: MACs normalised, sorted by MAC */
  hosts: NetbootHost[];
  /** pxelinux.cfg/default */
  pxelinuxDefault: string;
  /** pxelinux.cfg/<name> per host, in the order of `hosts` */
  pxelinuxHosts: { name: string; text: string }[];
  /** EFI/xenserver/grub.cfg */
  grubNet: string;
}

/**
 * Every TFTP configuration file for a set of hosts, byte for byte what
 * pxelinuxDefault, pxelinuxHost and grubNetConfig give, but with the hosts
 * checked, each host's entry built and the template context made once: with
 * thousands of hosts the repeated work was most of the rendering time.
 */
export function netbootConfigs(menu: BootMenu, hosts: NetbootHost[], id: MenuIdentity): NetbootConfigs {
  const checked = checkHosts(hosts);
  const known = checked.map((host) => ({ host, entry: hostEntry(menu, host) }));
  const pxeContext = menuContext(menu, PXE_PATHS, id);
  return {
    hosts: checked,
    pxelinuxDefault: pxelinuxDefault(menu, PXE_PATHS, id),
    pxelinuxHosts: known.map(({ host, entry }) => ({
      name: pxelinuxHostFileName(host.mac),
      text: renderTemplateFile(PXELINUX_HOST_TEMPLATE, { ...pxeContext, host, entry }),
    })),
    grubNet: renderTemplateFile(GRUB_NET_TEMPLATE, { ...menuContext(menu, GRUB_NET_PATHS, id), hosts: known }),
  };
}

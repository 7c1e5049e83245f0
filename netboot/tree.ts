// Writes a network-boot tree an admin points TFTP, HTTP and DHCP servers at:
//
//   tftp/pxelinux.0, ldlinux.c32, mboot.c32, menu.c32, libcom32.c32, libutil.c32   BIOS PXE
//   tftp/pxelinux.cfg/default, tftp/pxelinux.cfg/01-<mac-with-dashes>                menus
//   tftp/xenserver/{xen.gz,vmlinuz,install.img}                                      shared by BIOS and UEFI
//   tftp/EFI/xenserver/{grubx64.efi,grub.cfg}                                        UEFI PXE
//   http/ (the installation repository: the ISO's content), http/answers/<mac>.xml
//   dhcp/dhcpd.conf.example, dhcp/dnsmasq.conf.example
//
// Large files are hard-linked from their source when they are on the same file
// system (copied otherwise). The tree is built beside `out` and renamed into
// place: a failed run leaves the previous tree (or nothing), never half of one.
import { copyFile, link, mkdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { XsforgeError } from '../core/errors.ts';
import { walkTree } from '../core/hash.ts';
import type { BootMenu } from '../media/menu.ts';
import type { MenuIdentity } from '../media/render.ts';
import { SYSLINUX_MODULES } from '../media/stages.ts';
import { BIOS_BOOTFILE, EFI_BOOTFILE, dnsmasqExample, iscDhcpdExample } from './dhcp.ts';
import {
  GRUB_NET_PATHS, PXE_PATHS, checkHosts, grubNetConfig, normalizeMac, pxelinuxDefault, pxelinuxHost, pxelinuxHostFileName,
  type NetbootHost,
} from './pxe-config.ts';

export interface NetbootSources {
  xenGz: string;
  vmlinuz: string;
  installImg: string;
  /** holds pxelinux.0 and the syslinux modules (boot-files stage's syslinux/, or the ISO's boot/pxelinux/) */
  syslinuxDir: string;
  /** the network GRUB image (grub-image.ts), not the ISO's */
  grubNetImage: string;
}

export interface HttpTreeInput {
  /** the ISO's root content: .treeinfo, repodata/, Packages/, dom0/, ... */
  repoDir: string;
  /** answer file XML by MAC */
  answers: Record<string, string>;
}

export interface NetbootTreeOptions {
  menu: BootMenu;
  /** product identity for the files' headers */
  id: MenuIdentity;
  hosts: NetbootHost[];
  out: string;
  sources: NetbootSources;
  /** where http/ will be served, e.g. http://192.0.2.1:8080 (its host is also the TFTP server in the DHCP examples) */
  baseUrl: string;
  httpTree?: HttpTreeInput;
}

export interface NetbootTreeFile {
  /** relative to out, '/'-separated */
  path: string;
  size: number;
  /** hard link to the source (false: copied or generated) */
  linked: boolean;
}

export interface NetbootTree {
  out: string;
  files: NetbootTreeFile[];
  /** URL of each host's answer file, by MAC */
  answerUrls: Record<string, string>;
}

/** The BIOS PXE files taken from syslinuxDir. */
export const PXELINUX_FILES = [BIOS_BOOTFILE, ...SYSLINUX_MODULES];

let tempCounter = 0;

/** `${baseUrl}/answers/<mac>.xml`: where writeNetbootTree puts a host's answer file. */
export function answerUrl(baseUrl: string, mac: string): string {
  return `${baseUrl.replace(/\/+$/, '')}/answers/${normalizeMac(mac)}.xml`;
}

function serverOf(baseUrl: string): string {
  let u: URL;
  try {
    u = new URL(baseUrl);
  } catch {
    throw new XsforgeError(`base URL '${baseUrl}' is not a URL`, 'e.g. http://192.0.2.1:8080');
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new XsforgeError(`base URL '${baseUrl}' must be http:// or https://`);
  return u.hostname.replace(/^\[|\]$/g, '');
}

export async function writeNetbootTree(o: NetbootTreeOptions): Promise<NetbootTree> {
  const out = resolve(o.out);
  const server = serverOf(o.baseUrl);
  const hosts = checkHosts(o.hosts);
  const answers = new Map<string, string>();
  for (const [mac, xml] of Object.entries(o.httpTree?.answers ?? {})) answers.set(normalizeMac(mac), xml);
  for (const h of hosts) {
    // the answer file we write must be the one the host is told to fetch
    if (answers.has(h.mac) && h.answerfileUrl !== answerUrl(o.baseUrl, h.mac)) {
      throw new XsforgeError(`host ${h.hostname} (${h.mac}) fetches ${h.answerfileUrl}, but its answer file is served at ${answerUrl(o.baseUrl, h.mac)}`,
        'give the host that URL, or leave its answer file out of the HTTP tree');
    }
  }
  for (const mac of answers.keys()) {
    if (!hosts.some((h) => h.mac === mac)) throw new XsforgeError(`there is an answer file for ${mac} but no host with that MAC`);
  }
  for (const [what, p] of Object.entries(o.sources)) {
    await stat(p).catch(() => { throw new XsforgeError(`network boot source ${what} not found: ${p}`); });
  }

  await mkdir(dirname(out), { recursive: true });
  const temp = join(dirname(out), `.${basename(out)}.tmp-${process.pid}-${tempCounter++}`);
  const files: NetbootTreeFile[] = [];
  const put = async (src: string, dest: string) => {
    const target = join(temp, dest);
    await mkdir(dirname(target), { recursive: true });
    let linked = true;
    try {
      await link(src, target);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'EXDEV' && code !== 'EPERM' && code !== 'EMLINK') {
        if (code === 'ENOENT') throw new XsforgeError(`network boot source not found: ${src}`);
        throw err;
      }
      await copyFile(src, target);
      linked = false;
    }
    files.push({ path: dest, size: (await stat(target)).size, linked });
  };
  const write = async (dest: string, text: string) => {
    const target = join(temp, dest);
    await mkdir(dirname(target), { recursive: true });
    await writeFile(target, text, { mode: 0o644 });
    files.push({ path: dest, size: Buffer.byteLength(text), linked: false });
  };

  try {
    await mkdir(temp);
    // BIOS
    for (const f of PXELINUX_FILES) await put(join(o.sources.syslinuxDir, f), `tftp/${f}`);
    await put(o.sources.xenGz, `tftp/${PXE_PATHS.xen}`);
    await put(o.sources.vmlinuz, `tftp/${PXE_PATHS.kernel}`);
    await put(o.sources.installImg, `tftp/${PXE_PATHS.initrd}`);
    await write('tftp/pxelinux.cfg/default', pxelinuxDefault(o.menu, PXE_PATHS, o.id));
    for (const h of hosts) await write(`tftp/pxelinux.cfg/${pxelinuxHostFileName(h.mac)}`, pxelinuxHost(o.menu, h, PXE_PATHS, o.id));
    // UEFI: same kernel files (GRUB_NET_PATHS name them from the TFTP root)
    await put(o.sources.grubNetImage, `tftp/${EFI_BOOTFILE}`);
    await write('tftp/EFI/xenserver/grub.cfg', grubNetConfig(o.menu, hosts, GRUB_NET_PATHS, o.id));
    // HTTP: the repository and the answer files
    if (o.httpTree) {
      const repo = o.httpTree.repoDir;
      for (const e of await walkTree(repo, false)) if (e.type === 'file') await put(join(repo, e.path), `http/${e.path}`);
      for (const [mac, xml] of [...answers].sort(([a], [b]) => (a < b ? -1 : 1))) await write(`http/answers/${mac}.xml`, xml);
    }
    await write('dhcp/dhcpd.conf.example', iscDhcpdExample({ tftpServer: server, tftpRoot: join(out, 'tftp') }));
    await write('dhcp/dnsmasq.conf.example', dnsmasqExample({ tftpServer: server, tftpRoot: join(out, 'tftp') }));

    // swap into place: the old tree is moved aside first, so a rename never meets a non-empty directory
    const old = `${temp}.old`;
    const hadOld = await stat(out).then(() => true, () => false);
    if (hadOld) await rename(out, old);
    try {
      await rename(temp, out);
    } catch (err) {
      if (hadOld) await rename(old, out);
      throw err;
    }
    if (hadOld) await rm(old, { recursive: true, force: true });
  } catch (err) {
    await rm(temp, { recursive: true, force: true });
    throw err;
  }
  files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const answerUrls = Object.fromEntries(hosts.map((h) => [h.mac, h.answerfileUrl]));
  return { out, files, answerUrls };
}

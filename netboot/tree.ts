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
import { basename, dirname, join, posix, resolve } from 'node:path';
import { XsforgeError } from '../core/errors.ts';
import { walkTree } from '../core/hash.ts';
import type { BootMenu } from '../media/menu.ts';
import type { MenuIdentity } from '../media/render.ts';
import { SYSLINUX_MODULES } from '../media/stages.ts';
import { BIOS_BOOTFILE, EFI_BOOTFILE, dnsmasqExample, iscDhcpdExample } from './dhcp.ts';
import { PXE_PATHS, netbootConfigs, normalizeMac, type NetbootHost } from './pxe-config.ts';

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
  /**
   * Run on each answer file just before it is written (the inventory passes the
   * answer-file validator): that CPU work then overlaps the other files' I/O.
   * A throw fails the tree like any write error: the previous tree stays.
   */
  checkAnswer?: (mac: string, xml: string) => void;
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

/** How many file operations are in flight at once: enough to keep libuv's thread pool busy, few enough to stay far from EMFILE. */
const WRITE_CONCURRENCY = 32;

/**
 * Runs `fn` on every item with at most `limit` calls pending at a time. On a
 * failure no new call starts, and it rejects with the first error only once the
 * pending calls have ended (the caller may then remove what they wrote).
 */
export async function forEachLimited<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let firstError: { err: unknown } | undefined;
  const worker = async () => {
    while (!firstError && next < items.length) {
      const item = items[next++]!;
      try {
        await fn(item);
      } catch (err) {
        firstError ??= { err };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  if (firstError) throw firstError.err;
}

export async function writeNetbootTree(o: NetbootTreeOptions): Promise<NetbootTree> {
  const out = resolve(o.out);
  const server = serverOf(o.baseUrl);
  const answers = new Map<string, string>();
  for (const [mac, xml] of Object.entries(o.httpTree?.answers ?? {})) answers.set(normalizeMac(mac), xml);
  // all the text first (pure; checks the hosts), so a bad host stops us before anything is written
  const configs = netbootConfigs(o.menu, o.hosts, o.id);
  const hosts = configs.hosts;
  const macs = new Set<string>();
  for (const h of hosts) {
    macs.add(h.mac);
    // the answer file we write must be the one the host is told to fetch
    if (answers.has(h.mac) && h.answerfileUrl !== answerUrl(o.baseUrl, h.mac)) {
      throw new XsforgeError(`host ${h.hostname} (${h.mac}) fetches ${h.answerfileUrl}, but its answer file is served at ${answerUrl(o.baseUrl, h.mac)}`,
        'give the host that URL, or leave its answer file out of the HTTP tree');
    }
  }
  for (const mac of answers.keys()) {
    if (!macs.has(mac)) throw new XsforgeError(`there is an answer file for ${mac} but no host with that MAC`);
  }
  for (const [what, p] of Object.entries(o.sources)) {
    await stat(p).catch(() => { throw new XsforgeError(`network boot source ${what} not found: ${p}`); });
  }

  // what goes where: large files linked (or copied) from their source, the rest generated
  const links: { src: string; dest: string }[] = [];
  const texts: { dest: string; text: string; check?: () => void }[] = [];
  for (const f of PXELINUX_FILES) links.push({ src: join(o.sources.syslinuxDir, f), dest: `tftp/${f}` });
  links.push({ src: o.sources.xenGz, dest: `tftp/${PXE_PATHS.xen}` });
  links.push({ src: o.sources.vmlinuz, dest: `tftp/${PXE_PATHS.kernel}` });
  links.push({ src: o.sources.installImg, dest: `tftp/${PXE_PATHS.initrd}` });
  links.push({ src: o.sources.grubNetImage, dest: `tftp/${EFI_BOOTFILE}` });
  texts.push({ dest: 'tftp/pxelinux.cfg/default', text: configs.pxelinuxDefault });
  for (const f of configs.pxelinuxHosts) texts.push({ dest: `tftp/pxelinux.cfg/${f.name}`, text: f.text });
  // UEFI: same kernel files (GRUB_NET_PATHS name them from the TFTP root)
  texts.push({ dest: 'tftp/EFI/xenserver/grub.cfg', text: configs.grubNet });
  if (o.httpTree) {
    const repo = o.httpTree.repoDir;
    for (const e of await walkTree(repo, false)) if (e.type === 'file') links.push({ src: join(repo, e.path), dest: `http/${e.path}` });
    const checkAnswer = o.httpTree.checkAnswer;
    for (const [mac, xml] of answers) {
      texts.push({ dest: `http/answers/${mac}.xml`, text: xml, ...(checkAnswer && { check: () => checkAnswer(mac, xml) }) });
    }
  }
  texts.push({ dest: 'dhcp/dhcpd.conf.example', text: iscDhcpdExample({ tftpServer: server, tftpRoot: join(out, 'tftp') }) });
  texts.push({ dest: 'dhcp/dnsmasq.conf.example', text: dnsmasqExample({ tftpServer: server, tftpRoot: join(out, 'tftp') }) });

  await mkdir(dirname(out), { recursive: true });
  const temp = join(dirname(out), `.${basename(out)}.tmp-${process.pid}-${tempCounter++}`);
  const files: NetbootTreeFile[] = [];
  const put = async ({ src, dest }: { src: string; dest: string }) => {
    const target = join(temp, dest);
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
  const write = async ({ dest, text, check }: { dest: string; text: string; check?: () => void }) => {
    check?.();
    await writeFile(join(temp, dest), text, { mode: 0o644 });
    files.push({ path: dest, size: Buffer.byteLength(text), linked: false });
  };

  try {
    await mkdir(temp);
    // each directory once, parents first, instead of a mkdir per file
    const dirs = new Set<string>();
    for (const { dest } of [...links, ...texts]) for (let d = posix.dirname(dest); d !== '.' && !dirs.has(d); d = posix.dirname(d)) dirs.add(d);
    for (const d of [...dirs].sort((a, b) => a.length - b.length)) await mkdir(join(temp, d));
    // one awaited write after another left the event loop idle between thread pool round trips:
    // 20,000 files took seconds; a bounded number in flight keeps the pool busy
    await forEachLimited(links, WRITE_CONCURRENCY, put);
    await forEachLimited(texts, WRITE_CONCURRENCY, write);

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

// The dom0 root filesystem: a Debian root made by mmdebstrap with Xen, the
// kernel and its initramfs, systemd, LVM, SSH and GRUB, plus our overlay
// (first boot, SSH host keys at first start, branding), shipped as one
// reproducible tar.zst that the installer unpacks onto the root partition.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { chmod, chown, copyFile, lstat, mkdir, readdir, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { mmdebstrapArgv } from '../debian/mmdebstrap.ts';
import { XsforgeError } from '../core/errors.ts';
import type { run as runTool } from '../core/exec.ts';
import { sha256File } from '../core/hash.ts';
import { defineStage, type Stage } from '../core/stage.ts';
import { installedPackageVersions } from '../core/tools.ts';
import { issueFile, issueNetFile, releaseFile, xenReleaseFromPackageVersion, type Dom0Product } from './identity.ts';

export type { Dom0Product } from './identity.ts';

const here = dirname(fileURLToPath(import.meta.url));
/** Files copied over the root tree as they are (mode 0755 when executable in the repo, else 0644; owner root). */
export const OVERLAY_DIR = join(here, 'overlay');

/** Always in dom0, whatever the recipe adds. */
export const DOM0_BASE_PACKAGES = [
  'systemd-sysv', 'udev', 'linux-image-amd64', 'initramfs-tools',
  'xen-hypervisor-4.17-amd64', 'xen-utils-4.17',
  'lvm2', 'e2fsprogs', 'dosfstools', 'openssh-server', 'iproute2', 'chrony',
  'grub-pc-bin', 'grub-efi-amd64-bin', 'grub2-common', 'efibootmgr',
  // the installer points /etc/localtime at /usr/share/zoneinfo/<answer file's timezone>
  'tzdata',
  'ca-certificates', 'less', 'procps', 'kmod',
  // the product's own packages are RPMs, installed by the installer from the media's repository
  'rpm',
  // the toolstack besides xl: libvirt's libxl driver, driven remotely over SSH
  // (virsh -c xen+ssh://root@HOST/system; virt-ssh-helper is in libvirt-daemon)
  'libvirt-daemon-system', 'libvirt-daemon-driver-xen', 'libvirt-clients',
];

/**
 * Units enabled in the image (the overlay's, networkd, which first boot
 * configures, and libvirt's sockets: libvirtd starts at the first connection,
 * not at every boot).
 */
export const ENABLED_UNITS = [
  'xsforge-firstboot.service', 'xsforge-ssh-hostkeys.service', 'systemd-networkd.service',
  'libvirtd.socket', 'libvirtd-ro.socket', 'libvirtd-admin.socket', 'virtlogd.socket', 'virtlockd.socket',
];
/**
 * An appliance does not fetch package lists on its own; libvirtd is socket
 * activated (disabling the service disables its sockets too: they are enabled after).
 */
export const DISABLED_UNITS = ['apt-daily.timer', 'apt-daily-upgrade.timer', 'libvirtd.service'];

/**
 * The first-boot contract with the installer: it writes the data files and
 * creates the pending flag (an empty file); xsforge-firstboot.service runs
 * while the flag exists and replaces it with `done`.
 */
export const FIRSTBOOT = {
  pendingFlag: '/etc/firstboot.d/state/pending',
  doneFile: '/etc/firstboot.d/state/done',
  managementConf: '/etc/firstboot.d/data/management.conf',
  storageConf: '/etc/firstboot.d/data/default-storage.conf',
  script: '/usr/lib/xsforge/firstboot',
  unit: 'xsforge-firstboot.service',
  log: '/var/log/xsforge-firstboot.log',
  localSrConf: '/etc/xensource/local-sr.conf',
  consoleMarker: 'XSFORGE-FIRSTBOOT-DONE',
} as const;

/**
 * initramfs-tools settings in place before the kernel package makes the initrd:
 * every storage and file-system driver (the host's controller is unknown at
 * build time), and no resume device (it would be read from the build host's swap).
 */
const INITRAMFS_CONF = `# xsforge dom0: the initrd must mount root=LABEL=... on any controller
MODULES=most
RESUME=none
`;

/** Removed from the root tree: documentation, caches, package-manager leftovers. */
const PRUNE = [
  'usr/share/man', 'usr/share/info', 'usr/share/locale', 'usr/share/lintian', 'usr/share/linda',
  'var/cache/debconf/config.dat-old', 'var/cache/debconf/templates.dat-old',
  'var/lib/dpkg/status-old', 'var/lib/dpkg/diversions-old', 'var/cache/ldconfig/aux-cache',
  // per-host identities made at random by package scripts: each host makes its
  // own (machine-id stays as an empty file: systemd's first-boot marker)
  'var/lib/dbus/machine-id', 'var/lib/systemd/random-seed',
];
/** Directories emptied but kept (apt and the log partition's mount point expect them). */
const EMPTY = ['var/cache/apt', 'var/lib/apt/lists', 'var/log', 'tmp', 'var/tmp'];

export interface Dom0RootfsParams {
  /** directory that receives dom0-root.tar.zst and dom0-root.json */
  outDir: string;
  /** scratch directory (the root tree and the uncompressed tar go here) */
  work: string;
  run: typeof runTool;
  sourceDateEpoch: number;
  debian: { mirror: string; suite: string; components: string[] };
  /** packages besides DOM0_BASE_PACKAGES */
  packages: string[];
  product: Dom0Product;
  /** .deb files kept between builds (mmdebstrap's /var/cache/apt/archives) */
  aptCacheDir: string;
  zstdLevel?: number;
  progress?: (note: string) => void;
}

export interface Dom0RootInfo {
  sha256: string;
  size: number;
  /** size of the tar before compression */
  uncompressedSize: number;
  kernelRelease: string;
  xenVersion: string;
  /** Debian packages in the root, sorted by name */
  packages: { name: string; version: string }[];
}

/**
 * zstd -10: on a 759 MB dom0 tar (2 cores) -3 gives 241 MB in 2 s, -6 226 MB in
 * 5 s, -10 212 MB in 28 s, -15 211 MB in 161 s: the kernel modules barely
 * compress further. Multi-threaded zstd output does not depend on the thread count.
 */
export const DEFAULT_ZSTD_LEVEL = 10;

export const ROOT_TAR = 'dom0-root.tar.zst';
export const ROOT_JSON = 'dom0-root.json';

export async function buildDom0Rootfs(p: Dom0RootfsParams): Promise<Dom0RootInfo> {
  const progress = p.progress ?? (() => {});
  for (const [what, path] of [['apt cache directory', p.aptCacheDir], ['work directory', p.work]]) {
    if (/\s/.test(path)) throw new XsforgeError(`${what} "${path}" contains white space`, 'mmdebstrap hooks cannot name such a path; use another directory');
  }
  if (process.getuid?.() !== 0) throw new XsforgeError('building the dom0 root needs root', 'package scripts, chroot and file ownership need it; run the build as root');
  const root = join(p.work, 'dom0-root');
  await rm(root, { recursive: true, force: true });
  await mkdir(p.aptCacheDir, { recursive: true });
  const early = join(p.work, 'dom0-early');
  await mkdir(early, { recursive: true });
  await writeFile(join(early, 'xsforge.conf'), INITRAMFS_CONF, { mode: 0o644 });

  progress('mmdebstrap: installing packages');
  const packages = [...new Set([...DOM0_BASE_PACKAGES, ...p.packages])].sort();
  await p.run(mmdebstrapArgv({
    mode: 'root', variant: 'minbase', debian: p.debian, packages, aptCacheDir: p.aptCacheDir, root,
    hooks: [
      // before the kernel's postinst runs update-initramfs
      '--essential-hook=mkdir -p "$1"/etc/initramfs-tools/conf.d',
      `--essential-hook=copy-in ${join(early, 'xsforge.conf')} /etc/initramfs-tools/conf.d/`,
    ],
  }), { env: { SOURCE_DATE_EPOCH: String(p.sourceDateEpoch) }, hint: `check that ${p.debian.mirror} serves ${p.debian.suite} and every package in the dom0 list exists there` });

  const versions = installedPackageVersions(join(root, 'var/lib/dpkg/status'));
  const pkgList = [...versions].map(([name, version]) => ({ name, version })).sort((a, b) => (a.name < b.name ? -1 : 1));
  const xenPkg = pkgList.find((x) => /^xen-hypervisor-\d/.test(x.name));
  if (!xenPkg) throw new XsforgeError('no xen-hypervisor-<version> package in the dom0 root', 'keep xen-hypervisor-4.17-amd64 in the package list');

  progress('trimming the root tree');
  await pruneTree(root);

  progress('overlay and identity');
  await writeIdentity(root, p.product);
  await copyOverlay(OVERLAY_DIR, root);
  await p.run(['chroot', root, 'systemctl', 'disable', ...DISABLED_UNITS]);
  await p.run(['chroot', root, 'systemctl', 'enable', ...ENABLED_UNITS]);

  const boot = await bootLinks(root);

  const archive = await archiveRootTree({ root, work: p.work, outDir: p.outDir, run: p.run, sourceDateEpoch: p.sourceDateEpoch, zstdLevel: p.zstdLevel, progress });
  const info: Dom0RootInfo = {
    ...archive,
    kernelRelease: boot.kernelRelease,
    xenVersion: xenReleaseFromPackageVersion(xenPkg.version),
    packages: pkgList,
  };
  await writeRootManifest(p.outDir, info);
  return info;
}

export interface RootArchive { sha256: string; size: number; uncompressedSize: number }

/**
 * The root tree as outDir/ROOT_TAR, shared by every dom0 provider: POSIX tar,
 * sorted, numeric owners, mtimes clamped to SOURCE_DATE_EPOCH, then zstd.
 */
export async function archiveRootTree(p: {
  root: string; work: string; outDir: string; run: typeof runTool; sourceDateEpoch: number; zstdLevel?: number; progress?: (note: string) => void;
}): Promise<RootArchive> {
  const progress = p.progress ?? (() => {});
  progress('tar archive');
  const tarPath = join(p.work, 'dom0-root.tar');
  await p.run([
    'tar', '--create', `--file=${tarPath}`, `--directory=${p.root}`,
    // POSIX tar without the per-process and access/change times GNU tar puts in pax headers
    '--format=posix', '--pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime',
    '--numeric-owner', '--sort=name', `--mtime=@${p.sourceDateEpoch}`, '--clamp-mtime',
    '--one-file-system', '.',
  ]);
  const uncompressedSize = (await stat(tarPath)).size;

  progress('zstd compression');
  await mkdir(p.outDir, { recursive: true });
  const out = join(p.outDir, ROOT_TAR);
  await p.run(['zstd', '-q', '-f', `-${p.zstdLevel ?? DEFAULT_ZSTD_LEVEL}`, '-T0', '--no-progress', tarPath, '-o', out]);
  await rm(tarPath, { force: true });
  return { sha256: await sha256File(out), size: (await stat(out)).size, uncompressedSize };
}

/** outDir/ROOT_JSON: what the installer reads (installer/runtime/source.ts RootManifest). */
export async function writeRootManifest(outDir: string, info: Dom0RootInfo): Promise<void> {
  await writeFile(join(outDir, ROOT_JSON), JSON.stringify(info, null, 1) + '\n');
}

/** Remove what must not ship; replace files mmdebstrap copies from the build host. */
async function pruneTree(root: string): Promise<void> {
  for (const rel of PRUNE) await rm(join(root, rel), { recursive: true, force: true });
  for (const rel of EMPTY) await emptyFiles(join(root, rel));
  // documentation goes, licences stay
  const doc = join(root, 'usr/share/doc');
  for (const e of await readdir(doc, { withFileTypes: true }).catch(() => [])) {
    const dir = join(doc, e.name);
    // links such as openssh-server -> openssh-client stand for a kept directory
    if (e.isSymbolicLink()) continue;
    if (!e.isDirectory()) { await rm(dir, { force: true }); continue; }
    for (const f of await readdir(dir)) if (f !== 'copyright') await rm(join(dir, f), { recursive: true, force: true });
  }
  // SSH host keys: each host makes its own (xsforge-ssh-hostkeys.service)
  for (const f of await readdir(join(root, 'etc/ssh'))) {
    if (/^ssh_host_.*_key(\.pub)?$/.test(f)) await rm(join(root, 'etc/ssh', f));
  }
  await writeFile(join(root, 'etc/machine-id'), '');
}

/** Delete every non-directory below dir, keeping the directories. */
async function emptyFiles(dir: string): Promise<void> {
  for (const e of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
    const abs = join(dir, e.name);
    if (e.isDirectory()) await emptyFiles(abs);
    else await rm(abs, { force: true });
  }
}

/** Defaults the installer overwrites, and the product's identity. */
async function writeIdentity(root: string, product: Dom0Product): Promise<void> {
  const files: [string, string][] = [
    ['etc/hostname', 'localhost\n'],
    ['etc/hosts', '127.0.0.1\tlocalhost\n::1\t\tlocalhost ip6-localhost ip6-loopback\nff02::1\t\tip6-allnodes\nff02::2\t\tip6-allrouters\n'],
    ['etc/resolv.conf', ''],
    ['etc/fstab', '# <file system> <mount point> <type> <options> <dump> <pass>\n# written by the installer\n'],
    ['etc/xsforge-release', releaseFile(product)],
    ['etc/issue', issueFile(product)],
    ['etc/issue.net', issueNetFile(product)],
  ];
  for (const [rel, text] of files) {
    await rm(join(root, rel), { force: true });
    await writeFile(join(root, rel), text, { mode: 0o644 });
  }
}

async function copyOverlay(src: string, dest: string): Promise<void> {
  for (const e of readdirSync(src, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const from = join(src, e.name);
    const to = join(dest, e.name);
    if (e.isDirectory()) {
      if (!existsSync(to)) { await mkdir(to, { mode: 0o755 }); await chown(to, 0, 0); }
      await copyOverlay(from, to);
    } else {
      await rm(to, { force: true });
      await copyFile(from, to);
      await chmod(to, statSync(from).mode & 0o111 ? 0o755 : 0o644);
      await chown(to, 0, 0);
    }
  }
}

/** /boot/xen.gz, /boot/vmlinuz and /boot/initrd.img as relative links; the kernel release. */
export async function bootLinks(root: string): Promise<{ kernelRelease: string }> {
  const bootDir = join(root, 'boot');
  const names = await readdir(bootDir);
  const regular = async (n: string) => (await lstat(join(bootDir, n))).isFile();
  const kernels: string[] = [];
  for (const n of names) if (/^vmlinuz-.+/.test(n) && await regular(n)) kernels.push(n);
  const xens: string[] = [];
  for (const n of names) if (/^xen-.+\.gz$/.test(n) && await regular(n)) xens.push(n);
  if (kernels.length !== 1) throw new XsforgeError(`dom0 /boot should hold one kernel, found ${kernels.join(', ') || 'none'}`, 'the dom0 package list must pull in exactly one linux-image');
  if (xens.length !== 1) throw new XsforgeError(`dom0 /boot should hold one Xen hypervisor, found ${xens.join(', ') || 'none'}`, 'the dom0 package list must pull in exactly one xen-hypervisor');
  const kernelRelease = kernels[0].slice('vmlinuz-'.length);
  const initrd = `initrd.img-${kernelRelease}`;
  if (!existsSync(join(bootDir, initrd))) throw new XsforgeError(`dom0 /boot/${initrd} is missing`, 'initramfs-tools must be installed with the kernel');
  for (const [link, target] of [['xen.gz', xens[0]], ['vmlinuz', kernels[0]], ['initrd.img', initrd]]) {
    await rm(join(bootDir, link), { force: true });
    await symlink(target, join(bootDir, link));
  }
  return { kernelRelease };
}

export interface Dom0RootfsStageOptions {
  debian: { mirror: string; suite: string; components: string[] };
  /** digest of the archive index the build resolved against (changes when the archive does) */
  indexDigest: string;
  /** packages besides DOM0_BASE_PACKAGES */
  packages: string[];
  product: Dom0Product;
  /** zstd level for the archive (default DEFAULT_ZSTD_LEVEL) */
  zstdLevel?: number;
}

function listFiles(dir: string, base = dir, out: Record<string, string> = {}): Record<string, string> {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const abs = join(dir, e.name);
    if (e.isDirectory()) listFiles(abs, base, out);
    else out[`overlay/${relative(base, abs)}`] = abs;
  }
  return out;
}

/**
 * The build stage `dom0-rootfs`: out/dom0-root.tar.zst (the whole root tree,
 * POSIX tar, numeric owners, sorted, mtimes clamped to SOURCE_DATE_EPOCH) and
 * out/dom0-root.json (Dom0RootInfo). The ISO carries them as dom0/root.tar.zst
 * and dom0/root.json.
 */
export function dom0RootfsStage(o: Dom0RootfsStageOptions): Stage<any> {
  const inputFiles: Record<string, string> = { 'rootfs.ts': join(here, 'rootfs.ts'), 'identity.ts': join(here, 'identity.ts'), ...listFiles(OVERLAY_DIR) };
  return defineStage({
    name: 'dom0-rootfs',
    version: 1,
    options: {
      debian: o.debian,
      indexDigest: o.indexDigest,
      packages: [...new Set([...DOM0_BASE_PACKAGES, ...o.packages])].sort(),
      product: o.product as unknown as Record<string, string>,
      zstdLevel: o.zstdLevel ?? DEFAULT_ZSTD_LEVEL,
    },
    inputFiles,
    tools: ['mmdebstrap', 'tar', 'zstd'],
    artifacts: {
      [ROOT_TAR]: { path: ROOT_TAR, kind: 'dom0-root' },
      [ROOT_JSON]: { path: ROOT_JSON, kind: 'dom0-root-info' },
    },
    async run(ctx) {
      const r = await buildDom0Rootfs({
        outDir: ctx.out,
        work: ctx.work,
        run: ctx.run,
        sourceDateEpoch: ctx.sourceDateEpoch,
        debian: o.debian,
        packages: o.packages,
        product: o.product,
        aptCacheDir: join(ctx.downloadCache, 'apt-archives'),
        zstdLevel: o.zstdLevel,
        progress: ctx.progress,
      });
      ctx.log(`dom0 root: ${r.size} bytes (${r.uncompressedSize} as tar), ${r.packages.length} packages, kernel ${r.kernelRelease}, Xen ${r.xenVersion}`);
    },
  });
}

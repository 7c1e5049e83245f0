// The host tools the build runs, each with the Debian package that provides it.
// Versions come from dpkg's status file (one read, no process per tool), so a
// stage key can include tool versions without slowing a no-op rebuild.
import { readFileSync } from 'node:fs';
import { MissingToolError } from './errors.ts';
import { findOnPath, registerToolPackages } from './which.ts';

export interface HostTool {
  /** command name as run */
  command: string;
  /** Debian package that provides it */
  debianPackage: string;
  /** what the build uses it for (shown by `xsforge doctor`) */
  purpose: string;
}

export const HOST_TOOLS = {
  xorriso: { command: 'xorriso', debianPackage: 'xorriso', purpose: 'ISO mastering and checking' },
  mmdebstrap: { command: 'mmdebstrap', debianPackage: 'mmdebstrap', purpose: 'root trees from Debian packages' },
  'apt-get': { command: 'apt-get', debianPackage: 'apt', purpose: 'package index and downloads' },
  'apt-cache': { command: 'apt-cache', debianPackage: 'apt', purpose: 'resolving package versions' },
  'dpkg-deb': { command: 'dpkg-deb', debianPackage: 'dpkg', purpose: 'unpacking .deb files' },
  'mkfs.vfat': { command: 'mkfs.vfat', debianPackage: 'dosfstools', purpose: 'EFI boot image' },
  mcopy: { command: 'mcopy', debianPackage: 'mtools', purpose: 'EFI boot image contents' },
  mmd: { command: 'mmd', debianPackage: 'mtools', purpose: 'EFI boot image directories' },
  'grub-mkimage': { command: 'grub-mkimage', debianPackage: 'grub-common', purpose: 'GRUB EFI image' },
  zstd: { command: 'zstd', debianPackage: 'zstd', purpose: 'install.img compression' },
  tar: { command: 'tar', debianPackage: 'tar', purpose: 'dom0 root archive' },
  gzip: { command: 'gzip', debianPackage: 'gzip', purpose: 'install.img compression (gzip recipes)' },
  xz: { command: 'xz', debianPackage: 'xz-utils', purpose: 'install.img compression (xz recipes)' },
  bzip2: { command: 'bzip2', debianPackage: 'bzip2', purpose: 'unpacking .tar.bz2 hypervisor sources' },
  sgdisk: { command: 'sgdisk', debianPackage: 'gdisk', purpose: 'GPT checks (tests)' },
  sfdisk: { command: 'sfdisk', debianPackage: 'fdisk', purpose: 'partition table checks (tests)' },
  'dpkg-source': { command: 'dpkg-source', debianPackage: 'dpkg-dev', purpose: 'unpacking Debian source packages (compiled hypervisor)' },
  patch: { command: 'patch', debianPackage: 'patch', purpose: 'applying recipe patches to the hypervisor source' },
  make: { command: 'make', debianPackage: 'make', purpose: 'compiling the hypervisor' },
  gcc: { command: 'gcc', debianPackage: 'gcc', purpose: 'compiling the hypervisor' },
  ld: { command: 'ld', debianPackage: 'binutils', purpose: 'linking the hypervisor (xen.gz, xen.efi)' },
  python3: { command: 'python3', debianPackage: 'python3', purpose: 'hypervisor build scripts' },
  createrepo_c: { command: 'createrepo_c', debianPackage: 'createrepo-c', purpose: 'yum repository metadata' },
  rpmsign: { command: 'rpmsign', debianPackage: 'rpm', purpose: 'signing product RPMs' },
  gpg: { command: 'gpg', debianPackage: 'gpg', purpose: 'signing repository metadata, exporting the public key' },
  gpgv: { command: 'gpgv', debianPackage: 'gpgv', purpose: 'checking repomd.xml.asc (verify)' },
  gpgconf: { command: 'gpgconf', debianPackage: 'gpgconf', purpose: 'stopping the gpg-agent of a temporary keyring (tests)' },
  sh: { command: 'sh', debianPackage: 'dash', purpose: 'running the host update tool, host-tools/xsforge-update (tests)' },
  dash: { command: 'dash', debianPackage: 'dash', purpose: 'checking host-tools scripts parse as POSIX sh (tests)' },
  flock: { command: 'flock', debianPackage: 'util-linux', purpose: 'holding the host update lock (tests)' },
  rpmkeys: { command: 'rpmkeys', debianPackage: 'rpm', purpose: 'RPM signature checks (tests)' },
  dnf: { command: 'dnf', debianPackage: 'dnf', purpose: 'dom0 roots from RPM repositories; resolving comps groups (tests)' },
  'qemu-system-x86_64': { command: 'qemu-system-x86_64', debianPackage: 'qemu-system-x86', purpose: 'boot tests (testbed)' },
  rpmbuild: { command: 'rpmbuild', debianPackage: 'rpm', purpose: 'product RPMs' },
  rpm: { command: 'rpm', debianPackage: 'rpm', purpose: 'RPM checks (tests); querying RPM dom0 roots' },
  rpmdb: { command: 'rpmdb', debianPackage: 'rpm', purpose: 'settling the rpm database of RPM dom0 roots' },
  rpm2cpio: { command: 'rpm2cpio', debianPackage: 'rpm2cpio', purpose: 'RPM payload checks (tests)' },
  cpio: { command: 'cpio', debianPackage: 'cpio', purpose: 'RPM payload checks (tests)' },
  curl: { command: 'curl', debianPackage: 'curl', purpose: 'fetching from xsforge serve (tests)' },
  mke2fs: { command: 'mke2fs', debianPackage: 'e2fsprogs', purpose: 'file systems of preinstalled disk images' },
  debugfs: { command: 'debugfs', debianPackage: 'e2fsprogs', purpose: 'reading files back from ext file systems inside disk images (tests)' },
  mkswap: { command: 'mkswap', debianPackage: 'util-linux', purpose: 'swap of preinstalled disk images' },
  'qemu-img': { command: 'qemu-img', debianPackage: 'qemu-utils', purpose: 'qcow2 and VHD disk images' },
  dnsmasq: { command: 'dnsmasq', debianPackage: 'dnsmasq-base', purpose: 'TFTP for xsforge serve --tftp; checking the network-boot DHCP example (tests)' },
  depmod: { command: 'depmod', debianPackage: 'kmod', purpose: 'checking driver-disk module packages (tests)' },
  modprobe: { command: 'modprobe', debianPackage: 'kmod', purpose: 'the installer loading driver-disk modules (its integration test on this host)' },
  ldd: { command: 'ldd', debianPackage: 'libc-bin', purpose: 'a shell for a scratch rpm root (tests)' },
  chromium: { command: 'chromium', debianPackage: 'chromium', purpose: 'rendering the build report headless (tests)' },
  umount: { command: 'umount', debianPackage: 'mount', purpose: 'unmounting what a killed chroot build left in its scratch directory' },
  mount: { command: 'mount', debianPackage: 'mount', purpose: 'a small tmpfs as a full disk (cache fault tests)' },
  dd: { command: 'dd', debianPackage: 'coreutils', purpose: 'filling a full disk (cache fault tests)' },
  virsh: { command: 'virsh', debianPackage: 'libvirt-clients', purpose: 'driving an installed host\'s libvirt over xen+ssh:// (tests)' },
  ssh: { command: 'ssh', debianPackage: 'openssh-client', purpose: 'commands on an installed host, and libvirt\'s transport (tests)' },
  'ssh-keygen': { command: 'ssh-keygen', debianPackage: 'openssh-client', purpose: 'a key pair for the installed host\'s root (tests)' },
} as const satisfies Record<string, HostTool>;

// run()'s missing-tool errors name the package to install
registerToolPackages(Object.values(HOST_TOOLS));

export type ToolName = keyof typeof HOST_TOOLS;

/** Debian packages whose *files* (not commands) the build reads. */
export const HOST_DATA_PACKAGES: Record<string, { paths: string[]; purpose: string }> = {
  isolinux: { paths: ['/usr/lib/ISOLINUX/isolinux.bin', '/usr/lib/ISOLINUX/isohdpfx.bin'], purpose: 'BIOS CD boot loader and hybrid MBR' },
  'syslinux-common': { paths: ['/usr/lib/syslinux/modules/bios/mboot.c32'], purpose: 'mboot.c32, menu.c32 and libraries' },
  pxelinux: { paths: ['/usr/lib/PXELINUX/pxelinux.0'], purpose: 'PXE boot loader copies on the media' },
  'grub-efi-amd64-bin': { paths: ['/usr/lib/grub/x86_64-efi/multiboot2.mod'], purpose: 'GRUB EFI modules' },
  'grub-pc-bin': { paths: ['/usr/lib/grub/i386-pc/normal.mod'], purpose: 'GRUB BIOS modules: the installer\'s grub-install runs on this host in the install-exec and upgrade-exec tests' },
  ovmf: { paths: ['/usr/share/OVMF/OVMF_CODE_4M.fd'], purpose: 'UEFI firmware for boot tests' },
};

export { findOnPath };

/** Throws MissingToolError naming the apt package when a tool is absent. */
export function requireTool(name: ToolName): string {
  const t = HOST_TOOLS[name];
  const p = findOnPath(t.command);
  if (!p) throw new MissingToolError(t.command, t.debianPackage);
  return p;
}

let dpkgVersions: Map<string, string> | undefined;

/** Installed Debian package versions, parsed once from dpkg's status file. */
export function installedPackageVersions(statusFile = '/var/lib/dpkg/status'): Map<string, string> {
  if (dpkgVersions && statusFile === '/var/lib/dpkg/status') return dpkgVersions;
  const map = new Map<string, string>();
  let text = '';
  try { text = readFileSync(statusFile, 'utf8'); } catch { return map; }
  for (const para of text.split('\n\n')) {
    const pkg = /^Package: (.+)$/m.exec(para)?.[1];
    const ver = /^Version: (.+)$/m.exec(para)?.[1];
    const status = /^Status: (.+)$/m.exec(para)?.[1] ?? '';
    if (pkg && ver && status.endsWith(' installed')) map.set(pkg.trim(), ver.trim());
  }
  if (statusFile === '/var/lib/dpkg/status') dpkgVersions = map;
  return map;
}

/** Version string of a tool for stage keys: "<package> <version>". */
export function toolVersion(name: ToolName): string {
  const pkg = HOST_TOOLS[name].debianPackage;
  return `${pkg} ${installedPackageVersions().get(pkg) ?? 'unknown'}`;
}

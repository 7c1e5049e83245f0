// The product's own package set: hypervisor, dom0 kernel, release identity,
// first boot and signing keys, as package models in the stage form. Sources are
// plain host paths or upstream stage files, so the lead can feed them from
// stage outputs; nothing here reads the file system.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FIRSTBOOT, OVERLAY_DIR } from '../dom0-rootfs/rootfs.ts';
import type { RpmFile, RpmPackageDef, StageFileRef } from './model.ts';

/** A file the package set takes from outside: an absolute host path or a stage output. */
export type PathSource = string | StageFileRef;

export interface ProductRpmInput {
  /** product brand, e.g. XenServer; lowercased into package names (xenserver-release) */
  brand: string;
  /** e.g. 7.1.2: `Provides: product-version` */
  productVersion: string;
  /** e.g. { name: 'XCP', version: '2.2.0' }: `Provides: platform-version` */
  platform: { name: string; version: string };
  buildNumber: string;
  /** RPM Release of the product's packages; default: the build number made RPM-safe */
  release?: string;
  /** licence tag of the product's own packages (release, first boot, keys); default MIT */
  productLicense?: string;
  hypervisor: {
    /** Xen release, e.g. 4.17.5 (identity.ts xenReleaseFromPackageVersion) */
    version: string;
    xenGz: PathSource;
    /** the EFI build of the hypervisor, when the build has one */
    xenEfi?: PathSource;
  };
  kernel: {
    /** uname -r, e.g. 6.1.0-28-amd64 */
    release: string;
    /** RPM version of the kernel, e.g. 6.1.119 (model.ts rpmVersionFromDebian) */
    version: string;
    /** RPM release; default the product release */
    rpmRelease?: string;
    vmlinuz: PathSource;
    /**
     * Module files under /lib/modules/<release>/, by path relative to it. Off by
     * default: the dom0 root archive already carries the kernel's module tree
     * (Debian 6.1: 4025 files, 390 MB, which single-threaded xz -9 would take
     * minutes over), and nothing installs the dom0 kernel from the repository today.
     */
    modules?: Array<{ from: PathSource; path: string }>;
  };
  /** the .treeinfo text of the media (cli/pipeline.ts treeinfoText) */
  treeinfo: string;
  /** where the first-boot files come from; default the dom0 overlay in this repository */
  firstbootOverlayDir?: string;
  /** where host-tools/xsforge-update is read from (default: this tree's host-tools/) */
  hostToolsDir?: string;
  /** a public key file, shipped as /etc/pki/rpm-gpg/RPM-GPG-KEY-<name> */
  gpgKey?: { name: string; file: PathSource };
}

/** "XenServer" -> "xenserver", "My Product 2" -> "my-product-2". */
export function brandSlug(brand: string): string {
  const s = brand.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '');
  if (!s) throw new Error(`brand "${brand}" has no letters or digits to name packages by`);
  return s;
}

/** Build numbers allow "-", which RPM reserves for version-release. */
export function rpmReleaseFromBuild(buildNumber: string): string {
  const r = buildNumber.replace(/[^A-Za-z0-9._+~]/g, '_').replace(/^[^A-Za-z0-9]+/, '');
  return r || '1';
}

/**
 * The version of `kernel-uname-r`: uname -r with "-" turned into "_". Debian
 * releases such as 6.1.0-28-amd64 hold two dashes, which rpmbuild refuses in a
 * dependency version; driver disks must require the same string (SPEC section 6).
 */
export function kernelUnameRVersion(unameR: string): string {
  return unameR.replace(/-/g, '_');
}

/** The first-boot service files, by their paths in the dom0 overlay (dom0-rootfs/rootfs.ts). */
export const FIRSTBOOT_FILES: ReadonlyArray<{ path: string; mode: number }> = [
  { path: FIRSTBOOT.script, mode: 0o755 },
  { path: `/usr/lib/systemd/system/${FIRSTBOOT.unit}`, mode: 0o644 },
  { path: '/usr/lib/systemd/system/xsforge-ssh-hostkeys.service', mode: 0o644 },
];
const FIRSTBOOT_UNITS = FIRSTBOOT_FILES.filter((f) => f.path.endsWith('.service')).map((f) => f.path.slice(f.path.lastIndexOf('/') + 1));

/** Scripts that run on installed hosts (host-tools/ in this tree). */
export const HOST_TOOLS_DIR = join(dirname(dirname(fileURLToPath(import.meta.url))), 'host-tools');
/** The product's path of the boot-argument tool (seed: /opt/xensource/libexec/xen-cmdline --set-xen dma_bits=32). */
export const XEN_CMDLINE_PATH = '/opt/xensource/libexec/xen-cmdline';
/** Where xsforge-update keeps its state on a host (SPEC section 6). */
export const UPDATE_STATE_DIRS = ['/var/update', '/var/update/applied', '/var/update/staged'];

export function productRpmSpecs(input: ProductRpmInput): RpmPackageDef[] {
  const slug = brandSlug(input.brand);
  const release = input.release ?? rpmReleaseFromBuild(input.buildNumber);
  const productLicense = input.productLicense ?? 'MIT';
  const productId = `${input.brand} ${input.productVersion}`;
  const empty = { provides: [], requires: [], conflicts: [], obsoletes: [], dirs: [], scriptlets: {} };
  const productReq = `product-version = ${input.productVersion}`;
  const out: RpmPackageDef[] = [];

  const xv = input.hypervisor.version;
  const xenFiles: RpmFile<PathSource>[] = [{ from: input.hypervisor.xenGz, to: `/boot/xen-${xv}.gz`, mode: 0o644 }];
  if (input.hypervisor.xenEfi) xenFiles.push({ from: input.hypervisor.xenEfi, to: `/boot/xen-${xv}.efi`, mode: 0o644 });
  out.push({
    ...empty,
    name: `${slug}-hypervisor`,
    version: xv,
    release,
    summary: `The Xen hypervisor of ${productId}`,
    license: 'GPLv2',
    arch: 'x86_64',
    description: `Xen ${xv} as booted by ${productId} (multiboot2 xen.gz${input.hypervisor.xenEfi ? ' and the EFI binary' : ''}).`,
    provides: [`xen-hypervisor = ${xv}`],
    files: xenFiles,
  });

  const k = input.kernel;
  const moduleDir = `/lib/modules/${k.release}`;
  out.push({
    ...empty,
    name: 'kernel',
    version: k.version,
    release: k.rpmRelease ?? release,
    summary: `The dom0 kernel of ${productId}`,
    license: 'GPLv2',
    arch: 'x86_64',
    description: `Linux ${k.release}, the control domain (dom0) kernel of ${productId}.${k.modules?.length ? '' : ' Its modules ship in the dom0 root image.'}`,
    provides: [`kernel-uname-r = ${kernelUnameRVersion(k.release)}`],
    files: [
      { from: k.vmlinuz, to: `/boot/vmlinuz-${k.release}`, mode: 0o644 },
      ...(k.modules ?? []).map((m) => ({ from: m.from, to: `${moduleDir}/${m.path.replace(/^\/+/, '')}`, mode: 0o644 })),
    ],
    dirs: k.modules?.length ? [moduleDir] : [],
  });

  out.push({
    ...empty,
    name: `${slug}-release`,
    version: input.productVersion,
    release,
    summary: `${productId} release identity`,
    license: productLicense,
    arch: 'noarch',
    description: `Identifies the installation as ${productId} (build ${input.buildNumber}) on ${input.platform.name} ${input.platform.version}. Packages and updates require product-version and platform-version from it.`,
    provides: [productReq, `platform-version = ${input.platform.version}`],
    files: [
      { from: { text: `${input.brand} release ${input.productVersion}-${input.buildNumber} (${input.platform.name} ${input.platform.version})\n` }, to: `/etc/${slug}-release`, mode: 0o644 },
      { from: { text: input.treeinfo.endsWith('\n') ? input.treeinfo : `${input.treeinfo}\n` }, to: `/usr/share/${slug}/treeinfo`, mode: 0o644 },
    ],
    dirs: [`/usr/share/${slug}`],
  });

  const overlay = input.firstbootOverlayDir ?? OVERLAY_DIR;
  const units = FIRSTBOOT_UNITS.join(' ');
  out.push({
    ...empty,
    name: 'xsforge-firstboot',
    version: input.productVersion,
    release,
    summary: `First-boot configuration of ${productId}`,
    license: productLicense,
    arch: 'noarch',
    description: `Runs once after installation: management network and local storage from the data the installer leaves in ${dirname(FIRSTBOOT.managementConf)}, and SSH host keys on first start.`,
    requires: [productReq],
    files: FIRSTBOOT_FILES.map((f) => ({ from: join(overlay, f.path), to: f.path, mode: f.mode })),
    dirs: [dirname(dirname(FIRSTBOOT.pendingFlag)), dirname(FIRSTBOOT.managementConf), dirname(FIRSTBOOT.pendingFlag), dirname(FIRSTBOOT.script)].sort(),
    scriptlets: {
      // enabling works in a chroot as well (systemctl writes the wants/ links only)
      post: `if [ "$1" -eq 1 ] && command -v systemctl >/dev/null 2>&1; then\n  systemctl enable ${units} >/dev/null 2>&1 || :\nfi`,
      preun: `if [ "$1" -eq 0 ] && command -v systemctl >/dev/null 2>&1; then\n  systemctl disable ${units} >/dev/null 2>&1 || :\nfi`,
    },
  });

  out.push({
    ...empty,
    name: 'xsforge-update',
    version: input.productVersion,
    release,
    summary: `Applies updates to ${productId} hosts`,
    license: productLicense,
    arch: 'noarch',
    description: 'xsforge-update verifies, prechecks, applies and lists hotfixes, cumulative updates, supplemental packs and driver disks on this host (update-upload, update-apply and update-list for one host).',
    requires: [productReq],
    files: [{ from: join(input.hostToolsDir ?? HOST_TOOLS_DIR, 'xsforge-update'), to: '/usr/sbin/xsforge-update', mode: 0o755 }],
    dirs: UPDATE_STATE_DIRS,
  });

  out.push({
    ...empty,
    name: 'xsforge-xen-cmdline',
    version: input.productVersion,
    release,
    summary: `Changes the Xen and dom0 boot arguments of ${productId} hosts`,
    license: productLicense,
    arch: 'noarch',
    description: 'xen-cmdline --get-xen/--set-xen/--delete-xen (and -dom0): edits every entry of the installed GRUB configuration and records the change so that an upgrade keeps it.',
    requires: [productReq],
    files: [{ from: join(input.hostToolsDir ?? HOST_TOOLS_DIR, 'xen-cmdline'), to: XEN_CMDLINE_PATH, mode: 0o755 }],
    dirs: [],
  });

  if (input.gpgKey) {
    out.push({
      ...empty,
      name: `${slug}-gpg-keys`,
      version: input.productVersion,
      release,
      summary: `Package signing keys of ${productId}`,
      license: productLicense,
      arch: 'noarch',
      description: `The public key that signs ${productId} packages and repositories, for rpm --import and yum gpgkey=.`,
      files: [{ from: input.gpgKey.file, to: `/etc/pki/rpm-gpg/RPM-GPG-KEY-${input.gpgKey.name}`, mode: 0o644 }],
      dirs: ['/etc/pki/rpm-gpg'],
    });
  }
  return out;
}

// Building install.img: a Debian root tree made by mmdebstrap, cut down, with the
// kernel modules the installer needs, /init (installer/init.sh) and the bundled
// installer runtime, packed as a newc cpio and compressed.
import { createWriteStream, existsSync, readdirSync } from 'node:fs';
import { chmod, copyFile, mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { mmdebstrapArgv } from '../debian/mmdebstrap.ts';
import { XsforgeError } from '../core/errors.ts';
import type { run as runTool } from '../core/exec.ts';
import { canonicalJson, sha256File } from '../core/hash.ts';
import { defineStage, type Stage } from '../core/stage.ts';
import { installedPackageVersions } from '../core/tools.ts';
import { localImportClosure } from '../core/imports.ts';
import { newcFromTree, type NewcStats } from './cpio.ts';
import { moduleClosure, moduleDependencies, parseModinfo } from './kmod.ts';
import { INSTALLER_EULA } from './tui/system.ts';

const here = dirname(fileURLToPath(import.meta.url));
export const INIT_SCRIPT = join(here, 'init.sh');
export const RUNTIME_ENTRY = join(here, 'runtime', 'main.ts');
export const RUNTIME_DIR = join(here, 'runtime');
const REPO_DIR = dirname(here);

/** Always in install.img, whatever the recipe lists: what /init and the runtime run. */
// (mount is its own package in bookworm, outside the apt variant's essential set)
export const BASE_PACKAGES = [
  'nodejs', 'udev', 'kmod', 'util-linux', 'mount', 'iproute2',
  // the unattended install (installer/runtime/execute.ts, fetch.ts, network.ts); tar,
  // coreutils and util-linux (blockdev, partx, wipefs, mkswap) are essential already
  'e2fsprogs', 'dosfstools', 'zstd', 'curl', 'ca-certificates', 'isc-dhcp-client',
  'grub2-common', 'grub-pc-bin', 'grub-efi-amd64-bin', 'efibootmgr',
  // the interactive installer's time zone screens (installer/tui/system.ts: readTimezones)
  'tzdata',
];

/**
 * Module trees (under /lib/modules/<release>/) kept when the recipe names none:
 * storage (ATA, SCSI/SAS HBAs, NVMe, virtio, Xen, USB, optical, md/dm), the file
 * systems the installer reads or writes, common server NICs, and USB keyboards.
 * Whatever these load is added too (kmod.ts: moduleClosure).
 */
export const DEFAULT_MODULE_DIRS = [
  'kernel/drivers/ata', 'kernel/drivers/scsi', 'kernel/drivers/nvme', 'kernel/drivers/virtio',
  'kernel/drivers/block', 'kernel/drivers/usb/storage', 'kernel/drivers/usb/host', 'kernel/drivers/usb/core',
  'kernel/drivers/cdrom', 'kernel/drivers/md', 'kernel/drivers/xen', 'kernel/drivers/message/fusion',
  'kernel/fs/ext4', 'kernel/fs/fat', 'kernel/fs/isofs', 'kernel/fs/nls', 'kernel/fs/squashfs', 'kernel/fs/overlayfs',
  'kernel/drivers/net/virtio_net.ko', 'kernel/drivers/net/xen-netfront.ko', 'kernel/drivers/net/xen-netback',
  'kernel/drivers/net/ethernet/intel', 'kernel/drivers/net/ethernet/realtek', 'kernel/drivers/net/ethernet/broadcom',
  'kernel/drivers/net/ethernet/mellanox/mlx4', 'kernel/drivers/net/ethernet/mellanox/mlx5', 'kernel/drivers/net/ethernet/emulex',
  'kernel/drivers/net/ethernet/qlogic', 'kernel/drivers/net/ethernet/cisco', 'kernel/drivers/net/vmxnet3',
  'kernel/drivers/hid/hid.ko', 'kernel/drivers/hid/hid-generic.ko', 'kernel/drivers/hid/usbhid',
];

/** Removed from the root tree: documentation, translations, package caches. */
const PRUNE = [
  'usr/share/doc', 'usr/share/man', 'usr/share/info', 'usr/share/locale', 'usr/share/lintian', 'usr/share/linda',
  'var/cache/apt', 'var/lib/apt/lists', 'var/log', 'var/cache/debconf/config.dat-old', 'var/cache/debconf/templates.dat-old',
  'var/lib/dpkg/status-old', 'var/lib/dpkg/diversions-old',
  // per-host identities that package scripts make at random: they must not be
  // baked into an image shared by every host (and would break reproducibility);
  // open-iscsi makes a fresh InitiatorName when the file is missing
  'etc/iscsi/initiatorname.iscsi', 'etc/machine-id', 'var/lib/dbus/machine-id', 'var/lib/systemd/random-seed',
  // Debian's rpm depends on the full perl and libmagic for its build tools; the
  // installer runs only rpm and rpmkeys (neither loads them). ~55 MB of RAM that
  // the initramfs would hold inside a 1 GiB dom0. perl-base (Essential) stays.
  'usr/share/perl', 'usr/lib/x86_64-linux-gnu/perl', 'usr/lib/x86_64-linux-gnu/libperl.so.5.36', 'usr/lib/x86_64-linux-gnu/libperl.so.5.36.0',
  'usr/lib/file', 'usr/share/misc/magic.mgc',
];

export type Compression = 'zstd' | 'gzip' | 'xz';

/**
 * What install.img knows of the product: the brand and platform, not the
 * release. The installer takes the version and build from the install source's
 * .treeinfo, so a new release of the line (a CU base-install ISO, 7.1.3) reuses
 * the same install.img instead of rebuilding it.
 */
export interface ProductIdentity {
  brand: string;
  platform: { name: string; version: string };
}

export interface InstallImgParams {
  /** the install.img file to write */
  out: string;
  /** scratch directory (the root tree and the uncompressed cpio go here) */
  work: string;
  run: typeof runTool;
  sourceDateEpoch: number;
  debian: { mirror: string; suite: string; components: string[] };
  /** packages besides BASE_PACKAGES */
  packages: string[];
  /** directory holding lib/modules/<release>/ (an unpacked linux-image package) */
  kernelModulesFrom: string;
  /** globs under /lib/modules/<release>/; empty means DEFAULT_MODULE_DIRS */
  moduleDirs: string[];
  compression: Compression;
  product: ProductIdentity;
  /** .deb files kept between builds (mmdebstrap's /var/cache/apt/archives) */
  aptCacheDir: string;
  /** zstd level (default 19); lower is much faster for throwaway test images */
  zstdLevel?: number;
  /** the product's licence, shown by the interactive installer (copied to INSTALLER_EULA) */
  eulaFile?: string;
  progress?: (note: string) => void;
}

export interface InstallImgResult {
  path: string;
  sha256: string;
  size: number;
  /** size of the cpio archive before compression */
  uncompressedSize: number;
  /** Debian packages in the image, sorted by name */
  packages: { name: string; version: string }[];
  kernelRelease: string;
  modules: number;
}

/**
 * zstd -19: on a 275 MB tree it gives 62.6 MB in 71 s on 2 cores, against 71.4 MB
 * in 24 s at -15 and 72.1 MB in 5 s at -10; the stage is cached, so size wins. It
 * stays below --ultra, whose large windows the kernel's unpacker may not allocate.
 */
export const DEFAULT_ZSTD_LEVEL = 19;

export async function buildInstallImg(p: InstallImgParams): Promise<InstallImgResult> {
  const progress = p.progress ?? (() => {});
  if (/\s/.test(p.aptCacheDir)) throw new XsforgeError(`apt cache directory "${p.aptCacheDir}" contains white space`, 'mmdebstrap hooks cannot name such a path; use another cache directory');
  const root = join(p.work, 'install-img-root');
  await rm(root, { recursive: true, force: true });
  await mkdir(p.work, { recursive: true });
  await mkdir(p.aptCacheDir, { recursive: true });
  const kernelRelease = await findKernelRelease(p.kernelModulesFrom);

  progress('mmdebstrap: installing packages');
  const packages = [...new Set([...BASE_PACKAGES, ...p.packages])].sort();
  await p.run(mmdebstrapArgv({
    // root mode needs no user namespaces; unshare mode lets a normal user build
    mode: process.getuid?.() === 0 ? 'root' : 'unshare',
    variant: 'apt', debian: p.debian, packages, aptCacheDir: p.aptCacheDir, root,
  }), { env: { SOURCE_DATE_EPOCH: String(p.sourceDateEpoch) }, hint: `check that ${p.debian.mirror} serves ${p.debian.suite} and every package in installer.packages exists there` });

  const versions = installedPackageVersions(join(root, 'var/lib/dpkg/status'));
  const pkgList = [...versions].map(([name, version]) => ({ name, version })).sort((a, b) => (a.name < b.name ? -1 : 1));

  progress('trimming the root tree');
  for (const rel of PRUNE) await rm(join(root, rel), { recursive: true, force: true });
  await mkdir(join(root, 'var/log'), { recursive: true });
  // mmdebstrap copies these from the build host; the image must not depend on it
  await writeFile(join(root, 'etc/hostname'), 'installer\n');
  await writeFile(join(root, 'etc/resolv.conf'), '');
  // keep kernel NIC names (eth0, ...): the answer file and map_netdev speak ethN
  await mkdir(join(root, 'etc/udev/rules.d'), { recursive: true });
  await writeFile(join(root, 'etc/udev/rules.d/80-net-setup-link.rules'), '');

  progress('kernel modules');
  const modules = await copyModules(p, root, kernelRelease);
  await p.run(['chroot', root, 'depmod', '-a', kernelRelease], { hint: 'depmod runs inside the image tree (kmod is in BASE_PACKAGES)' });

  progress('installer runtime');
  await mkdir(join(root, 'opt/xsforge'), { recursive: true });
  await bundleRuntime(join(root, 'opt/xsforge/installer.js'));
  await writeFile(join(root, 'opt/xsforge/product.json'), canonicalJson(p.product) + '\n');
  if (p.eulaFile) await copyFile(p.eulaFile, join(root, INSTALLER_EULA.slice(1)));
  await copyFile(INIT_SCRIPT, join(root, 'init'));
  await chmod(join(root, 'init'), 0o755);

  progress('cpio archive');
  const cpioPath = join(p.work, 'install-img.cpio');
  const stats: NewcStats = { entries: 0, bytes: 0 };
  await pipeline(
    Readable.from(newcFromTree(root, {
      sourceDateEpoch: p.sourceDateEpoch,
      // the kernel opens /dev/console for /init before anything is mounted
      extra: [{ path: 'dev/console', type: 'char', mode: 0o600, major: 5, minor: 1 }],
    }, stats)),
    createWriteStream(cpioPath),
  );

  progress(`${p.compression} compression`);
  await mkdir(dirname(p.out), { recursive: true });
  await compress(p, cpioPath, p.out);
  await rm(cpioPath, { force: true });
  const size = (await stat(p.out)).size;
  return { path: p.out, sha256: await sha256File(p.out), size, uncompressedSize: stats.bytes, packages: pkgList, kernelRelease, modules };
}

async function findKernelRelease(from: string): Promise<string> {
  const dir = join(from, 'lib', 'modules');
  const releases = await readdir(dir).catch(() => [] as string[]);
  if (releases.length !== 1) {
    throw new XsforgeError(`${dir} should hold exactly one kernel release, found ${releases.length ? releases.join(', ') : 'none'}`,
      'point kernelModulesFrom at an unpacked linux-image package');
  }
  return releases[0];
}

async function listKo(dir: string, base: string, out: string[]): Promise<void> {
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const abs = join(dir, e.name);
    if (e.isDirectory()) await listKo(abs, base, out);
    else if (/\.ko(\.gz)?$/.test(e.name)) out.push(relative(base, abs));
    else if (/\.ko\.(xz|zst)$/.test(e.name)) {
      throw new XsforgeError(`${abs}: compressed modules (.xz/.zst) are not supported yet`, 'use a kernel package with plain .ko modules (Debian bookworm)');
    }
  }
}

/** Copy the chosen modules and their dependencies; returns how many. */
async function copyModules(p: InstallImgParams, root: string, release: string): Promise<number> {
  const src = join(p.kernelModulesFrom, 'lib', 'modules', release);
  const files: string[] = [];
  await listKo(join(src, 'kernel'), src, files);
  const deps = new Map<string, string[]>();
  for (const f of files.sort()) {
    let bytes = await readFile(join(src, f));
    if (f.endsWith('.gz')) bytes = (await import('node:zlib')).gunzipSync(bytes);
    deps.set(f, moduleDependencies(parseModinfo(bytes)));
  }
  const patterns = p.moduleDirs.length ? p.moduleDirs : DEFAULT_MODULE_DIRS;
  const { paths, unmatched } = moduleClosure(deps, patterns);
  if (p.moduleDirs.length && unmatched.length) {
    throw new XsforgeError(`installer.modules: ${unmatched.map((u) => `"${u}"`).join(', ')} matched no module of kernel ${release}`,
      'patterns are paths or globs under /lib/modules/<release>/, e.g. kernel/drivers/ata or kernel/drivers/net/ethernet/intel/*');
  }
  const dest = join(root, 'lib', 'modules', release);
  for (const f of paths) {
    await mkdir(dirname(join(dest, f)), { recursive: true });
    await copyFile(join(src, f), join(dest, f));
  }
  // depmod needs these to tell built-in modules from missing ones
  for (const f of ['modules.order', 'modules.builtin', 'modules.builtin.modinfo']) {
    if (existsSync(join(src, f))) await copyFile(join(src, f), join(dest, f));
  }
  return paths.length;
}

/** Bundle the installer runtime into one CommonJS file for Debian bookworm's node 18. */
export async function bundleRuntime(outFile: string): Promise<void> {
  await mkdir(dirname(outFile), { recursive: true });
  // loaded on use: a no-op build should not pay for loading esbuild
  const { build } = await import('esbuild');
  await build({
    entryPoints: [RUNTIME_ENTRY],
    outfile: outFile,
    bundle: true,
    platform: 'node',
    target: 'node18',
    format: 'cjs',
    charset: 'utf8',
    legalComments: 'none',
    logLevel: 'silent',
    banner: { js: '// xsforge installer runtime (bundled from installer/runtime/main.ts)' },
  });
}

async function compress(p: InstallImgParams, input: string, out: string): Promise<void> {
  const tmp = `${out}.tmp`;
  await rm(tmp, { force: true });
  if (p.compression === 'zstd') {
    // multi-threaded zstd output does not depend on the number of threads
    await p.run(['zstd', '-q', '-f', `-${p.zstdLevel ?? DEFAULT_ZSTD_LEVEL}`, '-T0', '--no-progress', input, '-o', tmp]);
  } else if (p.compression === 'gzip') {
    await p.run(['gzip', '-9', '-n', '-f', input]);
    await rename(`${input}.gz`, tmp);
  } else {
    // the kernel's xz unpacker needs CRC32 checks; one thread keeps the block layout fixed
    await p.run(['xz', '-T1', '-6', '--check=crc32', '-f', input]);
    await rename(`${input}.xz`, tmp);
  }
  await rename(tmp, out);
}

export interface InstallImgStageOptions {
  /** the kernel stage: out/modules/lib/modules/<release>/ */
  kernel: Stage<any>;
  debian: { mirror: string; suite: string; components: string[] };
  /** digest of the archive index the build resolved against (changes when the archive does) */
  indexDigest: string;
  packages: string[];
  moduleDirs: string[];
  compression: Compression;
  product: ProductIdentity;
  /** the recipe's product.eula: a netboot has no medium to read it from, so install.img carries it */
  eulaFile?: string;
}

/**
 * The build stage: out/install.img and out/packages.json (the resolved package
 * list for the manifest). Reads installer/init.sh and installer/runtime/*.ts.
 */
export function installImgStage(o: InstallImgStageOptions): Stage<any> {
  const inputFiles: Record<string, string> = { 'init.sh': INIT_SCRIPT };
  // everything the runtime bundle is made of (answerfiles/, disk/, repo/, core/ ...), not just
  // installer/runtime/: a change anywhere in it must change the image's key
  for (const f of localImportClosure(RUNTIME_ENTRY)) inputFiles[`src/${relative(REPO_DIR, f)}`] = f;
  for (const f of ['cpio.ts', 'kmod.ts', 'install-img.ts']) inputFiles[f] = join(here, f);
  // npm packages bundled into the runtime (fast-xml-parser) and esbuild itself
  inputFiles['package-lock.json'] = join(REPO_DIR, 'package-lock.json');
  if (o.eulaFile) inputFiles.eula = o.eulaFile;
  return defineStage({
    name: 'install-img',
    version: 1,
    options: {
      debian: o.debian,
      indexDigest: o.indexDigest,
      packages: [...new Set([...BASE_PACKAGES, ...o.packages])].sort(),
      moduleDirs: o.moduleDirs.length ? o.moduleDirs : DEFAULT_MODULE_DIRS,
      compression: o.compression,
      product: o.product as unknown as Record<string, string>,
    },
    deps: { kernel: o.kernel },
    inputFiles,
    tools: ['mmdebstrap', o.compression],
    artifacts: { 'install.img': { path: 'install.img', kind: 'installer-initrd' } },
    async run(ctx) {
      const r = await buildInstallImg({
        out: join(ctx.out, 'install.img'),
        work: ctx.work,
        run: ctx.run,
        sourceDateEpoch: ctx.sourceDateEpoch,
        debian: o.debian,
        packages: o.packages,
        kernelModulesFrom: join(ctx.dep('kernel'), 'modules'),
        moduleDirs: o.moduleDirs,
        compression: o.compression,
        product: o.product,
        ...(o.eulaFile && { eulaFile: ctx.inputFile('eula') }),
        aptCacheDir: join(ctx.downloadCache, 'apt-archives'),
        progress: ctx.progress,
      });
      ctx.log(`install.img: ${r.size} bytes (${r.uncompressedSize} uncompressed), ${r.packages.length} packages, ${r.modules} modules for ${r.kernelRelease}`);
      await writeFile(join(ctx.out, 'packages.json'), JSON.stringify({ kernelRelease: r.kernelRelease, packages: r.packages }, null, 1) + '\n');
    },
  });
}

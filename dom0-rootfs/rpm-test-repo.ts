// A yum repository that xsforge builds itself and that an RPM dom0 can be
// assembled from (no CentOS/XCP-ng mirror is reachable from the build host):
// a busybox userland made from Debian's busybox-static, a small initrd that
// mounts root=LABEL=... and switch_roots into it, the product's own kernel,
// hypervisor and release packages (packages/product.ts), and the comps groups
// xenserver_base / xenserver_dom0. examples/rpm-dom0/ describes it.
import { createWriteStream } from 'node:fs';
import { chmod, copyFile, mkdir, readdir, readFile, rename, symlink, writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { XsforgeError } from '../core/errors.ts';
import type { Json } from '../core/hash.ts';
import { defineStage, type Stage } from '../core/stage.ts';
import type { AptRoot, ResolvedPackage } from '../debian/apt.ts';
import { packageRef, scratchRoot, unpackPackages } from '../debian/stages.ts';
import { newcFromTree } from '../installer/cpio.ts';
import { moduleClosure, moduleDependencies, parseModinfo } from '../installer/kmod.ts';
import type { RpmPackageDef } from '../packages/model.ts';
import { productRpmSpecs, brandSlug, kernelUnameRVersion, type ProductRpmInput } from '../packages/product.ts';
import { rpmPackagesStage } from '../packages/rpmbuild.ts';
import { productGroups } from '../repo/comps.ts';
import { yumRepoStage, type SigningOptions } from '../repo/stage.ts';
import { ACCOUNT_FILES, initrdInitScript, inittabText, MINIMAL_INITRD_MODULES, moduleLoadOrder } from './minimal-userland.ts';

const here = dirname(fileURLToPath(import.meta.url));
const CODE = { 'code:rpm-test-repo.ts': join(here, 'rpm-test-repo.ts'), 'code:minimal-userland.ts': join(here, 'minimal-userland.ts') };

/** out/busybox: the static busybox binary of Debian's busybox-static. */
export function busyboxStaticStage(apt: AptRoot, pkg: ResolvedPackage): Stage<any> {
  return defineStage({
    name: 'busybox-static',
    version: 1,
    options: { package: packageRef(pkg) },
    tools: ['dpkg-deb'],
    artifacts: { busybox: { path: 'busybox', kind: 'executable' } },
    async run(ctx) {
      const root = scratchRoot(ctx);
      await unpackPackages(ctx, apt, [pkg], root);
      const bin = join(root, 'bin', 'busybox');
      await copyFile(bin, join(ctx.out, 'busybox')).catch(() => {
        throw new XsforgeError(`package ${pkg.name} ${pkg.version} has no /bin/busybox`, 'name Debian\'s busybox-static package');
      });
      await chmod(join(ctx.out, 'busybox'), 0o755);
    },
  });
}

export interface MinimalInitrdOptions {
  /** debian/kernel.ts debianKernelStage: out/modules/lib/modules/<release>/ */
  kernel: Stage<any>;
  /** busyboxStaticStage */
  busybox: Stage<any>;
  kernelRelease: string;
  /** module paths or globs under /lib/modules/<release>/ (default MINIMAL_INITRD_MODULES) */
  modules?: string[];
}

/** out/initrd.img: gzip'd newc cpio with busybox, the storage modules and /init. */
export function minimalInitrdStage(o: MinimalInitrdOptions): Stage<any> {
  const patterns = o.modules ?? MINIMAL_INITRD_MODULES;
  return defineStage({
    name: 'minimal-initrd',
    version: 1,
    options: { kernelRelease: o.kernelRelease, modules: patterns },
    deps: { kernel: o.kernel, busybox: o.busybox },
    inputFiles: CODE,
    tools: ['gzip'],
    artifacts: { 'initrd.img': { path: 'initrd.img', kind: 'initrd' } },
    async run(ctx) {
      const release = o.kernelRelease;
      const src = join(ctx.dep('kernel'), 'modules', 'lib', 'modules', release);
      const files: string[] = [];
      const listKo = async (dir: string): Promise<void> => {
        for (const e of await readdir(dir, { withFileTypes: true })) {
          if (e.isDirectory()) await listKo(join(dir, e.name));
          else if (e.name.endsWith('.ko')) files.push(relative(src, join(dir, e.name)));
        }
      };
      await listKo(join(src, 'kernel')).catch((e) => {
        throw new XsforgeError(`kernel stage has no modules for ${release}: ${(e as Error).message}`, 'kernelRelease must be the release of the kernel stage');
      });
      const deps = new Map<string, string[]>();
      for (const f of files.sort()) deps.set(f, moduleDependencies(parseModinfo(await readFile(join(src, f)))));
      const { paths, unmatched } = moduleClosure(deps, patterns);
      if (unmatched.length) throw new XsforgeError(`initrd modules ${unmatched.join(', ')} match no module of kernel ${release}`);
      const order = moduleLoadOrder(new Map(paths.map((p) => [p, deps.get(p)!])), paths);

      const tree = join(ctx.work, 'initrd');
      for (const d of ['bin', 'dev', 'proc', 'sys', 'newroot']) await mkdir(join(tree, d), { recursive: true });
      await copyFile(join(ctx.dep('busybox'), 'busybox'), join(tree, 'bin/busybox'));
      await chmod(join(tree, 'bin/busybox'), 0o755);
      await symlink('busybox', join(tree, 'bin/sh'));
      for (const p of paths) {
        await mkdir(dirname(join(tree, 'lib/modules', release, p)), { recursive: true });
        await copyFile(join(src, p), join(tree, 'lib/modules', release, p));
      }
      await writeFile(join(tree, 'init'), initrdInitScript({ kernelRelease: release, modules: order }), { mode: 0o755 });
      await chmod(join(tree, 'init'), 0o755);
      const cpio = join(ctx.work, 'initrd.cpio');
      await pipeline(Readable.from(newcFromTree(tree, {
        sourceDateEpoch: ctx.sourceDateEpoch,
        // the kernel opens /dev/console for /init before anything is mounted
        extra: [{ path: 'dev/console', type: 'char', mode: 0o600, major: 5, minor: 1 }],
      })), createWriteStream(cpio));
      // -n: no name or time in the gzip header
      await ctx.run(['gzip', '-9', '-n', '-f', cpio]);
      await rename(`${cpio}.gz`, join(ctx.out, 'initrd.img'));
      ctx.log(`initrd: ${paths.length} modules (load order ${order.map((p) => p.split('/').pop()).join(' ')})`);
    },
  });
}

export interface RpmTestRepoInput {
  product: { brand: string; version: string; build_number: string; platform: { name: string; version: string } };
  /** the dom0 kernel: debianKernelStage, its uname -r and RPM version (model.ts rpmVersionFromDebian) */
  kernel: { stage: Stage<any>; release: string; rpmVersion: string };
  /** the hypervisor: a stage with out/xen.gz (hypervisor/), and its Xen release */
  hypervisor: { stage: Stage<any>; version: string };
  busybox: Stage<any>;
  /** initrd module patterns (default MINIMAL_INITRD_MODULES) */
  initrdModules?: string[];
  /** signs packages and repodata (repo/stage.ts); the public key is written as RPM-GPG-KEY-<keyName> */
  signing?: SigningOptions;
  keyName?: string;
}

export interface RpmTestRepo {
  /** the repository stage (Packages/, repodata/ with comps, RPM-GPG-KEY-* when signed) */
  repo: Stage<Json>;
  rpms: Stage<any>;
  initrd: Stage<any>;
  /** the comps groups, as the dom0 provider installs them */
  groups: string[];
  packages: RpmPackageDef[];
  /** the public key is RPM-GPG-KEY-<keyName> in the repository (signed builds) */
  keyName: string;
}

const EMPTY = { provides: [], requires: [], conflicts: [], obsoletes: [], files: [], dirs: [], scriptlets: {} };

/** The busybox userland packages: the directory skeleton and busybox with init, a console login and root. */
export function userlandPackages(release: string): RpmPackageDef[] {
  const fs: RpmPackageDef = {
    ...EMPTY,
    name: 'filesystem', version: '1', release, arch: 'noarch', license: 'MIT',
    summary: 'The directory layout of the minimal dom0',
    description: 'Directories every other package installs into, and the mount points of the kernel file systems.',
    dirs: ['/bin', '/boot', '/dev', '/etc', '/home', '/lib', '/mnt', '/proc', '/root', '/run', '/sbin', '/sys', '/tmp',
      '/usr', '/usr/bin', '/usr/sbin', '/var', '/var/log', '/var/tmp'],
  };
  const bb = { stage: 'busybox', path: 'busybox' };
  const busybox: RpmPackageDef = {
    ...EMPTY,
    name: 'busybox', version: '1', release, arch: 'x86_64', license: 'GPLv2',
    summary: 'Static busybox as the whole dom0 userland',
    description: 'Debian\'s busybox-static binary with /bin/sh and /sbin/init as copies of it; the other applet links are made at install time. busybox init logs root in on the Xen console (hvc0).',
    requires: ['filesystem'],
    provides: ['/bin/sh'],
    files: [
      { from: bb, to: '/bin/busybox', mode: 0o755 },
      // copies, not links (the package model has none): busybox picks the applet by argv[0]
      { from: bb, to: '/bin/sh', mode: 0o755 },
      { from: bb, to: '/sbin/init', mode: 0o755 },
      { from: { text: inittabText() }, to: '/etc/inittab', mode: 0o644, config: true },
      { from: { text: 'localhost\n' }, to: '/etc/hostname', mode: 0o644, config: true },
      ...Object.entries(ACCOUNT_FILES).map(([to, text]) => ({ from: { text }, to, mode: to === '/etc/shadow' ? 0o600 : 0o644, config: true })),
    ],
    scriptlets: {
      // runs chrooted in the new root (rpm --root): links for every other applet, existing files left alone
      post: '/bin/busybox --install -s',
    },
  };
  return [fs, busybox];
}

/** The stages that build the test repository; give `repo` to rpmDom0RootfsStage. */
export async function rpmTestRepo(i: RpmTestRepoInput): Promise<RpmTestRepo> {
  const release = i.product.build_number.replace(/[^A-Za-z0-9._+~]/g, '_');
  const initrd = minimalInitrdStage({ kernel: i.kernel.stage, busybox: i.busybox, kernelRelease: i.kernel.release, modules: i.initrdModules });
  const productInput: ProductRpmInput = {
    brand: i.product.brand,
    productVersion: i.product.version,
    platform: i.product.platform,
    buildNumber: i.product.build_number,
    hypervisor: { version: i.hypervisor.version, xenGz: { stage: 'hypervisor', path: 'xen.gz' } },
    kernel: { release: i.kernel.release, version: i.kernel.rpmVersion, vmlinuz: { stage: 'kernel', path: 'vmlinuz' } },
    treeinfo: `[general]\nname = ${i.product.brand} ${i.product.version} (RPM dom0 test repository)\n`,
  };
  const product = productRpmSpecs(productInput);
  const initrdPkg: RpmPackageDef = {
    ...EMPTY,
    name: 'dom0-initrd', version: '1', release, arch: 'x86_64', license: 'GPLv2',
    summary: `Initial RAM disk for the dom0 kernel ${i.kernel.release}`,
    description: 'busybox, the storage and ext4 modules, and an /init that mounts root=LABEL=... and switches to /sbin/init.',
    requires: [`kernel-uname-r = ${kernelUnameRVersion(i.kernel.release)}`],
    files: [{ from: { stage: 'initrd', path: 'initrd.img' }, to: `/boot/initrd.img-${i.kernel.release}`, mode: 0o644 }],
  };
  const packages = [...userlandPackages(release), initrdPkg, ...product];
  const rpms = rpmPackagesStage({
    name: 'rpm-dom0-test-rpms',
    packages,
    deps: { busybox: i.busybox, initrd, kernel: i.kernel.stage, hypervisor: i.hypervisor.stage },
  });
  const keyName = i.keyName ?? brandSlug(i.product.brand);
  const dom0Only = new Set(['xsforge-firstboot']);
  const repo = await yumRepoStage({
    name: 'rpm-dom0-test-repo',
    rpms: { stages: { rpms } },
    comps: productGroups(packages.filter((p) => !dom0Only.has(p.name)).map((p) => p.name), [...dom0Only]),
    ...(i.signing ? { signing: i.signing, keyName } : {}),
  });
  return { repo, rpms, initrd, groups: ['xenserver_base', 'xenserver_dom0'], packages, keyName };
}

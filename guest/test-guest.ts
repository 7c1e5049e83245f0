// The test guest: the dom0 kernel (Debian's vmlinuz also runs as a Xen PV domU)
// and a tiny initramfs of busybox-static, the front-end modules and an /init
// that reports kernel, disk, DHCP lease and a ping of the gateway on the console
// (guest/init.ts), then powers off. Booted by tests under plain QEMU and, by the
// e2e tier, as a PV domain on an installed host.
import { createWriteStream } from 'node:fs';
import { chmod, copyFile, mkdir, readdir, readFile, rename, stat, symlink, writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { gunzipSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { XsforgeError } from '../core/errors.ts';
import { sha256, type Json } from '../core/hash.ts';
import { localImportClosure } from '../core/imports.ts';
import { defineStage, type Stage, type StageContext } from '../core/stage.ts';
import type { AptRoot, ResolvedPackage } from '../debian/apt.ts';
import { packageRef, scratchRoot, unpackPackages, type PackageRef } from '../debian/stages.ts';
import { newcFromTree, type NewcStats } from '../installer/cpio.ts';
import { moduleDependencies, moduleName, parseModinfo } from '../installer/kmod.ts';
import { GUEST_APPLETS, GUEST_PATHS, guestInitScript, guestUdhcpcScript } from './init.ts';
import { TEST_GUEST_MODULES, moduleLoadOrder } from './modules.ts';

const SELF = fileURLToPath(import.meta.url);
const REPO_DIR = dirname(dirname(SELF));

/** The stage's output files (relative to its out/ directory). */
export const TEST_GUEST_FILES = {
  kernel: 'vmlinuz',
  initrd: 'initrd.img',
  /** TestGuestManifest as JSON */
  manifest: 'guest.json',
} as const;

/** The Debian package busybox comes from: statically linked, so the initramfs needs no libc. */
export const BUSYBOX_PACKAGE = 'busybox-static';

export interface TestGuestManifest {
  kernelRelease: string;
  busybox: { name: string; version: string };
  /** module files under /lib/modules/<release>/, in the order /init loads them */
  modules: string[];
  applets: string[];
  initrdBytes: number;
  /** bytes of the cpio archive before gzip */
  cpioBytes: number;
}

export type TestGuestOptions = {
  busybox: PackageRef;
  modules: string[];
  applets: string[];
  /** digests of the generated scripts: their text is the guest's behaviour */
  initSha256: string;
  udhcpcSha256: string;
};

export interface TestGuestStageInput {
  /** the kernel stage (debian/kernel.ts): out/vmlinuz, out/release, out/modules/lib/modules/<release>/ */
  kernel: Stage<Json>;
  apt: AptRoot;
  /** resolved BUSYBOX_PACKAGE */
  busybox: ResolvedPackage;
}

export function testGuestStage(o: TestGuestStageInput): Stage<TestGuestOptions> {
  const init = guestInitScript();
  const udhcpc = guestUdhcpcScript();
  // the stage's own code, by its import closure (guest/, the cpio writer, kmod, core)
  const inputFiles: Record<string, string> = {};
  for (const f of localImportClosure(SELF)) inputFiles[`src/${relative(REPO_DIR, f)}`] = f;
  return defineStage({
    name: 'test-guest',
    version: 1,
    options: {
      busybox: packageRef(o.busybox),
      modules: [...TEST_GUEST_MODULES],
      applets: [...GUEST_APPLETS],
      initSha256: sha256(init),
      udhcpcSha256: sha256(udhcpc),
    },
    deps: { kernel: o.kernel },
    inputFiles,
    tools: ['dpkg-deb', 'gzip'],
    artifacts: {
      vmlinuz: { path: TEST_GUEST_FILES.kernel, kind: 'kernel' },
      'initrd.img': { path: TEST_GUEST_FILES.initrd, kind: 'test-guest-initrd' },
    },
    async run(ctx) {
      const m = await buildTestGuest(ctx, o.apt, o.busybox, { init, udhcpc });
      ctx.log(`test guest: kernel ${m.kernelRelease}, initrd ${m.initrdBytes} bytes (${m.cpioBytes} as cpio), ${m.modules.length} modules, busybox ${m.busybox.version}`);
    },
  });
}

async function buildTestGuest(ctx: StageContext<TestGuestOptions>, apt: AptRoot, busybox: ResolvedPackage, scripts: { init: string; udhcpc: string }): Promise<TestGuestManifest> {
  const kernelDir = ctx.dep('kernel');
  const release = (await readFile(join(kernelDir, 'release'), 'utf8')).trim();
  const modulesFrom = join(kernelDir, 'modules', 'lib', 'modules', release);
  const root = scratchRoot(ctx, 'initramfs');
  // modes set explicitly: the host's umask must not reach the archive
  const dir = async (rel: string) => {
    await mkdir(join(root, rel), { recursive: true });
    await chmod(join(root, rel), 0o755);
  };
  const file = async (rel: string, data: string | Buffer, mode: number) => {
    await dir(dirname(rel));
    await writeFile(join(root, rel), data);
    await chmod(join(root, rel), mode);
  };
  await dir('.');
  for (const d of ['bin', 'dev', 'etc', 'proc', 'run', 'sys', 'tmp']) await dir(d);

  ctx.progress(`${busybox.name} ${busybox.version}`);
  const pkgRoot = scratchRoot(ctx, 'busybox');
  await unpackPackages(ctx, apt, [busybox], pkgRoot);
  await file(GUEST_PATHS.busybox, await readFile(join(pkgRoot, 'bin', 'busybox')).catch(() => {
    throw new XsforgeError(`package ${busybox.name} ${busybox.version} has no /bin/busybox`, `the test guest takes busybox from Debian's ${BUSYBOX_PACKAGE}`);
  }), 0o755);
  for (const a of GUEST_APPLETS) await symlink('busybox', join(root, 'bin', a));

  ctx.progress(`kernel modules for ${release}`);
  const order = await copyGuestModules(modulesFrom, join(root, 'lib', 'modules', release), release);
  await fixDirModes(join(root, 'lib'));
  await file(GUEST_PATHS.moduleList, order.map((p) => `${p}\n`).join(''), 0o644);
  await file(GUEST_PATHS.init, scripts.init, 0o755);
  await file(GUEST_PATHS.udhcpcScript, scripts.udhcpc, 0o755);

  ctx.progress('cpio archive');
  const cpio = join(ctx.work, 'initrd.cpio');
  const stats: NewcStats = { entries: 0, bytes: 0 };
  await pipeline(Readable.from(newcFromTree(root, {
    sourceDateEpoch: ctx.sourceDateEpoch,
    // the kernel opens /dev/console for /init before anything is mounted
    extra: [{ path: 'dev/console', type: 'char', mode: 0o600, major: 5, minor: 1 }],
  }, stats)), createWriteStream(cpio));
  // -n: no name or time stamp in the gzip header, so the bytes depend on the tree only
  await ctx.run(['gzip', '-9', '-n', '-f', cpio]);
  await rename(`${cpio}.gz`, join(ctx.out, TEST_GUEST_FILES.initrd));
  await copyFile(join(kernelDir, 'vmlinuz'), join(ctx.out, TEST_GUEST_FILES.kernel));

  const manifest: TestGuestManifest = {
    kernelRelease: release,
    busybox: { name: busybox.name, version: busybox.version },
    modules: order,
    applets: [...GUEST_APPLETS],
    initrdBytes: (await stat(join(ctx.out, TEST_GUEST_FILES.initrd))).size,
    cpioBytes: stats.bytes,
  };
  await writeFile(join(ctx.out, TEST_GUEST_FILES.manifest), `${JSON.stringify(manifest, null, 1)}\n`);
  return manifest;
}

/** Module file paths under `base` (relative), by module name. */
async function indexModules(base: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const walk = async (d: string): Promise<void> => {
    for (const e of await readdir(d, { withFileTypes: true })) {
      const abs = join(d, e.name);
      if (e.isDirectory()) await walk(abs);
      else if (/\.ko(\.(gz|xz|zst))?$/.test(e.name)) out.set(moduleName(e.name), relative(base, abs));
    }
  };
  await walk(join(base, 'kernel'));
  return out;
}

/**
 * Copies TEST_GUEST_MODULES and what they depend on into `dest` as plain .ko
 * (busybox insmod then needs none of its decompressors); returns the load order.
 * Only the modules reached are read, not the whole tree.
 */
async function copyGuestModules(src: string, dest: string, release: string): Promise<string[]> {
  const index = await indexModules(src).catch((e: NodeJS.ErrnoException) => {
    throw new XsforgeError(`the kernel stage has no module tree for ${release} (${e.message})`, 'the test guest needs the modules of the kernel it boots');
  });
  const plain = (rel: string) => rel.replace(/\.gz$/, '');
  const bytesOf = new Map<string, Buffer>();
  const deps = new Map<string, string[]>();
  const queue = TEST_GUEST_MODULES.map((n) => index.get(n)).filter((p): p is string => p !== undefined);
  while (queue.length) {
    const rel = queue.pop()!;
    if (deps.has(plain(rel))) continue;
    if (/\.ko\.(xz|zst)$/.test(rel)) {
      throw new XsforgeError(`${rel}: compressed modules (.xz/.zst) are not supported yet`, 'use a kernel package with plain .ko modules (Debian bookworm)');
    }
    let bytes = await readFile(join(src, rel));
    if (rel.endsWith('.gz')) bytes = gunzipSync(bytes);
    const names = moduleDependencies(parseModinfo(bytes));
    bytesOf.set(plain(rel), bytes);
    deps.set(plain(rel), names);
    for (const n of names) {
      const p = index.get(n);
      if (p) queue.push(p);
    }
  }
  const plan = moduleLoadOrder(deps, TEST_GUEST_MODULES);
  if (plan.notModules.length) {
    // built into the kernel would also do, but Debian builds them as modules: a
    // kernel without them is not the one this guest was made for
    throw new XsforgeError(`kernel ${release} has no module ${plan.notModules.join(', ')}`, `the test guest loads ${TEST_GUEST_MODULES.join(', ')} (Debian's linux-image-amd64 builds them as modules)`);
  }
  for (const rel of plan.order) {
    await mkdir(dirname(join(dest, rel)), { recursive: true });
    await writeFile(join(dest, rel), bytesOf.get(rel)!);
    await chmod(join(dest, rel), 0o644);
  }
  return plan.order;
}

/** mkdir's modes depend on the umask: set them for a whole tree. */
async function fixDirModes(d: string): Promise<void> {
  await chmod(d, 0o755);
  for (const e of await readdir(d, { withFileTypes: true })) if (e.isDirectory()) await fixDirModes(join(d, e.name));
}

// install.img from the minimal package set with real mmdebstrap, zstd and GNU
// cpio: contents, and the bundled installer runtime run on this host against a
// made-up sysfs. A second build compared entry by entry (same epoch, same bytes)
// runs in make test-matrix (XSFORGE_INSTALL_IMG_TWICE=1): make test compares
// install.img across two clean builds in reproducible.test.ts.
// Apt archives and the kernel package are cached under
// ${XDG_CACHE_HOME:-~/.cache}/xsforge so reruns do not download again.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '../../core/exec.ts';
import { readNewc, S_IFDIR, S_IFMT } from '../../installer/cpio.ts';
import { buildInstallImg, INIT_SCRIPT, type InstallImgResult } from '../../installer/install-img.ts';

const cache = join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'xsforge');
const work = mkdtempSync(join(tmpdir(), 'xsf-install-img-'));
const EPOCH = 1_700_000_000;
const PRODUCT = { brand: 'XenServer', platform: { name: 'XCP', version: '2.2.0' } };

/** The current Debian kernel package, downloaded once into the cache and unpacked here. */
async function kernelModules(): Promise<string> {
  const debs = join(cache, 'test-kernel');
  mkdirSync(debs, { recursive: true });
  const dep = await run(['apt-cache', 'depends', 'linux-image-amd64']);
  const pkg = /Depends: (linux-image-\d\S*)/.exec(dep.stdout)?.[1];
  assert.ok(pkg, 'apt-cache names the kernel behind linux-image-amd64');
  // keep only the current kernel's package in the cache
  for (const f of readdirSync(debs)) if (!f.startsWith(`${pkg}_`)) rmSync(join(debs, f), { force: true });
  if (!readdirSync(debs).some((f) => f.startsWith(`${pkg}_`))) await run(['apt-get', 'download', pkg], { cwd: debs });
  const deb = readdirSync(debs).find((f) => f.startsWith(`${pkg}_`))!;
  const dir = join(work, 'kernel');
  await run(['dpkg-deb', '-x', join(debs, deb), dir]);
  return dir;
}

const TWICE = process.env.XSFORGE_INSTALL_IMG_TWICE === '1';
let kernelDir: string;
let builds: InstallImgResult[] = [];
let cpioPath: string;
let extracted: string;

async function build(name: string): Promise<InstallImgResult> {
  return buildInstallImg({
    out: join(work, name, 'install.img'),
    work: join(work, name, 'work'),
    run,
    sourceDateEpoch: EPOCH,
    debian: { mirror: 'http://deb.debian.org/debian', suite: 'bookworm', components: ['main'] },
    packages: ['nodejs', 'udev', 'kmod', 'util-linux', 'iproute2'],
    kernelModulesFrom: kernelDir,
    moduleDirs: [],
    compression: 'zstd',
    product: PRODUCT,
    aptCacheDir: join(cache, 'apt-archives'),
    // the stage's default (-19) costs a minute per build; the format is the same
    zstdLevel: 10,
  });
}

test.before(async () => {
  kernelDir = await kernelModules();
  builds.push(await build('one'));
  if (TWICE) builds.push(await build('two'));
  cpioPath = join(work, 'install.cpio');
  await run(['zstd', '-q', '-d', '-f', builds[0].path, '-o', cpioPath]);
  extracted = join(work, 'extracted');
  mkdirSync(extracted);
  await run(['cpio', '-i', '-d', '-m', '--no-absolute-filenames', '-F', cpioPath], { cwd: extracted });
});
test.after(() => rmSync(work, { recursive: true, force: true }));

test('the image is zstd-compressed newc that GNU cpio lists: /init, the runtime, node, modules', async () => {
  const magic = readFileSync(builds[0].path).subarray(0, 4);
  assert.equal([...magic], [0x28, 0xb5, 0x2f, 0xfd], 'zstd frame magic');
  const list = (await run(['cpio', '-t', '--quiet', '-F', cpioPath])).stdout.split('\n');
  const rel = builds[0].kernelRelease;
  for (const p of ['init', 'opt/xsforge/installer.js', 'opt/xsforge/product.json', 'usr/bin/node', 'dev/console',
    `usr/lib/modules/${rel}/modules.dep`, `usr/lib/modules/${rel}/kernel/drivers/ata/ahci.ko`, `usr/lib/modules/${rel}/kernel/fs/ext4/ext4.ko`]) {
    assert.ok(list.includes(p), `cpio -t lists ${p}`);
  }
  assert.not.ok(list.some((p) => p.startsWith('usr/share/doc/')), 'documentation is pruned');
  assert.ok(builds[0].modules > 100 && builds[0].modules < 1500, `module count ${builds[0].modules}`);
});

test('extracted /init is installer/init.sh, executable; product.json is the recipe identity', () => {
  assert.is(readFileSync(join(extracted, 'init'), 'utf8'), readFileSync(INIT_SCRIPT, 'utf8'));
  assert.is(statSync(join(extracted, 'init')).mode & 0o777, 0o755);
  assert.equal(JSON.parse(readFileSync(join(extracted, 'opt/xsforge/product.json'), 'utf8')), PRODUCT);
  assert.is(readFileSync(join(extracted, 'etc/hostname'), 'utf8'), 'installer\n');
  // depmod ran: ext4's dependencies are recorded and present
  const dep = readFileSync(join(extracted, `usr/lib/modules/${builds[0].kernelRelease}/modules.dep`), 'utf8');
  const ext4 = dep.split('\n').find((l) => l.startsWith('kernel/fs/ext4/ext4.ko:'))!;
  assert.ok(ext4 && ext4.includes('jbd2.ko'), ext4);
  for (const m of ext4.split(/[:\s]+/).filter(Boolean)) assert.ok(existsSync(join(extracted, 'usr/lib/modules', builds[0].kernelRelease, m)), m);
});

test('our reader agrees with GNU cpio; every directory precedes its children; uid 0; mtimes clamped', async () => {
  const entries = readNewc(readFileSync(cpioPath));
  const list = (await run(['cpio', '-t', '--quiet', '-F', cpioPath])).stdout.trim().split('\n');
  assert.equal(entries.map((e) => e.name), list);
  const seen = new Set<string>();
  for (const e of entries) {
    const parent = e.name.includes('/') ? e.name.slice(0, e.name.lastIndexOf('/')) : '';
    if (parent) assert.ok(seen.has(parent), `${parent} before ${e.name}`);
    if ((e.mode & S_IFMT) === S_IFDIR) seen.add(e.name);
    assert.is(e.uid, 0);
    assert.ok(e.mtime <= EPOCH, `${e.name} mtime ${e.mtime}`);
  }
});

(TWICE ? test : test.skip)('two builds with the same epoch give the same bytes', async () => {
  if (builds[0].sha256 !== builds[1].sha256) {
    // name the entries that differ, so a reproducibility regression is easy to chase
    const other = join(work, 'two.cpio');
    await run(['zstd', '-q', '-d', '-f', builds[1].path, '-o', other]);
    const key = (e: ReturnType<typeof readNewc>[number]) => `${e.mode}:${e.mtime}:${e.rdevMajor}:${e.rdevMinor}:${e.data.toString('base64')}`;
    const b = new Map(readNewc(readFileSync(other)).map((e) => [e.name, key(e)]));
    const differ = readNewc(readFileSync(cpioPath)).filter((e) => b.get(e.name) !== key(e)).map((e) => e.name);
    assert.unreachable(`install.img differs between builds; entries that differ: ${differ.slice(0, 20).join(', ') || '(none: order or count)'}`);
  }
  assert.ok(builds[0].size > 20e6 && builds[0].size < 150e6, `size ${builds[0].size}`);
});

test('resolved package list names the base set with versions', () => {
  const names = builds[0].packages.map((p) => p.name);
  for (const n of ['nodejs', 'udev', 'kmod', 'mount', 'util-linux', 'iproute2', 'dash']) assert.ok(names.includes(n), n);
  assert.not.ok(names.includes('usrmerge'), 'merged /usr comes from the mmdebstrap hook, not usrmerge and perl');
  assert.ok(builds[0].packages.every((p) => /^\S+$/.test(p.version)));
  if (TWICE) assert.equal(builds[0].packages, builds[1].packages);
});

test('/init is valid POSIX sh (dash -n)', async () => {
  await run([join(extracted, 'usr/bin/dash'), '-n', INIT_SCRIPT]);
});

/** A made-up sysfs: two disks, an optical drive, a loop device, a physical NIC, lo and a bridge. */
function fakeSys(root: string): void {
  const w = (p: string, s: string) => {
    mkdirSync(join(root, p, '..'), { recursive: true });
    writeFileSync(join(root, p), s + '\n');
  };
  w('block/sda/size', '976773168');
  w('block/sda/removable', '0');
  w('block/sda/device/vendor', 'ATA     ');
  w('block/sda/device/model', 'ST500DM002-1BD14');
  w('block/nvme0n1/size', '3907029168');
  w('block/nvme0n1/device/model', 'Samsung SSD 970 EVO 2TB');
  w('block/sr0/size', '0');
  w('block/sr0/removable', '1');
  w('block/sr0/device/type', '5');
  w('block/loop0/size', '1024');
  w('block/sdb/size', '0'); // empty card reader slot
  mkdirSync(join(root, 'bus/pci/drivers/e1000e'), { recursive: true });
  mkdirSync(join(root, 'devices/pci0000:00/0000:00:19.0'), { recursive: true });
  symlinkSync('../../../bus/pci/drivers/e1000e', join(root, 'devices/pci0000:00/0000:00:19.0/driver'));
  w('class/net/eth0/address', '52:54:00:AA:BB:CC');
  w('class/net/eth0/operstate', 'up');
  w('class/net/eth0/carrier', '1');
  w('class/net/eth0/speed', '1000');
  symlinkSync('../../../devices/pci0000:00/0000:00:19.0', join(root, 'class/net/eth0/device'));
  w('class/net/lo/address', '00:00:00:00:00:00');
  w('class/net/br0/address', '52:54:00:00:00:01');
}

async function runRuntime(args: { cmdline: string; devices: string[] }): Promise<{ consoles: Record<string, string>; atexit: string; stdout: string }> {
  const dir = mkdtempSync(join(work, 'rt-'));
  const sys = join(dir, 'sys');
  const dev = join(dir, 'dev');
  fakeSys(sys);
  mkdirSync(dev);
  for (const d of args.devices) writeFileSync(join(dev, d), '');
  const r = await run([process.execPath, join(extracted, 'opt/xsforge/installer.js'),
    '--cmdline', args.cmdline, '--sys-root', sys, '--dev-root', dev,
    '--product', join(extracted, 'opt/xsforge/product.json'), '--atexit-file', join(dir, 'run/atexit')]);
  const consoles: Record<string, string> = {};
  for (const d of args.devices) consoles[d] = readFileSync(join(dev, d), 'utf8');
  return { consoles, atexit: readFileSync(join(dir, 'run/atexit'), 'utf8').trim(), stdout: r.stdout };
}

test('runtime from the image: banner, options, disks, NICs, READY and EXIT markers on every console', async () => {
  const r = await runRuntime({
    cmdline: 'xencons=hvc console=hvc0 console=tty0 install answerfile=file:///nonexistent/a.xml atexit=poweroff map_netdev=eth0:s:52:54:00:aa:bb:cc',
    devices: ['hvc0', 'tty0'],
  });
  const out = r.consoles.hvc0;
  assert.is(r.consoles.tty0, out, 'console clones get the same text');
  assert.is(r.stdout, '', 'nothing goes to stdout unless asked');
  const lines = out.split('\n');
  // install.img knows the brand, not the release (that comes from the install source's .treeinfo)
  assert.is(lines[0], 'Welcome to the XenServer installer');
  assert.match(out, /install:\s+yes/);
  assert.match(out, /answer file:\s+file:\/\/\/nonexistent\/a\.xml/);
  assert.match(out, /at exit:\s+poweroff/);
  assert.match(out, /map_netdev:\s+eth0=static:mac:52:54:00:aa:bb:cc/);
  assert.match(out, /\/dev\/sda\s+disk\s+500 GB\s+ATA\s+ST500DM002-1BD14/);
  assert.match(out, /\/dev\/nvme0n1\s+disk\s+2.00 TB\s+-\s+Samsung SSD 970 EVO 2TB/);
  assert.match(out, /\/dev\/sr0\s+optical\s+no media/);
  assert.not.match(out, /loop0|sdb|br0|\blo\b/);
  assert.match(out, /eth0\s+52:54:00:aa:bb:cc\s+e1000e\s+up\s+yes 1000 Mb\/s/);
  assert.ok(lines.includes('XSFORGE-INSTALLER-READY disks=2 optical=1 nics=1 errors=0'), out);
  // the unattended path runs and fails on the missing answer file, before any disk is touched
  assert.match(out, /An unrecoverable error has occurred\. {2}The error was:\n\nUnable to fetch the answer file file:\/\/\/nonexistent\/a\.xml/);
  assert.match(out, /XSFORGE-INSTALL-FAILED reason=Unable to fetch the answer file/);
  assert.is(lines.filter(Boolean).at(-1), 'XSFORGE-INSTALLER-EXIT action=poweroff');
  assert.ok(lines.findIndex((l) => l.startsWith('XSFORGE-INSTALLER-READY')) < lines.findIndex((l) => l.startsWith('XSFORGE-INSTALLER-EXIT')));
  assert.is(r.atexit, 'poweroff');
});

test('runtime: a serial-only host still sees everything; command-line errors are reported, default atexit', async () => {
  const r = await runRuntime({
    cmdline: 'console=ttyS0,115200n8 console=tty0 install answerfile=http://h/a answerfile_generator=http://h/g',
    devices: ['ttyS0'],
  });
  const out = r.consoles.ttyS0;
  assert.match(out, /^Welcome to the XenServer installer/);
  assert.match(out, /errors=1/);
  assert.match(out, /An unrecoverable error has occurred\. {2}The error was:\n\s+Both answerfile and answerfile generator passed on command line\./);
  assert.match(out, /XSFORGE-INSTALLER-EXIT action=reboot/);
  assert.is(r.atexit, 'reboot');
});

test.run();

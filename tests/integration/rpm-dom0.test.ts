// The RPM dom0 provider through the engine with real dnf, rpm, tar and zstd,
// installing from the test repository xsforge builds itself (busybox userland,
// minimal initrd, the product's kernel/hypervisor/release packages): the archive
// boots the way the installer expects (/boot links, /sbin/init), the rpm
// database lists what dnf installed with install times from SOURCE_DATE_EPOCH,
// reruns are cached and rebuilds give the same bytes, a damaged repository fails
// with dnf's own message, and a signed repository is checked with its key.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { cpSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { defaultCacheRoot, downloadsRootFor, StageCache } from '../../core/cache.ts';
import { runGraph, type StageResult } from '../../core/engine.ts';
import { run } from '../../core/exec.ts';
import { sha256File } from '../../core/hash.ts';
import type { Stage } from '../../core/stage.ts';
import { parseRpmQa, RPM_QA_FORMAT } from '../../dom0-rootfs/dnf-config.ts';
import { ROOT_JSON, ROOT_TAR } from '../../dom0-rootfs/rootfs.ts';
import { RPM_DB_PATH, rpmDom0RootfsStage, type RpmDom0RootInfo } from '../../dom0-rootfs/rpm-provider.ts';
import { readNewc, S_IFCHR, S_IFMT } from '../../installer/cpio.ts';
import { EXAMPLE_EPOCH, planRpmDom0Example, type RpmDom0Example } from '../../examples/rpm-dom0/plan.ts';

const EPOCH = EXAMPLE_EPOCH;
const work = mkdtempSync(join(tmpdir(), 'xsf-rpmdom0-'));
const tree = join(work, 'root');
const cacheRoot = defaultCacheRoot();
const downloadsRoot = downloadsRootFor(cacheRoot);
const quiet = { emit: (e: unknown) => { if (process.env.XSFORGE_TEST_VERBOSE) console.error(JSON.stringify(e)); }, close() {} };
const build = (targets: Stage<any>[], force?: string[]) => runGraph(targets, { cache: new StageCache(cacheRoot), reporter: quiet, sourceDateEpoch: EPOCH, scope: 'test-rpm-dom0', jobs: 2, force });

let plan: RpmDom0Example;
let result: StageResult;
let info: RpmDom0RootInfo;
let names: string[];

test.before(async () => {
  const t0 = Date.now();
  plan = await planRpmDom0Example({ downloadsRoot });
  const results = await build([plan.dom0]);
  result = results.get('dom0-rootfs')!;
  console.error(`rpm dom0: test repository + root ${result.cached ? 'cached' : 'built'} in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  info = JSON.parse(readFileSync(join(result.dir, ROOT_JSON), 'utf8'));
  mkdirSync(tree);
  const archive = join(result.dir, ROOT_TAR);
  names = (await run(['tar', '--zstd', '-t', '-f', archive])).stdout.split('\n').filter(Boolean);
  await run(['tar', '--zstd', '-x', '--numeric-owner', '-f', archive, '-C', tree]);
});
test.after(async () => {
  await run(['gpgconf', '--kill', 'gpg-agent'], { env: { GNUPGHOME: join(work, 'gnupg') } }).catch(() => undefined);
  rmSync(work, { recursive: true, force: true });
});

test('archive: busybox userland, boot links resolving to the packages\' files, nothing dnf leaves behind', async () => {
  for (const p of ['./bin/busybox', './bin/sh', './sbin/init', './etc/inittab', './etc/passwd', './etc/shadow', './etc/group', './etc/hostname', './etc/xenserver-release']) {
    assert.ok(names.includes(p), `${p} in the archive`);
  }
  for (const [link, re] of [['xen.gz', /^xen-4\.17\.\d+\.gz$/], ['vmlinuz', /^vmlinuz-\d+\.\d+\.\d+-\d+-amd64$/], ['initrd.img', /^initrd\.img-\d+\.\d+\.\d+-\d+-amd64$/]] as const) {
    const abs = join(tree, 'boot', link);
    assert.ok(lstatSync(abs).isSymbolicLink(), `/boot/${link} is a link`);
    assert.match(readlinkSync(abs), re);
    assert.ok(statSync(abs).isFile() && statSync(abs).size > 100_000, `/boot/${link} resolves to a file`);
  }
  // %post ran chrooted in the new root: busybox made its applet links
  assert.is(readlinkSync(join(tree, 'bin/mount')), '/bin/busybox');
  assert.is(readlinkSync(join(tree, 'sbin/getty')), '/bin/busybox');
  assert.match(readFileSync(join(tree, 'etc/inittab'), 'utf8'), /^hvc0::respawn:\/bin\/busybox getty -L hvc0 115200 vt100$/m);
  assert.match(readFileSync(join(tree, 'etc/shadow'), 'utf8'), /^root:/);
  for (const gone of ['var/lib/dnf', 'var/cache/dnf', 'var/log/dnf.log', 'var/log/dnf.rpm.log', 'var/log/hawkey.log', 'etc/dnf', 'root/.cache', 'dev/null',
    'var/lib/rpm/rpmdb.sqlite-wal', 'var/lib/rpm/rpmdb.sqlite-shm', 'var/lib/rpm/.rpm.lock']) {
    assert.not.ok(existsSync(join(tree, gone)), `no ${gone}`);
  }
  assert.equal(readdirSync(join(tree, 'root')), [], '/root is empty (dnf\'s cache directory path is gone)');
  const verbose = (await run(['tar', '--zstd', '-t', '-v', '--numeric-owner', '--full-time', '-f', join(result.dir, ROOT_TAR)], { env: { TZ: 'UTC' } })).stdout.split('\n').filter(Boolean);
  for (const l of verbose) {
    assert.match(l, /^\S+ 0\/0 /, l);
    assert.ok(l.split(/\s+/)[3]! <= '2018-08-01', l);
  }
});

test('rpm database at /var/lib/rpm lists the groups\' packages, with install times from SOURCE_DATE_EPOCH, and verifies', async () => {
  const qa = parseRpmQa((await run(['rpm', '--root', tree, '--dbpath', RPM_DB_PATH, '--query', '--all', '--queryformat', RPM_QA_FORMAT])).stdout);
  assert.equal(qa.map((x) => x.name), ['busybox', 'dom0-initrd', 'filesystem', 'kernel', 'xenserver-hypervisor', 'xenserver-release', 'xsforge-firstboot', 'xsforge-update', 'xsforge-xen-cmdline']);
  assert.equal(info.packages, qa.map((x) => ({ name: x.name, version: `${x.version}.${x.arch}` })));
  assert.ok(qa.every((x) => x.installTid === EPOCH), JSON.stringify(qa));
  assert.equal(qa.map((x) => x.installTime).sort(), qa.map((_, i) => EPOCH + i), 'rpm numbers install times from the epoch');
  // every file as its package says (digests, modes, owners); -V prints nothing when all match
  const v = await run(['rpm', '--root', tree, '--dbpath', RPM_DB_PATH, '-Va', '--nomtime']).catch((e: Error) => ({ stdout: e.message }));
  assert.is(v.stdout.trim(), '', `rpm -Va: ${v.stdout}`);
  assert.equal((await run(['rpm', '--root', tree, '--dbpath', RPM_DB_PATH, '-qf', '/bin/busybox', '--qf', '%{NAME}'])).stdout, 'busybox');
});

test('dom0-root.json: the installer\'s fields, the archive\'s digest, provider rpm', async () => {
  assert.is(info.sha256, await sha256File(join(result.dir, ROOT_TAR)));
  assert.is(info.size, statSync(join(result.dir, ROOT_TAR)).size);
  assert.ok(info.uncompressedSize > info.size, `${info.uncompressedSize} > ${info.size}`);
  assert.is(info.kernelRelease, plan.kernelRelease);
  assert.match(info.xenVersion, /^4\.17\.\d+$/);
  assert.is(readlinkSync(join(tree, 'boot/xen.gz')), `xen-${info.xenVersion}.gz`);
  assert.equal([info.provider, info.rpmDbPath], ['rpm', '/var/lib/rpm']);
  assert.equal(info.packages.map((p) => p.name), [...info.packages.map((p) => p.name)].sort());
});

test('initrd: busybox, the storage and ext4 modules in dependency order, /dev/console, an /init sh accepts', async () => {
  const img = readFileSync(join(tree, 'boot/initrd.img'));
  const entries = readNewc(gunzipSync(img));
  const byName = new Map(entries.map((e) => [e.name, e]));
  assert.ok(byName.get('bin/busybox')!.data.length > 1e6);
  assert.is((byName.get('dev/console')!.mode & S_IFMT), S_IFCHR);
  const init = byName.get('init')!;
  assert.is(init.mode & 0o777, 0o755);
  const text = init.data.toString();
  const scriptFile = join(work, 'init.sh');
  writeFileSync(scriptFile, text);
  await run(['sh', '-n', scriptFile]);
  const rel = plan.kernelRelease;
  for (const m of ['ahci', 'ata_piix', 'sd_mod', 'virtio_blk', 'ext4', 'jbd2', 'mbcache', 'crc16', 'crc32c_generic', 'xen-blkfront', 'libata', 'scsi_mod']) {
    assert.ok(entries.some((e) => e.name.startsWith(`lib/modules/${rel}/`) && e.name.endsWith(`/${m}.ko`)), `${m}.ko in the initrd`);
  }
  const order = [...text.matchAll(/\/([A-Za-z0-9_-]+)\.ko\b/g)].map((m) => m[1]!);
  for (const [a, b] of [['jbd2', 'ext4'], ['mbcache', 'ext4'], ['libata', 'ahci'], ['scsi_mod', 'sd_mod']]) assert.ok(order.indexOf(a!) < order.indexOf(b!), `${a} before ${b}`);
});

test('second run: cache hit; forced rebuild: the same bytes', async () => {
  const again = await build([plan.dom0]);
  assert.ok(again.get('dom0-rootfs')!.cached, 'cached');
  assert.is(again.get('dom0-rootfs')!.dir, result.dir);
  const t0 = Date.now();
  const forced = await build([plan.dom0], ['dom0-rootfs']);
  const r = forced.get('dom0-rootfs')!;
  assert.not.ok(r.cached);
  const seconds = (Date.now() - t0) / 1000;
  console.error(`rpm dom0: forced rebuild in ${seconds.toFixed(1)} s`);
  assert.is(await sha256File(join(r.dir, ROOT_TAR)), info.sha256, 'dnf + rpm + tar give the same archive twice');
});

test('a damaged package: the stage fails with dnf\'s message; a missing package name too', async () => {
  const repo = join(work, 'damaged');
  cpSync((await build([plan.test.repo])).get('rpm-dom0-test-repo')!.dir, repo, { recursive: true });
  const pkg = readdirSync(join(repo, 'Packages')).find((f) => f.startsWith('busybox-'))!;
  const bytes = readFileSync(join(repo, 'Packages', pkg));
  rmSync(join(repo, 'Packages', pkg));
  writeFileSync(join(repo, 'Packages', pkg), bytes.subarray(0, 5000));
  const damaged = await rpmDom0RootfsStage({ repositories: [{ name: 'damaged', path: repo }], groups: ['xenserver_base'], packages: [], releasever: '1' });
  try {
    await build([damaged]);
    assert.unreachable('dnf must refuse the truncated package');
  } catch (e) {
    const msg = (e as Error).message;
    assert.match(msg, /Package "busybox-1-[^"]+" from local repository "damaged" has incorrect checksum/, msg);
    assert.match(msg, /command: dnf --assumeyes/);
  }
  const missing = await rpmDom0RootfsStage({ repositories: [{ name: 'product', path: repo }], groups: [], packages: ['no-such-package'], releasever: '1' });
  try {
    await build([missing]);
    assert.unreachable('dnf must refuse an unknown package');
  } catch (e) {
    assert.match((e as Error).message, /No match for argument: no-such-package/, (e as Error).message);
  }
  try {
    await rpmDom0RootfsStage({ repositories: [{ name: 'nothing', path: join(work, 'no-repo') }], groups: ['g'], packages: [], releasever: '1' });
    assert.unreachable();
  } catch (e) {
    assert.match((e as Error).message, /no-repo\/repodata\/repomd\.xml does not exist/);
  }
});

test('signed repository (throwaway key): gpgcheck and repo_gpgcheck pass with the key, which rpm then lists', async () => {
  const gnupg = join(work, 'gnupg');
  mkdirSync(gnupg, { mode: 0o700 });
  const env = { GNUPGHOME: gnupg };
  await run(['gpg', '--batch', '--passphrase', '', '--quick-gen-key', 'xsforge rpm dom0 test <dom0@xsforge.invalid>', 'rsa2048', 'sign', 'never'], { env });
  const fpr = /^fpr:+([0-9A-F]{40}):/m.exec((await run(['gpg', '--batch', '--with-colons', '--list-secret-keys'], { env })).stdout)![1]!;
  const signedPlan = await planRpmDom0Example({ downloadsRoot, signing: { key: fpr, gnupgHome: gnupg } });
  const results = await build([signedPlan.dom0]);
  const out = results.get('dom0-rootfs')!;
  const repoDir = results.get('rpm-dom0-test-repo')!.dir;
  assert.ok(existsSync(join(repoDir, 'repodata/repomd.xml.asc')));
  const signedInfo: RpmDom0RootInfo = JSON.parse(readFileSync(join(out.dir, ROOT_JSON), 'utf8'));
  // dnf imported the key into the new root's rpm database before installing
  const key = signedInfo.packages.find((p) => p.name === 'gpg-pubkey');
  assert.ok(key, JSON.stringify(signedInfo.packages));
  assert.is(key!.version.split('-')[0], fpr.slice(-8).toLowerCase());
  assert.is(signedInfo.packages.length, info.packages.length + 1);
  // the same root otherwise: the same kernel and hypervisor
  assert.equal([signedInfo.kernelRelease, signedInfo.xenVersion], [info.kernelRelease, info.xenVersion]);
});

test.run();

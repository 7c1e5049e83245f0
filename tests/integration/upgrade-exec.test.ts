// Upgrade, refusal and restore carried out by the installer runtime (main.ts
// under tsx, as install-exec.test.ts runs it) on this host, against a loop
// device backed by a sparse 60 GB file: a fresh install of version A (7.1.2),
// the installed root changed from outside (a file under /root, ssh host keys,
// an ext SR with a "VDI"), then upgrades by answer file:
//  - from media 7.1.1 (older than what is installed): refused before the disk
//    is touched (table, every partition's first MiBs and the end of the disk
//    hashed before and after);
//  - to version B (7.1.3, a dom0 root with a file A's has not): the backup
//    partition holds A's root and the markers, the new root has B's dom0 and A's
//    identity (UUIDs, hostname, root's hash, ssh keys), the SR bytes and table
//    entry are unchanged;
//  - then <restore>: A's root (its /root file, its inventory) is back on the root partition.
// And <existing-installation> naming a blank disk: the product's "Could not
// locate" text, nothing written.
//
// grub-install is replaced by the same recording stand-in as in
// install-exec.test.ts (GRUB cannot find a BIOS drive for a loop device).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { run } from '../../core/exec.ts';
import { MESSAGES } from '../../answerfiles/model.ts';
import { readTableFromImage } from '../../disk/write-table.ts';
import { currentScreenText, expectScreen, type } from '../lib/expect.ts';
import { runOnPty } from '../lib/pty-runtime.ts';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const MAIN = join(repo, 'installer', 'runtime', 'main.ts');
const work = mkdtempSync(join(tmpdir(), 'xsf-upgrade-exec-'));
const product = (version: string, build: string) => ({ brand: 'XenServer', version, build_number: build, platform: { name: 'XCP', version: '2.2.0' } });
const A = product('7.1.2', '137272c');
const B = product('7.1.3', '140000c');
const OLDER = product('7.1.1', '130000c');
const loops: string[] = [];
const mounts: string[] = [];

async function attachSparse(name: string, bytes: number): Promise<string> {
  const img = join(work, `${name}.img`);
  writeFileSync(img, '');
  await run(['truncate', '-s', String(bytes), img]);
  const dev = (await run(['losetup', '--find', '--show', '--partscan', img])).stdout.trim();
  loops.push(dev);
  return dev;
}

async function mount(dev: string, dir: string, ro = true): Promise<string> {
  mkdirSync(dir, { recursive: true });
  await run(['mount', ...(ro ? ['-o', 'ro'] : []), dev, dir]);
  mounts.push(dir);
  return dir;
}

async function umount(dir: string): Promise<void> {
  await run(['umount', dir]);
  mounts.splice(mounts.indexOf(dir), 1);
}

/** A dom0 root as the dom0-rootfs stage ships it; `mark` names the version in /usr/share/xsforge-dom0. */
async function fakeSource(name: string, mark: string): Promise<string> {
  const tree = join(work, `tree-${name}`);
  for (const d of ['boot', 'etc/chrony/sources.d', 'etc/ssh', 'var/log', 'usr/share/zoneinfo/Europe', 'root', 'tmp']) mkdirSync(join(tree, d), { recursive: true });
  writeFileSync(join(tree, 'boot/xen-4.17-amd64.gz'), 'fake xen\n');
  writeFileSync(join(tree, 'boot/vmlinuz-6.1.0-xsf'), 'fake kernel\n');
  writeFileSync(join(tree, 'boot/initrd.img-6.1.0-xsf'), 'fake initrd\n');
  symlinkSync('xen-4.17-amd64.gz', join(tree, 'boot/xen.gz'));
  symlinkSync('vmlinuz-6.1.0-xsf', join(tree, 'boot/vmlinuz'));
  symlinkSync('initrd.img-6.1.0-xsf', join(tree, 'boot/initrd.img'));
  writeFileSync(join(tree, 'etc/shadow'), 'root:*:19000:0:99999:7:::\ndaemon:*:19000:0:99999:7:::\n', { mode: 0o640 });
  writeFileSync(join(tree, 'etc/hostname'), 'dom0-build\n');
  writeFileSync(join(tree, 'usr/share/zoneinfo/Europe/London'), 'TZif fake\n');
  writeFileSync(join(tree, 'usr/share/xsforge-dom0'), `${mark}\n`);
  const src = join(work, `source-${name}`);
  mkdirSync(join(src, 'dom0'), { recursive: true });
  writeFileSync(join(src, '.treeinfo'), '[platform]\nname = XCP\nversion = 2.2.0\n');
  const tarFile = join(work, `root-${name}.tar`);
  await run(['tar', '--numeric-owner', '--owner=0', '--group=0', '-C', tree, '-cf', tarFile, '.']);
  await run(['zstd', '-q', '-f', '-3', tarFile, '-o', join(src, 'dom0/root.tar.zst')]);
  const bytes = readFileSync(join(src, 'dom0/root.tar.zst'));
  writeFileSync(join(src, 'dom0/root.json'), JSON.stringify({
    sha256: createHash('sha256').update(bytes).digest('hex'), size: bytes.length, uncompressedSize: statSync(tarFile).size,
    kernelRelease: '6.1.0-xsf', xenVersion: '4.17', packages: [],
  }));
  return src;
}

function writeAnswer(name: string, xml: string): string {
  const path = join(work, name);
  writeFileSync(path, `<?xml version="1.0"?>\n${xml}\n`);
  return path;
}

const freshAnswer = (disk: string, source: string) => writeAnswer('fresh.xml', `<installation srtype="ext">
  <primary-disk>${disk.replace('/dev/', '')}</primary-disk>
  <keymap>us</keymap>
  <root-password type="plaintext">pass A</root-password>
  <source type="url">file://${source}</source>
  <admin-interface name="eth0" proto="dhcp"/>
  <hostname>host-a.example.com</hostname>
  <timezone>Europe/London</timezone>
</installation>`);
const upgradeAnswer = (name: string, disk: string, source: string) => writeAnswer(name, `<installation mode="upgrade">
  <existing-installation>${disk.replace('/dev/', '')}</existing-installation>
  <source type="url">file://${source}</source>
</installation>`);

function grubInstallShim(): string {
  const bin = join(work, 'bin');
  mkdirSync(bin, { recursive: true });
  writeFileSync(join(bin, 'grub-install'), `#!/bin/sh
printf '%s\\n' "$*" >> ${join(work, 'grub-install-calls')}
for a in "$@"; do case "$a" in --boot-directory=*) b=\${a#--boot-directory=};; esac; done
mkdir -p "$b/grub/i386-pc" && cp /usr/lib/grub/i386-pc/*.mod "$b/grub/i386-pc/"
`);
  chmodSync(join(bin, 'grub-install'), 0o755);
  return bin;
}

interface RuntimeRun { console: string; logDir: string; seconds: number }

async function runInstaller(name: string, prod: object, answer: string, disks: string[]): Promise<RuntimeRun> {
  const dir = join(work, name);
  const dev = join(dir, 'dev');
  mkdirSync(dev, { recursive: true });
  writeFileSync(join(dev, 'ttyS0'), '');
  writeFileSync(join(dir, 'product.json'), JSON.stringify(prod));
  const logDir = join(dir, 'log');
  const t0 = Date.now();
  await run([process.execPath, '--import', 'tsx', MAIN,
    '--cmdline', `console=ttyS0,115200n8 install answerfile=file://${answer} atexit=poweroff`,
    '--dev-root', dev, '--product', join(dir, 'product.json'), '--atexit-file', join(dir, 'atexit'),
    ...disks.flatMap((d) => ['--extra-disk', d]), '--boot-mode', 'bios', '--target-root', join(dir, 'root'), '--work-dir', join(dir, 'work'),
    '--log-file', join(logDir, 'install-log'), '--stdout'], { cwd: repo, timeoutMs: 600_000, env: { PATH: `${shimDir}:${process.env.PATH}` } });
  const console = readFileSync(join(dev, 'ttyS0'), 'utf8');
  return { console, logDir, seconds: (Date.now() - t0) / 1000 };
}

/**
 * The runtime with no answer file on a pseudo-terminal console: keymap, welcome
 * and EULA are passed, the action screen's text is kept, Restore (its last
 * entry) is chosen and confirmed; returns that text and the install log.
 */
async function interactiveRestore(name: string, prod: object, disk: string): Promise<{ actions: string; log: string }> {
  const dir = join(work, name);
  const dev = join(dir, 'dev');
  mkdirSync(dev, { recursive: true });
  writeFileSync(join(dir, 'product.json'), JSON.stringify(prod));
  const logFile = join(dir, 'log', 'install-log');
  const rt = runOnPty(join(dev, 'hvc0'), [process.execPath, '--import', 'tsx', MAIN,
    '--cmdline', 'console=hvc0 atexit=shell', '--dev-root', dev, '--product', join(dir, 'product.json'), '--atexit-file', join(dir, 'atexit'),
    '--extra-disk', disk, '--boot-mode', 'bios', '--target-root', join(dir, 'root'), '--work-dir', join(dir, 'work'), '--log-file', logFile],
  { cwd: repo, env: { PATH: `${shimDir}:${process.env.PATH}` } });
  try {
    let since = 0;
    const step = async (screen: RegExp, keys: string, ms = 30_000) => {
      const m = await expectScreen(rt.read, screen, ms, { since });
      since = m.offset;
      await type(rt.send, keys);
      return m.screen;
    };
    await step(/Select Keymap/, '{enter}', 60_000);
    await step(/Welcome to XenServer Setup[\s\S]*F9/, '{enter}');
    await step(/End User License Agreement/, '{enter}');
    const actions = await step(/Please select an operation[\s\S]*Restore/, '{end}{enter}');
    await step(/Confirm Restore/, '{enter}');
    await step(/Installation Complete/, '{enter}', 300_000);
    assert.is(await rt.exited(30_000), 0, rt.stderr());
    return { actions, log: readFileSync(logFile, 'utf8') };
  } catch (e) {
    throw new Error(`${(e as Error).message}\n--- screen:\n${currentScreenText(rt.read())}\n--- stderr:\n${rt.stderr().slice(-3000)}`);
  } finally {
    rt.kill();
  }
}

const logOf = (r: RuntimeRun) => `${r.console}\n--- log:\n${readFileSync(join(r.logDir, 'install-log'), 'utf8').slice(-6000)}`;

/** sha256 of byte ranges of a device. */
async function hashRanges(dev: string, ranges: [number, number][]): Promise<string> {
  const h = createHash('sha256');
  const fh = await open(dev, 'r');
  try {
    for (const [offset, length] of ranges) {
      const buf = Buffer.alloc(length);
      await fh.read(buf, 0, length, offset);
      h.update(buf);
    }
  } finally {
    await fh.close();
  }
  return h.digest('hex');
}

/** The table (first 1 MiB, last 1 MiB) and the first 8 MiB of every partition. */
async function diskFingerprint(dev: string): Promise<string> {
  const t = await readTableFromImage(dev);
  const size = t.diskSectors * 512;
  const MiB = 1 << 20;
  return hashRanges(dev, [[0, MiB], [size - MiB, MiB], ...t.existing.map((p): [number, number] => [p.firstSector * 512, Math.min(8 * MiB, p.sectorCount * 512)])]);
}

let srcA: string;
let srcB: string;
let shimDir: string;
test.before(async () => {
  srcA = await fakeSource('a', 'dom0 A');
  srcB = await fakeSource('b', 'dom0 B');
  shimDir = grubInstallShim();
});

test.after(async () => {
  for (const m of mounts.reverse()) await run(['umount', m]).catch(() => undefined);
  for (const l of loops) await run(['losetup', '-d', l]).catch(() => undefined);
  rmSync(work, { recursive: true, force: true });
});

test('install A, refuse an older medium untouched, upgrade to B keeping identity and SR, restore A', async () => {
  const disk = await attachSparse('disk', 60e9);
  const fresh = await runInstaller('fresh', A, freshAnswer(disk, srcA), [disk]);
  assert.match(fresh.console, /XSFORGE-INSTALL-COMPLETE/, logOf(fresh));
  const sfx = /labels=([a-z]{6})/.exec(fresh.console)![1]!;

  // the host as it was used: a file under /root, ssh host keys, an ext SR holding a "VDI"
  const rootA = await mount(`${disk}p1`, join(work, 'mnt-a'), false);
  writeFileSync(join(rootA, 'root/notes.txt'), 'written on A\n');
  writeFileSync(join(rootA, 'etc/ssh/ssh_host_ed25519_key'), 'PRIVATE KEY A\n', { mode: 0o600 });
  writeFileSync(join(rootA, 'etc/ssh/ssh_host_ed25519_key.pub'), 'ssh-ed25519 AAAA host-a\n', { mode: 0o644 });
  const invA = readFileSync(join(rootA, 'etc/xensource-inventory'), 'utf8');
  const shadowA = readFileSync(join(rootA, 'etc/shadow'), 'utf8').split('\n')[0]!;
  await umount(rootA);
  await run(['mkfs.ext3', '-q', '-F', `${disk}p3`]);
  const sr = await mount(`${disk}p3`, join(work, 'mnt-sr'), false);
  writeFileSync(join(sr, 'vdi-1.vhd'), 'a virtual disk\n');
  await umount(sr);
  const uuid = (k: string) => new RegExp(`^${k}='([^']+)'$`, 'm').exec(invA)![1]!;
  const srBefore = await hashRanges(`${disk}p3`, [[0, 16 << 20]]);
  const tableBefore = (await readTableFromImage(disk)).existing.find((p) => p.number === 3);

  // an older medium refuses, and nothing is written
  const before = await diskFingerprint(disk);
  const older = await runInstaller('older', OLDER, upgradeAnswer('older.xml', disk, srcA), [disk]);
  assert.match(older.console, /An unrecoverable error has occurred/, logOf(older));
  assert.match(older.console, /XSFORGE-INSTALL-FAILED/);
  assert.match(older.console, /7\.1\.2/, logOf(older));
  assert.not.match(older.console, /Backing up|Making ext3/);
  assert.is(await diskFingerprint(disk), before, 'the disk is byte-identical after the refusal');

  // a blank disk named as the installation: the product's text, nothing written
  const blank = await attachSparse('blank', 60e9);
  const missing = await runInstaller('missing', B, upgradeAnswer('missing.xml', blank, srcB), [disk, blank]);
  assert.ok(missing.console.includes(MESSAGES.installationNotFound), logOf(missing));
  assert.ok((await hashRanges(blank, [[0, 1 << 20]])) === createHash('sha256').update(Buffer.alloc(1 << 20)).digest('hex'), 'the blank disk stays blank');
  assert.is(await diskFingerprint(disk), before);

  // the upgrade to B
  const up = await runInstaller('upgrade', B, upgradeAnswer('upgrade.xml', disk, srcB), [disk]);
  assert.match(up.console, /XSFORGE-INSTALL-COMPLETE/, logOf(up));
  assert.match(up.console, new RegExp(`XSFORGE-INSTALL-PLAN disk=${disk} table=gpt boot=bios labels=${sfx} mode=upgrade`));
  assert.match(up.console, /Upgrade plan: XenServer 7\.1\.2 \(build 137272c\)/);
  assert.match(up.console, /local SR:\s+untouched/);
  assert.match(up.console, /Local SR: the ext SR on \S+ holds 1 entry besides lost\+found/);
  assert.ok(up.console.indexOf('XSFORGE-INSTALL-PLAN') < up.console.indexOf('Backing up'), 'planned before the disk is touched');
  const blkLabel = async (n: number) => (await run(['blkid', '-o', 'value', '-s', 'LABEL', `${disk}p${n}`])).stdout.trim();
  assert.is(await blkLabel(1), `root-${sfx}`);
  assert.is(await blkLabel(2), `backup-${sfx}`);

  const bk = await mount(`${disk}p2`, join(work, 'mnt-backup'));
  assert.is(readFileSync(join(bk, 'root/notes.txt'), 'utf8'), 'written on A\n');
  assert.is(readFileSync(join(bk, 'usr/share/xsforge-dom0'), 'utf8'), 'dom0 A\n');
  assert.is(readFileSync(join(bk, '.xen-backup-partition'), 'utf8'), '');
  const info = JSON.parse(readFileSync(join(bk, '.xsforge-backup.json'), 'utf8'));
  assert.is(info.product.version, '7.1.2');
  assert.is(info.rootLabel, `root-${sfx}`);
  assert.is(readFileSync(join(bk, 'etc/xensource-inventory'), 'utf8'), invA);
  await umount(bk);

  const rootB = await mount(`${disk}p1`, join(work, 'mnt-b'));
  const read = (p: string) => readFileSync(join(rootB, p), 'utf8');
  assert.is(read('usr/share/xsforge-dom0'), 'dom0 B\n');
  assert.not.ok(existsSync(join(rootB, 'root/notes.txt')), 'the new dom0 is laid down fresh');
  const invB = read('etc/xensource-inventory');
  assert.match(invB, /^PRODUCT_VERSION='7\.1\.3'$/m);
  assert.match(invB, /^BUILD_NUMBER='140000c'$/m);
  for (const k of ['INSTALLATION_UUID', 'CONTROL_DOMAIN_UUID']) assert.match(invB, new RegExp(`^${k}='${uuid(k)}'$`, 'm'), k);
  assert.is(read('etc/hostname'), 'host-a.example.com\n');
  assert.is(read('etc/shadow').split('\n')[0], shadowA, "root's password hash is carried");
  assert.match(shadowA, /^root:\$6\$/);
  assert.is(read('etc/ssh/ssh_host_ed25519_key'), 'PRIVATE KEY A\n');
  assert.is(statSync(join(rootB, 'etc/ssh/ssh_host_ed25519_key')).mode & 0o777, 0o600);
  assert.is(read('etc/ssh/ssh_host_ed25519_key.pub'), 'ssh-ed25519 AAAA host-a\n');
  assert.match(read('boot/grub/grub.cfg'), new RegExp(`root=LABEL=root-${sfx}`));
  assert.match(read('etc/fstab'), new RegExp(`^LABEL=root-${sfx}\\s+/\\s`, 'm'));
  await umount(rootB);

  assert.is(await hashRanges(`${disk}p3`, [[0, 16 << 20]]), srBefore, 'the SR partition bytes are unchanged');
  assert.equal((await readTableFromImage(disk)).existing.find((p) => p.number === 3), tableBefore, 'the SR table entry is unchanged');

  // restore: A comes back onto the root partition
  const rest = await runInstaller('restore', B, writeAnswer('restore.xml', '<restore/>'), [disk]);
  assert.match(rest.console, /XSFORGE-INSTALL-COMPLETE/, logOf(rest));
  assert.match(rest.console, /Restore plan: XenServer 7\.1\.2 \(build 137272c\)/);
  assert.is(await blkLabel(1), `root-${sfx}`);
  const rootR = await mount(`${disk}p1`, join(work, 'mnt-r'));
  assert.is(readFileSync(join(rootR, 'root/notes.txt'), 'utf8'), 'written on A\n');
  assert.is(readFileSync(join(rootR, 'usr/share/xsforge-dom0'), 'utf8'), 'dom0 A\n');
  assert.is(readFileSync(join(rootR, 'etc/xensource-inventory'), 'utf8'), invA);
  assert.not.ok(existsSync(join(rootR, '.xen-backup-partition')), 'the backup markers are not copied into the root');
  assert.not.ok(existsSync(join(rootR, '.xsforge-backup.json')));
  await umount(rootR);
  assert.is(await hashRanges(`${disk}p3`, [[0, 16 << 20]]), srBefore, 'the restore leaves the SR alone');
  // the interactive installer finds both: the installation (A again) and the backup (A); Restore from its action screen
  const tui = await interactiveRestore('restore-tui', B, disk);
  assert.match(tui.actions, new RegExp(`Upgrade XenServer 7\\.1\\.2 on ${disk}`));
  assert.match(tui.actions, new RegExp(`Restore XenServer 7\\.1\\.2 from backup on ${disk}`));
  assert.match(tui.log, /XSFORGE-INSTALL-PLAN disk=\S+ table=gpt boot=bios labels=[a-z]{6} mode=restore/);
  assert.match(tui.log, /XSFORGE-INSTALL-COMPLETE/);
  const rootT = await mount(`${disk}p1`, join(work, 'mnt-t'));
  assert.is(readFileSync(join(rootT, 'root/notes.txt'), 'utf8'), 'written on A\n');
  assert.is(readFileSync(join(rootT, 'etc/xensource-inventory'), 'utf8'), invA);
  await umount(rootT);
  assert.is(await hashRanges(`${disk}p3`, [[0, 16 << 20]]), srBefore, 'the interactive restore leaves the SR alone');
  const calls = readFileSync(join(work, 'grub-install-calls'), 'utf8').trim().split('\n');
  assert.is(calls.length, 4, 'GRUB installed by the fresh install, the upgrade and the two restores');
  if (process.env.SHOW_CONSOLE) console.log(older.console, up.console, rest.console);
  console.log(`  fresh ${fresh.seconds.toFixed(1)} s, refusal ${older.seconds.toFixed(1)} s, upgrade ${up.seconds.toFixed(1)} s, restore ${rest.seconds.toFixed(1)} s`);

});

test('mode="reinstall": a fresh install that keeps the old root in the backup partition, not its settings', async () => {
  const disk = await attachSparse('disk-re', 60e9);
  const fresh = await runInstaller('re-fresh', A, freshAnswer(disk, srcA), [disk]);
  assert.match(fresh.console, /XSFORGE-INSTALL-COMPLETE/, logOf(fresh));
  const oldSfx = /labels=([a-z]{6})/.exec(fresh.console)![1]!;
  const rootA = await mount(`${disk}p1`, join(work, 'mnt-re-a'), false);
  writeFileSync(join(rootA, 'root/notes.txt'), 'written on A\n');
  await umount(rootA);
  const answer = writeAnswer('reinstall.xml', `<installation mode="reinstall" srtype="ext">
  <primary-disk>${disk.replace('/dev/', '')}</primary-disk>
  <root-password type="plaintext">pass B</root-password>
  <source type="url">file://${srcB}</source>
  <admin-interface name="eth0" proto="dhcp"/>
  <hostname>host-b.example.com</hostname>
</installation>`);
  const re = await runInstaller('reinstall', B, answer, [disk]);
  assert.match(re.console, /XSFORGE-INSTALL-COMPLETE/, logOf(re));
  assert.match(re.console, /Reinstall: the old root \S+p1 is kept on \S+p2 \(before-table-write\)/);
  const sfx = /labels=([a-z]{6})/.exec(re.console)![1]!;
  const bk = await mount(`${disk}p2`, join(work, 'mnt-re-bk'));
  assert.is(readFileSync(join(bk, 'root/notes.txt'), 'utf8'), 'written on A\n');
  assert.is(JSON.parse(readFileSync(join(bk, '.xsforge-backup.json'), 'utf8')).product.version, '7.1.2');
  assert.match(readFileSync(join(bk, 'etc/fstab'), 'utf8'), new RegExp(`LABEL=root-${oldSfx}`));
  await umount(bk);
  assert.is((await run(['blkid', '-o', 'value', '-s', 'LABEL', `${disk}p2`])).stdout.trim(), `backup-${sfx}`);
  const rootB = await mount(`${disk}p1`, join(work, 'mnt-re-b'));
  assert.is(readFileSync(join(rootB, 'etc/hostname'), 'utf8'), 'host-b.example.com\n', 'settings are not carried');
  assert.is(readFileSync(join(rootB, 'usr/share/xsforge-dom0'), 'utf8'), 'dom0 B\n');
  await umount(rootB);

  // a reinstall onto a disk without an installation: the product's text, nothing written
  const blank = await attachSparse('blank-re', 60e9);
  const none = await runInstaller('reinstall-none', B, writeAnswer('reinstall-none.xml', readFileSync(answer, 'utf8').replace(/<\?xml[^>]*>\n/, '').replace(disk.replace('/dev/', ''), blank.replace('/dev/', ''))), [blank]);
  assert.ok(none.console.includes(MESSAGES.installationNotFound), logOf(none));
  assert.is(await hashRanges(blank, [[0, 1 << 20]]), createHash('sha256').update(Buffer.alloc(1 << 20)).digest('hex'));
});

test.run();

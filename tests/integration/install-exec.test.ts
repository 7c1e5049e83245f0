// The installer runtime's unattended path, run for real (main.ts under tsx) on
// this host against a loop device backed by a sparse 60 GB file: answer file
// from file://, a tiny fake dom0 root (zstd tar + root.json) from a
// `<source type="url">file:///...` directory. Checked from outside: the GPT (sgdisk -p) against the plan the installer
// printed, file-system labels (blkid), the files written into the root file
// system, scripts' calls. And a failing installation-start script: the disk
// stays blank, the product's error is shown, installation-complete gets 1.
//
// grub-install cannot work here: GRUB 2.06 finds no BIOS drive for a loop
// device's partitions ("cannot find a GRUB drive for /dev/loop0p1. Check your
// device.map", with or without a device.map naming the loop device or its
// backing file). So a stand-in first on PATH records its arguments and copies
// the i386-pc modules, as grub-install would into --boot-directory; the real
// one runs in the QEMU end-to-end installs.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { run } from '../../core/exec.ts';
import { findOnPath } from '../../core/tools.ts';
import { SGDISK_CODE } from '../../disk/layout.ts';
import { sha512Crypt } from '../../installer/runtime/sha512crypt.ts';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const MAIN = join(repo, 'installer', 'runtime', 'main.ts');
const work = mkdtempSync(join(tmpdir(), 'xsf-install-exec-'));
const PRODUCT = { brand: 'XenServer', version: '7.1.2', build_number: '137272c', platform: { name: 'XCP', version: '2.2.0' } };
const PASSWORD = 'Sekr1t pass';
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

async function mountRo(dev: string, dir: string): Promise<void> {
  mkdirSync(dir, { recursive: true });
  await run(['mount', '-o', 'ro', dev, dir]);
  mounts.push(dir);
}

/** A dom0 root as the dom0-rootfs stage ships it: dom0/root.tar.zst + dom0/root.json. */
async function fakeSource(): Promise<string> {
  const tree = join(work, 'dom0-tree');
  for (const d of ['boot', 'etc/chrony/sources.d', 'var/log', 'usr/share/zoneinfo/Europe', 'root', 'tmp']) mkdirSync(join(tree, d), { recursive: true });
  writeFileSync(join(tree, 'boot/xen-4.17-amd64.gz'), 'fake xen\n');
  writeFileSync(join(tree, 'boot/vmlinuz-6.1.0-xsf'), 'fake kernel\n');
  writeFileSync(join(tree, 'boot/initrd.img-6.1.0-xsf'), 'fake initrd\n');
  symlinkSync('xen-4.17-amd64.gz', join(tree, 'boot/xen.gz'));
  symlinkSync('vmlinuz-6.1.0-xsf', join(tree, 'boot/vmlinuz'));
  symlinkSync('initrd.img-6.1.0-xsf', join(tree, 'boot/initrd.img'));
  writeFileSync(join(tree, 'etc/shadow'), 'root:*:19000:0:99999:7:::\ndaemon:*:19000:0:99999:7:::\n', { mode: 0o640 });
  writeFileSync(join(tree, 'etc/hostname'), 'dom0-build\n');
  writeFileSync(join(tree, 'usr/share/zoneinfo/Europe/London'), 'TZif fake\n');
  writeFileSync(join(tree, 'var/log/dom0-build.log'), 'from the image\n');
  const src = join(work, 'source');
  mkdirSync(join(src, 'dom0'), { recursive: true });
  writeFileSync(join(src, '.treeinfo'), '[platform]\nname = XCP\nversion = 2.2.0\n');
  const tarFile = join(work, 'root.tar');
  await run(['tar', '--numeric-owner', '--owner=0', '--group=0', '-C', tree, '-cf', tarFile, '.']);
  await run(['zstd', '-q', '-f', '-3', tarFile, '-o', join(src, 'dom0/root.tar.zst')]);
  const bytes = readFileSync(join(src, 'dom0/root.tar.zst'));
  writeFileSync(join(src, 'dom0/root.json'), JSON.stringify({
    sha256: createHash('sha256').update(bytes).digest('hex'), size: bytes.length, uncompressedSize: statSync(tarFile).size,
    kernelRelease: '6.1.0-xsf', xenVersion: '4.17', packages: [],
  }));
  return src;
}

function script(name: string, body: string): string {
  const path = join(work, name);
  writeFileSync(path, `#!/bin/sh\n${body}\n`);
  chmodSync(path, 0o755);
  return `file://${path}`;
}

function answerFile(name: string, o: { disk: string; source: string; start: string; populated: string; complete: string }): string {
  const path = join(work, name);
  writeFileSync(path, `<?xml version="1.0"?>
<installation srtype="ext">
  <primary-disk>${o.disk.replace('/dev/', '')}</primary-disk>
  <keymap>us</keymap>
  <root-password type="plaintext">${PASSWORD}</root-password>
  <source type="url">file://${o.source}</source>
  <script stage="installation-start" type="url">${o.start}</script>
  <script stage="filesystem-populated" type="url">${o.populated}</script>
  <script stage="installation-complete" type="url">${o.complete}</script>
  <admin-interface name="eth0" proto="static">
    <ipaddr>192.168.7.10</ipaddr><subnet>255.255.255.0</subnet><gateway>192.168.7.1</gateway>
  </admin-interface>
  <name-server>192.168.7.2</name-server>
  <hostname>host1.example.com</hostname>
  <timezone>Europe/London</timezone>
  <ntp-server>ntp1.example.com</ntp-server>
  <network-backend>bridge</network-backend>
</installation>
`);
  return path;
}

/** The grub-install stand-in: records argv, copies the modules like grub-install --boot-directory. */
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

interface RuntimeRun { console: string; stdout: string; atexit: string; logDir: string; target: string }

async function runInstaller(name: string, answer: string, disk: string): Promise<RuntimeRun> {
  const dir = join(work, name);
  const dev = join(dir, 'dev');
  mkdirSync(dev, { recursive: true });
  writeFileSync(join(dev, 'ttyS0'), '');
  writeFileSync(join(dir, 'product.json'), JSON.stringify(PRODUCT));
  const logDir = join(dir, 'log');
  const target = join(dir, 'root');
  const r = await run([process.execPath, '--import', 'tsx', MAIN,
    '--cmdline', `console=ttyS0,115200n8 install answerfile=file://${answer} atexit=poweroff`,
    '--dev-root', dev, '--product', join(dir, 'product.json'), '--atexit-file', join(dir, 'atexit'),
    '--extra-disk', disk, '--boot-mode', 'bios', '--target-root', target, '--work-dir', join(dir, 'work'),
    '--log-file', join(logDir, 'install-log'), '--stdout'], { cwd: repo, timeoutMs: 600_000, env: { PATH: `${shimDir}:${process.env.PATH}` } });
  return { console: readFileSync(join(dev, 'ttyS0'), 'utf8'), stdout: r.stdout, atexit: readFileSync(join(dir, 'atexit'), 'utf8').trim(), logDir, target };
}

let source: string;
let shimDir: string;
test.before(async () => {
  source = await fakeSource();
  shimDir = grubInstallShim();
});

test.after(async () => {
  for (const m of mounts.reverse()) await run(['umount', m]).catch(() => undefined);
  for (const l of loops) await run(['losetup', '-d', l]).catch(() => undefined);
  rmSync(work, { recursive: true, force: true });
});

test('unattended BIOS install onto a 60 GB loop device: table = plan, labels, files, GRUB, scripts', async () => {
  const disk = await attachSparse('disk-ok', 60e9);
  const calls = join(work, 'ok-calls');
  const answer = answerFile('ok.xml', {
    disk, source,
    start: script('start-ok.sh', `echo "start $XS_STAGE $#" >> ${calls}`),
    populated: script('populated.sh', `echo "populated $XS_STAGE $1" >> ${calls}; test -f "$1/etc/xensource-inventory" && touch "$1/etc/populated-was-here"`),
    complete: script('complete-ok.sh', `echo "complete $XS_STAGE $1" >> ${calls}`),
  });
  const t0 = Date.now();
  const r = await runInstaller('ok', answer, disk);
  const seconds = (Date.now() - t0) / 1000;
  const out = r.console;
  assert.match(out, /XSFORGE-INSTALL-PLAN disk=\/dev\/loop\d+ table=gpt boot=bios labels=[a-z]{6}/, out);
  assert.match(out, /XSFORGE-INSTALL-COMPLETE/, `${out}\n--- log:\n${readFileSync(join(r.logDir, 'install-log'), 'utf8').slice(-4000)}`);
  assert.not.match(out, /XSFORGE-INSTALL-FAILED/);
  assert.is(r.atexit, 'poweroff');
  assert.ok(out.indexOf('XSFORGE-INSTALL-PLAN') < out.indexOf('Writing the GPT partition table'), 'the plan is printed before the disk is touched');
  const log = readFileSync(join(r.logDir, 'install-log'), 'utf8');
  assert.not.ok(out.includes(PASSWORD) || log.includes(PASSWORD) || r.stdout.includes(PASSWORD), 'the plaintext password is never logged');

  const plan = JSON.parse(readFileSync(join(r.logDir, 'install-plan.json'), 'utf8'));
  const sfx: string = plan.labelSuffix;

  // the table on the device, sector for sector as planned
  await run(['sgdisk', '-v', disk]).then((v) => assert.match(v.stdout, /No problems found/));
  const printed = (await run(['sgdisk', '-p', disk])).stdout;
  const rows = printed.split('\n').map((l) => /^\s*(\d+)\s+(\d+)\s+(\d+)\s+[\d.]+\s+\S+\s+([0-9A-F]{4})/.exec(l)).filter(Boolean)
    .map((m) => ({ number: Number(m![1]), start: Number(m![2]), end: Number(m![3]), code: m![4] }));
  const planned = (plan.layout.partitions as { number: number; firstSector: number; lastSector: number; typeGuid: string }[])
    .map((p) => ({ number: p.number, start: p.firstSector, end: p.lastSector, code: SGDISK_CODE[p.typeGuid] }));
  const byNumber = <T extends { number: number }>(a: T[]) => [...a].sort((x, y) => x.number - y.number);
  assert.equal(byNumber(rows), byNumber(planned), printed);
  assert.equal([...rows].sort((x, y) => x.start - y.start).map((x) => x.number), [5, 2, 1, 4, 6, 3], 'new GPT layout, on-disk order 5 2 1 4 6 3');
  assert.is(rows.find((x) => x.number === 1)!.start, 46139392);

  // labels
  const label = async (n: number) => (await run(['blkid', '-o', 'value', '-s', 'LABEL', `${disk}p${n}`])).stdout.trim();
  const fstype = async (n: number) => (await run(['blkid', '-o', 'value', '-s', 'TYPE', `${disk}p${n}`])).stdout.trim();
  assert.is(await label(1), `root-${sfx}`);
  assert.is(await fstype(1), 'ext3');
  assert.is(await label(5), `logs-${sfx}`);
  assert.is(await label(6), `swap-${sfx}`);
  assert.is(await fstype(6), 'swap');

  // BIOS GRUB: i386-pc onto the whole disk, modules under the target's /boot
  assert.equal(readFileSync(join(work, 'grub-install-calls'), 'utf8').trim().split('\n'),
    [`--target=i386-pc --boot-directory=${r.target}/boot --no-floppy ${disk}`]);

  // the installed root
  const root = join(work, 'mnt-root');
  await mountRo(`${disk}p1`, root);
  const read = (p: string) => readFileSync(join(root, p), 'utf8');
  assert.is(read('etc/hostname'), 'host1.example.com\n');
  assert.match(read('etc/hosts'), /^127\.0\.1\.1\thost1\.example\.com host1$/m);
  assert.is(read('etc/resolv.conf'), '# written by the installer\nsearch example.com\nnameserver 192.168.7.2\n');
  assert.is(read('etc/timezone'), 'Europe/London\n');
  assert.is(readlinkSync(join(root, 'etc/localtime')), '/usr/share/zoneinfo/Europe/London');
  assert.is(read('etc/chrony/sources.d/xsforge.sources'), 'server ntp1.example.com iburst\n');
  const fstab = read('etc/fstab');
  assert.match(fstab, new RegExp(`^LABEL=root-${sfx}\\s+/\\s+ext3\\s+defaults\\s+1\\s+1$`, 'm'));
  assert.match(fstab, new RegExp(`^LABEL=logs-${sfx}\\s+/var/log\\s+ext3`, 'm'));
  assert.match(fstab, new RegExp(`^LABEL=swap-${sfx}\\s+none\\s+swap`, 'm'));
  assert.not.match(fstab, /\/boot\/efi/, 'no ESP on a BIOS install');
  const inv = read('etc/xensource-inventory');
  assert.match(inv, /^PRODUCT_BRAND='XenServer'$/m);
  assert.match(inv, /^BUILD_NUMBER='137272c'$/m);
  assert.match(inv, new RegExp(`^PRIMARY_DISK='${disk}'$`, 'm'));
  assert.match(inv, new RegExp(`^BACKUP_PARTITION='${disk}p2'$`, 'm'));
  assert.match(inv, /^PARTITION_LAYOUT='ROOT,BACKUP,LOG,BOOT,SWAP,SR'$/m);
  assert.match(inv, new RegExp(`^INSTALLATION_UUID='${plan.uuids.installation}'$`, 'm'));
  assert.match(inv, /^MANAGEMENT_INTERFACE='xenbr0'$/m);
  assert.is(read('etc/xensource/network.conf'), 'bridge\n');
  assert.is(read('etc/firstboot.d/data/management.conf'),
    "LABEL='eth0'\nMODE='static'\nBRIDGE='xenbr0'\nIP='192.168.7.10'\nNETMASK='255.255.255.0'\nGATEWAY='192.168.7.1'\nDNS1='192.168.7.2'\nDOMAIN='example.com'\n");
  assert.match(read('etc/firstboot.d/data/default-storage.conf'), new RegExp(`^XSPARTITIONS='${disk}p3'\nXSTYPE='ext'\n`));
  assert.is(read('etc/firstboot.d/state/pending'), '');
  const shadowRoot = read('etc/shadow').split('\n')[0]!.split(':');
  assert.match(shadowRoot[1]!, /^\$6\$[./0-9A-Za-z]{16}\$[./0-9A-Za-z]{86}$/);
  const salt = shadowRoot[1]!.split('$')[2]!;
  assert.is(shadowRoot[1], sha512Crypt(PASSWORD, salt));
  assert.is((await run(['openssl', 'passwd', '-6', '-salt', salt, '-stdin'], { input: PASSWORD })).stdout.trim(), shadowRoot[1], 'openssl agrees with our crypt');
  assert.match(read('etc/shadow'), /^daemon:\*:19000/m, 'other accounts are kept');
  assert.is(statSync(join(root, 'etc/shadow')).mode & 0o777, 0o640);
  const grub = read('boot/grub/grub.cfg');
  assert.match(grub, new RegExp(`multiboot2 /boot/xen.gz dom0_mem=1024M,max:1024M dom0_max_vcpus=1-2 com1=115200,8n1 console=com1,vga`));
  assert.match(grub, new RegExp(`module2 /boot/vmlinuz root=LABEL=root-${sfx} ro net.ifnames=0 console=tty0 console=hvc0`));
  assert.ok(existsSync(join(root, 'boot/grub/i386-pc/normal.mod')), 'grub-install put its modules under /boot/grub');
  assert.ok(existsSync(join(root, 'boot/xen-4.17-amd64.gz')), 'the dom0 root was laid down');
  assert.ok(existsSync(join(root, 'etc/populated-was-here')), 'filesystem-populated ran with the mounted root, after the files were written');

  // /var/log is the logs partition: the installer log and the image's own var/log are there
  const logs = join(work, 'mnt-logs');
  await mountRo(`${disk}p5`, logs);
  assert.match(readFileSync(join(logs, 'installer/install-log'), 'utf8'), /Installing the control domain/);
  assert.ok(existsSync(join(logs, 'installer/install-plan.json')));
  assert.is(readFileSync(join(logs, 'dom0-build.log'), 'utf8'), 'from the image\n');

  const callLines = readFileSync(calls, 'utf8').trim().split('\n');
  assert.equal(callLines, ['start installation-start 0', `populated filesystem-populated ${r.target}`, 'complete installation-complete 0']);
  assert.ok(readFileSync('/proc/mounts', 'utf8').split('\n').every((l) => !l.includes(r.target)), 'the installer unmounted the target');
  console.log(`  unattended install onto ${disk}: ${seconds.toFixed(1)} s`);
});

test('a failing installation-start script stops the install before the disk is touched', async () => {
  const disk = await attachSparse('disk-fail', 60e9);
  const calls = join(work, 'fail-calls');
  const answer = answerFile('fail.xml', {
    disk, source,
    start: script('start-fail.sh', `echo "start $XS_STAGE" >> ${calls}; exit 3`),
    populated: script('populated-fail.sh', `echo "populated" >> ${calls}`),
    complete: script('complete-fail.sh', `echo "complete $XS_STAGE $1" >> ${calls}`),
  });
  const r = await runInstaller('fail', answer, disk);
  const out = r.console;
  assert.match(out, /An unrecoverable error has occurred\. {2}The error was:\n\nScript file:\/\/\S+start-fail\.sh \(installation-start\) failed with exit status 3\n\nPlease refer to your user guide/, out);
  assert.match(out, /XSFORGE-INSTALL-FAILED reason=Script file:\/\/\S+start-fail\.sh \(installation-start\) failed with exit status 3/);
  assert.not.match(out, /XSFORGE-INSTALL-COMPLETE/);
  assert.is(r.atexit, 'poweroff');
  assert.equal(readFileSync(calls, 'utf8').trim().split('\n'), ['start installation-start', 'complete installation-complete 1']);
  const head = Buffer.alloc(1024 * 1024);
  const fh = await import('node:fs/promises').then((f) => f.open(disk, 'r'));
  await fh.read(head, 0, head.length, 0);
  await fh.close();
  assert.ok(head.every((b) => b === 0), 'the first MiB of the disk is still blank');
  await run(['sgdisk', '-p', disk]).then(
    (p) => assert.not.match(p.stdout, /^\s+1\s+\d+/m),
    () => undefined, // sgdisk may refuse a disk without a table: blank either way
  );
});

test('a damaged dom0 image is caught by its sha256 and reported with the product\'s error', async () => {
  const disk = await attachSparse('disk-bad', 60e9);
  const bad = join(work, 'source-bad');
  mkdirSync(join(bad, 'dom0'), { recursive: true });
  const good = readFileSync(join(source, 'dom0/root.tar.zst'));
  writeFileSync(join(bad, 'dom0/root.tar.zst'), good);
  const manifest = JSON.parse(readFileSync(join(source, 'dom0/root.json'), 'utf8'));
  writeFileSync(join(bad, 'dom0/root.json'), JSON.stringify({ ...manifest, sha256: '0'.repeat(64) }));
  const calls = join(work, 'bad-calls');
  const answer = answerFile('bad.xml', {
    disk, source: bad,
    start: script('start-bad.sh', 'true'),
    populated: script('populated-bad.sh', `echo populated >> ${calls}`),
    complete: script('complete-bad.sh', `echo "complete $1" >> ${calls}`),
  });
  const r = await runInstaller('bad', answer, disk);
  assert.match(r.console, /An unrecoverable error has occurred\. {2}The error was:\n\ndom0\/root\.tar\.zst from \S+ is damaged: \d+ bytes with sha256 [0-9a-f]{64}, but root\.json says/, r.console);
  assert.match(r.console, /XSFORGE-INSTALL-FAILED reason=dom0\/root\.tar\.zst/);
  assert.equal(readFileSync(calls, 'utf8').trim().split('\n'), ['complete 1']);
  assert.ok(readFileSync('/proc/mounts', 'utf8').split('\n').every((l) => !l.includes(r.target)), 'the target is unmounted after a failure');
});

if (!findOnPath('losetup') || !findOnPath('grub-install')) {
  console.log('install-exec: needs losetup and grub-install (grub2-common, grub-pc-bin)');
}
test.run();

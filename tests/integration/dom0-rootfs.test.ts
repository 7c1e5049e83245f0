// The dom0-rootfs stage built through the engine with real mmdebstrap, tar and
// zstd: the archive's contents (Xen, kernel, initrd with storage drivers, boot
// links, first boot, SSH, LVM, GRUB unconfigured), what must not be in it (SSH
// host keys, build-host files), and reproducibility (a second, independent
// build gives the same bytes).
// Build A uses the default cache root, build B a second persistent cache root
// beside it (same downloads): reruns with unchanged inputs are cached and fast;
// when an input changes both rebuild, which is when reproducibility can break.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '../../core/exec.ts';
import { sha256File } from '../../core/hash.ts';
import { FIRSTBOOT, OVERLAY_DIR, ROOT_TAR } from '../../dom0-rootfs/rootfs.ts';
import { buildDom0, DOM0_TEST_EPOCH as EPOCH, type BuiltDom0 } from '../lib/dom0.ts';

const work = mkdtempSync(join(tmpdir(), 'xsf-dom0-'));
const tree = join(work, 'root');

let a: BuiltDom0;
let list: string[];
let verbose: string[];

test.before(async () => {
  a = await buildDom0();
  // byte-for-byte reproducibility of this archive is checked with every other
  // artifact by tests/integration/reproducible.test.ts (two clean builds)
  console.error(`dom0-rootfs: ${a.cached ? 'cached' : 'built'} in ${a.seconds.toFixed(1)} s; ${a.info.size} bytes (${a.info.uncompressedSize} as tar)`);
  const archive = a.archive;
  list = (await run(['tar', '--zstd', '-t', '-f', archive])).stdout.split('\n').filter(Boolean);
  verbose = (await run(['tar', '--zstd', '-t', '-v', '--numeric-owner', '--full-time', '-f', archive], { env: { TZ: 'UTC' } })).stdout.split('\n').filter(Boolean);
  mkdirSync(tree);
  await run(['tar', '--zstd', '-x', '--numeric-owner', '-f', archive, '-C', tree]);
});
test.after(() => rmSync(work, { recursive: true, force: true }));

test('dom0-root.json describes the archive: hash, sizes, kernel, Xen, packages', async () => {
  const archive = join(a.dir, ROOT_TAR);
  assert.is(a.info.sha256, await sha256File(archive));
  assert.is(a.info.size, statSync(archive).size);
  assert.equal([...readFileSync(archive).subarray(0, 4)], [0x28, 0xb5, 0x2f, 0xfd], 'zstd frame magic');
  assert.ok(a.info.size > 100e6 && a.info.size < 600e6, `size ${a.info.size}`);
  assert.ok(a.info.uncompressedSize > 400e6 && a.info.uncompressedSize < 1500e6, `uncompressed ${a.info.uncompressedSize}`);
  assert.match(a.info.kernelRelease, /^\d+\.\d+\.\d+-\d+-amd64$/);
  assert.match(a.info.xenVersion, /^4\.17\.\d+$/);
  const names = a.info.packages.map((p) => p.name);
  for (const n of ['systemd-sysv', 'udev', 'initramfs-tools', 'xen-hypervisor-4.17-amd64', 'xen-utils-4.17', 'lvm2', 'e2fsprogs', 'dosfstools',
    'openssh-server', 'iproute2', 'chrony', 'grub-pc-bin', 'grub-efi-amd64-bin', 'grub2-common', 'efibootmgr', 'ca-certificates', 'tzdata', 'kmod', `linux-image-${a.info.kernelRelease}`]) {
    assert.ok(names.includes(n), `package ${n}`);
  }
  // GRUB's binaries only: the packages that configure it (and would run update-grub) stay out
  for (const n of ['grub-pc', 'grub-efi-amd64', 'usrmerge']) assert.not.ok(names.includes(n), `no ${n}`);
  assert.equal(names, [...names].sort());
});

test('archive: boot files, first boot, SSH, LVM, GRUB; sorted, numeric owners, mtimes clamped', () => {
  const rel = a.info.kernelRelease;
  for (const p of ['./boot/xen.gz', './boot/xen-4.17-amd64.gz', './boot/vmlinuz', `./boot/vmlinuz-${rel}`, './boot/initrd.img', `./boot/initrd.img-${rel}`,
    `.${FIRSTBOOT.script}`, './usr/lib/systemd/system/xsforge-firstboot.service', './usr/lib/systemd/system/xsforge-ssh-hostkeys.service',
    './usr/sbin/sshd', './usr/bin/ssh-keygen', './usr/sbin/pvcreate', './usr/sbin/vgcreate', './usr/sbin/lvcreate', './usr/sbin/mkfs.ext4', './usr/sbin/wipefs',
    './usr/sbin/grub-install', './usr/lib/grub/i386-pc/boot.img', './usr/lib/grub/x86_64-efi/multiboot2.mod', './usr/bin/efibootmgr',
    './usr/sbin/xl', './etc/xsforge-release', './etc/issue', './etc/machine-id', './var/log/', './usr/share/zoneinfo/Europe/London']) {
    assert.ok(list.includes(p), `tar lists ${p}`);
  }
  // the installer writes grub.cfg and fstab entries; the image has none of its own
  assert.not.ok(list.some((p) => p.startsWith('./boot/grub/')), 'no /boot/grub');
  assert.not.ok(list.some((p) => /^\.\/etc\/ssh\/ssh_host_/.test(p)), 'no SSH host keys');
  assert.not.ok(list.some((p) => p.startsWith('./var/log/') && !p.endsWith('/')), 'no log files');
  assert.not.ok(list.some((p) => p.startsWith('./usr/share/man/')), 'no manual pages');
  assert.ok(list.includes('./usr/share/doc/openssh-client/copyright'), 'licences kept');
  // GNU tar --sort=name: entries of a directory in byte order
  assert.ok(list.indexOf('./boot/initrd.img') < list.indexOf('./boot/vmlinuz') && list.indexOf('./bin') < list.indexOf('./boot/'));
  const limit = new Date(EPOCH * 1000).toISOString().replace('T', ' ').slice(0, 19);
  for (const line of verbose) {
    const m = /^(\S+) (\d+)\/(\d+) +[\d,]+ (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) (.*)$/.exec(line);
    assert.ok(m, `verbose line ${line}`);
    assert.ok(m![4] <= limit, `${m![5]} mtime ${m![4]} after ${limit}`);
    if (m![5] === `.${FIRSTBOOT.script}`) assert.equal([m![1], m![2], m![3]], ['-rwxr-xr-x', '0', '0']);
  }
});

test('tree: relative boot links resolve; identity files; machine-id empty; host files replaced', () => {
  const rel = a.info.kernelRelease;
  for (const [link, target] of [['xen.gz', 'xen-4.17-amd64.gz'], ['vmlinuz', `vmlinuz-${rel}`], ['initrd.img', `initrd.img-${rel}`]]) {
    const p = join(tree, 'boot', link);
    assert.ok(lstatSync(p).isSymbolicLink(), `${link} is a link`);
    assert.is(readlinkSync(p), target);
    assert.ok(statSync(p).isFile() && statSync(p).size > 1e6, `${link} resolves to a real file`);
  }
  assert.is(readFileSync(join(tree, 'etc/machine-id'), 'utf8'), '');
  assert.is(readFileSync(join(tree, 'etc/hostname'), 'utf8'), 'localhost\n');
  assert.is(readFileSync(join(tree, 'etc/resolv.conf'), 'utf8'), '');
  assert.not.match(readFileSync(join(tree, 'etc/fstab'), 'utf8'), /^[^#]/m);
  assert.is(readFileSync(join(tree, 'etc/xsforge-release'), 'utf8'),
    "PRODUCT_BRAND='XenServer'\nPRODUCT_VERSION='7.1.2'\nBUILD_NUMBER='137272c'\nPLATFORM_NAME='XCP'\nPLATFORM_VERSION='2.2.0'\n");
  assert.match(readFileSync(join(tree, 'etc/issue'), 'utf8'), /^XenServer 7\.1\.2 \(build 137272c\)/);
  assert.is(readFileSync(join(tree, FIRSTBOOT.script), 'utf8'), readFileSync(join(OVERLAY_DIR, FIRSTBOOT.script), 'utf8'));
  assert.match(readFileSync(join(tree, 'etc/ssh/sshd_config.d/xsforge.conf'), 'utf8'), /^PermitRootLogin yes$/m);
  // a package whose doc directory is a link to another's keeps the link (and so its licence)
  assert.ok(existsSync(join(tree, 'usr/share/doc/openssh-server/copyright')), 'openssh-server licence via its doc link');
  assert.not.ok(existsSync(join(tree, 'etc/firstboot.d/state/pending')), 'the installer, not the image, arms first boot');
  // the root's shadow entry is locked, dated from SOURCE_DATE_EPOCH (the installer sets the hash)
  assert.match(readFileSync(join(tree, 'etc/shadow'), 'utf8'), new RegExp(`^root:\\*:${Math.floor(EPOCH / 86400)}:`, 'm'));
});

test('units: first boot, host keys and networkd enabled; apt timers off; systemd-analyze verify passes', async () => {
  const sys = join(tree, 'etc/systemd/system');
  for (const l of ['multi-user.target.wants/xsforge-firstboot.service', 'ssh.service.wants/xsforge-ssh-hostkeys.service',
    'multi-user.target.wants/systemd-networkd.service', 'multi-user.target.wants/ssh.service']) {
    assert.ok(lstatSync(join(sys, l)).isSymbolicLink(), l);
  }
  assert.not.ok(existsSync(join(sys, 'timers.target.wants/apt-daily.timer')));
  await run(['chroot', tree, 'systemd-analyze', 'verify', '--man=no',
    '/usr/lib/systemd/system/xsforge-firstboot.service', '/usr/lib/systemd/system/xsforge-ssh-hostkeys.service']);
  const unit = readFileSync(join(tree, 'usr/lib/systemd/system/xsforge-firstboot.service'), 'utf8');
  assert.match(unit, new RegExp(`^ConditionPathExists=${FIRSTBOOT.pendingFlag}$`, 'm'));
});

test('getty: systemd makes serial-getty@hvc0 when /dev/hvc0 exists (Xen dom0), not otherwise', async () => {
  const gen = '/usr/lib/systemd/system-generators/systemd-getty-generator';
  const out = (name: string) => { rmSync(join(tree, 'tmp', name), { recursive: true, force: true }); mkdirSync(join(tree, 'tmp', name)); return `/tmp/${name}`; };
  const without = out('gen-plain');
  await run(['chroot', tree, gen, without, without, without]);
  assert.not.ok(existsSync(join(tree, without, 'getty.target.wants/serial-getty@hvc0.service')));
  writeFileSync(join(tree, 'dev/hvc0'), '');
  const withHvc = out('gen-xen');
  await run(['chroot', tree, gen, withHvc, withHvc, withHvc]);
  rmSync(join(tree, 'dev/hvc0'));
  assert.ok(lstatSync(join(tree, withHvc, 'getty.target.wants/serial-getty@hvc0.service')).isSymbolicLink());
});

test('initrd: storage and file-system modules to mount root=LABEL= on SATA, virtio, NVMe, Xen disks', async () => {
  const rel = a.info.kernelRelease;
  const files = (await run(['chroot', tree, 'lsinitramfs', '/boot/initrd.img'])).stdout.split('\n');
  for (const m of ['kernel/fs/ext4/ext4.ko', 'kernel/drivers/ata/ahci.ko', 'kernel/drivers/block/virtio_blk.ko', 'kernel/drivers/scsi/virtio_scsi.ko',
    'kernel/drivers/nvme/host/nvme.ko', 'kernel/drivers/block/xen-blkfront.ko', 'kernel/drivers/virtio/virtio_pci.ko', 'kernel/drivers/scsi/sd_mod.ko']) {
    assert.ok(files.includes(`usr/lib/modules/${rel}/${m}`), m);
  }
  assert.ok(files.includes('usr/sbin/blkid') || files.includes('usr/bin/blkid') || files.some((f) => f.endsWith('/udev/rules.d/60-persistent-storage.rules')), 'LABEL lookup support');
  // the build host's swap must not become the resume device
  assert.not.ok(files.some((f) => f.includes('zz-resume-auto')));
});

test.run();

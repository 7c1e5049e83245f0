// The test guest for the test-mini recipe: `xsforge test-guest` builds it (the
// kernel stage is the ISO build's), a rerun takes it from the cache and a forced
// rebuild gives the same bytes; the initramfs holds what /init needs; and it
// really boots under QEMU (TCG) and reports its disk, lease and ping, then
// powers off, or says FAILED and stays up.
//
// The kernel is not given with -kernel: the testbed gives every VM a boot device
// with bootindex 0, which QEMU's -kernel already claims for its linuxboot ROM
// ("The bootindex 0 has already been used"). It comes over QEMU's TFTP instead:
// the virtio NIC's iPXE ROM runs a three-line script that loads vmlinuz and
// initrd.img with console=ttyS0, so the guest still boots them without a boot
// loader of its own, on the virtio NIC and disk the plain-QEMU check is about.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { createHash } from 'node:crypto';
import { REPO_ROOT } from '../../cli/shared.ts';
import { TEST_GUEST_OUT } from '../../cli/commands/test-guest.ts';
import { GUEST_BANNER, GUEST_PATTERNS, parseGuestConsole } from '../../guest/banners.ts';
import { GUEST_APPLETS, GUEST_PATHS, guestInitScript, guestUdhcpcScript } from '../../guest/init.ts';
import { TEST_GUEST_MODULES } from '../../guest/modules.ts';
import { S_IFCHR, S_IFLNK, S_IFMT, S_IFREG, readNewc } from '../../installer/cpio.ts';
import { moduleName } from '../../installer/kmod.ts';
import { withVm, type VmOptions } from '../../testbed/qemu.ts';
import { buildTestGuest, type TestGuestFiles } from '../lib/test-guest.ts';

const RECIPE = join(REPO_ROOT, 'recipes', 'test-mini.yaml');
// an odd size, so a right answer is not a default
const DISK_BYTES = 12 * 1024 * 1024 + 64 * 1024;

let work = '';
let out = '';
let result: TestGuestFiles;
const timings: string[] = [];

function sha256(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

const build = (extra: string[] = []) =>
  buildTestGuest(work, { recipe: RECIPE, out, extra: ['--disk', 'phy:/dev/VG_XenStorage-test/guest', ...extra] });

/** A TFTP root whose iPXE script boots the guest with `append`. */
function tftpRoot(name: string, append: string): string {
  const dir = join(work, name);
  mkdirSync(dir, { recursive: true });
  copyFileSync(result.kernel, join(dir, 'vmlinuz'));
  copyFileSync(result.initrd, join(dir, 'initrd.img'));
  writeFileSync(join(dir, 'boot.ipxe'), `#!ipxe\nkernel vmlinuz ${append}\ninitrd initrd.img\nboot\n`);
  return dir;
}

/**
 * hostAccess turns slirp's restrict=on off: restricted, its DHCP offers no router
 * (the second boot relies on that). The ping needs no host ICMP socket either
 * way: slirp answers an echo to its own address, 10.0.2.2, itself (icmp_reflect),
 * whatever net.ipv4.ping_group_range says; that sysctl matters only for echoes
 * it forwards to other hosts.
 */
function vmOptions(name: string, hostAccess: boolean): VmOptions {
  const disk = join(work, `${name}.raw`);
  writeFileSync(disk, '');
  truncateSync(disk, DISK_BYTES); // sparse
  return {
    netboot: { tftpRoot: tftpRoot(`tftp-${name}`, 'console=ttyS0'), bootfile: 'boot.ipxe', nic: 'virtio-net-pci', hostAccess },
    extraDisks: [{ path: disk, writable: true }],
    diskBus: 'virtio',
    memoryMiB: 256,
    cpus: 1,
    serialLog: join(work, `${name}.serial.log`),
  };
}

test.before(() => {
  work = mkdtempSync(join(tmpdir(), 'xsforge-test-guest-'));
  out = join(work, 'out');
});

test.after(() => {
  rmSync(work, { recursive: true, force: true });
  process.stdout.write(`test-guest timings: ${timings.join(', ')}\n`);
});

test('xsforge test-guest: builds for test-mini, a rerun is cached, a forced rebuild gives the same bytes', async () => {
  let t0 = Date.now();
  result = await build();
  timings.push(`first build ${((Date.now() - t0) / 1000).toFixed(1)} s${result.stageMs !== undefined ? ` (stage ran ${(result.stageMs / 1000).toFixed(1)} s)` : ' (stage cached)'}`);
  for (const f of Object.values(TEST_GUEST_OUT)) assert.ok(existsSync(join(out, f)), f);
  assert.is(result.kernel, join(out, TEST_GUEST_OUT.kernel));
  assert.match(result.kernelRelease, /^\d+\.\d+\.\d+-\d+-amd64$/);
  assert.ok(Object.keys(result.packages).some((p) => p.startsWith('linux-image-')));
  assert.ok(result.packages['busybox-static']);
  const xl = readFileSync(result.xlConfig, 'utf8');
  assert.ok(xl.includes(`kernel = "${join(out, 'vmlinuz')}"`));
  assert.ok(xl.includes(`ramdisk = "${join(out, 'initrd.img')}"`));
  assert.ok(xl.includes("disk = [ 'phy:/dev/VG_XenStorage-test/guest,xvda,w' ]"));
  assert.ok(readFileSync(result.libvirtXml, 'utf8').includes("<source dev='/dev/VG_XenStorage-test/guest'/>"));

  t0 = Date.now();
  const again = await build();
  timings.push(`warm rerun ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  assert.is(again.stage.cached, true);
  assert.is(again.stage.key, result.stage.key);

  const before = sha256(result.initrd);
  t0 = Date.now();
  const forced = await build(['--force']);
  timings.push(`forced rebuild ${((Date.now() - t0) / 1000).toFixed(1)} s (stage ran ${((forced.stageMs ?? 0) / 1000).toFixed(1)} s)`);
  assert.is(forced.stage.cached, false);
  assert.is(sha256(result.initrd), before, 'same inputs, same initrd.img');
});

test('the initramfs: static busybox and its applet links, /init and the udhcpc hook as generated, the modules in load order, /dev/console', () => {
  const entries = readNewc(gunzipSync(readFileSync(result.initrd)));
  const byName = new Map(entries.map((e) => [e.name, e]));
  const file = (n: string) => {
    const e = byName.get(n);
    assert.ok(e, `${n} is in the initramfs`);
    assert.is(e!.mode & S_IFMT, S_IFREG, `${n} is a file`);
    return e!;
  };
  const busybox = file(GUEST_PATHS.busybox);
  assert.is(busybox.mode & 0o777, 0o755);
  assert.is(busybox.data.subarray(0, 4).toString('latin1'), '\x7fELF');
  // statically linked: no PT_INTERP, so no /lib64/ld-linux in the image
  assert.not.ok(busybox.data.includes(Buffer.from('/lib64/ld-linux-x86-64.so.2')));
  for (const a of GUEST_APPLETS) {
    const l = byName.get(`bin/${a}`);
    assert.ok(l && (l.mode & S_IFMT) === S_IFLNK && l.data.toString() === 'busybox', `bin/${a} -> busybox`);
  }
  const init = file(GUEST_PATHS.init);
  assert.is(init.mode & 0o777, 0o755);
  assert.is(init.data.toString(), guestInitScript());
  assert.is(file(GUEST_PATHS.udhcpcScript).data.toString(), guestUdhcpcScript());
  const console = byName.get('dev/console');
  assert.ok(console && (console.mode & S_IFMT) === S_IFCHR && console.rdevMajor === 5 && console.rdevMinor === 1, 'dev/console 5:1');
  for (const d of ['proc', 'sys', 'run', 'tmp']) assert.ok(byName.has(d), d);

  const order = file(GUEST_PATHS.moduleList).data.toString().trim().split('\n');
  const names = order.map(moduleName);
  for (const m of TEST_GUEST_MODULES) assert.ok(names.includes(m), `${m} in the load list`);
  // dependencies before their users
  assert.ok(names.indexOf('virtio') < names.indexOf('virtio_pci'));
  assert.ok(names.indexOf('virtio_ring') < names.indexOf('virtio_blk'));
  assert.ok(names.indexOf('failover') < names.indexOf('net_failover') && names.indexOf('net_failover') < names.indexOf('virtio_net'));
  for (const p of order) {
    assert.ok(p.endsWith('.ko'), `${p}: plain .ko for busybox insmod`);
    const ko = file(`lib/modules/${result.kernelRelease}/${p}`);
    assert.is(ko.data.subarray(0, 4).toString('latin1'), '\x7fELF', p);
  }
  assert.equal(result.modules, order);
  // nothing else of the kernel's module tree
  assert.is(entries.filter((e) => e.name.endsWith('.ko')).length, order.length);
  timings.push(`initrd.img ${statSync(result.initrd).size} bytes, ${entries.length} entries`);
});

test('boots under QEMU (TCG, virtio NIC and disk): UP, DISK vda with its size, LEASE 10.0.2.15 via 10.0.2.2, PING ok, DONE, and QEMU exits by itself', async () => {
  const opts = vmOptions('boot', true);
  await withVm(opts, async (vm) => {
    const t0 = Date.now();
    await vm.waitFor(/Run \/init as init process/, 240_000);
    const tInit = Date.now() - t0;
    await vm.waitFor(GUEST_PATTERNS.up, 60_000);
    await vm.waitFor(GUEST_PATTERNS.end, 120_000);
    const tEnd = Date.now() - t0;
    const status = await vm.waitExit(60_000);
    const tExit = Date.now() - t0;
    const report = parseGuestConsole(vm.serialText());
    assert.is(report.failed, undefined, `FAILED step=${report.failed}; serial log ${opts.serialLog}`);
    assert.is(report.kernel, result.kernelRelease);
    assert.equal(report.modules?.failed.sort(), ['xen-blkfront', 'xen-netfront'], 'only the Xen front ends refuse to load outside Xen');
    assert.equal(report.disk, { dev: 'vda', bytes: DISK_BYTES });
    assert.equal(report.lease, { ip: '10.0.2.15', router: '10.0.2.2' });
    assert.equal(report.ping, { ok: true, gateway: '10.0.2.2' });
    assert.ok(report.done);
    assert.is(status, 0, 'QEMU exits by itself (the guest powered off)');
    // the same report at the start of its disk, for supervisors without its console
    const head = readFileSync(join(work, 'boot.raw')).subarray(0, 4096).toString('latin1').replace(/\0+$/, '');
    const onDisk = parseGuestConsole(head);
    assert.ok(onDisk.done, head);
    assert.equal(onDisk.lease, report.lease);
    assert.equal(onDisk.ping, report.ping);
    timings.push(`QEMU boot: /init at ${(tInit / 1000).toFixed(1)} s, DONE at ${(tEnd / 1000).toFixed(1)} s, QEMU gone at ${(tExit / 1000).toFixed(1)} s`);
  });
});

test('a DHCP offer without a router (QEMU restrict=on): FAILED step=dhcp, and the guest stays up', async () => {
  const opts = vmOptions('norouter', false);
  await withVm(opts, async (vm) => {
    const m = await vm.waitFor(GUEST_PATTERNS.failed, 240_000);
    assert.is(m[1], 'dhcp');
    assert.ok(vm.serialText().includes(`${GUEST_BANNER.lease} ip=10.0.2.15 router=none`));
    assert.not.ok(parseGuestConsole(vm.serialText()).done);
    // a supervisor that sees only the domain tells failure by the guest staying up
    await new Promise((r) => setTimeout(r, 5000));
    assert.not.ok(vm.exited, 'QEMU still runs after FAILED');
  });
});

test.run();

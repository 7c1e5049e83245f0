import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { buildQemuArgv, qemuOptValue, readableTail, type VmOptions } from '../../testbed/argv.ts';

const tcg = { accel: 'tcg' as const };

/** The value following each occurrence of `flag`. */
function values(argv: string[], flag: string): string[] {
  return argv.flatMap((a, i) => (a === flag ? [argv[i + 1]] : []));
}

test('defaults: TCG with qemu64, 2 GiB, 2 CPUs, headless, serial to file, no default devices, no reboot', () => {
  const argv = buildQemuArgv({ media: '/m.iso', serialLog: '/tmp/s.log' }, tcg);
  assert.is(argv[0], 'qemu-system-x86_64');
  assert.equal(values(argv, '-accel'), ['tcg']);
  assert.equal(values(argv, '-cpu'), ['qemu64']);
  assert.equal(values(argv, '-m'), ['2048']);
  assert.equal(values(argv, '-smp'), ['2']);
  assert.equal(values(argv, '-display'), ['none']);
  assert.ok(argv.includes('-nodefaults'));
  assert.ok(argv.includes('-no-reboot'));
  assert.ok(!argv.includes('-nographic'));
  assert.equal(values(argv, '-chardev'), ['file,id=com1,path=/tmp/s.log']);
  assert.equal(values(argv, '-serial'), ['chardev:com1']);
  assert.equal(values(argv, '-drive'), ['if=none,id=media,file=/m.iso,format=raw,media=cdrom,readonly=on']);
  assert.equal(values(argv, '-device'), ['ide-cd,drive=media,bus=ide.0,bootindex=0']);
  assert.equal(values(argv, '-drive').filter((d) => d.includes('pflash')), []);
});

test('serialInput: COM1 is the stdio chardev (no signals), the log file is its logfile, truncated; commas escaped', () => {
  const argv = buildQemuArgv({ media: '/m.iso', serialLog: '/tmp/a,b.log', serialInput: true }, tcg);
  assert.equal(values(argv, '-chardev'), ['stdio,id=com1,signal=off,logfile=/tmp/a,,b.log,logappend=off']);
  assert.equal(values(argv, '-serial'), ['chardev:com1']);
  // the monitor stays off: stdin is the guest's console only
  assert.equal(values(argv, '-monitor'), ['none']);
  assert.equal(values(buildQemuArgv({ media: '/m.iso', serialLog: '/s', serialInput: false }, tcg), '-chardev'), ['file,id=com1,path=/s']);
});

test('kvm uses the host CPU; an explicit cpu wins', () => {
  assert.equal(values(buildQemuArgv({ media: '/m', serialLog: '/s' }, { accel: 'kvm' }), '-cpu'), ['host']);
  assert.equal(values(buildQemuArgv({ media: '/m', serialLog: '/s', cpu: 'Haswell' }, tcg), '-cpu'), ['Haswell']);
});

test('usb: read-only usb-storage stick on xHCI that boots first', () => {
  const argv = buildQemuArgv({ media: '/m.iso', bootAs: 'usb', serialLog: '/s' }, tcg);
  assert.equal(values(argv, '-device'), ['qemu-xhci,id=xhci', 'usb-storage,bus=xhci.0,drive=media,removable=on,bootindex=0']);
  assert.ok(values(argv, '-drive')[0].includes('readonly=on'));
});

test('disk: snapshot unless writable; guest flushes not honoured unless asked; bus chosen by diskBus', () => {
  const snap = buildQemuArgv({ media: '/d.raw', bootAs: 'disk', serialLog: '/s' }, tcg);
  assert.equal(values(snap, '-drive'), ['if=none,id=media,file=/d.raw,format=raw,snapshot=on,cache=unsafe']);
  assert.equal(values(snap, '-device'), ['ide-hd,drive=media,bus=ide.0,bootindex=0']);
  const rw = buildQemuArgv({ media: '/d.raw', bootAs: 'disk', mediaWritable: true, diskBus: 'nvme', serialLog: '/s' }, tcg);
  assert.equal(values(rw, '-drive'), ['if=none,id=media,file=/d.raw,format=raw,cache=unsafe']);
  assert.equal(values(rw, '-device'), ['nvme,drive=media,serial=xsforge0,bootindex=0']);
  const safe = buildQemuArgv({ media: '/d.raw', bootAs: 'disk', mediaWritable: true, diskCache: 'writeback', serialLog: '/s' }, tcg);
  assert.equal(values(safe, '-drive'), ['if=none,id=media,file=/d.raw,format=raw,cache=writeback']);
});

test('extra disks: plain strings are discarded-write raw disks, specs can be writable qcow2, none gets a bootindex', () => {
  const argv = buildQemuArgv({
    media: '/m.iso', serialLog: '/s', diskBus: 'virtio',
    extraDisks: ['/a.raw', { path: '/b.qcow2', writable: true, format: 'qcow2' }],
  }, tcg);
  assert.equal(values(argv, '-drive').slice(1), [
    'if=none,id=disk1,file=/a.raw,format=raw,snapshot=on,cache=unsafe',
    'if=none,id=disk2,file=/b.qcow2,format=qcow2,cache=unsafe',
  ]);
  assert.equal(values(argv, '-device').slice(1), ['virtio-blk-pci,drive=disk1', 'virtio-blk-pci,drive=disk2']);
});

test('uefi: read-only OVMF code plus the private variable store', () => {
  const argv = buildQemuArgv({ media: '/m.iso', firmware: 'uefi', serialLog: '/s' }, { accel: 'tcg', ovmfVars: '/tmp/x/VARS.fd', ovmfCode: '/c.fd' });
  assert.equal(values(argv, '-drive').slice(0, 2), [
    'if=pflash,format=raw,unit=0,readonly=on,file=/c.fd',
    'if=pflash,format=raw,unit=1,file=/tmp/x/VARS.fd',
  ]);
  assert.throws(() => buildQemuArgv({ media: '/m.iso', firmware: 'uefi', serialLog: '/s' }, tcg), /variable store/);
});

test('netboot: isolated user network with TFTP boots before the media', () => {
  const argv = buildQemuArgv({ media: '/m.iso', serialLog: '/s', netboot: { tftpRoot: '/srv/tftp', bootfile: 'pxelinux.0' } }, tcg);
  assert.equal(values(argv, '-netdev'), ['user,id=net0,restrict=on,tftp=/srv/tftp,bootfile=pxelinux.0']);
  assert.equal(values(argv, '-device'), ['e1000,netdev=net0,bootindex=0', 'ide-cd,drive=media,bus=ide.0,bootindex=1']);
  const only = buildQemuArgv({ serialLog: '/s', netboot: { tftpRoot: '/t', bootfile: 'b', nic: 'virtio-net-pci' } }, tcg);
  assert.equal(values(only, '-device'), ['virtio-net-pci,netdev=net0,bootindex=0']);
});

test('commas in paths are doubled so QEMU does not split the option', () => {
  assert.is(qemuOptValue('/tmp/a,b/c.iso'), '/tmp/a,,b/c.iso');
  const argv = buildQemuArgv({ media: '/x,y.iso', serialLog: '/l,og' }, tcg);
  assert.ok(values(argv, '-drive')[0].includes('file=/x,,y.iso,'));
  assert.equal(values(argv, '-chardev'), ['file,id=com1,path=/l,,og']);
});

test('bad options are refused before QEMU runs', () => {
  assert.throws(() => buildQemuArgv({ serialLog: '/s' } as VmOptions, tcg), /media/);
  assert.throws(() => buildQemuArgv({ media: '/m', serialLog: '/s', memoryMiB: 0 }, tcg), /memoryMiB/);
  assert.throws(() => buildQemuArgv({ media: '/m', serialLog: '/s', cpus: 1.5 }, tcg), /cpus/);
});

test('noReboot false drops -no-reboot; extraArgs go last', () => {
  const argv = buildQemuArgv({ media: '/m', serialLog: '/s', noReboot: false, extraArgs: ['-rtc', 'base=utc'] }, tcg);
  assert.not.ok(argv.includes('-no-reboot'));
  assert.equal(argv.slice(-2), ['-rtc', 'base=utc']);
});

test('readableTail strips terminal escapes and keeps the last lines', () => {
  const raw = '\x1b[2J\x1b[01;01HBdsDxe: starting\r\n\x1b[0m\x1b[30m\x1b[47mWelcome to GRUB!\n\r\n\r\x1b)0\x1b(B\x0eline\x0f three\r\n';
  assert.is(readableTail(raw), 'BdsDxe: starting\nWelcome to GRUB!\n\nline three');
  const many = Array.from({ length: 100 }, (_, i) => `line ${i}`).join('\r\n');
  const tail = readableTail(many, 60).split('\n');
  assert.is(tail.length, 60);
  assert.is(tail[0], 'line 40');
  assert.is(tail[59], 'line 99');
});

test('q35: a CD and two SATA disks each get their own AHCI port', () => {
  const argv = buildQemuArgv({ media: '/x.iso', serialLog: '/l', extraDisks: ['/a.img', { path: '/b.img', writable: true }] }, { accel: 'tcg' });
  assert.equal(values(argv, '-device'), ['ide-cd,drive=media,bus=ide.0,bootindex=0', 'ide-hd,drive=disk1,bus=ide.1', 'ide-hd,drive=disk2,bus=ide.2']);
});

test.run();

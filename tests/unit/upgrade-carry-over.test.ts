// Settings carried from the old root to the new one.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { planLayout } from '../../disk/layout.ts';
import { FIRSTBOOT } from '../../dom0-rootfs/rootfs.ts';
import { CARRY_OVER_PATHS, CARRY_OVER_PATTERNS, FIRSTBOOT_PATHS, carryOverSettings, type CarriedFile } from '../../upgrade/carry-over.ts';
import { parseShellVars } from '../../upgrade/model.ts';
import { PRODUCT_71, installedRoot } from '../lib/upgrade-fixtures.ts';

const layout = planLayout({ scheme: 'gpt', diskSectors: 60e9 / 512, diskName: '/dev/sda', guestStorage: true, uefi: true, labelSuffix: 'abcdef', guidSeed: 'x' });
const input = (over: Partial<Parameters<typeof carryOverSettings>[0]> = {}) => ({
  oldRoot: installedRoot(), media: PRODUCT_71, layout, primaryDisk: '/dev/sda', backupPartition: '/dev/sda2',
  installationDate: '2025-06-01 00:00:00', dom0MemMiB: 1024, srRecreated: false, ...over,
});
const file = (files: CarriedFile[], path: string) => {
  const f = files.find((x) => x.path === path);
  return f && f.kind === 'file' ? f : undefined;
};

test('the first-boot paths are the dom0 image\'s', () => {
  for (const k of Object.keys(FIRSTBOOT_PATHS) as (keyof typeof FIRSTBOOT_PATHS)[]) assert.is(FIRSTBOOT_PATHS[k], FIRSTBOOT[k], k);
});

test('identity: UUIDs, management interface and SR record kept; product and layout keys are the media\'s', () => {
  const c = carryOverSettings(input());
  const inv = parseShellVars(file(c.files, 'etc/xensource-inventory')!.content);
  assert.equal([inv.get('INSTALLATION_UUID'), inv.get('CONTROL_DOMAIN_UUID'), inv.get('MANAGEMENT_INTERFACE'), inv.get('SR_UUID'), inv.get('SR_TYPE'), inv.get('DEFAULT_SR_PHYSDEVS')],
    ['11111111-2222-3333-4444-555555555555', '66666666-7777-8888-9999-000000000000', 'xenbr0', 'aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee', 'lvm', '/dev/sda3']);
  assert.equal([inv.get('PRODUCT_VERSION'), inv.get('BUILD_NUMBER'), inv.get('INSTALLATION_DATE'), inv.get('PARTITION_LAYOUT')], ['7.1.2', '137272c', '2025-06-01 00:00:00', 'ROOT,BACKUP,LOG,BOOT,SWAP,SR']);
  assert.equal(c.identity, { installationUuid: '11111111-2222-3333-4444-555555555555', controlDomainUuid: '66666666-7777-8888-9999-000000000000', hostname: 'host-a.example.com', srUuid: 'aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee' });
});

test('hostname, DNS, NTP, timezone, management interface, SR records, ssh host keys and the root password hash are carried', () => {
  const c = carryOverSettings(input());
  const old = installedRoot();
  for (const p of ['etc/hostname', 'etc/hosts', 'etc/resolv.conf', 'etc/timezone', 'etc/chrony/sources.d/xsforge.sources', 'etc/machine-id',
    'etc/firstboot.d/data/management.conf', 'etc/firstboot.d/data/default-storage.conf', 'etc/systemd/network/10-xsforge-eth0.network',
    'etc/xensource/local-sr.conf', 'etc/ssh/ssh_host_ed25519_key', 'etc/ssh/ssh_host_ed25519_key.pub']) {
    assert.is(file(c.files, p)?.content, old[`/${p}`], p);
  }
  // the old default, openvswitch, becomes the only backend this version has
  assert.is(old['/etc/xensource/network.conf'], 'openvswitch\n');
  assert.is(file(c.files, 'etc/xensource/network.conf')?.content, 'bridge\n');
  assert.ok(c.notCarried.some((n) => n.what === "network backend 'openvswitch'"), JSON.stringify(c.notCarried));
  assert.equal(c.files.find((f) => f.path === 'etc/localtime'), { kind: 'symlink', path: 'etc/localtime', target: '/usr/share/zoneinfo/Europe/London' });
  assert.is(file(c.files, 'etc/ssh/ssh_host_ed25519_key')!.mode, 0o600);
  assert.is(file(c.files, 'etc/ssh/ssh_host_ed25519_key.pub')!.mode, 0o644);
  assert.not.ok(file(c.files, 'etc/ssh/sshd_config'), 'sshd_config is the new version\'s');
  assert.not.ok(file(c.files, 'root/notes.txt'), '/root stays in the backup');
  assert.is(c.rootPasswordHash, '$6$salt$hashhashhash');
  // the new fstab names the new layout's labels
  assert.match(file(c.files, 'etc/fstab')!.content, /LABEL=root-abcdef\s+\/\s+ext3/);
  assert.match(file(c.files, 'etc/fstab')!.content, /LABEL=BOOT-ABCDEF\s+\/boot\/efi\s+vfat/);
  // every carried path is one the runtime is told to read
  for (const f of c.files) {
    const abs = `/${f.path}`;
    if (['/etc/fstab', '/etc/xensource-inventory'].includes(abs)) continue;
    assert.ok(CARRY_OVER_PATHS.includes(abs) || CARRY_OVER_PATTERNS.some((r) => r.test(abs)), abs);
  }
});

test('the management bridge (.netdev and .network files), libvirt\'s VMs, pool and network with their autostart links, and the xen-cmdline record are carried', () => {
  const extra = {
    '/etc/systemd/network/10-xsforge-xenbr0.netdev': '[NetDev]\nName=xenbr0\nKind=bridge\n',
    '/etc/systemd/network/10-xsforge-xenbr0.network': '[Match]\nName=xenbr0\n\n[Network]\nDHCP=ipv4\n',
    '/etc/systemd/network/11-xsforge-xenbr0.42.netdev': '[NetDev]\nName=xenbr0.42\nKind=vlan\n',
    '/etc/libvirt/libxl/vm1.xml': "<domain type='xen'><name>vm1</name></domain>\n",
    '/etc/libvirt/libxl/autostart/vm1.xml': { symlink: '/etc/libvirt/libxl/vm1.xml' },
    '/etc/libvirt/storage/local-sr.xml': "<pool type='logical'><name>local-sr</name></pool>\n",
    '/etc/libvirt/storage/autostart/local-sr.xml': { symlink: '/etc/libvirt/storage/local-sr.xml' },
    '/etc/libvirt/qemu/networks/default.xml': "<network><name>default</name><bridge name='xenbr0'/></network>\n",
    '/etc/libvirt/qemu/networks/autostart/default.xml': { symlink: '/etc/libvirt/qemu/networks/default.xml' },
    '/etc/libvirt/libvirtd.conf': 'not a definition\n',
    '/etc/xensource/xen-cmdline.conf': 'xen set dma_bits=32\n',
  };
  const old = { ...installedRoot(), ...extra };
  const c = carryOverSettings(input({ oldRoot: old }));
  for (const [p, v] of Object.entries(extra)) {
    const got = c.files.find((f) => f.path === p.slice(1));
    if (p.endsWith('libvirtd.conf')) { assert.is(got, undefined, 'libvirt\'s own configuration is the new version\'s'); continue; }
    assert.ok(CARRY_OVER_PATHS.includes(p) || CARRY_OVER_PATTERNS.some((r) => r.test(p)), `the runtime reads ${p}`);
    if (typeof v === 'string') assert.equal(got && got.kind === 'file' ? got.content : undefined, v, p);
    else assert.equal(got, { kind: 'symlink', path: p.slice(1), target: v.symlink }, p);
  }
  assert.is(file(c.files, 'etc/libvirt/libxl/vm1.xml')!.mode, 0o600);
});

test('first boot does not run again on an upgraded host; it does when it had not run, or when the SR is made anew', () => {
  const done = carryOverSettings(input());
  assert.is(done.firstBoot, 'done');
  assert.ok(file(done.files, 'etc/firstboot.d/state/done'));
  assert.not.ok(file(done.files, 'etc/firstboot.d/state/pending'));
  const pending = carryOverSettings(input({ oldRoot: installedRoot({ firstBootDone: false }) }));
  assert.equal([pending.firstBoot, file(pending.files, 'etc/firstboot.d/state/pending')?.content], ['pending', '']);
  const moved = carryOverSettings(input({ srRecreated: true, oldRoot: installedRoot({ extSr: true }) }));
  assert.is(moved.firstBoot, 'pending');
  assert.not.ok(file(moved.files, 'etc/xensource/local-sr.conf'));
  assert.not.ok(file(moved.files, 'etc/firstboot.d/state/done'));
  const inv = parseShellVars(file(moved.files, 'etc/xensource-inventory')!.content);
  assert.equal([inv.has('SR_UUID'), inv.has('SR_TYPE')], [false, false]);
  assert.not.match(file(moved.files, 'etc/fstab')!.content, /sr-mount/);
  assert.ok(moved.notCarried.some((n) => /local SR record/.test(n.what) && /anew/.test(n.why)));
});

test('an ext SR keeps its fstab mount line', () => {
  const c = carryOverSettings(input({ oldRoot: installedRoot({ extSr: true }) }));
  assert.match(file(c.files, 'etc/fstab')!.content, /\/var\/run\/sr-mount\/aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee ext4 defaults,nofail 0 2\n$/);
});

test('what is missing or deliberately left is listed with a reason; no UUIDs is an error', () => {
  const old = installedRoot();
  delete old['/etc/ssh/ssh_host_ed25519_key'];
  delete old['/etc/ssh/ssh_host_ed25519_key.pub'];
  delete old['/etc/chrony/sources.d/xsforge.sources'];
  const c = carryOverSettings(input({ oldRoot: old }));
  const what = c.notCarried.map((n) => n.what);
  for (const w of ['SSH host keys', 'NTP servers', '/root, /home and other files', '/boot, the kernel and GRUB configuration']) assert.ok(what.includes(w), w);
  assert.match(c.notCarried.find((n) => n.what === 'SSH host keys')!.why, /xsforge-ssh-hostkeys/);
  const noUuid = installedRoot();
  noUuid['/etc/xensource-inventory'] = "PRODUCT_BRAND='XenServer'\nPRODUCT_VERSION='7.1.0'\n";
  assert.throws(() => carryOverSettings(input({ oldRoot: noUuid })), /no INSTALLATION_UUID/);
  assert.throws(() => carryOverSettings(input({ oldRoot: {} })), /has no \/etc\/xensource-inventory/);
});

test.run();

// The dom0 first-boot script (dom0-rootfs/overlay/usr/lib/xsforge/firstboot)
// run by dash against a fake root in dry-run mode: the systemd-networkd file
// it writes, the LVM/mkfs commands it would run, and what it records.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FIRSTBOOT, OVERLAY_DIR } from '../../dom0-rootfs/rootfs.ts';

const SCRIPT = join(OVERLAY_DIR, FIRSTBOOT.script);
const UUID = '6f1e1c2a-3b4d-4e5f-8a9b-0c1d2e3f4a5b';
const SH = existsSync('/usr/bin/dash') ? '/usr/bin/dash' : '/bin/sh';
const dirs: string[] = [];

function fakeRoot(files: Record<string, string>, pending = true): string {
  const root = mkdtempSync(join(tmpdir(), 'xsf-firstboot-'));
  dirs.push(root);
  for (const [rel, text] of Object.entries(files)) {
    // 'dir/': an empty directory
    if (rel.endsWith('/')) { mkdirSync(join(root, rel), { recursive: true }); continue; }
    mkdirSync(join(root, rel, '..'), { recursive: true });
    writeFileSync(join(root, rel), text);
  }
  mkdirSync(join(root, 'etc/firstboot.d/state'), { recursive: true });
  if (pending) writeFileSync(join(root, FIRSTBOOT.pendingFlag), '');
  return root;
}

function firstboot(root: string, env: Record<string, string> = {}) {
  const r = spawnSync(SH, [SCRIPT], { env: { PATH: process.env.PATH, XSFORGE_ROOT: root, XSFORGE_DRY_RUN: '1', XSFORGE_SR_UUID: UUID, ...env }, encoding: 'utf8' });
  const lines = r.stdout.split('\n').filter(Boolean);
  return { code: r.status, stderr: r.stderr, commands: lines.filter((l) => l.startsWith('+ ')).map((l) => l.slice(2)), lines };
}

const read = (root: string, rel: string) => readFileSync(join(root, rel), 'utf8');
const HEADER = (what: string) => `# ${what}, written by xsforge first boot from /etc/firstboot.d/data/management.conf\n`;

test.after(() => { for (const d of dirs) rmSync(d, { recursive: true, force: true }); });

test('the script is POSIX sh (dash -n) and executable in the repository', () => {
  const r = spawnSync(SH, ['-n', SCRIPT], { encoding: 'utf8' });
  assert.is(r.status, 0, r.stderr);
  assert.ok((readFileSync(SCRIPT).subarray(0, 10).toString()).startsWith('#!/bin/sh'));
});

test('DHCP management and an lvm SR on partition 3 plus a guest disk', () => {
  const root = fakeRoot({
    [FIRSTBOOT.managementConf]: "LABEL='eth0'\nMODE='dhcp'\n",
    [FIRSTBOOT.storageConf]: "XSPARTITIONS='/dev/disk/by-id/ata-QEMU_HARDDISK_QM00001-part3 /dev/sdb'\nXSTYPE='lvm'\n",
    'etc/xensource-inventory': "PRODUCT_BRAND='XenServer'\nINSTALLATION_UUID='abc'\n",
    'etc/xensource/network.conf': 'bridge\n',
    'sys/class/net/eth0/address': '52:54:00:12:34:56\n',
    'etc/libvirt/qemu/networks/default.xml': '<network><name>default</name><forward mode="nat"/></network>\n',
  });
  const r = firstboot(root);
  assert.is(r.code, 0, r.stderr);
  assert.equal(r.commands, [
    'wipefs -a /dev/disk/by-id/ata-QEMU_HARDDISK_QM00001-part3',
    'pvcreate -ff -y /dev/disk/by-id/ata-QEMU_HARDDISK_QM00001-part3',
    'wipefs -a /dev/sdb',
    'pvcreate -ff -y /dev/sdb',
    `vgcreate VG_XenStorage-${UUID} /dev/disk/by-id/ata-QEMU_HARDDISK_QM00001-part3 /dev/sdb`,
  ]);
  // eth0 is a port of xenbr0, which carries the DHCP address and the NIC's MAC
  assert.is(read(root, 'etc/systemd/network/10-xsforge-xenbr0.netdev'),
    `${HEADER('management bridge')}[NetDev]\nName=xenbr0\nKind=bridge\nMACAddress=52:54:00:12:34:56\n\n[Bridge]\nSTP=no\nForwardDelaySec=0\n`);
  assert.is(read(root, 'etc/systemd/network/10-xsforge-eth0.network'),
    `${HEADER('management NIC, a port of xenbr0')}[Match]\nName=eth0\n\n[Network]\nBridge=xenbr0\nLinkLocalAddressing=no\nIPv6AcceptRA=no\n`);
  assert.is(read(root, 'etc/systemd/network/10-xsforge-xenbr0.network'),
    `${HEADER('management address')}[Match]\nName=xenbr0\n\n[Network]\nDHCP=ipv4\nConfigureWithoutCarrier=yes\n\n[DHCPv4]\nClientIdentifier=mac\n`);
  // libvirt: the management bridge is the default network, the SR's VG a logical pool
  assert.match(read(root, 'etc/libvirt/qemu/networks/default.xml'), /<forward mode='bridge'\/>\n  <bridge name='xenbr0'\/>/);
  assert.is(readlinkSync(join(root, 'etc/libvirt/qemu/networks/autostart/default.xml')), '/etc/libvirt/qemu/networks/default.xml');
  const pool = read(root, 'etc/libvirt/storage/local-sr.xml');
  assert.match(pool, "<pool type='logical'>");
  assert.match(pool, `<uuid>${UUID}</uuid>`);
  assert.match(pool, `<name>VG_XenStorage-${UUID}</name>`);
  assert.match(pool, `<path>/dev/VG_XenStorage-${UUID}</path>`);
  assert.is(readlinkSync(join(root, 'etc/libvirt/storage/autostart/local-sr.xml')), '/etc/libvirt/storage/local-sr.xml');
  assert.is(read(root, 'etc/xensource-inventory'), `PRODUCT_BRAND='XenServer'\nINSTALLATION_UUID='abc'\nSR_UUID='${UUID}'\nSR_TYPE='lvm'\n`);
  assert.is(read(root, FIRSTBOOT.localSrConf), `SR_UUID='${UUID}'\nSR_TYPE='lvm'\nSR_DEVICES='/dev/disk/by-id/ata-QEMU_HARDDISK_QM00001-part3 /dev/sdb'\nVG_NAME='VG_XenStorage-${UUID}'\n`);
  const summary = `XSFORGE-FIRSTBOOT-DONE sr=${UUID} type=lvm mgmt=eth0 mode=dhcp bridge=xenbr0`;
  assert.is(r.lines.at(-1), summary);
  assert.not.ok(existsSync(join(root, FIRSTBOOT.pendingFlag)), 'pending flag removed');
  assert.ok(read(root, FIRSTBOOT.doneFile).trim().endsWith(summary));
  const log = read(root, FIRSTBOOT.log);
  assert.match(log, /\+ vgcreate VG_XenStorage-/);
  assert.ok(log.trim().endsWith(summary));
});

test('static management with DNS and domain, and an ext SR mounted under /var/run/sr-mount', () => {
  const root = fakeRoot({
    'etc/libvirt/': '',
    [FIRSTBOOT.managementConf]: "LABEL='eth1'\nMODE='static'\nIP='192.168.7.20'\nNETMASK='255.255.255.128'\nGATEWAY='192.168.7.1'\nDNS1='192.168.7.2'\nDNS2='9.9.9.9'\nDOMAIN='lab.example'\n",
    [FIRSTBOOT.storageConf]: "XSPARTITIONS='/dev/sda3'\nXSTYPE='ext'\n",
    'etc/fstab': 'LABEL=root-sda1 / ext3 errors=remount-ro 0 1\n',
  });
  const r = firstboot(root);
  assert.is(r.code, 0, r.stderr);
  const vg = `XSLocalEXT-${UUID}`;
  const lv = `/dev/${vg}/${UUID}`;
  const mp = `/var/run/sr-mount/${UUID}`;
  assert.equal(r.commands, [
    'wipefs -a /dev/sda3', 'pvcreate -ff -y /dev/sda3',
    `vgcreate ${vg} /dev/sda3`,
    `lvcreate -y -n ${UUID} -l 100%VG ${vg}`,
    `mkfs.ext4 -F -q -m 0 -L sr-6f1e1c2a ${lv}`,
    `mkdir -p ${mp}`,
    `mount -t ext4 ${lv} ${mp}`,
  ]);
  assert.match(read(root, 'etc/systemd/network/10-xsforge-eth1.network'), 'Bridge=xenbr1\n');
  // no MAC readable: the bridge gets networkd's own
  assert.not.match(read(root, 'etc/systemd/network/10-xsforge-xenbr1.netdev'), 'MACAddress=');
  assert.is(read(root, 'etc/systemd/network/10-xsforge-xenbr1.network'),
    `${HEADER('management address')}[Match]\nName=xenbr1\n\n[Network]\n`
    + 'Address=192.168.7.20/25\nConfigureWithoutCarrier=yes\nGateway=192.168.7.1\nDNS=192.168.7.2\nDNS=9.9.9.9\nDomains=lab.example\n');
  // an ext SR is a directory pool on its mount point
  assert.match(read(root, 'etc/libvirt/storage/local-sr.xml'), new RegExp(`<pool type='dir'>[^]*<path>${mp}</path>`));
  assert.is(read(root, 'etc/fstab'), `LABEL=root-sda1 / ext3 errors=remount-ro 0 1\n${lv} ${mp} ext4 defaults,nofail 0 2\n`);
  assert.match(read(root, FIRSTBOOT.localSrConf), `MOUNT_POINT='${mp}'`);
  assert.match(read(root, 'etc/xensource-inventory'), /^SR_TYPE='ext'$/m);
  assert.is(r.lines.at(-1), `XSFORGE-FIRSTBOOT-DONE sr=${UUID} type=ext mgmt=eth1 mode=static bridge=xenbr1`);
});

test('netmasks: dotted and prefix forms; a non-contiguous mask fails and keeps the flag', () => {
  for (const [mask, prefix] of [['255.255.0.0', '16'], ['255.255.255.252', '30'], ['24', '24']]) {
    const root = fakeRoot({ [FIRSTBOOT.managementConf]: `LABEL='eth0'\nMODE='static'\nIP='10.0.0.9'\nNETMASK='${mask}'\n` });
    const r = firstboot(root);
    assert.is(r.code, 0, r.stderr);
    assert.match(read(root, 'etc/systemd/network/10-xsforge-xenbr0.network'), `Address=10.0.0.9/${prefix}\n`);
    assert.not.match(read(root, 'etc/systemd/network/10-xsforge-xenbr0.network'), /Gateway=/);
    // no storage data: no SR, nothing run
    assert.equal(r.commands, []);
    assert.is(r.lines.at(-1), 'XSFORGE-FIRSTBOOT-DONE sr=none type=lvm mgmt=eth0 mode=static bridge=xenbr0');
    assert.not.ok(existsSync(join(root, 'etc/xensource-inventory')));
  }
  const bad = fakeRoot({ [FIRSTBOOT.managementConf]: "LABEL='eth0'\nMODE='static'\nIP='10.0.0.9'\nNETMASK='255.0.255.0'\n" });
  const r = firstboot(bad);
  assert.is(r.code, 1);
  assert.match(r.lines.at(-1)!, /^XSFORGE-FIRSTBOOT-FAILED step=network: bad NETMASK '255\.0\.255\.0'/);
  assert.ok(existsSync(join(bad, FIRSTBOOT.pendingFlag)), 'a failed first boot is retried at the next boot');
});

test('without the pending flag nothing happens; an SR already recorded is not made again', () => {
  const idle = fakeRoot({ [FIRSTBOOT.managementConf]: "LABEL='eth0'\nMODE='dhcp'\n", [FIRSTBOOT.storageConf]: "XSPARTITIONS='/dev/sda3'\n" }, false);
  const r = firstboot(idle);
  assert.is(r.code, 0);
  assert.equal(r.lines, []);
  assert.not.ok(existsSync(join(idle, 'etc/systemd/network')));

  const again = fakeRoot({
    [FIRSTBOOT.managementConf]: "LABEL='eth0'\nMODE='none'\n",
    [FIRSTBOOT.storageConf]: "XSPARTITIONS='/dev/sda3'\nXSTYPE='lvm'\n",
    [FIRSTBOOT.localSrConf]: "SR_UUID='11111111-0000-0000-0000-000000000000'\nSR_TYPE='lvm'\n",
    'etc/xensource-inventory': "SR_UUID='stale'\nPRODUCT_BRAND='X'\n",
  });
  const r2 = firstboot(again);
  assert.is(r2.code, 0, r2.stderr);
  assert.equal(r2.commands, []);
  assert.is(read(again, 'etc/xensource-inventory'), "PRODUCT_BRAND='X'\nSR_UUID='11111111-0000-0000-0000-000000000000'\nSR_TYPE='lvm'\n");
  assert.is(r2.lines.at(-1), 'XSFORGE-FIRSTBOOT-DONE sr=11111111-0000-0000-0000-000000000000 type=lvm mgmt=eth0 mode=none bridge=xenbr0');
  // MODE=none: the bridge exists for guests, with no address for the host
  assert.match(read(again, 'etc/systemd/network/10-xsforge-eth0.network'), 'Bridge=xenbr0\n');
  assert.not.match(read(again, 'etc/systemd/network/10-xsforge-xenbr0.network'), /^(DHCP|Address)=/m);
});

test('a management VLAN: the address is on xenbrN.<tag>, the bridge carries the VLAN; BRIDGE= names the bridge', () => {
  const root = fakeRoot({ [FIRSTBOOT.managementConf]: "LABEL='eth0'\nMODE='dhcp'\nVLAN='42'\nBRIDGE='xenbr7'\n" });
  const r = firstboot(root);
  assert.is(r.code, 0, r.stderr);
  const dir = 'etc/systemd/network';
  assert.match(read(root, `${dir}/10-xsforge-eth0.network`), 'Bridge=xenbr7\n');
  assert.match(read(root, `${dir}/11-xsforge-xenbr7.42.netdev`), '[NetDev]\nName=xenbr7.42\nKind=vlan\n\n[VLAN]\nId=42\n');
  assert.match(read(root, `${dir}/10-xsforge-xenbr7.network`), '[Match]\nName=xenbr7\n\n[Network]\nVLAN=xenbr7.42\n');
  assert.not.match(read(root, `${dir}/10-xsforge-xenbr7.network`), /DHCP=/);
  assert.match(read(root, `${dir}/11-xsforge-xenbr7.42.network`), '[Match]\nName=xenbr7.42\n\n[Network]\nDHCP=ipv4\n');
  assert.is(r.lines.at(-1), 'XSFORGE-FIRSTBOOT-DONE sr=none type=lvm mgmt=eth0 mode=dhcp bridge=xenbr7');
  for (const bad of ['0', '4095', 'x1']) {
    const b = fakeRoot({ [FIRSTBOOT.managementConf]: `LABEL='eth0'\nMODE='dhcp'\nVLAN='${bad}'\n` });
    const rb = firstboot(b);
    assert.is(rb.code, 1, bad);
    assert.match(rb.lines.at(-1)!, /XSFORGE-FIRSTBOOT-FAILED step=network: (bad VLAN|VLAN \d+ .* is not 1-4094)/);
  }
});

test('the openvswitch backend is refused by first boot too (this dom0 has none); nothing is written', () => {
  const root = fakeRoot({ [FIRSTBOOT.managementConf]: "LABEL='eth0'\nMODE='dhcp'\n", 'etc/xensource/network.conf': 'openvswitch\n' });
  const r = firstboot(root);
  assert.is(r.code, 1);
  assert.match(r.lines.at(-1)!, /XSFORGE-FIRSTBOOT-FAILED step=network: network backend 'openvswitch' .* not supported/);
  assert.not.ok(existsSync(join(root, 'etc/systemd/network')));
  assert.ok(existsSync(join(root, FIRSTBOOT.pendingFlag)));
});

test('bad storage type fails before any command runs', () => {
  const root = fakeRoot({ [FIRSTBOOT.storageConf]: "XSPARTITIONS='/dev/sda3'\nXSTYPE='zfs'\n" });
  const r = firstboot(root);
  assert.is(r.code, 1);
  assert.equal(r.commands, []);
  assert.match(r.lines.at(-1)!, /XSFORGE-FIRSTBOOT-FAILED step=storage: unknown XSTYPE 'zfs'/);
});

test.run();

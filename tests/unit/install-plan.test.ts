// planInstall and the files it writes into the installed system: pure, no disks.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseAnswerFile } from '../../answerfiles/parse.ts';
import type { InstallConfig } from '../../answerfiles/model.ts';
import { parseCmdline } from '../../installer/runtime/cmdline.ts';
import {
  formatInstallPlan, installPlanJson, planInstall, InstallPlanError,
  type DetectedDisk, type InstallPlan, type PlanOptions,
} from '../../installer/runtime/plan.ts';
import { cryptSaltFromBytes, sha512Crypt } from '../../installer/runtime/sha512crypt.ts';
import { partitionDevice } from '../../disk/device.ts';
import {
  chronySources, defaultStorageConf, fstab, inventoryFile, managementBridge, managementConf, netmaskPrefix, setShadowPassword, shellAssign,
} from '../../target/host-files.ts';
import { grubConfig } from '../../target/grub.ts';
import { DEFAULT_BOOT } from '../../target/boot-args.ts';
import { networkSteps, selectInterfaces } from '../../installer/runtime/network.ts';
import { mediaCandidates, splitNfsUrl } from '../../installer/runtime/fetch.ts';
import { parseRootManifest } from '../../installer/runtime/source.ts';
import { parseDiskList, planAnswerFile } from '../../cli/commands/answerfile-plan.ts';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const GB = 1e9;
const PRODUCT = { brand: 'XenServer', version: '7.1.2', build_number: '137272c', platform: { name: 'XCP', version: '2.2.0' } };
const OPTS: PlanOptions = {
  uefi: false, labelSuffix: 'abcdef',
  uuids: { installation: '11111111-1111-4111-8111-111111111111', controlDomain: '22222222-2222-4222-8222-222222222222', sr: '33333333-3333-4333-8333-333333333333' },
  product: PRODUCT, passwordSalt: 'saltsaltsaltsalt', installationDate: '2018-08-01 00:00:00',
  nics: [{ name: 'eth0', mac: '52:54:00:12:34:56' }, { name: 'eth1', mac: '52:54:00:12:34:57' }],
};
const DISKS: DetectedDisk[] = [
  { name: 'sda', path: '/dev/sda', sizeBytes: 60 * GB, sectorSize: 512 },
  { name: 'sdb', path: '/dev/sdb', sizeBytes: 100 * GB, sectorSize: 512 },
  { name: 'sdc', path: '/dev/sdc', sizeBytes: 20 * 2 ** 30, sectorSize: 512 },
  { name: 'nvme0n1', path: '/dev/nvme0n1', sizeBytes: 500 * GB, sectorSize: 512 },
];
const CMD = parseCmdline('install').cmdline;

function config(body: string, root = '<installation>'): InstallConfig {
  const r = parseAnswerFile(`${root}${body}</installation>`);
  assert.equal(r.errors, []);
  return r.config!;
}

const BASIC = `<primary-disk>sda</primary-disk><source type="local"/>
  <admin-interface name="eth0" proto="dhcp"/><hostname>xs1.lab.example</hostname>`;

function file(plan: InstallPlan, path: string): string {
  const f = plan.files.find((x) => x.path === path);
  assert.ok(f && f.kind === 'file', `plan writes ${path}`);
  return (f as { content: string }).content;
}

test('new GPT layout on a 60 GB disk, BIOS: partitions, file systems, mounts in order', () => {
  const plan = planInstall(config(BASIC), DISKS, CMD, OPTS);
  assert.is(plan.layout.tableType, 'gpt');
  assert.equal(plan.layout.partitions.map((p) => p.number), [5, 2, 1, 4, 6, 3]);
  assert.is(plan.layout.partitions.find((p) => p.number === 1)!.firstSector, 46139392);
  assert.is(plan.layout.partitions.find((p) => p.number === 3)!.lastSector, 60 * GB / 512 - 34);
  assert.equal(plan.fileSystems.map((f) => [f.device, f.label]), [['/dev/sda1', 'root-abcdef'], ['/dev/sda5', 'logs-abcdef'], ['/dev/sda6', 'swap-abcdef']]);
  assert.equal(plan.fileSystems[0]!.argv, ['mkfs.ext3', '-F', '-q', '-L', 'root-abcdef', '/dev/sda1']);
  assert.equal(plan.fileSystems[2]!.argv, ['mkswap', '-L', 'swap-abcdef', '/dev/sda6']);
  assert.equal(plan.mounts.map((m) => [m.device, m.mountPoint]), [['/dev/sda1', '/'], ['/dev/sda5', '/var/log']]);
  assert.is(plan.bootloader.mode, 'bios');
  assert.is(plan.bootloader.disk, '/dev/sda');
  assert.is(plan.bootloader.efi, undefined);
  assert.equal(plan.srDevices, ['/dev/sda3']);
  assert.is(plan.source.type, 'local');
  assert.is(plan.rootImage, 'dom0/root.tar.zst');
  assert.is(plan.atexit, 'reboot');
  // GUIDs come from the installation UUID: the same inputs give the same plan
  assert.is(installPlanJson(planInstall(config(BASIC), DISKS, CMD, OPTS)), installPlanJson(plan));
});

test('UEFI: an ESP labelled BOOT-<SFX> mounted at /boot/efi, stub grub.cfg, boot entry, fstab line', () => {
  const plan = planInstall(config(BASIC), DISKS, CMD, { ...OPTS, uefi: true });
  const esp = plan.layout.partitions.find((p) => p.number === 4)!;
  assert.is(esp.typeGuid, 'C12A7328-F81F-11D2-BA4B-00A0C93EC93B');
  assert.ok(plan.fileSystems.some((f) => f.label === 'BOOT-ABCDEF' && f.argv.join(' ') === 'mkfs.vfat -n BOOT-ABCDEF /dev/sda4'));
  assert.equal(plan.mounts.at(-1), { device: '/dev/sda4', mountPoint: '/boot/efi', fsType: 'vfat' });
  assert.equal(plan.bootloader.efi && { ...plan.bootloader.efi, stubCfg: undefined }, {
    espDevice: '/dev/sda4', espPartition: 4, bootloaderId: 'xenserver', stubCfg: undefined, writeBootEntry: true, label: 'XenServer',
  });
  assert.is(file(plan, 'boot/efi/EFI/xenserver/grub.cfg'),
    'search --no-floppy --label --set=root root-abcdef\nset prefix=($root)/boot/grub\nconfigfile $prefix/grub.cfg\n');
  assert.match(file(plan, 'etc/fstab'), /^LABEL=BOOT-ABCDEF\s+\/boot\/efi\s+vfat\s+umask=0077\s+0\s+2$/m);
  const noEntry = planInstall(config(`${BASIC}<bootloader write-boot-entry="false">grub2</bootloader>`), DISKS, CMD, { ...OPTS, uefi: true });
  assert.is(noEntry.bootloader.efi!.writeBootEntry, false);
});

test('disable-gpt on a 20 GiB disk: DOS layout, root only in fstab, no logs or swap', () => {
  const plan = planInstall(config(BASIC.replace('sda', 'sdc')), DISKS, parseCmdline('install disable-gpt').cmdline, OPTS);
  assert.is(plan.layout.tableType, 'dos');
  assert.equal(plan.layout.partitions.map((p) => [p.number, p.firstSector]), [[1, 63], [2, 63 + 8388608], [3, 63 + 2 * 8388608]]);
  assert.equal(plan.fileSystems.map((f) => f.label), ['root-abcdef']);
  assert.is(file(plan, 'etc/fstab').split('\n').filter((l) => l.startsWith('LABEL=')).length, 1);
  assert.match(file(plan, 'etc/xensource-inventory'), /^PARTITION_LAYOUT='ROOT,BACKUP,SR'$/m);
});

test('errors with the product\'s texts: no such disk, too small, UEFI with DOS, upgrade/restore', () => {
  const err = (fn: () => unknown) => {
    try {
      fn();
    } catch (e) {
      return (e as Error).message;
    }
    assert.unreachable('expected an error');
  };
  assert.is(err(() => planInstall(config(BASIC.replace('sda', 'sdz')), DISKS, CMD, OPTS)), 'No such disk "/dev/sdz".');
  assert.is(err(() => planInstall(config(`${BASIC}<guest-disk>sdy</guest-disk>`), DISKS, CMD, OPTS)), 'No such disk "/dev/sdy".');
  assert.is(err(() => planInstall(config(BASIC.replace('sda', 'sdc')), DISKS, CMD, OPTS)), 'The disk /dev/sdc is smaller than 46GB.');
  assert.is(err(() => planInstall(config(BASIC.replace('sda', 'sdc')), DISKS, parseCmdline('install disable-gpt').cmdline, { ...OPTS, uefi: true })),
    'UEFI boot requires the partition type to be GPT');
  const tiny = [{ name: 'sdd', path: '/dev/sdd', sizeBytes: 8 * 2 ** 30, sectorSize: 512 }];
  assert.is(err(() => planInstall(config(BASIC.replace('sda', 'sdd')), tiny, parseCmdline('install disable-gpt').cmdline, OPTS)), 'The disk /dev/sdd is smaller than 12GB.');
  assert.match(err(() => planInstall(config('<existing-installation>sda</existing-installation><source type="local"/>', '<installation mode="upgrade">'), DISKS, CMD, OPTS))!, /not supported/);
  assert.match(err(() => planInstall(config(BASIC.replace('name="eth0"', 'hwaddr="00:11:22:33:44:55"')), DISKS, CMD, OPTS))!,
    /^No network interface has the MAC address 00:11:22:33:44:55/);
  assert.ok(new InstallPlanError('x') instanceof Error);
});

test('management.conf: DHCP, and static with DNS and the domain from the host name; the bridge and a VLAN for first boot', () => {
  assert.is(file(planInstall(config(BASIC), DISKS, CMD, OPTS), 'etc/firstboot.d/data/management.conf'), "LABEL='eth0'\nMODE='dhcp'\nBRIDGE='xenbr0'\n");
  const st = config(`<primary-disk>sda</primary-disk><source type="local"/><hostname>xs1.lab.example</hostname>
    <name-server>10.0.0.2</name-server><name-server>10.0.0.3</name-server>
    <admin-interface hwaddr="52:54:00:12:34:57" proto="static"><ipaddr>10.0.0.10</ipaddr><subnet>255.255.0.0</subnet><gateway>10.0.0.1</gateway></admin-interface>`);
  const plan = planInstall(st, DISKS, CMD, OPTS);
  assert.is(file(plan, 'etc/firstboot.d/data/management.conf'),
    "LABEL='eth1'\nMODE='static'\nBRIDGE='xenbr1'\nIP='10.0.0.10'\nNETMASK='255.255.0.0'\nGATEWAY='10.0.0.1'\nDNS1='10.0.0.2'\nDNS2='10.0.0.3'\nDOMAIN='lab.example'\n");
  assert.match(file(plan, 'etc/xensource-inventory'), /^MANAGEMENT_INTERFACE='xenbr1'$/m);
  assert.is(file(plan, 'etc/resolv.conf'), '# written by the installer\nsearch lab.example\nnameserver 10.0.0.2\nnameserver 10.0.0.3\n');
  assert.is(managementConf({ label: 'eth0', bridge: 'xenbr0', mode: 'static', ip: '1.2.3.4', netmask: '255.0.0.0', dns: [] }), "LABEL='eth0'\nMODE='static'\nBRIDGE='xenbr0'\nIP='1.2.3.4'\nNETMASK='255.0.0.0'\n");
  // <admin-interface vlan="42">: first boot puts the address on xenbr0.42
  const tagged = planInstall(config(BASIC.replace('proto="dhcp"', 'proto="dhcp" vlan="42"')), DISKS, CMD, OPTS);
  assert.is(file(tagged, 'etc/firstboot.d/data/management.conf'), "LABEL='eth0'\nMODE='dhcp'\nBRIDGE='xenbr0'\nVLAN='42'\n");
  assert.equal(['eth0', 'eth3', 'eth12', 'ens3', 'eth'].map(managementBridge), ['xenbr0', 'xenbr3', 'xenbr12', 'xenbr0', 'xenbr0']);
});

test('inventory: every key of the contract, quoted for the shell', () => {
  const plan = planInstall(config(BASIC), DISKS, CMD, OPTS);
  const inv = file(plan, 'etc/xensource-inventory');
  const keys = inv.trim().split('\n').map((l) => l.split('=')[0]);
  for (const k of ['PRODUCT_BRAND', 'PRODUCT_VERSION', 'PLATFORM_NAME', 'PLATFORM_VERSION', 'BUILD_NUMBER', 'INSTALLATION_UUID',
    'CONTROL_DOMAIN_UUID', 'PRIMARY_DISK', 'BACKUP_PARTITION', 'PARTITION_LAYOUT', 'MANAGEMENT_INTERFACE', 'INSTALLATION_DATE']) {
    assert.ok(keys.includes(k), `inventory has ${k}`);
  }
  assert.match(inv, /^PRODUCT_VERSION='7\.1\.2'$/m);
  assert.match(inv, /^PLATFORM_NAME='XCP'$/m);
  assert.match(inv, /^PLATFORM_VERSION='2\.2\.0'$/m);
  assert.match(inv, /^INSTALLATION_UUID='11111111-1111-4111-8111-111111111111'$/m);
  assert.match(inv, /^CONTROL_DOMAIN_UUID='22222222-2222-4222-8222-222222222222'$/m);
  assert.match(inv, /^PRIMARY_DISK='\/dev\/sda'$/m);
  assert.match(inv, /^BACKUP_PARTITION='\/dev\/sda2'$/m);
  assert.match(inv, /^PARTITION_LAYOUT='ROOT,BACKUP,LOG,BOOT,SWAP,SR'$/m);
  assert.match(inv, /^INSTALLATION_DATE='2018-08-01 00:00:00'$/m);
  assert.match(inv, /^MANAGEMENT_INTERFACE='xenbr0'$/m);
  assert.is(shellAssign('BRAND', "Bob's"), `BRAND='Bob'\\''s'`);
  assert.match(inventoryFile({
    productBrand: "O'Brand", productVersion: '1', platformName: 'p', platformVersion: '1', buildNumber: 'b', installationUuid: 'u',
    controlDomainUuid: 'c', primaryDisk: 'd', backupPartition: 'b', partitionLayout: 'l', managementInterface: 'm', installationDate: 't',
    dom0MemMiB: 1024, defaultSrPhysdevs: ['/dev/sda3', '/dev/sdb'],
  }), /^PRODUCT_BRAND='O'\\''Brand'\n(.|\n)*^DEFAULT_SR_PHYSDEVS='\/dev\/sda3 \/dev\/sdb'$/m);
});

test('default-storage.conf: lvm and ext, guest disks, none without an SR', () => {
  const lvm = planInstall(config(`${BASIC}<guest-disk>sdb</guest-disk>`), DISKS, CMD, OPTS);
  assert.is(file(lvm, 'etc/firstboot.d/data/default-storage.conf'),
    "XSPARTITIONS='/dev/sda3 /dev/sdb'\nXSTYPE='lvm'\nPARTITIONS='/dev/sda3 /dev/sdb'\nTYPE='lvm'\nSR_UUID='33333333-3333-4333-8333-333333333333'\n");
  const ext = planInstall(config(BASIC, '<installation srtype="ext">'), DISKS, CMD, OPTS);
  assert.match(file(ext, 'etc/firstboot.d/data/default-storage.conf'), /^XSPARTITIONS='\/dev\/sda3'\nXSTYPE='ext'\n/);
  const noSr = planInstall(config(BASIC.replace('<primary-disk>', '<primary-disk guest-storage="no">')), DISKS, CMD, OPTS);
  assert.not.ok(noSr.files.some((f) => f.path.endsWith('default-storage.conf')));
  assert.not.ok(noSr.layout.partitions.some((p) => p.role === 'sr'));
  const guestOnly = planInstall(config(`${BASIC.replace('<primary-disk>', '<primary-disk guest-storage="no">')}<guest-disk>nvme0n1</guest-disk>`), DISKS, CMD, OPTS);
  assert.match(file(guestOnly, 'etc/firstboot.d/data/default-storage.conf'), /^XSPARTITIONS='\/dev\/nvme0n1'$/m);
  assert.is(defaultStorageConf([], 'ext', 'u').split('\n')[0], "XSPARTITIONS=''");
});

test('fstab by label', () => {
  assert.is(fstab({ rootLabel: 'root-abcdef', logsLabel: 'logs-abcdef', swapLabel: 'swap-abcdef' }), [
    '# <file system>   <mount point> <type> <options>                               <dump> <pass>',
    'LABEL=root-abcdef /             ext3   defaults                                1      1',
    'LABEL=logs-abcdef /var/log      ext3   defaults,x-systemd.device-timeout=5min  0      2',
    'LABEL=swap-abcdef none          swap   sw,nofail,x-systemd.device-timeout=5min 0      0',
    '',
  ].join('\n'));
});

test('grub.cfg: serial default entry with the Xen and dom0 arguments, and a no-serial entry', () => {
  const cfg = file(planInstall(config(BASIC), DISKS, CMD, OPTS), 'boot/grub/grub.cfg');
  assert.is(cfg, grubConfig({ brand: 'XenServer', rootLabel: 'root-abcdef', boot: DEFAULT_BOOT }));
  const lines = cfg.split('\n').map((l) => l.trim());
  assert.ok(lines.includes('serial --unit=0 --speed=115200'));
  assert.ok(lines.includes('set default=0'));
  const entries = cfg.split('menuentry ').slice(1);
  assert.is(entries.length, 2);
  assert.match(entries[0]!, /^'XenServer' \{/);
  assert.ok(entries[0]!.includes('search --no-floppy --label --set=root root-abcdef'));
  assert.ok(entries[0]!.includes('multiboot2 /boot/xen.gz dom0_mem=1024M,max:1024M dom0_max_vcpus=1-2 com1=115200,8n1 console=com1,vga\n'));
  assert.ok(entries[0]!.includes('module2 /boot/vmlinuz root=LABEL=root-abcdef ro net.ifnames=0 console=tty0 console=hvc0\n'));
  assert.ok(entries[0]!.includes('module2 /boot/initrd.img\n'));
  assert.match(entries[1]!, /^'XenServer \(no serial console\)'/);
  assert.ok(entries[1]!.includes('multiboot2 /boot/xen.gz dom0_mem=1024M,max:1024M dom0_max_vcpus=1-2 console=vga\n'));
  assert.ok(entries[1]!.includes('module2 /boot/vmlinuz root=LABEL=root-abcdef ro net.ifnames=0 console=tty0\n'));
  assert.not.ok(entries[1]!.includes('com1'));
});

test('grub.cfg and DOM0_MEM follow the medium\'s boot values; a medium without them gets the defaults', () => {
  const boot = { serial: { port: 'com2', baud: 57600 }, xen: { dom0_mem: '2048M,max:4G', dom0_max_vcpus: '4', extra: ['loglvl=all'] } };
  const plan = planInstall(config(BASIC), DISKS, CMD, { ...OPTS, product: { ...PRODUCT, boot } });
  const cfg = file(plan, 'boot/grub/grub.cfg');
  assert.is(cfg, grubConfig({ brand: 'XenServer', rootLabel: 'root-abcdef', boot }));
  assert.ok(cfg.includes('\nserial --unit=1 --speed=57600\n'));
  assert.ok(cfg.includes('\tmultiboot2 /boot/xen.gz dom0_mem=2048M,max:4G dom0_max_vcpus=4 com2=57600,8n1 console=com2,vga loglvl=all\n'));
  assert.ok(cfg.includes('\tmultiboot2 /boot/xen.gz dom0_mem=2048M,max:4G dom0_max_vcpus=4 console=vga loglvl=all\n'));
  assert.match(file(plan, 'etc/xensource-inventory'), /^DOM0_MEM='4096'$/m);
  assert.match(formatInstallPlan(plan), /multiboot2 \/boot\/xen\.gz dom0_mem=2048M,max:4G dom0_max_vcpus=4 com2=57600,8n1/);
  const old = planInstall(config(BASIC), DISKS, CMD, OPTS);
  assert.match(file(old, 'etc/xensource-inventory'), /^DOM0_MEM='1024'$/m);
  assert.is(file(old, 'boot/grub/grub.cfg'), grubConfig({ brand: 'XenServer', rootLabel: 'root-abcdef', boot: DEFAULT_BOOT }));
});

test('root password: hash kept, plaintext hashed with SHA-512 crypt, absent locked; shadow line edit', () => {
  const hashed = planInstall(config(`${BASIC}<root-password type="hash">$6$x$abc</root-password>`), DISKS, CMD, OPTS);
  assert.equal(hashed.rootPassword, { kind: 'hash', hash: '$6$x$abc' });
  const plain = planInstall(config(`${BASIC}<root-password>p4ss word</root-password>`), DISKS, CMD, OPTS);
  assert.equal(plain.rootPassword, { kind: 'hashed-plaintext', hash: sha512Crypt('p4ss word', 'saltsaltsaltsalt') });
  assert.not.ok(installPlanJson(plain).includes('p4ss word') || formatInstallPlan(plain).includes('p4ss word'), 'no plaintext in the plan');
  assert.equal(planInstall(config(BASIC), DISKS, CMD, OPTS).rootPassword, { kind: 'locked', hash: '!!' });
  assert.throws(() => planInstall(config(`${BASIC}<root-password>x</root-password>`), DISKS, CMD, { ...OPTS, passwordSalt: undefined }), /salt/);
  assert.is(setShadowPassword('root:*:19000:0:99999:7:::\nbin:*:19000:0:99999:7:::\n', 'root', '$6$s$h'), 'root:$6$s$h:19000:0:99999:7:::\nbin:*:19000:0:99999:7:::\n');
  assert.is(setShadowPassword('bin:*:1::::::\n', 'root', '!!'), 'root:!!:0:0:99999:7:::\nbin:*:1::::::\n');
  assert.throws(() => setShadowPassword('', 'root', 'a:b'));
});

test('sha512crypt matches the specification\'s test vectors', () => {
  assert.is(sha512Crypt('Hello world!', 'saltstring'),
    '$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1');
  assert.is(sha512Crypt('Hello world!', 'saltstringsaltstring', 10000),
    '$6$rounds=10000$saltstringsaltst$OW1/O6BYHV6BcXZu8QVeXbDWra3Oeqh0sbHbbMCVNSnCM/UrjmM0Dp8vOuZeHBy/YTBmSK6H9qs/y3RnOaw5v.');
  assert.is(sha512Crypt('we have a short salt string but not a short password', 'short', 77777),
    '$6$rounds=77777$short$WuQyW2YR.hBNpjjRhpYD/ifIw05xdfeEyQoMxIXbkvr0gge1a1x3yRULJ5CCaUeOxFmtlcGZelFl5CxtgfiAc0');
  // checked against libxcrypt (python3 crypt.crypt), including a non-ASCII password
  assert.is(sha512Crypt('a short string', 'asaltof16chars..', 1000),
    '$6$rounds=1000$asaltof16chars..$rk5zk5.ds1b1IiNEv9FYP3.vld6KmfGD7JtlY/LdCUSQLhz0267kfFr6WB9IUJJQ0Zy.6XIlEm1bhq.gf4bRe/');
  assert.is(sha512Crypt('p4ss wörd', 'abcdefghijklmnop'),
    '$6$abcdefghijklmnop$Xgl27afp9t6qwPKlJAev5d5U3tcIDxo1MKn5fy045VH/ncX1/0CV.q2utqeYAblc2aGUbzREHxwKhknjlfrSZ0');
  assert.is(sha512Crypt('x', 's', 10), sha512Crypt('x', 's', 1000), 'rounds below 1000 are clamped to 1000 (specification)');
  assert.ok(sha512Crypt('x', 's', 10).startsWith('$6$rounds=1000$s$'));
  assert.is(cryptSaltFromBytes(new Uint8Array(16).fill(63)), 'z'.repeat(16));
});

test('chrony sources, netmask prefixes, partition device names', () => {
  assert.is(chronySources(['a.example', '10.0.0.1']), 'server a.example iburst\nserver 10.0.0.1 iburst\n');
  assert.is(chronySources([]), '');
  const plan = planInstall(config(`${BASIC}<ntp-server>ntp.example</ntp-server>`), DISKS, CMD, OPTS);
  assert.is(file(plan, 'etc/chrony/sources.d/xsforge.sources'), 'server ntp.example iburst\n');
  assert.not.ok(planInstall(config(BASIC), DISKS, CMD, OPTS).files.some((f) => f.path.includes('chrony')), 'no NTP servers: Debian\'s default sources');
  assert.is(netmaskPrefix('255.255.255.0'), 24);
  assert.is(netmaskPrefix('255.255.255.255'), 32);
  assert.is(netmaskPrefix('0.0.0.0'), 0);
  assert.is(netmaskPrefix('255.0.255.0'), undefined);
  assert.is(partitionDevice('/dev/sda', 3), '/dev/sda3');
  assert.is(partitionDevice('/dev/nvme0n1', 3), '/dev/nvme0n1p3');
  assert.is(partitionDevice('/dev/loop7', 1), '/dev/loop7p1');
  const nvme = planInstall(config(BASIC.replace('sda', 'nvme0n1')), DISKS, CMD, OPTS);
  assert.is(nvme.fileSystems[0]!.device, '/dev/nvme0n1p1');
});

test('the other files: hostname, hosts, timezone link, network backend, first-boot flag', () => {
  const plan = planInstall(config(`${BASIC}<timezone>Europe/London</timezone>`), DISKS, CMD, OPTS);
  assert.is(file(plan, 'etc/hostname'), 'xs1.lab.example\n');
  assert.match(file(plan, 'etc/hosts'), /^127\.0\.1\.1\txs1\.lab\.example xs1$/m);
  assert.is(file(plan, 'etc/timezone'), 'Europe/London\n');
  assert.equal(plan.files.find((f) => f.path === 'etc/localtime'), { kind: 'symlink', path: 'etc/localtime', target: '/usr/share/zoneinfo/Europe/London' });
  assert.is(file(plan, 'etc/xensource/network.conf'), 'bridge\n');
  assert.is(file(planInstall(config(`${BASIC}<network-backend>bridge</network-backend>`), DISKS, CMD, OPTS), 'etc/xensource/network.conf'), 'bridge\n');
  assert.is(file(plan, 'etc/firstboot.d/state/pending'), '');
  const dflt = planInstall(config('<primary-disk>sda</primary-disk><source type="local"/><admin-interface name="eth0" proto="dhcp"/>'), DISKS, CMD, OPTS);
  assert.is(file(dflt, 'etc/hostname'), 'localhost.localdomain\n');
  assert.not.match(file(dflt, 'etc/hosts'), /127\.0\.1\.1/);
  assert.is(file(dflt, 'etc/timezone'), 'Etc/UTC\n');
});

test('scripts by stage, human form of the plan', () => {
  const plan = planInstall(config(`${BASIC}<script stage="installation-start" type="url">http://h/a.sh</script>
    <post-install-script>http://h/b.sh</post-install-script><script stage="other" type="url">http://h/c.sh</script>`), DISKS, CMD, OPTS);
  assert.equal(plan.scripts['installation-start'].map((s) => s.url), ['http://h/a.sh']);
  assert.equal(plan.scripts['filesystem-populated'].map((s) => s.url), ['http://h/b.sh']);
  assert.equal(plan.scripts['installation-complete'], []);
  const text = formatInstallPlan(plan);
  assert.match(text, /^Installation plan: fresh install of XenServer 7\.1\.2 \(build 137272c\)$/m);
  assert.match(text, /target disk:\s+\/dev\/sda \(55\.9 GiB, 512-byte sectors\)/);
  assert.match(text, /^\s+1\s+root\s+46139392\s+83888127/m);
  assert.match(text, /installation-start: http:\/\/h\/a\.sh/);
  assert.match(text, /multiboot2 \/boot\/xen\.gz/);
});

test('installer network: interface choice and commands for DHCP and static', () => {
  const nics = [{ name: 'eth0', mac: '52:54:00:00:00:01', carrier: false }, { name: 'eth1', mac: '52:54:00:00:00:02', carrier: true }];
  assert.equal(selectInterfaces('all', nics), ['eth0', 'eth1']);
  assert.equal(selectInterfaces('eth1', nics), ['eth1']);
  assert.equal(selectInterfaces('52:54:00:00:00:01', nics), ['eth0']);
  assert.throws(() => selectInterfaces('eth5', nics), /no such network interface/);
  assert.throws(() => selectInterfaces('all', []), /No network interfaces/);
  const dhcp = networkSteps({ mode: 'dhcp' }, ['eth0', 'eth1'], nics, 'dhclient');
  assert.equal(dhcp.commands.at(-1), ['dhclient', '-1', '-v', '-pf', '/run/dhclient.pid', '-lf', '/run/dhclient.leases', 'eth0', 'eth1']);
  assert.equal(networkSteps({ mode: 'dhcp' }, ['eth0'], nics, 'udhcpc').alternatives, [['udhcpc', '-n', '-q', '-t', '10', '-i', 'eth0']]);
  assert.throws(() => networkSteps({ mode: 'dhcp' }, ['eth0'], nics, undefined), /DHCP client/);
  const net = parseCmdline('network_config=static:ip=10.1.2.3;netmask=255.255.255.0;gateway=10.1.2.1;dns=10.1.2.2;domain=lab').cmdline.networkConfig;
  const st = networkSteps(net, ['eth0', 'eth1'], nics, undefined);
  assert.equal(st.commands, [
    ['ip', 'link', 'set', 'dev', 'eth1', 'up'],
    ['ip', 'addr', 'add', '10.1.2.3/24', 'dev', 'eth1'],
    ['ip', 'route', 'add', 'default', 'via', '10.1.2.1', 'dev', 'eth1'],
  ], 'the interface with a link');
  assert.is(st.resolvConf, '# written by the installer\nsearch lab\nnameserver 10.1.2.2\n');
});

test('install media candidates, NFS URLs, root.json', () => {
  assert.equal(mediaCandidates(['sda', 'sda1', 'sdb', 'sdb1', 'sr0', 'loop0', 'nvme0n1', 'nvme0n1p1', 'dm-0'], ['/dev/sda']),
    ['sr0', 'nvme0n1', 'nvme0n1p1', 'sdb', 'sdb1']);
  assert.equal(splitNfsUrl('nfs://server:/export/xs/answer.xml'), { server: 'server', dir: '/export/xs', file: 'answer.xml' });
  assert.throws(() => splitNfsUrl('nfs://server/export'), /nfs:\/\/server:\/path/);
  const m = parseRootManifest(JSON.stringify({ sha256: 'a'.repeat(64), size: 5, uncompressedSize: 9, kernelRelease: 'k', xenVersion: 'x', packages: [] }), 'root.json');
  assert.is(m.size, 5);
  assert.throws(() => parseRootManifest('{"sha256":"x","size":1}', 'root.json'), /64 hex digits/);
  assert.throws(() => parseRootManifest('nope', 'root.json'), /not JSON/);
});

test('xsforge answerfile plan: disk lists, and the plan for a file on made-up disks', () => {
  assert.equal(parseDiskList('sda:60GB,/dev/sdb:100G,nvme0n1:2TB:4096'), [
    { name: 'sda', path: '/dev/sda', sizeBytes: 60e9, sectorSize: 512 },
    { name: 'sdb', path: '/dev/sdb', sizeBytes: 100 * 2 ** 30, sectorSize: 512 },
    { name: 'nvme0n1', path: '/dev/nvme0n1', sizeBytes: 2e12, sectorSize: 4096 },
  ]);
  assert.throws(() => parseDiskList('sda'), /NAME:SIZE/);
  assert.throws(() => parseDiskList('sda:60GB,sda:1TB'), /twice/);
  const dir = mkdtempSync(join(tmpdir(), 'xsf-af-plan-'));
  try {
    const f = join(dir, 'a.xml');
    writeFileSync(f, `<installation>${BASIC}<guest-disk>sdb</guest-disk></installation>`);
    const plan = planAnswerFile(f, { disk: parseDiskList('sda:60GB,sdb:100GB'), nic: [], labelSuffix: 'qwerty', uefi: true });
    assert.is(plan.bootMode, 'uefi');
    assert.equal(plan.srDevices, ['/dev/sda3', '/dev/sdb']);
    assert.is(plan.fileSystems[0]!.label, 'root-qwerty');
    assert.is(plan.product.brand, 'XenServer');
    assert.throws(() => planAnswerFile(f, { disk: parseDiskList('sda:20GiB,sdb:1TB'), nic: [], disableGpt: true, uefi: true }), /UEFI boot requires the partition type to be GPT/);
    writeFileSync(f, '<installation><source type="local"/></installation>');
    assert.throws(() => planAnswerFile(f, { disk: parseDiskList('sda:60GB'), nic: [] }), /a\.xml:1: Missing mandatory element primary-disk/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();

// Disks and roots of existing installations, as bytes and file maps, for the
// upgrade planners' unit tests (no tools: superblocks are written field by field
// at the offsets the ext4 documentation gives; the integration test checks the
// reader against mke2fs's own).
import { ATTR_LEGACY_BIOS_BOOTABLE, type ExistingPartition, type LayoutPlan } from '../../disk/layout.ts';
import type { DiskProbe } from '../../upgrade/detect.ts';
import type { RootFiles } from '../../upgrade/model.ts';

/** The first 2 KiB of a partition holding an ext3 file system with this label. */
export function extStart(label: string, opts: { uuid?: string; journal?: boolean; extents?: boolean; blocks?: number } = {}): Uint8Array {
  const b = Buffer.alloc(2048);
  const sb = b.subarray(1024);
  sb.writeUInt32LE(4096, 0); // inodes
  sb.writeUInt32LE(opts.blocks ?? 16384, 4);
  sb.writeUInt32LE(2, 24); // 4 KiB blocks
  sb.writeUInt16LE(0xef53, 56);
  sb.writeUInt16LE(1, 58); // clean
  sb.writeUInt32LE(1, 76);
  sb.writeUInt32LE(opts.journal === false ? 0 : 0x4, 92);
  sb.writeUInt32LE(opts.extents ? 0x40 : 0x2, 96);
  Buffer.from((opts.uuid ?? '0123456789abcdef0123456789abcdef').replace(/-/g, ''), 'hex').copy(sb, 104);
  sb.write(label, 120, 16, 'utf8');
  return b;
}

/** A plan's partitions as a table reader returns them. */
export function existingOf(plan: LayoutPlan): ExistingPartition[] {
  return plan.partitions.map((p) => plan.tableType === 'gpt'
    ? { number: p.number, firstSector: p.firstSector, sectorCount: p.sectorCount, typeGuid: p.typeGuid!, uniqueGuid: p.uniqueGuid ?? `00000000-0000-0000-0000-${String(p.number).padStart(12, '0')}`,
      name: p.name ?? '', attributes: (p.attributes ?? 0n) | (p.active ? ATTR_LEGACY_BIOS_BOOTABLE : 0n) }
    : { number: p.number, firstSector: p.firstSector, sectorCount: p.sectorCount, dosId: p.dosId!, active: p.active ?? false });
}

/** A probe of a disk laid out by `plan`, with ext file systems on its labelled ext3 partitions (and `extra` labels). */
export function probeOf(plan: LayoutPlan, diskName: string, extra: Record<number, string> = {}): DiskProbe {
  const starts: Record<number, Uint8Array> = {};
  for (const p of plan.partitions) if (p.fsType === 'ext3' && p.label) starts[p.number] = extStart(p.label);
  for (const [n, label] of Object.entries(extra)) starts[Number(n)] = extStart(label);
  return {
    diskName, sizeBytes: plan.diskSectors * plan.sectorSize,
    table: { tableType: plan.tableType, diskSectors: plan.diskSectors, sectorSize: plan.sectorSize, existing: existingOf(plan),
      ...(plan.diskGuid && { diskGuid: plan.diskGuid }), ...(plan.diskSignature !== undefined && { diskSignature: plan.diskSignature }) },
    partitionStarts: starts,
  };
}

export const PRODUCT_71 = { brand: 'XenServer', version: '7.1.2', build_number: '137272c', platform: { name: 'xenenterprise', version: '2.2.0' } };

/** The files of an installed root, as a fresh install and first boot leave them. */
export function installedRoot(o: { version?: string; platformVersion?: string; brand?: string; extSr?: boolean; firstBootDone?: boolean } = {}): RootFiles {
  const files: RootFiles = {
    '/etc/xensource-inventory': [
      `PRODUCT_BRAND='${o.brand ?? 'XenServer'}'`, `PRODUCT_VERSION='${o.version ?? '7.1.0'}'`, "PLATFORM_NAME='xenenterprise'",
      `PLATFORM_VERSION='${o.platformVersion ?? '2.2.0'}'`, "BUILD_NUMBER='1000a'", "INSTALLATION_DATE='2024-01-01 00:00:00'",
      "INSTALLATION_UUID='11111111-2222-3333-4444-555555555555'", "CONTROL_DOMAIN_UUID='66666666-7777-8888-9999-000000000000'",
      "PRIMARY_DISK='/dev/sda'", "BACKUP_PARTITION='/dev/sda2'", "PARTITION_LAYOUT='ROOT,BACKUP,LOG,BOOT,SWAP,SR'",
      "DEFAULT_SR_PHYSDEVS='/dev/sda3'", "DOM0_MEM='1024'", "MANAGEMENT_INTERFACE='xenbr0'", "MANAGEMENT_ADDRESS_TYPE='IPv4'",
      "SR_UUID='aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee'", `SR_TYPE='${o.extSr ? 'ext' : 'lvm'}'`, '',
    ].join('\n'),
    '/etc/xenserver-release': `XenServer release ${o.version ?? '7.1.0'}-1000a (xenenterprise 2.2.0)\n`,
    '/etc/hostname': 'host-a.example.com\n',
    '/etc/hosts': '127.0.0.1\tlocalhost\n127.0.1.1\thost-a.example.com host-a\n',
    '/etc/resolv.conf': '# written by the installer\nsearch example.com\nnameserver 192.0.2.53\n',
    '/etc/timezone': 'Europe/London\n',
    '/etc/localtime': { symlink: '/usr/share/zoneinfo/Europe/London' },
    '/etc/machine-id': '0123456789abcdef0123456789abcdef\n',
    '/etc/chrony/sources.d/xsforge.sources': 'server ntp.example.com iburst\n',
    '/etc/shadow': 'root:$6$salt$hashhashhash:19000:0:99999:7:::\ndaemon:*:19000:0:99999:7:::\n',
    '/etc/fstab': `LABEL=root-abcdef / ext3 defaults 1 1\n${o.extSr ? '/dev/XSLocalEXT-aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee/aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee /var/run/sr-mount/aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee ext4 defaults,nofail 0 2\n' : ''}`,
    '/etc/xensource/network.conf': 'openvswitch\n',
    '/etc/xensource/local-sr.conf': "SR_UUID='aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee'\nSR_TYPE='lvm'\nSR_DEVICES='/dev/sda3'\nVG_NAME='VG_XenStorage-aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee'\n",
    '/etc/firstboot.d/data/management.conf': "LABEL='eth0'\nMODE='static'\nIP='192.0.2.10'\nNETMASK='255.255.255.0'\nGATEWAY='192.0.2.1'\nDNS1='192.0.2.53'\n",
    '/etc/firstboot.d/data/default-storage.conf': "XSPARTITIONS='/dev/sda3'\nXSTYPE='lvm'\n",
    '/etc/systemd/network/10-xsforge-eth0.network': '[Match]\nName=eth0\n\n[Network]\nAddress=192.0.2.10/24\n',
    '/etc/ssh/ssh_host_ed25519_key': '-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n-----END OPENSSH PRIVATE KEY-----\n',
    '/etc/ssh/ssh_host_ed25519_key.pub': 'ssh-ed25519 AAAA root@host-a\n',
    '/etc/ssh/sshd_config': 'PermitRootLogin yes\n',
    '/root/notes.txt': 'left by the admin\n',
  };
  if (o.firstBootDone !== false) files['/etc/firstboot.d/state/done'] = '2024-01-01T00:00:00Z XSFORGE-FIRSTBOOT-DONE sr=aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee type=lvm mgmt=eth0 mode=static\n';
  else files['/etc/firstboot.d/state/pending'] = '';
  return files;
}

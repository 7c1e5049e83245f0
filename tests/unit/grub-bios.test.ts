import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { BiosBootError, biosBootSectors, readBiosBoot } from '../../preinstall/grub-bios.ts';
import { derivedIdentity, diskImageConfig, DiskImageError } from '../../preinstall/disk-image.ts';

function fakeBootImg(): Buffer {
  const b = Buffer.alloc(512, 0xcc);
  b.writeUInt16LE(0xaa55, 510);
  return b;
}

function protectiveMbr(): Buffer {
  const m = Buffer.alloc(512);
  m.writeUInt32LE(0x12345678, 0x1b8); // disk signature
  m[0x1be + 4] = 0xee; // protective entry
  m.writeUInt16LE(0xaa55, 510);
  return m;
}

test('boot.img keeps the disk\'s partition table and signature and points at core.img', () => {
  const core = Buffer.alloc(512 * 40 + 100, 0x11);
  const s = biosBootSectors({ mbr: protectiveMbr(), bootImg: fakeBootImg(), coreImg: core, coreLba: 83888128, coreAreaSectors: 1048576 });
  assert.is(s.mbr.length, 512);
  assert.is(s.mbr.readUInt32LE(0x1b8), 0x12345678);
  assert.is(s.mbr[0x1be + 4], 0xee);
  assert.is(s.mbr.readUInt16LE(510), 0xaa55);
  assert.is(s.mbr[0], 0xcc); // the code itself is boot.img's
  assert.is(s.mbr[0x5b], 0xcc);
  assert.is(s.mbr[0x66], 0x90);
  assert.is(s.mbr[0x67], 0x90);
  assert.is(s.coreSectors, 41);
  assert.is(s.core.length, 41 * 512);
  const r = readBiosBoot(s.mbr, s.core.subarray(0, 512));
  assert.equal(r, { coreLba: 83888128, bootDrive: 0xff, blockStart: 83888129, blockSectors: 40, blockSegment: 0x820 });
  // the rest of core.img is untouched
  assert.is(s.core[512], 0x11);
  assert.is(s.core[512 * 40 + 99], 0x11);
  assert.is(s.core[512 * 40 + 100], 0);
});

test('the BPB area comes from the disk, not from boot.img', () => {
  const mbr = protectiveMbr();
  mbr.fill(0x42, 0x03, 0x5a);
  const s = biosBootSectors({ mbr, bootImg: fakeBootImg(), coreImg: Buffer.alloc(2048), coreLba: 1, coreAreaSectors: 2047 });
  assert.is(s.mbr[0x03], 0x42);
  assert.is(s.mbr[0x59], 0x42);
  assert.is(s.mbr[0x5a], 0xcc);
});

test('a core image larger than its area, a bad boot.img or sector 0 as target are refused', () => {
  const base = { mbr: protectiveMbr(), bootImg: fakeBootImg(), coreImg: Buffer.alloc(512 * 100), coreLba: 1 };
  assert.throws(() => biosBootSectors({ ...base, coreAreaSectors: 62 }), (e: Error) => e instanceof BiosBootError && /needs 100 sectors but only 62/.test(e.message));
  assert.throws(() => biosBootSectors({ ...base, bootImg: Buffer.alloc(512), coreAreaSectors: 2047 }), /no 0xAA55 signature/);
  assert.throws(() => biosBootSectors({ ...base, coreLba: 0, coreAreaSectors: 2047 }), /cannot start at sector 0/);
  assert.throws(() => biosBootSectors({ ...base, mbr: Buffer.alloc(100), coreAreaSectors: 2047 }), /sector 0 must be 512 bytes/);
});

test('derived identities are stable, distinct per seed and well-formed', () => {
  const a = derivedIdentity('seed-a');
  const b = derivedIdentity('seed-a');
  const c = derivedIdentity('seed-b');
  assert.equal(a.uuids, b.uuids);
  assert.is(a.labelSuffix, b.labelSuffix);
  assert.is.not(a.uuids.installation, c.uuids.installation);
  assert.match(a.labelSuffix, /^[a-z]{6}$/);
  for (const u of Object.values(a.uuids)) assert.match(u, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  assert.is(new Set(Object.values(a.uuids)).size, 3);
  assert.match(a.passwordSalt, /^[./0-9A-Za-z]{16}$/);
  assert.is.not(a.fsUuid('root'), a.fsUuid('logs'));
});

const answer = (extra = '', root = 'installation mode="fresh"') => `<?xml version="1.0"?>
<${root}>
  <primary-disk>sda</primary-disk>
  <root-password type="hash">$6$x$y</root-password>
  <source type="local"/>
  <admin-interface name="eth0" proto="dhcp"/>
  <timezone>UTC</timezone>
${extra}</${root.split(' ')[0]}>`;

test('disk-image takes a plain fresh install and refuses what needs a booted installer', () => {
  assert.is(diskImageConfig('a.xml', answer()).primaryDisk, '/dev/sda');
  const refuses = (text: string, re: RegExp) => assert.throws(() => diskImageConfig('a.xml', text), (e: Error) => e instanceof DiskImageError && re.test(e.message));
  refuses(answer('<guest-disk>sdb</guest-disk>'), /<guest-disk> names other disks \(\/dev\/sdb\)/);
  refuses(answer('<script stage="installation-start" type="url">http://x/s</script>'), /does not run answer-file scripts/);
  refuses(answer('<driver-source type="url">http://x/d</driver-source>'), /<driver-source> needs a booted installer/);
  refuses(answer('', 'installation mode="upgrade"').replace('<primary-disk>sda</primary-disk>', '<existing-installation>sda</existing-installation>'), /mode="upgrade"/);
  refuses('<installation>', /a\.xml is not a valid answer file/);
  refuses(answer('<source type="url">http://x/pack</source>'), /1 supplemental pack <source> element\(s\) after the first are not installed/);
});

test.run();

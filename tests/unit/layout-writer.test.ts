// Our GPT and MBR writers and readers, CRC-32 and GUID encoding (pure, bytes only).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { crc32, crc32Pure } from '../../disk/crc32.ts';
import { guidFromBytes, guidFromSeed, guidToBytes } from '../../disk/guid.ts';
import { parseGptHeader, readGpt, readGptBackup, writeGpt, type GptInput } from '../../disk/gpt.ts';
import { chsBytes, protectiveMbr, readMbr, writeMbr } from '../../disk/mbr.ts';
import { TYPE_GUID, planLayout } from '../../disk/layout.ts';
import { renderTable, tableFromPlan } from '../../disk/table.ts';

const N = 117187500; // a 60 GB disk
const sample = (): GptInput => ({
  diskSectors: N,
  diskGuid: guidFromSeed('t', 'disk'),
  partitions: [
    { number: 5, firstSector: 2048, lastSector: 8390655, typeGuid: TYPE_GUID.basicData, uniqueGuid: guidFromSeed('t', '5') },
    { number: 1, firstSector: 46139392, lastSector: 83888127, typeGuid: TYPE_GUID.basicData, uniqueGuid: guidFromSeed('t', '1'), name: 'root' },
    { number: 4, firstSector: 83888128, lastSector: 84936703, typeGuid: TYPE_GUID.biosBoot, uniqueGuid: guidFromSeed('t', '4'), attributes: 4n },
    { number: 3, firstSector: 87033856, lastSector: N - 34, typeGuid: TYPE_GUID.lvm, uniqueGuid: guidFromSeed('t', '3'), name: 'ünïcode SR', attributes: 1n << 63n },
  ],
});

test('crc32: the standard check value, zlib and the pure fallback agree', () => {
  const data = Buffer.from('123456789');
  assert.is(crc32(data), 0xcbf43926);
  assert.is(crc32Pure(data), 0xcbf43926);
  const big = Buffer.alloc(16384);
  for (let i = 0; i < big.length; i++) big[i] = (i * 7919) & 0xff;
  assert.is(crc32Pure(big), crc32(big));
  assert.is(crc32Pure(big.subarray(100), crc32Pure(big.subarray(0, 100))), crc32Pure(big), 'continuation');
  assert.is(crc32(Buffer.alloc(0)), 0);
});

test('GUIDs: mixed-endian on disk, text round trip, v4 bits from seeds', () => {
  assert.is(guidToBytes(TYPE_GUID.esp).toString('hex'), '28732ac11ff8d211ba4b00a0c93ec93b');
  assert.is(guidFromBytes(guidToBytes(TYPE_GUID.lvm)), TYPE_GUID.lvm);
  assert.is(guidFromBytes(guidToBytes('0657fd6d-a4ab-43c4-84e5-0933c84b4f4f')), TYPE_GUID.swap);
  assert.is(guidFromSeed('a', 'x'), guidFromSeed('a', 'x'));
  assert.is.not(guidFromSeed('a', 'x'), guidFromSeed('a', 'y'));
  assert.match(guidFromSeed('a', 'x'), /^[0-9A-F]{8}-[0-9A-F]{4}-4[0-9A-F]{3}-[89AB][0-9A-F]{3}-[0-9A-F]{12}$/);
  assert.throws(() => guidToBytes('not-a-guid'), /not a GUID/);
});

test('writeGpt: primary header fields and both CRCs, computed independently', () => {
  const img = writeGpt(sample());
  assert.is(img.primary.length, 34 * 512);
  const h = img.primary.subarray(512, 1024);
  assert.is(h.toString('latin1', 0, 8), 'EFI PART');
  assert.is(h.readUInt32LE(8), 0x00010000);
  assert.is(h.readUInt32LE(12), 92);
  assert.is(h.readBigUInt64LE(24), 1n);
  assert.is(h.readBigUInt64LE(32), BigInt(N - 1));
  assert.is(h.readBigUInt64LE(40), 34n);
  assert.is(h.readBigUInt64LE(48), BigInt(N - 34));
  assert.is(guidFromBytes(h, 56), sample().diskGuid);
  assert.is(h.readBigUInt64LE(72), 2n);
  assert.is(h.readUInt32LE(80), 128);
  assert.is(h.readUInt32LE(84), 128);
  const entries = img.primary.subarray(1024, 1024 + 16384);
  assert.is(h.readUInt32LE(88), crc32Pure(entries));
  const copy = Buffer.from(h.subarray(0, 92));
  copy.writeUInt32LE(0, 16);
  assert.is(h.readUInt32LE(16), crc32Pure(copy));
  assert.ok(h.subarray(92).every((b) => b === 0), 'rest of the header sector is zero');
  // entry 5 lives in slot 4
  const e5 = entries.subarray(4 * 128, 5 * 128);
  assert.is(guidFromBytes(e5, 0), TYPE_GUID.basicData);
  assert.is(e5.readBigUInt64LE(32), 2048n);
  assert.is(e5.readBigUInt64LE(40), 8390655n);
  assert.ok(entries.subarray(1 * 128, 2 * 128).every((b) => b === 0), 'slot of unused partition 2 is empty');
});

test('writeGpt: backup header has current/backup LBAs swapped and its entries before it', () => {
  const img = writeGpt(sample());
  assert.is(img.backup.length, 33 * 512);
  assert.is(img.backupOffset, (N - 33) * 512);
  const hb = parseGptHeader(img.backup.subarray(32 * 512));
  const hp = parseGptHeader(img.primary.subarray(512, 1024));
  assert.ok(hb.headerCrcOk);
  assert.is(hb.currentLba, BigInt(N - 1));
  assert.is(hb.backupLba, 1n);
  assert.is(hb.entriesLba, BigInt(N - 33));
  assert.is(hb.firstUsableLba, hp.firstUsableLba);
  assert.is(hb.lastUsableLba, hp.lastUsableLba);
  assert.is(hb.diskGuid, hp.diskGuid);
  assert.is(hb.entriesCrc, hp.entriesCrc);
  assert.is.not(hb.headerCrc, hp.headerCrc);
  assert.ok(img.backup.subarray(0, 16384).equals(img.primary.subarray(1024, 1024 + 16384)));
  // where the backup lands: its entries at LBA N-33, its header in the very last sector
  assert.is(img.backupOffset + img.backup.length, N * 512);
});

test('readGpt(writeGpt(x)) gives x back; readGptBackup agrees', () => {
  const input = sample();
  const img = writeGpt(input);
  const read = readGpt(img.primary);
  assert.ok(read.header.headerCrcOk);
  assert.ok(read.entriesCrcOk);
  const want = [...input.partitions].sort((a, b) => a.number - b.number)
    .map((p) => ({ number: p.number, typeGuid: p.typeGuid, uniqueGuid: p.uniqueGuid, firstSector: p.firstSector, lastSector: p.lastSector, attributes: p.attributes ?? 0n, name: p.name ?? '' }));
  assert.equal(read.partitions, want);
  const backup = readGptBackup(img.backup);
  assert.ok(backup.entriesCrcOk && backup.header.headerCrcOk);
  assert.equal(backup.partitions, want);
  assert.ok(read.protectiveMbr.protective);
});

test('readGpt notices corrupted headers and entry arrays', () => {
  const img = writeGpt(sample());
  const badEntries = Buffer.from(img.primary);
  badEntries[1024 + 40] ^= 1;
  const r1 = readGpt(badEntries);
  assert.ok(r1.header.headerCrcOk);
  assert.not.ok(r1.entriesCrcOk);
  const badHeader = Buffer.from(img.primary);
  badHeader[512 + 48] ^= 1;
  assert.not.ok(readGpt(badHeader).header.headerCrcOk);
  assert.throws(() => readGpt(Buffer.alloc(34 * 512)), /no GPT header/);
});

test('protective MBR: one 0xEE entry from LBA 1, capped at 0xFFFFFFFF, active only without an ESP', () => {
  const img = writeGpt(sample());
  const m = readMbr(img.primary);
  assert.ok(m.signatureOk);
  assert.is(m.partitions.length, 1);
  assert.equal([m.partitions[0].id, m.partitions[0].firstSector, m.partitions[0].sectorCount], [0xee, 1, N - 1]);
  assert.is(m.partitions[0].active, true, 'no ESP: flagged active (CA-54144)');
  assert.equal(m.partitions[0].chsFirst, [0x00, 0x02, 0x00]);
  assert.equal(m.partitions[0].chsLast, [0xfe, 0xff, 0xff]);
  const withEsp = sample();
  withEsp.partitions[2].typeGuid = TYPE_GUID.esp;
  assert.is(readMbr(writeGpt(withEsp).primary).partitions[0].active, false);
  const huge = readMbr(protectiveMbr(4e12 / 512));
  assert.is(huge.partitions[0].sectorCount, 0xffffffff);
});

test('writeGpt refuses overlaps, out-of-range sectors, duplicate numbers and GUIDs', () => {
  const over = sample();
  over.partitions[1].firstSector = 8390000;
  assert.throws(() => writeGpt(over), /overlap/);
  const past = sample();
  past.partitions[3].lastSector = N - 33;
  assert.throws(() => writeGpt(past), /outside the usable area 34\.\.117187466/);
  const early = sample();
  early.partitions[0].firstSector = 33;
  assert.throws(() => writeGpt(early), /outside the usable area/);
  const dup = sample();
  dup.partitions[1].number = 5;
  assert.throws(() => writeGpt(dup), /given twice/);
  const dupGuid = sample();
  dupGuid.partitions[1].uniqueGuid = dupGuid.partitions[0].uniqueGuid;
  assert.throws(() => writeGpt(dupGuid), /used twice/);
  const longName = sample();
  longName.partitions[0].name = 'x'.repeat(37);
  assert.throws(() => writeGpt(longName), /longer than 36/);
});

test('4096-byte sectors: entries take 4 sectors, usable 6 .. N-6', () => {
  const n = Math.floor(60e9 / 4096);
  const img = writeGpt({ diskSectors: n, sectorSize: 4096, diskGuid: guidFromSeed('x', 'd'),
    partitions: [{ number: 1, firstSector: 256, lastSector: n - 6, typeGuid: TYPE_GUID.lvm, uniqueGuid: guidFromSeed('x', '1') }] });
  assert.is(img.primary.length, 6 * 4096);
  assert.is(img.backup.length, 5 * 4096);
  assert.is(img.backupOffset, (n - 5) * 4096);
  const r = readGpt(img.primary, 4096);
  assert.equal([r.header.firstUsableLba, r.header.lastUsableLba, r.header.entriesLba], [6n, BigInt(n - 6), 2n]);
  assert.ok(r.entriesCrcOk && r.header.headerCrcOk);
  assert.is(readGptBackup(img.backup, 4096).header.entriesLba, BigInt(n - 5));
});

test('writeMbr: entries, CHS as sfdisk computes them, boot flag, signature; readMbr round trip', () => {
  const mbr = writeMbr({ diskSignature: 0xdeadbeef, partitions: [
    { number: 1, firstSector: 63, sectorCount: 8388608, id: 0x83, active: true },
    { number: 2, firstSector: 8388671, sectorCount: 8388608, id: 0x83 },
    { number: 3, firstSector: 16777279, sectorCount: 25152371, id: 0x8e },
  ] });
  assert.is(mbr.length, 512);
  assert.is(mbr.readUInt16BE(510), 0x55aa);
  assert.is(mbr.readUInt32LE(440), 0xdeadbeef);
  assert.ok(mbr.subarray(0, 440).every((b) => b === 0));
  // LBA 63 = cylinder 0, head 1, sector 1; LBA 8388670 = cylinder 522, head 43, sector 32
  assert.equal([...mbr.subarray(446, 454)], [0x80, 1, 1, 0, 0x83, 43, 32 | 0x80, 522 & 0xff]);
  // partition 3 ends past cylinder 1023
  assert.equal([...mbr.subarray(478, 486)], [0x00, 0xfe, 0xff, 0xff, 0x8e, 0xfe, 0xff, 0xff]);
  const r = readMbr(mbr);
  assert.is(r.diskSignature, 0xdeadbeef);
  assert.not.ok(r.protective);
  assert.equal(r.partitions.map((p) => [p.number, p.firstSector, p.sectorCount, p.id, p.active]), [
    [1, 63, 8388608, 0x83, true], [2, 8388671, 8388608, 0x83, false], [3, 16777279, 25152371, 0x8e, false],
  ]);
  // cylinder bits 8-9 go in the top of the sector byte; past cylinder 1023 it is FE FF FF
  assert.equal(chsBytes(1023 * 255 * 63 - 1), [254, 0xff, 0xfe]);
  assert.equal(chsBytes(1023 * 255 * 63 + 63), [1, 0xc1, 0xff]);
  assert.equal(chsBytes(1024 * 255 * 63), [0xfe, 0xff, 0xff]);
  assert.equal(chsBytes(16065 * 5 + 63 * 2 + 3), [2, 4, 5]);
});

test('writeMbr refuses numbers past 4, overlaps and 32-bit overflow', () => {
  const p = (number: number, firstSector: number, sectorCount: number) => ({ number, firstSector, sectorCount, id: 0x83 });
  assert.throws(() => writeMbr({ diskSignature: 0, partitions: [p(5, 63, 10)] }), /not 1\.\.4/);
  assert.throws(() => writeMbr({ diskSignature: 0, partitions: [p(1, 63, 100), p(2, 100, 10)] }), /overlap/);
  assert.throws(() => writeMbr({ diskSignature: 0, partitions: [p(1, 2 ** 32 - 5, 10)] }), /32-bit/);
  assert.throws(() => writeMbr({ diskSignature: 0, partitions: [p(1, 0, 10)] }), /overlaps the MBR/);
});

test('renderTable: a BIOS plan sets legacy-BIOS-bootable on the boot partition; DOS marks root active', () => {
  const plan = planLayout({ scheme: 'gpt', diskSectors: N, guestStorage: true, uefi: false, diskName: 'd', guidSeed: 's' });
  const t = tableFromPlan(plan);
  assert.is(t.tableType, 'gpt');
  const rendered = renderTable(plan);
  const read = readGpt(rendered.gpt!.primary);
  assert.equal(read.partitions.map((x) => [x.number, x.attributes]), [[1, 0n], [2, 0n], [3, 0n], [4, 4n], [5, 0n], [6, 0n]]);
  assert.is(read.header.diskGuid, plan.diskGuid);
  assert.equal(rendered.regions.map((r) => r.offset), [440, (N - 33) * 512]);
  const dos = planLayout({ scheme: 'dos', diskSectors: 20 * 2 ** 21, guestStorage: true, uefi: false, diskName: 'd', guidSeed: 's' });
  const m = readMbr(renderTable(dos).mbr!);
  assert.equal(m.partitions.map((x) => x.active), [true, false, false]);
  assert.is(m.diskSignature, dos.diskSignature);
  assert.throws(() => tableFromPlan(planLayout({ scheme: 'gpt', diskSectors: N, guestStorage: true, uefi: false, diskName: 'd' })), /guidSeed/);
});

test.run();

// The reader against a tiny ISO assembled byte by byte here, so each structure
// (Rock Ridge NM/SL continuations, CE areas, multi-extent files, El Torito
// sections, MBR + GPT) is exercised without any tool.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  IsoImage, bufferSource, parseBootCatalog, parseSuspEntries, parseDecDatetime, decodeRockRidge,
  modeString, formatGuid, crc32, isoName, looksLikeIso, IsoFormatError, parseMbr,
} from '../../media/iso9660.ts';

const S = 2048;

function both32(n: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeUInt32LE(n, 0);
  b.writeUInt32BE(n, 4);
  return b;
}
function both16(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt16LE(n, 0);
  b.writeUInt16BE(n, 2);
  return b;
}
function susp(sig: string, data: Buffer | number[]): Buffer {
  const d = Buffer.from(data);
  return Buffer.concat([Buffer.from(sig, 'latin1'), Buffer.from([4 + d.length, 1]), d]);
}
const SP = susp('SP', [0xbe, 0xef, 0]);
const ER = susp('ER', [...[10, 4, 3, 1], ...Buffer.from('RRIP_1991ADESCSRC', 'latin1')]);
const PX = (mode: number, uid = 0, gid = 0) => susp('PX', Buffer.concat([both32(mode), both32(1), both32(uid), both32(gid)]));
const NM = (name: string, cont = false) => susp('NM', [cont ? 1 : 0, ...Buffer.from(name)]);
const ST = susp('ST', []);

function dirRecord(o: { lba: number; size: number; flags?: number; id: Buffer; su?: Buffer; date?: number[] }): Buffer {
  const su = o.su ?? Buffer.alloc(0);
  const pad = o.id.length % 2 === 0 ? 1 : 0;
  let len = 33 + o.id.length + pad + su.length;
  if (len % 2) len++;
  const b = Buffer.alloc(len);
  b[0] = len;
  both32(o.lba).copy(b, 2);
  both32(o.size).copy(b, 10);
  Buffer.from(o.date ?? [124, 1, 2, 3, 4, 5, 0]).copy(b, 18);
  b[25] = o.flags ?? 0;
  both16(1).copy(b, 28);
  b[32] = o.id.length;
  o.id.copy(b, 33);
  su.copy(b, 33 + o.id.length + pad);
  return b;
}
const DOT = Buffer.from([0]);
const DOTDOT = Buffer.from([1]);
const id = (s: string) => Buffer.from(s, 'latin1');

function guidBytes(g: string): Buffer {
  const h = g.replace(/-/g, '');
  const b = Buffer.from(h, 'hex');
  b.subarray(0, 4).reverse();
  b.subarray(4, 6).reverse();
  b.subarray(6, 8).reverse();
  return b;
}

function pvd(): Buffer {
  const b = Buffer.alloc(S, 0);
  b[0] = 1;
  b.write('CD001', 1, 'latin1');
  b[6] = 1;
  b.write('LINUX'.padEnd(32), 8, 'latin1');
  b.write('TINYVOL'.padEnd(32), 40, 'latin1');
  both32(32).copy(b, 80);
  both16(1).copy(b, 120);
  both16(1).copy(b, 124);
  both16(S).copy(b, 128);
  dirRecord({ lba: 20, size: S, flags: 2, id: DOT }).copy(b, 156);
  b.write(' '.repeat(128), 190, 'latin1');
  b.write('ACME PUBLISHING'.padEnd(128), 318, 'latin1');
  b.write('TEST PREPARER'.padEnd(128), 446, 'latin1');
  b.write('XSFORGE'.padEnd(128), 574, 'latin1');
  // 2024-01-02 03:04:05.00 at UTC+01:00 (4 quarter hours)
  b.write('2024010203040500', 813, 'latin1');
  b[829] = 4;
  b.write('0000000000000000', 830, 'latin1');
  b[881] = 1;
  return b;
}

/** 32 blocks: system area, descriptors 16-19, directories 20/21/28, catalog 22, CE area 23, data 24-30. */
function buildIso(): Buffer {
  const img = Buffer.alloc(32 * S);
  // --- system area: MBR with an active whole-disk entry and an EFI entry; GPT at LBA 1 with one ESP
  img[446] = 0x80; img[446 + 4] = 0x00; img.writeUInt32LE(0, 446 + 8); img.writeUInt32LE(128, 446 + 12);
  img[462 + 4] = 0xef; img.writeUInt32LE(100, 462 + 8); img.writeUInt32LE(4, 462 + 12);
  img[510] = 0x55; img[511] = 0xaa;
  const entries = Buffer.alloc(4 * 128);
  guidBytes('C12A7328-F81F-11D2-BA4B-00A0C93EC93B').copy(entries, 0);
  guidBytes('11111111-2222-3333-4444-555555555555').copy(entries, 16);
  entries.writeBigUInt64LE(100n, 32);
  entries.writeBigUInt64LE(103n, 40);
  entries.write('EFI boot', 56, 'utf16le');
  entries.copy(img, 1024);
  const gptHeader = (current: number, backup: number, entriesLba: number) => {
    const h = Buffer.alloc(512);
    h.write('EFI PART', 0, 'latin1');
    h.writeUInt32LE(0x00010000, 8);
    h.writeUInt32LE(92, 12);
    h.writeBigUInt64LE(BigInt(current), 24);
    h.writeBigUInt64LE(BigInt(backup), 32);
    h.writeBigUInt64LE(3n, 40);
    h.writeBigUInt64LE(126n, 48);
    guidBytes('AAAAAAAA-BBBB-CCCC-DDDD-EEEEEEEEEEEE').copy(h, 56);
    h.writeBigUInt64LE(BigInt(entriesLba), 72);
    h.writeUInt32LE(4, 80);
    h.writeUInt32LE(128, 84);
    h.writeUInt32LE(crc32(entries), 88);
    h.writeUInt32LE(crc32(h.subarray(0, 92)), 16);
    return h;
  };
  gptHeader(1, 127, 2).copy(img, 512);
  gptHeader(127, 1, 123).copy(img, 127 * 512);

  // --- descriptors
  pvd().copy(img, 16 * S);
  const br = Buffer.alloc(S);
  br[0] = 0; br.write('CD001', 1, 'latin1'); br[6] = 1;
  br.write('EL TORITO SPECIFICATION', 7, 'latin1');
  br.writeUInt32LE(22, 71);
  br.copy(img, 17 * S);
  const svd = pvd();
  svd[0] = 2;
  svd.write('%/E', 88, 'latin1');
  dirRecord({ lba: 28, size: S, flags: 2, id: DOT }).copy(svd, 156);
  svd.copy(img, 18 * S);
  const term = Buffer.alloc(S);
  term[0] = 255; term.write('CD001', 1, 'latin1'); term[6] = 1;
  term.copy(img, 19 * S);

  // --- root directory (Rock Ridge)
  const tf = susp('TF', [0x02, 101, 2, 3, 4, 5, 6, 0]); // modify: 2001-02-03 04:05:06 UTC
  const sl1 = susp('SL', [1, 8, 0, 1, 2, ...Buffer.from('us')]); // "/" then "us" continued...
  const sl2 = susp('SL', [0, 0, 1, ...Buffer.from('r'), 0, 3, ...Buffer.from('lib'), 4, 0, 0, 1, ...Buffer.from('x')]);
  const ce = susp('CE', [...both32(23), ...both32(100), ...both32(0)]);
  const ceArea = Buffer.concat([NM('name-from-continuation-area'), PX(0o100600), ST]);
  ce.writeUInt32LE(ceArea.length, 20);
  ce.writeUInt32BE(ceArea.length, 24);
  const root = Buffer.concat([
    dirRecord({ lba: 20, size: S, flags: 2, id: DOT, su: Buffer.concat([SP, PX(0o40755), ER]) }),
    dirRecord({ lba: 20, size: S, flags: 2, id: DOTDOT, su: PX(0o40755) }),
    dirRecord({ lba: 26, size: S, flags: 0x80, id: id('BIG.BIN;1'), su: Buffer.concat([NM('big.bin'), PX(0o100644)]) }),
    dirRecord({ lba: 27, size: 100, id: id('BIG.BIN;1') }),
    dirRecord({ lba: 24, size: S, id: id('BOOT.BIN;1'), su: Buffer.concat([NM('boot.bin'), PX(0o100444)]) }),
    dirRecord({ lba: 22, size: S, id: id('BOOT.CAT;1'), su: Buffer.concat([NM('boot.cat'), PX(0o100444)]) }),
    dirRecord({ lba: 29, size: 6, id: id('CE.TXT;1'), su: ce }),
    dirRecord({ lba: 25, size: S, id: id('EFI.IMG;1'), su: Buffer.concat([NM('efi.img'), PX(0o100644)]) }),
    dirRecord({ lba: 29, size: 6, id: id('HELLO.TXT;1'), su: Buffer.concat([NM('hello-', true), NM('world.txt'), PX(0o100640, 1000, 100), tf]) }),
    dirRecord({ lba: 0, size: 0, id: id('LINK.;1'), su: Buffer.concat([NM('link'), PX(0o120777), sl1, sl2]) }),
    dirRecord({ lba: 21, size: S, flags: 2, id: id('SUB'), su: Buffer.concat([NM('Sub Dir'), PX(0o40755)]) }),
  ]);
  root.copy(img, 20 * S);
  Buffer.concat([
    dirRecord({ lba: 21, size: S, flags: 2, id: DOT, su: PX(0o40755) }),
    dirRecord({ lba: 20, size: S, flags: 2, id: DOTDOT, su: PX(0o40755) }),
    dirRecord({ lba: 30, size: 5, id: id('DEEP.TXT;1'), su: Buffer.concat([NM('deep.txt'), PX(0o100644)]) }),
  ]).copy(img, 21 * S);
  ceArea.copy(img, 23 * S + 100);

  // --- Joliet tree: one file, UCS-2 big-endian name
  const jname = Buffer.from('Joliet Name.txt;1', 'utf16le').swap16();
  Buffer.concat([
    dirRecord({ lba: 28, size: S, flags: 2, id: DOT }),
    dirRecord({ lba: 28, size: S, flags: 2, id: DOTDOT }),
    dirRecord({ lba: 29, size: 6, id: jname }),
  ]).copy(img, 28 * S);

  // --- boot catalog: validation + default (BIOS) + final section header (EFI) with one entry
  bootCatalog().copy(img, 22 * S);

  // --- data
  img.writeUInt32LE(16, 24 * S + 8); // boot info table: PVD block, own block, length
  img.writeUInt32LE(24, 24 * S + 12);
  img.writeUInt32LE(S, 24 * S + 16);
  img.fill(0xaa, 26 * S, 27 * S);
  img.fill(0xbb, 27 * S, 27 * S + 100);
  img.write('hello\n', 29 * S, 'latin1');
  img.write('deep\n', 30 * S, 'latin1');
  return img;
}

function bootCatalog(): Buffer {
  const c = Buffer.alloc(S);
  c[0] = 1; c[1] = 0; c.write('XSFORGE TEST', 4, 'latin1'); c[30] = 0x55; c[31] = 0xaa;
  let sum = 0;
  for (let i = 0; i < 32; i += 2) sum = (sum + c.readUInt16LE(i)) & 0xffff;
  c.writeUInt16LE((0x10000 - sum) & 0xffff, 28);
  c[32] = 0x88; c.writeUInt16LE(4, 32 + 6); c.writeUInt32LE(24, 32 + 8);
  c[64] = 0x91; c[65] = 0xef; c.writeUInt16LE(1, 66); c.write('UEFI', 68, 'latin1');
  c[96] = 0x88; c.writeUInt16LE(4, 96 + 6); c.writeUInt32LE(25, 96 + 8);
  return c;
}

test('volume descriptor fields, dates with time-zone offsets', async () => {
  const iso = await IsoImage.open(bufferSource(buildIso()));
  assert.is(iso.pvd.volumeId, 'TINYVOL');
  assert.is(iso.pvd.systemId, 'LINUX');
  assert.is(iso.pvd.publisherId, 'ACME PUBLISHING');
  assert.is(iso.pvd.applicationId, 'XSFORGE');
  assert.is(iso.pvd.volumeSpaceSize, 32);
  assert.is(iso.pvd.logicalBlockSize, 2048);
  assert.is(iso.pvd.created?.toISOString(), '2024-01-02T02:04:05.000Z');
  assert.is(iso.pvd.modified, undefined);
  assert.is(iso.names, 'rockridge');
  assert.equal(iso.rootRockRidge?.extensions, ['RRIP_1991A']);
});

test('Rock Ridge tree: continued NM, CE area, PX, TF, SL components, multi-extent', async () => {
  const iso = await IsoImage.open(bufferSource(buildIso()));
  const files = await iso.listFiles();
  assert.equal(files.map((f) => `${f.type} ${f.path} ${f.size}`), [
    'dir /Sub Dir 2048',
    'file /Sub Dir/deep.txt 5',
    'file /big.bin 2148',
    'file /boot.bin 2048',
    'file /boot.cat 2048',
    'file /efi.img 2048',
    'file /hello-world.txt 6',
    'symlink /link 0',
    'file /name-from-continuation-area 6',
  ]);
  const hello = files.find((f) => f.path === '/hello-world.txt')!;
  assert.is(hello.mode, 0o100640);
  assert.is(hello.uid, 1000);
  assert.is(hello.gid, 100);
  assert.is(hello.mtime?.toISOString(), '2001-02-03T04:05:06.000Z');
  assert.is(modeString(hello.type, hello.mode!), '-rw-r-----');
  assert.is(files.find((f) => f.path === '/link')!.symlinkTarget, '/usr/lib/../x');
  assert.is(files.find((f) => f.path === '/name-from-continuation-area')!.mode, 0o100600);
  assert.is((await iso.readFile('/hello-world.txt')).toString(), 'hello\n');
  assert.is((await iso.readFile('/Sub Dir/deep.txt')).toString(), 'deep\n');
  const big = await iso.readFile('/big.bin');
  assert.is(big.length, 2148);
  assert.ok(big.subarray(0, S).every((b) => b === 0xaa) && big.subarray(S).every((b) => b === 0xbb));
  assert.equal(big.length, (await iso.stat('/big.bin'))!.extents.reduce((n, e) => n + e.size, 0));
  assert.is(await iso.stat('/nope'), undefined);
  await assert.not.throws(() => iso.readFile('/Sub Dir/deep.txt'));
  try {
    await iso.readFile('/link');
    assert.unreachable('reading a symlink must fail');
  } catch (err) {
    assert.match((err as Error).message, /is a symlink/);
  }
});

test('without Rock Ridge names come from ISO 9660 (version stripped) or Joliet', async () => {
  const plain = await IsoImage.open(bufferSource(buildIso()), { names: 'iso9660' });
  const paths = (await plain.listFiles()).map((f) => f.path);
  assert.equal(paths, ['/BIG.BIN', '/BOOT.BIN', '/BOOT.CAT', '/CE.TXT', '/EFI.IMG', '/HELLO.TXT', '/LINK', '/SUB', '/SUB/DEEP.TXT']);
  assert.is((await plain.stat('/HELLO.TXT'))!.mode, undefined);
  const joliet = await IsoImage.open(bufferSource(buildIso()), { names: 'joliet' });
  assert.equal((await joliet.listFiles()).map((f) => f.path), ['/Joliet Name.txt']);
  assert.is((await joliet.readFile('/Joliet Name.txt')).toString(), 'hello\n');
  assert.is(isoName(id('README.;1')), 'README');
});

test('El Torito: default entry and EFI section resolved to files, boot info table seen', async () => {
  const iso = await IsoImage.open(bufferSource(buildIso()));
  const cat = await iso.elTorito();
  assert.ok(cat);
  assert.is(cat.catalogLba, 22);
  assert.is(cat.catalogPath, '/boot.cat');
  assert.equal(cat.problems, []);
  assert.ok(cat.validation.checksumOk);
  assert.is(cat.validation.idString, 'XSFORGE TEST');
  assert.equal(cat.entries.map((e) => [e.index, e.section, e.platform, e.bootable, e.emulation, e.sectorCount, e.loadRba, e.path, e.bootInfoTable]), [
    [1, 0, 'x86 BIOS', true, 'no-emulation', 4, 24, '/boot.bin', true],
    [2, 1, 'EFI', true, 'no-emulation', 4, 25, '/efi.img', false],
  ]);
  assert.is(cat.entries[1].sectionId, 'UEFI');
});

test('boot catalog: a wrong checksum is reported, a bad header stops parsing', () => {
  const c = bootCatalog();
  c[4] ^= 0x01;
  const wrong = parseBootCatalog(c);
  assert.not.ok(wrong.validation.checksumOk);
  assert.match(wrong.problems[0], /checksum is wrong/);
  assert.is(wrong.entries.length, 2);
  c[30] = 0;
  const bad = parseBootCatalog(c);
  assert.is(bad.entries.length, 0);
  assert.match(bad.problems[0], /malformed/);
  assert.ok(parseBootCatalog(bootCatalog().subarray(0, 80)).truncated);
});

test('system area: hybrid MBR + GPT with checked CRCs and backup header', async () => {
  const img = buildIso();
  const iso = await IsoImage.open(bufferSource(img));
  const sa = await iso.systemArea();
  assert.is(sa.summary, 'hybrid MBR + GPT');
  assert.equal(sa.mbr.partitions.map((p) => [p.number, p.active, p.type, p.startLba, p.sectors]), [[1, true, 0, 0, 128], [2, false, 0xef, 100, 4]]);
  assert.ok(sa.gpt);
  assert.ok(sa.gpt.header.headerCrcOk && sa.gpt.entriesCrcOk && sa.gpt.backupHeaderOk);
  assert.is(sa.gpt.header.diskGuid, 'AAAAAAAA-BBBB-CCCC-DDDD-EEEEEEEEEEEE');
  assert.equal(sa.gpt.partitions.map((p) => [p.number, p.typeName, p.firstLba, p.lastLba, p.name]), [[1, 'EFI system', 100, 103, 'EFI boot']]);
  // A damaged entry array is caught by its CRC; a damaged header is not trusted at all.
  img[1024 + 60] ^= 1;
  assert.not.ok((await (await IsoImage.open(bufferSource(img))).systemArea()).gpt!.entriesCrcOk);
  img[512 + 30] ^= 1;
  assert.is((await (await IsoImage.open(bufferSource(img))).systemArea()).summary, 'MBR');
  assert.is(parseMbr(Buffer.alloc(512)).signatureOk, false);
});

test('not an ISO, truncated ISO: clear errors', async () => {
  try {
    await IsoImage.open(bufferSource(Buffer.alloc(40000)));
    assert.unreachable();
  } catch (err) {
    assert.instance(err, IsoFormatError);
    assert.match((err as Error).message, /no 'CD001'/);
  }
  const img = buildIso();
  assert.ok(looksLikeIso(img));
  assert.not.ok(looksLikeIso(Buffer.alloc(40000)));
  const cut = await IsoImage.open(bufferSource(img.subarray(0, 29 * S + 3)));
  try {
    await cut.readFile('/hello-world.txt');
    assert.unreachable();
  } catch (err) {
    assert.match((err as Error).message, /truncated: wanted 6 bytes at offset 59392, got 3/);
  }
});

test('small decoders', () => {
  const d = Buffer.from('1999123123595900\xf8', 'latin1'); // UTC-2h
  assert.is(parseDecDatetime(d, 0)?.toISOString(), '2000-01-01T01:59:59.000Z');
  assert.is(formatGuid(guidBytes('EBD0A0A2-B9E5-4433-87C0-68B6B72699C7')), 'EBD0A0A2-B9E5-4433-87C0-68B6B72699C7');
  assert.is(crc32(Buffer.from('123456789')), 0xcbf43926);
  assert.is(modeString('dir', 0o41777), 'drwxrwxrwt');
  assert.is(modeString('file', 0o104755), '-rwsr-xr-x');
  const { entries, continuation } = parseSuspEntries(Buffer.concat([NM('a'), susp('CE', [...both32(7), ...both32(8), ...both32(9)]), ST, NM('ignored')]));
  assert.equal(entries.map((e) => e.signature), ['NM']);
  assert.equal(continuation, { lba: 7, offset: 8, length: 9 });
  // long-form TF: 17-byte dec-datetimes, creation + modify
  const long = susp('TF', [0x83, ...Buffer.from('2020010100000000\0', 'latin1'), ...Buffer.from('2021020300000000\0', 'latin1')]);
  const rr = decodeRockRidge(parseSuspEntries(long).entries);
  assert.is(rr.times.created?.toISOString(), '2020-01-01T00:00:00.000Z');
  assert.is(rr.times.modified?.toISOString(), '2021-02-03T00:00:00.000Z');
});

test.run();

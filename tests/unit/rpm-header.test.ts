// The .rpm reader (packages/rpm-header.ts) on small synthetic files: a header
// writer here lays out lead, signature header, main header and payload the way
// rpm does, so each field and each failure can be checked in isolation.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash } from 'node:crypto';
import {
  formatDependency, formatRpmInfo, isRpm, modeString, parseHeader, parsePgpSignature, parseRpm,
  RpmFormatError, RpmType, SIGTAG, TAG,
} from '../../packages/rpm-header.ts';

type Value = { type: number; value: number[] | bigint[] | string | string[] | Buffer };
const s = (v: string): Value => ({ type: RpmType.STRING, value: v });
const sa = (v: string[]): Value => ({ type: RpmType.STRING_ARRAY, value: v });
const i18n = (v: string): Value => ({ type: RpmType.I18NSTRING, value: [v] });
const i32 = (v: number[]): Value => ({ type: RpmType.INT32, value: v });
const i16 = (v: number[]): Value => ({ type: RpmType.INT16, value: v });
const i64 = (v: bigint[]): Value => ({ type: RpmType.INT64, value: v });
const bin = (v: Buffer): Value => ({ type: RpmType.BIN, value: v });

const ALIGN: Record<number, number> = { [RpmType.INT16]: 2, [RpmType.INT32]: 4, [RpmType.INT64]: 8 };

/** A header structure: magic, reserved, nindex, hsize, index entries, data store (with rpm's alignment). */
function header(entries: Record<number, Value>): Buffer {
  const index: Buffer[] = [];
  let data = Buffer.alloc(0);
  const tags = Object.keys(entries).map(Number).sort((a, b) => a - b);
  for (const tag of tags) {
    const { type, value } = entries[tag];
    const align = ALIGN[type] ?? 1;
    if (data.length % align) data = Buffer.concat([data, Buffer.alloc(align - (data.length % align))]);
    let bytes: Buffer;
    let count: number;
    if (type === RpmType.STRING) { bytes = Buffer.from(`${value}\0`); count = 1; } else if (type === RpmType.STRING_ARRAY || type === RpmType.I18NSTRING) {
      bytes = Buffer.from((value as string[]).map((x) => `${x}\0`).join('')); count = (value as string[]).length;
    } else if (type === RpmType.BIN) { bytes = value as Buffer; count = bytes.length; } else {
      const arr = value as (number | bigint)[];
      const width = type === RpmType.INT16 ? 2 : type === RpmType.INT32 ? 4 : 8;
      bytes = Buffer.alloc(arr.length * width);
      arr.forEach((x, i) => {
        if (width === 2) bytes.writeUInt16BE(Number(x), i * 2);
        else if (width === 4) bytes.writeUInt32BE(Number(x), i * 4);
        else bytes.writeBigUInt64BE(BigInt(x), i * 8);
      });
      count = arr.length;
    }
    const e = Buffer.alloc(16);
    e.writeUInt32BE(tag, 0); e.writeUInt32BE(type, 4); e.writeUInt32BE(data.length, 8); e.writeUInt32BE(count, 12);
    index.push(e);
    data = Buffer.concat([data, bytes]);
  }
  const intro = Buffer.alloc(16);
  Buffer.from([0x8e, 0xad, 0xe8, 0x01]).copy(intro, 0);
  intro.writeUInt32BE(tags.length, 8);
  intro.writeUInt32BE(data.length, 12);
  return Buffer.concat([intro, ...index, data]);
}

function lead(name: string): Buffer {
  const b = Buffer.alloc(96);
  Buffer.from([0xed, 0xab, 0xee, 0xdb, 3, 0]).copy(b, 0);
  b.writeUInt16BE(0, 6); // binary
  b.writeUInt16BE(1, 8); // archnum x86
  b.write(name, 10, 'latin1');
  b.writeUInt16BE(1, 76); // osnum linux
  b.writeUInt16BE(5, 78); // signature type: header-style
  return b;
}

/** A v4 OpenPGP signature packet (new-format header) with the given subpackets. */
function v4Signature(opts: { pubAlgo: number; hashAlgo: number; hashed: Buffer[]; unhashed: Buffer[] }): Buffer {
  const hashed = Buffer.concat(opts.hashed);
  const unhashed = Buffer.concat(opts.unhashed);
  const body = Buffer.concat([
    Buffer.from([4, 0x00, opts.pubAlgo, opts.hashAlgo]),
    Buffer.from([hashed.length >> 8, hashed.length & 0xff]), hashed,
    Buffer.from([unhashed.length >> 8, unhashed.length & 0xff]), unhashed,
    Buffer.from([0xab, 0xcd]), // left 16 bits of the hash
    Buffer.from([0x00, 0x08, 0xff]), // a token MPI
  ]);
  // new-format length: one octet below 192, else two (192..8383)
  const len = body.length < 192 ? Buffer.from([body.length]) : Buffer.from([((body.length - 192) >> 8) + 192, (body.length - 192) & 0xff]);
  return Buffer.concat([Buffer.from([0xc2]), len, body]);
}
const subpacket = (type: number, data: Buffer) => Buffer.concat([Buffer.from([data.length + 1, type]), data]);

const KEY_ID = '0123456789abcdef';
const FPR = `${'a'.repeat(24)}${KEY_ID}`;

function mainHeader(): Buffer {
  return header({
    [TAG.NAME]: s('xsf-demo'), [TAG.VERSION]: s('1.0'), [TAG.RELEASE]: s('2'), [TAG.EPOCH]: i32([3]),
    [TAG.SUMMARY]: i18n('Demo 100%'), [TAG.DESCRIPTION]: i18n('Line one\nline two'),
    [TAG.BUILDTIME]: i32([1700000000]), [TAG.BUILDHOST]: s('xsforge'), [TAG.SIZE]: i32([1234]),
    [TAG.LICENSE]: s('MIT'), [TAG.GROUP]: i18n('Unspecified'), [TAG.ARCH]: s('x86_64'),
    [TAG.POSTIN]: s('echo hi'),
    [TAG.PROVIDENAME]: sa(['xsf-demo', 'xen-hypervisor']), [TAG.PROVIDEFLAGS]: i32([8, 8]), [TAG.PROVIDEVERSION]: sa(['3:1.0-2', '4.17.5']),
    [TAG.REQUIRENAME]: sa(['/bin/sh', 'rpmlib(PayloadIsXz)']), [TAG.REQUIREFLAGS]: i32([1 << 10, (1 << 24) | 10]), [TAG.REQUIREVERSION]: sa(['', '5.2-1']),
    [TAG.CONFLICTNAME]: sa(['old']), [TAG.CONFLICTFLAGS]: i32([2]), [TAG.CONFLICTVERSION]: sa(['1.0']),
    [TAG.OBSOLETENAME]: sa(['older']), [TAG.OBSOLETEFLAGS]: i32([0]), [TAG.OBSOLETEVERSION]: sa(['']),
    [TAG.DIRINDEXES]: i32([0, 1, 1]), [TAG.BASENAMES]: sa(['xsf', 'a.conf', 'bin']), [TAG.DIRNAMES]: sa(['/etc/', '/usr/lib/xsf/']),
    [TAG.FILEMODES]: i16([0o40755, 0o100640, 0o104755]), [TAG.FILESIZES]: i32([0, 4, 1230]),
    [TAG.FILEDIGESTS]: sa(['', 'aa'.repeat(32), 'bb'.repeat(32)]), [TAG.FILEDIGESTALGO]: i32([8]), [TAG.FILEFLAGS]: i32([0, 1, 0]),
    [TAG.FILEUSERNAME]: sa(['root', 'root', 'root']), [TAG.FILEGROUPNAME]: sa(['root', 'xsf', 'root']),
    [TAG.PAYLOADFORMAT]: s('cpio'), [TAG.PAYLOADCOMPRESSOR]: s('xz'), [TAG.PAYLOADFLAGS]: s('9'),
    [TAG.PAYLOADDIGEST]: sa([createHash('sha256').update(PAYLOAD).digest('hex')]), [TAG.PAYLOADDIGESTALGO]: i32([8]),
  });
}
const PAYLOAD = Buffer.from('not really xz, only hashed');

function rpmFile(sigEntries: (main: Buffer) => Record<number, Value>): Buffer {
  const main = mainHeader();
  const sig = header(sigEntries(main));
  const pad = Buffer.alloc((8 - (sig.length % 8)) % 8);
  return Buffer.concat([lead('xsf-demo-1.0-2'), sig, pad, main, PAYLOAD]);
}

const signed = (main: Buffer): Record<number, Value> => ({
  [SIGTAG.RSA]: bin(v4Signature({ pubAlgo: 1, hashAlgo: 8, hashed: [subpacket(33, Buffer.concat([Buffer.from([4]), Buffer.from(FPR, 'hex')])), subpacket(2, Buffer.from([0x65, 0x53, 0xf1, 0x00]))], unhashed: [subpacket(16, Buffer.from(KEY_ID, 'hex'))] })),
  [SIGTAG.SHA256]: s(createHash('sha256').update(main).digest('hex')),
  [SIGTAG.SIZE]: i32([main.length + PAYLOAD.length]),
  [SIGTAG.MD5]: bin(Buffer.alloc(16, 0x11)),
});

test('every field of a signed synthetic package', () => {
  const buf = rpmFile(signed);
  assert.ok(isRpm(buf));
  const info = parseRpm(buf);
  assert.is(info.type, 'binary');
  assert.equal([info.name, info.epoch, info.version, info.release, info.arch], ['xsf-demo', 3, '1.0', '2', 'x86_64']);
  assert.equal([info.summary, info.description, info.license, info.group], ['Demo 100%', 'Line one\nline two', 'MIT', 'Unspecified']);
  assert.equal([info.buildTime, info.buildHost, info.size], [1700000000, 'xsforge', 1234]);
  assert.equal(info.provides, [{ name: 'xsf-demo', flags: 8, version: '3:1.0-2' }, { name: 'xen-hypervisor', flags: 8, version: '4.17.5' }]);
  assert.equal(info.requires.map(formatDependency), ['/bin/sh', 'rpmlib(PayloadIsXz) <= 5.2-1']);
  assert.equal(info.conflicts.map(formatDependency), ['old < 1.0']);
  assert.equal(info.obsoletes.map(formatDependency), ['older']);
  assert.equal(info.files, [
    { path: '/etc/xsf', mode: 0o40755, size: 0, digest: '', config: false, user: 'root', group: 'root' },
    { path: '/usr/lib/xsf/a.conf', mode: 0o100640, size: 4, digest: 'aa'.repeat(32), config: true, user: 'root', group: 'xsf' },
    { path: '/usr/lib/xsf/bin', mode: 0o104755, size: 1230, digest: 'bb'.repeat(32), config: false, user: 'root', group: 'root' },
  ]);
  assert.equal(info.scriptlets, { post: 'echo hi' });
  assert.equal([info.payloadFormat, info.payloadCompressor, info.payloadFlags, info.fileDigestAlgorithm], ['cpio', 'xz', '9', 'sha256']);
  assert.equal(info.signature.keyId, KEY_ID);
  assert.equal(info.signature.fingerprint, FPR);
  assert.equal([info.signature.tag, info.signature.algorithm, info.signature.created], ['RSAHEADER', 'RSA/SHA256', 0x6553f100]);
  assert.is(info.signature.md5, '11'.repeat(16));
  assert.equal(info.checks, { headerSha256: true, payloadSha256: true });
  // plain JSON: no Buffers or bigints, so --json can print it
  assert.equal(JSON.parse(JSON.stringify(info)), info);
});

test('a changed byte in the header or the payload fails its digest', () => {
  const buf = rpmFile(signed);
  const mainStart = buf.indexOf(Buffer.from('xsf-demo\0'), 200);
  const h = Buffer.from(buf);
  h[mainStart] = 'y'.charCodeAt(0);
  assert.equal(parseRpm(h).checks, { headerSha256: false, payloadSha256: true });
  assert.is(parseRpm(h).name, 'ysf-demo');
  const p = Buffer.from(buf);
  p[p.length - 1] ^= 1;
  assert.equal(parseRpm(p).checks, { headerSha256: true, payloadSha256: false });
});

test('an unsigned package has no key id; a 64-bit size and file sizes are read', () => {
  const info = parseRpm(rpmFile((main) => ({ [SIGTAG.SHA256]: s(createHash('sha256').update(main).digest('hex')) })));
  assert.equal(info.signature, { sha256: info.signature.sha256 });
  assert.not.ok('keyId' in info.signature);
  const h = header({ [TAG.NAME]: s('n'), [TAG.LONGSIZE]: i64([5n * 2n ** 32n]), [TAG.LONGFILESIZES]: i64([2n ** 33n]) });
  const parsed = parseHeader(h, 0);
  assert.equal(parsed.entries.get(TAG.LONGSIZE)!.value, [5n * 2n ** 32n]);
  assert.is(parsed.end, h.length);
});

test('OpenPGP signature packets: v3, old-format lengths, issuer from fingerprint only', () => {
  // v3: [3][5][type][time:4][keyid:8][pubkey][hash], old-format header tag 2 with a one-byte length
  const v3body = Buffer.concat([Buffer.from([3, 5, 0]), Buffer.from([0x5f, 0x00, 0x00, 0x00]), Buffer.from(KEY_ID, 'hex'), Buffer.from([17, 2, 0xab, 0xcd])]);
  const v3 = Buffer.concat([Buffer.from([0x88, v3body.length]), v3body]);
  assert.equal(parsePgpSignature(v3), { version: 3, algorithm: 'DSA/SHA1', keyId: KEY_ID, created: 0x5f000000 });
  // v4 with only the issuer-fingerprint subpacket, two-byte old-format length
  const v4 = v4Signature({ pubAlgo: 22, hashAlgo: 10, hashed: [subpacket(33, Buffer.concat([Buffer.from([4]), Buffer.from(FPR, 'hex')]))], unhashed: [] });
  const oldFormat = Buffer.concat([Buffer.from([0x89, 0, v4.length - 2]), v4.subarray(2)]);
  assert.equal(parsePgpSignature(oldFormat), { version: 4, algorithm: 'EdDSA/SHA512', keyId: KEY_ID, fingerprint: FPR });
  // a two-octet subpacket length (192..8383): a 200-byte notation, then the issuer
  const notation = Buffer.concat([Buffer.from([192, 201 - 192, 20]), Buffer.alloc(200, 0x61)]);
  const withLong = v4Signature({ pubAlgo: 1, hashAlgo: 8, hashed: [notation], unhashed: [subpacket(16, Buffer.from(KEY_ID, 'hex'))] });
  assert.is(parsePgpSignature(withLong).keyId, KEY_ID);
  assert.is(parsePgpSignature(v4Signature({ pubAlgo: 1, hashAlgo: 8, hashed: [], unhashed: [] })).keyId, undefined);
  assert.throws(() => parsePgpSignature(Buffer.from([0xc6, 1, 0])), /tag 6, not 2/);
  assert.throws(() => parsePgpSignature(Buffer.from([0x01, 0x02])), /not an OpenPGP packet/);
  assert.throws(() => parsePgpSignature(Buffer.concat([Buffer.from([0xc2, 30]), Buffer.from([4, 0, 1, 8, 0, 40])])), /cut short/);
});

test('malformed files are refused with a reason', () => {
  const good = rpmFile(signed);
  assert.throws(() => parseRpm(Buffer.alloc(50)), (e: unknown) => e instanceof RpmFormatError && /shorter than an RPM lead/.test(e.message));
  assert.throws(() => parseRpm(Buffer.concat([Buffer.from('PK\x03\x04'), good.subarray(4)])), /no RPM lead magic/);
  const badMagic = Buffer.from(good);
  badMagic[96] = 0;
  assert.throws(() => parseRpm(badMagic), /signature header at 96 has no header magic/);
  assert.throws(() => parseRpm(good.subarray(0, 300)), /more than the file holds|cut short/);
  const badType = Buffer.from(good);
  badType.writeUInt32BE(42, 96 + 16 + 4); // first index entry's type
  assert.throws(() => parseRpm(badType), /unknown type 42/);
  assert.not.ok(isRpm(Buffer.from('abc')));
});

test('mode strings and the inspect text', () => {
  assert.is(modeString(0o100644), '-rw-r--r--');
  assert.is(modeString(0o40755), 'drwxr-xr-x');
  assert.is(modeString(0o104755), '-rwsr-xr-x');
  assert.is(modeString(0o41777), 'drwxrwxrwt');
  assert.is(modeString(0o102644), '-rw-r-Sr--');
  assert.is(modeString(0o120777), 'lrwxrwxrwx');
  const text = formatRpmInfo(parseRpm(rpmFile(signed)));
  for (const line of [
    'Name        : xsf-demo', 'Epoch       : 3', 'Version     : 1.0', 'Release     : 2', 'Architecture: x86_64',
    `Signature   : RSA/SHA256, 2023-11-14 22:13:20 UTC, Key ID ${KEY_ID}`, 'Payload     : cpio, xz -9 (ok)',
    'Build Date  : 2023-11-14 22:13:20 UTC', 'Build Host  : xsforge', 'Summary     : Demo 100%',
    'Provides:', '  xen-hypervisor = 4.17.5', 'Requires:', '  /bin/sh  (post)', '  rpmlib(PayloadIsXz) <= 5.2-1',
    'Conflicts:', '  old < 1.0', 'Scriptlets: %post', 'Files (3, sha256):',
    '  -rw-r----- root/xsf    4 /usr/lib/xsf/a.conf (config)', '  -rwsr-xr-x root/root 1230 /usr/lib/xsf/bin',
  ]) assert.ok(text.split('\n').includes(line), `missing: ${line}\n${text}`);
  assert.match(text, /Header SHA256: [0-9a-f]{64} \(ok\)/);
  assert.not.match(formatRpmInfo(parseRpm(rpmFile(signed)), { files: false }), /Files \(/);
});

test.run();

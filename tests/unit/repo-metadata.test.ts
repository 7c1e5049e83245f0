// Repository metadata read back (repomd.xml, primary.xml), the installer's
// damaged-packages message, gpg key listings, armour and signature key ids.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { gzipSync } from 'node:zlib';
import { damagedPackagesMessage, dearmor, decompressMetadata, humanList, parsePrimary, parseRepomd, RepoFormatError } from '../../repo/verify.ts';
import { parseSecretKeyListing } from '../../repo/signer.ts';
import { detachedSignatureKeyId, rpmSignatureKeyId } from '../../repo/summary.ts';

// trimmed from createrepo_c 0.17.3 output
const REPOMD = `<?xml version="1.0" encoding="UTF-8"?>
<repomd xmlns="http://linux.duke.edu/metadata/repo" xmlns:rpm="http://linux.duke.edu/metadata/rpm">
  <revision>1533081600</revision>
  <data type="primary">
    <checksum type="sha256">825fbfb3b0353830095ab484b61eff9315891f4d86298fc29fdb9791a03c5e74</checksum>
    <open-checksum type="sha256">c0d9b92f5db1d4a284410d34b1147bcdb15532ab071b45b5698b87aaa3349e0e</open-checksum>
    <location href="repodata/825fbfb3b0353830095ab484b61eff9315891f4d86298fc29fdb9791a03c5e74-primary.xml.gz"/>
    <timestamp>1533081600</timestamp>
    <size>873</size>
    <open-size>4785</open-size>
  </data>
  <data type="group">
    <checksum type="sha256">224ae7557333e1ff23631f0013d6144c5b80a8f23924ad9c84bb873157c4dd45</checksum>
    <location href="repodata/224ae7557333e1ff23631f0013d6144c5b80a8f23924ad9c84bb873157c4dd45-comps.xml"/>
    <timestamp>1533081600</timestamp>
    <size>344</size>
  </data>
</repomd>
`;

const PRIMARY = `<?xml version="1.0" encoding="UTF-8"?>
<metadata xmlns="http://linux.duke.edu/metadata/common" xmlns:rpm="http://linux.duke.edu/metadata/rpm" packages="2">
<package type="rpm">
  <name>pkg0000</name>
  <arch>noarch</arch>
  <version epoch="0" ver="1.0" rel="1"/>
  <checksum type="sha256" pkgid="YES">D4D126D8DB0E798F3910D57C2CD1C4BA6DA628F41351DC0076EDE1F1E016A7A0</checksum>
  <summary>pkg0000</summary>
  <time file="1533081600" build="1533081600"/>
  <size package="6051" installed="8" archive="264"/>
  <location href="Packages/pkg0000-1.0-1.noarch.rpm"/>
  <format>
    <rpm:license>MIT</rpm:license>
    <rpm:provides>
      <rpm:entry name="cap-pkg0000"/>
      <rpm:entry name="pkg0000" flags="EQ" epoch="0" ver="1.0" rel="1"/>
    </rpm:provides>
  </format>
</package>
<package type="rpm">
  <name>xapi</name>
  <arch>x86_64</arch>
  <version epoch="2" ver="1.14.0" rel="3.xs"/>
  <checksum type="sha256" pkgid="YES">d5055bce2e6c1512d4239529be55c5ab4ab9c6376108d75fa9914bb5e31ad80e</checksum>
  <size package="12345" installed="8" archive="264"/>
  <location href="Packages/xapi-1.14.0-3.xs.x86_64.rpm"/>
  <format>
    <rpm:provides>
      <rpm:entry name="xapi" flags="EQ" epoch="2" ver="1.14.0" rel="3.xs"/>
    </rpm:provides>
    <rpm:requires>
      <rpm:entry name="pkg0000" flags="GE" epoch="0" ver="1.0"/>
      <rpm:entry name="/bin/sh" pre="1"/>
    </rpm:requires>
  </format>
</package>
</metadata>
`;

test('parseRepomd: revision and every data entry with checksums and sizes', () => {
  const r = parseRepomd(REPOMD);
  assert.is(r.revision, '1533081600');
  assert.is(r.data.length, 2);
  assert.equal(r.data[0], {
    type: 'primary',
    href: 'repodata/825fbfb3b0353830095ab484b61eff9315891f4d86298fc29fdb9791a03c5e74-primary.xml.gz',
    checksum: { type: 'sha256', value: '825fbfb3b0353830095ab484b61eff9315891f4d86298fc29fdb9791a03c5e74' },
    openChecksum: { type: 'sha256', value: 'c0d9b92f5db1d4a284410d34b1147bcdb15532ab071b45b5698b87aaa3349e0e' },
    size: 873, openSize: 4785, timestamp: 1533081600,
  });
  assert.is(r.data[1].type, 'group');
  assert.is(r.data[1].openChecksum, undefined);
});

test('parsePrimary: names, EVR, hrefs, lower-cased checksums, sizes and dependencies', () => {
  const p = parsePrimary(PRIMARY);
  assert.is(p.length, 2);
  assert.equal(p[0], {
    name: 'pkg0000', arch: 'noarch', epoch: '0', version: '1.0', release: '1',
    href: 'Packages/pkg0000-1.0-1.noarch.rpm',
    checksum: { type: 'sha256', value: 'd4d126d8db0e798f3910d57c2cd1c4ba6da628f41351dc0076ede1f1e016a7a0' },
    size: 6051, provides: ['cap-pkg0000', 'pkg0000 = 1.0-1'], requires: [],
  });
  assert.is(p[1].epoch, '2');
  assert.equal(p[1].provides, ['xapi = 2:1.14.0-3.xs']);
  assert.equal(p[1].requires, ['pkg0000 >= 1.0', '/bin/sh']);
});

test('malformed metadata gives RepoFormatError, not a crash', () => {
  assert.throws(() => parseRepomd('<notrepomd/>'), (e: unknown) => e instanceof RepoFormatError && /no <repomd>/.test((e as Error).message));
  assert.throws(() => parseRepomd('<repomd><data type="primary"><location href="x"/><checksum type="sha256">zz</checksum></data></repomd>'),
    (e: unknown) => e instanceof RepoFormatError && /no usable checksum/.test((e as Error).message));
  assert.throws(() => parsePrimary('<metadata><package><name>a</name></package></metadata>'), /without name or location/);
  assert.equal(parsePrimary('<metadata packages="0"></metadata>'), []);
});

test('metadata decompression: gzip by magic, plain XML as is, others refused', () => {
  assert.is(decompressMetadata(gzipSync(Buffer.from(PRIMARY)), 'p.xml.gz'), PRIMARY);
  assert.is(decompressMetadata(Buffer.from(PRIMARY), 'p.xml'), PRIMARY);
  assert.throws(() => decompressMetadata(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0]), 'p.xml.xz'), /other than gzip/);
});

test("the installer's damaged-packages message", () => {
  assert.is(damagedPackagesMessage(['a.rpm']), 'Some packages appeared damaged.  These were: a.rpm');
  assert.is(damagedPackagesMessage(['a.rpm', 'b.rpm', 'c.rpm']), 'Some packages appeared damaged.  These were: a.rpm, b.rpm and c.rpm');
  assert.is(humanList(['x', 'y']), 'x and y');
  assert.is(humanList([]), '');
});

const SEC_LISTING = [
  'sec:u:2048:1:F3001143F0033317:1795674919:::u:::scSC:::+:::23::0:',
  'fpr:::::::::03873D1D44032F061E56E7C0F3001143F0033317:',
  'grp:::::::::C75F93E8736FBDA25F6B689F8A6682FEEB3BCB9B:',
  'uid:u::::1795674919::91E653EDAC2B2A2C199DDF3E4B41CBBD3B44B18C::xsforge test <test@xsforge.invalid>::::::::::0:',
].join('\n');

test('gpg key listing: the primary signs when it can', () => {
  const [k] = parseSecretKeyListing(SEC_LISTING);
  assert.ok('signing' in k);
  if (!('signing' in k)) return;
  assert.is(k.fingerprint, '03873D1D44032F061E56E7C0F3001143F0033317');
  assert.equal(k.signing, { fingerprint: '03873D1D44032F061E56E7C0F3001143F0033317', keyId: 'F3001143F0033317', created: 1795674919 });
  assert.equal(k.uids, ['xsforge test <test@xsforge.invalid>']);
});

test('gpg key listing: a certify-only primary signs with its newest usable signing subkey; expired and stub keys are refused', () => {
  const withSubs = [
    'sec:u:4096:1:AAAAAAAAAAAAAAAA:1500000000:::u:::cSC:::+:::23::0:',
    'fpr:::::::::1111111111111111111111111111AAAAAAAAAAAAAAAA:',
    'ssb:u:4096:1:BBBBBBBBBBBBBBBB:1500000100::::::s:::+:::23:',
    'fpr:::::::::2222222222222222222222222222BBBBBBBBBBBBBBBB:',
    'ssb:e:4096:1:CCCCCCCCCCCCCCCC:1600000000::::::s:::+:::23:',
    'fpr:::::::::3333333333333333333333333333CCCCCCCCCCCCCCCC:',
    'ssb:u:4096:1:DDDDDDDDDDDDDDDD:1600000001::::::e:::+:::23:',
    'fpr:::::::::4444444444444444444444444444DDDDDDDDDDDDDDDD:',
  ].join('\n');
  const [k] = parseSecretKeyListing(withSubs);
  assert.ok('signing' in k && k.signing.keyId === 'BBBBBBBBBBBBBBBB', JSON.stringify(k));
  const stub = SEC_LISTING.replace(':+:::23', ':#:::23');
  const [s] = parseSecretKeyListing(stub);
  assert.ok('problem' in s && /no usable signing key/.test(s.problem));
  const [e] = parseSecretKeyListing(SEC_LISTING.replace('sec:u:', 'sec:e:'));
  assert.ok('problem' in e && /expired/.test(e.problem));
});

// an OpenPGP v4 signature packet: RSA/SHA256, issuer key id subpacket (16) in the unhashed area
function sigPacket(keyId: string): Buffer {
  const hashed = Buffer.concat([Buffer.from([5, 2]), Buffer.from([0x5b, 0x60, 0xf5, 0x00])]);
  const unhashed = Buffer.concat([Buffer.from([9, 16]), Buffer.from(keyId, 'hex')]);
  const body = Buffer.concat([
    Buffer.from([4, 0, 1, 8]), Buffer.from([0, hashed.length]), hashed, Buffer.from([0, unhashed.length]), unhashed,
    Buffer.from([0xab, 0xcd]), Buffer.from([0, 8, 0x42]),
  ]);
  return Buffer.concat([Buffer.from([0x89, 0, body.length]), body]);
}

test('dearmor and the key id of a detached signature', () => {
  const pkt = sigPacket('f3001143f0033317');
  const b64 = pkt.toString('base64');
  const armoured = `-----BEGIN PGP SIGNATURE-----\n\n${b64.slice(0, 20)}\n${b64.slice(20)}\n=abcd\n-----END PGP SIGNATURE-----\n`;
  assert.equal(dearmor(armoured), pkt);
  assert.is(detachedSignatureKeyId(armoured), 'F3001143F0033317');
  assert.is(detachedSignatureKeyId('not a signature'), undefined);
});

test('RPM signature header: key id of RSAHEADER, null when unsigned, undefined when not an RPM', () => {
  const header = (entries: { tag: number; type: number; data: Buffer; count?: number }[]) => {
    const index = Buffer.alloc(16 * entries.length);
    const store: Buffer[] = [];
    let off = 0;
    entries.forEach((e, i) => {
      index.writeUInt32BE(e.tag, i * 16);
      index.writeUInt32BE(e.type, i * 16 + 4);
      index.writeUInt32BE(off, i * 16 + 8);
      index.writeUInt32BE(e.count ?? e.data.length, i * 16 + 12);
      store.push(e.data);
      off += e.data.length;
    });
    const intro = Buffer.from([0x8e, 0xad, 0xe8, 0x01, 0, 0, 0, 0, 0, 0, 0, entries.length, 0, 0, 0, 0]);
    intro.writeUInt32BE(off, 12);
    return Buffer.concat([intro, index, ...store]);
  };
  const lead = Buffer.alloc(96);
  Buffer.from([0xed, 0xab, 0xee, 0xdb, 3, 0]).copy(lead);
  const signed = Buffer.concat([lead, header([{ tag: 268, type: 7, data: sigPacket('0011223344556677') }])]);
  assert.is(rpmSignatureKeyId(signed), '0011223344556677');
  const unsigned = Buffer.concat([lead, header([{ tag: 1000, type: 4, data: Buffer.from([0, 0, 0, 9]), count: 1 }])]);
  assert.is(rpmSignatureKeyId(unsigned), null);
  assert.is(rpmSignatureKeyId(Buffer.from('hello')), undefined);
});

test.run();

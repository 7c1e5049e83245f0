// Bounded, seeded fuzzing (tests/lib/fuzz.ts) of the cpio newc reader (installer/cpio.ts readNewc) and the .rpm reader
// (packages/rpm-header.ts parseRpm, formatRpmInfo).
// Property: a result or the parser's own error, nothing else, within 2 s per input.
// Longer: XSFORGE_FUZZ_SECONDS=60 XSFORGE_FUZZ_SEED=random node --import tsx tests/unit/fuzz-archive.test.ts
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { formatFailures, fuzzAll, fuzzSeconds, type FuzzReport } from '../lib/fuzz.ts';

const FILE = 'tests/unit/fuzz-archive.test.ts';
const TARGETS = ['cpio', 'rpm'];
let reports: FuzzReport[] = [];

test.before(async () => {
  reports = await fuzzAll(TARGETS, { seconds: fuzzSeconds(1.0) });
});

for (const [i, name] of TARGETS.entries()) {
  test(`fuzz ${name}: no crash other than a clean error`, () => {
    const r = reports[i]!;
    assert.is(r.failures.length, 0, `\n${formatFailures(r, FILE)}`);
    // the seed inputs and some mutations ran (a replay runs one input of one target)
    assert.ok(r.inputs >= (process.env.XSFORGE_FUZZ_INPUT ? 0 : 5), `only ${r.inputs} inputs`);
  });
}

// ---- the crash the fuzzer found, fixed

import { parsePgpSignature, RpmFormatError } from '../../packages/rpm-header.ts';

const rpmError = (e: unknown) => e instanceof RpmFormatError;

// fuzz rpm seed 1 input #4360: a v4 signature whose hashed-area length (0xff23)
// runs past the packet made readUInt16BE read past it (ERR_OUT_OF_RANGE)
test('OpenPGP signature packets cut short anywhere are an RpmFormatError', () => {
  // old-format packet, tag 2, 6-byte body: v4, hashed length 0xff23
  assert.throws(() => parsePgpSignature(Buffer.from([0x88, 6, 4, 0, 1, 8, 0xff, 0x23])), rpmError);
  // body too short for the hashed-area length itself
  assert.throws(() => parsePgpSignature(Buffer.from([0x88, 3, 4, 0, 1])), rpmError);
  // the packet ends inside its own length octets (new format, 5-octet length; old format, 4-octet)
  assert.throws(() => parsePgpSignature(Buffer.from([0xc2, 0xff, 0])), rpmError);
  assert.throws(() => parsePgpSignature(Buffer.from([0x8a, 0, 0])), rpmError);
  // a subpacket whose 5-octet length is cut off by the end of the hashed area
  assert.throws(() => parsePgpSignature(Buffer.from([0x88, 9, 4, 0, 1, 8, 0, 1, 0xff, 0, 0])), rpmError);
  // a well-formed v4 packet still parses: issuer subpacket in the unhashed area
  const issuer = [9, 16, 1, 2, 3, 4, 5, 6, 7, 8];
  const body = [4, 0, 1, 8, 0, 0, 0, issuer.length, ...issuer, 0xab, 0xcd];
  assert.is(parsePgpSignature(Buffer.from([0x88, body.length, ...body])).keyId, '0102030405060708');
});

// fuzz rpm seed 871706004 input #65535: an INT64 BUILDTIME of ~2^62 made
// formatRpmInfo's Date.toISOString throw RangeError: Invalid time value
test('rpm: a build time past what a Date holds is shown as a number, not a crash', async () => {
  const { readFileSync } = await import('node:fs');
  const { formatRpmInfo, parseRpm } = await import('../../packages/rpm-header.ts');
  const info = parseRpm(readFileSync(new URL('../fixtures/fuzz/tiny.rpm', import.meta.url)));
  assert.match(formatRpmInfo(info), /Build Date\s+: 2018-08-01 00:00:00 UTC/);
  assert.match(formatRpmInfo({ ...info, buildTime: 2 ** 62 }), /Build Date\s+: 4611686018427388000 \(not a valid time\)/);
});

test.run();

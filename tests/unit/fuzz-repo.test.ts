// Bounded, seeded fuzzing (tests/lib/fuzz.ts) of yum repository metadata: repomd.xml, primary.xml, and gzip-compressed
// metadata as a mirror serves it (repo/verify.ts).
// Property: a result or the parser's own error, nothing else, within 2 s per input.
// Longer: XSFORGE_FUZZ_SECONDS=60 XSFORGE_FUZZ_SEED=random node --import tsx tests/unit/fuzz-repo.test.ts
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { formatFailures, fuzzAll, fuzzSeconds, type FuzzReport } from '../lib/fuzz.ts';

const FILE = 'tests/unit/fuzz-repo.test.ts';
const TARGETS = ['repo-metadata', 'repo-metadata-gzip'];
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

// ---- the crashes the fuzzer found, fixed

import { gzipSync } from 'node:zlib';
import { decompressMetadata, parseRepomd, RepoFormatError } from '../../repo/verify.ts';

// fuzz repo-metadata seed 1 input #319: &#x110000; in a checksum made
// String.fromCodePoint throw RangeError: Invalid code point 1114112
test('a character reference past U+10FFFF is a RepoFormatError', () => {
  const xml = '<repomd><data type="primary"><checksum type="sha256">ab&#x110000;</checksum><location href="a.xml.gz"/></data></repomd>';
  assert.throws(() => parseRepomd(xml), (e: unknown) => e instanceof RepoFormatError && /not a Unicode code point/.test((e as Error).message));
  // valid references still decode
  assert.is(parseRepomd('<repomd><data type="p&#x61;"><checksum type="sha256">ab</checksum><location href="a"/></data></repomd>').data[0]!.type, 'pa');
});

// fuzz repo-metadata-gzip seed 1 inputs #1, #2, #27, ...: damaged gzip made zlib
// throw its own errors ("incorrect data check", "unexpected end of file", ...)
test('damaged gzip metadata is a RepoFormatError naming the file', () => {
  const good = gzipSync(Buffer.from('<metadata packages="0"/>'));
  assert.is(decompressMetadata(good, 'p.xml.gz'), '<metadata packages="0"/>');
  const bad = Buffer.from(good);
  bad[bad.length - 5] ^= 0xff; // the CRC
  assert.throws(() => decompressMetadata(bad, 'repodata/p.xml.gz'), (e: unknown) => e instanceof RepoFormatError && /repodata\/p.xml.gz does not decompress/.test((e as Error).message));
  assert.throws(() => decompressMetadata(good.subarray(0, 12), 'p.xml.gz'), (e: unknown) => e instanceof RepoFormatError);
});

test('gzip that inflates past the limit is refused before it fills memory', () => {
  const bomb = gzipSync(Buffer.alloc(4 << 20)); // 4 MiB of zeros in ~4 KiB
  assert.ok(bomb.length < 8192);
  assert.throws(() => decompressMetadata(bomb, 'bomb.xml.gz', 1 << 20), (e: unknown) => e instanceof RepoFormatError && /does not decompress/.test((e as Error).message));
  assert.is(decompressMetadata(bomb, 'ok.xml.gz', 8 << 20).length, 4 << 20);
});

test.run();

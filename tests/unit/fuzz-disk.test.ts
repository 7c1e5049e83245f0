// Bounded, seeded fuzzing (tests/lib/fuzz.ts) of the GPT and MBR readers (disk/gpt.ts, disk/mbr.ts), the table on an image
// file (disk/write-table.ts readTableFromImage) and the ext superblock and
// inode-table walk (preinstall/ext-times.ts).
// Property: a result or the parser's own error, nothing else, within 2 s per input.
// Longer: XSFORGE_FUZZ_SECONDS=60 XSFORGE_FUZZ_SEED=random node --import tsx tests/unit/fuzz-disk.test.ts
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { formatFailures, fuzzAll, fuzzSeconds, type FuzzReport } from '../lib/fuzz.ts';

const FILE = 'tests/unit/fuzz-disk.test.ts';
const TARGETS = ['gpt', 'mbr', 'disk-image', 'ext-fs'];
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

import { readFileSync } from 'node:fs';
import { ExtFormatError, readExtGeometry } from '../../preinstall/ext-times.ts';

const superblock = () => Buffer.from(readFileSync(new URL('../fixtures/fuzz/ext2-head.bin', import.meta.url)).subarray(1024, 2048));
const extError = (re: RegExp) => (e: unknown) => e instanceof ExtFormatError && re.test((e as Error).message);

// fuzz ext-fs seed 2091855751 input #20642: s_inode_size 0 passed readExtGeometry and
// clampInodeTimes then read an inode's mtime past its 0-byte slice (ERR_BUFFER_OUT_OF_BOUNDS)
test('ext superblock: inode size, block size and per-group counts out of range are ExtFormatError', () => {
  assert.equal(readExtGeometry(superblock()).inodeSize, 256); // mke2fs's default
  const with16 = (off: number, v: number) => { const b = superblock(); b.writeUInt16LE(v, off); return b; };
  const with32 = (off: number, v: number) => { const b = superblock(); b.writeUInt32LE(v, off); return b; };
  assert.throws(() => readExtGeometry(with16(88, 0)), extError(/inode size 0/));
  assert.throws(() => readExtGeometry(with16(88, 100)), extError(/inode size 100/));
  assert.throws(() => readExtGeometry(with32(24, 22)), extError(/block size 1024 << 22/)); // 1024 << 22 wraps to 0
  assert.throws(() => readExtGeometry(with32(32, 0xffffffff)), extError(/blocks and .* inodes per group/));
});

test.run();

// Bounded, seeded fuzzing (tests/lib/fuzz.ts) of the ISO 9660 reader (media/iso9660.ts) over a small xorriso image with
// Rock Ridge, Joliet, El Torito and an appended GPT partition.
// Property: a result or the parser's own error, nothing else, within 2 s per input.
// Longer: XSFORGE_FUZZ_SECONDS=60 XSFORGE_FUZZ_SEED=random node --import tsx tests/unit/fuzz-iso.test.ts
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { formatFailures, fuzzAll, fuzzSeconds, type FuzzReport } from '../lib/fuzz.ts';

const FILE = 'tests/unit/fuzz-iso.test.ts';
const TARGETS = ['iso9660'];
let reports: FuzzReport[] = [];

test.before(async () => {
  reports = await fuzzAll(TARGETS, { seconds: fuzzSeconds(2.0) });
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

import { decodeRockRidge, type SuspEntry } from '../../media/iso9660.ts';

const entry = (sig: string, body: number[]): SuspEntry => {
  const bytes = Buffer.from([...Buffer.from(sig, 'latin1'), 4 + body.length, 1, ...body]);
  return { signature: sig, version: 1, bytes };
};

// fuzz iso9660 seed 1 input #264: a PX entry whose length byte was cut to 18
// made decodeRockRidge read mode/nlink/uid/gid past it (ERR_OUT_OF_RANGE)
test('Rock Ridge PX, PN and CL entries too short for their fields are ignored, not read past', () => {
  const info = decodeRockRidge([entry('PX', Array(14).fill(0)), entry('PN', [1, 2, 3]), entry('CL', [9]), entry('NM', [0, 0x61])]);
  assert.is(info.mode, undefined);
  assert.is(info.device, undefined);
  assert.is(info.childLink, undefined);
  assert.is(info.name, 'a'); // the other entries still count
  // full-size entries are still read
  const px = Buffer.alloc(32);
  px.writeUInt32LE(0o100644, 0);
  assert.is(decodeRockRidge([entry('PX', [...px])]).mode, 0o100644);
});

test.run();

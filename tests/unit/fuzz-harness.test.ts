// The mutation fuzzer itself (tests/lib/fuzz.ts): inputs replay from seed and
// index, planted bugs and hangs are caught and reported with what replays them,
// and clean errors are not failures.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { formatFailures, fuzzAll, inputAt, mutate, prepare, Prng } from '../lib/fuzz.ts';
import { targets } from '../lib/fuzz-selftest-targets.ts';

const MODULE = new URL('../lib/fuzz-selftest-targets.ts', import.meta.url).href;

test('the same seed and index give the same input; other seeds give others', async () => {
  const p = await prepare(targets['clean-only']!);
  const a = inputAt(p, 7, 1234).data;
  assert.equal(inputAt(p, 7, 1234).data, a);
  const others = [inputAt(p, 8, 1234).data, inputAt(p, 7, 1235).data];
  assert.ok(others.some((o) => !o.equals(a)));
  assert.equal(inputAt(p, 7, 0).data, p.corpus[0]); // index 0: the seed input unchanged
});

test('mutations change the input and never touch the original', () => {
  const start = Buffer.alloc(64, 0x41);
  const copy = Buffer.from(start);
  const rng = new Prng(1);
  let changed = 0;
  for (let i = 0; i < 200; i++) {
    const { data, applied } = mutate(rng, start, { corpus: [start], dictionary: [Buffer.from('<x>')], hot: [] });
    assert.ok(applied.length >= 1 && applied.length <= 8);
    if (!data.equals(start)) changed++;
  }
  assert.equal(start, copy);
  assert.ok(changed > 150, `only ${changed} of 200 inputs changed`);
});

test('a planted bounds bug and a planted hang are found; clean errors are not failures', async () => {
  const [range, hang, clean] = await fuzzAll(['planted-range-error', 'planted-hang', 'clean-only'], { module: MODULE, seconds: 0.5, inputMs: 300, seed: 3 });
  assert.is(range!.failures.length, 1, 'one distinct failure');
  const f = range!.failures[0]!;
  assert.match(f.error, /ERR_OUT_OF_RANGE|out of range/);
  const text = formatFailures(range!, 'tests/unit/x.test.ts');
  assert.match(text, /XSFORGE_FUZZ_SEED=3 XSFORGE_FUZZ_TARGET=planted-range-error XSFORGE_FUZZ_INPUT=\d+/);
  assert.match(text, /input \d+ bytes/);
  assert.is(hang!.failures.length, 1);
  assert.is(hang!.failures[0]?.kind, 'timeout');
  assert.ok(hang!.failures[0]!.hex.length > 0, 'the hanging input is regenerated for the report');
  // after the hang, the worker was replaced and the next target still ran
  assert.is(clean!.failures.length, 0);
  assert.ok(clean!.inputs > 100, `${clean!.inputs} inputs`);
});

test.run();

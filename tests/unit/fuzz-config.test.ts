// Bounded, seeded fuzzing (tests/lib/fuzz.ts) of recipe loading (recipes/load.ts, from a temp file beside links to the
// shipped recipes) and host inventories (inventory/load.ts parseInventory, then
// the answer file of every host).
// Property: a result or the parser's own error, nothing else, within 2 s per input.
// Longer: XSFORGE_FUZZ_SECONDS=60 XSFORGE_FUZZ_SEED=random node --import tsx tests/unit/fuzz-config.test.ts
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { formatFailures, fuzzAll, fuzzSeconds, type FuzzReport } from '../lib/fuzz.ts';

const FILE = 'tests/unit/fuzz-config.test.ts';
const TARGETS = ['recipe', 'inventory'];
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

import { hypervisorSectionErrors } from '../../hypervisor/schema.ts';
import { parseInventory } from '../../inventory/load.ts';
import { parseUpdateSpec } from '../../updates/load.ts';

// fuzz recipe seed 1312455749 input #72: a damaged `hypervisor.source` made the
// merged-recipe check destructure FIELDS[source] of undefined (TypeError)
test('hypervisor section: an unknown source adds nothing to the schema\'s own error', () => {
  assert.equal(hypervisorSectionErrors({ source: 'prebuil' } as never), []);
});

// fuzz inventory seed 1984919578 input #2022 (and recipe #99): "*a" with no "&a"
// anchor passes yaml's parse and throws ReferenceError from toJS()
test('inventory and update spec: an alias to a missing anchor is a YAML error, not an exception', () => {
  const inv = parseInventory('hosts:\n  - mac: *nope\n    hostname: a\n', 'hosts.yaml');
  assert.is(inv.inventory, undefined);
  assert.match(inv.errors[0]!.message, /YAML error: Unresolved alias/);
  const spec = parseUpdateSpec('kind: *nope\n', { file: '/nonexistent/spec.yaml' });
  assert.match(spec.errors[0]!.message, /YAML error: Unresolved alias/);
});

test('inventory: an alias bomb is refused (yaml counts the aliases), quickly', () => {
  const lines = ['a0: &a0 [x, x, x, x, x, x, x, x, x, x]'];
  for (let i = 1; i < 9; i++) lines.push(`a${i}: &a${i} [${Array(10).fill(`*a${i - 1}`).join(', ')}]`);
  const t0 = Date.now();
  const r = parseInventory(`${lines.join('\n')}\nhosts: *a8\n`, 'hosts.yaml');
  assert.ok(Date.now() - t0 < 1000, `${Date.now() - t0} ms`);
  assert.is(r.inventory, undefined);
  assert.match(r.errors.map((e) => e.message).join('\n'), /YAML error: Excessive alias count/);
});

test.run();

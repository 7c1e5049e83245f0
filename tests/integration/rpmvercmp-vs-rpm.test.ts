// The pure rpmvercmp (updates/rpmvercmp.ts) against rpm's own rpm.vercmp for the shared table.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { run } from '../../core/exec.ts';
import { compareEvr, parseEvr, rpmvercmp } from '../../updates/rpmvercmp.ts';
import { EVR_CASES, VERCMP_CASES } from '../unit/rpmvercmp-cases.ts';

test('every case: rpm --eval rpm.vercmp, the TypeScript answer and the table agree', async () => {
  const cases = [...VERCMP_CASES.map(([a, b, e]) => ({ a, b, e, ours: rpmvercmp(a, b) })),
    ...EVR_CASES.map(([a, b, e]) => ({ a, b, e, ours: compareEvr(parseEvr(a), parseEvr(b)) }))];
  // one rpm process for the whole table: one printed answer per line
  // (rpm collects print() output without newlines: the script writes them itself)
  const lua = cases.map((c) => `print(rpm.vercmp(${JSON.stringify(c.a)}, ${JSON.stringify(c.b)}) .. "\\n")`).join(" ");
  const out = (await run(['rpm', '--eval', `%{lua: ${lua}}`])).stdout.trim().split('\n').map(Number);
  assert.is(out.length, cases.length);
  cases.forEach((c, i) => {
    assert.is(out[i], c.e, `rpm: ${c.a} vs ${c.b}`);
    assert.is(c.ours, out[i], `ours: ${c.a} vs ${c.b}`);
  });
});

test.run();

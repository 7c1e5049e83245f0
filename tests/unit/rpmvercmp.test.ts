import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { compareEvr, formatEvr, parseEvr, rpmvercmp } from '../../updates/rpmvercmp.ts';
import { EVR_CASES, VERCMP_CASES } from './rpmvercmp-cases.ts';

test('rpmvercmp: the table (rpm 4.18 answers; tests/integration/rpmvercmp-vs-rpm.test.ts asks rpm itself)', () => {
  for (const [a, b, want] of VERCMP_CASES) {
    assert.is(rpmvercmp(a, b), want, `rpmvercmp(${a}, ${b})`);
    // antisymmetric: swapping the arguments flips the answer
    assert.is(rpmvercmp(b, a), (want === 0 ? 0 : -want), `rpmvercmp(${b}, ${a})`);
  }
});

test('compareEvr: epoch first, then version, then release', () => {
  for (const [a, b, want] of EVR_CASES) assert.is(compareEvr(parseEvr(a), parseEvr(b)), want, `${a} vs ${b}`);
});

test('parseEvr/formatEvr: the release follows the last "-", epoch 0 is not written', () => {
  assert.equal(parseEvr('1:2.0-3.el7'), { epoch: 1, version: '2.0', release: '3.el7' });
  assert.equal(parseEvr('1.2-3-4'), { version: '1.2-3', release: '4' });
  assert.is(formatEvr({ epoch: 0, version: '1.0', release: '2' }), '1.0-2');
  assert.is(formatEvr({ epoch: 2, version: '1.0', release: '2' }), '2:1.0-2');
  assert.throws(() => parseEvr('1.0'), /version-release/);
});

test.run();

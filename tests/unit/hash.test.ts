import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { canonicalJson, hashJson } from '../../core/hash.ts';

test('canonical JSON sorts keys at every depth and drops undefined', () => {
  assert.is(canonicalJson({ b: 1, a: { d: [3, { z: 1, y: 2 }], c: undefined } }), '{"a":{"d":[3,{"y":2,"z":1}]},"b":1}');
});

test('equal values hash equal whatever the key order', () => {
  assert.is(hashJson({ x: 1, y: 2 }), hashJson({ y: 2, x: 1 }));
  assert.is.not(hashJson({ x: 1 }), hashJson({ x: 2 }));
});

test.run();

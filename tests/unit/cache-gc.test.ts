// The pure parts of `xsforge cache`: which entries gc evicts, how verify words
// differences, how ls shows ages, and the --max-size syntax.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { compareTrees, selectEvictions } from '../../core/cache-maintenance.ts';
import type { TreeEntry } from '../../core/hash.ts';
import { formatAgo } from '../../cli/commands/cache.ts';
import { parseSize } from '../../disk/size.ts';

const KiB = 1024;
const entries = [
  { key: 'c-newest', sizeBytes: 300 * KiB, lastUsedMs: 3000 },
  { key: 'a-oldest', sizeBytes: 100 * KiB, lastUsedMs: 1000 },
  { key: 'b-middle', sizeBytes: 200 * KiB, lastUsedMs: 2000 },
];

test('gc evicts least recently used first, and stops as soon as the total fits', () => {
  const plan = selectEvictions(entries, 350 * KiB);
  assert.equal(plan.evict, ['a-oldest', 'b-middle']);
  assert.is(plan.totalBytes, 600 * KiB);
  assert.is(plan.afterBytes, 300 * KiB);
  assert.equal(selectEvictions(entries, 500 * KiB).evict, ['a-oldest']);
  assert.equal(selectEvictions(entries, 600 * KiB).evict, []);
  assert.equal(selectEvictions(entries, 0).evict, ['a-oldest', 'b-middle', 'c-newest']);
});

test('gc never picks a held entry, takes the next instead, and says what it kept', () => {
  const plan = selectEvictions(entries, 350 * KiB, new Set(['a-oldest']));
  assert.equal(plan.evict, ['b-middle', 'c-newest']);
  assert.equal(plan.skippedHeld, ['a-oldest']);
  assert.is(plan.afterBytes, 100 * KiB);
  const allHeld = selectEvictions(entries, 0, new Set(entries.map((e) => e.key)));
  assert.equal(allHeld.evict, []);
  assert.is(allHeld.afterBytes, 600 * KiB); // over the limit: the rest is in use
});

test('entries used at the same moment are evicted in key order (stable output)', () => {
  const tied = [{ key: 'z', sizeBytes: 1, lastUsedMs: 5 }, { key: 'm', sizeBytes: 1, lastUsedMs: 5 }];
  assert.equal(selectEvictions(tied, 1).evict, ['m']);
});

test('verify names each difference between manifest and tree', () => {
  const f = (path: string, o: Partial<TreeEntry> = {}): TreeEntry => ({ path, type: 'file', mode: 0o644, size: 3, sha256: 'aa'.repeat(32), ...o });
  const expected = [f('same'), f('gone'), f('edited'), f('chmod'), f('grown'), { path: 'ln', type: 'symlink', mode: 0o777, size: 0, target: 'same' } as TreeEntry];
  const actual = [f('same'), f('edited', { sha256: 'bb'.repeat(32) }), f('chmod', { mode: 0o755 }), f('grown', { size: 4 }), { path: 'ln', type: 'symlink', mode: 0o777, size: 0, target: 'other' } as TreeEntry, f('extra')];
  assert.equal(compareTrees(expected, actual), [
    'out/gone: missing',
    'out/edited: content differs (sha256 bbbbbbbbbbbbbbbb, was aaaaaaaaaaaaaaaa)',
    'out/chmod: mode 755, was 644',
    'out/grown: 4 bytes, was 3',
    'out/ln: points to other, was same',
    'out/extra: not in the manifest',
  ]);
  assert.equal(compareTrees(expected, expected), []);
});

test('ages read as seconds, minutes, hours, days', () => {
  assert.is(formatAgo(45_000), '45 s');
  assert.is(formatAgo(12 * 60_000), '12 min');
  assert.is(formatAgo(3.5 * 3600_000), '3.5 h');
  assert.is(formatAgo(4 * 86400_000), '4.0 d');
  assert.is(formatAgo(-5), '0 s'); // clock skew between hosts sharing a cache
});

test('--max-size takes the sizes people write: 20G and 500M are binary, 20GB decimal', () => {
  assert.is(parseSize('20G'), 20 * 2 ** 30);
  assert.is(parseSize('500M'), 500 * 2 ** 20);
  assert.is(parseSize('20GB'), 20e9);
  assert.is(parseSize('0'), 0);
  assert.throws(() => parseSize('20 gigs'), /cannot read size/);
});

test.run();

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { outputIsCurrent, publish } from '../../core/output.ts';

test('publish writes the files and a manifest; outputIsCurrent ignores the order stages finished in', async () => {
  const d = mkdtempSync(join(tmpdir(), 'xsf-output-'));
  writeFileSync(join(d, 'a.iso'), 'iso bytes');
  const out = join(d, 'out', 'r');
  const sources = [{ kind: 'install-iso', path: 'r.iso', from: join(d, 'a.iso') }];
  const m = await publish(out, sources, { recipe: 'r', product: {}, sourceDateEpoch: 1, stages: { a: '1', b: '2' } });
  assert.is(readFileSync(join(out, 'r.iso'), 'utf8'), 'iso bytes');
  assert.is(m.artifacts[0].sha256, 'c33737f8d6b7fd4311c76e8aeb8c1d5faaef3d19b814cbc1288e452bcbe78cff');
  assert.ok(outputIsCurrent(out, sources, { b: '2', a: '1' }));
  assert.not.ok(outputIsCurrent(out, sources, { a: '1', b: '3' }));
  rmSync(d, { recursive: true, force: true });
});

test('a publish that fails part-way leaves the previous output intact', async () => {
  const d = mkdtempSync(join(tmpdir(), 'xsf-output-'));
  writeFileSync(join(d, 'good.iso'), 'good');
  const out = join(d, 'out', 'r');
  await publish(out, [{ kind: 'install-iso', path: 'r.iso', from: join(d, 'good.iso') }], { recipe: 'r', product: {}, sourceDateEpoch: 1, stages: {} });
  try {
    await publish(out, [{ kind: 'install-iso', path: 'r.iso', from: join(d, 'missing.iso') }], { recipe: 'r', product: {}, sourceDateEpoch: 1, stages: {} });
    assert.unreachable();
  } catch (err) {
    assert.match((err as Error).message, /missing\.iso/);
  }
  assert.is(readFileSync(join(out, 'r.iso'), 'utf8'), 'good');
  assert.ok(existsSync(join(out, 'manifest.json')));
  rmSync(d, { recursive: true, force: true });
});

test.run();

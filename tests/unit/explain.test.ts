import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { diffInputs } from '../../core/explain.ts';

test('names the changed option by its path, with old and new values', () => {
  const a = { options: { boot: { xen: { dom0_mem: '1024M' }, timeout: 50 } }, files: { t: 'aa' }, deps: { menus: 'd1' }, tools: { xorriso: 'xorriso 1.5.4' } };
  const b = { options: { boot: { xen: { dom0_mem: '2048M' }, timeout: 50 } }, files: { t: 'aa' }, deps: { menus: 'd1' }, tools: { xorriso: 'xorriso 1.5.4' } };
  assert.equal(diffInputs(a, b), ['options.boot.xen.dom0_mem: "1024M" -> "2048M"']);
});

test('input files, upstream stages and tool versions are named', () => {
  const a = { files: { 'grub.cfg': 'aa' }, deps: { menus: 'd1' }, tools: { xorriso: '1' } };
  const b = { files: { 'grub.cfg': 'bb' }, deps: { menus: 'd2' }, tools: { xorriso: '2' } };
  assert.equal(diffInputs(a, b), ['upstream stage menus changed', 'input file grub.cfg changed', 'tool xorriso: "1" -> "2"']);
});

test('first build and evicted entries say so', () => {
  assert.equal(diffInputs(undefined, { a: 1 }), ['no earlier build of this stage recorded']);
  assert.match(diffInputs({ a: 1 }, { a: 1 })[0], /nothing changed/);
});

test.run();

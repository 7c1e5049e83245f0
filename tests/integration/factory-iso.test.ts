// Factory media: `xsforge build --answerfile FILE` carries the answer file on the
// ISO and boots it by default (answerfile=file:///answerfile.xml install) after a
// short timeout, with the interactive entries still in the menu; a bad answer
// file stops the build before anything is built.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_RECIPE } from '../../cli/shared.ts';
import { openIsoFile } from '../../media/iso9660.ts';
import { buildRecipe, xsforge } from '../lib/build.ts';
import { freshAnswer } from '../lib/install-env.ts';

const work = mkdtempSync(join(tmpdir(), 'xsf-factory-'));
test.after(() => rmSync(work, { recursive: true, force: true }));

test('a bad answer file: the product message with its line, exit 1, nothing built', async () => {
  const bad = join(work, 'bad.xml');
  writeFileSync(bad, freshAnswer('factory-host').replace(/ {2}<primary-disk.*\n/, ''));
  const r = await xsforge(['build', DEFAULT_RECIPE, '--answerfile', bad, '-o', join(work, 'bad-out')]);
  assert.is(r.code, 1);
  assert.match(r.stderr, /bad\.xml(:\d+)?: Missing mandatory element primary-disk/);
  assert.not.ok(existsSync(join(work, 'bad-out')));
});

test('the factory ISO: answerfile.xml at the root, autoinstall by default, interactive entries kept', async () => {
  const answer = join(work, 'answer.xml');
  const text = freshAnswer('factory-host');
  writeFileSync(answer, text);
  const built = await buildRecipe(DEFAULT_RECIPE, { output: join(work, 'out'), extra: ['--answerfile', answer] });
  assert.match(built.iso, /xenserver-7\.1\.2-factory\/xenserver-7\.1\.2-factory\.iso$/);
  const iso = await openIsoFile(built.iso);
  try {
    assert.is((await iso.readFile('/answerfile.xml')).toString('utf8'), text);
    const isolinux = (await iso.readFile('/boot/isolinux/isolinux.cfg')).toString('utf8');
    assert.match(isolinux, /^DEFAULT autoinstall$/m);
    assert.match(isolinux, /^TIMEOUT 30$/m);
    assert.match(isolinux, /LABEL autoinstall[\s\S]*?APPEND [^\n]*--- \/boot\/vmlinuz [^\n]*install answerfile=file:\/\/\/answerfile\.xml --- \/install\.img/);
    for (const label of ['install', 'no-serial', 'safe', 'multipath', 'shell']) assert.match(isolinux, new RegExp(`^LABEL ${label}$`, 'm'));
    const grub = (await iso.readFile('/EFI/xenserver/grub.cfg')).toString('utf8');
    assert.match(grub, /answerfile=file:\/\/\/answerfile\.xml/);
  } finally {
    await iso.close();
  }
});

test.run();

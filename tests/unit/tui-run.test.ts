// runInteractiveInstall over in-process streams: bytes in (escape sequences split
// across chunks, typed ahead of slow screens), whole-screen frames out.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { PassThrough } from 'node:stream';
import { parseAnswerFile } from '../../answerfiles/parse.ts';
import { runInteractiveInstall, type InteractiveAnswers } from '../../installer/tui/run.ts';
import { sha512Crypt } from '../../installer/runtime/sha512crypt.ts';
import { KEY_BYTES, currentScreenText, keyTokens } from '../lib/expect.ts';
import { FRESH_STATIC_CONFIG, FRESH_STATIC_KEYS, context } from '../lib/tui.ts';

function bytesOf(spec: string | string[]): string {
  return keyTokens(spec).map((t) => {
    const m = /^\{([a-z0-9]+)\}$/.exec(t);
    return m ? KEY_BYTES[m[1]!]! : t;
  }).join('');
}

function streams() {
  const input = new PassThrough();
  const output = new PassThrough();
  let out = '';
  output.setEncoding('utf8');
  output.on('data', (c: string) => { out += c; });
  return { input, output, read: () => out };
}

const tick = (ms = 0) => new Promise((r) => setTimeout(r, ms));

test('the whole fresh install typed ahead in 2-byte chunks (escape sequences split) gives the same config', async () => {
  const io = streams();
  const ctx = context();
  // the primary disk chosen with Down, Up, Down (sdb), then Up again (sda): arrows split over chunks
  const keys = [...FRESH_STATIC_KEYS];
  keys[3] = '{down}{up}{down}{up}{enter}';
  const bytes = Buffer.from(bytesOf([...keys, '{enter}']));
  const result = runInteractiveInstall(io, ctx, { escapeTimeoutMs: 200, passwordSalt: 'saltsaltsaltsalt' });
  // one chunk per turn: written all at once, a stream would hand them over joined
  let splitSequences = 0;
  for (let i = 0; i < bytes.length; i += 2) {
    const chunk = bytes.subarray(i, i + 2);
    // 2 bytes cannot hold a whole ESC [ X: every sequence is split
    if (chunk.includes(0x1b)) splitSequences++;
    io.input.write(chunk);
    await tick();
  }
  assert.ok(splitSequences >= 3, `${splitSequences} escape sequences split`);
  const r = (await result) as InteractiveAnswers;
  assert.equal(r.config, FRESH_STATIC_CONFIG);
  assert.equal(ctx.calls, ['planSummary']);
  assert.is(r.saveAs, undefined);
  const saved = parseAnswerFile(r.answerFile!);
  assert.equal(saved.errors, []);
  assert.equal(saved.config, { ...FRESH_STATIC_CONFIG, rootPassword: { type: 'hash', value: sha512Crypt('secret1', 'saltsaltsaltsalt') } });
  const screen = currentScreenText(io.read());
  assert.match(screen, /Confirm Installation/);
  assert.match(screen, /Installation plan: fresh\n\s+target disk: \/dev\/sda/);
  assert.not.match(io.read().replace(/\x1b\[H\x1b\[2J/g, ''), /\x1b/); // no control sequence but clear + home
});

test('a lone ESC is Back after the escape timeout; ESC [ arriving later is an arrow', async () => {
  const io = streams();
  const result = runInteractiveInstall(io, context(), { escapeTimeoutMs: 30 });
  io.input.write(bytesOf('{enter}'));
  await tick(5);
  assert.match(currentScreenText(io.read()), /Welcome to XenServer Setup/);
  io.input.write('\x1b');
  await tick(5);
  io.input.write('[B'); // within the timeout: Down, which on the welcome screen moves to Back
  await tick(5);
  assert.match(currentScreenText(io.read()), /< OK >  \[ Back \]/);
  io.input.write('\x1b');
  await tick(80);
  assert.match(currentScreenText(io.read()), /Select Keymap/);
  io.input.end();
  assert.equal(await result, { cancelled: true, reason: 'input-closed' });
});

test('saveAs from the confirm screen; install, progress, supplemental pack and reboot through the callbacks', async () => {
  const io = streams();
  const seen: string[] = [];
  let releaseInstall!: () => void;
  const ctx = context({
    install: (config, setup, progress) => {
      seen.push(`install ${config.kind} ${setup.keymap}`);
      progress('Partitioning /dev/sda');
      progress('Extracting the root file system');
      return new Promise<void>((r) => { releaseInstall = r; });
    },
    installSupplementalPack: async () => {
      seen.push('pack');
      return 'vendor-drivers 1.0';
    },
  });
  const result = runInteractiveInstall(io, ctx, { escapeTimeoutMs: 30 });
  io.input.write(bytesOf([...FRESH_STATIC_KEYS, '/root/answers.xml{enter}']));
  for (let i = 0; i < 50 && !releaseInstall; i++) await tick(5);
  assert.match(currentScreenText(io.read()), /Installing XenServer[\s\S]*Partitioning \/dev\/sda\n\s+Extracting the root file system/);
  io.input.write(bytesOf('{enter}')); // typed during the install: applied after it (Yes, install a pack)
  releaseInstall();
  await tick(20);
  assert.match(currentScreenText(io.read()), /Please eject the installation CD/);
  io.input.write(bytesOf('{enter}'));
  await tick(20);
  assert.match(currentScreenText(io.read()), /Installed vendor-drivers 1\.0\./);
  io.input.write(bytesOf('{enter}{tab}{enter}'));
  await tick(20);
  assert.match(currentScreenText(io.read()), /Installation Complete/);
  io.input.write(bytesOf('{enter}'));
  const r = (await result) as InteractiveAnswers;
  assert.equal(seen, ['install install us', 'pack']);
  assert.equal([r.installed, r.supplementalPacks, r.saveAs], [true, ['vendor-drivers 1.0'], '/root/answers.xml']);
  assert.equal(r.config, FRESH_STATIC_CONFIG);
});

test('a failing verifySource keeps the user on the verify screen; a throwing planSummary blocks Install', async () => {
  const io = streams();
  const ctx = context({
    verifySource: async () => ({ ok: false, error: 'repomd.xml: bad signature' }),
    planSummary: () => { throw new Error('no disk is large enough'); },
  });
  const result = runInteractiveInstall(io, ctx, { escapeTimeoutMs: 30 });
  io.input.write(bytesOf('{enter}{enter}{enter}1{enter}{enter}1{enter}2{enter}'));
  await tick(20);
  assert.match(currentScreenText(io.read()), /could not be verified:\n\s+repomd\.xml: bad signature/);
  io.input.write(bytesOf('{enter}1{enter}secret1{tab}secret1{enter}1{enter}{enter}{enter}{enter}{enter}{enter}{enter}'));
  await tick(20);
  const screen = currentScreenText(io.read());
  assert.match(screen, /cannot go ahead: no disk is large enough/);
  assert.not.match(screen, /Install XenServer/);
  io.input.end();
  assert.equal(await result, { cancelled: true, reason: 'input-closed' });
});

test('a TTY input is put in raw mode and restored', async () => {
  const io = streams();
  const modes: boolean[] = [];
  Object.assign(io.input, { isTTY: true, isRaw: false, setRawMode: (m: boolean) => { modes.push(m); } });
  const result = runInteractiveInstall(io, context(), { escapeTimeoutMs: 30 });
  io.input.write(bytesOf('{enter}{tab}{tab}{enter}')); // welcome: Reboot
  assert.equal(await result, { cancelled: true, reason: 'reboot' });
  assert.equal(modes, [true, false]);
});

test.run();

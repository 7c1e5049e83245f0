// tests/lib/expect.ts (the helper the QEMU serial-console tests use) driving the
// interactive installer over in-process streams, screen by screen, as a person would.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { PassThrough } from 'node:stream';
import { runInteractiveInstall, type InteractiveAnswers } from '../../installer/tui/run.ts';
import { ExpectTimeout, currentScreenText, expectScreen, keyTokens, type, type ExpectMatch } from '../lib/expect.ts';
import { FRESH_STATIC_CONFIG, context } from '../lib/tui.ts';

function terminal() {
  const input = new PassThrough();
  const output = new PassThrough();
  let out = '';
  output.setEncoding('utf8');
  output.on('data', (c: string) => { out += c; });
  return { io: { input, output }, read: () => out, send: (t: string) => { input.write(t); } };
}

const T = 2000;
const FAST = { escPauseMs: 60 };

/** The screens of a fresh install with static networking, up to the confirm screen. */
async function walkToConfirm(read: () => string, send: (t: string) => void): Promise<ExpectMatch> {
  const steps: [RegExp, string][] = [
    [/Select Keymap/, '{enter}'],
    [/Welcome to XenServer Setup/, '{enter}'],
    [/End User License Agreement/, '{enter}'],
    [/Select Primary Disk/, '1{enter}'],
    [/Virtual Machine Storage/, '2 {tab} {enter}'],
    [/Select Installation Source/, '1{enter}'],
    [/Verify Installation Source/, '{enter}'],
    [/Set Password/, 'secret1{tab}secret1{enter}'],
    [/connection to the management\s+server/, '1{enter}'],
    [/Configuration for eth0/, '2{tab}192.168.1.10{tab}255.255.255.0{tab}192.168.1.1{enter}'],
    [/Hostname and DNS Configuration/, '{tab}xs-host{tab}{tab}8.8.8.8{tab}1.1.1.1{enter}'],
    [/geographical area/, 'e{enter}'],
    [/city or area/, '2{enter}'],
    [/System Time/, '{enter}'],
    [/NTP Configuration/, '{tab}pool.ntp.org{enter}'],
  ];
  let since = 0;
  for (const [screen, keys] of steps) {
    since = (await expectScreen(read, screen, T, { since })).offset;
    await type(send, keys, FAST);
  }
  return expectScreen(read, /Confirm Installation[\s\S]*< Install XenServer >/, T, { since });
}

test('a full walk to the confirm screen, then Install: the config of the answers', async () => {
  const t = terminal();
  const ctx = context();
  const result = runInteractiveInstall(t.io, ctx, { escapeTimeoutMs: 20 });
  const { screen } = await walkToConfirm(t.read, t.send);
  assert.match(screen, /ALL DATA WILL BE DESTROYED/);
  assert.match(screen, /Installation plan: fresh\n\s+target disk: \/dev\/sda/);
  await type(t.send, '{enter}');
  const r = (await result) as InteractiveAnswers;
  assert.equal(r.config, FRESH_STATIC_CONFIG);
  assert.equal(ctx.calls, ['planSummary']);
});

test('Back out of the confirm screen: no disk-touching callback is ever called', async () => {
  const t = terminal();
  const touched: string[] = [];
  const ctx = context({
    install: async () => { touched.push('install'); },
    installSupplementalPack: async () => { touched.push('pack'); return 'x'; },
    loadDriverDisk: async () => { touched.push('driver'); return { name: 'x' }; },
  });
  const result = runInteractiveInstall(t.io, ctx, { escapeTimeoutMs: 20 });
  let since = (await walkToConfirm(t.read, t.send)).offset;
  for (const screen of [/NTP Configuration/, /System Time/, /city or area/, /geographical area/]) {
    await type(t.send, '{esc}', FAST);
    since = (await expectScreen(t.read, screen, T, { since })).offset;
  }
  // and forward again to confirm, then Back with the button instead of Esc
  await type(t.send, '{enter}{enter}{enter}', FAST);
  since = (await expectScreen(t.read, /NTP Configuration/, T, { since })).offset;
  await type(t.send, '{enter}', FAST);
  since = (await expectScreen(t.read, /\[ Save answers|< Install XenServer >/, T, { since })).offset;
  await type(t.send, '{tab}{tab}{enter}', FAST); // Save field -> Install -> Back
  await expectScreen(t.read, /NTP Configuration/, T, { since });
  t.io.input.end();
  assert.equal(await result, { cancelled: true, reason: 'input-closed' });
  assert.equal(touched, []);
  assert.equal(ctx.calls, ['planSummary', 'planSummary']);
});

test('expectScreen looks only at the current screen, waits for a later one with since, and times out with the screen shown', async () => {
  let out = '\x1b[H\x1b[2JFirst screen\r\nSelect Keymap\r\n';
  const read = () => out;
  const first = await expectScreen(read, 'Select Keymap', 100);
  assert.is(first.screen, 'First screen\nSelect Keymap\n');
  out += '\x1b[H\x1b[2JSecond\r\n';
  try {
    await expectScreen(read, /Select Keymap/, 60, { pollMs: 10 });
    assert.unreachable('the keymap screen was replaced');
  } catch (e) {
    assert.instance(e, ExpectTimeout);
    assert.match((e as Error).message, /no screen matched \/Select Keymap\/ within 60 ms; the screen shown was:\n  \| Second/);
  }
  // a screen drawn later is found; with since, the screen current at that offset is not
  setTimeout(() => { out += '\x1b[H\x1b[2JThird\r\n'; }, 30);
  const later = await expectScreen(read, /Second|Third/, 500, { since: out.length, pollMs: 5 });
  assert.is(later.match[0], 'Third');
  assert.is(currentScreenText('plain\r\ntext\x1b[1mbold\x1b[0m'), 'plain\ntextbold');
});

test('type sends each named key in one write, text runs as they are, and pauses after Esc', async () => {
  const sent: [string, number][] = [];
  const t0 = Date.now();
  await type((s) => { sent.push([s, Date.now() - t0]); }, ['ab{enter}{esc}', '{f9}x{down}{'], { escPauseMs: 50 });
  assert.equal(sent.map((x) => x[0]), ['ab', '\r', '\x1b', '\x1b[20~', 'x', '\x1b[B', '{']);
  assert.ok(sent[3]![1] - sent[2]![1] >= 45, 'a pause after Esc');
  assert.throws(() => keyTokens('{nosuchkey}'), /unknown key \{nosuchkey\}/);
});

test.run();

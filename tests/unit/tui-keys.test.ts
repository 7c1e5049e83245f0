// Terminal bytes -> keys (installer/tui/keys.ts), including sequences split across chunks.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { KeyDecoder, describeKey, type Key } from '../../installer/tui/keys.ts';

const names = (ks: Key[]) => ks.map(describeKey).join(' ');

test('arrows, F-keys and editing keys in xterm, VT220, application and Linux console forms', () => {
  const d = new KeyDecoder();
  assert.is(names(d.push('\x1b[A\x1b[B\x1b[C\x1b[D\x1bOA\x1bOD')), '<up> <down> <right> <left> <up> <left>');
  assert.is(names(d.push('\x1bOP\x1b[11~\x1b[[A')), '<f1> <f1> <f1>');
  assert.is(names(d.push('\x1b[20~\x1b[15~\x1b[[E\x1b[24~\x1b[21~')), '<f9> <f5> <f5> <f12> <f10>');
  assert.is(names(d.push('\x1b[5~\x1b[6~\x1b[H\x1b[F\x1b[1~\x1b[4~\x1b[3~\x1b[Z')), '<pageup> <pagedown> <home> <end> <home> <end> <delete> <backtab>');
  assert.is(names(d.push('\x1b[1;2P')), '<f1>'); // xterm with a modifier
  assert.is(d.waiting, false);
});

test('Enter is CR, LF or CRLF (one key); Tab; Backspace is DEL or BS; other controls are dropped', () => {
  const d = new KeyDecoder();
  assert.is(names(d.push('a\rb\nc\r\nd')), 'a <enter> b <enter> c <enter> d');
  assert.is(names(d.push('\r')), '<enter>');
  assert.is(names(d.push('\n\n')), '<enter>'); // the first LF ends the CRLF split across chunks
  assert.is(names(d.push('\t\x7f\x08\x03\x00 ')), '<tab> <backspace> <backspace>  ');
});

test('an escape sequence split across chunks is held until complete', () => {
  const d = new KeyDecoder();
  assert.equal(d.push('\x1b'), []);
  assert.is(d.waiting, true);
  assert.equal(d.push('['), []);
  assert.is(names(d.push('B')), '<down>');
  assert.equal(d.push('x\x1b[2'), [{ kind: 'char', char: 'x' }]);
  assert.is(names(d.push('0~')), '<f9>');
  assert.equal(d.push('\x1bO'), []);
  assert.is(names(d.push('P')), '<f1>');
  assert.is(d.waiting, false);
});

test('a lone ESC is Esc once flushed (timeout) or when a key that starts no sequence follows', () => {
  const d = new KeyDecoder();
  assert.equal(d.push('\x1b'), []);
  assert.is(names(d.flush()), '<escape>');
  assert.is(names(d.push('\x1b1')), '<escape> 1');
  assert.is(names(d.push('\x1b\x1b[A')), '<escape> <up>');
  // flushed in the middle of a sequence: Esc, then what followed as typed
  d.push('\x1b[');
  assert.is(names(d.flush()), '<escape> [');
});

test('UTF-8 characters, also when split, become one key; unknown sequences are dropped', () => {
  const d = new KeyDecoder();
  const e = Buffer.from('é€', 'utf8');
  assert.equal(d.push(e.subarray(0, 1)), []);
  assert.is(names(d.push(e.subarray(1, 3))), 'é');
  assert.is(names(d.push(e.subarray(3))), '€');
  assert.is(names(d.push('\x1b[99~x')), 'x');
  assert.is(names(d.push(Buffer.from([0xff, 0x41]))), 'A');
});

test.run();

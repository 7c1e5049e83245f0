// Expect-style driving of a full-screen text UI over any (read, send) pair: QEMU's
// serial console in e2e tests (vm.serialText / vm.send), or in-process streams.
//
//   await expectScreen(read, /Select Keymap/, 30_000);
//   await type(send, '{enter}');                  // keys: literal text and {name}s
//   await type(send, ['secret1', '{tab}', 'secret1', '{enter}']);
//
// A "screen" is what follows the last clear-screen in the output (the installer
// redraws the whole screen for every change), with escape sequences and CRs taken
// out, so a pattern never matches a screen that has already been replaced.
// The key bytes below are written out independently of installer/tui/keys.ts on
// purpose: they are what a terminal sends, and the installer must understand them.

/** Bytes a VT220/xterm-style terminal sends for each named key. */
export const KEY_BYTES: Record<string, string> = {
  enter: '\r',
  tab: '\t',
  backtab: '\x1b[Z',
  esc: '\x1b',
  backspace: '\x7f',
  space: ' ',
  up: '\x1b[A',
  down: '\x1b[B',
  right: '\x1b[C',
  left: '\x1b[D',
  home: '\x1b[H',
  end: '\x1b[F',
  pageup: '\x1b[5~',
  pagedown: '\x1b[6~',
  delete: '\x1b[3~',
  f1: '\x1bOP',
  f5: '\x1b[15~',
  f9: '\x1b[20~',
  f12: '\x1b[24~',
  lbrace: '{',
};

const CLEAR_SCREEN = /\x1b\[2J/g;
const ESCAPE_SEQUENCE = /\x1b(\[[0-9;?]*[ -\/]*[@-~]|[()][0-9A-Za-z]|[=>78DEHMNOPZc\\])/g;

/** The screen now shown in `output`: the text after its last clear-screen, control sequences and CRs removed. */
export function currentScreenText(output: string): string {
  let start = -1;
  for (const m of output.matchAll(CLEAR_SCREEN)) start = m.index! + m[0].length;
  const screen = start < 0 ? output : output.slice(start);
  return screen.replace(ESCAPE_SEQUENCE, '').replace(/\r/g, '');
}

export interface ExpectOptions {
  /** only output from this offset on counts (e.g. ExpectMatch.offset of the previous screen) */
  since?: number;
  /** how often `read` is called, default 25 ms */
  pollMs?: number;
}

export interface ExpectMatch {
  /** the whole screen text the pattern matched in */
  screen: string;
  match: RegExpExecArray;
  /** length of the output when it matched: pass as `since` to wait for a later screen */
  offset: number;
}

export class ExpectTimeout extends Error {
  constructor(pattern: RegExp, timeoutMs: number, readonly screen: string) {
    super(`no screen matched ${pattern} within ${timeoutMs} ms; the screen shown was:\n${screen.split('\n').map((l) => `  | ${l}`).join('\n')}`);
    this.name = 'ExpectTimeout';
  }
}

function toRegExp(pattern: RegExp | string): RegExp {
  if (typeof pattern !== 'string') return pattern;
  return new RegExp(pattern.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
}

/**
 * Wait until the current screen (see currentScreenText) matches `pattern`.
 * `read` returns everything output so far. Rejects with ExpectTimeout after `timeoutMs`.
 */
export async function expectScreen(read: () => string, pattern: RegExp | string, timeoutMs = 10_000, opts: ExpectOptions = {}): Promise<ExpectMatch> {
  const re = toRegExp(pattern);
  const deadline = Date.now() + timeoutMs;
  const poll = opts.pollMs ?? 25;
  for (;;) {
    const all = read();
    const out = opts.since ? all.slice(opts.since) : all;
    // with `since`, only a screen drawn after it counts (an old one may still be current)
    const screen = opts.since && !out.includes('\x1b[2J') ? '' : currentScreenText(out);
    const m = re.exec(screen);
    if (m) return { screen, match: m, offset: all.length };
    if (Date.now() >= deadline) throw new ExpectTimeout(re, timeoutMs, screen);
    await new Promise((r) => setTimeout(r, poll));
  }
}

/** Split a key spec into literal text and named keys: 'ab{enter}' -> ['ab', '{enter}']. */
export function keyTokens(keys: string | string[]): string[] {
  const out: string[] = [];
  for (const part of Array.isArray(keys) ? keys : [keys]) {
    for (const m of part.matchAll(/\{([a-z0-9]+)\}|[^{]+|\{/g)) {
      if (m[1] !== undefined && !(m[1] in KEY_BYTES)) throw new Error(`unknown key {${m[1]}} (known: ${Object.keys(KEY_BYTES).join(', ')})`);
      out.push(m[0]);
    }
  }
  return out;
}

export interface TypeOptions {
  /** pause after a bare Esc, so it is not read as the start of the next key's sequence (default 450 ms) */
  escPauseMs?: number;
  /** pause between keys and text runs (default 0) */
  delayMs?: number;
}

/**
 * Type `keys`: literal text, and `{name}` for the keys of KEY_BYTES. Each named key is
 * one `send` call, so its escape sequence goes out in one write.
 */
export async function type(send: (text: string) => unknown, keys: string | string[], opts: TypeOptions = {}): Promise<void> {
  const escPause = opts.escPauseMs ?? 450;
  for (const t of keyTokens(keys)) {
    const named = /^\{([a-z0-9]+)\}$/.exec(t);
    await send(named ? KEY_BYTES[named[1]!]! : t);
    if (named?.[1] === 'esc') await new Promise((r) => setTimeout(r, escPause));
    else if (opts.delayMs) await new Promise((r) => setTimeout(r, opts.delayMs));
  }
}

// Bytes from a terminal -> keys. Pure and incremental: a key whose bytes arrive in
// several chunks (an escape sequence split by a slow serial line, a UTF-8 character
// cut in two) is held back until it is complete. A lone ESC cannot be told from the
// start of a sequence by its bytes alone, so the caller flushes it after a pause
// (runInteractiveInstall's escape timeout).
//
// Sequences understood: those of xterm, the Linux console, VT100/VT220 and PuTTY,
// in both normal and application cursor-key modes.

export type KeyName =
  | 'enter' | 'tab' | 'backtab' | 'backspace' | 'delete' | 'escape'
  | 'up' | 'down' | 'left' | 'right' | 'pageup' | 'pagedown' | 'home' | 'end' | 'insert'
  | 'f1' | 'f2' | 'f3' | 'f4' | 'f5' | 'f6' | 'f7' | 'f8' | 'f9' | 'f10' | 'f11' | 'f12';

export type Key = { kind: 'char'; char: string } | { kind: 'key'; name: KeyName };

export const key = (name: KeyName): Key => ({ kind: 'key', name });
export const char = (c: string): Key => ({ kind: 'char', char: c });

/** Keys for each character of `text` (\r and \n become Enter, \t Tab). */
export function textKeys(text: string): Key[] {
  return [...text].map((c) => (c === '\r' || c === '\n' ? key('enter') : c === '\t' ? key('tab') : char(c)));
}

/** `ESC [ n ~` */
const TILDE: Record<number, KeyName> = {
  1: 'home', 2: 'insert', 3: 'delete', 4: 'end', 5: 'pageup', 6: 'pagedown', 7: 'home', 8: 'end',
  11: 'f1', 12: 'f2', 13: 'f3', 14: 'f4', 15: 'f5', 17: 'f6', 18: 'f7', 19: 'f8', 20: 'f9', 21: 'f10', 23: 'f11', 24: 'f12',
};
/** `ESC [ X` and `ESC O X` */
const FINAL: Record<string, KeyName> = {
  A: 'up', B: 'down', C: 'right', D: 'left', H: 'home', F: 'end', Z: 'backtab', M: 'enter',
  P: 'f1', Q: 'f2', R: 'f3', S: 'f4',
};
/** Linux console `ESC [ [ X` */
const LINUX_F: Record<string, KeyName> = { A: 'f1', B: 'f2', C: 'f3', D: 'f4', E: 'f5' };

/** A sequence longer than this without its final byte is garbage, not a key. */
const MAX_SEQUENCE = 16;

type Step = { keys: Key[]; used: number } | 'incomplete';

function utf8Length(lead: number): number {
  if (lead >= 0xc2 && lead <= 0xdf) return 2;
  if (lead >= 0xe0 && lead <= 0xef) return 3;
  if (lead >= 0xf0 && lead <= 0xf4) return 4;
  return 0;
}

/** One key (or none, for bytes that mean nothing) from the start of `b`. */
function decodeOne(b: number[], i: number, final: boolean): Step {
  const c = b[i]!;
  if (c === 0x1b) {
    if (i + 1 >= b.length) return final ? { keys: [key('escape')], used: 1 } : 'incomplete';
    const n = b[i + 1]!;
    if (n === 0x5b /* [ */) {
      if (i + 2 >= b.length) return final ? { keys: [key('escape')], used: 1 } : 'incomplete';
      if (b[i + 2] === 0x5b) {
        if (i + 3 >= b.length) return final ? { keys: [key('escape')], used: 1 } : 'incomplete';
        const k = LINUX_F[String.fromCharCode(b[i + 3]!)];
        return { keys: k ? [key(k)] : [], used: 4 };
      }
      let j = i + 2;
      while (j < b.length && b[j]! >= 0x20 && b[j]! <= 0x3f) j++;
      if (j >= b.length) {
        if (j - i > MAX_SEQUENCE) return { keys: [], used: j - i };
        return final ? { keys: [key('escape')], used: 1 } : 'incomplete';
      }
      const fin = b[j]!;
      const params = String.fromCharCode(...b.slice(i + 2, j));
      if (fin < 0x40 || fin > 0x7e) return { keys: [key('escape')], used: 1 }; // not a CSI after all
      let k: KeyName | undefined;
      if (fin === 0x7e /* ~ */) k = TILDE[Number(params.split(';')[0])];
      else k = FINAL[String.fromCharCode(fin)];
      return { keys: k ? [key(k)] : [], used: j + 1 - i };
    }
    if (n === 0x4f /* O */) {
      if (i + 2 >= b.length) return final ? { keys: [key('escape')], used: 1 } : 'incomplete';
      const k = FINAL[String.fromCharCode(b[i + 2]!)];
      return { keys: k ? [key(k)] : [], used: 3 };
    }
    // ESC then anything else: Esc pressed, and the next byte is a key of its own
    return { keys: [key('escape')], used: 1 };
  }
  if (c === 0x0d) return { keys: [key('enter')], used: 1 };
  if (c === 0x0a) return { keys: [key('enter')], used: 1 };
  if (c === 0x09) return { keys: [key('tab')], used: 1 };
  if (c === 0x7f || c === 0x08) return { keys: [key('backspace')], used: 1 };
  if (c < 0x20) return { keys: [], used: 1 }; // other control characters mean nothing here
  if (c < 0x80) return { keys: [char(String.fromCharCode(c))], used: 1 };
  const len = utf8Length(c);
  if (len === 0) return { keys: [], used: 1 };
  if (i + len > b.length) return final ? { keys: [], used: b.length - i } : 'incomplete';
  const bytes = b.slice(i, i + len);
  if (bytes.slice(1).some((x) => (x & 0xc0) !== 0x80)) return { keys: [], used: 1 };
  const text = Buffer.from(bytes).toString('utf8');
  return { keys: text.includes('\ufffd') ? [] : [char(text)], used: len };
}

export class KeyDecoder {
  private pending: number[] = [];
  /** the last byte decoded was CR: a LF right after it is the same Enter (CRLF terminals) */
  private afterCR = false;

  /** Keys completed by `chunk`; an unfinished sequence stays pending. */
  push(chunk: Uint8Array | string): Key[] {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
    for (const x of bytes) this.pending.push(x);
    return this.decode(false);
  }

  /** True when the pending bytes could be an escape sequence still arriving. */
  get waiting(): boolean {
    return this.pending.length > 0;
  }

  /** The input paused: whatever is pending is taken as typed (a lone ESC is Esc). */
  flush(): Key[] {
    return this.decode(true);
  }

  private decode(final: boolean): Key[] {
    const out: Key[] = [];
    const b = this.pending;
    let i = 0;
    while (i < b.length) {
      if (b[i] === 0x0a && this.afterCR) {
        this.afterCR = false;
        i++;
        continue;
      }
      const r = decodeOne(b, i, final);
      if (r === 'incomplete') break;
      this.afterCR = b[i] === 0x0d;
      out.push(...r.keys);
      i += r.used;
    }
    this.pending = b.slice(i);
    return out;
  }
}

/** `describeKey(k)` for messages and tests: `a`, `<enter>`, `<f9>`. */
export function describeKey(k: Key): string {
  return k.kind === 'char' ? k.char : `<${k.name}>`;
}

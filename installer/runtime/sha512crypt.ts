// crypt(3) SHA-512 ("$6$", Ulrich Drepper's SHA-crypt specification), so the
// installer hashes a plaintext root password itself: no tool to add to
// install.img and the password never appears in a process's argv or stdin.
// Pure; node:crypto's sha512 only.
import { createHash } from 'node:crypto';

const ITOA64 = './0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
export const SALT_CHARS = ITOA64;
const ROUNDS_DEFAULT = 5000;

/** Byte order of the final digest in the encoding (spec, SHA-512 case). */
const ORDER: [number, number, number][] = [
  [0, 21, 42], [22, 43, 1], [44, 2, 23], [3, 24, 45], [25, 46, 4], [47, 5, 26], [6, 27, 48],
  [28, 49, 7], [50, 8, 29], [9, 30, 51], [31, 52, 10], [53, 11, 32], [12, 33, 54], [34, 55, 13],
  [56, 14, 35], [15, 36, 57], [37, 58, 16], [59, 17, 38], [18, 39, 60], [40, 61, 19], [62, 20, 41],
];

function sha512(...parts: Buffer[]): Buffer {
  const h = createHash('sha512');
  for (const p of parts) h.update(p);
  return h.digest();
}

/** `len` bytes of `block` repeated. */
function repeatTo(block: Buffer, len: number): Buffer {
  const out = Buffer.alloc(len);
  for (let i = 0; i < len; i += block.length) block.copy(out, i, 0, Math.min(block.length, len - i));
  return out;
}

/**
 * `$6$[rounds=N$]salt$hash`. The salt is cut to 16 characters as crypt(3) does;
 * rounds outside 1000..999999999 are clamped, as the specification says.
 */
export function sha512Crypt(password: string | Buffer, salt: string, rounds?: number): string {
  const p = Buffer.isBuffer(password) ? password : Buffer.from(password, 'utf8');
  const saltText = salt.slice(0, 16);
  const s = Buffer.from(saltText, 'utf8');
  const n = rounds === undefined ? ROUNDS_DEFAULT : Math.min(999_999_999, Math.max(1000, Math.floor(rounds)));

  const b = sha512(p, s, p);
  const aParts: Buffer[] = [p, s];
  let len = p.length;
  for (; len > 64; len -= 64) aParts.push(b);
  aParts.push(b.subarray(0, len));
  for (let bits = p.length; bits > 0; bits >>= 1) aParts.push(bits & 1 ? b : p);
  const a = sha512(...aParts);

  const dp = sha512(...Array<Buffer>(p.length).fill(p));
  const pSeq = repeatTo(dp, p.length);
  const ds = sha512(...Array<Buffer>(16 + a[0]!).fill(s));
  const sSeq = repeatTo(ds, s.length);

  let c = a;
  for (let i = 0; i < n; i++) {
    const h = createHash('sha512');
    h.update(i & 1 ? pSeq : c);
    if (i % 3) h.update(sSeq);
    if (i % 7) h.update(pSeq);
    h.update(i & 1 ? c : pSeq);
    c = h.digest();
  }

  let out = '';
  const b64 = (b2: number, b1: number, b0: number, count: number) => {
    let w = (b2 << 16) | (b1 << 8) | b0;
    for (let i = 0; i < count; i++) {
      out += ITOA64[w & 0x3f];
      w >>= 6;
    }
  };
  for (const [x, y, z] of ORDER) b64(c[x]!, c[y]!, c[z]!, 4);
  b64(0, 0, c[63]!, 2);
  return `$6$${rounds === undefined ? '' : `rounds=${n}$`}${saltText}$${out}`;
}

/** A crypt salt from random bytes (16 characters of ./0-9A-Za-z). */
export function cryptSaltFromBytes(bytes: Uint8Array): string {
  if (bytes.length < 16) throw new Error('a crypt salt needs 16 random bytes');
  return [...bytes.subarray(0, 16)].map((v) => ITOA64[v & 0x3f]).join('');
}

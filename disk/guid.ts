// GUIDs as GPT stores them. Text form is the usual 8-4-4-4-12 hex (upper case,
// as sgdisk and sfdisk print it); on disk the first three groups are
// little-endian ("mixed endian"), the last two are stored as written.
import { createHash } from 'node:crypto';

const GUID_RE = /^[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}$/i;

export function isGuid(text: string): boolean {
  return GUID_RE.test(text);
}

/** Upper-case canonical text form; throws on anything that is not a GUID. */
export function normalizeGuid(text: string): string {
  if (!GUID_RE.test(text)) throw new Error(`not a GUID: '${text}'`);
  return text.toUpperCase();
}

/** The 16 on-disk bytes of a GUID (mixed endian, as in GPT headers and entries). */
export function guidToBytes(text: string): Buffer {
  const hex = normalizeGuid(text).replace(/-/g, '');
  const be = Buffer.from(hex, 'hex');
  const out = Buffer.alloc(16);
  out.writeUInt32LE(be.readUInt32BE(0), 0);
  out.writeUInt16LE(be.readUInt16BE(4), 4);
  out.writeUInt16LE(be.readUInt16BE(6), 6);
  be.copy(out, 8, 8, 16);
  return out;
}

/** Text form of 16 on-disk (mixed-endian) GUID bytes. */
export function guidFromBytes(bytes: Uint8Array, offset = 0): string {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset + offset, 16);
  const be = Buffer.alloc(16);
  be.writeUInt32BE(b.readUInt32LE(0), 0);
  be.writeUInt16BE(b.readUInt16LE(4), 4);
  be.writeUInt16BE(b.readUInt16LE(6), 6);
  b.copy(be, 8, 8, 16);
  const h = be.toString('hex').toUpperCase();
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/**
 * A random-looking but reproducible GUID: sha256(seed, NUL, purpose), first 16
 * bytes, with the RFC 4122 version-4 and variant bits set. The installer passes
 * a seed from crypto.randomBytes; builds and tests pass a fixed one.
 */
export function guidFromSeed(seed: string | Uint8Array, purpose: string): string {
  const h = createHash('sha256').update(seed).update('\0').update(purpose).digest();
  h[6] = (h[6] & 0x0f) | 0x40;
  h[8] = (h[8] & 0x3f) | 0x80;
  const x = h.subarray(0, 16).toString('hex').toUpperCase();
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`;
}

/** A 32-bit value from the same kind of seed (DOS disk signatures). */
export function u32FromSeed(seed: string | Uint8Array, purpose: string): number {
  return createHash('sha256').update(seed).update('\0').update(purpose).digest().readUInt32LE(0);
}

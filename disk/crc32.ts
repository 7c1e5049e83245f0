// CRC-32 (IEEE 802.3, the one GPT headers and entry arrays carry). Node >= 20.15
// has zlib.crc32 in C; the installer runtime runs on Debian's Node 18, which does
// not, so a table-driven fallback keeps this module usable there.
import * as zlib from 'node:zlib';

type Crc32Fn = (data: Uint8Array, value?: number) => number;

const nativeCrc32 = (zlib as unknown as { crc32?: Crc32Fn }).crc32;

let table: Uint32Array | undefined;

function crcTable(): Uint32Array {
  if (table) return table;
  table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
}

/** CRC-32 in pure JavaScript (exported so tests can compare it with zlib's). */
export function crc32Pure(data: Uint8Array, value = 0): number {
  const t = crcTable();
  let c = (value ^ 0xffffffff) >>> 0;
  for (let i = 0; i < data.length; i++) c = t[(c ^ data[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** CRC-32 of `data`, continuing from `value` (0 to start). */
export function crc32(data: Uint8Array, value = 0): number {
  return nativeCrc32 ? nativeCrc32(data, value) >>> 0 : crc32Pure(data, value);
}

/** Which implementation `crc32` uses on this Node (for logs and tests). */
export const crc32Implementation: 'zlib' | 'pure' = nativeCrc32 ? 'zlib' : 'pure';

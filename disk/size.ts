// Disk sizes as people write them. Binary units are the default, as with
// truncate(1) and qemu-img: K, M, G, T, P and KiB..PiB are powers of 1024.
// KB, MB, GB, TB, PB are powers of 1000, the way disk vendors count
// ("a 60 GB disk" = 60e9 bytes). A bare number is bytes.

const BINARY: Record<string, number> = { K: 2 ** 10, M: 2 ** 20, G: 2 ** 30, T: 2 ** 40, P: 2 ** 50 };
const DECIMAL: Record<string, number> = { K: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15 };

export const SIZE_SYNTAX = 'a number with an optional unit: K/M/G/T/P or KiB..PiB (powers of 1024), KB/MB/GB/TB/PB (powers of 1000), B or none (bytes); e.g. 60G, 60GiB, 60GB, 2TB';

/** Bytes in `text` (see SIZE_SYNTAX); throws Error with the accepted syntax. */
export function parseSize(text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kmgtp]?)(i?b?)\s*$/i.exec(text);
  if (!m) throw new Error(`cannot read size '${text}': expected ${SIZE_SYNTAX}`);
  const [, num, prefix, suffix] = m;
  const p = prefix.toUpperCase();
  let unit = 1;
  if (p) {
    const s = suffix.toLowerCase();
    if (s === 'b') unit = DECIMAL[p];
    else if (s === 'ib' || s === '') unit = BINARY[p];
    else throw new Error(`cannot read size '${text}': expected ${SIZE_SYNTAX}`);
  } else if (suffix.toLowerCase() === 'i' || suffix.toLowerCase() === 'ib') {
    throw new Error(`cannot read size '${text}': expected ${SIZE_SYNTAX}`);
  }
  // Exact arithmetic for fractions: 1.5G is 3 * 2^29, never 1610612735.99
  const [whole, frac = ''] = num.split('.');
  const scaled = BigInt(whole + frac) * BigInt(unit);
  const div = 10n ** BigInt(frac.length);
  if (scaled % div !== 0n) throw new Error(`size '${text}' is not a whole number of bytes`);
  const bytes = scaled / div;
  if (bytes > BigInt(Number.MAX_SAFE_INTEGER)) throw new Error(`size '${text}' is too large`);
  return Number(bytes);
}

/** Short human form: bytes in the largest binary unit that keeps one decimal. */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let v = bytes;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) { v /= 1024; i++; }
  const text = Number.isInteger(v) ? String(v) : v.toFixed(1);
  return `${text} ${units[i]}`;
}

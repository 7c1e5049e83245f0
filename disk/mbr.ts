// DOS master boot records: the DOS layout's table and GPT's protective MBR.
// Only the partition table area (bytes 440..511) is written; bytes 0..439 are
// boot code, which GRUB installs later, so writers leave them zero.

export interface MbrPartition {
  /** 1..4 (primary partitions only) */
  number: number;
  firstSector: number;
  sectorCount: number;
  /** partition type byte, e.g. 0x83 */
  id: number;
  active?: boolean;
}

export interface MbrInput {
  partitions: MbrPartition[];
  /** 32-bit disk signature at byte 440 */
  diskSignature: number;
}

export interface MbrEntry extends MbrPartition {
  /** raw CHS triplets as stored */
  chsFirst: [number, number, number];
  chsLast: [number, number, number];
}

export interface MbrRead {
  diskSignature: number;
  /** 0x55AA at 510 */
  signatureOk: boolean;
  /** non-empty entries (type byte not 0) */
  partitions: MbrEntry[];
  /** a single 0xEE entry: a GPT disk */
  protective: boolean;
}

/** Geometry used for CHS fields: 255 heads, 63 sectors per track, as sfdisk and sgdisk assume. */
export const CHS_HEADS = 255;
export const CHS_SECTORS = 63;

/**
 * CHS bytes for an LBA: head, sector | cylinder bits 8-9 << 6, cylinder low byte.
 * Past cylinder 1023 every tool writes the maximum, FE FF FF.
 */
export function chsBytes(lba: number): [number, number, number] {
  const cylinder = Math.floor(lba / (CHS_HEADS * CHS_SECTORS));
  if (cylinder > 1023) return [0xfe, 0xff, 0xff];
  const head = Math.floor(lba / CHS_SECTORS) % CHS_HEADS;
  const sector = (lba % CHS_SECTORS) + 1;
  return [head, (sector & 0x3f) | ((cylinder >> 2) & 0xc0), cylinder & 0xff];
}

function u32(v: number, what: string): number {
  if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new RangeError(`${what} ${v} does not fit a DOS partition table (32-bit sectors)`);
  return v;
}

function putEntry(mbr: Buffer, p: MbrPartition): void {
  const off = 446 + (p.number - 1) * 16;
  mbr[off] = p.active ? 0x80 : 0x00;
  const first = u32(p.firstSector, `partition ${p.number} start`);
  const count = u32(p.sectorCount, `partition ${p.number} size`);
  u32(first + count - 1, `partition ${p.number} end`);
  const [h1, s1, c1] = chsBytes(first);
  const [h2, s2, c2] = chsBytes(first + count - 1);
  mbr[off + 1] = h1; mbr[off + 2] = s1; mbr[off + 3] = c1;
  mbr[off + 4] = p.id;
  mbr[off + 5] = h2; mbr[off + 6] = s2; mbr[off + 7] = c2;
  mbr.writeUInt32LE(first, off + 8);
  mbr.writeUInt32LE(count, off + 12);
}

/** A 512-byte DOS MBR holding up to four primary partitions. */
export function writeMbr(input: MbrInput): Buffer {
  const mbr = Buffer.alloc(512);
  const seen = new Set<number>();
  const sorted = [...input.partitions].sort((a, b) => a.firstSector - b.firstSector);
  for (const p of input.partitions) {
    if (!Number.isInteger(p.number) || p.number < 1 || p.number > 4) throw new RangeError(`DOS partition number ${p.number} is not 1..4`);
    if (seen.has(p.number)) throw new RangeError(`DOS partition ${p.number} given twice`);
    seen.add(p.number);
    if (p.sectorCount <= 0) throw new RangeError(`DOS partition ${p.number} is empty`);
    if (p.firstSector < 1) throw new RangeError(`DOS partition ${p.number} overlaps the MBR`);
    if (!Number.isInteger(p.id) || p.id <= 0 || p.id > 0xff) throw new RangeError(`DOS partition ${p.number} has bad type id ${p.id}`);
    putEntry(mbr, p);
  }
  for (let i = 1; i < sorted.length; i++) {
    const prev = sorted[i - 1];
    if (sorted[i].firstSector < prev.firstSector + prev.sectorCount) {
      throw new RangeError(`DOS partitions ${prev.number} and ${sorted[i].number} overlap`);
    }
  }
  mbr.writeUInt32LE(u32(input.diskSignature >>> 0, 'disk signature'), 440);
  mbr[510] = 0x55;
  mbr[511] = 0xaa;
  return mbr;
}

/**
 * GPT's protective MBR: one 0xEE entry from LBA 1 to the end of the disk (or
 * 0xFFFFFFFF sectors). `active` sets its boot flag, which the installer does
 * when there is no ESP because some BIOSes will not boot a disk without an
 * active MBR partition (CA-54144).
 */
export function protectiveMbr(diskSectors: number, active = false, diskSignature = 0): Buffer {
  const mbr = Buffer.alloc(512);
  const size = Math.min(diskSectors - 1, 0xffffffff);
  const off = 446;
  mbr[off] = active ? 0x80 : 0x00;
  const [h1, s1, c1] = chsBytes(1);
  mbr[off + 1] = h1; mbr[off + 2] = s1; mbr[off + 3] = c1;
  mbr[off + 4] = 0xee;
  const [h2, s2, c2] = chsBytes(size);
  mbr[off + 5] = h2; mbr[off + 6] = s2; mbr[off + 7] = c2;
  mbr.writeUInt32LE(1, off + 8);
  mbr.writeUInt32LE(size, off + 12);
  mbr.writeUInt32LE(diskSignature >>> 0, 440);
  mbr[510] = 0x55;
  mbr[511] = 0xaa;
  return mbr;
}

/** Read the four primary entries of an MBR (first 512 bytes of `buf`). */
export function readMbr(buf: Uint8Array): MbrRead {
  if (buf.length < 512) throw new RangeError(`an MBR is 512 bytes, got ${buf.length}`);
  const b = Buffer.from(buf.buffer, buf.byteOffset, 512);
  const partitions: MbrEntry[] = [];
  for (let i = 0; i < 4; i++) {
    const off = 446 + i * 16;
    const id = b[off + 4];
    if (id === 0) continue;
    partitions.push({
      number: i + 1,
      active: b[off] === 0x80,
      id,
      firstSector: b.readUInt32LE(off + 8),
      sectorCount: b.readUInt32LE(off + 12),
      chsFirst: [b[off + 1], b[off + 2], b[off + 3]],
      chsLast: [b[off + 5], b[off + 6], b[off + 7]],
    });
  }
  return {
    diskSignature: b.readUInt32LE(440),
    signatureOk: b[510] === 0x55 && b[511] === 0xaa,
    partitions,
    protective: partitions.length === 1 && partitions[0].id === 0xee,
  };
}

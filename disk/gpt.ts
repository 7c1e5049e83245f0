// GUID partition tables (UEFI 2.x, chapter 5): protective MBR, primary header
// at LBA 1 with its entry array at LBA 2, and the backup copy at the end of the
// disk (entries, then the header in the last sector). Pure: bytes out, the
// caller writes them (write-table.ts does so for files and devices).
import { crc32 } from './crc32.ts';
import { guidFromBytes, guidToBytes, normalizeGuid } from './guid.ts';
import { protectiveMbr, readMbr, type MbrRead } from './mbr.ts';

export const GPT_SIGNATURE = 'EFI PART';
export const GPT_REVISION = 0x00010000;
export const GPT_HEADER_SIZE = 92;
export const GPT_ENTRY_SIZE = 128;
export const GPT_ENTRY_COUNT = 128;
const NAME_CHARS = 36;
const ZERO_GUID = '00000000-0000-0000-0000-000000000000';

export interface GptPartition {
  /** 1..128: the entry slot is number - 1 */
  number: number;
  firstSector: number;
  /** inclusive */
  lastSector: number;
  typeGuid: string;
  uniqueGuid: string;
  /** up to 36 UTF-16 code units */
  name?: string;
  /** 64 attribute bits (bit 2: legacy BIOS bootable) */
  attributes?: bigint;
}

export interface GptInput {
  diskSectors: number;
  /** 512 (default) or 4096 */
  sectorSize?: number;
  diskGuid: string;
  partitions: GptPartition[];
  /** boot flag on the protective MBR entry; default: set when no partition is an ESP (as the installer does) */
  protectiveMbrActive?: boolean;
  /** disk signature in the protective MBR (default 0) */
  mbrDiskSignature?: number;
}

export interface GptImage {
  /** LBA 0 .. firstUsable-1: protective MBR, primary header, entry array */
  primary: Buffer;
  /** last sectors of the disk: backup entry array, then backup header */
  backup: Buffer;
  /** byte offset on the disk where `backup` goes */
  backupOffset: number;
  firstUsableSector: number;
  lastUsableSector: number;
}

export interface GptHeader {
  signatureOk: boolean;
  revision: number;
  headerSize: number;
  headerCrc: number;
  headerCrcOk: boolean;
  currentLba: bigint;
  backupLba: bigint;
  firstUsableLba: bigint;
  lastUsableLba: bigint;
  diskGuid: string;
  entriesLba: bigint;
  entryCount: number;
  entrySize: number;
  entriesCrc: number;
}

export interface GptRead {
  protectiveMbr: MbrRead;
  header: GptHeader;
  entriesCrcOk: boolean;
  /** used entries, by number */
  partitions: Required<GptPartition>[];
}

const ESP_GUID = 'C12A7328-F81F-11D2-BA4B-00A0C93EC93B';

function entrySectors(sectorSize: number, count = GPT_ENTRY_COUNT): number {
  return Math.ceil((count * GPT_ENTRY_SIZE) / sectorSize);
}

/** GPT's usable area for a disk (128 entries): 2+entries .. last-1-entries. */
export function gptUsableRange(diskSectors: number, sectorSize = 512): { first: number; last: number } {
  const n = entrySectors(sectorSize);
  return { first: 2 + n, last: diskSectors - 2 - n };
}

function encodeEntries(partitions: GptPartition[]): Buffer {
  const buf = Buffer.alloc(GPT_ENTRY_COUNT * GPT_ENTRY_SIZE);
  for (const p of partitions) {
    const off = (p.number - 1) * GPT_ENTRY_SIZE;
    guidToBytes(p.typeGuid).copy(buf, off);
    guidToBytes(p.uniqueGuid).copy(buf, off + 16);
    buf.writeBigUInt64LE(BigInt(p.firstSector), off + 32);
    buf.writeBigUInt64LE(BigInt(p.lastSector), off + 40);
    buf.writeBigUInt64LE(p.attributes ?? 0n, off + 48);
    buf.write(p.name ?? '', off + 56, NAME_CHARS * 2, 'utf16le');
  }
  return buf;
}

function encodeHeader(sectorSize: number, f: {
  currentLba: number; backupLba: number; firstUsable: number; lastUsable: number;
  diskGuid: string; entriesLba: number; entriesCrc: number;
}): Buffer {
  const sector = Buffer.alloc(sectorSize);
  sector.write(GPT_SIGNATURE, 0, 'latin1');
  sector.writeUInt32LE(GPT_REVISION, 8);
  sector.writeUInt32LE(GPT_HEADER_SIZE, 12);
  sector.writeBigUInt64LE(BigInt(f.currentLba), 24);
  sector.writeBigUInt64LE(BigInt(f.backupLba), 32);
  sector.writeBigUInt64LE(BigInt(f.firstUsable), 40);
  sector.writeBigUInt64LE(BigInt(f.lastUsable), 48);
  guidToBytes(f.diskGuid).copy(sector, 56);
  sector.writeBigUInt64LE(BigInt(f.entriesLba), 72);
  sector.writeUInt32LE(GPT_ENTRY_COUNT, 80);
  sector.writeUInt32LE(GPT_ENTRY_SIZE, 84);
  sector.writeUInt32LE(f.entriesCrc, 88);
  sector.writeUInt32LE(crc32(sector.subarray(0, GPT_HEADER_SIZE)), 16);
  return sector;
}

function validate(input: GptInput, sectorSize: number, first: number, last: number): void {
  if (sectorSize !== 512 && sectorSize !== 4096) throw new RangeError(`sector size ${sectorSize} is not 512 or 4096`);
  if (!Number.isSafeInteger(input.diskSectors) || last < first) throw new RangeError(`a disk of ${input.diskSectors} sectors is too small for a GPT`);
  normalizeGuid(input.diskGuid);
  const numbers = new Set<number>();
  const uniques = new Set<string>();
  for (const p of input.partitions) {
    const what = `GPT partition ${p.number}`;
    if (!Number.isInteger(p.number) || p.number < 1 || p.number > GPT_ENTRY_COUNT) throw new RangeError(`${what}: number is not 1..${GPT_ENTRY_COUNT}`);
    if (numbers.has(p.number)) throw new RangeError(`${what} given twice`);
    numbers.add(p.number);
    if (!Number.isSafeInteger(p.firstSector) || !Number.isSafeInteger(p.lastSector) || p.lastSector < p.firstSector) {
      throw new RangeError(`${what}: sectors ${p.firstSector}..${p.lastSector} are not a range`);
    }
    if (p.firstSector < first || p.lastSector > last) {
      throw new RangeError(`${what}: sectors ${p.firstSector}..${p.lastSector} are outside the usable area ${first}..${last}`);
    }
    if (normalizeGuid(p.typeGuid) === ZERO_GUID) throw new RangeError(`${what}: type GUID is zero (that marks an unused entry)`);
    const u = normalizeGuid(p.uniqueGuid);
    if (uniques.has(u)) throw new RangeError(`${what}: unique GUID ${u} is used twice`);
    uniques.add(u);
    if ((p.name ?? '').length > NAME_CHARS) throw new RangeError(`${what}: name longer than ${NAME_CHARS} characters`);
    if (p.attributes !== undefined && (p.attributes < 0n || p.attributes >= 1n << 64n)) throw new RangeError(`${what}: attributes are not 64 bits`);
  }
  const sorted = [...input.partitions].sort((a, b) => a.firstSector - b.firstSector);
  for (let i = 1; i < sorted.length; i++) {
    if (sorted[i].firstSector <= sorted[i - 1].lastSector) {
      throw new RangeError(`GPT partitions ${sorted[i - 1].number} and ${sorted[i].number} overlap`);
    }
  }
}

/** Build the primary and backup GPT structures for a disk. Deterministic in its input. */
export function writeGpt(input: GptInput): GptImage {
  const sectorSize = input.sectorSize ?? 512;
  const { first, last } = gptUsableRange(input.diskSectors, sectorSize);
  validate(input, sectorSize, first, last);
  const n = entrySectors(sectorSize);
  const entries = encodeEntries(input.partitions);
  const entriesCrc = crc32(entries);
  const lastLba = input.diskSectors - 1;
  const backupEntriesLba = lastLba - n;

  const primaryHeader = encodeHeader(sectorSize, {
    currentLba: 1, backupLba: lastLba, firstUsable: first, lastUsable: last,
    diskGuid: input.diskGuid, entriesLba: 2, entriesCrc,
  });
  const backupHeader = encodeHeader(sectorSize, {
    currentLba: lastLba, backupLba: 1, firstUsable: first, lastUsable: last,
    diskGuid: input.diskGuid, entriesLba: backupEntriesLba, entriesCrc,
  });

  const hasEsp = input.partitions.some((p) => normalizeGuid(p.typeGuid) === ESP_GUID);
  const pmbr = protectiveMbr(input.diskSectors, input.protectiveMbrActive ?? !hasEsp, input.mbrDiskSignature ?? 0);
  const lba0 = Buffer.alloc(sectorSize);
  pmbr.copy(lba0, 0);
  const entryBytes = Buffer.alloc(n * sectorSize);
  entries.copy(entryBytes, 0);

  return {
    primary: Buffer.concat([lba0, primaryHeader, entryBytes]),
    backup: Buffer.concat([entryBytes, backupHeader]),
    backupOffset: backupEntriesLba * sectorSize,
    firstUsableSector: first,
    lastUsableSector: last,
  };
}

/** Decode a GPT header sector (checks signature and header CRC). */
export function parseGptHeader(sector: Uint8Array): GptHeader {
  const b = Buffer.from(sector.buffer, sector.byteOffset, sector.length);
  const headerSize = b.readUInt32LE(12);
  const headerCrc = b.readUInt32LE(16);
  let headerCrcOk = false;
  if (headerSize >= GPT_HEADER_SIZE && headerSize <= b.length) {
    const copy = Buffer.from(b.subarray(0, headerSize));
    copy.writeUInt32LE(0, 16);
    headerCrcOk = crc32(copy) === headerCrc;
  }
  return {
    signatureOk: b.toString('latin1', 0, 8) === GPT_SIGNATURE,
    revision: b.readUInt32LE(8),
    headerSize,
    headerCrc,
    headerCrcOk,
    currentLba: b.readBigUInt64LE(24),
    backupLba: b.readBigUInt64LE(32),
    firstUsableLba: b.readBigUInt64LE(40),
    lastUsableLba: b.readBigUInt64LE(48),
    diskGuid: guidFromBytes(b, 56),
    entriesLba: b.readBigUInt64LE(72),
    entryCount: b.readUInt32LE(80),
    entrySize: b.readUInt32LE(84),
    entriesCrc: b.readUInt32LE(88),
  };
}

/** Decode an entry array; returns the used entries and whether its CRC matches `expectedCrc`. */
export function parseGptEntries(bytes: Uint8Array, count: number, entrySize: number, expectedCrc?: number): { partitions: Required<GptPartition>[]; crcOk: boolean } {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
  const len = count * entrySize;
  if (entrySize < GPT_ENTRY_SIZE || b.length < len) throw new RangeError(`GPT entry array needs ${len} bytes, got ${b.length}`);
  const partitions: Required<GptPartition>[] = [];
  for (let i = 0; i < count; i++) {
    const off = i * entrySize;
    const typeGuid = guidFromBytes(b, off);
    if (typeGuid === ZERO_GUID) continue;
    const nameRaw = b.toString('utf16le', off + 56, off + 56 + NAME_CHARS * 2);
    const nul = nameRaw.indexOf('\0');
    partitions.push({
      number: i + 1,
      typeGuid,
      uniqueGuid: guidFromBytes(b, off + 16),
      firstSector: Number(b.readBigUInt64LE(off + 32)),
      lastSector: Number(b.readBigUInt64LE(off + 40)),
      attributes: b.readBigUInt64LE(off + 48),
      name: nul >= 0 ? nameRaw.slice(0, nul) : nameRaw,
    });
  }
  return { partitions, crcOk: expectedCrc === undefined || crc32(b.subarray(0, len)) === expectedCrc };
}

/**
 * Read the primary GPT from the start of a disk (`buf` must hold LBA 0 through
 * the end of the entry array, e.g. `GptImage.primary` or the first 34 sectors).
 */
export function readGpt(buf: Uint8Array, sectorSize = 512): GptRead {
  if (buf.length < 2 * sectorSize) throw new RangeError(`need at least ${2 * sectorSize} bytes to read a GPT, got ${buf.length}`);
  const header = parseGptHeader(buf.subarray(sectorSize, 2 * sectorSize));
  if (!header.signatureOk) throw new Error('no GPT header at LBA 1 (signature "EFI PART" missing)');
  const start = Number(header.entriesLba) * sectorSize;
  const { partitions, crcOk } = parseGptEntries(buf.subarray(start), header.entryCount, header.entrySize, header.entriesCrc);
  return { protectiveMbr: readMbr(buf.subarray(0, 512)), header, entriesCrcOk: crcOk, partitions };
}

/** Read a backup GPT from the last sectors of a disk (`buf` ends with the last sector, e.g. `GptImage.backup`). */
export function readGptBackup(buf: Uint8Array, sectorSize = 512): Omit<GptRead, 'protectiveMbr'> {
  const header = parseGptHeader(buf.subarray(buf.length - sectorSize));
  if (!header.signatureOk) throw new Error('no GPT header in the last sector (signature "EFI PART" missing)');
  const entriesStart = buf.length - sectorSize - Number(header.currentLba - header.entriesLba) * sectorSize;
  if (entriesStart < 0) throw new RangeError('buffer does not reach back to the backup entry array');
  const { partitions, crcOk } = parseGptEntries(buf.subarray(entriesStart), header.entryCount, header.entrySize, header.entriesCrc);
  return { header, entriesCrcOk: crcOk, partitions };
}

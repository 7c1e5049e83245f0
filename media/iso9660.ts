// Reads ISO 9660 images back, to verify what xorriso mastered: volume
// descriptors, the directory tree with Rock Ridge (or Joliet, or plain ISO
// names), the El Torito boot catalog, and the system area (isohybrid MBR, GPT).
// Pure: every byte comes through `readAt`, so the same code works over a file,
// a buffer or a block device; `openIsoFile` backs it with a FileHandle and
// reads only what is asked for (never the whole image).
import { open } from 'node:fs/promises';
import { XsforgeError } from '../core/errors.ts';

/** Reads `length` bytes at `offset`; may return fewer only at the end of the data. */
export type ReadAt = (offset: number, length: number) => Promise<Buffer>;

export interface ByteSource {
  readAt: ReadAt;
  /** total size in bytes, when known */
  size?: number;
  close?: () => Promise<void>;
}

export class IsoFormatError extends XsforgeError {
  constructor(message: string, hint = 'is the file a complete ISO 9660 image? `xorriso -indev FILE -toc` shows what xorriso makes of it') {
    super(message, hint);
    this.name = 'IsoFormatError';
  }
}

/** Volume descriptors always live in 2048-byte sectors from sector 16. */
export const VD_SECTOR = 2048;
export const VD_START = 16 * VD_SECTOR;

// ---------------------------------------------------------------- small decoders

/** ISO "a-/d-characters": ASCII padded with spaces (sometimes NULs). */
function padded(buf: Buffer, off: number, len: number): string {
  return buf.toString('latin1', off, off + len).replace(/[ \0]+$/, '');
}

function u64(buf: Buffer, off: number): number {
  return Number(buf.readBigUInt64LE(off));
}

/** 17-byte "dec-datetime" of volume descriptors: "YYYYMMDDHHMMSScc" + offset in 15-minute units. */
export function parseDecDatetime(buf: Buffer, off: number): Date | undefined {
  const digits = buf.toString('latin1', off, off + 16);
  if (!/^\d{16}$/.test(digits) || /^0+$/.test(digits)) return undefined;
  const n = (a: number, b: number) => Number(digits.slice(a, b));
  const tz = buf.readInt8(off + 16);
  const utc = Date.UTC(n(0, 4), n(4, 6) - 1, n(6, 8), n(8, 10), n(10, 12), n(12, 14), n(14, 16) * 10);
  return new Date(utc - tz * 15 * 60_000);
}

/** 7-byte directory-record datetime: years since 1900, month, day, h, m, s, offset. */
export function parseDirDatetime(buf: Buffer, off: number): Date | undefined {
  if (buf.subarray(off, off + 6).every((b) => b === 0)) return undefined;
  const tz = buf.readInt8(off + 6);
  const utc = Date.UTC(1900 + buf[off], buf[off + 1] - 1, buf[off + 2], buf[off + 3], buf[off + 4], buf[off + 5]);
  return new Date(utc - tz * 15 * 60_000);
}

// ---------------------------------------------------------------- volume descriptors

export interface PrimaryVolumeDescriptor {
  systemId: string;
  volumeId: string;
  /** in logical blocks */
  volumeSpaceSize: number;
  logicalBlockSize: number;
  volumeSetId: string;
  publisherId: string;
  preparerId: string;
  applicationId: string;
  created?: Date;
  modified?: Date;
  expires?: Date;
  effective?: Date;
  rootRecord: DirectoryRecord;
}

export function parsePrimaryVolumeDescriptor(sector: Buffer): PrimaryVolumeDescriptor {
  if (sector.length < VD_SECTOR || sector[0] !== 1 || sector.toString('latin1', 1, 6) !== 'CD001') {
    throw new IsoFormatError('not a primary volume descriptor');
  }
  const root = parseDirectoryRecord(sector, 156);
  if (!root) throw new IsoFormatError('primary volume descriptor has no root directory record');
  return {
    systemId: padded(sector, 8, 32),
    volumeId: padded(sector, 40, 32),
    volumeSpaceSize: sector.readUInt32LE(80),
    logicalBlockSize: sector.readUInt16LE(128),
    volumeSetId: padded(sector, 190, 128),
    publisherId: padded(sector, 318, 128),
    preparerId: padded(sector, 446, 128),
    applicationId: padded(sector, 574, 128),
    created: parseDecDatetime(sector, 813),
    modified: parseDecDatetime(sector, 830),
    expires: parseDecDatetime(sector, 847),
    effective: parseDecDatetime(sector, 864),
    rootRecord: root,
  };
}

export interface VolumeDescriptorSet {
  primary: PrimaryVolumeDescriptor;
  /** Joliet supplementary descriptor's root, when present */
  joliet?: { level: 1 | 2 | 3; rootRecord: DirectoryRecord };
  /** El Torito boot record: where the boot catalog is */
  bootRecord?: { bootSystemId: string; catalogLba: number };
}

/** Parses the descriptor sectors (starting at sector 16, up to the set terminator). */
export function parseVolumeDescriptors(data: Buffer): VolumeDescriptorSet {
  let primary: PrimaryVolumeDescriptor | undefined;
  let joliet: VolumeDescriptorSet['joliet'];
  let bootRecord: VolumeDescriptorSet['bootRecord'];
  for (let off = 0; off + VD_SECTOR <= data.length; off += VD_SECTOR) {
    const sector = data.subarray(off, off + VD_SECTOR);
    if (sector.toString('latin1', 1, 6) !== 'CD001') {
      if (off === 0) throw new IsoFormatError("not an ISO 9660 image: no 'CD001' volume descriptor at byte 32769");
      throw new IsoFormatError(`volume descriptor at sector ${16 + off / VD_SECTOR} has no 'CD001' signature`);
    }
    const type = sector[0];
    if (type === 255) break;
    if (type === 1 && !primary) primary = parsePrimaryVolumeDescriptor(sector);
    else if (type === 0) {
      const bootSystemId = padded(sector, 7, 32);
      if (bootSystemId === 'EL TORITO SPECIFICATION') bootRecord = { bootSystemId, catalogLba: sector.readUInt32LE(71) };
    } else if (type === 2 && !joliet) {
      const esc = sector.toString('latin1', 88, 91);
      const level = esc === '%/@' ? 1 : esc === '%/C' ? 2 : esc === '%/E' ? 3 : undefined;
      const rootRecord = parseDirectoryRecord(sector, 156);
      if (level && rootRecord) joliet = { level, rootRecord };
    }
  }
  if (!primary) throw new IsoFormatError('ISO image has no primary volume descriptor');
  return { primary, joliet, bootRecord };
}

/** True when a buffer holding the image's first 32774+ bytes has the ISO 9660 signature. */
export function looksLikeIso(head: Buffer): boolean {
  return head.length >= VD_START + 6 && head.toString('latin1', VD_START + 1, VD_START + 6) === 'CD001';
}

// ---------------------------------------------------------------- directory records

export interface DirectoryRecord {
  /** bytes this record occupies */
  length: number;
  extentLba: number;
  dataLength: number;
  recorded?: Date;
  flags: number;
  isDirectory: boolean;
  hidden: boolean;
  /** bit 7: the file continues in the next record (files over 4 GiB) */
  multiExtent: boolean;
  /** raw file identifier (0x00 is ".", 0x01 is "..") */
  identifier: Buffer;
  /** System Use area (SUSP entries), before skipping SP's LEN_SKP bytes */
  systemUse: Buffer;
}

export function parseDirectoryRecord(buf: Buffer, off: number): DirectoryRecord | undefined {
  const length = buf[off];
  if (!length || off + length > buf.length || length < 34) return undefined;
  const idLen = buf[off + 32];
  if (33 + idLen > length) throw new IsoFormatError(`directory record at byte ${off} has an identifier longer than the record`);
  const flags = buf[off + 25];
  const suStart = 33 + idLen + (idLen % 2 === 0 ? 1 : 0);
  return {
    length,
    extentLba: buf.readUInt32LE(off + 2),
    dataLength: buf.readUInt32LE(off + 10),
    recorded: parseDirDatetime(buf, off + 18),
    flags,
    isDirectory: (flags & 0x02) !== 0,
    hidden: (flags & 0x01) !== 0,
    multiExtent: (flags & 0x80) !== 0,
    identifier: buf.subarray(off + 33, off + 33 + idLen),
    systemUse: buf.subarray(off + Math.min(suStart, length), off + length),
  };
}

/** All records of a directory's data; records never cross a block, a zero length byte means "next block". */
export function parseDirectoryRecords(data: Buffer, blockSize = 2048): DirectoryRecord[] {
  const out: DirectoryRecord[] = [];
  let off = 0;
  while (off < data.length) {
    const rec = parseDirectoryRecord(data, off);
    if (!rec) {
      off = (Math.floor(off / blockSize) + 1) * blockSize;
      continue;
    }
    out.push(rec);
    off += rec.length;
  }
  return out;
}

/** ISO 9660 file identifier to a name: drop ";1" version and a dangling "." ("README." → "README"). */
export function isoName(identifier: Buffer, joliet = false): string {
  let name = joliet ? decodeUcs2be(identifier) : identifier.toString('latin1');
  name = name.replace(/;\d*$/, '');
  if (name.endsWith('.') && name !== '.' && name !== '..') name = name.slice(0, -1);
  return name;
}

function decodeUcs2be(b: Buffer): string {
  const swapped = Buffer.from(b.subarray(0, b.length & ~1));
  swapped.swap16();
  return swapped.toString('utf16le');
}

// ---------------------------------------------------------------- SUSP and Rock Ridge

export interface SuspEntry {
  signature: string;
  version: number;
  /** the whole entry, header included, so offsets match the specs */
  bytes: Buffer;
}

export interface SuspContinuation { lba: number; offset: number; length: number }

/** Splits a System Use area (or continuation area) into entries; stops at ST or padding. */
export function parseSuspEntries(area: Buffer): { entries: SuspEntry[]; continuation?: SuspContinuation } {
  const entries: SuspEntry[] = [];
  let continuation: SuspContinuation | undefined;
  let off = 0;
  while (off + 4 <= area.length) {
    const len = area[off + 2];
    if (area[off] === 0 || len < 4 || off + len > area.length) break;
    const signature = area.toString('latin1', off, off + 2);
    if (signature === 'ST') break;
    const bytes = area.subarray(off, off + len);
    if (signature === 'CE' && len >= 28) {
      continuation = { lba: bytes.readUInt32LE(4), offset: bytes.readUInt32LE(12), length: bytes.readUInt32LE(20) };
    } else entries.push({ signature, version: area[off + 3], bytes });
    off += len;
  }
  return { entries, continuation };
}

export interface RockRidgeTimes {
  created?: Date;
  modified?: Date;
  accessed?: Date;
  attributesChanged?: Date;
  backup?: Date;
  expires?: Date;
  effective?: Date;
}

export interface RockRidgeInfo {
  /** NM, continued parts joined */
  name?: string;
  /** PX */
  mode?: number;
  nlink?: number;
  uid?: number;
  gid?: number;
  ino?: number;
  /** PN: device number (high, low) */
  device?: { high: number; low: number };
  /** SL, components joined with "/" */
  symlinkTarget?: string;
  times: RockRidgeTimes;
  /** CL: a relocated directory's real location */
  childLink?: number;
  /** RE: this entry is the relocated directory itself (hidden where it sits) */
  relocated: boolean;
  /** SP found: this is the root "." record; LEN_SKP of every other SU area */
  sp?: { skip: number };
  /** ER identifiers, e.g. "RRIP_1991A", "IEEE_P1282" */
  extensions: string[];
}

const TF_FIELDS: Array<keyof RockRidgeTimes> = ['created', 'modified', 'accessed', 'attributesChanged', 'backup', 'expires', 'effective'];

/** Decodes the Rock Ridge (RRIP) and SUSP entries of one directory record, CE areas already appended. */
export function decodeRockRidge(entries: SuspEntry[]): RockRidgeInfo {
  const info: RockRidgeInfo = { times: {}, relocated: false, extensions: [] };
  let name: Buffer[] | undefined;
  const linkParts: string[] = [];
  let linkAbsolute = false;
  let linkStarted = false;
  let continueComponent = false;
  for (const { signature, bytes } of entries) {
    switch (signature) {
      case 'SP':
        if (bytes.length >= 7 && bytes[4] === 0xbe && bytes[5] === 0xef) info.sp = { skip: bytes[6] };
        break;
      case 'ER': {
        const idLen = bytes[4];
        info.extensions.push(bytes.toString('latin1', 8, 8 + idLen));
        break;
      }
      case 'PX':
        // a damaged image can carry a short entry: its fields would be read past the entry
        if (bytes.length < 36) break;
        info.mode = bytes.readUInt32LE(4);
        info.nlink = bytes.readUInt32LE(12);
        info.uid = bytes.readUInt32LE(20);
        info.gid = bytes.readUInt32LE(28);
        if (bytes.length >= 44) info.ino = bytes.readUInt32LE(36);
        break;
      case 'PN':
        if (bytes.length < 20) break;
        info.device = { high: bytes.readUInt32LE(4), low: bytes.readUInt32LE(12) };
        break;
      case 'NM': {
        const flags = bytes[4];
        if (flags & 0x06) break; // "." / ".." aliases carry no name
        (name ??= []).push(bytes.subarray(5));
        break;
      }
      case 'SL': {
        linkStarted = true;
        // Components stream across SL entries; a component's CONTINUE bit glues it to the next one.
        let off = 5;
        while (off + 2 <= bytes.length) {
          const cflags = bytes[off];
          const clen = bytes[off + 1];
          const content = bytes.toString('utf8', off + 2, off + 2 + clen);
          off += 2 + clen;
          if (cflags & 0x08) {
            linkAbsolute = true;
            continueComponent = false;
            continue;
          }
          const text = cflags & 0x02 ? '.' : cflags & 0x04 ? '..' : content;
          if (continueComponent && linkParts.length) linkParts[linkParts.length - 1] += text;
          else linkParts.push(text);
          continueComponent = (cflags & 0x01) !== 0;
        }
        break;
      }
      case 'TF': {
        const flags = bytes[4];
        const long = (flags & 0x80) !== 0;
        let off = 5;
        TF_FIELDS.forEach((field, bit) => {
          if (!(flags & (1 << bit))) return;
          if (off + (long ? 17 : 7) > bytes.length) return;
          info.times[field] = long ? parseDecDatetime(bytes, off) : parseDirDatetime(bytes, off);
          off += long ? 17 : 7;
        });
        break;
      }
      case 'CL':
        if (bytes.length < 8) break;
        info.childLink = bytes.readUInt32LE(4);
        break;
      case 'RE':
        info.relocated = true;
        break;
    }
  }
  if (name) info.name = Buffer.concat(name).toString('utf8');
  if (linkStarted) info.symlinkTarget = linkAbsolute ? `/${linkParts.join('/')}` : linkParts.join('/');
  return info;
}

const RR_EXTENSION_IDS = new Set(['RRIP_1991A', 'IEEE_P1282', 'IEEE_1282']);

// ---------------------------------------------------------------- El Torito

export type BootEmulation = 'no-emulation' | 'floppy-1.2M' | 'floppy-1.44M' | 'floppy-2.88M' | 'hard-disk' | 'unknown';

export interface BootEntry {
  /** 1-based, in catalog order, like xorriso's -report_el_torito */
  index: number;
  /** 0 for the default (initial) entry, else the section header's number (1-based) */
  section: number;
  platformId: number;
  platform: string;
  bootable: boolean;
  mediaType: number;
  emulation: BootEmulation;
  /** 0 means the BIOS default 0x07C0 */
  loadSegment: number;
  systemType: number;
  /** virtual 512-byte sectors loaded */
  sectorCount: number;
  loadRba: number;
  /** section headers' id string (section entries only) */
  sectionId?: string;
  /** the file whose data starts at loadRba, when one does */
  path?: string;
  /** the image carries a boot info table (mkisofs -boot-info-table) pointing at this entry */
  bootInfoTable?: boolean;
}

export interface BootCatalog {
  validation: { platformId: number; platform: string; idString: string; checksumOk: boolean; headerOk: boolean };
  entries: BootEntry[];
  /** what was wrong, in words; the entries read before the problem are kept */
  problems: string[];
}

export function platformName(id: number): string {
  switch (id) {
    case 0x00: return 'x86 BIOS';
    case 0x01: return 'PowerPC';
    case 0x02: return 'Mac';
    case 0xef: return 'EFI';
    default: return `0x${id.toString(16).padStart(2, '0')}`;
  }
}

function emulationName(mediaType: number): BootEmulation {
  return (['no-emulation', 'floppy-1.2M', 'floppy-1.44M', 'floppy-2.88M', 'hard-disk'] as const)[mediaType & 0x0f] ?? 'unknown';
}

function bootEntryAt(buf: Buffer, off: number, index: number, section: number, platformId: number): BootEntry {
  const mediaType = buf[off + 1] & 0x0f;
  return {
    index,
    section,
    platformId,
    platform: platformName(platformId),
    bootable: buf[off] === 0x88,
    mediaType,
    emulation: emulationName(mediaType),
    loadSegment: buf.readUInt16LE(off + 2),
    systemType: buf[off + 4],
    sectorCount: buf.readUInt16LE(off + 6),
    loadRba: buf.readUInt32LE(off + 8),
  };
}

/**
 * Parses a boot catalog. Returns `truncated: true` when the entries run past
 * the end of `buf` (the caller reads more sectors and calls again).
 */
export function parseBootCatalog(buf: Buffer): BootCatalog & { truncated: boolean } {
  const problems: string[] = [];
  if (buf.length < 64) return { validation: { platformId: 0, platform: '', idString: '', checksumOk: false, headerOk: false }, entries: [], problems, truncated: true };
  let sum = 0;
  for (let i = 0; i < 32; i += 2) sum = (sum + buf.readUInt16LE(i)) & 0xffff;
  const headerOk = buf[0] === 0x01 && buf[30] === 0x55 && buf[31] === 0xaa;
  const validation = {
    platformId: buf[1],
    platform: platformName(buf[1]),
    idString: padded(buf, 4, 24),
    checksumOk: sum === 0,
    headerOk,
  };
  if (!headerOk) {
    problems.push('boot catalog validation entry is malformed (header id must be 1 and key bytes 55 AA)');
    return { validation, entries: [], problems, truncated: false };
  }
  if (!validation.checksumOk) problems.push(`boot catalog validation entry checksum is wrong (words sum to 0x${sum.toString(16)}, must be 0)`);
  const entries: BootEntry[] = [bootEntryAt(buf, 32, 1, 0, validation.platformId)];
  let off = 64;
  let section = 0;
  for (;;) {
    if (off + 32 > buf.length) return { validation, entries, problems, truncated: true };
    const id = buf[off];
    if (id !== 0x90 && id !== 0x91) {
      if (id !== 0x00) problems.push(`unexpected boot catalog record 0x${id.toString(16)} at byte ${off}`);
      break;
    }
    section++;
    const platformId = buf[off + 1];
    const count = buf.readUInt16LE(off + 2);
    const sectionId = padded(buf, off + 4, 28);
    off += 32;
    for (let i = 0; i < count; i++) {
      if (off + 32 > buf.length) return { validation, entries, problems, truncated: true };
      const entry = bootEntryAt(buf, off, entries.length + 1, section, platformId);
      if (sectionId) entry.sectionId = sectionId;
      entries.push(entry);
      let more = (buf[off + 1] & 0x20) !== 0;
      off += 32;
      // Extension records (0x44) belong to the entry before them.
      while (more) {
        if (off + 32 > buf.length) return { validation, entries, problems, truncated: true };
        if (buf[off] !== 0x44) { problems.push(`boot entry ${entry.index} promises an extension record but byte ${off} is 0x${buf[off].toString(16)}`); break; }
        more = (buf[off + 1] & 0x20) !== 0;
        off += 32;
      }
    }
    if (id === 0x91) break;
  }
  return { validation, entries, problems, truncated: false };
}

// ---------------------------------------------------------------- system area: MBR and GPT

export interface MbrPartition {
  number: number;
  status: number;
  active: boolean;
  type: number;
  /** 512-byte sectors */
  startLba: number;
  sectors: number;
}

export interface Mbr {
  signatureOk: boolean;
  diskSignature: number;
  partitions: MbrPartition[];
}

export function parseMbr(sector: Buffer): Mbr {
  const signatureOk = sector.length >= 512 && sector[510] === 0x55 && sector[511] === 0xaa;
  const partitions: MbrPartition[] = [];
  if (signatureOk) {
    for (let i = 0; i < 4; i++) {
      const off = 446 + i * 16;
      const type = sector[off + 4];
      const startLba = sector.readUInt32LE(off + 8);
      const sectors = sector.readUInt32LE(off + 12);
      if (type === 0 && sectors === 0 && startLba === 0) continue;
      partitions.push({ number: i + 1, status: sector[off], active: sector[off] === 0x80, type, startLba, sectors });
    }
  }
  return { signatureOk, diskSignature: sector.length >= 444 ? sector.readUInt32LE(440) : 0, partitions };
}

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** CRC-32 (IEEE), as GPT uses it. */
export function crc32(buf: Buffer): number {
  let c = 0xffffffff;
  for (const b of buf) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** GUID in its usual text form (first three fields little-endian on disk). */
export function formatGuid(buf: Buffer, off = 0): string {
  const hex = (b: Buffer) => b.toString('hex');
  const le = (a: number, n: number) => hex(Buffer.from(buf.subarray(off + a, off + a + n)).reverse());
  return `${le(0, 4)}-${le(4, 2)}-${le(6, 2)}-${hex(buf.subarray(off + 8, off + 10))}-${hex(buf.subarray(off + 10, off + 16))}`.toUpperCase();
}

export const GPT_TYPE_NAMES: Record<string, string> = {
  'EBD0A0A2-B9E5-4433-87C0-68B6B72699C7': 'basic data',
  'C12A7328-F81F-11D2-BA4B-00A0C93EC93B': 'EFI system',
  '21686148-6449-6E6F-744E-656564454649': 'BIOS boot',
  '0FC63DAF-8483-4772-8E79-3D69D8477DE4': 'Linux filesystem',
  '0657FD6D-A4AB-43C4-84E5-0933C84B4F4F': 'Linux swap',
  'E6D6D379-F507-44C2-A23C-238F2A3DF928': 'Linux LVM',
  '48465300-0000-11AA-AA11-00306543ECAC': 'Apple HFS+',
};

export interface GptHeader {
  revision: number;
  headerSize: number;
  headerCrcOk: boolean;
  currentLba: number;
  backupLba: number;
  firstUsableLba: number;
  lastUsableLba: number;
  diskGuid: string;
  entriesLba: number;
  entryCount: number;
  entrySize: number;
  entriesCrc: number;
}

/** The GPT header in a 512-byte sector, or undefined when it has no "EFI PART" signature. */
export function parseGptHeader(sector: Buffer): GptHeader | undefined {
  if (sector.length < 92 || sector.toString('latin1', 0, 8) !== 'EFI PART') return undefined;
  const headerSize = sector.readUInt32LE(12);
  let headerCrcOk = false;
  if (headerSize >= 92 && headerSize <= sector.length) {
    const copy = Buffer.from(sector.subarray(0, headerSize));
    copy.writeUInt32LE(0, 16);
    headerCrcOk = crc32(copy) === sector.readUInt32LE(16);
  }
  return {
    revision: sector.readUInt32LE(8),
    headerSize,
    headerCrcOk,
    currentLba: u64(sector, 24),
    backupLba: u64(sector, 32),
    firstUsableLba: u64(sector, 40),
    lastUsableLba: u64(sector, 48),
    diskGuid: formatGuid(sector, 56),
    entriesLba: u64(sector, 72),
    entryCount: sector.readUInt32LE(80),
    entrySize: sector.readUInt32LE(84),
    entriesCrc: sector.readUInt32LE(88),
  };
}

export interface GptPartition {
  /** 1-based slot in the entry array */
  number: number;
  typeGuid: string;
  typeName?: string;
  partitionGuid: string;
  /** 512-byte sectors, inclusive */
  firstLba: number;
  lastLba: number;
  /** 64-bit attribute flags as hex, e.g. "0x1000000000000001" */
  attributes: string;
  name: string;
}

/** Non-empty entries of a GPT partition array. */
export function parseGptEntries(array: Buffer, entrySize: number, count: number): GptPartition[] {
  const out: GptPartition[] = [];
  if (entrySize < 128) return out;
  for (let i = 0; i < count && (i + 1) * entrySize <= array.length; i++) {
    const e = array.subarray(i * entrySize, (i + 1) * entrySize);
    if (e.subarray(0, 16).every((b) => b === 0)) continue;
    const typeGuid = formatGuid(e, 0);
    const nameRaw = e.subarray(56, 128).toString('utf16le');
    const nul = nameRaw.indexOf('\0');
    out.push({
      number: i + 1,
      typeGuid,
      typeName: GPT_TYPE_NAMES[typeGuid],
      partitionGuid: formatGuid(e, 16),
      firstLba: u64(e, 32),
      lastLba: u64(e, 40),
      attributes: `0x${e.readBigUInt64LE(48).toString(16).padStart(16, '0')}`,
      name: nul >= 0 ? nameRaw.slice(0, nul) : nameRaw,
    });
  }
  return out;
}

export interface Gpt {
  header: GptHeader;
  entriesCrcOk: boolean;
  partitions: GptPartition[];
  /** the backup header at header.backupLba has a valid signature and CRC */
  backupHeaderOk: boolean;
}

export interface SystemArea {
  /** "hybrid MBR + GPT", "GPT (protective MBR)", "GPT", "MBR" or "none" */
  summary: string;
  mbr: Mbr;
  gpt?: Gpt;
}

function systemAreaSummary(mbr: Mbr, gpt: Gpt | undefined): string {
  const realMbr = mbr.partitions.some((p) => p.type !== 0xee);
  if (gpt) return realMbr ? 'hybrid MBR + GPT' : mbr.partitions.length ? 'GPT (protective MBR)' : 'GPT';
  return realMbr ? 'MBR' : 'none';
}

// ---------------------------------------------------------------- the image

export type NameSource = 'rockridge' | 'joliet' | 'iso9660';
export type IsoFileType = 'file' | 'dir' | 'symlink' | 'char' | 'block' | 'fifo' | 'socket';

export interface IsoExtent { lba: number; size: number }

export interface IsoEntry {
  /** absolute, "/" separated, e.g. "/boot/isolinux/isolinux.bin" ("/" for the root) */
  path: string;
  name: string;
  type: IsoFileType;
  /** bytes of data (all extents); for directories the directory's record size */
  size: number;
  /** first extent's block */
  extentLba: number;
  extents: IsoExtent[];
  /** st_mode from Rock Ridge PX (type bits included); undefined without Rock Ridge */
  mode?: number;
  nlink?: number;
  uid?: number;
  gid?: number;
  symlinkTarget?: string;
  /** Rock Ridge TF modify time, else the directory record's date */
  mtime?: Date;
  /** the ISO "existence" (hidden) flag */
  hidden: boolean;
}

function typeFromMode(mode: number): IsoFileType {
  switch (mode & 0o170000) {
    case 0o040000: return 'dir';
    case 0o120000: return 'symlink';
    case 0o020000: return 'char';
    case 0o060000: return 'block';
    case 0o010000: return 'fifo';
    case 0o140000: return 'socket';
    default: return 'file';
  }
}

/** `ls -l` style mode string, e.g. "-rw-r--r--" or "lrwxrwxrwx". */
export function modeString(type: IsoFileType, mode: number): string {
  const t = { file: '-', dir: 'd', symlink: 'l', char: 'c', block: 'b', fifo: 'p', socket: 's' }[type];
  const rwx = (bits: number, special: boolean, sch: string) =>
    (bits & 4 ? 'r' : '-') + (bits & 2 ? 'w' : '-') + (special ? (bits & 1 ? sch : sch.toUpperCase()) : bits & 1 ? 'x' : '-');
  return t + rwx((mode >> 6) & 7, (mode & 0o4000) !== 0, 's') + rwx((mode >> 3) & 7, (mode & 0o2000) !== 0, 's') + rwx(mode & 7, (mode & 0o1000) !== 0, 't');
}

function childPath(parent: string, name: string): string {
  return parent === '/' ? `/${name}` : `${parent}/${name}`;
}

export interface OpenOptions {
  /** which names to read: 'auto' picks Rock Ridge, then Joliet, then plain ISO 9660 */
  names?: NameSource | 'auto';
}

export class IsoImage {
  private readonly dirCache = new Map<number, IsoEntry[]>();
  private fileList?: Promise<IsoEntry[]>;

  private constructor(
    private readonly source: ByteSource,
    readonly descriptors: VolumeDescriptorSet,
    readonly names: NameSource,
    /** SP's LEN_SKP: bytes to skip at the start of each System Use area */
    private readonly suspSkip: number,
    /** SUSP/RR info of the root's "." record */
    readonly rootRockRidge: RockRidgeInfo | undefined,
  ) {}

  static async open(source: ByteSource, opts: OpenOptions = {}): Promise<IsoImage> {
    // Descriptors: sector 16 up to the terminator; 8 sectors cover every real image.
    let data = await source.readAt(VD_START, 8 * VD_SECTOR);
    if (data.length < VD_SECTOR) throw new IsoFormatError(`image is too small for an ISO 9660 volume (${(source.size ?? data.length + VD_START)} bytes)`);
    for (let n = 8; n < 128; n *= 2) {
      const hasTerminator = Array.from({ length: Math.floor(data.length / VD_SECTOR) }, (_, i) => data[i * VD_SECTOR]).includes(255);
      if (hasTerminator || data.length < n * VD_SECTOR) break;
      data = await source.readAt(VD_START, 2 * n * VD_SECTOR);
    }
    const descriptors = parseVolumeDescriptors(data);
    const bs = descriptors.primary.logicalBlockSize;
    if (bs !== 2048 && bs !== 1024 && bs !== 512) throw new IsoFormatError(`unsupported logical block size ${bs}`);

    // Rock Ridge is announced by SP at the very start of the root's "." record (SUSP 5.3).
    const rootRec = descriptors.primary.rootRecord;
    const rootData = await readExact(source, rootRec.extentLba * bs, Math.min(rootRec.dataLength, bs));
    const dot = parseDirectoryRecords(rootData, bs)[0];
    let rootRockRidge: RockRidgeInfo | undefined;
    if (dot) {
      const first = parseSuspEntries(dot.systemUse).entries[0];
      if (first?.signature === 'SP' && first.bytes[4] === 0xbe && first.bytes[5] === 0xef) {
        rootRockRidge = decodeRockRidge(await collectSusp(source, bs, dot.systemUse));
      }
    }
    const hasRockRidge = !!rootRockRidge && (rootRockRidge.extensions.some((e) => RR_EXTENSION_IDS.has(e)) || rootRockRidge.mode !== undefined);
    const want = opts.names ?? 'auto';
    let names: NameSource;
    if (want === 'auto') names = hasRockRidge ? 'rockridge' : descriptors.joliet ? 'joliet' : 'iso9660';
    else {
      if (want === 'rockridge' && !hasRockRidge) throw new IsoFormatError('the image has no Rock Ridge extensions', 'open it with names: "joliet" or "iso9660"');
      if (want === 'joliet' && !descriptors.joliet) throw new IsoFormatError('the image has no Joliet volume descriptor', 'open it with names: "rockridge" or "iso9660"');
      names = want;
    }
    return new IsoImage(source, descriptors, names, rootRockRidge?.sp?.skip ?? 0, hasRockRidge ? rootRockRidge : undefined);
  }

  get pvd(): PrimaryVolumeDescriptor { return this.descriptors.primary; }
  get blockSize(): number { return this.descriptors.primary.logicalBlockSize; }
  get hasRockRidge(): boolean { return this.rootRockRidge !== undefined; }

  async close(): Promise<void> { await this.source.close?.(); }

  /** The root directory. */
  root(): IsoEntry {
    const rec = this.names === 'joliet' ? this.descriptors.joliet!.rootRecord : this.descriptors.primary.rootRecord;
    const rr = this.names === 'rockridge' ? this.rootRockRidge : undefined;
    return {
      path: '/', name: '', type: 'dir', size: rec.dataLength, extentLba: rec.extentLba,
      extents: [{ lba: rec.extentLba, size: rec.dataLength }],
      mode: rr?.mode, nlink: rr?.nlink, uid: rr?.uid, gid: rr?.gid,
      mtime: rr?.times.modified ?? rec.recorded, hidden: false,
    };
  }

  /** Entries of a directory (without "." and ".."), in on-disc order. */
  async readDirectory(dir: IsoEntry): Promise<IsoEntry[]> {
    if (dir.type !== 'dir') throw new XsforgeError(`${dir.path} is not a directory in the ISO image`);
    const cached = this.dirCache.get(dir.extentLba);
    if (cached) return cached.map((e) => ({ ...e, path: childPath(dir.path, e.name) }));
    const data = await readExact(this.source, dir.extentLba * this.blockSize, dir.size);
    const records = parseDirectoryRecords(data, this.blockSize);
    const out: IsoEntry[] = [];
    for (let i = 0; i < records.length; i++) {
      const rec = records[i];
      if (rec.identifier.length === 1 && rec.identifier[0] <= 1) continue;
      // A file over 4 GiB is several records with the same name, all but the last flagged multi-extent.
      const group = [rec];
      while (group[group.length - 1].multiExtent && i + 1 < records.length) group.push(records[++i]);
      const entry = await this.entryFromRecords(dir.path, group);
      if (entry) out.push(entry);
    }
    this.dirCache.set(dir.extentLba, out);
    return out;
  }

  private async entryFromRecords(parentPath: string, group: DirectoryRecord[]): Promise<IsoEntry | undefined> {
    const rec = group[0];
    const rr = this.names === 'rockridge'
      ? decodeRockRidge(await collectSusp(this.source, this.blockSize, rec.systemUse.subarray(this.suspSkip)))
      : undefined;
    if (rr?.relocated) return undefined; // shown where its CL entry points from
    const name = rr?.name ?? isoName(rec.identifier, this.names === 'joliet');
    let extents = group.map((r) => ({ lba: r.extentLba, size: r.dataLength }));
    let isDirectory = rec.isDirectory;
    if (rr?.childLink !== undefined) {
      // Deep directory relocated by mkisofs: its real records are at the CL block; "." there gives the size.
      const head = await readExact(this.source, rr.childLink * this.blockSize, this.blockSize);
      const dot = parseDirectoryRecord(head, 0);
      if (!dot) throw new IsoFormatError(`Rock Ridge CL of ${childPath(parentPath, name)} points at block ${rr.childLink}, which holds no directory`);
      extents = [{ lba: rr.childLink, size: dot.dataLength }];
      isDirectory = true;
    }
    const type: IsoFileType = rr?.childLink !== undefined ? 'dir' : rr?.mode !== undefined ? typeFromMode(rr.mode) : isDirectory ? 'dir' : 'file';
    return {
      path: childPath(parentPath, name),
      name,
      type,
      size: extents.reduce((n, e) => n + e.size, 0),
      extentLba: extents[0].lba,
      extents,
      mode: rr?.mode,
      nlink: rr?.nlink,
      uid: rr?.uid,
      gid: rr?.gid,
      symlinkTarget: type === 'symlink' ? rr?.symlinkTarget ?? '' : undefined,
      mtime: rr?.times.modified ?? rec.recorded,
      hidden: rec.hidden,
    };
  }

  /** The entry at an absolute path (no symlinks followed), or undefined. */
  async stat(path: string): Promise<IsoEntry | undefined> {
    let cur = this.root();
    for (const part of path.split('/').filter((p) => p && p !== '.')) {
      if (cur.type !== 'dir') return undefined;
      const next = (await this.readDirectory(cur)).find((e) => e.name === part);
      if (!next) return undefined;
      cur = next;
    }
    return cur;
  }

  /** Every entry under the root (root itself excluded), sorted by path (code-unit order). */
  listFiles(): Promise<IsoEntry[]> {
    this.fileList ??= (async () => {
      const out: IsoEntry[] = [];
      const seen = new Set<number>([this.root().extentLba]);
      const walk = async (dir: IsoEntry) => {
        for (const e of await this.readDirectory(dir)) {
          out.push(e);
          if (e.type === 'dir') {
            if (seen.has(e.extentLba)) throw new IsoFormatError(`directory loop: ${e.path} points back at block ${e.extentLba}`);
            seen.add(e.extentLba);
            await walk(e);
          }
        }
      };
      await walk(this.root());
      return out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
    })();
    return this.fileList;
  }

  /** The file's bytes (all extents). Symlinks are not followed. */
  async readFile(path: string): Promise<Buffer> {
    const e = await this.stat(path);
    if (!e) throw new XsforgeError(`${path}: no such file in the ISO image`);
    if (e.type !== 'file') throw new XsforgeError(`${path} is a ${e.type} in the ISO image, not a regular file`);
    const parts = await Promise.all(e.extents.map((x) => readExact(this.source, x.lba * this.blockSize, x.size)));
    return Buffer.concat(parts);
  }

  /** Path of the regular file whose data starts at block `lba` (first by path when several share it). */
  async pathAtLba(lba: number): Promise<string | undefined> {
    const files = await this.listFiles();
    return files.find((f) => f.type === 'file' && f.size > 0 && f.extentLba === lba)?.path;
  }

  /** The El Torito boot catalog with each entry's file resolved, or undefined when the image has none. */
  async elTorito(): Promise<(BootCatalog & { catalogLba: number; catalogPath?: string }) | undefined> {
    const br = this.descriptors.bootRecord;
    if (!br) return undefined;
    let parsed: ReturnType<typeof parseBootCatalog> | undefined;
    for (let sectors = 1; sectors <= 32; sectors *= 2) {
      const data = await this.source.readAt(br.catalogLba * VD_SECTOR, sectors * VD_SECTOR);
      parsed = parseBootCatalog(data);
      if (!parsed.truncated || data.length < sectors * VD_SECTOR) break;
    }
    const { truncated, ...catalog } = parsed!;
    if (truncated) catalog.problems.push('boot catalog ends before its last entry (image truncated?)');
    for (const entry of catalog.entries) {
      entry.path = await this.pathAtLba(entry.loadRba);
      entry.bootInfoTable = await this.hasBootInfoTable(entry.loadRba);
    }
    return { ...catalog, catalogLba: br.catalogLba, catalogPath: await this.pathAtLba(br.catalogLba) };
  }

  /** mkisofs' boot info table: at byte 8 of the boot image, the PVD's block, the image's block and its length. */
  private async hasBootInfoTable(lba: number): Promise<boolean> {
    const head = await this.source.readAt(lba * this.blockSize, 24);
    if (head.length < 24) return false;
    const file = (await this.listFiles()).find((f) => f.type === 'file' && f.extentLba === lba && f.size > 0);
    return head.readUInt32LE(8) === 16 && head.readUInt32LE(12) === lba && (!file || head.readUInt32LE(16) === file.size);
  }

  /** The first 32 KiB: isohybrid MBR partitions and a GPT at 512-byte LBA 1. */
  async systemArea(): Promise<SystemArea> {
    const head = await this.source.readAt(0, 2 * 512);
    const mbr = parseMbr(head.subarray(0, 512));
    const header = head.length >= 1024 ? parseGptHeader(head.subarray(512, 1024)) : undefined;
    let gpt: Gpt | undefined;
    if (header && header.headerCrcOk) {
      const arrayBytes = Math.min(header.entryCount * header.entrySize, 4 << 20);
      const array = await this.source.readAt(header.entriesLba * 512, arrayBytes);
      const backup = await this.source.readAt(header.backupLba * 512, 512);
      const backupHeader = parseGptHeader(backup);
      gpt = {
        header,
        entriesCrcOk: array.length === header.entryCount * header.entrySize && crc32(array) === header.entriesCrc,
        partitions: parseGptEntries(array, header.entrySize, header.entryCount),
        backupHeaderOk: !!backupHeader?.headerCrcOk && backupHeader.currentLba === header.backupLba,
      };
    }
    return { summary: systemAreaSummary(mbr, gpt), mbr, gpt };
  }
}

/** Reads SUSP entries of a System Use area, following CE continuation areas. */
async function collectSusp(source: ByteSource, blockSize: number, area: Buffer): Promise<SuspEntry[]> {
  const all: SuspEntry[] = [];
  let next: Buffer | undefined = area;
  for (let hops = 0; next && hops < 64; hops++) {
    const { entries, continuation } = parseSuspEntries(next);
    all.push(...entries);
    next = continuation ? await readExact(source, continuation.lba * blockSize + continuation.offset, continuation.length) : undefined;
  }
  return all;
}

async function readExact(source: ByteSource, offset: number, length: number): Promise<Buffer> {
  const b = await source.readAt(offset, length);
  if (b.length < length) throw new IsoFormatError(`ISO image is truncated: wanted ${length} bytes at offset ${offset}, got ${b.length}`);
  return b;
}

/** A ByteSource over a buffer already in memory (tests, small images). */
export function bufferSource(buf: Buffer): ByteSource {
  return { size: buf.length, readAt: async (off, len) => buf.subarray(Math.min(off, buf.length), Math.min(off + len, buf.length)) };
}

/** A ByteSource over a file: positional reads through one FileHandle. */
export async function fileSource(path: string): Promise<ByteSource> {
  let fh;
  try {
    fh = await open(path, 'r');
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new XsforgeError(`cannot open ${path}: ${e.code === 'ENOENT' ? 'no such file' : e.message}`);
  }
  const handle = fh;
  const { size } = await handle.stat();
  return {
    size,
    readAt: async (offset, length) => {
      const want = Math.max(0, Math.min(length, size - offset));
      const b = Buffer.alloc(want);
      let got = 0;
      while (got < want) {
        const { bytesRead } = await handle.read(b, got, want - got, offset + got);
        if (!bytesRead) break;
        got += bytesRead;
      }
      return b.subarray(0, got);
    },
    close: () => handle.close(),
  };
}

/** Opens an ISO image file; call `close()` on the result when done. */
export async function openIsoFile(path: string, opts: OpenOptions = {}): Promise<IsoImage> {
  const source = await fileSource(path);
  try {
    return await IsoImage.open(source, opts);
  } catch (err) {
    await source.close?.();
    if (err instanceof IsoFormatError) throw new IsoFormatError(`${path}: ${err.message}`, err.hint);
    throw err;
  }
}

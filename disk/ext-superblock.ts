// The ext2/3/4 superblock, read from a partition's first bytes (pure). The
// installer finds an existing installation by the label of this superblock
// (diskutil.readExtPartitionLabel in host-installer), so the upgrade planner
// needs nothing of the file system but these 1024 bytes at offset 1024.

export const EXT_SUPERBLOCK_OFFSET = 1024;
export const EXT_SUPERBLOCK_SIZE = 1024;
/** Bytes a caller reads from the start of a partition to hand to readExtSuperblock. */
export const EXT_PROBE_BYTES = EXT_SUPERBLOCK_OFFSET + EXT_SUPERBLOCK_SIZE;
export const EXT_MAGIC = 0xef53;

// Feature bits (linux/fs/ext4/ext4.h) that tell ext2, ext3 and ext4 apart.
const COMPAT_HAS_JOURNAL = 0x4;
const INCOMPAT_EXTENTS = 0x40;
const INCOMPAT_64BIT = 0x80;
const INCOMPAT_FLEX_BG = 0x200;
const RO_COMPAT_HUGE_FILE = 0x8;
const RO_COMPAT_GDT_CSUM = 0x10;
const RO_COMPAT_DIR_NLINK = 0x20;
const RO_COMPAT_EXTRA_ISIZE = 0x40;
const RO_COMPAT_METADATA_CSUM = 0x400;

export interface ExtSuperblock {
  /** ext4 if it uses any ext4-only feature, else ext3 with a journal, else ext2 (as blkid tells them apart) */
  type: 'ext2' | 'ext3' | 'ext4';
  /** s_volume_name, NUL-terminated, up to 16 bytes */
  label: string;
  /** s_uuid as 8-4-4-4-12 lower-case hex (byte order as stored, like blkid prints it) */
  uuid: string;
  blockSize: number;
  blocksCount: bigint;
  /** file-system size in bytes (blocks x block size) */
  sizeBytes: bigint;
  inodesCount: number;
  revLevel: number;
  /** s_state bit 0: cleanly unmounted */
  clean: boolean;
  featureCompat: number;
  featureIncompat: number;
  featureRoCompat: number;
  /** s_last_mounted: the directory it was last mounted on, '' if never recorded */
  lastMounted: string;
}

function cString(bytes: Uint8Array): string {
  const end = bytes.indexOf(0);
  return Buffer.from(end < 0 ? bytes : bytes.subarray(0, end)).toString('utf8');
}

/** 16 bytes in stored order as 8-4-4-4-12 hex (not GPT's mixed-endian GUID form). */
function uuidText(b: Uint8Array): string {
  const hex = Buffer.from(b).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/**
 * Read the superblock from the first bytes of a partition (at least
 * EXT_PROBE_BYTES). Returns undefined when there is no ext file system (no magic,
 * or too few bytes): the caller tries the next partition, as the installer does.
 */
export function readExtSuperblock(partitionStart: Uint8Array): ExtSuperblock | undefined {
  if (partitionStart.length < EXT_PROBE_BYTES) return undefined;
  const sb = Buffer.from(partitionStart.buffer, partitionStart.byteOffset + EXT_SUPERBLOCK_OFFSET, EXT_SUPERBLOCK_SIZE);
  if (sb.readUInt16LE(56) !== EXT_MAGIC) return undefined;
  const logBlockSize = sb.readUInt32LE(24);
  if (logBlockSize > 6) return undefined; // blocks of 1 KiB .. 64 KiB only: anything else is not a superblock
  const blockSize = 1024 << logBlockSize;
  const featureCompat = sb.readUInt32LE(92);
  const featureIncompat = sb.readUInt32LE(96);
  const featureRoCompat = sb.readUInt32LE(100);
  let blocksCount = BigInt(sb.readUInt32LE(4));
  if (featureIncompat & INCOMPAT_64BIT) blocksCount |= BigInt(sb.readUInt32LE(0x150)) << 32n;
  const ext4Only = (featureIncompat & (INCOMPAT_EXTENTS | INCOMPAT_64BIT | INCOMPAT_FLEX_BG)) !== 0 ||
    (featureRoCompat & (RO_COMPAT_HUGE_FILE | RO_COMPAT_GDT_CSUM | RO_COMPAT_DIR_NLINK | RO_COMPAT_EXTRA_ISIZE | RO_COMPAT_METADATA_CSUM)) !== 0;
  const type = ext4Only ? 'ext4' : featureCompat & COMPAT_HAS_JOURNAL ? 'ext3' : 'ext2';
  return {
    type,
    label: cString(sb.subarray(120, 136)),
    uuid: uuidText(sb.subarray(104, 120)),
    blockSize,
    blocksCount,
    sizeBytes: blocksCount * BigInt(blockSize),
    inodesCount: sb.readUInt32LE(0),
    revLevel: sb.readUInt32LE(76),
    clean: (sb.readUInt16LE(58) & 1) === 1,
    featureCompat,
    featureIncompat,
    featureRoCompat,
    lastMounted: cString(sb.subarray(136, 200)),
  };
}

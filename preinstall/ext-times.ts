// `mke2fs -d` copies each file's atime and ctime from the build tree, where they
// are the time of extraction: two builds of one disk image would differ in every
// inode. This clamps, in a made ext2/ext3 file system, every in-use inode's
// atime, ctime, mtime and creation time to at most SOURCE_DATE_EPOCH (atime and
// ctime become the clamped mtime), the way reproducible tar archives clamp
// mtimes. Only file systems without metadata checksums are touched (ext3 as the
// installer makes it has none), so no checksum needs recomputing.
// Layout: the ext4 disk-layout document (superblock at byte 1024; group
// descriptors in the block after it; inode fields at their classic offsets).

export class ExtFormatError extends Error {}

/** Reads `length` bytes at `offset` of the file system; writes likewise. */
export interface BlockIo {
  read(offset: number, length: number): Promise<Buffer>;
  write(offset: number, data: Buffer): Promise<void>;
}

export interface ExtGeometry {
  blockSize: number;
  inodesPerGroup: number;
  inodeSize: number;
  groups: number;
  firstDataBlock: number;
  descriptorSize: number;
}

const SUPERBLOCK_OFFSET = 1024;
const EXT_MAGIC = 0xef53;
const INCOMPAT_64BIT = 0x80;
const RO_COMPAT_GDT_CSUM = 0x10;
const RO_COMPAT_METADATA_CSUM = 0x400;

/** Geometry from the superblock (1024 bytes starting at byte 1024 of the file system). */
export function readExtGeometry(sb: Buffer): ExtGeometry {
  if (sb.length < 1024) throw new ExtFormatError('the superblock is 1024 bytes');
  if (sb.readUInt16LE(56) !== EXT_MAGIC) throw new ExtFormatError('no ext2/3/4 superblock (magic 0xEF53 missing)');
  const roCompat = sb.readUInt32LE(100);
  if (roCompat & (RO_COMPAT_METADATA_CSUM | RO_COMPAT_GDT_CSUM)) {
    throw new ExtFormatError('the file system has metadata checksums: its inodes cannot be edited without recomputing them');
  }
  const inodesCount = sb.readUInt32LE(0);
  const blocksCount = sb.readUInt32LE(4);
  const firstDataBlock = sb.readUInt32LE(20);
  // blocks are 1 KiB .. 64 KiB; a larger shift wraps around in `<<` (0 or negative sizes)
  const logBlockSize = sb.readUInt32LE(24);
  if (logBlockSize > 6) throw new ExtFormatError(`inconsistent superblock: block size 1024 << ${logBlockSize}`);
  const blockSize = 1024 << logBlockSize;
  const blocksPerGroup = sb.readUInt32LE(32);
  const inodesPerGroup = sb.readUInt32LE(40);
  const revision = sb.readUInt32LE(76);
  const inodeSize = revision === 0 ? 128 : sb.readUInt16LE(88);
  const incompat = sb.readUInt32LE(96);
  const descriptorSize = incompat & INCOMPAT_64BIT ? Math.max(32, sb.readUInt16LE(254)) : 32;
  // an inode must hold the classic fields clampInodeTimes edits (128 bytes) and fit a block
  if (inodeSize < 128 || inodeSize > blockSize || (inodeSize & (inodeSize - 1)) !== 0) throw new ExtFormatError(`inconsistent superblock: inode size ${inodeSize}`);
  if (descriptorSize > blockSize) throw new ExtFormatError(`inconsistent superblock: group descriptor size ${descriptorSize}`);
  // each group's block and inode bitmaps are one block: at most 8 x block size of each per group
  if (blocksPerGroup > blockSize * 8 || inodesPerGroup > blockSize * 8) {
    throw new ExtFormatError(`inconsistent superblock: ${blocksPerGroup} blocks and ${inodesPerGroup} inodes per group with ${blockSize}-byte blocks`);
  }
  const groups = Math.ceil((blocksCount - firstDataBlock) / blocksPerGroup);
  if (!groups || !inodesPerGroup || groups * inodesPerGroup !== inodesCount) {
    throw new ExtFormatError(`inconsistent superblock: ${groups} groups of ${inodesPerGroup} inodes, ${inodesCount} inodes in all`);
  }
  return { blockSize, inodesPerGroup, inodeSize, groups, firstDataBlock, descriptorSize };
}

/**
 * Clamp the times of one inode (in place). Returns true when something changed.
 * Classic fields: atime 8, ctime 12, mtime 16; with a large inode, the extra
 * fields after i_extra_isize (128): ctime_extra 132, mtime_extra 136,
 * atime_extra 140, crtime 144, crtime_extra 148, present when i_extra_isize covers them.
 */
export function clampInodeTimes(inode: Buffer, epoch: number): boolean {
  const before = Buffer.from(inode);
  const mtime = Math.min(inode.readUInt32LE(16), epoch);
  inode.writeUInt32LE(mtime, 16);
  inode.writeUInt32LE(mtime, 8);
  inode.writeUInt32LE(mtime, 12);
  if (inode.length > 128) {
    const extra = inode.readUInt16LE(128);
    // nanoseconds and the epoch bits of the extra words: none are wanted in a clamped time
    for (const [off, need] of [[132, 8], [136, 12], [140, 16], [148, 24]] as const) if (extra >= need) inode.writeUInt32LE(0, off);
    if (extra >= 20) inode.writeUInt32LE(Math.min(inode.readUInt32LE(144), epoch), 144);
  }
  return !before.equals(inode);
}

/** Clamp every in-use inode of the file system behind `io`. Returns how many inodes changed. */
export async function clampExtTimes(io: BlockIo, epoch: number): Promise<{ inodes: number; changed: number }> {
  const g = readExtGeometry(await io.read(SUPERBLOCK_OFFSET, 1024));
  const gdtOffset = (g.firstDataBlock + 1) * g.blockSize;
  const gdt = await io.read(gdtOffset, g.groups * g.descriptorSize);
  let inodes = 0;
  let changed = 0;
  for (let group = 0; group < g.groups; group++) {
    const d = group * g.descriptorSize;
    const bitmap = await io.read(gdt.readUInt32LE(d + 4) * g.blockSize, Math.ceil(g.inodesPerGroup / 8));
    const tableOffset = gdt.readUInt32LE(d + 8) * g.blockSize;
    const table = await io.read(tableOffset, g.inodesPerGroup * g.inodeSize);
    let dirty = false;
    for (let i = 0; i < g.inodesPerGroup; i++) {
      if (!(bitmap[i >> 3]! & (1 << (i & 7)))) continue;
      inodes++;
      if (clampInodeTimes(table.subarray(i * g.inodeSize, (i + 1) * g.inodeSize), epoch)) {
        changed++;
        dirty = true;
      }
    }
    if (dirty) await io.write(tableOffset, table);
  }
  return { inodes, changed };
}

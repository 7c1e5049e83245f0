// GRUB's BIOS boot code on a disk image, written by us rather than grub-install
// (which needs a real block device and the kernel's view of it). What
// grub-bios-setup does for an embedded core image, as pure byte work:
//   sector 0: boot.img with the disk's own BPB area and partition table kept,
//             the LBA of core.img's first sector at 0x5c, boot drive 0xff (use
//             the drive the BIOS booted from), the floppy probe jumped over;
//   core.img: its first sector (diskboot.img) ends with a block list that says
//             where the rest of core.img is: here one contiguous run.
// Offsets are those of GRUB 2's include/grub/i386/pc/boot.h.

export const SECTOR = 512;
const BPB_START = 0x03;
const BPB_END = 0x5a;
const KERNEL_SECTOR = 0x5c;
const BOOT_DRIVE = 0x64;
const DRIVE_CHECK = 0x66;
const WINDOWS_NT_MAGIC = 0x1b8;
const PART_END = 0x1fe;
/** diskboot.img's block list entry: u64 start, u16 sectors, u16 segment, at the end of its sector */
const BLOCKLIST_SIZE = 12;
/** core.img is loaded at 0x8000; its second sector goes right after the first (0x800 + 0x20 paragraphs) */
const CORE_SECOND_SECTOR_SEGMENT = 0x820;

export class BiosBootError extends Error {}

export interface BiosBootInput {
  /** the disk's current sector 0 (protective or DOS MBR) */
  mbr: Buffer;
  /** GRUB's boot.img (one sector) */
  bootImg: Buffer;
  /** core.img from grub-mkimage -O i386-pc: diskboot.img then the compressed core */
  coreImg: Buffer;
  /** first sector of the area core.img goes to (the BIOS-boot partition, or the gap after a DOS MBR) */
  coreLba: number;
  /** sectors available there */
  coreAreaSectors: number;
}

export interface BiosBootSectors {
  /** the new sector 0 */
  mbr: Buffer;
  /** core.img with its block list filled in, padded to whole sectors */
  core: Buffer;
  coreSectors: number;
}

export function biosBootSectors(i: BiosBootInput): BiosBootSectors {
  if (i.mbr.length !== SECTOR) throw new BiosBootError(`sector 0 must be ${SECTOR} bytes, got ${i.mbr.length}`);
  if (i.bootImg.length !== SECTOR) throw new BiosBootError(`boot.img must be ${SECTOR} bytes, got ${i.bootImg.length}`);
  if (i.bootImg.readUInt16LE(PART_END) !== 0xaa55) throw new BiosBootError('boot.img has no 0xAA55 signature: not GRUB\'s i386-pc boot.img');
  const coreSectors = Math.ceil(i.coreImg.length / SECTOR);
  if (coreSectors < 2) throw new BiosBootError(`core.img is ${i.coreImg.length} bytes: too small to be a GRUB core image`);
  if (coreSectors > i.coreAreaSectors) {
    throw new BiosBootError(`core.img needs ${coreSectors} sectors but only ${i.coreAreaSectors} are free at sector ${i.coreLba}`);
  }
  if (coreSectors - 1 > 0xffff) throw new BiosBootError('core.img is too large for one block list entry');
  if (!Number.isSafeInteger(i.coreLba) || i.coreLba < 1) throw new BiosBootError(`core.img cannot start at sector ${i.coreLba}`);

  const mbr = Buffer.from(i.bootImg);
  // the disk's BPB area and its partition table (with the NT disk signature) stay as they are
  i.mbr.copy(mbr, BPB_START, BPB_START, BPB_END);
  i.mbr.copy(mbr, WINDOWS_NT_MAGIC, WINDOWS_NT_MAGIC, PART_END);
  mbr.writeBigUInt64LE(BigInt(i.coreLba), KERNEL_SECTOR);
  mbr[BOOT_DRIVE] = 0xff;
  // two NOPs over the jump that would treat a drive number below 0x80 as a floppy
  mbr[DRIVE_CHECK] = 0x90;
  mbr[DRIVE_CHECK + 1] = 0x90;

  const core = Buffer.alloc(coreSectors * SECTOR);
  i.coreImg.copy(core);
  const list = SECTOR - BLOCKLIST_SIZE;
  core.writeBigUInt64LE(BigInt(i.coreLba + 1), list);
  core.writeUInt16LE(coreSectors - 1, list + 8);
  core.writeUInt16LE(CORE_SECOND_SECTOR_SEGMENT, list + 10);
  return { mbr, core, coreSectors };
}

/** Read back what biosBootSectors wrote (for inspect and tests). */
export function readBiosBoot(mbr: Buffer, coreFirstSector: Buffer): { coreLba: number; bootDrive: number; blockStart: number; blockSectors: number; blockSegment: number } {
  const list = SECTOR - BLOCKLIST_SIZE;
  return {
    coreLba: Number(mbr.readBigUInt64LE(KERNEL_SECTOR)),
    bootDrive: mbr[BOOT_DRIVE]!,
    blockStart: Number(coreFirstSector.readBigUInt64LE(list)),
    blockSectors: coreFirstSector.readUInt16LE(list + 8),
    blockSegment: coreFirstSector.readUInt16LE(list + 10),
  };
}

// Writing a planned table to an image file or block device, and reading one
// back, with plain fs calls (no processes). A kernel still has to be told to
// re-read a device's table afterwards (BLKRRPART: `blockdev --rereadpt`),
// which is the caller's business.
import { open, stat, readFile } from 'node:fs/promises';
import type { LayoutPlan, ExistingPartition, TableType } from './layout.ts';
import { renderTable, type RenderedTable } from './table.ts';
import { readGpt, readGptBackup, parseGptHeader, gptUsableRange, GPT_SIGNATURE, type GptRead } from './gpt.ts';
import { readMbr, type MbrRead } from './mbr.ts';

/** Size in bytes of a regular file or a block device. */
export async function diskSizeBytes(path: string): Promise<number> {
  const st = await stat(path);
  if (st.isFile()) return st.size;
  if (st.isBlockDevice()) {
    const rdev = st.rdev;
    const major = Math.floor(rdev / 256) & 0xfff;
    const minor = (rdev & 0xff) | ((Math.floor(rdev / 4096) & 0xfff00));
    const sectors = Number((await readFile(`/sys/dev/block/${major}:${minor}/size`, 'utf8')).trim());
    return sectors * 512; // /sys sizes are always in 512-byte units
  }
  throw new Error(`${path} is neither a file nor a block device`);
}

export interface WrittenTable extends RenderedTable {
  path: string;
  /** sectors where a stale GPT header was zeroed (DOS tables only) */
  clearedGptHeaders: number[];
}

/**
 * Write the plan's partition table to `path` (image or device of
 * plan.diskSectors sectors). Boot code in bytes 0..439 is kept. For a DOS table,
 * GPT headers left at LBA 1 and in the last sector are zeroed so no tool takes
 * the disk for GPT any more.
 */
export async function writeTableToImage(path: string, plan: LayoutPlan): Promise<WrittenTable> {
  const size = await diskSizeBytes(path);
  const sectors = Math.floor(size / plan.sectorSize);
  if (sectors !== plan.diskSectors) {
    throw new Error(`${path} has ${sectors} sectors of ${plan.sectorSize} bytes but the plan is for ${plan.diskSectors}`);
  }
  const rendered = renderTable(plan);
  const cleared: number[] = [];
  const fh = await open(path, 'r+');
  try {
    if (rendered.tableType === 'dos') {
      for (const lba of [1, plan.diskSectors - 1]) {
        const sector = Buffer.alloc(plan.sectorSize);
        await fh.read(sector, 0, sector.length, lba * plan.sectorSize);
        if (sector.toString('latin1', 0, 8) === GPT_SIGNATURE) {
          await fh.write(Buffer.alloc(plan.sectorSize), 0, plan.sectorSize, lba * plan.sectorSize);
          cleared.push(lba);
        }
      }
    }
    for (const r of rendered.regions) {
      const { bytesWritten } = await fh.write(r.data, 0, r.data.length, r.offset);
      if (bytesWritten !== r.data.length) throw new Error(`short write to ${path} at ${r.offset}`);
    }
    await fh.sync();
  } finally {
    await fh.close();
  }
  return { ...rendered, path, clearedGptHeaders: cleared };
}

export interface ImageTable {
  diskSectors: number;
  sectorSize: number;
  tableType: TableType | 'none';
  mbr: MbrRead;
  gpt?: GptRead;
  /** backup GPT, checked against the primary */
  gptBackup?: ReturnType<typeof readGptBackup>;
  /** partitions in the shape planLayout takes as `existing` */
  existing: ExistingPartition[];
}

/** Read the table on an image or device (GPT: primary and backup; DOS: the MBR). */
export async function readTableFromImage(path: string, sectorSize = 512): Promise<ImageTable> {
  const size = await diskSizeBytes(path);
  const diskSectors = Math.floor(size / sectorSize);
  const fh = await open(path, 'r');
  try {
    const { first } = gptUsableRange(diskSectors, sectorSize);
    const head = Buffer.alloc(Math.min(first * sectorSize, size));
    await fh.read(head, 0, head.length, 0);
    const mbr = readMbr(head);
    const result: ImageTable = { diskSectors, sectorSize, tableType: 'none', mbr, existing: [] };
    if (!mbr.signatureOk) return result;
    if (mbr.protective && head.length >= 2 * sectorSize && parseGptHeader(head.subarray(sectorSize, 2 * sectorSize)).signatureOk) {
      const gpt = readGpt(head, sectorSize);
      result.tableType = 'gpt';
      result.gpt = gpt;
      const backupSectors = first - 1;
      const tail = Buffer.alloc(backupSectors * sectorSize);
      await fh.read(tail, 0, tail.length, (diskSectors - backupSectors) * sectorSize);
      try {
        result.gptBackup = readGptBackup(tail, sectorSize);
      } catch {
        // no backup header: reported as absent
      }
      result.existing = gpt.partitions.map((p) => ({
        number: p.number, firstSector: p.firstSector, sectorCount: p.lastSector - p.firstSector + 1,
        typeGuid: p.typeGuid, uniqueGuid: p.uniqueGuid, name: p.name, attributes: p.attributes,
      }));
    } else if (!mbr.protective) {
      result.tableType = 'dos';
      result.existing = mbr.partitions.map((p) => ({
        number: p.number, firstSector: p.firstSector, sectorCount: p.sectorCount, dosId: p.id, active: p.active ?? false,
      }));
    }
    return result;
  } finally {
    await fh.close();
  }
}

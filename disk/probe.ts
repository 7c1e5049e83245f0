// Reading what the upgrade planners need from a disk image or device: its
// partition table and the first bytes of every partition (ext superblocks),
// with plain fs calls (no processes, no mounts), as write-table.ts reads tables.
import { open } from 'node:fs/promises';
import { EXT_PROBE_BYTES } from './ext-superblock.ts';
import { readTableFromImage } from './write-table.ts';
import type { ExistingPartition, TableType } from './layout.ts';

export interface ImageProbe {
  /** device node or image path, e.g. /dev/sda */
  diskName: string;
  sizeBytes: number;
  table: {
    tableType: TableType | 'none';
    diskSectors: number;
    sectorSize: number;
    existing: ExistingPartition[];
    diskGuid?: string;
    diskSignature?: number;
  };
  /** the first EXT_PROBE_BYTES bytes of each partition, by number (missing: not read) */
  partitionStarts: Record<number, Uint8Array>;
}

/** Probe `path`; `diskName` names it in plans (e.g. /dev/sda for an image that stands for one). */
export async function probeDiskImage(path: string, diskName = path, sectorSize = 512): Promise<ImageProbe> {
  const t = await readTableFromImage(path, sectorSize);
  const starts: Record<number, Uint8Array> = {};
  const fh = await open(path, 'r');
  try {
    for (const p of t.existing) {
      const n = Math.min(EXT_PROBE_BYTES, p.sectorCount * sectorSize);
      const buf = Buffer.alloc(n);
      const { bytesRead } = await fh.read(buf, 0, n, p.firstSector * sectorSize);
      starts[p.number] = buf.subarray(0, bytesRead);
    }
  } finally {
    await fh.close();
  }
  return {
    diskName, sizeBytes: t.diskSectors * sectorSize,
    table: {
      tableType: t.tableType, diskSectors: t.diskSectors, sectorSize, existing: t.existing,
      ...(t.gpt && { diskGuid: t.gpt.header.diskGuid }),
      ...(t.tableType === 'dos' && { diskSignature: t.mbr.diskSignature }),
    },
    partitionStarts: starts,
  };
}

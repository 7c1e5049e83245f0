// From a layout plan to the table bytes our writers produce (pure).
import { ATTR_LEGACY_BIOS_BOOTABLE, LayoutError, type LayoutPlan } from './layout.ts';
import { writeGpt, type GptImage, type GptInput } from './gpt.ts';
import { writeMbr, type MbrInput } from './mbr.ts';

export type TableInput = { tableType: 'gpt'; gpt: GptInput } | { tableType: 'dos'; mbr: MbrInput };

/** A byte range to write at an offset on the disk. */
export interface TableRegion {
  offset: number;
  data: Buffer;
}

export interface RenderedTable {
  tableType: 'gpt' | 'dos';
  /** primary structures first; boot code (bytes 0..439 of sector 0) is never included */
  regions: TableRegion[];
  gpt?: GptImage;
  mbr?: Buffer;
}

/** The writer input for a plan. GPT plans need GUIDs: plan with `guidSeed`. */
export function tableFromPlan(plan: LayoutPlan): TableInput {
  if (plan.tableType === 'gpt') {
    if (!plan.diskGuid) throw new LayoutError('the plan has no disk GUID: plan it with a guidSeed');
    return {
      tableType: 'gpt',
      gpt: {
        diskSectors: plan.diskSectors,
        sectorSize: plan.sectorSize,
        diskGuid: plan.diskGuid,
        partitions: plan.partitions.map((p) => {
          if (!p.typeGuid || !p.uniqueGuid) throw new LayoutError(`partition ${p.number} of the plan has no type or unique GUID`);
          return {
            number: p.number,
            firstSector: p.firstSector,
            lastSector: p.lastSector,
            typeGuid: p.typeGuid,
            uniqueGuid: p.uniqueGuid,
            name: p.name ?? '',
            attributes: (p.attributes ?? 0n) | (p.active ? ATTR_LEGACY_BIOS_BOOTABLE : 0n),
          };
        }),
      },
    };
  }
  return {
    tableType: 'dos',
    mbr: {
      diskSignature: plan.diskSignature ?? 0,
      partitions: plan.partitions.map((p) => {
        if (p.dosId === undefined) throw new LayoutError(`partition ${p.number} of the plan has no DOS id`);
        return { number: p.number, firstSector: p.firstSector, sectorCount: p.sectorCount, id: p.dosId, active: p.active ?? false };
      }),
    },
  };
}

/** Bytes to write for a plan, as offset/data regions. */
export function renderTable(plan: LayoutPlan): RenderedTable {
  const input = tableFromPlan(plan);
  if (input.tableType === 'gpt') {
    const gpt = writeGpt(input.gpt);
    return {
      tableType: 'gpt',
      gpt,
      regions: [
        { offset: 440, data: gpt.primary.subarray(440) },
        { offset: gpt.backupOffset, data: gpt.backup },
      ],
    };
  }
  const mbr = writeMbr(input.mbr);
  return { tableType: 'dos', mbr, regions: [{ offset: 440, data: mbr.subarray(440) }] };
}

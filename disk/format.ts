// Plans as text (console, installer log) and as JSON (bigint attributes as hex).
import { SGDISK_CODE, type LayoutPlan, type PlannedPartition } from './layout.ts';
import { formatBytes } from './size.ts';

export function typeCode(p: PlannedPartition): string {
  if (p.dosId !== undefined) return `0x${p.dosId.toString(16).padStart(2, '0')}`;
  if (p.typeGuid) return SGDISK_CODE[p.typeGuid] ?? p.typeGuid;
  return '-';
}

function sizeMiB(p: PlannedPartition, sectorSize: number): string {
  const mib = (p.sectorCount * sectorSize) / 2 ** 20;
  return Number.isInteger(mib) ? String(mib) : mib.toFixed(1);
}

/** A table of the plan's partitions in on-disk order, with a header line. */
export function formatPlan(plan: LayoutPlan): string {
  const head = [
    `${plan.diskName}: ${plan.diskSectors} sectors of ${plan.sectorSize} bytes (${formatBytes(plan.diskSectors * plan.sectorSize)}), ` +
      `${plan.tableType.toUpperCase()} table, ${plan.scheme} layout, ${plan.bootMode.toUpperCase()} boot`,
    `usable sectors ${plan.firstUsableSector}..${plan.lastUsableSector}; PARTITION_LAYOUT='${plan.partitionLayout}'` +
      (plan.diskGuid ? `; disk GUID ${plan.diskGuid}` : '') +
      (plan.diskSignature !== undefined ? `; disk signature 0x${plan.diskSignature.toString(16).padStart(8, '0')}` : ''),
    '',
  ];
  const rows = [['#', 'role', 'start', 'end', 'sectors', 'MiB', 'type', 'fs', 'label', 'flags']];
  for (const p of plan.partitions) {
    const label = p.label ?? (p.labelPrefix ? `${p.labelPrefix}${p.labelPrefix === 'BOOT-' ? '<SFX>' : '<sfx>'}` : (p.name ? `(name ${p.name})` : ''));
    rows.push([
      String(p.number), p.role, String(p.firstSector), String(p.lastSector), String(p.sectorCount),
      sizeMiB(p, plan.sectorSize), typeCode(p), p.fsType ?? '', label,
      p.active ? (plan.tableType === 'dos' ? 'bootable' : 'legacy-bios-bootable') : '',
    ]);
  }
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  const numeric = new Set([0, 2, 3, 4, 5]);
  const lines = rows.map((r) => r.map((c, i) => (numeric.has(i) ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join('  ').trimEnd());
  return `${head.join('\n')}\n${lines.join('\n')}\n`;
}

/** JSON text of any value holding plans (bigint becomes a 0x-prefixed hex string). */
export function planJson(value: unknown): string {
  return JSON.stringify(value, (_k, v) => (typeof v === 'bigint' ? `0x${v.toString(16)}` : v), 2);
}

// Text the installer shows about itself and the hardware it found. Pure.
import type { BlockDevice, Nic, ProductIdentity } from './system.ts';

export function banner(p: ProductIdentity): string {
  return p.version ? `Welcome to ${p.brand} ${p.version} (build ${p.build_number}) installer` : `Welcome to the ${p.brand} installer`;
}

/** Sizes as a person reads them on a disk label: 1000-based, 3 significant digits. */
export function formatSize(bytes: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB', 'PB'];
  let v = bytes;
  let i = 0;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return i === 0 ? `${v} B` : `${v < 10 ? v.toFixed(2) : v < 100 ? v.toFixed(1) : v.toFixed(0)} ${units[i]}`;
}

export function table(header: string[], rows: string[][]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const fmt = (r: string[]) => '  ' + r.map((c, i) => (c ?? '').padEnd(widths[i])).join('  ').trimEnd();
  return [fmt(header), ...rows.map(fmt)];
}

export function diskTable(disks: BlockDevice[], optical: BlockDevice[]): string[] {
  const all = [...disks.map((d) => ['disk', d] as const), ...optical.map((d) => ['optical', d] as const)];
  if (all.length === 0) return ['  (no disks found)'];
  return table(
    ['device', 'kind', 'size', 'vendor', 'model', 'flags'],
    all.map(([kind, d]) => [
      d.path,
      kind,
      d.sizeBytes ? formatSize(d.sizeBytes) : 'no media',
      d.vendor ?? '-',
      d.model ?? '-',
      [d.removable ? 'removable' : '', d.readOnly ? 'read-only' : ''].filter(Boolean).join(',') || '-',
    ]),
  );
}

export function nicTable(nics: Nic[]): string[] {
  if (nics.length === 0) return ['  (no network interfaces found)'];
  return table(
    ['interface', 'MAC', 'driver', 'state', 'link'],
    nics.map((n) => [
      n.name,
      n.mac,
      n.driver ?? '-',
      n.state,
      n.carrier === undefined ? '-' : n.carrier ? (n.speedMbps ? `yes ${n.speedMbps} Mb/s` : 'yes') : 'no',
    ]),
  );
}

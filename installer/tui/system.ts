// What the interactive installer reads from install.img's file system: the zone
// names (tzdata's zone1970.tab / zone.tab under /usr/share/zoneinfo) and the EULA.
// The parsing is pure (zoneNamesFromTab); the readers only open files.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export const ZONEINFO_DIR = '/usr/share/zoneinfo';
/** Where install.img should carry the medium's EULA (a netboot has no medium to read it from). */
export const INSTALLER_EULA = '/opt/xsforge/EULA';

/**
 * Zone names from a tzdata table (`zone1970.tab` or `zone.tab`: tab-separated,
 * the zone name in the third column, `#` comments), sorted, without duplicates.
 */
export function zoneNamesFromTab(text: string): string[] {
  const names = new Set<string>();
  for (const line of text.split('\n')) {
    if (line.startsWith('#') || !line.trim()) continue;
    const zone = line.split('\t')[2]?.trim();
    if (zone && /^[A-Za-z0-9_+-]+(\/[A-Za-z0-9_+-]+)+$/.test(zone)) names.add(zone);
  }
  return [...names].sort();
}

/**
 * The zones to offer: from zone1970.tab (else zone.tab) in `dir`, plus Etc/UTC (the
 * answer file's default) when its zone file exists. Empty when tzdata is missing:
 * the time zone screens are then skipped and the default used.
 */
export function readTimezones(dir = ZONEINFO_DIR): string[] {
  const tab = ['zone1970.tab', 'zone.tab'].map((f) => join(dir, f)).find((f) => existsSync(f));
  if (!tab) return [];
  const names = zoneNamesFromTab(readFileSync(tab, 'utf8'));
  if (existsSync(join(dir, 'Etc', 'UTC')) && !names.includes('Etc/UTC')) names.push('Etc/UTC');
  return names.sort();
}

/** The first of `candidates` that exists (e.g. INSTALLER_EULA, then `<medium>/EULA`), as text; '' when none does. */
export function readEula(candidates: string[]): string {
  for (const c of candidates) {
    if (existsSync(c)) return readFileSync(c, 'utf8');
  }
  return '';
}

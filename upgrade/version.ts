// May this media upgrade that installation? Pure rules on versions:
//  - same product line: brand and platform name (an upgrade replaces dom0 but
//    keeps the host's identity and data, which only the same product knows);
//  - not older: "Upgrading from a newer version" is refused (the product offers
//    no upgrade to older media: host-installer findXenSourceProducts keeps only
//    installations up to its own version);
//  - optionally not too old: XenServer 7.1 upgrades hosts of 6.2 and later
//    directly (seed:1915-1916); others need an intermediate upgrade.
// A reinstall replaces the installation (keeping a backup), so none of this applies.
import { UpgradeError, describeProduct, type InstalledProduct, type MediaProduct } from './model.ts';

/**
 * Compare dotted versions part by part: numeric parts as numbers, others as
 * text, a missing part as less ("7.1" < "7.1.0" < "7.1.2" < "7.10"); a "-" or
 * "+" starts a suffix compared the same way after the main parts.
 */
export function compareVersions(a: string, b: string): -1 | 0 | 1 {
  const split = (v: string) => v.trim().split(/[.+-]/).filter((x) => x !== '');
  const pa = split(a);
  const pb = split(b);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const x = pa[i];
    const y = pb[i];
    if (x === undefined) return -1;
    if (y === undefined) return 1;
    const nx = /^\d+$/.test(x);
    const ny = /^\d+$/.test(y);
    let c: number;
    if (nx && ny) c = Number(x) - Number(y) || (x.length - y.length); // 007 vs 7: equal value, order by text so the sort is total
    else if (nx !== ny) c = nx ? 1 : -1; // a number beats a word: 7.1.0 > 7.1.beta
    else c = x < y ? -1 : x > y ? 1 : 0;
    if (c !== 0) return c < 0 ? -1 : 1;
  }
  return 0;
}

/** XenServer 7.1's oldest directly upgradable version (seed:1915-1916). */
export const XENSERVER_71_MIN_UPGRADE_FROM = '6.2.0';

export interface UpgradeCheck {
  /** what the check noticed but allows */
  notes: string[];
}

export interface UpgradeCheckOptions {
  /** refuse installations older than this */
  minVersion?: string;
  /** disk name for messages */
  disk?: string;
}

const norm = (s: string) => s.trim().toLowerCase();

export function sameProductLine(installed: InstalledProduct, media: MediaProduct): boolean {
  return norm(installed.brand) === norm(media.brand) &&
    (installed.platformName === '' || norm(installed.platformName) === norm(media.platform.name));
}

/** Throws UpgradeError with a message a person can act on; returns notes otherwise. */
export function checkUpgrade(installed: InstalledProduct, media: MediaProduct, opts: UpgradeCheckOptions = {}): UpgradeCheck {
  const where = opts.disk ? ` on ${opts.disk}` : '';
  const mediaText = `${media.brand} ${media.version} (build ${media.build_number}) on ${media.platform.name} ${media.platform.version}`;
  if (!sameProductLine(installed, media)) {
    throw new UpgradeError(`The installation${where} is ${describeProduct(installed)}; this media installs ${mediaText}. Only an installation of the same product (${media.brand} on ${media.platform.name}) can be upgraded.`,
      'install afresh with mode="reinstall" (the old root is kept in the backup partition) or mode="fresh"');
  }
  if (!media.version) {
    throw new UpgradeError(`The installation source names no release (.treeinfo [branding] version), so the installation${where} (${describeProduct(installed)}) cannot be checked against it; nothing was changed.`,
      'upgrade from a complete copy of the install media (its .treeinfo names the release)');
  }
  const byProduct = compareVersions(installed.version, media.version);
  const byPlatform = installed.platformVersion ? compareVersions(installed.platformVersion, media.platform.version) : 0;
  if (byProduct > 0 || (byProduct === 0 && byPlatform > 0)) {
    throw new UpgradeError(`Upgrading from a newer version is not possible: the installation${where} is ${describeProduct(installed)}, newer than ${mediaText} on this media.`,
      `use media of ${installed.brand} ${installed.version} or later, or replace the installation with mode="reinstall"`);
  }
  if (opts.minVersion && compareVersions(installed.version, opts.minVersion) < 0) {
    throw new UpgradeError(`${describeProduct(installed)}${where} cannot be upgraded directly to ${media.version}: it must run ${opts.minVersion} or later.`,
      `upgrade it to ${opts.minVersion} first, or install afresh`);
  }
  const notes: string[] = [];
  if (byProduct === 0 && byPlatform === 0) {
    notes.push(`the installation already runs ${media.brand} ${media.version}: the upgrade lays the same version down again (updates are the usual way within a version, seed:1922-1926)`);
  }
  return { notes };
}

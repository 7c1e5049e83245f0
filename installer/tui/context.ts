// What the interactive installer is given (hardware, detection, texts) and what it
// hands back besides the InstallConfig. Pure types and small pure helpers.
import type { InstallConfig } from '../../answerfiles/model.ts';
import type { NetworkConfig } from '../runtime/cmdline.ts';

export interface TuiDisk {
  /** kernel name, e.g. sda */
  name: string;
  /** device node, e.g. /dev/sda */
  path: string;
  sizeBytes: number;
  vendor?: string;
  model?: string;
}

export interface TuiNic {
  name: string;
  mac: string;
  driver?: string;
  /** link detected; undefined when not known */
  carrier?: boolean;
}

/** An installation found on a disk (another engineer's detection code finds these). */
export interface DetectedInstallation {
  /** the disk it is on, e.g. /dev/sda */
  disk: string;
  brand?: string;
  version: string;
}

/** A backup partition holding an earlier installation. */
export interface DetectedBackup {
  disk: string;
  brand?: string;
  version: string;
}

export interface Detection {
  installations: DetectedInstallation[];
  backups: DetectedBackup[];
}

/** The data every screen may show: no callbacks, so the reducer stays pure. */
export interface TuiData {
  disks: TuiDisk[];
  nics: TuiNic[];
  detection: Detection;
  /** the licence text from the medium (ISO root `EULA`); empty: the screen says none was found */
  eulaText: string;
  /** zone names, `Region/City` (the city may have more slashes: America/Argentina/Salta) */
  timezones: string[];
  /** e.g. 7.1.2: decides which fields are offered (the management VLAN came with 7.1) */
  productVersion: string;
  /** default XenServer */
  brand?: string;
  /** default KEYMAPS */
  keymaps?: string[];
  /** preselected keymap (the `keymap=` boot argument); default us */
  defaultKeymap?: string;
  /** whether the installer was booted from (or can see) install media; default true */
  localMedia?: boolean;
  /** what the manual time screen starts from, `YYYY-MM-DD HH:MM` (UTC); default 2000-01-01 00:00 */
  now?: string;
}

/** Settings the screens collect that an answer file has no element for. */
export interface InteractiveSetup {
  keymap: string;
  /** F9 was pressed on the welcome screen */
  driverDiskRequested: boolean;
  /** driver disks loaded through the loadDriverDisk callback, by the names it returned */
  driverDisksLoaded: string[];
  /** the installer's own network, set up for an HTTP/FTP/NFS source (pass to runtime bringUpNetwork) */
  installerNetwork?: { device: string; mac: string; config: NetworkConfig };
  /** the user asked to verify the source (and it passed: a failure stops on the verify screen) */
  sourceVerified: boolean;
  /** 802.1Q tag of the management interface; the 7.1 answer file cannot carry it */
  managementVlan?: number;
  hostnameFromDhcp: boolean;
  dnsFromDhcp: boolean;
  time: { method: 'ntp'; fromDhcp: boolean } | { method: 'manual'; date: string; time: string };
}

export type CheckResult = { ok: true } | { ok: false; error: string };

export interface TuiCallbacks {
  /** The plan as text for the confirm screen (plan code of the runtime). Throwing shows the error and offers only Back. */
  planSummary(config: InstallConfig, setup: InteractiveSetup): string;
  /** Check the installation source (the seed's "Verify installation source"); bring the network up first when it is remote. */
  verifySource(config: InstallConfig, setup: InteractiveSetup): Promise<CheckResult>;
  /** F9: load a driver disk; may return the disks and NICs seen afterwards. Absent: F9 only records the request. */
  loadDriverDisk?(): Promise<{ name: string; disks?: TuiDisk[]; nics?: TuiNic[] }>;
  /**
   * Touch the disks: plan and execute. Absent: runInteractiveInstall returns after the
   * confirm screen (and the manual time screen) and the caller installs.
   */
  install?(config: InstallConfig, setup: InteractiveSetup, progress: (line: string) => void): Promise<void>;
  /** Install one supplemental pack from the CD now in the drive; returns its name. Absent: the question is not asked. */
  installSupplementalPack?(): Promise<string>;
}

export type TuiContext = TuiData & TuiCallbacks;

/** Keymaps offered when none are passed in (names of the kbd keymap files the 7.1 installer lists). */
export const KEYMAPS = [
  'azerty', 'be-latin1', 'bg', 'br-abnt2', 'by', 'cf', 'croat', 'cz-lat2', 'de', 'de-latin1', 'de_CH-latin1', 'dk', 'dvorak',
  'es', 'et', 'fi', 'fr', 'fr-latin1', 'fr_CH', 'fr_CH-latin1', 'gr', 'hu', 'il', 'is-latin1', 'it', 'jp106', 'la-latin1',
  'lt', 'mk', 'nl', 'no', 'pl', 'pt-latin1', 'ro', 'ru', 'se-latin1', 'sg', 'sk-qwerty', 'slovene', 'sv-latin1', 'trq',
  'ua', 'uk', 'us', 'us-acentos',
];

/** Dotted version comparison: -1, 0 or 1 (missing parts count as 0; non-numbers as 0). */
export function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map((x) => Number.parseInt(x, 10) || 0);
  const pb = b.split('.').map((x) => Number.parseInt(x, 10) || 0);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d < 0 ? -1 : 1;
  }
  return 0;
}

/** The 7.1 installer's networking screen has a VLAN field (seed step 12); earlier ones did not. */
export function supportsManagementVlan(productVersion: string): boolean {
  // unknown until the source is read (a USB or network boot): every release of the line has VLANs
  return !productVersion || compareVersions(productVersion, '7.1') >= 0;
}

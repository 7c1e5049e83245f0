// Shared shapes of the upgrade/restore planners, and reading the installed
// product from files of a root file system. Pure: the installer runtime mounts
// the old root read-only, reads the files the planners ask for
// (ROOT_FILES_TO_READ) into a RootFiles map, and hands the map over.
import { XsforgeError } from '../core/errors.ts';
import type { BootValues } from '../target/boot-args.ts';

export class UpgradeError extends XsforgeError {
  constructor(message: string, hint?: string) {
    super(message, hint);
    this.name = 'UpgradeError';
  }
}

/** A symbolic link as read from the old root (readlink). */
export interface SymlinkEntry {
  symlink: string;
}

/**
 * Files of a root file system by absolute path ('/etc/hostname'): text, or
 * bytes for binary files, or a symlink's target. A path that is absent was not
 * there (or not read).
 */
export type RootFiles = Record<string, string | Uint8Array | SymlinkEntry>;

/** The media's product, in the shape the recipe and the install plan use (plan.ts ProductInfo). */
export interface MediaProduct {
  brand: string;
  version: string;
  build_number: string;
  platform: { name: string; version: string };
  /** what the upgraded host boots with, as the medium names it (absent: target/boot-args.ts DEFAULT_BOOT) */
  boot?: BootValues;
}

/** The product installed in a root (or held by a backup). */
export interface InstalledProduct {
  brand: string;
  version: string;
  buildNumber: string;
  platformName: string;
  platformVersion: string;
  /** where it was read from */
  source: '/etc/xensource-inventory' | string;
}

export function isSymlink(v: RootFiles[string] | undefined): v is SymlinkEntry {
  return typeof v === 'object' && v !== null && !(v instanceof Uint8Array) && 'symlink' in v;
}

/** A regular file's text ('' is an empty file), undefined when absent or a symlink. */
export function fileText(files: RootFiles, path: string): string | undefined {
  const v = files[path];
  if (v === undefined || isSymlink(v)) return undefined;
  return typeof v === 'string' ? v : Buffer.from(v).toString('utf8');
}

/**
 * KEY=value lines as a POSIX shell assigns them (the inventory and the
 * firstboot data files): 'single', "double" (with \ escapes) and bare values,
 * concatenated ('a'\''b'). Comments and blank lines are skipped; the last
 * assignment wins, as sourcing the file would give. Order of first appearance kept.
 */
export function parseShellVars(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    const m = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line);
    if (!m) continue;
    let value = '';
    const s = m[2]!;
    let i = 0;
    while (i < s.length) {
      const c = s[i]!;
      if (c === "'") {
        const end = s.indexOf("'", i + 1);
        if (end < 0) { value += s.slice(i + 1); break; }
        value += s.slice(i + 1, end);
        i = end + 1;
      } else if (c === '"') {
        i++;
        while (i < s.length && s[i] !== '"') {
          if (s[i] === '\\' && i + 1 < s.length && '"\\$`'.includes(s[i + 1]!)) i++;
          value += s[i];
          i++;
        }
        i++;
      } else if (c === '\\' && i + 1 < s.length) {
        value += s[i + 1];
        i += 2;
      } else if (/\s/.test(c) || c === '#') {
        break; // an unquoted space ends the value; the rest is a comment or another command
      } else {
        value += c;
        i++;
      }
    }
    out.set(m[1]!, value);
  }
  return out;
}

export const INVENTORY_PATH = '/etc/xensource-inventory';

/**
 * The installed product: from the inventory (PRODUCT_BRAND, PRODUCT_VERSION,
 * PLATFORM_NAME, PLATFORM_VERSION, BUILD_NUMBER, SPEC section 3), else from the
 * release file the product's <brand>-release package installs
 * ("XenServer release 7.1.2-137272c (xenenterprise 2.2.0)").
 */
export function readInstalledProduct(files: RootFiles): InstalledProduct | undefined {
  const inv = fileText(files, INVENTORY_PATH);
  if (inv !== undefined) {
    const v = parseShellVars(inv);
    const brand = v.get('PRODUCT_BRAND');
    const version = v.get('PRODUCT_VERSION');
    if (brand && version) {
      return {
        brand, version, buildNumber: v.get('BUILD_NUMBER') ?? '',
        platformName: v.get('PLATFORM_NAME') ?? '', platformVersion: v.get('PLATFORM_VERSION') ?? '',
        source: INVENTORY_PATH,
      };
    }
  }
  const releaseFiles = Object.keys(files).filter((p) => /^\/etc\/[a-z0-9._+]+-release$/.test(p) && !/\/(os|lsb|system|redhat|centos)-release$/.test(p)).sort();
  for (const path of releaseFiles) {
    const m = /^(.+?) release ([^\s-]+)(?:-(\S+))? \((\S+) (\S+)\)\s*$/.exec((fileText(files, path) ?? '').split('\n')[0]!);
    if (m) return { brand: m[1]!, version: m[2]!, buildNumber: m[3] ?? '', platformName: m[4]!, platformVersion: m[5]!, source: path };
  }
  return undefined;
}

export function describeProduct(p: InstalledProduct): string {
  return `${p.brand} ${p.version}${p.buildNumber ? ` (build ${p.buildNumber})` : ''}${p.platformName ? ` on ${p.platformName} ${p.platformVersion}` : ''}`;
}

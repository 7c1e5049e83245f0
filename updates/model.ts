// The update as the builder sees it (a loaded, checked spec), and the pure
// pieces derived from it: the stable uuid, the control package model, the
// installation size, the comps groups, the ISO volume id and the depmod
// scriptlets of driver packages. No I/O here.
import { createHash } from 'node:crypto';
import { kernelUnameRVersion } from '../packages/product.ts';
import type { RpmPackageDef, RpmSpecInput } from '../packages/model.ts';
import type { CompsGroup } from '../repo/comps.ts';
import type { AfterApplyGuidance, UpdateKind } from './schema.ts';

export const DEFAULT_PRODUCT_VERSION = '7.1.2';
export const DEFAULT_PLATFORM_VERSION = '2.2.0';
/** 2022-02-09 00:00:00 UTC, the date of the 7.1 CU2 release notes (seed:109): the default SOURCE_DATE_EPOCH. */
export const DEFAULT_UPDATE_EPOCH = 1_644_364_800;
export const DEFAULT_CONTROL_LICENSE = 'MIT';

/** Where the control package records an applied update: a copy of update.xml (SPEC section 6). */
export const APPLIED_DIR = '/var/update/applied';

export interface UpdateSpec {
  kind: UpdateKind;
  nameLabel: string;
  /** lower case */
  uuid: string;
  version: string;
  description: string;
  guidance: AfterApplyGuidance[];
  /** key name: update.xml key="RPM-GPG-KEY-<key>" */
  key?: string;
  productVersion: string;
  platformVersion: string;
  /** driver disks only: uname -r of the dom0 kernel */
  kernelRelease?: string;
  /** prerequisite updates by name-label */
  requires: string[];
  conflicts: string[];
  /** cumulative updates: the hotfixes they contain */
  rollsUp: { nameLabel: string; version: string }[];
  rolledUpBy?: { nameLabel: string; uuid: string };
  /** cumulative updates: the product version of the CU's base-install ISO (xsforge update rollup) */
  baseInstallProductVersion?: string;
  livepatch: boolean;
  enforceHomogeneity: boolean;
  /** files of installed packages this update deliberately replaces (update.xml <overwrites>); absent or empty: none */
  overwrites?: string[];
  license: string;
  sourceDateEpoch: number;
  /** absolute paths of ready .rpm files */
  rpmFiles: string[];
  /** packages built from models (depmod scriptlets already added for driver disks) */
  packages: RpmPackageDef[];
  /** the spec file, absolute; undefined for specs made in code */
  file?: string;
}

// ---- uuid ----------------------------------------------------------------------

function uuidBytes(uuid: string): Buffer {
  return Buffer.from(uuid.replace(/-/g, ''), 'hex');
}

function formatUuid(b: Buffer): string {
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

/** RFC 4122 version 5 (SHA-1, name-based) UUID of `name` in `namespace`. */
export function uuidV5(namespace: string, name: string): string {
  const h = createHash('sha1').update(uuidBytes(namespace)).update(name, 'utf8').digest().subarray(0, 16);
  h[6] = (h[6] & 0x0f) | 0x50;
  h[8] = (h[8] & 0x3f) | 0x80;
  return formatUuid(Buffer.from(h));
}

/** RFC 4122's URL namespace. */
export const NAMESPACE_URL = '6ba7b811-9dad-11d1-80b4-00c04fd430c8';
/** The namespace of xsforge update uuids: v5 of a fixed URL, so it is written down once. */
export const UPDATE_UUID_NAMESPACE = uuidV5(NAMESPACE_URL, 'https://xsforge.invalid/updates');

/** The uuid of an update that names none: the same name-label and version give the same uuid on every build. */
export function updateUuid(nameLabel: string, version: string): string {
  return uuidV5(UPDATE_UUID_NAMESPACE, `${nameLabel}\n${version}`);
}

// ---- control package -------------------------------------------------------------

/** The capability every control package provides and prerequisites require. */
export function updateCapability(nameLabel: string): string {
  return `xsforge-update(${nameLabel})`;
}

export function controlPackageName(nameLabel: string): string {
  return `control-${nameLabel}`;
}

/** What the control package requires besides its prerequisite updates, by kind (SPEC section 6). */
export function baseRequirement(spec: Pick<UpdateSpec, 'kind' | 'productVersion' | 'platformVersion' | 'kernelRelease'>): string {
  switch (spec.kind) {
    case 'driver-disk':
      if (!spec.kernelRelease) throw new Error('a driver disk needs the dom0 kernel release');
      // the kernel package provides kernel-uname-r with "-" turned into "_" (packages/product.ts)
      return `kernel-uname-r = ${kernelUnameRVersion(spec.kernelRelease)}`;
    case 'supplemental-pack':
      return `platform-version = ${spec.platformVersion}`;
    default:
      return `product-version = ${spec.productVersion}`;
  }
}

/**
 * The control package: installing it is the precheck (its dependencies are the
 * update's prerequisites and conflicts), and it records the update as applied
 * by installing /var/update/applied/<uuid>, a copy of update.xml.
 */
export function controlPackage(spec: UpdateSpec, updateXml: string): RpmSpecInput {
  return {
    name: controlPackageName(spec.nameLabel),
    version: spec.version,
    release: '1',
    summary: `Control package of update ${spec.nameLabel}`,
    license: spec.license,
    arch: 'noarch',
    description: `Records update ${spec.nameLabel} ${spec.version} (${spec.kind}) as applied and carries its prerequisites and conflicts as dependencies.`,
    provides: [
      `${updateCapability(spec.nameLabel)} = ${spec.version}`,
      // hotfixes inside a cumulative update count as applied once it is
      ...spec.rollsUp.map((h) => `${updateCapability(h.nameLabel)} = ${h.version}`),
    ],
    requires: [baseRequirement(spec), ...spec.requires.map(updateCapability)],
    conflicts: spec.conflicts.map(updateCapability),
    obsoletes: [],
    files: [{ from: { text: updateXml }, to: `${APPLIED_DIR}/${spec.uuid}`, mode: 0o644 }],
    // shared with every other control package (rpm allows a directory to have many owners)
    dirs: ['/var/update', APPLIED_DIR],
    scriptlets: {},
  };
}

// ---- installation size ------------------------------------------------------------

/** File-system block the margin rounds each file up to (ext3/ext4 dom0 root). */
export const SIZE_BLOCK = 4096;
/** Fixed headroom: the rpm database's growth and the control package's record. */
export const SIZE_HEADROOM = 1024 * 1024;

/**
 * Bytes of free space the update needs (update.xml installation-size): the
 * installed size of every payload package as its header states it (rpm's SIZE,
 * the sum of its regular files), plus a margin of one block per packaged file
 * or directory (a file occupies whole blocks; a directory takes one) and a
 * fixed 1 MiB for the rpm database and the control package's own record (whose
 * size depends on this number, so it is covered by the headroom, not counted).
 */
export function installationSize(payload: { size: number; files: unknown[] }[]): number {
  let bytes = SIZE_HEADROOM;
  for (const p of payload) bytes += p.size + p.files.length * SIZE_BLOCK;
  return bytes;
}

// ---- repository groups ---------------------------------------------------------------

/** Modules a driver disk ships go here (SPEC section 6). */
export function moduleDir(kernelRelease: string): string {
  return `/lib/modules/${kernelRelease}/updates`;
}

/**
 * comps: `update` installs every payload package and the control package;
 * driver disks also have `drivers` with the packages that carry modules.
 */
export function updateGroups(spec: Pick<UpdateSpec, 'kind' | 'nameLabel'>, payloadNames: string[], modulePackages: string[]): CompsGroup[] {
  const names = [...new Set(payloadNames)].sort();
  const groups: CompsGroup[] = [{
    id: 'update', name: `Update ${spec.nameLabel}`, description: `Every package of ${spec.nameLabel} and its control package`,
    default: true, uservisible: false,
    packages: [...names, controlPackageName(spec.nameLabel)].map((name) => ({ name, type: 'mandatory' as const })),
  }];
  if (spec.kind === 'driver-disk') {
    groups.push({
      id: 'drivers', name: `Drivers of ${spec.nameLabel}`, description: 'The kernel module packages of the driver disk',
      default: true, uservisible: false,
      packages: [...new Set(modulePackages)].sort().map((name) => ({ name, type: 'mandatory' as const })),
    });
  }
  return groups;
}

// ---- driver packages -------------------------------------------------------------------

/** Shell that refreshes module dependencies for one kernel when depmod is there (a chroot or minimal root may lack it). */
export function depmodScript(kernelRelease: string): string {
  return `if command -v depmod >/dev/null 2>&1; then\n  depmod -a ${kernelRelease} || :\nfi`;
}

/** A driver package with depmod after install and after removal (appended to the model's own scriptlets). */
export function withDepmod(pkg: RpmPackageDef, kernelRelease: string): RpmPackageDef {
  const add = (body: string | undefined) => (body?.trim() ? `${body.replace(/\s+$/, '')}\n${depmodScript(kernelRelease)}` : depmodScript(kernelRelease));
  return { ...pkg, scriptlets: { ...pkg.scriptlets, post: add(pkg.scriptlets.post), postun: add(pkg.scriptlets.postun) } };
}

/** Does a package install files under /lib/modules/? (then it is a module package of a driver disk) */
export function shipsModules(paths: string[]): boolean {
  return paths.some((p) => p.startsWith('/lib/modules/'));
}

// ---- ISO ---------------------------------------------------------------------------------

/** ISO 9660 volume id from the name-label: d-characters (A-Z 0-9 _), at most 32. */
export function isoVolumeId(nameLabel: string): string {
  return nameLabel.toUpperCase().replace(/[^A-Z0-9_]/g, '_').slice(0, 32);
}

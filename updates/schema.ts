// The update spec format (one YAML file per supplemental pack, driver disk,
// hotfix or cumulative update), written once: the TypeBox definition is the JSON
// Schema the loader validates with and, via Static<>, the type the builder reads.
// Pure: no I/O here.
import { Type, type Static } from '@sinclair/typebox';
import { RPM_RECIPE_PATTERNS, RpmPackageRecipeSchema } from '../packages/schema.ts';

export const UPDATE_KINDS = ['supplemental-pack', 'driver-disk', 'hotfix', 'cumulative-update'] as const;
export type UpdateKind = typeof UPDATE_KINDS[number];

/** xapi's after-apply-guidance values (SPEC section 6). */
export const AFTER_APPLY_GUIDANCE = ['restartHVM', 'restartPV', 'restartHost', 'restartXAPI'] as const;
export type AfterApplyGuidance = typeof AFTER_APPLY_GUIDANCE[number];

/** Patterns of the update spec, with words for error messages. */
export const UPDATE_PATTERNS = {
  // becomes the RPM name control-<name-label>, a dependency name xsforge-update(<name-label>) and a file name
  nameLabel: { regex: '^[A-Za-z0-9][A-Za-z0-9._+-]*$', words: 'an update name: letters, digits, ".", "_", "+" and "-" (e.g. XS71ECU2001)' },
  uuid: { regex: '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$', words: 'a UUID such as 3f6e4c2a-8d1b-5e7f-9a0b-1c2d3e4f5a6b' },
  // the control package's RPM version: rpm's rules
  updateVersion: { regex: RPM_RECIPE_PATTERNS.rpmVersion.regex, words: 'an update version: letters, digits, ".", "_", "+" and "~", no "-" (e.g. 1.0)' },
  dottedVersion: { regex: '^[0-9]+(\\.[0-9]+)*$', words: 'a version of dot-separated numbers (e.g. 7.1.2)' },
  // uname -r of the dom0 kernel (Debian: 6.1.0-28-amd64)
  kernelRelease: { regex: '^[A-Za-z0-9][A-Za-z0-9._+~-]*$', words: 'a kernel release as uname -r prints it (e.g. 6.1.0-28-amd64)' },
  keyName: { regex: '^[A-Za-z0-9][A-Za-z0-9._-]*$', words: 'a key name: letters, digits, ".", "_" and "-" (update.xml says key="RPM-GPG-KEY-<name>"; e.g. XS-7)' },
  rpmFile: { regex: '^(?!/)[^\\r\\n]+\\.rpm$', words: 'a path to an .rpm file relative to this spec (e.g. rpms/foo-1.0-1.noarch.rpm)' },
  oneLine: { regex: '^[^\\r\\n]+$', words: 'non-empty text on a single line' },
  // a path as rpm prints it in a file conflict: absolute, normalised, no "." or ".." parts, no control characters
  absolutePath: { regex: '^(?!.*/\\.{1,2}(/|$))(/[^/\\x00-\\x1f\\x7f]+)+$', words: 'an absolute file path without "." or ".." parts, "//" or a trailing "/" (e.g. /usr/sbin/xsforge-update)' },
} as const;

const Pat = (p: keyof typeof UPDATE_PATTERNS, description: string) =>
  Type.String({ pattern: UPDATE_PATTERNS[p].regex, description });
const Strict = { additionalProperties: false } as const;
function StringEnum<const T extends readonly string[]>(values: T, description: string) {
  return Type.Unsafe<T[number]>({ type: 'string', enum: [...values], description });
}

export const UPDATE_SPEC_SCHEMA = Type.Object({
  kind: StringEnum(UPDATE_KINDS, 'what the update is: supplemental-pack, driver-disk, hotfix or cumulative-update'),
  name_label: Pat('nameLabel', 'the update\'s name (update.xml name-label); the ISO is <name_label>.iso and its control package control-<name_label>'),
  uuid: Type.Optional(Pat('uuid', 'default: derived from name_label and version (a name-based UUID, the same every build)')),
  version: Pat('updateVersion', 'the update\'s version (update.xml version, the control package\'s RPM version)'),
  description: Type.String({ pattern: '\\S', description: 'update.xml <name-description>; not empty' }),
  after_apply_guidance: Type.Optional(Type.Array(StringEnum(AFTER_APPLY_GUIDANCE, 'what to do once applied'), { uniqueItems: true, description: 'restartHVM, restartPV, restartHost, restartXAPI; default none' })),
  key: Type.Optional(Pat('keyName', 'the signing key\'s name: update.xml key="RPM-GPG-KEY-<key>" and the public key file /RPM-GPG-KEY-<key> on the ISO')),
  product_version: Type.Optional(Pat('dottedVersion', 'hotfixes and cumulative updates require product-version = this; default 7.1.2')),
  platform_version: Type.Optional(Pat('dottedVersion', 'supplemental packs require platform-version = this; default 2.2.0')),
  kernel_release: Type.Optional(Pat('kernelRelease', 'driver disks: the dom0 kernel release (uname -r) the modules are for; required for kind driver-disk')),
  requires: Type.Optional(Type.Array(Pat('nameLabel', 'a prerequisite update'), { uniqueItems: true, description: 'updates that must be applied first, by name-label (e.g. the previous cumulative update)' })),
  conflicts: Type.Optional(Type.Array(Pat('nameLabel', 'an update that must not be applied'), { uniqueItems: true, description: 'updates this one cannot be applied with, by name-label' })),
  rolls_up: Type.Optional(Type.Array(Type.Object({
    name_label: Pat('nameLabel', 'a hotfix this cumulative update contains'),
    version: Pat('updateVersion', 'the hotfix\'s version'),
  }, Strict), { description: 'cumulative updates: the hotfixes they contain; the control package provides each, so they count as applied' })),
  rolled_up_by: Type.Optional(Type.Object({
    name_label: Pat('nameLabel', 'the cumulative update that contains this update'),
    uuid: Type.Optional(Pat('uuid', 'its uuid')),
    version: Type.Optional(Pat('updateVersion', 'its version (to derive the uuid when none is given)')),
  }, { ...Strict, description: 'update.xml <rolled-up-by>: give uuid, or version to derive it' })),
  livepatch: Type.Optional(Type.Boolean({ description: 'the update can be applied as a live patch (update.xml livepatch="true"); default false' })),
  enforce_homogeneity: Type.Optional(Type.Boolean({ description: 'every host of a pool must have it (update.xml enforce-homogeneity); default false' })),
  license: Type.Optional(Pat('oneLine', 'licence tag of the control package; default MIT')),
  source_date_epoch: Type.Optional(Type.Integer({ minimum: 86400, description: 'SOURCE_DATE_EPOCH of the build (seconds); default 1644364800 (2022-02-09, the CU2 release notes date)' })),
  base_install_product_version: Type.Optional(Type.String({ pattern: '^[0-9]+\\.[0-9]+\\.[0-9]+$', description: 'cumulative updates made by `xsforge update rollup`: the product version of the CU\'s base-install ISO (its xenserver-release and .treeinfo [branding] version), x.y.z, e.g. 7.1.3; default: the base recipe\'s' })),
  overwrites: Type.Optional(Type.Array(Pat('absolutePath', 'a file of an installed package this update may replace'), { uniqueItems: true, description: 'files owned by installed (product) packages that this update\'s packages deliberately replace (rpm --replacefiles, used only when every conflicting file is listed); a file conflict with any other path refuses the update; default none' })),
  rpms: Type.Optional(Type.Object({
    files: Type.Optional(Type.Array(Pat('rpmFile', 'a built package'), { uniqueItems: true, description: 'ready .rpm files, relative to this spec' })),
    packages: Type.Optional(Type.Array(RpmPackageRecipeSchema, { description: 'packages built from inline models (the recipe\'s rpms form)' })),
  }, { ...Strict, description: 'the payload: .rpm files and/or package models; at least one package in all (a cumulative update given to `xsforge update rollup` may have none: its payload comes from the hotfixes)' })),
}, { ...Strict, description: 'an update: supplemental pack, driver disk, hotfix or cumulative update' });

export type UpdateSpecDocument = Static<typeof UPDATE_SPEC_SCHEMA>;

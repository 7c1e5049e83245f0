// The recipe's `hypervisor:` section (TypeBox), for recipes/schema.ts to plug in,
// and the one function that turns that section into the hypervisor stage.
// Patterns are listed with words, like recipes/schema.ts PATTERNS, so the
// loader can say what was expected.
import { Type, type Static } from '@sinclair/typebox';
import { isAbsolute, resolve } from 'node:path';
import { XsforgeError } from '../core/errors.ts';
import type { Stage } from '../core/stage.ts';
import type { AptRoot } from '../debian/apt.ts';
import { prebuiltXenStage } from './prebuilt.ts';
import { basename } from 'node:path';
import { compiledXenStage, xenDirectory, xenSourceVersion } from './source.ts';

export const HYPERVISOR_SOURCES = ['debian-package', 'debian-source', 'tarball', 'directory'] as const;

export const HYPERVISOR_PATTERNS = {
  kconfigOption: { regex: '^CONFIG_[A-Za-z0-9_]+$', words: 'a Kconfig option name such as CONFIG_XSM' },
  makeVariable: { regex: '^[A-Za-z_][A-Za-z0-9_]*$', words: 'a make variable name: letters, digits and "_" (e.g. XEN_VENDORVERSION)' },
  // these end up in sed replacements of Xen's compile.h rule: no "/", "\", "&" or ","
  bannerWord: { regex: '^[A-Za-z0-9][A-Za-z0-9._+-]*$', words: 'letters, digits, ".", "_", "+" and "-" (e.g. example.com)' },
  sourceVersion: { regex: '^[A-Za-z0-9.+~:-]+$', words: 'a Debian version (e.g. 4.17.5+72-g01140da4e8-1)' },
  debianPackage: { regex: '^[a-z0-9][a-z0-9+.-]+$', words: 'a Debian package name (e.g. xen-hypervisor-4.17-amd64, or xen for the source package)' },
  relativePath: { regex: '^(?!/)[^\\r\\n]+$', words: 'a path relative to this recipe file (e.g. patches/xen/0001-banner.patch)' },
  sha256: { regex: '^[0-9a-f]{64}$', words: 'a sha256 digest: 64 lowercase hex digits (what sha256sum prints)' },
} as const;

const Pat = (p: keyof typeof HYPERVISOR_PATTERNS, description: string) =>
  Type.String({ pattern: HYPERVISOR_PATTERNS[p].regex, description });

export const KconfigValueSchema = Type.Union([
  Type.String({ description: 'y, n or m for bool/tristate options, 0x... for hex options, any other text for string options' }),
  Type.Integer({ description: 'value of an int option' }),
]);

export const HypervisorSchema = Type.Object({
  source: Type.Unsafe<(typeof HYPERVISOR_SOURCES)[number]>({
    type: 'string', enum: [...HYPERVISOR_SOURCES],
    description: 'where the Xen hypervisor comes from: debian-package takes xen.gz from a Debian binary package; debian-source compiles it from a Debian source package; '
      + 'tarball compiles a .tar.gz/.tar.xz/.tar.bz2 of a Xen source tree (checked against sha256); directory compiles an unpacked tree (e.g. a git checkout; .git is ignored)',
  }),
  package: Type.Optional(Pat('debianPackage', 'debian-package: the binary package holding xen.gz; debian-source: the source package (xen)')),
  version: Type.Optional(Pat('sourceVersion', 'debian-source: exact source version to build; default: the version in the index')),
  path: Type.Optional(Pat('relativePath', 'tarball: the tarball file; directory: the top of the tree (holding xen/); relative to the recipe file')),
  sha256: Type.Optional(Pat('sha256', 'tarball: the sha256 the tarball must have; the build refuses any other file')),
  config: Type.Optional(Type.Record(Type.String({ pattern: HYPERVISOR_PATTERNS.kconfigOption.regex }), KconfigValueSchema, {
    additionalProperties: false,
    description: 'compiled sources: Kconfig fragment merged onto defconfig; every setting must survive olddefconfig or the build fails naming it',
  })),
  patches: Type.Optional(Type.Array(Pat('relativePath', 'patch file (patch -p1), relative to the recipe file that names it'), {
    uniqueItems: true, description: 'compiled sources: patches applied in order (for debian-source after Debian\'s own series)',
  })),
  make: Type.Optional(Type.Record(Type.String({ pattern: HYPERVISOR_PATTERNS.makeVariable.regex }), Type.String(), {
    additionalProperties: false,
    description: 'compiled sources: extra make variables (VAR: value), given after and so overriding xsforge\'s own',
  })),
  domain: Type.Optional(Pat('bannerWord', 'compiled sources: the part after "xsforge@" in the boot banner (XEN_DOMAIN); default xsforge')),
  distribution: Type.Optional(Pat('bannerWord', 'compiled sources: the distribution word in the boot banner of a Debian-patched tree (an upstream tree prints none); default xsforge')),
}, { additionalProperties: false, description: 'the Xen hypervisor put on the media as boot/xen.gz' });

export type HypervisorSection = Static<typeof HypervisorSchema>;
type Source = HypervisorSection['source'];
type Field = Exclude<keyof HypervisorSection, 'source'>;

const COMPILE = ['config', 'patches', 'make', 'domain', 'distribution'] as const;
/** The fields each source reads, and those it cannot do without. */
const FIELDS: Record<Source, { allowed: readonly Field[]; required: readonly Field[] }> = {
  'debian-package': { allowed: ['package'], required: ['package'] },
  'debian-source': { allowed: ['package', 'version', ...COMPILE], required: ['package'] },
  tarball: { allowed: ['path', 'sha256', ...COMPILE], required: ['path', 'sha256'] },
  directory: { allowed: ['path', ...COMPILE], required: ['path'] },
};

const READERS = (field: Field) => HYPERVISOR_SOURCES.filter((s) => FIELDS[s].allowed.includes(field));
const NOT_APPLICABLE_WHY: Partial<Record<Source, Partial<Record<Field, string>>>> = {
  directory: { sha256: 'the tree digest names a directory source' },
};
const REQUIRED_WHY: Partial<Record<Field, string>> = {
  sha256: 'the build refuses a tarball with another digest (sha256sum prints it)',
};

const orList = (xs: readonly string[]) => (xs.length < 2 ? xs.join('') : `${xs.slice(0, -1).join(', ')} or ${xs[xs.length - 1]}`);

/** What the schema cannot say: fields a source does not read, and fields it needs. Pure; messages name the field. */
export function hypervisorSectionErrors(section: HypervisorSection): { path: string; message: string }[] {
  // an unknown source is the schema's error to report; nothing more to say here
  if (!Object.prototype.hasOwnProperty.call(FIELDS, section.source)) return [];
  const { allowed, required } = FIELDS[section.source];
  const errors: { path: string; message: string }[] = [];
  for (const k of Object.keys(section) as (keyof HypervisorSection)[]) {
    if (k === 'source' || section[k] === undefined || allowed.includes(k)) continue;
    const readers = READERS(k);
    const why = NOT_APPLICABLE_WHY[section.source]?.[k];
    errors.push({ path: `hypervisor.${k}`,
      message: `'${k}' applies to source: ${orList(readers)} only (this recipe has source: ${section.source}${why ? `; ${why}` : ''})` });
  }
  for (const k of required) {
    if (section[k] === undefined) {
      const why = REQUIRED_WHY[k];
      errors.push({ path: `hypervisor.${k}`, message: `source: ${section.source} needs '${k}'${why ? ` (${why})` : ''}` });
    }
  }
  return errors;
}

/**
 * The `hypervisor` stage for a recipe section. Relative patch paths and
 * hypervisor.path are taken against baseDir (the loader should resolve them
 * per recipe file, like product.eula, so an `extends` chain keeps each file's
 * own base). A directory source is digested here (its tree digest is the key).
 */
export async function hypervisorStage(section: HypervisorSection, opts: { apt: AptRoot; baseDir: string; refreshIndex?: boolean }): Promise<Stage<any>> {
  const errors = hypervisorSectionErrors(section);
  if (errors.length) throw new XsforgeError(errors.map((e) => `${e.path}: ${e.message}`).join('\n'));
  const { apt } = opts;
  const abs = (p: string) => (isAbsolute(p) ? p : resolve(opts.baseDir, p));
  if (section.source === 'debian-package') {
    const [pkg] = await apt.resolve([section.package!]);
    return prebuiltXenStage(apt, pkg);
  }
  const settings = {
    config: section.config,
    patches: (section.patches ?? []).map(abs),
    make: section.make,
    domain: section.domain,
    distribution: section.distribution,
  };
  if (section.source === 'tarball') return compiledXenStage({ tarball: { path: abs(section.path!), sha256: section.sha256! }, ...settings });
  if (section.source === 'directory') return compiledXenStage({ directory: await xenDirectory(abs(section.path!)), ...settings });
  await apt.ensureSourceIndex(opts.refreshIndex);
  const source = await apt.resolveSource(section.package!, section.version);
  return compiledXenStage({ apt, source, ...settings });
}

/**
 * Where the hypervisor of a section comes from, as a name and a version the
 * rest of the build can print and derive the Xen release from: the Debian
 * package (binary or source) and its version, or for a tarball/directory its
 * file or folder name and the release in its xen/Makefile ("4.17.5").
 */
export async function hypervisorOrigin(section: HypervisorSection, opts: { apt: AptRoot; baseDir: string }): Promise<{ name: string; version: string; compiled: boolean }> {
  const abs = (p: string) => (isAbsolute(p) ? p : resolve(opts.baseDir, p));
  switch (section.source) {
    case 'debian-package': {
      const [pkg] = await opts.apt.resolve([section.package!]);
      return { name: pkg.name, version: pkg.version, compiled: false };
    }
    case 'debian-source': {
      const src = await opts.apt.resolveSource(section.package!, section.version);
      return { name: `${src.name} (source)`, version: src.version, compiled: true };
    }
    case 'tarball':
      return { name: basename(section.path!), version: await xenSourceVersion({ tarball: abs(section.path!) }), compiled: true };
    case 'directory':
      return { name: `${basename(abs(section.path!))} (directory)`, version: await xenSourceVersion({ directory: abs(section.path!) }), compiled: true };
  }
}

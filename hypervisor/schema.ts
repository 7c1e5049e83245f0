// The recipe's `hypervisor:` section (TypeBox), for recipes/schema.ts to plug in,
// and the one function that turns that section into the hypervisor stage.
// Patterns are listed with words, like recipes/schema.ts PATTERNS, so the
// loader can say what was expected.
import { Type, type Static } from '@sinclair/typebox';
import { isAbsolute, resolve } from 'node:path';
import type { Stage } from '../core/stage.ts';
import type { AptRoot } from '../debian/apt.ts';
import { prebuiltXenStage } from './prebuilt.ts';
import { compiledXenStage } from './source.ts';

export const HYPERVISOR_SOURCES = ['debian-package', 'debian-source'] as const;

export const HYPERVISOR_PATTERNS = {
  kconfigOption: { regex: '^CONFIG_[A-Za-z0-9_]+$', words: 'a Kconfig option name such as CONFIG_XSM' },
  makeVariable: { regex: '^[A-Za-z_][A-Za-z0-9_]*$', words: 'a make variable name: letters, digits and "_" (e.g. XEN_VENDORVERSION)' },
  // these end up in sed replacements of Xen's compile.h rule: no "/", "\", "&" or ","
  bannerWord: { regex: '^[A-Za-z0-9][A-Za-z0-9._+-]*$', words: 'letters, digits, ".", "_", "+" and "-" (e.g. example.com)' },
  sourceVersion: { regex: '^[A-Za-z0-9.+~:-]+$', words: 'a Debian version (e.g. 4.17.5+72-g01140da4e8-1)' },
  debianPackage: { regex: '^[a-z0-9][a-z0-9+.-]+$', words: 'a Debian package name (e.g. xen-hypervisor-4.17-amd64, or xen for the source package)' },
  relativePath: { regex: '^(?!/)[^\\r\\n]+$', words: 'a path relative to this recipe file (e.g. patches/xen/0001-banner.patch)' },
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
    description: 'where the Xen hypervisor comes from: debian-package takes xen.gz from a Debian binary package; debian-source compiles it from a Debian source package',
  }),
  package: Pat('debianPackage', 'debian-package: the binary package holding xen.gz; debian-source: the source package (xen)'),
  version: Type.Optional(Pat('sourceVersion', 'debian-source: exact source version to build; default: the version in the index')),
  config: Type.Optional(Type.Record(Type.String({ pattern: HYPERVISOR_PATTERNS.kconfigOption.regex }), KconfigValueSchema, {
    additionalProperties: false,
    description: 'debian-source: Kconfig fragment merged onto defconfig; every setting must survive olddefconfig or the build fails naming it',
  })),
  patches: Type.Optional(Type.Array(Pat('relativePath', 'patch file (patch -p1), relative to the recipe file that names it'), {
    uniqueItems: true, description: 'debian-source: patches applied in order after Debian\'s own series',
  })),
  make: Type.Optional(Type.Record(Type.String({ pattern: HYPERVISOR_PATTERNS.makeVariable.regex }), Type.String(), {
    additionalProperties: false,
    description: 'debian-source: extra make variables (VAR: value), given after and so overriding xsforge\'s own',
  })),
  domain: Type.Optional(Pat('bannerWord', 'debian-source: the part after "xsforge@" in the boot banner (XEN_DOMAIN); default xsforge')),
  distribution: Type.Optional(Pat('bannerWord', 'debian-source: the distribution word in the boot banner; default xsforge')),
}, { additionalProperties: false, description: 'the Xen hypervisor put on the media as boot/xen.gz' });

export type HypervisorSection = Static<typeof HypervisorSchema>;

const SOURCE_ONLY = ['version', 'config', 'patches', 'make', 'domain', 'distribution'] as const;

/** What the schema cannot say: fields that only debian-source reads. Pure; messages name the field. */
export function hypervisorSectionErrors(section: HypervisorSection): { path: string; message: string }[] {
  if (section.source === 'debian-source') return [];
  return SOURCE_ONLY.filter((k) => section[k] !== undefined)
    .map((k) => ({ path: `hypervisor.${k}`, message: `'${k}' applies to source: debian-source only (this recipe has source: ${section.source})` }));
}

/**
 * The `hypervisor` stage for a recipe section. Relative patch paths are taken
 * against baseDir (the loader should resolve them per recipe file, like
 * product.eula, so an `extends` chain keeps each file's own base).
 */
export async function hypervisorStage(section: HypervisorSection, opts: { apt: AptRoot; baseDir: string; refreshIndex?: boolean }): Promise<Stage<any>> {
  const { apt } = opts;
  if (section.source === 'debian-package') {
    const [pkg] = await apt.resolve([section.package]);
    return prebuiltXenStage(apt, pkg);
  }
  await apt.ensureSourceIndex(opts.refreshIndex);
  const source = await apt.resolveSource(section.package, section.version);
  return compiledXenStage({
    apt, source,
    config: section.config,
    patches: (section.patches ?? []).map((p) => (isAbsolute(p) ? p : resolve(opts.baseDir, p))),
    make: section.make,
    domain: section.domain,
    distribution: section.distribution,
  });
}

// The recipe format, written once: the TypeBox definition below is both the
// JSON Schema the loader validates with (and the CLI prints) and, via Static<>,
// the `Recipe` type the rest of the code reads. Pure: no I/O here.
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { RpmPackageRecipeSchema } from '../packages/schema.ts';
import { HYPERVISOR_SOURCES, HypervisorSchema } from '../hypervisor/schema.ts';
import { DOM0_MEM_PATTERN, HOST_ARG_PATTERN, SERIAL_BAUD_RATES, SERIAL_PORTS, VCPUS_PATTERN } from '../target/boot-args.ts';

/**
 * Every pattern the schema uses, with the format said in words: ajv only knows
 * "must match pattern ^...$", which helps nobody, so the loader looks the regex
 * up here to tell the user what was expected.
 */
export const PATTERNS = {
  name: { regex: '^[a-z0-9][a-z0-9._-]*$', words: 'lowercase letters, digits, ".", "_" and "-", starting with a letter or digit (e.g. xenserver-7.1.2)' },
  version: { regex: '^[0-9]+\\.[0-9]+\\.[0-9]+$', words: 'a version of three numbers x.y.z (e.g. 7.1.2)' },
  buildNumber: { regex: '^[A-Za-z0-9._-]+$', words: 'letters, digits, ".", "_" and "-" only (e.g. 137272c)' },
  oneLine: { regex: '^[^\\r\\n]+$', words: 'non-empty text on a single line' },
  volumeId: { regex: '^[A-Z0-9_-]{1,32}$', words: '1 to 32 characters from A-Z, 0-9, "_" and "-" (uppercase, e.g. XS712)' },
  relativePath: { regex: '^(?!/)[^\\r\\n]+$', words: 'a path relative to this recipe file (e.g. EULA.txt)' },
  mirror: { regex: '^(https?|file)://[^\\s]+$', words: 'an http://, https:// or file:// URL of a Debian archive (e.g. http://deb.debian.org/debian)' },
  suite: { regex: '^[a-z]+(-[a-z]+)*$', words: 'a Debian suite or codename in lowercase (e.g. bookworm, bookworm-backports)' },
  component: { regex: '^[a-z][a-z0-9-]*$', words: 'a Debian archive component (e.g. main, contrib, non-free-firmware)' },
  debianPackage: { regex: '^[a-z0-9][a-z0-9+.-]+$', words: 'a Debian package name: lowercase letters, digits, "+", "-" and ".", at least 2 characters (e.g. xen-hypervisor-4.17-amd64)' },
  moduleGlob: { regex: '^(?!/)(?!.*(^|/)\\.\\.(/|$))[A-Za-z0-9_.*?\\[\\]/+-]+$', words: 'a path or glob under /lib/modules/<version>/, without a leading "/" or ".." (e.g. kernel/drivers/ata)' },
  dom0Mem: { regex: DOM0_MEM_PATTERN, words: 'a Xen dom0_mem size such as 1024M, optionally with min:/max: limits (e.g. 1024M,max:1024M)' },
  vcpus: { regex: VCPUS_PATTERN, words: 'a count N or a range N-M (e.g. 1-2)' },
  kernelArg: { regex: '^[^\\s]+$', words: 'a single command-line argument without spaces (e.g. loglvl=all)' },
  hostXenArg: { regex: HOST_ARG_PATTERN, words: 'a single Xen argument of letters, digits and _@%+=:,./- (it also goes on the installed host\'s grub.cfg, e.g. loglvl=all)' },
  menuLabel: { regex: '^[a-z0-9-]+$', words: 'lowercase letters, digits and "-" (e.g. no-serial)' },
  rpmOrDebName: { regex: '^[A-Za-z0-9_+][A-Za-z0-9._+-]*$', words: 'a package name: letters, digits, ".", "_", "+" and "-"' },
  repoId: { regex: '^[A-Za-z0-9][A-Za-z0-9._:-]*$', words: 'letters, digits, ".", "_", ":" and "-" (e.g. xenserver_base)' },
  httpUrl: { regex: '^https?://[^\\s]+$', words: 'an http:// or https:// URL' },
  keyName: { regex: '^[A-Za-z0-9][A-Za-z0-9._-]*$', words: 'letters, digits, ".", "_" and "-" (e.g. XS-7)' },
} as const;

/** The labels of the built-in boot menu (SPEC section 1), used when a recipe gives no `boot.entries`. */
export const DEFAULT_MENU_LABELS = ['install', 'no-serial', 'safe', 'multipath', 'shell'] as const;

export const DOM0_PROVIDERS = ['debian', 'rpm'] as const;
export const INSTALLER_COMPRESSIONS = ['zstd', 'gzip', 'xz'] as const;
export { HYPERVISOR_SOURCES };

const Pat = (p: keyof typeof PATTERNS, description: string, extra: Record<string, unknown> = {}) =>
  Type.String({ pattern: PATTERNS[p].regex, description, ...extra });

// A plain `enum` keyword rather than TypeBox's union of literals (anyOf of
// consts), so ajv reports one "must be one of" error instead of one per value.
function StringEnum<const T extends readonly string[]>(values: T, description: string) {
  return Type.Unsafe<T[number]>({ type: 'string', enum: [...values], description });
}
function IntegerEnum<const T extends readonly number[]>(values: T, description: string) {
  return Type.Unsafe<T[number]>({ type: 'integer', enum: [...values], description });
}

const Strict = { additionalProperties: false } as const;

const KernelArgs = (description: string) =>
  Type.Array(Pat('kernelArg', 'one command-line argument'), { description });

export const MenuEntrySchema = Type.Object({
  label: Pat('menuLabel', 'menu label, used by `boot.default` and typed at the isolinux boot: prompt'),
  title: Pat('oneLine', 'text shown in the boot menu'),
  xen_args: KernelArgs('arguments for the Xen hypervisor (after the recipe-wide boot.xen settings)'),
  dom0_args: KernelArgs('arguments for the dom0/installer kernel (before the recipe-wide boot.dom0.extra)'),
  serial: Type.Optional(Type.Boolean({ description: 'whether the entry uses the serial console (boot.serial) as well as VGA; default true' })),
}, { ...Strict, description: 'one boot menu entry; isolinux.cfg, grub.cfg and pxelinux files are renderings of these' });

export const RecipeSchema = Type.Object({
  name: Pat('name', 'recipe name; results go to output/<name>/'),
  extends: Type.Optional(Type.String({ minLength: 1, description: 'another recipe file, relative to this one, to start from: objects are deep-merged (this file wins), arrays and scalars are replaced' })),
  description: Type.Optional(Type.String({ description: 'free text about what this recipe builds' })),
  source_date_epoch: Type.Integer({ minimum: 0, maximum: 253402300799, description: 'seconds since 1970-01-01 UTC used for every timestamp in the output; the SOURCE_DATE_EPOCH environment variable overrides it' }),
  product: Type.Object({
    brand: Pat('oneLine', 'product brand (.treeinfo [branding] name, inventory PRODUCT_BRAND), e.g. XenServer'),
    version: Pat('version', 'product version x.y.z (.treeinfo [branding] version, PRODUCT_VERSION)'),
    build_number: Pat('buildNumber', 'build id (.treeinfo [build] number, BUILD_NUMBER); a string, quote it when it is all digits'),
    platform: Type.Object({
      name: Pat('oneLine', 'platform name (.treeinfo [platform] name), e.g. XCP'),
      version: Pat('version', 'platform version x.y.z (.treeinfo [platform] version, PLATFORM_VERSION)'),
    }, { ...Strict, description: 'the platform the product is built on' }),
    volume_id: Pat('volumeId', 'ISO 9660 volume id of the install ISO'),
    eula: Type.Optional(Pat('relativePath', 'licence text file, relative to the recipe file that names it; copied to the ISO as EULA. The loader returns it as an absolute path')),
  }, { ...Strict, description: 'product identity, written into .treeinfo, the inventory and the ISO label' }),
  debian: Type.Object({
    mirror: Pat('mirror', 'Debian archive URL'),
    suite: Pat('suite', 'Debian suite or codename'),
    components: Type.Array(Pat('component', 'archive component'), { minItems: 1, uniqueItems: true, description: 'archive components to use' }),
  }, { ...Strict, description: 'where Debian packages (installer, dom0, kernel) come from' }),
  hypervisor: HypervisorSchema,
  kernel: Type.Object({
    package: Pat('debianPackage', 'Debian package holding the kernel and its modules'),
  }, { ...Strict, description: 'the dom0/installer kernel put on the media as boot/vmlinuz' }),
  installer: Type.Object({
    packages: Type.Array(Pat('debianPackage', 'Debian package name'), { uniqueItems: true, description: 'Debian packages in install.img, besides the built-in base set' }),
    compression: StringEnum(INSTALLER_COMPRESSIONS, 'compression of the install.img cpio archive'),
    modules: Type.Optional(Type.Array(Pat('moduleGlob', 'module directory or glob'), { uniqueItems: true, description: 'kernel module directories/globs (under /lib/modules/<version>/) kept in install.img, plus what they depend on; default: a curated set for storage, file systems and common NICs (installer/install-img.ts DEFAULT_MODULE_DIRS)' })),
  }, { ...Strict, description: 'the installer initramfs, install.img' }),
  boot: Type.Object({
    timeout: Type.Integer({ minimum: 0, maximum: 600, description: 'boot menu timeout in tenths of a second (isolinux units); 0 waits forever' }),
    default: Pat('menuLabel', 'label of the entry booted when the timeout runs out'),
    serial: Type.Object({
      port: StringEnum(SERIAL_PORTS, 'serial port used by Xen and the installer'),
      baud: IntegerEnum(SERIAL_BAUD_RATES, 'serial line speed'),
    }, { ...Strict, description: 'serial console (Xen comN=<baud>,8n1 console=comN,vga) of the installer and of the installed host' }),
    xen: Type.Object({
      dom0_mem: Pat('dom0Mem', 'Xen dom0_mem= (memory given to dom0)'),
      dom0_max_vcpus: Pat('vcpus', 'Xen dom0_max_vcpus='),
      extra: Type.Optional(Type.Array(Pat('hostXenArg', 'one Xen argument'), { description: 'extra Xen arguments appended to every entry, and to the installed host\'s boot line' })),
    }, { ...Strict, description: 'hypervisor command line shared by all entries; the media carry it to the installed host (.treeinfo [xsforge-boot])' }),
    dom0: Type.Optional(Type.Object({
      extra: Type.Optional(KernelArgs('extra dom0 kernel arguments appended to every entry')),
    }, { ...Strict, description: 'dom0/installer kernel command line shared by all entries' })),
    entries: Type.Optional(Type.Array(MenuEntrySchema, { minItems: 1, description: 'the boot menu; when absent the built-in entries install, no-serial, safe, multipath and shell are used' })),
  }, { ...Strict, description: 'boot menus of the ISO and of network boot' }),
  dom0: Type.Optional(Type.Object({
    provider: StringEnum(DOM0_PROVIDERS, 'how the dom0 root image is assembled: debian (mmdebstrap from the recipe\'s Debian archive) or rpm (dnf --installroot from yum repositories)'),
    packages: Type.Optional(Type.Array(Pat('rpmOrDebName', 'package name'), { uniqueItems: true, description: 'packages besides the built-in set (debian) or besides the groups (rpm)' })),
    repositories: Type.Optional(Type.Array(Type.Object({
      name: Pat('repoId', 'dnf repository id'),
      path: Type.Optional(Pat('relativePath', 'a local directory holding repodata/, relative to the recipe file')),
      url: Type.Optional(Pat('httpUrl', 'http(s):// URL of the directory holding repodata/')),
      build: Type.Optional(Type.Boolean({ description: 'true: the product repository this build makes (the media\'s Packages/ and repodata/)' })),
      gpgkey: Type.Optional(Type.Array(Pat('relativePath', 'ASCII-armoured public key file, relative to the recipe file'), { description: 'keys that sign the repository; any key turns on gpgcheck' })),
      repo_gpgcheck: Type.Optional(Type.Boolean({ description: 'also check repomd.xml.asc (default: true when keys are given)' })),
    }, { ...Strict, description: 'one yum repository: exactly one of path, url or build' }), { minItems: 1, description: 'rpm: the repositories dnf installs from' })),
    groups: Type.Optional(Type.Array(Pat('repoId', 'comps group id'), { uniqueItems: true, description: 'rpm: comps groups to install (e.g. xenserver_base, xenserver_dom0)' })),
    releasever: Type.Optional(Pat('oneLine', 'rpm: dnf $releasever (default "1")')),
    nodocs: Type.Optional(Type.Boolean({ description: 'rpm: leave out documentation files' })),
  }, { ...Strict, description: 'the dom0 root image the installer lays down; absent: Debian packages (mmdebstrap)' })),
  repository: Type.Optional(Type.Object({
    key_name: Pat('keyName', 'the public key on the media and in the key package: RPM-GPG-KEY-<key_name>, named in .treeinfo [keys]'),
    sign_key: Type.Optional(Pat('oneLine', 'the gpg key (id, fingerprint or user id in $GNUPGHOME or ~/.gnupg) that signs the RPMs and repodata/repomd.xml; `xsforge build --sign-key` overrides it; absent: an unsigned build')),
  }, { ...Strict, description: 'the yum repository of product RPMs on the media (Packages/, repodata/)' })),
  updates: Type.Optional(Type.Object({
    include: Type.Array(Pat('relativePath', 'an update ISO\'s tree: the directory `xsforge update build` writes beside DIR/<name-label>.iso'), { minItems: 1, uniqueItems: true, description: 'updates the media carries applied, in the order they apply (e.g. the cumulative updates of a CU base-install ISO): every package of their Packages/ joins the repository and the xenserver_dom0 group, so a fresh install records them in /var/update/applied; of packages with one name the newest build is kept. Paths are relative to the recipe file that lists them' }),
    product_version: Type.Optional(Pat('version', 'the product version the included updates bring the media to (xenserver-release, its product-version, and .treeinfo [branding] version), e.g. 7.1.3; the release package still provides product-version = product.version, which the included updates require. install.img, the dom0 image and the boot menus keep product.version')),
  }, { ...Strict, description: 'updates built into the media (a cumulative update\'s base-install ISO; `xsforge update rollup` writes such a recipe)' })),
  rpms: Type.Optional(Type.Array(RpmPackageRecipeSchema, { description: 'more product RPMs, besides the built-in ones (hypervisor, kernel, release, first boot, keys); files come from build stages ({stage, path}), files next to the recipe ({repo}) or inline text ({text})' })),
}, { ...Strict, title: 'xsforge recipe', description: 'what xsforge builds: one YAML file, optionally extending another' });

export type Recipe = Static<typeof RecipeSchema>;
export type MenuEntry = Static<typeof MenuEntrySchema>;

/** The recipe schema as a plain JSON Schema object (TypeBox's symbol keys dropped), for ajv and for printing. */
export const RECIPE_SCHEMA: Record<string, unknown> = toPlainJson(RecipeSchema);

function toPlainJson(schema: TSchema): Record<string, unknown> {
  return { $schema: 'http://json-schema.org/draft-07/schema#', ...JSON.parse(JSON.stringify(schema)) };
}

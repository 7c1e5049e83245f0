// The recipe form of a product RPM (TypeBox: JSON Schema for the loader and the
// static type), and its conversion into the stage form (model.ts RpmPackageDef).
// For recipes/schema.ts to plug in, e.g. `rpms: Type.Optional(Type.Array(RpmPackageRecipeSchema))`.
// Pure: no I/O here.
import { Type, type Static } from '@sinclair/typebox';
import { isAbsolute, normalize, resolve } from 'node:path';
import { XsforgeError } from '../core/errors.ts';
import { RPM_ARCHES, RPM_SCRIPTLETS, type RpmFile, type RpmPackageDef, type StageFileRef } from './model.ts';

/** Patterns of the recipe form, with words for error messages (as recipes/schema.ts PATTERNS). */
export const RPM_RECIPE_PATTERNS = {
  rpmName: { regex: '^[A-Za-z0-9_+][A-Za-z0-9._+-]*$', words: 'an RPM name: letters, digits, ".", "_", "+" and "-" (e.g. xenserver-release)' },
  rpmVersion: { regex: '^[A-Za-z0-9][A-Za-z0-9._+~]*$', words: 'an RPM version or release: letters, digits, ".", "_", "+" and "~", no "-" (e.g. 7.1.2)' },
  rpmDependency: { regex: '^[A-Za-z0-9_/][A-Za-z0-9_.+/:()-]*(\\s*(<=|>=|<|>|=)\\s*([0-9]+:)?[A-Za-z0-9][A-Za-z0-9._+~]*(-[A-Za-z0-9][A-Za-z0-9._+~]*)?)?$', words: '"name" or "name OP version", OP one of < <= = >= > (e.g. "product-version = 7.1.2")' },
  installPath: { regex: '^(/[A-Za-z0-9._+,:@=~-]+)+$', words: 'an absolute install path of letters, digits and . _ + , : @ = ~ - (e.g. /etc/xsforge/site.conf)' },
  fileMode: { regex: '^0?[0-7]{3,4}$', words: 'an octal mode in quotes (e.g. "0644"): YAML reads an unquoted 0644 as the decimal 644' },
  stageAlias: { regex: '^[a-z0-9][a-z0-9._-]*$', words: 'a build stage name (e.g. hypervisor, kernel)' },
  stagePath: { regex: '^(?!/)(?!.*(^|/)\\.\\.(/|$))[^\\r\\n]+$', words: 'a path inside the stage\'s output, without a leading "/" or ".." (e.g. xen.gz)' },
  repoPath: { regex: '^(?!/)[^\\r\\n]+$', words: 'a path relative to this recipe file (e.g. files/site.conf)' },
  oneLine: { regex: '^[^\\r\\n]+$', words: 'non-empty text on a single line' },
} as const;

const Pat = (p: keyof typeof RPM_RECIPE_PATTERNS, description: string) =>
  Type.String({ pattern: RPM_RECIPE_PATTERNS[p].regex, description });
const Strict = { additionalProperties: false } as const;
function StringEnum<const T extends readonly string[]>(values: T, description: string) {
  return Type.Unsafe<T[number]>({ type: 'string', enum: [...values], description });
}

export const RpmFileSourceSchema = Type.Union([
  Type.Object({
    stage: Pat('stageAlias', 'the build stage whose output holds the file'),
    path: Pat('stagePath', 'the file inside that stage\'s output'),
  }, { ...Strict, description: 'a file made by another build stage' }),
  Type.Object({
    repo: Pat('repoPath', 'a file next to the recipe, relative to it'),
  }, { ...Strict, description: 'a file from the repository' }),
  Type.Object({
    text: Type.String({ description: 'the file\'s content' }),
  }, { ...Strict, description: 'a small file written inline' }),
], { description: 'where the file comes from: {stage, path}, {repo} or {text}' });

export const RpmPackageRecipeSchema = Type.Object({
  name: Pat('rpmName', 'package name'),
  version: Pat('rpmVersion', 'package version'),
  release: Type.Optional(Pat('rpmVersion', 'package release; default "1"')),
  summary: Pat('oneLine', 'one-line summary'),
  license: Pat('oneLine', 'licence, e.g. GPLv2'),
  arch: StringEnum(RPM_ARCHES, 'x86_64 for packages with machine code, noarch for the rest'),
  description: Type.String({ minLength: 1, description: 'free text; no line may start with "%" or "#" (rpmbuild would read it as a directive or comment)' }),
  url: Type.Optional(Pat('oneLine', 'project URL')),
  group: Type.Optional(Pat('oneLine', 'RPM group, e.g. System Environment/Base')),
  provides: Type.Optional(Type.Array(Pat('rpmDependency', 'a capability'), { description: 'Provides: lines' })),
  requires: Type.Optional(Type.Array(Pat('rpmDependency', 'a capability'), { description: 'Requires: lines (nothing is added automatically)' })),
  conflicts: Type.Optional(Type.Array(Pat('rpmDependency', 'a capability'), { description: 'Conflicts: lines' })),
  obsoletes: Type.Optional(Type.Array(Pat('rpmDependency', 'a capability'), { description: 'Obsoletes: lines' })),
  files: Type.Optional(Type.Array(Type.Object({
    from: RpmFileSourceSchema,
    to: Pat('installPath', 'where the file is installed'),
    mode: Type.Optional(Pat('fileMode', 'permission bits; default "0644"')),
    config: Type.Optional(Type.Boolean({ description: 'a configuration file kept when edited (%config(noreplace))' })),
  }, Strict), { description: 'the files the package installs' })),
  dirs: Type.Optional(Type.Array(Pat('installPath', 'a directory the package owns (mode 0755)'))),
  scriptlets: Type.Optional(Type.Object(
    Object.fromEntries(RPM_SCRIPTLETS.map((s) => [s, Type.Optional(Type.String({ description: `/bin/sh body of %${s}` }))])),
    { ...Strict, description: 'install-time shell scripts' })),
}, { ...Strict, description: 'a product RPM built with rpmbuild' });

export type RpmPackageRecipe = Static<typeof RpmPackageRecipeSchema>;

/**
 * Recipe form -> stage form: {repo} becomes an absolute path next to the
 * recipe (refused when it leaves the recipe's directory tree), modes become numbers.
 */
export function packageFromRecipe(r: RpmPackageRecipe, recipeDir: string): RpmPackageDef {
  const files: RpmFile<string | StageFileRef>[] = (r.files ?? []).map((f) => {
    let from: RpmFile<string | StageFileRef>['from'];
    if ('repo' in f.from) {
      const rel = normalize(f.from.repo);
      if (isAbsolute(rel) || rel === '..' || rel.startsWith('../')) {
        throw new XsforgeError(`package ${r.name}: file ${f.to} names "${f.from.repo}", outside the recipe's directory`, 'repo paths are relative to the recipe file and stay below it');
      }
      from = resolve(recipeDir, rel);
    } else if ('stage' in f.from) from = { stage: f.from.stage, path: f.from.path };
    else from = { text: f.from.text };
    return { from, to: f.to, ...(f.mode !== undefined ? { mode: parseInt(f.mode, 8) } : {}), ...(f.config ? { config: true } : {}) };
  });
  return {
    name: r.name,
    version: r.version,
    release: r.release ?? '1',
    summary: r.summary,
    license: r.license,
    arch: r.arch,
    description: r.description,
    ...(r.url ? { url: r.url } : {}),
    ...(r.group ? { group: r.group } : {}),
    provides: r.provides ?? [],
    requires: r.requires ?? [],
    conflicts: r.conflicts ?? [],
    obsoletes: r.obsoletes ?? [],
    files,
    dirs: r.dirs ?? [],
    scriptlets: { ...(r.scriptlets ?? {}) } as RpmPackageDef['scriptlets'],
  };
}

// The hypervisor compiled from Xen sources: Debian's `xen` source package
// (dpkg-source applies Debian's own patch series), an upstream tarball checked
// against its sha256, or a directory (a checkout) named by its tree digest.
// All three share one path: our patches, a Kconfig fragment merged onto
// defconfig (and checked: Kconfig silently drops options whose dependencies are
// unmet), extra make variables, and build variables that pin dates, user, host
// and paths so two builds give the same xen.gz.
import { existsSync } from 'node:fs';
import { readdir, readFile, writeFile, copyFile, mkdir } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { ToolError, XsforgeError } from '../core/errors.ts';
import { run } from '../core/exec.ts';
import { sha256File } from '../core/hash.ts';
import { defineStage, type Stage, type StageContext } from '../core/stage.ts';
import type { ToolName } from '../core/tools.ts';
import type { AptRoot, ResolvedSource } from '../debian/apt.ts';
import {
  bannerRegex, bannerText, describeDropped, droppedSettings, fragmentErrors, identityErrors, isDebianBuildMk, mergeFragment, parseCompileH,
  pinDistribution, prefixMapFlags, reproducibleMakeVars, xenMakefileVersion, type KconfigFragment, type XenBanner,
} from './kconfig.ts';
import { copySourceTree, sourceTreeDigest } from './tree.ts';

/** What the recipe may set on any compiled hypervisor. */
export interface CompiledXenSettings {
  /** Kconfig fragment merged onto defconfig */
  config?: KconfigFragment;
  /** patch files (absolute paths), applied in this order (after Debian's series, for a Debian source) with patch -p1 */
  patches?: string[];
  /** extra make variables, passed as VAR=value after (so overriding) ours */
  make?: Record<string, string>;
  /** "@domain" in the boot banner (XEN_DOMAIN); default "xsforge" */
  domain?: string;
  /** the distribution word in the boot banner of a Debian tree; default "xsforge" */
  distribution?: string;
}

/** A .tar.gz/.tar.xz/.tar.bz2 of a Xen tree (absolute path) and the sha256 the recipe requires of it. */
export interface XenTarball { path: string; sha256: string }
/** An unpacked Xen tree (absolute path) and its digest (sourceTreeDigest; use xenDirectory() to make one). */
export interface XenDirectory { path: string; treeSha256: string }

export type CompiledXenInput = CompiledXenSettings & (
  /** source from apt.resolveSource('xen') (after apt.ensureSourceIndex()) */
  | { apt: AptRoot; source: ResolvedSource }
  | { tarball: XenTarball }
  | { directory: XenDirectory });

export type CompiledXenSourceOption =
  | { name: string; version: string; dscSha256: string } // debian-source
  | { sha256: string } // tarball
  | { treeSha256: string }; // directory

export interface CompiledXenOptions {
  [k: string]: any;
  from: 'debian-source' | 'tarball' | 'directory';
  source: CompiledXenSourceOption;
  config: KconfigFragment;
  /** file names in application order; contents are input files "patch-<n>" */
  patches: string[];
  make: Record<string, string>;
  identity: { domain: string; distribution: string };
}

/** Name of the output file holding the compile.h values (the boot banner's identity). */
export const BANNER_FILE = 'xen-banner.json';

const SHA256 = /^[0-9a-f]{64}$/;
const TARBALL_KINDS: { ext: RegExp; flag: string; tool: ToolName }[] = [
  { ext: /\.(tar\.gz|tgz)$/, flag: '-z', tool: 'gzip' },
  { ext: /\.(tar\.xz|txz)$/, flag: '-J', tool: 'xz' },
  { ext: /\.(tar\.bz2|tbz2?)$/, flag: '-j', tool: 'bzip2' },
];

function tarballKind(path: string) {
  const kind = TARBALL_KINDS.find((k) => k.ext.test(path));
  if (!kind) throw new XsforgeError(`hypervisor.path: ${path} is not a .tar.gz, .tar.xz or .tar.bz2 file`, 'give a compressed tarball of a Xen source tree (e.g. xen-4.17.5.tar.gz)');
  return kind;
}

/** A directory source with its tree digest; fails when the directory is not a Xen tree. */
export async function xenDirectory(path: string): Promise<XenDirectory> {
  if (!existsSync(join(path, 'xen', 'Makefile'))) {
    throw new XsforgeError(`hypervisor.path: ${path} is not a Xen source tree (no xen/Makefile in it)`, 'point it at the top of a Xen checkout (the directory holding xen/ and tools/)');
  }
  return { path, treeSha256: await sourceTreeDigest(path) };
}

/** The xen/Makefile of a tree at its top or in its single top-level directory, read from the tarball without unpacking it. */
async function tarballXenMakefile(path: string): Promise<string> {
  const { flag } = tarballKind(path);
  const names = (await run(['tar', '-t', flag, '-f', path], { env: { LC_ALL: 'C' } })).stdout.split('\n');
  const member = names.find((n) => /^(?:\.\/)?(?:[^/]+\/)?xen\/Makefile$/.test(n));
  if (!member) throw new XsforgeError(`hypervisor tarball ${path} does not hold a Xen source tree (no xen/Makefile at its top or in its single top-level directory)`);
  return (await run(['tar', '-x', '-O', flag, '-f', path, member], { env: { LC_ALL: 'C' } })).stdout;
}

/** The Xen release ("4.17.5") of a tarball or directory source, from its xen/Makefile (for product RPM versions and the build summary). */
export async function xenSourceVersion(source: { tarball: string } | { directory: string }): Promise<string> {
  const [what, text] = 'tarball' in source
    ? [source.tarball, await tarballXenMakefile(source.tarball)]
    : [source.directory, await readFile(join(source.directory, 'xen', 'Makefile'), 'utf8')];
  const version = xenMakefileVersion(text);
  if (!version) throw new XsforgeError(`cannot read the Xen release from xen/Makefile of ${what} (XEN_VERSION, XEN_SUBVERSION, XEN_EXTRAVERSION)`);
  return version;
}

export function compiledXenStage(input: CompiledXenInput): Stage<CompiledXenOptions> {
  const config = input.config ?? {};
  const errors = fragmentErrors(config);
  if (errors.length) throw new XsforgeError(`hypervisor.config:\n${errors.join('\n')}`, 'write options as CONFIG_NAME: y | n | number | "string"');
  const patches = input.patches ?? [];
  const settings = {
    config,
    // names only: where the recipe lives must not change the key, their contents do (inputFiles)
    patches: patches.map((p) => basename(p)),
    make: input.make ?? {},
    identity: { domain: input.domain ?? 'xsforge', distribution: input.distribution ?? 'xsforge' },
  };
  const idErrors = identityErrors(settings.identity);
  if (idErrors.length) throw new XsforgeError(`hypervisor:\n${idErrors.join('\n')}`);
  const patchFiles = Object.fromEntries(patches.map((p, i) => [patchKey(i), p]));
  const build = ['patch', 'make', 'gcc', 'ld', 'gzip', 'python3'] as const satisfies readonly ToolName[];

  let options: CompiledXenOptions;
  let inputFiles = patchFiles;
  let tools: ToolName[];
  let unpack: (ctx: StageContext<CompiledXenOptions>) => Promise<Unpacked>;
  if ('source' in input) {
    const src = input.source;
    options = { from: 'debian-source', source: { name: src.name, version: src.version, dscSha256: src.dscSha256 }, ...settings };
    tools = ['dpkg-source', ...build];
    unpack = (ctx) => unpackDebianSource(ctx, input.apt, src);
  } else if ('tarball' in input) {
    const { path, sha256 } = input.tarball;
    if (!SHA256.test(sha256)) throw new XsforgeError(`hypervisor.sha256: "${sha256}" is not a sha256 (64 lowercase hex digits)`, `sha256sum ${basename(path)}`);
    const kind = tarballKind(path);
    options = { from: 'tarball', source: { sha256 }, ...settings };
    // its contents are in the key as the input file (and must match options.source.sha256); its path is not
    inputFiles = { ...patchFiles, tarball: path };
    tools = [...new Set<ToolName>(['tar', kind.tool, ...build])];
    unpack = (ctx) => unpackTarball(ctx, path, sha256, kind.flag);
  } else {
    const { path, treeSha256 } = input.directory;
    if (!SHA256.test(treeSha256)) throw new XsforgeError(`hypervisor: tree digest "${treeSha256}" is not a sha256`);
    options = { from: 'directory', source: { treeSha256 }, ...settings };
    tools = [...build];
    unpack = (ctx) => copyDirectory(ctx, path, treeSha256);
  }

  return defineStage({
    name: 'hypervisor',
    version: 1,
    options,
    inputFiles,
    tools,
    artifacts: {
      'xen.gz': { path: 'xen.gz', kind: 'hypervisor' },
      'xen.efi': { path: 'xen.efi', kind: 'hypervisor-efi' },
      'xen-syms': { path: 'xen-syms', kind: 'hypervisor-symbols' },
      'xen.config': { path: 'xen.config', kind: 'hypervisor-config' },
    },
    run: async (ctx) => compileXen(ctx, await unpack(ctx), patches),
  });
}

const patchKey = (i: number) => `patch-${String(i + 1).padStart(3, '0')}`;

/** An unpacked tree: its top (holding xen/), what error messages call it, and its Debian version if it is Debian's. */
interface Unpacked { tree: string; label: string; debianVersion?: string }

const compiling = (u: Unpacked) => (u.debianVersion !== undefined ? `Xen ${u.debianVersion}` : `Xen from ${u.label}`);

async function unpackDebianSource(ctx: StageContext<CompiledXenOptions>, apt: AptRoot, src: ResolvedSource): Promise<Unpacked> {
  ctx.progress(`source ${src.name} ${src.version}`);
  const dir = await apt.fetchSource(src);
  const dsc = src.files.find((f) => f.name.endsWith('.dsc'))!.name;
  const tree = join(ctx.work, 'src');
  // --no-check: fetchSource already checked every file's sha256 against the
  // signed (InRelease-verified) Sources index; the uploader's key is not needed.
  ctx.progress('unpacking and applying Debian patches');
  await ctx.run(['dpkg-source', '--no-check', '-x', join(dir, dsc), tree], { env: { LC_ALL: 'C' } });
  return { tree, label: `${src.name} ${src.version}`, debianVersion: src.version };
}

async function unpackTarball(ctx: StageContext<CompiledXenOptions>, path: string, wanted: string, flag: string): Promise<Unpacked> {
  const file = ctx.inputFile('tarball');
  const actual = await sha256File(file);
  if (actual !== wanted) {
    throw new XsforgeError(`hypervisor tarball ${path} has sha256 ${actual}, but the recipe requires ${wanted}`,
      'check the download (or, if this file is the one you mean, put its digest in hypervisor.sha256)');
  }
  ctx.progress(`unpacking ${basename(path)}`);
  const dest = join(ctx.work, 'src');
  await mkdir(dest, { recursive: true });
  await ctx.run(['tar', '-x', flag, '--no-same-owner', '-f', file, '-C', dest], { env: { LC_ALL: 'C' } });
  return { tree: await xenTop(dest, basename(path)), label: basename(path) };
}

/** The tarball's Xen tree: the unpacked directory itself or its single top-level directory (xen-4.17.5/). */
async function xenTop(dest: string, label: string): Promise<string> {
  if (existsSync(join(dest, 'xen', 'Makefile'))) return dest;
  const entries = await readdir(dest, { withFileTypes: true });
  if (entries.length === 1 && entries[0].isDirectory() && existsSync(join(dest, entries[0].name, 'xen', 'Makefile'))) return join(dest, entries[0].name);
  throw new XsforgeError(`hypervisor tarball ${label} does not hold a Xen source tree (no xen/Makefile at its top or in its single top-level directory)`);
}

async function copyDirectory(ctx: StageContext<CompiledXenOptions>, path: string, wanted: string): Promise<Unpacked> {
  ctx.progress(`copying ${path}`);
  const tree = join(ctx.work, 'src');
  // a copy, so the build neither writes into the user's checkout nor reads its old objects' timestamps;
  // digested again, so what is compiled is what the key names even if the checkout changed meanwhile
  await copySourceTree(path, tree);
  const actual = await sourceTreeDigest(tree);
  if (actual !== wanted) {
    throw new XsforgeError(`hypervisor directory ${path} changed while the build was starting (tree digest ${actual}, expected ${wanted})`, 'build again once nothing is writing to it');
  }
  return { tree, label: `the tree at ${path}` };
}

async function compileXen(ctx: StageContext<CompiledXenOptions>, unpacked: Unpacked, patches: string[]): Promise<void> {
  const o = ctx.options;
  const { tree, label } = unpacked;
  for (const [i, p] of patches.entries()) {
    ctx.progress(`patch ${i + 1}/${patches.length}: ${o.patches[i]}`);
    await applyPatch(ctx, tree, ctx.inputFile(patchKey(i)), o.patches[i], i, label, unpacked.debianVersion !== undefined);
  }

  // Debian's compile.h rule (from its patch series): lsb_release and DEB_* variables; an upstream tree has neither
  const buildMk = join(tree, 'xen', 'build.mk');
  const mk = await readFile(buildMk, 'utf8').catch(() => '');
  if (pinDistribution(mk) !== mk) await writeFile(buildMk, pinDistribution(mk));
  const debianVersion = isDebianBuildMk(mk) ? unpacked.debianVersion ?? 'unknown' : undefined;

  const vars = {
    ...reproducibleMakeVars(ctx.sourceDateEpoch, { ...o.identity, systemVersion: debianVersion }),
    EXTRA_CFLAGS_XEN_CORE: prefixMapFlags(tree),
    // Debian's interpreter, whose version the key holds (not whatever python3 is first on PATH)
    PYTHON: '/usr/bin/python3',
    ...o.make,
  };
  // recipe CFLAGS add to the prefix maps rather than dropping them (build paths would leak)
  if (o.make.EXTRA_CFLAGS_XEN_CORE !== undefined) vars.EXTRA_CFLAGS_XEN_CORE = `${prefixMapFlags(tree)} ${o.make.EXTRA_CFLAGS_XEN_CORE}`;
  const makeArgs = Object.entries(vars).map(([k, v]) => `${k}=${v}`);
  const env = {
    LC_ALL: 'C', TZ: 'UTC',
    // a parent make (e.g. `make test`) must not hand us its jobserver or flags,
    // and host CFLAGS must not reach the hypervisor (Debian's rules undefine them too)
    MAKEFLAGS: undefined, MFLAGS: undefined, MAKELEVEL: undefined, CFLAGS: undefined, LDFLAGS: undefined, CPPFLAGS: undefined,
  };
  const make = (args: string[], extra: Record<string, unknown> = {}) =>
    ctx.run(['make', '--no-print-directory', '-C', join(tree, 'xen'), ...args, ...makeArgs], { env, ...extra });

  ctx.progress('configuring');
  await make(['defconfig']);
  const configFile = join(tree, 'xen', '.config');
  await writeFile(configFile, mergeFragment(await readFile(configFile, 'utf8'), o.config));
  await make(['olddefconfig']);
  const finalConfig = await readFile(configFile, 'utf8');
  const dropped = droppedSettings(finalConfig, o.config);
  if (dropped.length) {
    const deps = await dependencyNotes(join(tree, 'xen'), dropped.map((d) => d.option));
    throw new XsforgeError(`Kconfig did not keep ${dropped.length === 1 ? 'a setting' : 'settings'} of hypervisor.config (dependencies unmet?):\n${describeDropped(dropped)}${deps ? `\n${deps}` : ''}`,
      'set what the option depends on in hypervisor.config too, or remove it');
  }

  const jobs = availableParallelism();
  let compiled = 0;
  let shown = 0;
  ctx.progress(`compiling with ${jobs} jobs`);
  try {
    await make([`-j${jobs}`], {
      tailBytes: 6000,
      onOutput: (chunk: string) => {
        compiled += (chunk.match(/^\s+(CC|AS)\s/gm) ?? []).length;
        if (compiled - shown >= 25) { shown = compiled; ctx.progress(`compiling (${compiled} files)`); }
      },
    });
  } catch (err) {
    if (!(err instanceof ToolError)) throw err;
    // the engine keeps every tool's output in build.log beside out/ (also named by its stage-failed event)
    const log = join(dirname(ctx.out), 'build.log');
    throw new XsforgeError(`compiling ${compiling(unpacked)} failed after ${compiled} files; end of the make output (all of it: ${log}):\n${err.message}`,
      'a patch or a hypervisor.config/make setting may not suit this Xen version');
  }
  ctx.progress(`compiled ${compiled} files`);

  const xen = join(tree, 'xen');
  await copyFile(join(xen, 'xen.gz'), join(ctx.out, 'xen.gz'));
  await copyFile(join(xen, 'xen-syms'), join(ctx.out, 'xen-syms'));
  await copyFile(configFile, join(ctx.out, 'xen.config'));
  // xen.efi is built when the linker can emit PE (binutils' i386pep); say so when not
  await copyFile(join(xen, 'xen.efi'), join(ctx.out, 'xen.efi')).catch(() => ctx.log('xen.efi was not built (the linker has no PE support)'));

  const banner = parseCompileH(await readFile(join(xen, 'include', 'xen', 'compile.h'), 'utf8'));
  // the identity must really be in the image, not just in a header we read back
  // (each part is its own string there: the banner joins them at run time)
  const image = gunzipSync(await readFile(join(ctx.out, 'xen.gz')));
  const missing = [banner.distribution, banner.systemVersion, ...banner.by.split('@'), banner.date]
    .filter((s) => s !== '' && !image.includes(Buffer.from(`${s}\0`))); // '' : an upstream banner has no distribution part
  if (missing.length) throw new XsforgeError(`compiled xen.gz does not contain its build identity (missing: ${missing.map((m) => `"${m}"`).join(', ')})`);
  await writeFile(join(ctx.out, BANNER_FILE), `${JSON.stringify(banner, null, 1)}\n`);
}

async function applyPatch(ctx: StageContext<any>, tree: string, file: string, name: string, index: number, label: string, debian: boolean): Promise<void> {
  const rej = join(ctx.work, `${String(index + 1).padStart(3, '0')}-${name}.rej`);
  try {
    await ctx.run(['patch', '-p1', '--batch', '--forward', '--no-backup-if-mismatch', `--reject-file=${rej}`, '-d', tree, '-i', file]);
  } catch (err) {
    if (!(err instanceof ToolError)) throw err;
    const reject = await readFile(rej, 'utf8').catch(() => '');
    throw new XsforgeError(`patch ${name} (${file}) does not apply to ${label}:\n${err.outputTail.trimEnd()}${reject ? `\nrejected hunks:\n${reject.trimEnd().split('\n').slice(0, 60).join('\n')}` : ''}`,
      debian ? 'refresh the patch against this source version (Debian\'s patch series is applied first)' : 'refresh the patch against this source tree');
  }
}

/** "depends on" lines of the named options in the tree's Kconfig files, to say what is missing. */
async function dependencyNotes(xenDir: string, options: string[]): Promise<string> {
  const names = new Set(options.map((o) => o.replace(/^CONFIG_/, '')));
  const files = await kconfigFiles(xenDir);
  const notes: string[] = [];
  for (const f of files) {
    const lines = (await readFile(join(xenDir, f), 'utf8')).split('\n');
    for (let i = 0; i < lines.length; i++) {
      const m = /^\s*(?:menu)?config\s+(\w+)\s*$/.exec(lines[i]);
      if (!m || !names.has(m[1])) continue;
      const conds: string[] = [];
      for (let j = i + 1; j < lines.length && !/^\s*(?:menu)?config\s|^\s*(?:endmenu|endif|choice|endchoice|menu|if)\b/.test(lines[j]); j++) {
        const d = /^\s*depends on\s+(.+)$/.exec(lines[j]) ?? /^\s*(?:bool|tristate|string|int|hex)\s+".*"\s+if\s+(.+)$/.exec(lines[j]);
        if (d) conds.push(d[1].trim());
      }
      if (conds.length) notes.push(`CONFIG_${m[1]} (${f}) needs: ${conds.join(' && ')}`);
    }
  }
  return notes.join('\n');
}

/** Kconfig* files under dir, relative and sorted; symlinks not followed (the build makes xen/source -> .). */
async function kconfigFiles(dir: string, rel = ''): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(join(dir, rel), { withFileTypes: true })) {
    const r = rel ? `${rel}/${e.name}` : e.name;
    if (e.isDirectory()) out.push(...await kconfigFiles(dir, r));
    else if (e.isFile() && e.name.startsWith('Kconfig')) out.push(r);
  }
  return out.sort();
}

/** The banner identity of a compiled hypervisor stage's output directory. */
export async function compiledXenBanner(outDir: string): Promise<{ banner: XenBanner; text: string; regex: RegExp }> {
  const banner = JSON.parse(await readFile(join(outDir, BANNER_FILE), 'utf8')) as XenBanner;
  return { banner, text: bannerText(banner), regex: bannerRegex(banner) };
}

// The hypervisor compiled from Debian's `xen` source package: Debian's own patch
// series (dpkg-source applies it), then ours, a Kconfig fragment merged onto
// defconfig (and checked: Kconfig silently drops options whose dependencies are
// unmet), extra make variables, and build variables that pin dates, user, host
// and paths so two builds give the same xen.gz.
import { readdir, readFile, writeFile, copyFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { ToolError, XsforgeError } from '../core/errors.ts';
import { defineStage, type Stage, type StageContext } from '../core/stage.ts';
import type { AptRoot, ResolvedSource } from '../debian/apt.ts';
import {
  bannerRegex, bannerText, describeDropped, droppedSettings, fragmentErrors, identityErrors, mergeFragment, parseCompileH,
  pinDistribution, prefixMapFlags, reproducibleMakeVars, type KconfigFragment, type XenBanner,
} from './kconfig.ts';

export interface CompiledXenInput {
  apt: AptRoot;
  /** from apt.resolveSource('xen') (after apt.ensureSourceIndex()) */
  source: ResolvedSource;
  /** Kconfig fragment merged onto defconfig */
  config?: KconfigFragment;
  /** patch files (absolute paths), applied in this order after Debian's series, with patch -p1 */
  patches?: string[];
  /** extra make variables, passed as VAR=value after (so overriding) ours */
  make?: Record<string, string>;
  /** "@domain" in the boot banner (XEN_DOMAIN); default "xsforge" */
  domain?: string;
  /** the distribution word in the boot banner; default "xsforge" */
  distribution?: string;
}

export interface CompiledXenOptions {
  [k: string]: any;
  from: 'debian-source';
  source: { name: string; version: string; dscSha256: string };
  config: KconfigFragment;
  /** file names in application order; contents are input files "patch-<n>" */
  patches: string[];
  make: Record<string, string>;
  identity: { domain: string; distribution: string };
}

/** Name of the output file holding the compile.h values (the boot banner's identity). */
export const BANNER_FILE = 'xen-banner.json';

export function compiledXenStage(input: CompiledXenInput): Stage<CompiledXenOptions> {
  const config = input.config ?? {};
  const errors = fragmentErrors(config);
  if (errors.length) throw new XsforgeError(`hypervisor.config:\n${errors.join('\n')}`, 'write options as CONFIG_NAME: y | n | number | "string"');
  const patches = input.patches ?? [];
  const src = input.source;
  const options: CompiledXenOptions = {
    from: 'debian-source',
    source: { name: src.name, version: src.version, dscSha256: src.dscSha256 },
    config,
    // names only: where the recipe lives must not change the key, their contents do (inputFiles)
    patches: patches.map((p) => basename(p)),
    make: input.make ?? {},
    identity: { domain: input.domain ?? 'xsforge', distribution: input.distribution ?? 'xsforge' },
  };
  const idErrors = identityErrors(options.identity);
  if (idErrors.length) throw new XsforgeError(`hypervisor:\n${idErrors.join('\n')}`);
  return defineStage({
    name: 'hypervisor',
    version: 1,
    options,
    inputFiles: Object.fromEntries(patches.map((p, i) => [patchKey(i), p])),
    tools: ['dpkg-source', 'patch', 'make', 'gcc', 'ld', 'gzip', 'python3'],
    artifacts: {
      'xen.gz': { path: 'xen.gz', kind: 'hypervisor' },
      'xen.efi': { path: 'xen.efi', kind: 'hypervisor-efi' },
      'xen-syms': { path: 'xen-syms', kind: 'hypervisor-symbols' },
      'xen.config': { path: 'xen.config', kind: 'hypervisor-config' },
    },
    run: (ctx) => compileXen(ctx, input.apt, src, patches),
  });
}

const patchKey = (i: number) => `patch-${String(i + 1).padStart(3, '0')}`;

async function compileXen(ctx: StageContext<CompiledXenOptions>, apt: AptRoot, src: ResolvedSource, patches: string[]): Promise<void> {
  const o = ctx.options;
  ctx.progress(`source ${src.name} ${src.version}`);
  const dir = await apt.fetchSource(src);
  const dsc = src.files.find((f) => f.name.endsWith('.dsc'))!.name;
  const tree = join(ctx.work, 'src');
  // --no-check: fetchSource already checked every file's sha256 against the
  // signed (InRelease-verified) Sources index; the uploader's key is not needed.
  ctx.progress('unpacking and applying Debian patches');
  await ctx.run(['dpkg-source', '--no-check', '-x', join(dir, dsc), tree], { env: { LC_ALL: 'C' } });

  for (const [i, p] of patches.entries()) {
    ctx.progress(`patch ${i + 1}/${patches.length}: ${o.patches[i]}`);
    await applyPatch(ctx, tree, ctx.inputFile(patchKey(i)), o.patches[i], i);
  }

  const buildMk = join(tree, 'xen', 'build.mk');
  const mk = await readFile(buildMk, 'utf8').catch(() => undefined);
  if (mk !== undefined && pinDistribution(mk) !== mk) await writeFile(buildMk, pinDistribution(mk));

  const vars = {
    ...reproducibleMakeVars(ctx.sourceDateEpoch, { ...o.identity, systemVersion: src.version }),
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
    throw new XsforgeError(`compiling Xen ${src.version} failed after ${compiled} files; end of the make output (all of it: ${log}):\n${err.message}`,
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
    .filter((s) => !image.includes(Buffer.from(`${s}\0`)));
  if (missing.length) throw new XsforgeError(`compiled xen.gz does not contain its build identity (missing: ${missing.map((m) => `"${m}"`).join(', ')})`);
  await writeFile(join(ctx.out, BANNER_FILE), `${JSON.stringify(banner, null, 1)}\n`);
}

async function applyPatch(ctx: StageContext<any>, tree: string, file: string, name: string, index: number): Promise<void> {
  const rej = join(ctx.work, `${String(index + 1).padStart(3, '0')}-${name}.rej`);
  try {
    await ctx.run(['patch', '-p1', '--batch', '--forward', '--no-backup-if-mismatch', `--reject-file=${rej}`, '-d', tree, '-i', file]);
  } catch (err) {
    if (!(err instanceof ToolError)) throw err;
    const reject = await readFile(rej, 'utf8').catch(() => '');
    throw new XsforgeError(`patch ${name} (${file}) does not apply to ${ctx.options.source.name} ${ctx.options.source.version}:\n${err.outputTail.trimEnd()}${reject ? `\nrejected hunks:\n${reject.trimEnd().split('\n').slice(0, 60).join('\n')}` : ''}`,
      'refresh the patch against this source version (Debian\'s patch series is applied first)');
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

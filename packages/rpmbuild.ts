// Builds .rpm files with Debian's rpmbuild (rpm 4.18) from our spec text, so
// that the same model and file contents give the same bytes: every macro that
// would put the time, the host, the build path or the host's rpm configuration
// into the package is pinned here. Also the stage that builds a set of packages.
import { chmod, copyFile, mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { dirname, isAbsolute, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import { XsforgeError } from '../core/errors.ts';
import { run as runTool } from '../core/exec.ts';
import { canonicalJson, sha256File, type Json } from '../core/hash.ts';
import { defineStage, type Stage } from '../core/stage.ts';
import {
  DEFAULT_FILE_MODE, DIR_MODE, isInlineText, isStageFileRef, nevra, validateRpmSpec,
  type InlineText, type RpmPackageDef, type RpmSpecInput,
} from './model.ts';
import { parseRpm } from './rpm-header.ts';
import { STAGING_TREE, formatRpmSpec } from './spec.ts';

const here = dirname(fileURLToPath(import.meta.url));

export interface BuildRpmOptions {
  /** receives <nevra>.rpm */
  outDir: string;
  /** scratch; an isolated rpm _topdir and HOME are made under it */
  workDir: string;
  sourceDateEpoch: number;
  run?: typeof runTool;
  log?: (line: string) => void;
}

export interface BuiltRpm {
  file: string;
  sha256: string;
  nevra: string;
  size: number;
}

/**
 * rpm's own configuration only: the macro files rpm ships, without
 * /etc/rpm/macros* and ~/.rpmmacros, and its rpmrc without /etc/rpmrc and
 * ~/.rpmrc, so nothing on the build host changes the package.
 */
export const RPM_MACRO_FILES = '/usr/lib/rpm/macros:/usr/lib/rpm/macros.d/macros.*:/usr/lib/rpm/platform/%{_target}/macros:/usr/lib/rpm/fileattrs/*.attr';
export const RPM_RC_FILES = '/usr/lib/rpm/rpmrc';

/** Macros that make rpmbuild's output a function of its inputs (see rpmbuildArgv). */
export function reproducibleMacros(topdir: string): [string, string][] {
  return [
    ['_topdir', topdir],
    ['_tmppath', join(topdir, 'tmp')],
    // flat output: RPMS/<nevra>.rpm instead of RPMS/<arch>/...
    ['_rpmdir', join(topdir, 'RPMS')],
    ['_build_name_fmt', '%%{NAME}-%%{VERSION}-%%{RELEASE}.%%{ARCH}.rpm'],
    // BUILDTIME from SOURCE_DATE_EPOCH (otherwise now), file mtimes no later than it
    ['use_source_date_epoch_as_buildtime', '1'],
    ['clamp_mtime_to_source_date_epoch', '1'],
    // BUILDHOST is otherwise the machine's host name
    ['_buildhost', 'xsforge'],
    // EL7-era rpm (4.11) cannot read zstd payloads; xz at level 9, single-threaded
    // (no "T"), so the compressed bytes do not depend on the number of CPUs
    ['_binary_payload', 'w9.xzdio'],
    ['_source_payload', 'w9.xzdio'],
    // sha256 file digests (the 4.18 default, read by 4.11 as well)
    ['_binary_filedigest_algorithm', '8'],
    ['_source_filedigest_algorithm', '8'],
    // no /usr/lib/.build-id links for ELF files (they would be files the model does not list)
    ['_build_id_links', 'none'],
    // No debuginfo subpackage and no brp-* post-install scripts (strip, man page
    // compression, ELF permission changes): the payload is the bytes we staged,
    // not a host-tool-dependent rewrite of them.
    ['debug_package', '%{nil}'],
    ['__os_install_post', '%{nil}'],
    ['__arch_install_post', '%{nil}'],
  ];
}

export function rpmbuildArgv(specFile: string, topdir: string): string[] {
  const argv = ['rpmbuild', '-bb', '--quiet', `--macros=${RPM_MACRO_FILES}`, `--rcfile=${RPM_RC_FILES}`];
  for (const [k, v] of reproducibleMacros(topdir)) argv.push('--define', `${k} ${v}`);
  argv.push(specFile);
  return argv;
}

/** rpm macros expand "%" and the %install script is shell: keep build paths plain. */
function checkWorkDir(dir: string): void {
  if (!isAbsolute(dir) || !/^[A-Za-z0-9_./+,:@=~-]+$/.test(dir)) {
    throw new XsforgeError(`rpm build directory "${dir}" is not an absolute path of plain characters`,
      'rpmbuild expands "%" in paths and its scripts split on spaces: use a work directory without spaces, quotes or "%"');
  }
}

/** Lay out the install tree: files with their final modes, owned directories 0755. */
async function stageTree(spec: RpmSpecInput, tree: string): Promise<void> {
  await mkdir(tree, { recursive: true });
  for (const d of spec.dirs) {
    await mkdir(join(tree, d), { recursive: true });
    await chmod(join(tree, d), DIR_MODE);
  }
  for (const f of spec.files) {
    const dest = join(tree, f.to);
    await mkdir(dirname(dest), { recursive: true });
    if (isInlineText(f.from)) await writeFile(dest, f.from.text);
    else {
      try {
        await copyFile(f.from, dest);
      } catch (err) {
        throw new XsforgeError(`package ${spec.name}: cannot read ${f.from} (for ${f.to}): ${(err as Error).message}`);
      }
    }
    await chmod(dest, f.mode ?? DEFAULT_FILE_MODE);
  }
}

/** Build one binary RPM; same spec, file contents and epoch give the same bytes. */
export async function buildRpm(spec: RpmSpecInput, opts: BuildRpmOptions): Promise<BuiltRpm> {
  validateRpmSpec(spec);
  for (const f of spec.files) {
    if (!isInlineText(f.from) && (typeof f.from !== 'string' || !isAbsolute(f.from))) {
      throw new XsforgeError(`package ${spec.name}: source of ${f.to} must be an absolute path or inline text, not ${JSON.stringify(f.from)}`);
    }
  }
  const run = opts.run ?? runTool;
  checkWorkDir(opts.workDir);
  const topdir = join(opts.workDir, `rpmbuild-${spec.name}`);
  await rm(topdir, { recursive: true, force: true });
  for (const d of ['SOURCES', 'SPECS', 'BUILD', 'RPMS', 'tmp', 'home']) await mkdir(join(topdir, d), { recursive: true });
  await stageTree(spec, join(topdir, 'SOURCES', STAGING_TREE));
  const specFile = join(topdir, 'SPECS', `${spec.name}.spec`);
  await writeFile(specFile, formatRpmSpec(spec, { sourceDateEpoch: opts.sourceDateEpoch }));

  const started = Date.now();
  await run(rpmbuildArgv(specFile, topdir), {
    env: {
      // ~/.rpmmacros and ~/.rpmrc would be read from here (they are also left out of --macros/--rcfile)
      HOME: join(topdir, 'home'),
      SOURCE_DATE_EPOCH: String(opts.sourceDateEpoch),
      // rpm reads %changelog dates in local time
      TZ: 'UTC',
      LC_ALL: 'C',
    },
    hint: `the spec file is kept at ${specFile}`,
  });
  const name = `${nevra(spec)}.rpm`;
  const built = join(topdir, 'RPMS', name);
  await mkdir(opts.outDir, { recursive: true });
  const file = join(opts.outDir, name);
  await rm(file, { force: true });
  try {
    await rename(built, file);
  } catch {
    await copyFile(built, file);
  }
  // read it back: rpmbuild must have made the package the model describes
  const info = parseRpm(await readFile(file));
  const got = nevra(info);
  if (got !== nevra(spec) || !info.checks.headerSha256 || !info.checks.payloadSha256) {
    throw new XsforgeError(`rpmbuild made ${got} (digests ${JSON.stringify(info.checks)}) for ${nevra(spec)}`);
  }
  const sha256 = await sha256File(file);
  const { size } = await stat(file);
  opts.log?.(`rpmbuild ${name}: ${size} bytes in ${Date.now() - started} ms, sha256 ${sha256}`);
  await rm(topdir, { recursive: true, force: true });
  return { file, sha256, nevra: nevra(spec), size };
}

// ---- the stage ----------------------------------------------------------------

export interface RpmPackagesStageParams {
  /** stage name, e.g. "rpms" */
  name: string;
  packages: RpmPackageDef[];
  /** upstream stages by the alias that StageFileRef.stage names */
  deps?: Record<string, Stage<any>>;
  /** bump to rebuild when the recipe-level meaning changes */
  version?: number;
}

/** One entry of <stage out>/rpms.json. */
export interface RpmsManifestEntry {
  file: string;
  nevra: string;
  name: string;
  sha256: string;
  size: number;
}

export const RPMS_MANIFEST = 'rpms.json';

type KeyedSource = { input: string } | { stage: string; path: string } | InlineText;

/** Host paths leave the key (a checkout elsewhere builds the same bytes); their contents enter it as input files. */
function keyedPackages(packages: RpmPackageDef[]): { options: Json; inputFiles: Record<string, string> } {
  const inputFiles: Record<string, string> = {};
  const keyed = packages.map((p) => ({
    ...p,
    files: p.files.map((f) => {
      let from: KeyedSource;
      if (typeof f.from === 'string') {
        const key = `file:${p.name}:${f.to}`;
        inputFiles[key] = f.from;
        from = { input: key };
      } else from = f.from;
      return { ...f, from };
    }),
  }));
  // canonical JSON drops undefined and orders keys: equal models give equal keys
  return { options: JSON.parse(canonicalJson(keyed)) as Json, inputFiles };
}

/**
 * Stage that builds each package into <out>/<nevra>.rpm and lists them in
 * <out>/rpms.json. Its key covers the canonical models, the contents of host
 * files, the upstream outputs, rpmbuild's version and this code.
 */
export function rpmPackagesStage(p: RpmPackagesStageParams): Stage<any> {
  const names = new Set<string>();
  for (const pkg of p.packages) {
    validateRpmSpec(pkg);
    if (names.has(pkg.name)) throw new XsforgeError(`stage ${p.name}: package ${pkg.name} is defined twice`);
    names.add(pkg.name);
    for (const f of pkg.files) {
      if (isStageFileRef(f.from)) {
        if (!p.deps?.[f.from.stage]) throw new XsforgeError(`package ${pkg.name}: ${f.to} comes from stage "${f.from.stage}", which is not a dependency of ${p.name}`,
          `known stages: ${Object.keys(p.deps ?? {}).join(', ') || 'none'}`);
        if (isAbsolute(f.from.path) || normalize(f.from.path).startsWith('..')) throw new XsforgeError(`package ${pkg.name}: ${f.to} names "${f.from.path}", which is not a path inside stage ${f.from.stage}'s output`);
      } else if (typeof f.from === 'string' && !isAbsolute(f.from)) {
        throw new XsforgeError(`package ${pkg.name}: source of ${f.to} must be an absolute path, not "${f.from}"`);
      }
    }
  }
  const { options, inputFiles } = keyedPackages(p.packages);
  const code = Object.fromEntries(['model.ts', 'spec.ts', 'rpmbuild.ts', 'rpm-header.ts'].map((f) => [`code:${f}`, join(here, f)]));
  return defineStage({
    name: p.name,
    version: p.version ?? 1,
    options: { packages: options },
    deps: p.deps,
    inputFiles: { ...inputFiles, ...code },
    tools: ['rpmbuild'],
    artifacts: Object.fromEntries([
      ...p.packages.map((pkg) => [pkg.name, { path: `${nevra(pkg)}.rpm`, kind: 'rpm' }]),
      [RPMS_MANIFEST, { path: RPMS_MANIFEST, kind: 'rpm-list' }],
    ]),
    async run(ctx) {
      const manifest: RpmsManifestEntry[] = [];
      let done = 0;
      const buildOne = async (pkg: RpmPackageDef) => {
        const resolved: RpmSpecInput = {
          ...pkg,
          files: pkg.files.map((f) => ({
            ...f,
            from: isStageFileRef(f.from) ? join(ctx.dep(f.from.stage), f.from.path)
              : typeof f.from === 'string' ? ctx.inputFile(`file:${pkg.name}:${f.to}`)
                : f.from,
          })),
        };
        // each package has its own _topdir under ctx.work, so builds do not meet
        const built = await buildRpm(resolved, { outDir: ctx.out, workDir: ctx.work, sourceDateEpoch: ctx.sourceDateEpoch, run: ctx.run, log: ctx.log });
        manifest.push({ file: `${built.nevra}.rpm`, nevra: built.nevra, name: pkg.name, sha256: built.sha256, size: built.size });
        ctx.progress(`rpmbuild ${++done}/${p.packages.length} (${pkg.name})`);
      };
      // rpmbuild is single-threaded (xz without "T"), so packages build side by side
      const queue = [...p.packages];
      const workers = Array.from({ length: Math.min(queue.length, Math.max(1, availableParallelism())) }, async () => {
        for (let pkg = queue.shift(); pkg; pkg = queue.shift()) await buildOne(pkg);
      });
      await Promise.all(workers);
      manifest.sort((a, b) => (a.file < b.file ? -1 : 1));
      await writeFile(join(ctx.out, RPMS_MANIFEST), JSON.stringify(manifest, null, 1) + '\n');
      // nothing but the packages and the list: a stray file would end up in the repository
      const extra = (await readdir(ctx.out)).filter((f) => f !== RPMS_MANIFEST && !manifest.some((m) => m.file === f));
      if (extra.length) throw new XsforgeError(`stage ${p.name} left unexpected files: ${extra.join(', ')}`);
    },
  });
}

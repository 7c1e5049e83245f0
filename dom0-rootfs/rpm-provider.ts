// The dom0 root from RPM repositories (XenServer-family dom0s): dnf installs comps
// groups and packages into an empty root with only the configured repositories,
// the root is normalised, and it ships as the same dom0-root.tar.zst +
// dom0-root.json as the Debian provider (rootfs.ts), so the installer cannot
// tell them apart except by `provider` in the manifest.
//
// Reproducibility: rpm 4.18 takes INSTALLTID and INSTALLTIME from
// SOURCE_DATE_EPOCH when it is set (INSTALLTIME = epoch + the package's place in
// the transaction; checked on every build and in tests/integration/rpm-dom0.test.ts),
// so the rpm database records the epoch, not the build's clock. What dnf leaves
// that depends on the run (its history database, logs, caches) is removed, the
// sqlite rpmdb's write-ahead log is folded back into the database file, and
// rpm's own lock file is removed (rpm makes it again on first use).
import { existsSync } from 'node:fs';
import { mkdir, readdir, readlink, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, isAbsolute, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { XsforgeError } from '../core/errors.ts';
import { hashJson, sha256 } from '../core/hash.ts';
import { defineStage, type Stage, type StageContext } from '../core/stage.ts';
import { clockInstallTimes, dnfConfText, dnfInstallArgv, dnfInstallProblems, fileUrl, parseRpmQa, REPO_ID_RE, RPM_QA_FORMAT, type DnfRepository, type InstalledRpm } from './dnf-config.ts';
import { archiveRootTree, bootLinks, DEFAULT_ZSTD_LEVEL, ROOT_JSON, ROOT_TAR, writeRootManifest, type Dom0RootInfo } from './rootfs.ts';

const here = dirname(fileURLToPath(import.meta.url));

/** Where the root's rpm database lives (EL's place; Debian's rpm would default to ~/.rpmdb). */
export const RPM_DB_PATH = '/var/lib/rpm';

/** One repository dnf installs from: exactly one of url, path or stage. */
export interface RpmRepositorySpec {
  /** dnf repository id */
  name: string;
  /** http(s):// URL of the directory that holds repodata/ */
  url?: string;
  /** local directory that holds repodata/ (absolute) */
  path?: string;
  /** a stage whose output is the repository (e.g. repo/stage.ts yumRepoStage) */
  stage?: Stage<any>;
  /**
   * ASCII-armoured public key files, absolute paths (for a stage repository, a
   * relative path names a file in the stage's output, e.g. RPM-GPG-KEY-xenserver);
   * any key turns on gpgcheck=1
   */
  gpgkeys?: string[];
  /** check repodata/repomd.xml.asc too; default: true when keys are given */
  repoGpgcheck?: boolean;
}

export interface RpmDom0Input {
  repositories: RpmRepositorySpec[];
  /** comps group ids, installed as @id */
  groups: string[];
  /** package names besides the groups */
  packages: string[];
  /** dnf's $releasever */
  releasever: string;
  /** rpm --excludedocs for every package (dnf --nodocs) */
  nodocs?: boolean;
  /** zstd level for the archive (default DEFAULT_ZSTD_LEVEL) */
  zstdLevel?: number;
}

/** dom0-root.json of an RPM dom0: the Debian shape plus where the rpm database is. */
export interface RpmDom0RootInfo extends Dom0RootInfo {
  provider: 'rpm';
  rpmDbPath: string;
}

/** Left behind by dnf and rpm, different on every run; none is needed on the host. */
const PRUNE = [
  'var/cache/dnf', 'var/cache/yum', 'var/lib/dnf', 'var/lib/yum',
  // rpm makes its lock file again when it needs one
  `${RPM_DB_PATH.slice(1)}/.rpm.lock`, `${RPM_DB_PATH.slice(1)}/.dbenv.lock`,
  'var/lib/systemd/random-seed', 'var/lib/dbus/machine-id',
];
/** dnf's logs, wherever its logdir setting fell. */
const PRUNE_LOGS = /^(dnf(\.librepo|\.rpm)?\.log|hawkey\.log)(\.\d+)?$/;

type KeyedRepo =
  | { name: string; from: 'url'; url: string; repomdSha256: string; keys: string[]; repoGpgcheck: boolean }
  | { name: string; from: 'path'; keys: string[]; repoGpgcheck: boolean }
  | { name: string; from: 'stage'; stage: string; keys: string[]; stageKeys: string[]; repoGpgcheck: boolean };

const repomdInput = (name: string) => `repo:${name}:repomd.xml`;
const keyInput = (name: string, i: number) => `repo:${name}:gpgkey${i}`;
const stageAlias = (name: string) => `repo:${name}`;

async function urlRepomdDigest(url: string): Promise<string> {
  const where = `${url.replace(/\/+$/, '')}/repodata/repomd.xml`;
  let res: Response;
  try {
    res = await fetch(where);
  } catch (e) {
    throw new XsforgeError(`cannot read ${where}: ${(e as Error).message}`, 'the repository must be reachable when the build is planned: its repomd.xml is part of the dom0 stage key');
  }
  if (!res.ok) throw new XsforgeError(`cannot read ${where}: HTTP ${res.status}`, 'is the URL the directory that holds repodata/?');
  return sha256(Buffer.from(await res.arrayBuffer()));
}

/**
 * The build stage `dom0-rootfs` from RPM repositories: out/dom0-root.tar.zst and
 * out/dom0-root.json, as the Debian provider makes them. Async because a URL
 * repository's repomd.xml is read now: its digest is part of the key (a local
 * repository's repomd.xml, and every key file, are input files; a stage
 * repository is a dependency).
 */
export async function rpmDom0RootfsStage(input: RpmDom0Input): Promise<Stage<any>> {
  const problems = dnfInstallProblems(input);
  const inputFiles: Record<string, string> = {
    'rpm-provider.ts': join(here, 'rpm-provider.ts'), 'dnf-config.ts': join(here, 'dnf-config.ts'), 'rootfs.ts': join(here, 'rootfs.ts'),
  };
  const deps: Record<string, Stage<any>> = {};
  const keyed: KeyedRepo[] = [];
  const names = new Set<string>();
  if (input.repositories.length === 0) problems.push('no repositories');
  for (const r of input.repositories) {
    const where = [r.url, r.path, r.stage].filter((x) => x !== undefined).length;
    if (!REPO_ID_RE.test(r.name)) problems.push(`repository name ${JSON.stringify(r.name)} is not letters, digits and . _ : -`);
    if (names.has(r.name)) problems.push(`repository ${r.name} is listed twice`);
    names.add(r.name);
    if (where !== 1) { problems.push(`repository ${r.name}: give exactly one of url, path (or a stage)`); continue; }
    const keys = (r.gpgkeys ?? []).filter((k) => isAbsolute(k));
    const stageKeys = (r.gpgkeys ?? []).filter((k) => !isAbsolute(k));
    for (const k of stageKeys) {
      if (!r.stage) problems.push(`repository ${r.name}: gpg key ${k} is not an absolute path`);
      else if (k.split('/').includes('..')) problems.push(`repository ${r.name}: gpg key ${k} is not a path inside the repository`);
    }
    keys.forEach((k, i) => {
      if (!existsSync(k)) problems.push(`repository ${r.name}: gpg key ${k} does not exist`);
      else if (!existsSync(k)) problems.push(`repository ${r.name}: gpg key ${k} does not exist`);
      else inputFiles[keyInput(r.name, i)] = k;
    });
    const common = { name: r.name, keys: keys.map((_, i) => keyInput(r.name, i)), repoGpgcheck: r.repoGpgcheck ?? (r.gpgkeys ?? []).length > 0 };
    if (r.path !== undefined) {
      const repomd = join(r.path, 'repodata', 'repomd.xml');
      if (!isAbsolute(r.path)) problems.push(`repository ${r.name}: path ${r.path} is not absolute`);
      else if (!existsSync(repomd)) problems.push(`repository ${r.name}: ${repomd} does not exist (is ${r.path} a yum repository?)`);
      else inputFiles[repomdInput(r.name)] = repomd;
      keyed.push({ ...common, from: 'path' });
    } else if (r.url !== undefined) {
      if (!/^https?:\/\/\S+$/.test(r.url)) { problems.push(`repository ${r.name}: url ${r.url} is not http(s)://`); continue; }
      if (problems.length) continue; // do not go to the network for an input that fails anyway
      keyed.push({ ...common, from: 'url', url: r.url, repomdSha256: await urlRepomdDigest(r.url) });
    } else {
      deps[stageAlias(r.name)] = r.stage!;
      keyed.push({ ...common, from: 'stage', stage: r.stage!.name, stageKeys });
    }
  }
  if (problems.length) throw new XsforgeError(`dom0 from RPM repositories: ${problems.length === 1 ? problems[0] : `\n  - ${problems.join('\n  - ')}`}`);
  const groups = [...new Set(input.groups)].sort();
  const packages = [...new Set(input.packages)].sort();
  const zstdLevel = input.zstdLevel ?? DEFAULT_ZSTD_LEVEL;

  return defineStage({
    name: 'dom0-rootfs',
    version: 1,
    options: {
      provider: 'rpm', repositories: keyed, groups, packages, releasever: input.releasever,
      nodocs: input.nodocs ?? false, zstdLevel, rpmDbPath: RPM_DB_PATH,
    },
    deps,
    inputFiles,
    // dnf and rpm by their Debian package versions (the rpm python bindings dnf loads come with rpm)
    tools: ['dnf', 'rpm', 'rpmdb', 'tar', 'zstd'],
    artifacts: {
      [ROOT_TAR]: { path: ROOT_TAR, kind: 'dom0-root' },
      [ROOT_JSON]: { path: ROOT_JSON, kind: 'dom0-root-info' },
    },
    async run(ctx) {
      const repos: DnfRepository[] = keyed.map((k) => ({
        id: k.name,
        baseurl: k.from === 'url' ? k.url : fileUrl(k.from === 'stage' ? ctx.dep(stageAlias(k.name)) : dirname(dirname(ctx.inputFile(repomdInput(k.name))))),
        gpgkeys: [...k.keys.map((key) => ctx.inputFile(key)), ...(k.from === 'stage' ? k.stageKeys.map((f) => join(ctx.dep(stageAlias(k.name)), f)) : [])],
        repoGpgcheck: k.repoGpgcheck,
      }));
      const info = await buildRpmDom0(ctx, { repos, groups, packages, releasever: input.releasever, nodocs: input.nodocs ?? false, zstdLevel });
      ctx.log(`dom0 root (rpm): ${info.size} bytes (${info.uncompressedSize} as tar), ${info.packages.length} packages, kernel ${info.kernelRelease}, Xen ${info.xenVersion}`);
    },
  });
}

interface BuildParams {
  repos: DnfRepository[];
  groups: string[];
  packages: string[];
  releasever: string;
  nodocs: boolean;
  zstdLevel: number;
}

async function buildRpmDom0(ctx: StageContext<any>, p: BuildParams): Promise<RpmDom0RootInfo> {
  if (process.getuid?.() !== 0) throw new XsforgeError('building the dom0 root needs root', 'rpm chroots into the root for package scripts and sets file owners; run the build as root');
  if (/\s/.test(ctx.work)) throw new XsforgeError(`work directory "${ctx.work}" contains white space`, 'dnf.conf cannot name such a path; use another cache directory');
  const root = join(ctx.work, 'dom0-root');
  await rm(root, { recursive: true, force: true });
  await mkdir(root, { recursive: true });
  // one dnf cache per repository set (URL repositories keep their packages here between builds)
  const cachedir = join(ctx.downloadCache, 'dnf', hashJson(p.repos.map((r) => r.baseurl)).slice(0, 16));
  await mkdir(cachedir, { recursive: true });
  const config = join(ctx.work, 'dnf.conf');
  await writeFile(config, dnfConfText(p.repos));
  // rpm reads ~/.rpmmacros: the database goes where an RPM system keeps it
  // (Debian's rpm would put it in ~/.rpmdb), whoever runs the build
  const home = join(ctx.work, 'home');
  await mkdir(home, { recursive: true });
  await writeFile(join(home, '.rpmmacros'), `%_dbpath ${RPM_DB_PATH}\n`);
  const env = { HOME: home, SOURCE_DATE_EPOCH: String(ctx.sourceDateEpoch), TZ: 'UTC', LC_ALL: 'C.UTF-8' };

  ctx.progress(`dnf: installing ${[...p.groups.map((g) => `@${g}`), ...p.packages].join(' ')}`);
  await ctx.run(dnfInstallArgv({ config, installroot: root, cachedir, releasever: p.releasever, groups: p.groups, packages: p.packages, nodocs: p.nodocs }), {
    env, tailBytes: 6000,
    hint: `dnf read only ${config} (repositories: ${p.repos.map((r) => `${r.id} ${r.baseurl}`).join(', ')}); check that the groups and packages exist there`,
  });
  const dbFile = join(root, RPM_DB_PATH.slice(1), 'rpmdb.sqlite');
  if (!existsSync(dbFile)) throw new XsforgeError(`dnf left no rpm database at ${RPM_DB_PATH}/rpmdb.sqlite`, 'the host rpm ignored %_dbpath from $HOME/.rpmmacros');

  const rpmQ = (args: string[]) => ctx.run(['rpm', '--root', root, '--dbpath', RPM_DB_PATH, ...args], { env });
  const installed = parseRpmQa((await rpmQ(['--query', '--all', '--queryformat', RPM_QA_FORMAT])).stdout);
  const late = clockInstallTimes(installed, ctx.sourceDateEpoch);
  if (late.length) {
    throw new XsforgeError(`rpm recorded install times from the clock, not SOURCE_DATE_EPOCH ${ctx.sourceDateEpoch}: ${late.map((x) => `${x.name} ${x.installTime}`).join(', ')}`,
      'this rpm does not honour SOURCE_DATE_EPOCH at install time (rpm 4.18 does)');
  }
  // the database is queried again (and written by a later rpm) only after this: fold the WAL in now
  await settleRpmDb(ctx, root, env);

  ctx.progress('normalising the root tree');
  await pruneRpmRoot(root);
  // dnf 4.14 writes expired_repos.json to <root>/<cachedir> even when cachedir is outside
  // the root: remove that tree and the directories it made, up to one a package owns
  const owned = new Set((await rpmQ(['--query', '--all', '--queryformat', '[%{FILENAMES}\\n]'])).stdout.split('\n').filter(Boolean));
  await rm(join(root, cachedir), { recursive: true, force: true });
  for (let d = dirname(cachedir); d !== '/' && !owned.has(d); d = dirname(d)) {
    if ((await readdir(join(root, d)).catch(() => ['?'])).length) break;
    await rm(join(root, d), { recursive: true, force: true });
  }
  const boot = await bootLinks(root);
  const xenFile = await readlink(join(root, 'boot/xen.gz'));
  const xenOwner = await rpmQ(['--query', '--file', `/boot/${xenFile}`, '--queryformat', '%{VERSION}\\n']).catch(() => undefined);
  const xenVersion = xenOwner?.stdout.trim().split('\n')[0];
  if (!xenVersion) throw new XsforgeError(`/boot/${xenFile} belongs to no package in the dom0 rpm database`, 'the hypervisor must come from a package (e.g. <brand>-hypervisor)');
  // the queries above open the database read-only; fold anything they left in once more
  await settleRpmDb(ctx, root, env);

  const archive = await archiveRootTree({ root, work: ctx.work, outDir: ctx.out, run: ctx.run, sourceDateEpoch: ctx.sourceDateEpoch, zstdLevel: p.zstdLevel, progress: ctx.progress });
  const info: RpmDom0RootInfo = {
    ...archive,
    kernelRelease: boot.kernelRelease,
    xenVersion,
    packages: rpmPackagesForManifest(installed),
    provider: 'rpm',
    rpmDbPath: RPM_DB_PATH,
  };
  await writeRootManifest(ctx.out, info);
  return info;
}

export function rpmPackagesForManifest(installed: InstalledRpm[]): { name: string; version: string }[] {
  return installed.map((x) => ({ name: x.name, version: x.arch ? `${x.version}.${x.arch}` : x.version }));
}

/**
 * rpm 4.18 keeps the database in sqlite WAL mode: rpmdb.sqlite-wal and -shm
 * beside it hold pages not yet in the main file, and -shm is a memory map
 * whose bytes vary. `rpmdb --rebuilddb` writes a fresh database in one go; then
 * the side files, if any are left and empty, go.
 */
async function settleRpmDb(ctx: StageContext<any>, root: string, env: Record<string, string>): Promise<void> {
  await ctx.run(['rpmdb', '--root', root, '--dbpath', RPM_DB_PATH, '--rebuilddb'], { env });
  const dir = join(root, RPM_DB_PATH.slice(1));
  for (const side of ['rpmdb.sqlite-wal', 'rpmdb.sqlite-shm']) {
    const f = join(dir, side);
    if (!existsSync(f)) continue;
    const wal = join(dir, 'rpmdb.sqlite-wal');
    if (existsSync(wal) && (await stat(wal)).size > 0) throw new XsforgeError(`${RPM_DB_PATH}/rpmdb.sqlite-wal still holds ${(await stat(wal)).size} bytes after rpmdb --rebuilddb`);
    await rm(f, { force: true });
  }
}

async function pruneRpmRoot(root: string): Promise<void> {
  for (const rel of PRUNE) await rm(join(root, rel), { recursive: true, force: true });
  for (const f of await readdir(join(root, 'var/log')).catch(() => [] as string[])) {
    if (PRUNE_LOGS.test(f)) await rm(join(root, 'var/log', f), { force: true });
  }
  for (const dir of ['tmp', 'var/tmp']) {
    for (const f of await readdir(join(root, dir)).catch(() => [] as string[])) await rm(join(root, dir, f), { recursive: true, force: true });
  }
  // scriptlets run chrooted before anything is mounted on /dev: their ">/dev/null"
  // makes a plain file there (the host mounts devtmpfs on /dev)
  for (const e of await readdir(join(root, 'dev'), { withFileTypes: true }).catch(() => [])) {
    if (e.isFile()) await rm(join(root, 'dev', e.name), { force: true });
  }
  // dnf makes /etc/dnf/modules.d in the root; no dnf runs there
  await rmEmptyDirs(join(root, 'etc/dnf'));
  // a machine-id made by a package script would be the same on every host
  if (existsSync(join(root, 'etc/machine-id'))) await writeFile(join(root, 'etc/machine-id'), '');
}

/** Remove dir if it holds nothing but empty directories. */
async function rmEmptyDirs(dir: string): Promise<boolean> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return false;
  }
  let empty = true;
  for (const e of entries) if (!e.isDirectory() || !await rmEmptyDirs(join(dir, e.name))) empty = false;
  if (empty) await rm(dir, { recursive: true, force: true });
  return empty;
}

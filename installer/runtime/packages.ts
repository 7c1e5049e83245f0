// The product repository on the install source (Packages/, repodata/): verified
// before the disk is touched (every package re-hashed against primary metadata,
// the metadata against repomd.xml, repomd.xml against its signature when the
// media carry a key), then the packages of the comps groups xenserver_base and
// xenserver_dom0 installed into the new dom0 with the target's own rpm.
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, unlinkSync } from 'node:fs';
import { basename, join } from 'node:path';
import { parseComps, type CompsGroup } from '../../repo/comps.ts';
import { damagedPackagesMessage, decompressMetadata, parsePrimary, parseRepomd, verifyRepository, type PrimaryPackage } from '../../repo/verify.ts';
import { FetchError, fetchToFile, type FetchEnv } from './fetch.ts';
import { parseTreeinfo } from '../../media/treeinfo.ts';

/** What a fresh install puts into dom0 (SPEC section 1: the product installs @xenserver_base @xenserver_dom0). */
export const INSTALL_GROUPS = ['xenserver_base', 'xenserver_dom0'];

export class RepositoryError extends FetchError {}

/** Where dom0's rpm database lives (what RPM-based dom0s use; Debian dom0s get a macro saying so). */
export const RPM_DB_PATH = '/var/lib/rpm';

export interface ProductRepository {
  dir: string;
  packages: PrimaryPackage[];
  groups: CompsGroup[];
  /** RPM-GPG-KEY-* files at the repository root */
  keyFiles: string[];
}

function readGroups(dir: string, hrefOf: (type: string) => string | undefined): CompsGroup[] {
  const href = hrefOf('group') ?? hrefOf('group_gz');
  if (!href) return [];
  return parseComps(decompressMetadata(readFileSync(join(dir, href)), href));
}

/**
 * Check the repository in `dir` (a mounted medium or a downloaded copy).
 * Returns undefined when the source has no repository (older media: dom0 root only).
 */
export async function verifyProductRepository(env: FetchEnv, dir: string): Promise<ProductRepository | undefined> {
  if (!existsSync(join(dir, 'repodata', 'repomd.xml'))) {
    env.log.say(`The installation source has no product repository (repodata/repomd.xml): only the dom0 root image is installed`);
    return undefined;
  }
  const keyFiles = readdirSync(dir).filter((f) => f.startsWith('RPM-GPG-KEY-')).sort();
  env.log.say(`Verifying the installation source (${dir})`);
  const t0 = Date.now();
  const result = await verifyRepository(dir, {
    ...(keyFiles.length ? { keyringFile: join(dir, keyFiles[0]!) } : {}),
    onProgress: (done, total) => { if (done === total || done % 50 === 0) env.log.detail(`verified ${done}/${total} packages`); },
  });
  if (!result.metadataOk) {
    throw new RepositoryError(`The repository metadata on the installation source is damaged:\n${result.metadataProblems.join('\n')}`);
  }
  if (result.damaged.length) {
    for (const d of result.damaged) env.log.detail(`damaged: ${d.href}: sha256 ${d.actual}, primary metadata says ${d.expected}`);
    throw new RepositoryError(damagedPackagesMessage(result.damaged.map((d) => basename(d.href))));
  }
  if (keyFiles.length) {
    if (result.signature.status !== 'good') {
      throw new RepositoryError(`The repository signature (repodata/repomd.xml.asc) could not be verified with ${keyFiles[0]}: ${result.signature.status}${result.signature.detail ? ` (${result.signature.detail})` : ''}`);
    }
    env.log.say(`Repository signature good (key ${result.signature.keyId ?? keyFiles[0]})`);
  } else {
    env.log.say('The installation source is unsigned (no RPM-GPG-KEY-* on it): packages are checked by their sha256 only');
  }
  const repomd = parseRepomd(readFileSync(join(dir, 'repodata', 'repomd.xml'), 'utf8'));
  const hrefOf = (type: string) => repomd.data.find((d) => d.type === type)?.href;
  const primaryHref = hrefOf('primary')!;
  const packages = parsePrimary(decompressMetadata(readFileSync(join(dir, primaryHref)), primaryHref));
  const groups = readGroups(dir, hrefOf);
  env.log.say(`Installation source verified: ${result.packages} packages, sha256 checked (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
  return { dir, packages, groups, keyFiles };
}

/**
 * Copy a remote repository (http/https/ftp) to `dest` so it can be verified
 * before the disk is touched: .treeinfo (for [keys]), repomd.xml and what it
 * lists, every package, and the keys. Returns false when the source has no
 * repository. Each fetch is logged with its size and sha256 by fetchToFile.
 */
export async function mirrorRepository(env: FetchEnv, base: string, dest: string): Promise<boolean> {
  const get = async (rel: string) => {
    mkdirSync(join(dest, rel, '..'), { recursive: true });
    await fetchToFile(env, `${base}/${rel}`, join(dest, rel));
  };
  try {
    await get('repodata/repomd.xml');
  } catch {
    return false;
  }
  await get('repodata/repomd.xml.asc').catch(() => undefined);
  const repomd = parseRepomd(readFileSync(join(dest, 'repodata', 'repomd.xml'), 'utf8'));
  for (const d of repomd.data) await get(d.href);
  try {
    await get('.treeinfo');
    const keys = parseTreeinfo(readFileSync(join(dest, '.treeinfo'), 'utf8'), `${base}/.treeinfo`).find((sec) => sec.name === 'keys');
    for (const [, key] of keys?.entries ?? []) await get(key);
  } catch (e) {
    if (e instanceof FetchError) throw e;
    env.log.detail(`${base}/.treeinfo: ${(e as Error).message}`);
  }
  const primaryHref = repomd.data.find((d) => d.type === 'primary')?.href;
  if (!primaryHref) throw new RepositoryError(`${base}/repodata/repomd.xml lists no primary metadata`);
  const packages = parsePrimary(decompressMetadata(readFileSync(join(dest, primaryHref)), primaryHref));
  env.log.say(`Fetching ${packages.length} packages from ${base}`);
  for (const p of packages) await get(p.href);
  return true;
}

/** The packages of the given groups (mandatory and default members), resolved to primary entries. */
export function packagesToInstall(repo: Pick<ProductRepository, 'packages' | 'groups'>, groupIds: string[] = INSTALL_GROUPS): PrimaryPackage[] {
  const names: string[] = [];
  for (const id of groupIds) {
    const g = repo.groups.find((x) => x.id === id);
    if (!g) throw new RepositoryError(`The repository has no comps group ${id}: it is not a product repository`);
    for (const p of g.packages) if (p.type !== 'optional' && !names.includes(p.name)) names.push(p.name);
  }
  return names.map((name) => {
    const candidates = repo.packages.filter((p) => p.name === name && p.arch !== 'src');
    if (!candidates.length) throw new RepositoryError(`Group member ${name} is not in the repository`);
    // the metadata may hold several builds of a package: the last one listed is the newest createrepo saw
    return candidates[candidates.length - 1]!;
  });
}

export interface InstalledPackages {
  nevras: string[];
  /** the hypervisor file the RPMs installed, now what /boot/xen.gz points at */
  hypervisor?: string;
}

/**
 * Install into `target` with install.img's rpm and `--root` (rpm chroots for the
 * scriptlets; /dev and /proc are bound for them). Keys on the media are imported
 * first, so signed packages are checked on the way in. Packages the dom0 root
 * already has (an RPM-based dom0 is assembled from the same repository) are
 * left as they are.
 */
export async function installProductPackages(env: FetchEnv, repo: ProductRepository, target: string): Promise<InstalledPackages> {
  const wanted = packagesToInstall(repo);
  // Debian's rpm keeps its database in ~/.rpmdb unless told: the product's place is /var/lib/rpm
  const rpmRoot = ['--root', target, '--dbpath', RPM_DB_PATH];
  const installedNames = async () => {
    const out = await env.log.run(['rpm', ...rpmRoot, '--query', '--all', '--queryformat', '%{NAME}\\n']).catch(() => ({ stdout: '' }));
    return new Set(out.stdout.split('\n').filter(Boolean));
  };
  const present = await installedNames();
  const pkgs = wanted.filter((p) => !present.has(p.name));
  if (pkgs.length < wanted.length) env.log.say(`Already in the dom0 root: ${wanted.filter((p) => present.has(p.name)).map((p) => p.name).join(', ')}`);
  const stagingRel = 'var/tmp/xsforge-packages';
  const staging = join(target, stagingRel);
  mkdirSync(staging, { recursive: true });
  const binds: string[] = [];
  try {
    for (const fs of ['dev', 'proc']) {
      const dir = join(target, fs);
      mkdirSync(dir, { recursive: true });
      await env.log.run(['mount', '--bind', `/${fs}`, dir]);
      binds.push(dir);
    }
    for (const k of repo.keyFiles) await env.log.run(['rpmkeys', ...rpmRoot, '--import', join(repo.dir, k)]);
    if (pkgs.length) {
      const files = pkgs.map((p) => {
        copyFileSync(join(repo.dir, p.href), join(staging, basename(p.href)));
        return join(staging, basename(p.href));
      });
      env.log.say(`Installing ${pkgs.length} product packages: ${pkgs.map((p) => p.name).join(', ')}`);
      // --force-debian: Debian's rpm otherwise warns that rpm installs belong to dpkg (here they do not)
      await env.log.run(['rpm', ...rpmRoot, '--install', '--verbose', '--force-debian', ...files], { timeoutMs: 1_800_000 });
    }
    const nevras = (await env.log.run(['rpm', ...rpmRoot, '--query', '--all', '--queryformat', '%{NAME}-%{VERSION}-%{RELEASE}.%{ARCH}\\n'])).stdout.split('\n').filter(Boolean).sort();
    const hypervisor = await pointXenAtPackage(env, target);
    return { nevras, ...(hypervisor ? { hypervisor } : {}) };
  } finally {
    for (const dir of binds.reverse()) await env.log.run(['umount', dir]).catch(() => undefined);
    rmSync(staging, { recursive: true, force: true });
  }
}

/**
 * The boot entries load /boot/xen.gz: point it at the hypervisor the product's
 * package installed (the one that provides xen-hypervisor), so the host boots the
 * hypervisor of this build rather than one that came with the base system.
 */
async function pointXenAtPackage(env: FetchEnv, target: string): Promise<string | undefined> {
  let files: string[];
  try {
    files = (await env.log.run(['rpm', '--root', target, '--dbpath', RPM_DB_PATH, '--query', '--whatprovides', 'xen-hypervisor', '--queryformat', '[%{FILENAMES}\\n]'])).stdout.split('\n');
  } catch {
    env.log.say('No package provides xen-hypervisor: /boot/xen.gz stays as the dom0 root has it');
    return undefined;
  }
  const gz = files.find((f) => /^\/boot\/xen-[^/]+\.gz$/.test(f));
  if (!gz) return undefined;
  const link = join(target, 'boot/xen.gz');
  if (existsSync(link) || isDanglingLink(link)) unlinkSync(link);
  symlinkSync(basename(gz), link);
  env.log.say(`/boot/xen.gz -> ${basename(gz)} (from the product repository)`);
  return gz;
}

function isDanglingLink(path: string): boolean {
  try {
    return readdirSync(join(path, '..')).includes(basename(path));
  } catch {
    return false;
  }
}

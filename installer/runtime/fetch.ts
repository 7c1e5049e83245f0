// Getting files the answer file names: answer files, generator scripts, scripts
// and the install repository. http(s)/ftp go through curl; file:// is a path in
// the initramfs or, failing that, on the install medium; nfs:// is mounted
// read-only with mount.nfs when install.img has it.
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { basename, dirname, join } from 'node:path';
import { XsforgeError } from '../../core/errors.ts';
import { findOnPath } from '../../core/which.ts';
import type { InstallLog } from './log.ts';

export interface FetchEnv {
  log: InstallLog;
  /** scratch directory for downloads and mount points */
  workDir: string;
  /** root of sysfs, to list block devices when looking for the install medium */
  sysRoot: string;
  /** device nodes (`/dev`) */
  devRoot: string;
  /** whole disks not to look at for media (the install target) */
  excludeDisks: string[];
  /** mounted directories to unmount at the end */
  mounted: string[];
  /** the install medium's mount point once found (unmountAll forgets it) */
  mediumDir?: string;
  /** NFS exports mounted so far, by export (unmountAll forgets them) */
  nfsDirs?: Record<string, string>;
}

export class FetchError extends XsforgeError {}

/** http://, https://, ftp:// and nfs:// need a network. */
export function isNetworkUrl(url: string): boolean {
  return /^(https?|ftp|nfs):\/\//i.test(url);
}

/** `nfs://server:/dir/file` → { export: 'server:/dir', file: 'file' } */
export function splitNfsUrl(url: string): { server: string; dir: string; file: string } {
  const m = /^nfs:\/\/([^/:]+):(\/.*)$/i.exec(url);
  if (!m) throw new FetchError(`${url}: an NFS location is written nfs://server:/path`);
  const path = m[2]!;
  return { server: m[1]!, dir: dirname(path), file: basename(path) };
}

export function scratchDir(env: FetchEnv, prefix: string): string {
  mkdirSync(env.workDir, { recursive: true });
  return mkdtempSync(join(env.workDir, `${prefix}-`));
}

export async function unmount(env: FetchEnv, dir: string): Promise<void> {
  await env.log.run(['umount', dir]);
  const i = env.mounted.indexOf(dir);
  if (i >= 0) env.mounted.splice(i, 1);
}

/** Mount an NFS export read-only (needs mount.nfs from nfs-common). */
export async function mountNfs(env: FetchEnv, exportSpec: string): Promise<string> {
  if (!findOnPath('mount.nfs')) {
    throw new FetchError(`Cannot mount ${exportSpec}: NFS needs mount.nfs (Debian package nfs-common), which this install.img does not have.`);
  }
  // the source is opened to read its release, then again to install from it: one mount
  const mounted = env.nfsDirs?.[exportSpec];
  if (mounted && env.mounted.includes(mounted)) return mounted;
  const dir = scratchDir(env, 'nfs');
  await env.log.run(['mount', '-t', 'nfs', '-o', 'ro,nolock', exportSpec, dir], { timeoutMs: 120_000 });
  env.mounted.push(dir);
  (env.nfsDirs ??= {})[exportSpec] = dir;
  return dir;
}

const MEDIA_NAME = /^(sr\d+|sd[a-z]+\d*|vd[a-z]+\d*|xvd[a-z]+\d*|hd[a-z]+\d*|nvme\d+n\d+(p\d+)?|mmcblk\d+(p\d+)?)$/;

/** Block devices and partitions that could hold the install medium, optical drives first. */
export function mediaCandidates(names: string[], excludeDisks: string[]): string[] {
  const excluded = excludeDisks.map((d) => basename(d));
  const isExcluded = (n: string) => excluded.some((d) => n === d || (n.startsWith(d) && /^p?\d+$/.test(n.slice(d.length))));
  return names.filter((n) => MEDIA_NAME.test(n) && !isExcluded(n))
    .sort((a, b) => Number(!a.startsWith('sr')) - Number(!b.startsWith('sr')) || (a < b ? -1 : a > b ? 1 : 0));
}

/**
 * The install medium: the first block device (or partition) whose file system
 * has /.treeinfo and the dom0 root image. It stays mounted read-only.
 */
export async function findInstallMedium(env: FetchEnv, rootImage: string): Promise<string> {
  if (env.mediumDir) return env.mediumDir;
  const classDir = join(env.sysRoot, 'class', 'block');
  const names = existsSync(classDir) ? readdirSync(classDir) : [];
  const tried: string[] = [];
  for (const name of mediaCandidates(names, env.excludeDisks)) {
    const dev = join(env.devRoot, name);
    if (!existsSync(dev)) continue;
    const dir = scratchDir(env, `medium-${name}`);
    try {
      await env.log.run(['mount', '-o', 'ro', dev, dir]);
    } catch {
      rmSync(dir, { recursive: true, force: true });
      tried.push(`${name} (no file system)`);
      continue;
    }
    if (existsSync(join(dir, '.treeinfo')) && existsSync(join(dir, rootImage))) {
      env.mounted.push(dir);
      env.log.say(`Found the installation media on ${dev}`);
      env.mediumDir = dir;
      return dir;
    }
    tried.push(`${name} (no .treeinfo and ${rootImage})`);
    await env.log.run(['umount', dir]).catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }
  throw new FetchError('Unable to find the installation media: no device holds a file system with /.treeinfo and ' + rootImage + '.',
    tried.length ? `looked at ${tried.join(', ')}` : 'no CD/DVD, USB or disk device other than the target was found');
}

/** file:///path → the local path. */
export function fileUrlPath(url: string): string {
  return decodeURIComponent(url.replace(/^file:\/\//i, ''));
}

/**
 * Fetch `url` into `dest`. file:// is read from the initramfs, else from the
 * install medium (its path taken relative to the medium's root).
 */
export async function fetchToFile(env: FetchEnv, url: string, dest: string): Promise<void> {
  await fetchToFileUnlogged(env, url, dest);
  // every fetch in the log with what arrived: size and sha256
  const bytes = readFileSync(dest);
  env.log.detail(`fetched ${url}: ${bytes.length} bytes, sha256 ${createHash('sha256').update(bytes).digest('hex')}`);
}

async function fetchToFileUnlogged(env: FetchEnv, url: string, dest: string): Promise<void> {
  mkdirSync(dirname(dest), { recursive: true });
  if (/^file:\/\//i.test(url)) {
    const path = fileUrlPath(url);
    if (existsSync(path)) {
      copyFileSync(path, dest);
      return;
    }
    let medium: string;
    try {
      medium = await findInstallMedium(env, '.');
    } catch {
      throw new FetchError(`${path} does not exist in the installer, and no install medium was found to look for it on`);
    }
    const onMedium = join(medium, path);
    if (!existsSync(onMedium)) throw new FetchError(`${path} exists neither in the installer nor on the install medium`);
    copyFileSync(onMedium, dest);
    return;
  }
  if (/^(https?|ftp):\/\//i.test(url)) {
    await env.log.run(['curl', '--fail', '--silent', '--show-error', '--location', '--retry', '3', '--connect-timeout', '30',
      '--output', dest, url], { captureStdout: false });
    return;
  }
  if (/^nfs:\/\//i.test(url)) {
    const { server, dir, file } = splitNfsUrl(url);
    const mnt = await mountNfs(env, `${server}:${dir}`);
    try {
      copyFileSync(join(mnt, file), dest);
    } finally {
      await unmount(env, mnt).catch(() => undefined);
    }
    return;
  }
  throw new FetchError(`${url}: unsupported location (use http://, https://, ftp://, file:// or nfs://server:/path)`);
}

/** Fetch and read as text. */
export async function fetchText(env: FetchEnv, url: string): Promise<string> {
  const dest = join(scratchDir(env, 'fetch'), basename(url.replace(/[?#].*$/, '')) || 'file');
  await fetchToFile(env, url, dest);
  return readFileSync(dest, 'utf8');
}

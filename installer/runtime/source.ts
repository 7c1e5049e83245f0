// The install source: where dom0/root.tar.zst and dom0/root.json come from
// (local media, a URL, or NFS), and laying the root down with
// `zstd -dc | tar -x` (two processes joined by pipes, no shell) while hashing
// the compressed stream to check it against root.json.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { quoteArg } from '../../core/errors.ts';
import type { RepoSource } from '../../answerfiles/model.ts';
import { TreeinfoError, bootFromTreeinfo, parseTreeinfo } from '../../media/treeinfo.ts';
import type { BootValues } from '../../target/boot-args.ts';
import { FetchError, fetchText, fileUrlPath, findInstallMedium, mountNfs, type FetchEnv } from './fetch.ts';

/** dom0/root.json (contract with the dom0-rootfs stage). */
export interface RootManifest {
  sha256: string;
  size: number;
  uncompressedSize: number;
  kernelRelease: string;
  xenVersion: string;
  packages: unknown;
}

export function parseRootManifest(text: string, where: string): RootManifest {
  let v: Partial<RootManifest>;
  try {
    v = JSON.parse(text) as Partial<RootManifest>;
  } catch (e) {
    throw new FetchError(`${where} is not JSON: ${(e as Error).message}`);
  }
  if (typeof v.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(v.sha256)) throw new FetchError(`${where}: "sha256" must be 64 hex digits`);
  if (typeof v.size !== 'number' || v.size <= 0) throw new FetchError(`${where}: "size" must be a positive number`);
  return {
    sha256: v.sha256, size: v.size, uncompressedSize: Number(v.uncompressedSize ?? 0),
    kernelRelease: String(v.kernelRelease ?? ''), xenVersion: String(v.xenVersion ?? ''), packages: v.packages ?? [],
  };
}

export interface OpenedSource {
  /** for messages: a directory or a URL */
  where: string;
  /** the source as a local directory (media, NFS, file://); absent for http/ftp */
  dir?: string;
  manifest: RootManifest;
  /** a fresh stream of the compressed root image */
  openImage(): Readable;
}

/** Find the source, read and check its manifest. Nothing on the target is touched. */
export async function openSource(env: FetchEnv, source: RepoSource, rootImage: string, rootManifest: string): Promise<OpenedSource> {
  let dir: string | undefined;
  if (source.type === 'local') dir = await findInstallMedium(env, rootImage);
  else if (source.type === 'nfs') dir = await mountNfs(env, source.address);
  else if (/^file:\/\//i.test(source.address)) dir = fileUrlPath(source.address);
  if (dir !== undefined) {
    const manifestPath = join(dir, rootManifest);
    const imagePath = join(dir, rootImage);
    if (!existsSync(imagePath) || !existsSync(manifestPath)) {
      throw new FetchError(`The installation source ${source.address || dir} has no ${rootImage} and ${rootManifest}.`, 'is it a complete copy of the install media?');
    }
    const manifest = parseRootManifest(readFileSync(manifestPath, 'utf8'), manifestPath);
    return { where: dir, dir, manifest, openImage: () => createReadStream(imagePath) };
  }
  const base = source.address.replace(/\/+$/, '');
  if (!/^(https?|ftp):\/\//i.test(base)) throw new FetchError(`Unsupported installation source ${source.address}`);
  let text: string;
  try {
    text = await fetchText(env, `${base}/${rootManifest}`);
  } catch (e) {
    throw new FetchError(`Unable to read ${base}/${rootManifest}: ${(e as Error).message.split('\n')[0]}`, 'is the URL the root of a copy of the install media?');
  }
  const manifest = parseRootManifest(text, `${base}/${rootManifest}`);
  return {
    where: base,
    manifest,
    openImage: () => {
      const argv = ['curl', '--fail', '--silent', '--show-error', '--location', '--retry', '3', '--connect-timeout', '30', `${base}/${rootImage}`];
      env.log.detail(`$ ${argv.map(quoteArg).join(' ')} |`);
      const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
      let err = '';
      child.stderr.on('data', (c: Buffer) => { err = (err + c.toString()).slice(-2000); });
      child.on('close', (code) => {
        if (code !== 0) child.stdout.destroy(new FetchError(`curl ${base}/${rootImage} exited with status ${code}: ${err.trim()}`));
      });
      child.on('error', (e) => child.stdout.destroy(e));
      return child.stdout;
    },
  };
}

export interface ExtractResult {
  bytes: number;
  sha256: string;
}

interface Proc {
  argv: string[];
  done: Promise<void>;
}

/**
 * Stream the image through `zstd -dc` into `tar -x --numeric-owner -C dest`,
 * hashing the compressed bytes. Rejects when a process fails or the size or
 * sha256 differ from the manifest.
 */
export async function extractRoot(env: FetchEnv, src: OpenedSource, rootImage: string, dest: string): Promise<ExtractResult> {
  const zstdArgv = ['zstd', '-dc', '-q'];
  const tarArgv = ['tar', '-x', '--numeric-owner', '-p', '-f', '-', '-C', dest];
  env.log.detail(`$ <${src.where}/${rootImage}> | ${zstdArgv.join(' ')} | ${tarArgv.map(quoteArg).join(' ')}`);
  const zstd = spawn(zstdArgv[0]!, zstdArgv.slice(1), { stdio: ['pipe', 'pipe', 'pipe'] });
  const tar = spawn(tarArgv[0]!, tarArgv.slice(1), { stdio: ['pipe', 'ignore', 'pipe'] });
  const watch = (argv: string[], child: ReturnType<typeof spawn>): Proc => {
    let err = '';
    child.stderr!.on('data', (c: Buffer) => { err = (err + c.toString()).slice(-4000); });
    return {
      argv,
      done: new Promise<void>((resolve, reject) => {
        child.on('error', (e) => reject(new FetchError(`${argv[0]} could not be run: ${e.message}`)));
        child.on('close', (code, signal) => {
          if (code === 0) resolve();
          else reject(new FetchError(`${argv[0]} ${signal ? `was killed by ${signal}` : `exited with status ${code}`}: ${err.trim() || '(no output)'}`));
        });
      }),
    };
  };
  const procs = [watch(zstdArgv, zstd), watch(tarArgv, tar)];
  // a process that dies early closes its stdin: EPIPE there is reported by its exit status instead
  zstd.stdin!.on('error', () => undefined);
  tar.stdin!.on('error', () => undefined);
  zstd.stdout!.pipe(tar.stdin!);

  const hash = createHash('sha256');
  let bytes = 0;
  const input = src.openImage();
  const fed = new Promise<void>((resolve, reject) => {
    input.on('data', (c: Buffer) => {
      hash.update(c);
      bytes += c.length;
    });
    input.on('error', (e) => {
      zstd.stdin!.destroy();
      reject(e);
    });
    input.on('end', resolve);
    input.pipe(zstd.stdin!);
  });
  const results = await Promise.allSettled([fed, ...procs.map((p) => p.done)]);
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  const sha256 = hash.digest('hex');
  env.log.detail(`${rootImage}: read ${bytes} bytes, sha256 ${sha256}`);
  if (bytes !== src.manifest.size || sha256 !== src.manifest.sha256) {
    throw new FetchError(`${rootImage} from ${src.where} is damaged: ${bytes} bytes with sha256 ${sha256}, but root.json says ${src.manifest.size} bytes with sha256 ${src.manifest.sha256}.`);
  }
  if (failed) throw failed.reason as Error;
  return { bytes, sha256 };
}

/**
 * What a medium's .treeinfo says about the release on it ([branding], [build],
 * [platform]; SPEC §1) and what the installed host boots with ([xsforge-boot]).
 */
export interface MediumProduct {
  brand?: string;
  version?: string;
  build_number?: string;
  platform?: { name: string; version: string };
  boot?: BootValues;
}

/** The release named by .treeinfo text; fields the file lacks stay absent. Pure; a bad [xsforge-boot] throws. */
export function mediumProductFromTreeinfo(text: string, where: string): MediumProduct {
  const sections = parseTreeinfo(text, where);
  const get = (section: string, key: string) => sections.find((s) => s.name === section)?.entries.find(([k]) => k.toLowerCase() === key)?.[1];
  const out: MediumProduct = {};
  const brand = get('branding', 'name');
  const version = get('branding', 'version');
  const build = get('build', 'number');
  const platformName = get('platform', 'name');
  const platformVersion = get('platform', 'version');
  if (brand) out.brand = brand;
  if (version) out.version = version;
  if (build) out.build_number = build;
  if (platformName && platformVersion) out.platform = { name: platformName, version: platformVersion };
  const boot = bootFromTreeinfo(sections, where);
  if (boot) out.boot = boot;
  return out;
}

/**
 * The opened source's .treeinfo as a MediumProduct; undefined (logged) when it
 * has none or it cannot be read or parsed. Boot values it names but that cannot
 * be used stop the install (the host would not boot as the medium says).
 */
export async function readSourceProduct(env: FetchEnv, source: Pick<OpenedSource, 'dir' | 'where'>): Promise<MediumProduct | undefined> {
  const where = source.dir ? join(source.dir, '.treeinfo') : `${source.where}/.treeinfo`;
  const skip = (e: unknown) => {
    env.log.detail(`${where}: ${(e as Error).message.split('\n')[0]}`);
    return undefined;
  };
  let text: string;
  try {
    text = source.dir ? readFileSync(where, 'utf8') : await fetchText(env, where);
  } catch (e) {
    return skip(e);
  }
  try {
    return mediumProductFromTreeinfo(text, where);
  } catch (e) {
    if (e instanceof TreeinfoError) return skip(e);
    throw e;
  }
}

/**
 * The product this install lays down: install.img's identity with the
 * source's release over it (a CU base-install medium names 7.1.3 while the
 * installer program is the same), and the boot values it names for the
 * installed host ([xsforge-boot]). The brand must match: another product's
 * medium is refused before any disk is touched.
 */
export function productOfSource<T extends { brand: string; version: string; build_number: string; platform: { name: string; version: string } }>(installer: T, medium: MediumProduct | undefined, where: string): T & { boot?: BootValues } {
  if (!medium) return installer;
  if (medium.brand && medium.brand !== installer.brand) {
    throw new FetchError(`The installation source ${where} holds ${medium.brand} ${medium.version ?? ''}`.trimEnd() + `, not ${installer.brand}: this installer cannot install it.`,
      `use the ${medium.brand} installer, or a ${installer.brand} source`);
  }
  return {
    ...installer,
    ...(medium.version && { version: medium.version }),
    ...(medium.build_number && { build_number: medium.build_number }),
    ...(medium.platform && { platform: medium.platform }),
    ...(medium.boot && { boot: medium.boot }),
  };
}

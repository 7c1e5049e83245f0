// Debian archive access with an apt root of our own (in the cache, not the
// host's /etc/apt): the recipe names mirror, suite and components; the index is
// fetched once and refreshed on request; packages are resolved to exact
// version + sha256 (what stage keys use) and downloaded into a content-addressed
// store. Resolutions are memoised per index digest so a no-op build runs no apt.
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { XsforgeError } from '../core/errors.ts';
import { run } from '../core/exec.ts';
import { hashJson, sha256, sha256File } from '../core/hash.ts';

export interface DebianSource {
  mirror: string;
  suite: string;
  components: string[];
}

export interface ResolvedPackage {
  name: string;
  version: string;
  filename: string; // pool path, relative to mirror
  sha256: string;
  size: number;
  depends: string;
}

const KEYRING = '/usr/share/keyrings/debian-archive-keyring.gpg';

export class AptRoot {
  readonly dir: string;
  private memoFile: string;
  private memo: Record<string, ResolvedPackage> | undefined;
  private indexDigestValue: string | undefined;

  constructor(readonly source: DebianSource, downloadsRoot: string) {
    this.dir = join(downloadsRoot, 'apt', hashJson(source).slice(0, 16));
    this.memoFile = join(this.dir, 'resolved.json');
  }

  private aptOptions(): string[] {
    const d = this.dir;
    const o = (k: string, v: string) => ['-o', `${k}=${v}`];
    return [
      ...o('Dir::Etc::SourceList', join(d, 'etc/sources.list')),
      ...o('Dir::Etc::SourceParts', join(d, 'etc/sources.list.d')),
      ...o('Dir::Etc::Preferences', join(d, 'etc/preferences')),
      ...o('Dir::Etc::PreferencesParts', join(d, 'etc/preferences.d')),
      ...o('Dir::Etc::Parts', join(d, 'etc/apt.conf.d')),
      ...o('Dir::State::Lists', join(d, 'lists')),
      ...o('Dir::State::status', join(d, 'status')),
      ...o('Dir::Cache', join(d, 'cache')),
      ...o('Dir::Cache::archives', join(d, 'archives')),
      ...o('APT::Architecture', 'amd64'),
      ...o('APT::Architectures', 'amd64'),
      ...o('Acquire::Languages', 'none'),
      ...o('Debug::NoLocking', '1'),
    ];
  }

  private prepare(): void {
    for (const sub of ['etc/sources.list.d', 'etc/preferences.d', 'etc/apt.conf.d', 'lists/partial', 'cache', 'archives/partial', 'debs'])
      mkdirSync(join(this.dir, sub), { recursive: true });
    const line = `deb [signed-by=${KEYRING}] ${this.source.mirror} ${this.source.suite} ${this.source.components.join(' ')}\n`;
    writeFileSync(join(this.dir, 'etc/sources.list'), line);
    if (!existsSync(join(this.dir, 'status'))) writeFileSync(join(this.dir, 'status'), '');
  }

  hasIndex(): boolean {
    return existsSync(join(this.dir, 'lists')) && readdirSync(join(this.dir, 'lists')).some((f) => f.endsWith('InRelease') || f.endsWith('Release'));
  }

  /** Fetch the package index if absent (or when refresh is asked for). */
  async ensureIndex(refresh = false): Promise<void> {
    if (this.hasIndex() && !refresh) return;
    this.prepare();
    await run(['apt-get', ...this.aptOptions(), 'update'], {
      hint: `check that ${this.source.mirror} is reachable and serves ${this.source.suite}`,
    });
    this.indexDigestValue = undefined;
    this.memo = {};
    writeFileSync(this.memoFile, '{}');
  }

  /** Digest of the signed Release files: changes exactly when the index does. */
  indexDigest(): string {
    if (this.indexDigestValue) return this.indexDigestValue;
    const lists = join(this.dir, 'lists');
    const rel = readdirSync(lists).filter((f) => /_(In)?Release$/.test(f)).sort();
    this.indexDigestValue = sha256(rel.map((f) => `${f}\n${sha256(readFileSync(join(lists, f)))}`).join('\n'));
    return this.indexDigestValue;
  }

  private loadMemo(): Record<string, ResolvedPackage> {
    if (!this.memo) {
      try { this.memo = JSON.parse(readFileSync(this.memoFile, 'utf8')); } catch { this.memo = {}; }
    }
    return this.memo!;
  }

  /** Candidate version of each package in our index, memoised per index digest. */
  async resolve(names: string[]): Promise<ResolvedPackage[]> {
    const memo = this.loadMemo();
    const digest = this.indexDigest();
    const missing = names.filter((n) => !memo[`${digest}:${n}`]);
    if (missing.length) {
      let out: string;
      try {
        out = (await run(['apt-cache', ...this.aptOptions(), 'show', '--no-all-versions', ...missing])).stdout;
      } catch (err) {
        throw new XsforgeError(`cannot resolve Debian package(s) ${missing.join(', ')} in ${this.source.suite}: ${(err as Error).message.split('\n')[0]}`,
          `check the package names in the recipe, or refresh the index with --refresh-index`);
      }
      for (const para of out.split(/\n\n+/)) {
        const field = (f: string) => new RegExp(`^${f}: (.*)$`, 'm').exec(para)?.[1]?.trim() ?? '';
        const name = field('Package');
        if (!name) continue;
        memo[`${digest}:${name}`] = {
          name, version: field('Version'), filename: field('Filename'), sha256: field('SHA256'),
          size: Number(field('Size')), depends: field('Depends'),
        };
      }
      writeFileSync(this.memoFile, JSON.stringify(memo));
    }
    return names.map((n) => {
      const r = memo[`${digest}:${n}`];
      if (!r) throw new XsforgeError(`Debian package ${n} not found in ${this.source.mirror} ${this.source.suite}`, 'check the package name in the recipe');
      return r;
    });
  }

  /** Follow a metapackage (linux-image-amd64) to the package it depends on by exact version. */
  async resolveMeta(name: string, pattern: RegExp): Promise<ResolvedPackage> {
    const [meta] = await this.resolve([name]);
    const dep = meta.depends.split(',').map((d) => d.trim().split(' ')[0]).find((d) => pattern.test(d));
    if (!dep) return meta;
    const [real] = await this.resolve([dep]);
    return real;
  }

  /** Path of the .deb in the content-addressed store, downloading it if needed. */
  async fetch(pkg: ResolvedPackage): Promise<string> {
    this.prepare();
    const dest = join(this.dir, 'debs', `${pkg.sha256}.deb`);
    if (existsSync(dest)) return dest;
    const tmp = join(this.dir, 'debs', `tmp-${process.pid}-${pkg.name}`);
    await rm(tmp, { recursive: true, force: true });
    mkdirSync(tmp, { recursive: true });
    await run(['apt-get', ...this.aptOptions(), 'download', `${pkg.name}=${pkg.version}`], {
      cwd: tmp, hint: `check that ${this.source.mirror} is reachable`,
    });
    const file = readdirSync(tmp).find((f) => f.endsWith('.deb'));
    if (!file) throw new XsforgeError(`apt-get download ${pkg.name} produced no .deb`);
    const got = await sha256File(join(tmp, file));
    if (got !== pkg.sha256) throw new XsforgeError(`${pkg.name}: downloaded file has sha256 ${got}, index says ${pkg.sha256}`, 'refresh the index with --refresh-index');
    await rename(join(tmp, file), dest);
    await rm(tmp, { recursive: true, force: true });
    return dest;
  }
}

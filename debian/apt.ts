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

/** A Debian source package as the Sources index lists it. */
export interface ResolvedSource {
  name: string;
  version: string;
  /** sha256 of the .dsc: names the whole source (the .dsc lists the others' sums) */
  dscSha256: string;
  files: { name: string; sha256: string; size: number }[];
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
  private sourceMemoFile: string;
  private sourceMemo: Record<string, ResolvedSource> | undefined;
  private sourceDigestValue: string | undefined;

  constructor(readonly source: DebianSource, downloadsRoot: string) {
    this.dir = join(downloadsRoot, 'apt', hashJson(source).slice(0, 16));
    this.memoFile = join(this.dir, 'resolved.json');
    this.sourceMemoFile = join(this.dir, 'resolved-src.json');
  }

  // The source index has its own sources list and lists directory, so fetching
  // it leaves the binary index (and indexDigest(), which stage keys use) as it was.
  private aptOptions(kind: 'binary' | 'source' = 'binary'): string[] {
    const d = this.dir;
    const o = (k: string, v: string) => ['-o', `${k}=${v}`];
    const src = kind === 'source';
    return [
      ...o('Dir::Etc::SourceList', join(d, src ? 'etc/sources-src.list' : 'etc/sources.list')),
      ...o('Dir::Etc::SourceParts', join(d, 'etc/sources.list.d')),
      ...o('Dir::Etc::Preferences', join(d, 'etc/preferences')),
      ...o('Dir::Etc::PreferencesParts', join(d, 'etc/preferences.d')),
      ...o('Dir::Etc::Parts', join(d, 'etc/apt.conf.d')),
      ...o('Dir::State::Lists', join(d, src ? 'lists-src' : 'lists')),
      ...o('Dir::State::status', join(d, 'status')),
      ...o('Dir::Cache', join(d, src ? 'cache-src' : 'cache')),
      ...o('Dir::Cache::archives', join(d, 'archives')),
      ...o('APT::Architecture', 'amd64'),
      ...o('APT::Architectures', 'amd64'),
      ...o('Acquire::Languages', 'none'),
      ...o('Debug::NoLocking', '1'),
    ];
  }

  private prepare(): void {
    for (const sub of ['etc/sources.list.d', 'etc/preferences.d', 'etc/apt.conf.d', 'lists/partial', 'lists-src/partial', 'cache', 'cache-src', 'archives/partial', 'debs', 'sources'])
      mkdirSync(join(this.dir, sub), { recursive: true });
    const where = `[signed-by=${KEYRING}] ${this.source.mirror} ${this.source.suite} ${this.source.components.join(' ')}\n`;
    writeFileSync(join(this.dir, 'etc/sources.list'), `deb ${where}`);
    writeFileSync(join(this.dir, 'etc/sources-src.list'), `deb-src ${where}`);
    if (!existsSync(join(this.dir, 'status'))) writeFileSync(join(this.dir, 'status'), '');
  }

  hasIndex(kind: 'binary' | 'source' = 'binary'): boolean {
    const lists = join(this.dir, kind === 'source' ? 'lists-src' : 'lists');
    return existsSync(lists) && readdirSync(lists).some((f) => f.endsWith('InRelease') || f.endsWith('Release'));
  }

  /** Fetch the package index if absent (or when refresh is asked for). */
  async ensureIndex(refresh = false): Promise<void> {
    if (this.hasIndex() && !refresh) return;
    this.prepare();
    await run(['apt-get', ...this.aptOptions(), '--error-on=any', 'update'], {
      hint: `check that ${this.source.mirror} is reachable and serves ${this.source.suite}`,
    });
    this.indexDigestValue = undefined;
    this.memo = {};
    writeFileSync(this.memoFile, '{}');
  }

  /** Digest of the signed Release files: changes exactly when the index does. */
  indexDigest(): string {
    this.indexDigestValue ??= releaseDigest(join(this.dir, 'lists'));
    return this.indexDigestValue;
  }

  /** Fetch the source (deb-src) index if absent (or when refresh is asked for). */
  async ensureSourceIndex(refresh = false): Promise<void> {
    if (this.hasIndex('source') && !refresh) return;
    this.prepare();
    // --error-on=any: without it an unreachable mirror is only a warning (exit 0) and the failure surfaces later as "no packages found"
    await run(['apt-get', ...this.aptOptions('source'), '--error-on=any', 'update'], {
      hint: `check that ${this.source.mirror} is reachable and serves ${this.source.suite} sources`,
    });
    this.sourceDigestValue = undefined;
    this.sourceMemo = {};
    writeFileSync(this.sourceMemoFile, '{}');
  }

  /** Like indexDigest(), for the source index. */
  sourceIndexDigest(): string {
    this.sourceDigestValue ??= releaseDigest(join(this.dir, 'lists-src'));
    return this.sourceDigestValue;
  }

  /**
   * The source package `name` (or the source of binary package `name`) in our
   * source index: the highest version, or exactly `version` when given.
   * Memoised per source-index digest, like resolve().
   */
  async resolveSource(name: string, version?: string): Promise<ResolvedSource> {
    if (!this.sourceMemo) {
      try { this.sourceMemo = JSON.parse(readFileSync(this.sourceMemoFile, 'utf8')); } catch { this.sourceMemo = {}; }
    }
    const memo = this.sourceMemo!;
    const memoKey = `${this.sourceIndexDigest()}:${name}:${version ?? ''}`;
    if (!memo[memoKey]) {
      let out: string;
      try {
        out = (await run(['apt-cache', ...this.aptOptions('source'), 'showsrc', name])).stdout;
      } catch (err) {
        throw new XsforgeError(`cannot look up Debian source package ${name} in ${this.source.suite}: ${(err as Error).message.split('\n')[0]}`,
          'check the source package name, or refresh the index with --refresh-index');
      }
      const records = parseSourceRecords(out).filter((r) => version === undefined || r.version === version);
      if (!records.length) throw new XsforgeError(`Debian source package ${name}${version ? ` version ${version}` : ''} not found in ${this.source.mirror} ${this.source.suite}`,
        'check the source package name (and version) in the recipe');
      // a binary name can map to its source; prefer a record that is exactly `name`
      const exact = records.filter((r) => r.name === name);
      const pool = exact.length ? exact : records;
      memo[memoKey] = pool.reduce((best, r) => (compareDebianVersions(r.version, best.version) > 0 ? r : best));
      writeFileSync(this.sourceMemoFile, JSON.stringify(memo));
    }
    return memo[memoKey];
  }

  /**
   * Directory holding the .dsc and its tarballs, in a content-addressed place
   * (by .dsc sha256); downloads with `apt-get source --download-only` only when
   * absent, and checks every file's sha256 against the index before keeping it.
   */
  async fetchSource(pkg: ResolvedSource): Promise<string> {
    const dest = join(this.dir, 'sources', pkg.dscSha256);
    if (existsSync(dest)) return dest;
    this.prepare();
    const tmp = join(this.dir, 'sources', `tmp-${process.pid}-${pkg.name}`);
    await rm(tmp, { recursive: true, force: true });
    mkdirSync(tmp, { recursive: true });
    await run(['apt-get', ...this.aptOptions('source'), 'source', '--download-only', '--only-source', `${pkg.name}=${pkg.version}`], {
      cwd: tmp, hint: `check that ${this.source.mirror} is reachable`,
    });
    for (const f of pkg.files) {
      const got = await sha256File(join(tmp, f.name)).catch(() => 'missing');
      if (got !== f.sha256) throw new XsforgeError(`${pkg.name} ${pkg.version}: ${f.name} has sha256 ${got}, index says ${f.sha256}`, 'refresh the index with --refresh-index');
    }
    try {
      await rename(tmp, dest);
    } catch (err) {
      // another build stored the same source first: same sha256s, keep theirs
      if (!existsSync(dest)) throw err;
      await rm(tmp, { recursive: true, force: true });
    }
    return dest;
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

function releaseDigest(lists: string): string {
  const rel = readdirSync(lists).filter((f) => /_(In)?Release$/.test(f)).sort();
  return sha256(rel.map((f) => `${f}\n${sha256(readFileSync(join(lists, f)))}`).join('\n'));
}

/** Records of `apt-cache showsrc` output (deb822 paragraphs) with their sha256 file lists. */
export function parseSourceRecords(text: string): ResolvedSource[] {
  const out: ResolvedSource[] = [];
  for (const para of text.split(/\n\s*\n/)) {
    const name = /^Package: (.+)$/m.exec(para)?.[1]?.trim();
    const version = /^Version: (.+)$/m.exec(para)?.[1]?.trim();
    const block = /^Checksums-Sha256:[^\n]*\n((?:[ \t].*(?:\n|$))+)/m.exec(para)?.[1];
    if (!name || !version || !block) continue;
    const files = block.split('\n').map((l) => l.trim()).filter(Boolean).map((l) => {
      const [sum, size, file] = l.split(/\s+/);
      return { name: file, sha256: sum, size: Number(size) };
    }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    const dsc = files.find((f) => f.name.endsWith('.dsc'));
    if (dsc) out.push({ name, version, dscSha256: dsc.sha256, files });
  }
  return out;
}

/** dpkg's version order (epoch, upstream, revision; "~" sorts before everything). */
export function compareDebianVersions(a: string, b: string): number {
  const split = (v: string) => {
    const colon = v.indexOf(':');
    const epoch = colon >= 0 ? Number(v.slice(0, colon)) : 0;
    const rest = colon >= 0 ? v.slice(colon + 1) : v;
    const dash = rest.lastIndexOf('-');
    return { epoch, upstream: dash >= 0 ? rest.slice(0, dash) : rest, revision: dash >= 0 ? rest.slice(dash + 1) : '0' };
  };
  const order = (c: string) => (c === '~' ? -1 : c === '' ? 0 : /[A-Za-z]/.test(c) ? c.charCodeAt(0) : c.charCodeAt(0) + 256);
  const part = (x: string, y: string): number => {
    let i = 0, j = 0;
    while (i < x.length || j < y.length) {
      while ((i < x.length && !/\d/.test(x[i])) || (j < y.length && !/\d/.test(y[j]))) {
        const cx = i < x.length && !/\d/.test(x[i]) ? x[i] : '';
        const cy = j < y.length && !/\d/.test(y[j]) ? y[j] : '';
        const d = order(cx) - order(cy);
        if (d) return d;
        if (cx) i++;
        if (cy) j++;
      }
      let nx = '', ny = '';
      while (i < x.length && /\d/.test(x[i])) nx += x[i++];
      while (j < y.length && /\d/.test(y[j])) ny += y[j++];
      const d = Number(nx || 0) - Number(ny || 0);
      if (d) return d;
    }
    return 0;
  };
  const va = split(a), vb = split(b);
  return va.epoch - vb.epoch || part(va.upstream, vb.upstream) || part(va.revision, vb.revision);
}

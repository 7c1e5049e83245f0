// The product's yum repository as a stage: Packages/*.rpm (signed first, when
// a key is given, because signing changes the bytes the metadata hashes),
// repodata/ from createrepo_c with the comps groups, repomd.xml.asc and the
// public key RPM-GPG-KEY-<keyName>.
//
// Reproducible: createrepo_c 0.17 writes identical metadata for identical
// inputs once (a) the RPMs' mtimes are fixed (primary.xml records each file's
// mtime as <time file=...>; we set them to SOURCE_DATE_EPOCH), (b) the revision
// and the repomd <timestamp>s come from --revision/--set-timestamp-to-revision,
// and (c) no sqlite databases are made (--no-database; they are not byte-stable).
// It sorts packages by location itself, so directory order does not matter.
// Unique (checksum-named) metadata files are kept: old yum reads them, and
// HTTP caches (netboot, update repositories) cannot serve a stale primary.
import { copyFileSync, linkSync, mkdirSync, readdirSync, readFileSync, statSync, utimesSync } from 'node:fs';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { XsforgeError } from '../core/errors.ts';
import type { Json } from '../core/hash.ts';
import { defineStage, type Stage, type StageContext } from '../core/stage.ts';
import type { ToolName } from '../core/tools.ts';
import { renderComps, type CompsGroup } from './comps.ts';
import { findSigningKey, openGpgSigner, type Signer } from './signer.ts';
import { decompressMetadata, MAX_METADATA_BYTES, parseRepomd, scanPrimaryNames } from './verify.ts';
import { parseRpm } from '../packages/rpm-header.ts';
import { compareEvr, formatEvr, type Evr } from '../updates/rpmvercmp.ts';

export interface SigningOptions {
  /** key id, fingerprint or user id in the keyring */
  key: string;
  /** keyring directory; default $GNUPGHOME, then ~/.gnupg */
  gnupgHome?: string;
  /** file with the key's passphrase; default: gpg-agent */
  passphraseFile?: string;
}

export interface YumRepoStageOptions {
  /** stage name (default "yum-repo") */
  name?: string;
  /** every *.rpm (not *.src.rpm) in these stages' outputs, and these files */
  rpms: { stages?: Record<string, Stage<any>>; files?: string[] };
  comps?: CompsGroup[];
  /** absent: an unsigned repository */
  signing?: SigningOptions;
  /** public key file name: RPM-GPG-KEY-<keyName> */
  keyName?: string;
}

export const REPOMD = 'repodata/repomd.xml';
export const REPOMD_ASC = 'repodata/repomd.xml.asc';

const KEY_NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/**
 * A stage that makes the repository. Async because a signing key is looked up
 * now: a missing key fails before anything is built, and the key's fingerprint
 * (never the secret) goes into the stage key.
 */
export async function yumRepoStage(o: YumRepoStageOptions): Promise<Stage<Json>> {
  const comps = o.comps ?? [];
  const compsXml = comps.length ? renderComps(comps) : undefined; // validates the groups
  if (o.signing && !o.keyName) throw new XsforgeError('a signed repository needs keyName (the public key is written as RPM-GPG-KEY-<keyName>)');
  if (o.keyName && !KEY_NAME_RE.test(o.keyName)) throw new XsforgeError(`key name ${JSON.stringify(o.keyName)} is not allowed`, 'letters, digits, and . _ - (e.g. XS-7)');
  const key = o.signing ? await findSigningKey({ key: o.signing.key, gnupgHome: o.signing.gnupgHome }) : undefined;
  const files = [...(o.rpms.files ?? [])];
  const inputFiles = Object.fromEntries(files.map((f, i) => [`rpm${i}`, f]));
  const tools: ToolName[] = ['createrepo_c', ...(o.signing ? ['rpmsign', 'gpg'] as ToolName[] : [])];
  const keyFile = o.keyName ? `RPM-GPG-KEY-${o.keyName}` : undefined;
  return defineStage<Json>({
    name: o.name ?? 'yum-repo',
    version: 1,
    options: {
      comps: (compsXml ?? null),
      signing: key ? { fingerprint: key.fingerprint, signingFingerprint: key.signing.fingerprint } : null,
      keyFile: key && keyFile ? keyFile : null,
      files: files.map((f) => basename(f)),
    },
    deps: o.rpms.stages,
    inputFiles,
    tools,
    artifacts: {
      repomd: { path: REPOMD, kind: 'yum-repo-metadata' },
      ...(key && keyFile ? { publicKey: { path: keyFile, kind: 'gpg-public-key' } } : {}),
    },
    async run(ctx) {
      const rpms: string[] = [];
      for (const alias of Object.keys(o.rpms.stages ?? {}).sort()) rpms.push(...await findRpms(ctx.dep(alias)));
      const extra = Object.keys(inputFiles).map((k) => ctx.inputFile(k));
      rpms.push(...extra);
      // extra files (e.g. the packages of updates built into the media) may hold
      // newer builds of packages the stages made: one build per name goes in
      if (extra.length) {
        const headers = await Promise.all(rpms.map(async (file) => ({ file, ...parseRpm(await readFile(file)) })));
        const { keep, dropped } = newestByName(headers);
        for (const d of dropped) ctx.log(`left out ${d.nevra} (${basename(d.file)}): ${d.by.nevra} (${basename(d.by.file)}) is ${d.same ? 'the same version' : 'newer'}`);
        rpms.splice(0, rpms.length, ...keep);
      }
      const signer = o.signing && await openGpgSigner({ ...o.signing, sourceDateEpoch: ctx.sourceDateEpoch, run: ctx.run });
      if (signer && signer.fingerprint !== key?.fingerprint) {
        throw new XsforgeError(`signing key '${o.signing!.key}' now names ${signer.fingerprint}, not ${key?.fingerprint} as when the build started`, 'the keyring changed during the build; run it again');
      }
      await assembleRepository({
        out: ctx.out, work: ctx.work, rpms, compsXml, signer: signer || undefined, keyFile,
        sourceDateEpoch: ctx.sourceDateEpoch, run: ctx.run, log: ctx.log, progress: ctx.progress,
        requiredPackages: comps.flatMap((g) => g.packages.filter((p) => p.type !== 'optional').map((p) => ({ group: g.id, name: p.name }))),
      });
    },
  });
}

export interface RpmIdentity extends Evr {
  file: string;
  name: string;
  arch: string;
}

/**
 * One build per package name: the newest in rpm's version order; of equal
 * versions the first listed (stage outputs come before extra files). Returns
 * the files kept in their original order and what was left out, and why.
 */
export function newestByName(pkgs: RpmIdentity[]): { keep: string[]; dropped: { file: string; nevra: string; same: boolean; by: { file: string; nevra: string } }[] } {
  const nevraOf = (p: RpmIdentity) => `${p.name}-${formatEvr(p)}.${p.arch}`;
  const best = new Map<string, RpmIdentity>();
  for (const p of pkgs) {
    const b = best.get(p.name);
    if (!b || compareEvr(p, b) > 0) best.set(p.name, p);
  }
  const dropped = pkgs.filter((p) => best.get(p.name) !== p).map((p) => {
    const b = best.get(p.name)!;
    return { file: p.file, nevra: nevraOf(p), same: compareEvr(p, b) === 0, by: { file: b.file, nevra: nevraOf(b) } };
  });
  return { keep: pkgs.filter((p) => best.get(p.name) === p).map((p) => p.file), dropped };
}

/** Every binary .rpm under a directory, sorted by path. */
export async function findRpms(dir: string): Promise<string[]> {
  const out: string[] = [];
  const visit = async (d: string) => {
    for (const e of (await readdir(d, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const p = join(d, e.name);
      if (e.isDirectory()) await visit(p);
      else if (e.name.endsWith('.rpm') && !e.name.endsWith('.src.rpm')) out.push(p);
    }
  };
  await visit(dir);
  return out;
}

export interface AssembleOptions {
  out: string;
  work: string;
  rpms: string[];
  compsXml?: string;
  signer?: Signer;
  keyFile?: string;
  sourceDateEpoch: number;
  run: StageContext['run'];
  log: (line: string) => void;
  progress?: (note: string) => void;
  /** packages the comps groups install by default: each must be in the repository */
  requiredPackages?: { group: string; name: string }[];
}

export interface AssembledRepository {
  packages: number;
  signed: boolean;
}

/** The createrepo_c command the stage runs (also what benchmarks compare against). */
export function createrepoArgv(dir: string, sourceDateEpoch: number, compsFile?: string): string[] {
  return ['createrepo_c', '--no-database', '--checksum', 'sha256', '--repomd-checksum', 'sha256',
    '--general-compress-type', 'gz', '--revision', String(sourceDateEpoch), '--set-timestamp-to-revision',
    ...(compsFile ? ['--groupfile', compsFile] : []), dir];
}

/** Lays out a repository in `out` (the stage's work, callable without the engine). */
export async function assembleRepository(a: AssembleOptions): Promise<AssembledRepository> {
  const pkgDir = join(a.out, 'Packages');
  mkdirSync(pkgDir, { recursive: true });
  const byName = new Map<string, string>();
  for (const src of a.rpms) {
    const n = basename(src);
    const other = byName.get(n);
    if (other && other !== src) throw new XsforgeError(`two packages are both called ${n}: ${other} and ${src}`, 'each RPM file name may appear once in a repository');
    byName.set(n, src);
  }
  if (byName.size === 0) throw new XsforgeError('the repository has no packages', 'give the repository stage RPMs from an upstream stage or as files');
  const names = [...byName.keys()].sort();
  a.progress?.(`placing ${names.length} packages`);
  const placed: string[] = [];
  // synchronous calls: a thousand small metadata operations in a loop cost
  // ~30 ms this way, several times that through the async thread pool
  for (const n of names) {
    const dest = join(pkgDir, n);
    // rpmsign rewrites a package in place, so signed builds need their own copy;
    // unsigned ones hard-link the upstream cache's immutable file (no bytes copied)
    if (a.signer) copyFileSync(byName.get(n)!, dest);
    else {
      try {
        linkSync(byName.get(n)!, dest);
      } catch {
        copyFileSync(byName.get(n)!, dest); // another file system
      }
    }
    placed.push(dest);
  }
  if (a.signer) {
    a.progress?.(`signing ${placed.length} packages with key ${a.signer.keyId}`);
    a.log(`signing packages and metadata with key ${a.signer.fingerprint} (signing key ${a.signer.keyId}, signature time ${a.signer.signatureTime})`);
    await a.signer.signRpms(placed);
  } else {
    a.log('unsigned build: no signing key configured, so the RPMs are not signed and no repodata/repomd.xml.asc is written');
  }
  // primary.xml records each file's mtime. On a hard link this sets the upstream
  // cache file's mtime too: harmless, cache digests cover contents, not times.
  // A file already at the epoch (linked again from the same upstream file) is
  // only looked at: a stat costs less than a utimes, which dirties the inode.
  const epochMs = a.sourceDateEpoch * 1000;
  for (const p of placed) if (statSync(p).mtimeMs !== epochMs) utimesSync(p, a.sourceDateEpoch, a.sourceDateEpoch);

  let comps: string | undefined;
  if (a.compsXml) {
    // the copy in repodata/ is named after this file
    comps = join(a.work, 'comps.xml');
    await mkdir(a.work, { recursive: true });
    await writeFile(comps, a.compsXml);
  }
  a.progress?.('createrepo_c');
  await a.run(createrepoArgv(a.out, a.sourceDateEpoch, comps), { captureStdout: false });

  // read back what createrepo_c wrote: every package listed, every group's package there
  const repomd = parseRepomd(readFileSync(join(a.out, REPOMD), 'utf8'));
  const primary = repomd.data.find((d) => d.type === 'primary');
  if (!primary || !primary.href.endsWith('.gz')) throw new XsforgeError(`createrepo_c wrote no gzip primary metadata (found ${primary?.href ?? 'none'})`);
  const listed = scanPrimaryNames(gunzipPrimary(readFileSync(join(a.out, primary.href)), primary.href, primary.openSize));
  if (listed.names.length !== names.length || listed.declared !== names.length) {
    throw new XsforgeError(`createrepo_c listed ${listed.names.length} packages (declared ${listed.declared}), but the repository holds ${names.length}`, `see the stage's build log`);
  }
  // yum/dnf resolve a group's packagereq by package name, not by what it provides
  const present = new Set(listed.names);
  const missing = (a.requiredPackages ?? []).filter((r) => !present.has(r.name));
  if (missing.length) {
    throw new XsforgeError(`comps groups name packages the repository does not have: ${missing.map((m) => `${m.name} (group ${m.group})`).join(', ')}`,
      'add the packages to the repository or remove them from the group');
  }

  if (a.signer) {
    await a.signer.detachSign(join(a.out, REPOMD), join(a.out, REPOMD_ASC));
    if (a.keyFile) await writeFile(join(a.out, a.keyFile), await a.signer.exportPublicKey());
  }
  // tidy times on what we wrote (createrepo_c leaves repomd.xml at "now")
  for (const f of readdirSync(join(a.out, 'repodata'))) utimesSync(join(a.out, 'repodata', f), a.sourceDateEpoch, a.sourceDateEpoch);
  if (a.signer && a.keyFile) utimesSync(join(a.out, a.keyFile), a.sourceDateEpoch, a.sourceDateEpoch);
  a.log(`repository: ${names.length} packages, ${a.signer ? `signed by ${a.signer.fingerprint}` : 'unsigned'}`);
  return { packages: names.length, signed: !!a.signer };
}

/**
 * primary.xml.gz as text, inflated into one buffer of the size repomd.xml
 * declares (zlib's default 16 KiB pieces take twice as long for 1,000
 * packages). The size is only a buffer hint: a wrong one still inflates every
 * byte, within the same bound. Anything but gzip, or a failure, goes through
 * decompressMetadata for its checks and its error message.
 */
export function gunzipPrimary(bytes: Buffer, href: string, openSize?: number): string {
  if (openSize === undefined || !(openSize > 0) || bytes[0] !== 0x1f || bytes[1] !== 0x8b) return decompressMetadata(bytes, href);
  try {
    return gunzipSync(bytes, { maxOutputLength: MAX_METADATA_BYTES, chunkSize: Math.min(Math.max(openSize, 64 * 1024), 64 * 1024 * 1024) }).toString('utf8');
  } catch {
    return decompressMetadata(bytes, href);
  }
}

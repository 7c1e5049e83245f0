// Reading a yum repository back: repomd.xml and primary.xml parsers (pure),
// and verifyRepository, the installer's "Verify installation source": every
// package re-hashed against primary's checksum, repomd's checksums of the
// metadata files, and optionally repomd.xml.asc checked with gpgv.
// Also bundled into the installer runtime (Debian's Node 18): Node-18 APIs only.
import { createHash } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { XMLParser } from 'fast-xml-parser';
import { XsforgeError } from '../core/errors.ts';
import { run } from '../core/exec.ts';
import { findOnPath } from '../core/which.ts';

export interface Checksum { type: string; value: string }

export interface RepomdEntry {
  type: string;
  href: string;
  checksum: Checksum;
  size?: number;
  openChecksum?: Checksum;
  openSize?: number;
  timestamp?: number;
}

export interface Repomd {
  revision?: string;
  data: RepomdEntry[];
}

export interface PrimaryPackage {
  name: string;
  arch: string;
  epoch: string;
  version: string;
  release: string;
  href: string;
  checksum: Checksum;
  /** size of the .rpm file */
  size: number;
  provides: string[];
  requires: string[];
}

export class RepoFormatError extends XsforgeError {
  constructor(message: string) {
    super(message, 'the repository metadata is not what createrepo_c writes; rebuild the repository');
    this.name = 'RepoFormatError';
  }
}

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@',
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: true,
  removeNSPrefix: true,
  // entity handling makes parsing ~3x slower (primary of 1,000 packages: 190 ms
  // instead of 600 ms); the few fields we return are decoded by `unescape`
  processEntities: false,
  isArray: (name) => ['data', 'package', 'entry'].includes(name),
});

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

function unescape(s: string): string {
  if (!s.includes('&')) return s;
  return s.replace(/&(amp|lt|gt|quot|apos|#x[0-9a-fA-F]+|#[0-9]+);/g, (_, e: string) => {
    if (e[0] !== '#') return ENTITIES[e]!;
    const code = e[1] === 'x' ? parseInt(e.slice(2), 16) : Number(e.slice(1));
    // String.fromCodePoint throws a RangeError past U+10FFFF: not XML, so a format error
    if (!(code <= 0x10ffff)) throw new RepoFormatError(`character reference &${e}; is not a Unicode code point`);
    return String.fromCodePoint(code);
  });
}

function parseXml(xml: string, what: string): any {
  // the metadata needs no entities; declared ones could expand without bound or name a file to read
  if (xml.includes('<!ENTITY') && /<!ENTITY\b/.test(xml.replace(/<!--[\s\S]*?-->/g, ''))) throw new RepoFormatError(`${what} declares entities (<!ENTITY ...>), which are not allowed`);
  try {
    return parser.parse(xml);
  } catch (err) {
    throw new RepoFormatError(`${what} is not well-formed XML: ${(err as Error).message}`);
  }
}

function text(v: unknown): string {
  if (typeof v === 'string') return unescape(v);
  if (v && typeof v === 'object' && '#text' in v) return unescape(String((v as any)['#text']));
  return '';
}

function attr(v: any, name: string, fallback = ''): string {
  const a = v?.[`@${name}`];
  return a === undefined ? fallback : unescape(String(a));
}

function checksumOf(v: any, what: string): Checksum {
  const value = text(v).toLowerCase();
  const type = attr(v, 'type');
  if (!type || !/^[0-9a-f]+$/.test(value)) throw new RepoFormatError(`${what} has no usable checksum`);
  return { type: type === 'sha' ? 'sha1' : type, value };
}

function num(v: unknown): number | undefined {
  if (v === undefined || v === '') return undefined;
  const n = Number(v);
  return Number.isFinite(n) ? n : undefined;
}

export function parseRepomd(xml: string): Repomd {
  const doc = parseXml(xml, 'repomd.xml');
  const root = doc?.repomd;
  if (!root || typeof root !== 'object') throw new RepoFormatError('repomd.xml has no <repomd> element');
  const data = (root.data ?? []).map((d: any): RepomdEntry => {
    const type = attr(d, 'type');
    const href = attr(d.location, 'href');
    if (!type || !href) throw new RepoFormatError('repomd.xml has a <data> entry without type or location');
    return {
      type, href,
      checksum: checksumOf(d.checksum, `repomd.xml entry ${type}`),
      size: num(text(d.size)),
      openChecksum: d['open-checksum'] ? checksumOf(d['open-checksum'], `repomd.xml entry ${type} (open)`) : undefined,
      openSize: num(text(d['open-size'])),
      timestamp: num(text(d.timestamp)),
    };
  });
  const revision = root.revision === undefined ? undefined : text(root.revision);
  return { revision, data };
}

const FLAG_OPS: Record<string, string> = { EQ: '=', LT: '<', LE: '<=', GT: '>', GE: '>=' };

/** A dependency entry as rpm prints it: "name", or "name >= [epoch:]ver-rel". */
function depString(e: any): string {
  const name = attr(e, 'name');
  const op = FLAG_OPS[attr(e, 'flags')];
  if (!op) return name;
  const epoch = attr(e, 'epoch', '0') !== '0' ? `${attr(e, 'epoch')}:` : '';
  const rel = attr(e, 'rel') ? `-${attr(e, 'rel')}` : '';
  return `${name} ${op} ${epoch}${attr(e, 'ver')}${rel}`;
}

export function parsePrimary(xml: string): PrimaryPackage[] {
  const doc = parseXml(xml, 'primary.xml');
  const root = doc?.metadata;
  if (!root || typeof root !== 'object') throw new RepoFormatError('primary.xml has no <metadata> element');
  return (root.package ?? []).map((p: any): PrimaryPackage => {
    const name = text(p.name);
    const href = attr(p.location, 'href');
    if (!name || !href) throw new RepoFormatError('primary.xml has a package without name or location');
    const fmt = p.format ?? {};
    return {
      name,
      arch: text(p.arch),
      epoch: attr(p.version, 'epoch', '0'),
      version: attr(p.version, 'ver'),
      release: attr(p.version, 'rel'),
      href,
      checksum: checksumOf(p.checksum, `primary.xml package ${name}`),
      size: Number(attr(p.size, 'package', '0')),
      provides: (fmt.provides?.entry ?? []).map(depString),
      requires: (fmt.requires?.entry ?? []).map(depString),
    };
  });
}

/**
 * Package names and the declared count of a createrepo_c primary.xml, by a
 * regular-expression scan (0.5 ms for 1,000 packages, against ~200 ms for a
 * full parse): for the repository stage's read-back check.
 */
export function scanPrimaryNames(xml: string): { declared: number | undefined; names: string[] } {
  const declared = /<metadata\b[^>]*\bpackages="(\d+)"/.exec(xml)?.[1];
  const names = [...xml.matchAll(/<package\b[^>]*>\s*<name>([^<]*)<\/name>/g)].map((m) => unescape(m[1]));
  return { declared: declared === undefined ? undefined : Number(declared), names };
}

/** Largest decompressed metadata file accepted. */
export const MAX_METADATA_BYTES = 512 * 1024 * 1024;

/** Metadata file bytes to text: gzip by magic number (old yum needs gzip), plain XML as is. */
export function decompressMetadata(bytes: Buffer, href: string, maxBytes = MAX_METADATA_BYTES): string {
  if (bytes[0] === 0x1f && bytes[1] === 0x8b) {
    try {
      // bounded: a few KiB of gzip can claim gigabytes (primary.xml of 10,000 packages is ~50 MiB)
      return gunzipSync(bytes, { maxOutputLength: maxBytes }).toString('utf8');
    } catch (err) {
      throw new RepoFormatError(`${href} does not decompress: ${(err as Error).message}`);
    }
  }
  if (bytes.subarray(0, 5).toString('latin1') === '<?xml' || bytes[0] === 0x3c) return bytes.toString('utf8');
  throw new RepoFormatError(`${href} is compressed with something other than gzip; the installer reads only gzip metadata`);
}

/** "a", "a and b", "a, b and c" (the installer's makeHumanList). */
export function humanList(items: string[]): string {
  if (items.length <= 1) return items.join('');
  return `${items.slice(0, -1).join(', ')} and ${items[items.length - 1]}`;
}

export const DAMAGED_TITLE = 'Problems Found';

/** The installer's message after "Verify installation source" finds bad packages. */
export function damagedPackagesMessage(names: string[]): string {
  return `Some packages appeared damaged.  These were: ${humanList(names)}`;
}

export interface DamagedPackage {
  href: string;
  expected: string;
  actual: string | 'missing';
}

export interface SignatureCheck {
  status: 'good' | 'bad' | 'missing' | 'unchecked';
  /** why unchecked / what gpgv said */
  detail: string;
  keyId?: string;
}

export interface VerifyResult {
  packages: number;
  damaged: DamagedPackage[];
  metadataOk: boolean;
  metadataProblems: string[];
  signature: SignatureCheck;
}

export interface VerifyOptions {
  /** public key(s) to check repodata/repomd.xml.asc with: armoured or binary */
  keyringFile?: string;
  /** called after each package with (done, total) */
  onProgress?: (done: number, total: number) => void;
}

/** Hash of a file by streaming; undefined when it does not exist. */
export function hashFile(path: string, algorithm = 'sha256'): Promise<{ digest: string; size: number } | undefined> {
  return new Promise((resolve, reject) => {
    const h = createHash(algorithm);
    let size = 0;
    createReadStream(path, { highWaterMark: 1 << 20 })
      .on('data', (c: Buffer | string) => { const b = typeof c === 'string' ? Buffer.from(c) : c; size += b.length; h.update(b); })
      .on('error', (err: NodeJS.ErrnoException) => (err.code === 'ENOENT' || err.code === 'EISDIR' ? resolve(undefined) : reject(err)))
      .on('end', () => resolve({ digest: h.digest('hex'), size }));
  });
}

/** Hrefs are relative to the repository root; refuse ones that climb out of it. */
function inRepo(dir: string, href: string): string {
  if (href.startsWith('/') || href.split('/').includes('..') || /^[a-z]+:/i.test(href)) {
    throw new RepoFormatError(`metadata points outside the repository: ${href}`);
  }
  return join(dir, href);
}

export async function verifyRepository(dir: string, opts: VerifyOptions = {}): Promise<VerifyResult> {
  const repomdPath = join(dir, 'repodata', 'repomd.xml');
  let repomdXml: string;
  try {
    repomdXml = await readFile(repomdPath, 'utf8');
  } catch {
    throw new XsforgeError(`${dir} is not a yum repository: repodata/repomd.xml is missing`);
  }
  const repomd = parseRepomd(repomdXml);
  const problems: string[] = [];
  for (const d of repomd.data) {
    const got = await hashFile(inRepo(dir, d.href), d.checksum.type);
    if (!got) problems.push(`${d.href} (${d.type}) is missing`);
    else if (got.digest !== d.checksum.value) problems.push(`${d.href} (${d.type}) has ${d.checksum.type} ${got.digest}, repomd.xml says ${d.checksum.value}`);
    else if (d.size !== undefined && got.size !== d.size) problems.push(`${d.href} (${d.type}) is ${got.size} bytes, repomd.xml says ${d.size}`);
  }
  const primaryEntry = repomd.data.find((d) => d.type === 'primary');
  if (!primaryEntry) throw new RepoFormatError('repomd.xml lists no primary metadata');
  let primaryBytes: Buffer;
  try {
    primaryBytes = await readFile(inRepo(dir, primaryEntry.href));
  } catch {
    throw new RepoFormatError(`primary metadata ${primaryEntry.href} is missing`);
  }
  const packages = parsePrimary(decompressMetadata(primaryBytes, primaryEntry.href));
  const damaged: DamagedPackage[] = [];
  let done = 0;
  for (const p of packages) {
    const got = await hashFile(inRepo(dir, p.href), p.checksum.type);
    if (!got) damaged.push({ href: p.href, expected: p.checksum.value, actual: 'missing' });
    else if (got.digest !== p.checksum.value) damaged.push({ href: p.href, expected: p.checksum.value, actual: got.digest });
    opts.onProgress?.(++done, packages.length);
  }
  const signature = await checkRepomdSignature(dir, opts.keyringFile);
  return { packages: packages.length, damaged, metadataOk: problems.length === 0, metadataProblems: problems, signature };
}

/** Binary OpenPGP packets from an ASCII-armoured block (gpgv wants a binary keyring). */
export function dearmor(armoured: string): Buffer {
  const m = /-----BEGIN PGP [A-Z ]+-----\r?\n([\s\S]*?)-----END PGP [A-Z ]+-----/.exec(armoured);
  if (!m) throw new XsforgeError('not an ASCII-armoured OpenPGP block');
  // headers end at the first empty line; the "=XXXX" line is the CRC-24
  const body = m[1].split(/\r?\n/);
  const blank = body.findIndex((l) => l.trim() === '');
  const lines = (blank >= 0 && body.slice(0, blank).every((l) => l.includes(':')) ? body.slice(blank + 1) : body)
    .filter((l) => l.trim() && !l.startsWith('='));
  return Buffer.from(lines.join(''), 'base64');
}

async function checkRepomdSignature(dir: string, keyringFile?: string): Promise<SignatureCheck> {
  const asc = join(dir, 'repodata', 'repomd.xml.asc');
  if (!existsSync(asc)) return { status: 'missing', detail: 'repodata/repomd.xml.asc is not there (unsigned repository)' };
  if (!keyringFile) return { status: 'unchecked', detail: 'no public key given' };
  if (!findOnPath('gpgv')) return { status: 'unchecked', detail: 'gpgv is not installed' };
  const tmp = await mkdtemp(join(tmpdir(), 'xsf-gpgv-'));
  try {
    const raw = await readFile(keyringFile);
    const keyring = join(tmp, 'keyring.gpg');
    await writeFile(keyring, raw.includes('-----BEGIN PGP') ? dearmor(raw.toString('latin1')) : raw);
    // --homedir: an empty one, so only the given keyring is trusted
    const r = await run(['gpgv', '--homedir', tmp, '--status-fd', '1', '--keyring', keyring, asc, join(dir, 'repodata', 'repomd.xml')])
      .then((x) => ({ ok: true, out: x.stdout }), (e) => ({ ok: false, out: String((e as { outputTail?: string }).outputTail ?? e) }));
    const good = /\[GNUPG:\] GOODSIG ([0-9A-F]+)/.exec(r.out);
    if (r.ok && good) return { status: 'good', detail: 'good signature', keyId: good[1] };
    const bad = /\[GNUPG:\] (BADSIG|ERRSIG|NO_PUBKEY|EXPKEYSIG|REVKEYSIG) ([0-9A-F]+)?/.exec(r.out);
    return { status: 'bad', detail: bad ? `gpgv: ${bad[1]}${bad[2] ? ` ${bad[2]}` : ''}` : r.out.trim().split('\n').slice(-1)[0] ?? 'gpgv failed', keyId: bad?.[2] };
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

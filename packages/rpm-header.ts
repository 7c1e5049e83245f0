// Reads an .rpm file: the 96-byte lead, the signature header and the main
// header (magic 8EADE801, index entries of tag/type/offset/count, data store),
// then the facts `xsforge inspect FILE.rpm` shows. The signer's key id comes
// from the OpenPGP signature packet in the signature header. Pure: bytes in,
// values out (node:crypto re-computes the header and payload digests).
import { createHash } from 'node:crypto';

export const RPM_LEAD_MAGIC = Buffer.from([0xed, 0xab, 0xee, 0xdb]);
export const HEADER_MAGIC = Buffer.from([0x8e, 0xad, 0xe8, 0x01]);
const LEAD_SIZE = 96;

/** Header entry data types. */
export const RpmType = { NULL: 0, CHAR: 1, INT8: 2, INT16: 3, INT32: 4, INT64: 5, STRING: 6, BIN: 7, STRING_ARRAY: 8, I18NSTRING: 9 } as const;

/** Main-header tags we read (rpmtag.h). */
export const TAG = {
  NAME: 1000, VERSION: 1001, RELEASE: 1002, EPOCH: 1003, SUMMARY: 1004, DESCRIPTION: 1005,
  BUILDTIME: 1006, BUILDHOST: 1007, SIZE: 1009, LICENSE: 1014, GROUP: 1016, URL: 1020, ARCH: 1022,
  PREIN: 1023, POSTIN: 1024, PREUN: 1025, POSTUN: 1026, OLDFILENAMES: 1027,
  FILESIZES: 1028, FILEMODES: 1030, FILEDIGESTS: 1035, FILEFLAGS: 1037, FILEUSERNAME: 1039, FILEGROUPNAME: 1040,
  SOURCERPM: 1044, PROVIDENAME: 1047, REQUIREFLAGS: 1048, REQUIRENAME: 1049, REQUIREVERSION: 1050,
  CONFLICTFLAGS: 1053, CONFLICTNAME: 1054, CONFLICTVERSION: 1055, RPMVERSION: 1064, OBSOLETENAME: 1090,
  PROVIDEFLAGS: 1112, PROVIDEVERSION: 1113, OBSOLETEFLAGS: 1114, OBSOLETEVERSION: 1115,
  DIRINDEXES: 1116, BASENAMES: 1117, DIRNAMES: 1118, PAYLOADFORMAT: 1124, PAYLOADCOMPRESSOR: 1125, PAYLOADFLAGS: 1126,
  PLATFORM: 1132, POSTTRANS: 1152, LONGFILESIZES: 5008, LONGSIZE: 5009, FILEDIGESTALGO: 5011,
  PAYLOADDIGEST: 5092, PAYLOADDIGESTALGO: 5093,
} as const;

/** Signature-header tags. */
export const SIGTAG = {
  SIZE: 1000, PGP: 1002, MD5: 1004, GPG: 1005, PAYLOADSIZE: 1007,
  DSA: 267, RSA: 268, SHA1: 269, LONGSIZE: 270, LONGARCHIVESIZE: 271, SHA256: 273,
} as const;

export const RPMFILE_CONFIG = 1;
const RPMSENSE_LESS = 2, RPMSENSE_GREATER = 4, RPMSENSE_EQUAL = 8;
const RPMSENSE_RPMLIB = 1 << 24;
/** When a requirement applies (Requires(post): ...), for display. */
const RPMSENSE_CONTEXTS: [number, string][] = [[1 << 7, 'pretrans'], [1 << 9, 'pre'], [1 << 10, 'post'], [1 << 11, 'preun'], [1 << 12, 'postun'], [1 << 5, 'posttrans']];

export type HeaderValue = number[] | bigint[] | string | string[] | Buffer;

export interface HeaderEntry { tag: number; type: number; offset: number; count: number; value: HeaderValue }

export interface ParsedHeader {
  /** byte range of the whole header structure in the file (digests are over it) */
  start: number;
  end: number;
  entries: Map<number, HeaderEntry>;
}

export class RpmFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RpmFormatError';
  }
}

/** True when the bytes start with the RPM lead magic. */
export function isRpm(buf: Buffer): boolean {
  return buf.length >= 4 && buf.subarray(0, 4).equals(RPM_LEAD_MAGIC);
}

/** One header structure at `start`: 16-byte intro, nindex*16 index, hsize data. */
export function parseHeader(buf: Buffer, start: number, what = 'header'): ParsedHeader {
  if (buf.length < start + 16) throw new RpmFormatError(`${what} at ${start} is cut short`);
  if (!buf.subarray(start, start + 4).equals(HEADER_MAGIC)) throw new RpmFormatError(`${what} at ${start} has no header magic 8EADE801`);
  const nindex = buf.readUInt32BE(start + 8);
  const hsize = buf.readUInt32BE(start + 12);
  const indexStart = start + 16;
  const dataStart = indexStart + nindex * 16;
  const end = dataStart + hsize;
  if (nindex > 0xffff || hsize > 0x10000000 || end > buf.length) throw new RpmFormatError(`${what} at ${start} claims ${nindex} entries and ${hsize} data bytes, more than the file holds`);
  const data = buf.subarray(dataStart, end);
  const entries = new Map<number, HeaderEntry>();
  for (let i = 0; i < nindex; i++) {
    const o = indexStart + i * 16;
    const tag = buf.readUInt32BE(o);
    const type = buf.readUInt32BE(o + 4);
    const offset = buf.readInt32BE(o + 8);
    const count = buf.readUInt32BE(o + 12);
    if (offset < 0 || offset > hsize) throw new RpmFormatError(`${what}: tag ${tag} points outside the data store`);
    entries.set(tag, { tag, type, offset, count, value: readValue(data, type, offset, count, `${what} tag ${tag}`) });
  }
  return { start, end, entries };
}

function readValue(data: Buffer, type: number, offset: number, count: number, what: string): HeaderValue {
  const need = (n: number) => {
    if (offset + n > data.length) throw new RpmFormatError(`${what}: value runs past the data store`);
  };
  switch (type) {
    case RpmType.NULL: return [];
    case RpmType.CHAR:
    case RpmType.INT8: need(count); return [...data.subarray(offset, offset + count)];
    case RpmType.INT16: need(count * 2); return Array.from({ length: count }, (_, i) => data.readUInt16BE(offset + i * 2));
    case RpmType.INT32: need(count * 4); return Array.from({ length: count }, (_, i) => data.readUInt32BE(offset + i * 4));
    case RpmType.INT64: need(count * 8); return Array.from({ length: count }, (_, i) => data.readBigUInt64BE(offset + i * 8));
    case RpmType.BIN: need(count); return data.subarray(offset, offset + count);
    case RpmType.STRING: return readStrings(data, offset, 1, what)[0];
    case RpmType.STRING_ARRAY:
    case RpmType.I18NSTRING: return readStrings(data, offset, count, what);
    default: throw new RpmFormatError(`${what}: unknown type ${type}`);
  }
}

function readStrings(data: Buffer, offset: number, count: number, what: string): string[] {
  const out: string[] = [];
  let p = offset;
  for (let i = 0; i < count; i++) {
    const nul = data.indexOf(0, p);
    if (nul < 0) throw new RpmFormatError(`${what}: string without its terminating NUL`);
    out.push(data.toString('utf8', p, nul));
    p = nul + 1;
  }
  return out;
}

// ---- typed access ---------------------------------------------------------------

function str(h: ParsedHeader, tag: number): string | undefined {
  const v = h.entries.get(tag)?.value;
  if (typeof v === 'string') return v;
  if (Array.isArray(v) && typeof v[0] === 'string') return v[0]; // I18NSTRING: the first (C) locale
  return undefined;
}
function strs(h: ParsedHeader, tag: number): string[] {
  const v = h.entries.get(tag)?.value;
  if (typeof v === 'string') return [v];
  return Array.isArray(v) && (v.length === 0 || typeof v[0] === 'string') ? (v as string[]) : [];
}
function nums(h: ParsedHeader, tag: number): number[] {
  const v = h.entries.get(tag)?.value;
  if (!Array.isArray(v)) return [];
  return (v as (number | bigint | string)[]).map((x) => Number(x));
}
function num(h: ParsedHeader, tag: number): number | undefined {
  return nums(h, tag)[0];
}
function bin(h: ParsedHeader, tag: number): Buffer | undefined {
  const v = h.entries.get(tag)?.value;
  return Buffer.isBuffer(v) ? v : undefined;
}

// ---- OpenPGP signature packet (RFC 4880 section 5.2) -------------------------------

export interface PgpSignatureInfo {
  version: number;
  /** e.g. "RSA/SHA256" */
  algorithm: string;
  /** 16 hex digits: the issuer key id */
  keyId?: string;
  /** the signer's fingerprint when the packet carries it (v4 issuer-fingerprint subpacket) */
  fingerprint?: string;
  /** creation time, seconds since the epoch */
  created?: number;
}

const PUBKEY_ALGOS: Record<number, string> = { 1: 'RSA', 2: 'RSA', 3: 'RSA', 16: 'ElGamal', 17: 'DSA', 18: 'ECDH', 19: 'ECDSA', 22: 'EdDSA', 27: 'Ed25519', 28: 'Ed448' };
const HASH_ALGOS: Record<number, string> = { 1: 'MD5', 2: 'SHA1', 3: 'RIPEMD160', 8: 'SHA256', 9: 'SHA384', 10: 'SHA512', 11: 'SHA224', 12: 'SHA3-256', 14: 'SHA3-512' };

/** The signature packet's body, past the old- or new-format packet header. */
function packetBody(pkt: Buffer): Buffer {
  if (pkt.length < 2 || !(pkt[0] & 0x80)) throw new RpmFormatError('signature is not an OpenPGP packet');
  // the length octets themselves must be in the packet (a damaged file can end inside them)
  const lengthOctets = pkt[0] & 0x40 ? (pkt[1] < 192 ? 1 : pkt[1] < 224 ? 2 : pkt[1] === 255 ? 5 : 1) : [1, 2, 4, 0][pkt[0] & 3]!;
  if (1 + lengthOctets > pkt.length) throw new RpmFormatError('OpenPGP signature packet is cut short');
  let tag: number, len: number, p: number;
  if (pkt[0] & 0x40) {
    tag = pkt[0] & 0x3f;
    const l0 = pkt[1];
    if (l0 < 192) { len = l0; p = 2; } else if (l0 < 224) { len = ((l0 - 192) << 8) + pkt[2] + 192; p = 3; } else if (l0 === 255) { len = pkt.readUInt32BE(2); p = 6; } else throw new RpmFormatError('OpenPGP partial body lengths are not used for signatures');
  } else {
    tag = (pkt[0] >> 2) & 0x0f;
    const lt = pkt[0] & 3;
    if (lt === 0) { len = pkt[1]; p = 2; } else if (lt === 1) { len = pkt.readUInt16BE(1); p = 3; } else if (lt === 2) { len = pkt.readUInt32BE(1); p = 5; } else { len = pkt.length - 1; p = 1; }
  }
  if (tag !== 2) throw new RpmFormatError(`OpenPGP packet has tag ${tag}, not 2 (signature)`);
  if (p + len > pkt.length) throw new RpmFormatError('OpenPGP signature packet is cut short');
  return pkt.subarray(p, p + len);
}

/** Walk v4 subpackets: [length][type][data]...; length 1, 2 or 5 octets. */
function subpackets(area: Buffer, visit: (type: number, data: Buffer) => void): void {
  let p = 0;
  while (p < area.length) {
    const o = area[p];
    let len: number;
    // a length that is itself cut off by the end of the area is a damaged area
    if (p + (o < 192 ? 1 : o < 255 ? 2 : 5) > area.length) throw new RpmFormatError('OpenPGP subpacket runs past its area');
    if (o < 192) { len = o; p += 1; } else if (o < 255) { len = ((o - 192) << 8) + area[p + 1] + 192; p += 2; } else { len = area.readUInt32BE(p + 1); p += 5; }
    if (len < 1 || p + len > area.length) throw new RpmFormatError('OpenPGP subpacket runs past its area');
    visit(area[p] & 0x7f, area.subarray(p + 1, p + len));
    p += len;
  }
}

export function parsePgpSignature(pkt: Buffer): PgpSignatureInfo {
  const b = packetBody(pkt);
  const version = b[0];
  const algo = (pk: number, h: number) => `${PUBKEY_ALGOS[pk] ?? `pubkey${pk}`}/${HASH_ALGOS[h] ?? `hash${h}`}`;
  if (version === 3) {
    // [3][5][type][time:4][keyid:8][pubkey algo][hash algo]...
    if (b.length < 19) throw new RpmFormatError('v3 signature packet is cut short');
    return { version, algorithm: algo(b[15], b[16]), keyId: b.subarray(7, 15).toString('hex'), created: b.readUInt32BE(3) };
  }
  if (version === 4) {
    // [4][type][pubkey algo][hash algo][hashed len:2][hashed][unhashed len:2][unhashed]...
    const info: PgpSignatureInfo = { version, algorithm: algo(b[2], b[3]) };
    // both length fields must be inside the body before they are read
    if (b.length < 6) throw new RpmFormatError('v4 signature packet is cut short');
    const hashedLen = b.readUInt16BE(4);
    const hashed = b.subarray(6, 6 + hashedLen);
    if (8 + hashedLen > b.length) throw new RpmFormatError('v4 signature subpacket areas are cut short');
    const unhashedLen = b.readUInt16BE(6 + hashedLen);
    const unhashed = b.subarray(8 + hashedLen, 8 + hashedLen + unhashedLen);
    if (hashed.length !== hashedLen || unhashed.length !== unhashedLen) throw new RpmFormatError('v4 signature subpacket areas are cut short');
    const visit = (type: number, data: Buffer) => {
      if (type === 2 && data.length === 4) info.created = data.readUInt32BE(0);
      if (type === 16 && data.length === 8) info.keyId ??= data.toString('hex');
      // issuer fingerprint: [key version][fingerprint]; a v4 key id is the last 8 bytes
      if (type === 33 && data.length >= 21) {
        info.fingerprint = data.subarray(1).toString('hex');
        if (data[0] === 4) info.keyId ??= data.subarray(data.length - 8).toString('hex');
      }
    };
    subpackets(hashed, visit);
    subpackets(unhashed, visit);
    return info;
  }
  return { version, algorithm: version >= 5 && b.length > 3 ? algo(b[2], b[3]) : 'unknown' };
}

// ---- the whole file ----------------------------------------------------------------

export interface RpmDependency {
  name: string;
  /** RPMSENSE_* bits as stored */
  flags: number;
  /** "" when unversioned */
  version: string;
}

export interface RpmFileInfo {
  path: string;
  mode: number;
  size: number;
  /** hex, "" for directories and links */
  digest: string;
  config: boolean;
  user: string;
  group: string;
}

export interface RpmSignatureInfo {
  /** which signature-header tag held the OpenPGP signature */
  tag?: 'RSAHEADER' | 'DSAHEADER' | 'PGP' | 'GPG';
  keyId?: string;
  fingerprint?: string;
  algorithm?: string;
  created?: number;
  /** SHA256 digest of the main header, hex, as stored */
  sha256?: string;
  sha1?: string;
  md5?: string;
}

export interface RpmInfo {
  type: 'binary' | 'source';
  name: string;
  epoch?: number;
  version: string;
  release: string;
  arch: string;
  summary: string;
  description: string;
  license: string;
  group?: string;
  url?: string;
  buildTime: number;
  buildHost?: string;
  sourceRpm?: string;
  rpmVersion?: string;
  /** installed size, bytes */
  size: number;
  provides: RpmDependency[];
  requires: RpmDependency[];
  conflicts: RpmDependency[];
  obsoletes: RpmDependency[];
  files: RpmFileInfo[];
  scriptlets: Partial<Record<'pre' | 'post' | 'preun' | 'postun' | 'posttrans', string>>;
  payloadFormat: string;
  payloadCompressor: string;
  payloadFlags?: string;
  fileDigestAlgorithm?: string;
  signature: RpmSignatureInfo;
  /** digests re-computed over this file's bytes and compared with the stored ones */
  checks: { headerSha256?: boolean; payloadSha256?: boolean };
  /** where the compressed payload starts */
  payloadOffset: number;
}

const DIGEST_ALGOS: Record<number, string> = { 1: 'md5', 2: 'sha1', 8: 'sha256', 9: 'sha384', 10: 'sha512', 11: 'sha224' };

function deps(h: ParsedHeader, nameTag: number, flagsTag: number, versionTag: number): RpmDependency[] {
  const names = strs(h, nameTag);
  const flags = nums(h, flagsTag);
  const versions = strs(h, versionTag);
  return names.map((name, i) => ({ name, flags: flags[i] ?? 0, version: versions[i] ?? '' }));
}

/** "<=", "=", ... from RPMSENSE bits; "" when none. */
export function dependencyOperator(flags: number): string {
  return `${flags & RPMSENSE_LESS ? '<' : ''}${flags & RPMSENSE_GREATER ? '>' : ''}${flags & RPMSENSE_EQUAL ? '=' : ''}`;
}

export function formatDependency(d: RpmDependency): string {
  const op = dependencyOperator(d.flags);
  return op && d.version ? `${d.name} ${op} ${d.version}` : d.name;
}

/** "post, preun" for a scriptlet requirement, "" for a plain one. */
export function dependencyContext(flags: number): string {
  return RPMSENSE_CONTEXTS.filter(([bit]) => flags & bit).map(([, name]) => name).join(', ');
}

/** Parse a whole .rpm file (lead, signature header, main header; the payload is only hashed). */
export function parseRpm(buf: Buffer): RpmInfo {
  if (buf.length < LEAD_SIZE) throw new RpmFormatError(`file is ${buf.length} bytes, shorter than an RPM lead`);
  if (!isRpm(buf)) throw new RpmFormatError('no RPM lead magic EDABEEDB at the start');
  const major = buf[4];
  if (major < 3) throw new RpmFormatError(`RPM format version ${major} is too old`);
  const leadType = buf.readUInt16BE(6);
  const sig = parseHeader(buf, LEAD_SIZE, 'signature header');
  // the signature header is padded to a multiple of 8 bytes
  const mainStart = sig.end + ((8 - (sig.end % 8)) % 8);
  const h = parseHeader(buf, mainStart, 'main header');

  const signature: RpmSignatureInfo = {};
  for (const [tag, name] of [[SIGTAG.RSA, 'RSAHEADER'], [SIGTAG.DSA, 'DSAHEADER'], [SIGTAG.PGP, 'PGP'], [SIGTAG.GPG, 'GPG']] as const) {
    const pkt = bin(sig, tag);
    if (!pkt) continue;
    const p = parsePgpSignature(pkt);
    Object.assign(signature, { tag: name, algorithm: p.algorithm, keyId: p.keyId, fingerprint: p.fingerprint, created: p.created });
    break;
  }
  signature.sha256 = str(sig, SIGTAG.SHA256);
  signature.sha1 = str(sig, SIGTAG.SHA1);
  const md5 = bin(sig, SIGTAG.MD5);
  if (md5) signature.md5 = md5.toString('hex');
  for (const k of Object.keys(signature) as (keyof RpmSignatureInfo)[]) if (signature[k] === undefined) delete signature[k];

  const checks: RpmInfo['checks'] = {};
  const headerBytes = buf.subarray(h.start, h.end);
  if (signature.sha256) checks.headerSha256 = createHash('sha256').update(headerBytes).digest('hex') === signature.sha256;
  const payloadDigest = strs(h, TAG.PAYLOADDIGEST)[0];
  const payloadAlgo = DIGEST_ALGOS[num(h, TAG.PAYLOADDIGESTALGO) ?? 8];
  if (payloadDigest && payloadAlgo === 'sha256') checks.payloadSha256 = createHash('sha256').update(buf.subarray(h.end)).digest('hex') === payloadDigest;

  const dirNames = strs(h, TAG.DIRNAMES);
  const dirIndexes = nums(h, TAG.DIRINDEXES);
  const paths = h.entries.has(TAG.BASENAMES)
    ? strs(h, TAG.BASENAMES).map((b, i) => `${dirNames[dirIndexes[i]] ?? ''}${b}`)
    : strs(h, TAG.OLDFILENAMES);
  const sizes = h.entries.has(TAG.LONGFILESIZES) ? nums(h, TAG.LONGFILESIZES) : nums(h, TAG.FILESIZES);
  const modes = nums(h, TAG.FILEMODES);
  const digests = strs(h, TAG.FILEDIGESTS);
  const fflags = nums(h, TAG.FILEFLAGS);
  const users = strs(h, TAG.FILEUSERNAME);
  const groups = strs(h, TAG.FILEGROUPNAME);
  const files = paths.map((path, i) => ({
    path, mode: modes[i] ?? 0, size: sizes[i] ?? 0, digest: digests[i] ?? '',
    config: ((fflags[i] ?? 0) & RPMFILE_CONFIG) !== 0, user: users[i] ?? '', group: groups[i] ?? '',
  }));

  const scriptlets: RpmInfo['scriptlets'] = {};
  for (const [name, tag] of [['pre', TAG.PREIN], ['post', TAG.POSTIN], ['preun', TAG.PREUN], ['postun', TAG.POSTUN], ['posttrans', TAG.POSTTRANS]] as const) {
    const s = str(h, tag);
    if (s !== undefined) scriptlets[name] = s;
  }

  const name = str(h, TAG.NAME);
  const version = str(h, TAG.VERSION);
  const release = str(h, TAG.RELEASE);
  if (!name || version === undefined || release === undefined) throw new RpmFormatError('main header lacks NAME, VERSION or RELEASE');
  const info: RpmInfo = {
    type: leadType === 1 ? 'source' : 'binary',
    name,
    version,
    release,
    arch: str(h, TAG.ARCH) ?? '',
    summary: str(h, TAG.SUMMARY) ?? '',
    description: str(h, TAG.DESCRIPTION) ?? '',
    license: str(h, TAG.LICENSE) ?? '',
    buildTime: num(h, TAG.BUILDTIME) ?? 0,
    size: num(h, TAG.LONGSIZE) ?? num(h, TAG.SIZE) ?? 0,
    provides: deps(h, TAG.PROVIDENAME, TAG.PROVIDEFLAGS, TAG.PROVIDEVERSION),
    requires: deps(h, TAG.REQUIRENAME, TAG.REQUIREFLAGS, TAG.REQUIREVERSION),
    conflicts: deps(h, TAG.CONFLICTNAME, TAG.CONFLICTFLAGS, TAG.CONFLICTVERSION),
    obsoletes: deps(h, TAG.OBSOLETENAME, TAG.OBSOLETEFLAGS, TAG.OBSOLETEVERSION),
    files,
    scriptlets,
    payloadFormat: str(h, TAG.PAYLOADFORMAT) ?? 'cpio',
    payloadCompressor: str(h, TAG.PAYLOADCOMPRESSOR) ?? 'gzip',
    signature,
    checks,
    payloadOffset: h.end,
  };
  const epoch = num(h, TAG.EPOCH);
  if (epoch !== undefined) info.epoch = epoch;
  const optional: [keyof RpmInfo, string | undefined][] = [
    ['group', str(h, TAG.GROUP)], ['url', str(h, TAG.URL)], ['buildHost', str(h, TAG.BUILDHOST)],
    ['sourceRpm', str(h, TAG.SOURCERPM)], ['rpmVersion', str(h, TAG.RPMVERSION)], ['payloadFlags', str(h, TAG.PAYLOADFLAGS)],
    ['fileDigestAlgorithm', DIGEST_ALGOS[num(h, TAG.FILEDIGESTALGO) ?? -1] ?? (digests.some(Boolean) ? 'md5' : undefined)],
  ];
  for (const [k, v] of optional) if (v !== undefined) (info as unknown as Record<string, unknown>)[k] = v;
  return info;
}

// ---- text for `xsforge inspect FILE.rpm` ---------------------------------------------

/** "-rwxr-xr-x" from st_mode bits. */
export function modeString(mode: number): string {
  const types: Record<number, string> = { 0o040000: 'd', 0o120000: 'l', 0o100000: '-', 0o020000: 'c', 0o060000: 'b', 0o010000: 'p', 0o140000: 's' };
  let s = types[mode & 0o170000] ?? '?';
  const rwx = 'rwxrwxrwx';
  for (let i = 0; i < 9; i++) s += mode & (1 << (8 - i)) ? rwx[i] : '-';
  const set = (i: number, bit: number, ch: string) => {
    if (mode & bit) s = s.slice(0, i) + (s[i] === '-' ? ch.toUpperCase() : ch) + s.slice(i + 1);
  };
  set(3, 0o4000, 's');
  set(6, 0o2000, 's');
  set(9, 0o1000, 't');
  return s;
}

function utc(seconds: number): string {
  // an INT64 time from a damaged header can be past what Date holds (toISOString would throw)
  const d = new Date(seconds * 1000);
  if (Number.isNaN(d.getTime())) return `${seconds} (not a valid time)`;
  return d.toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC');
}

const okText = (v: boolean | undefined) => (v === undefined ? '' : v ? ' (ok)' : ' (MISMATCH)');

/** A compact `rpm -qip`, then provides, requires (rpmlib() ones last), files and signature. */
export function formatRpmInfo(info: RpmInfo, opts: { files?: boolean } = {}): string {
  const L: string[] = [];
  const row = (k: string, v: string | number | undefined) => { if (v !== undefined && v !== '') L.push(`${k.padEnd(12)}: ${v}`); };
  row('Name', info.name);
  if (info.epoch !== undefined) row('Epoch', info.epoch);
  row('Version', info.version);
  row('Release', info.release);
  row('Architecture', info.arch);
  row('Group', info.group);
  row('Size', info.size);
  row('License', info.license);
  const s = info.signature;
  row('Signature', s.keyId || s.algorithm ? `${s.algorithm ?? '?'}, ${s.created !== undefined ? `${utc(s.created)}, ` : ''}Key ID ${s.keyId ?? 'unknown'}` : '(none)');
  row('Header SHA256', s.sha256 ? `${s.sha256}${okText(info.checks.headerSha256)}` : '(none)');
  row('Payload', `${info.payloadFormat}, ${info.payloadCompressor}${info.payloadFlags ? ` -${info.payloadFlags}` : ''}${okText(info.checks.payloadSha256)}`);
  row('Source RPM', info.sourceRpm);
  row('Build Date', utc(info.buildTime));
  row('Build Host', info.buildHost);
  row('URL', info.url);
  row('Summary', info.summary);
  L.push('Description :');
  L.push(info.description);
  const list = (title: string, ds: RpmDependency[]) => {
    if (!ds.length) return;
    L.push(`${title}:`);
    const sorted = [...ds.filter((d) => !(d.flags & RPMSENSE_RPMLIB)), ...ds.filter((d) => d.flags & RPMSENSE_RPMLIB)];
    for (const d of sorted) {
      const ctx = dependencyContext(d.flags);
      L.push(`  ${formatDependency(d)}${ctx ? `  (${ctx})` : ''}`);
    }
  };
  list('Provides', info.provides);
  list('Requires', info.requires);
  list('Conflicts', info.conflicts);
  list('Obsoletes', info.obsoletes);
  const scripts = Object.keys(info.scriptlets);
  if (scripts.length) L.push(`Scriptlets: ${scripts.map((k) => `%${k}`).join(' ')}`);
  if (opts.files !== false) {
    L.push(`Files (${info.files.length}${info.fileDigestAlgorithm ? `, ${info.fileDigestAlgorithm}` : ''}):`);
    const width = Math.max(1, ...info.files.map((f) => String(f.size).length));
    for (const f of info.files) {
      L.push(`  ${modeString(f.mode)} ${f.user}/${f.group} ${String(f.size).padStart(width)} ${f.path}${f.config ? ' (config)' : ''}`);
    }
  }
  return L.join('\n') + '\n';
}

// What `inspect` says about a yum repository: package count, comps groups,
// whether repomd.xml is signed and whether the RPMs are, and by which keys.
// Works through a reader function, so the files can come from a directory or
// from inside an ISO image.
import { parseHeader, parsePgpSignature, SIGTAG } from '../packages/rpm-header.ts';
import { parseComps } from './comps.ts';
import { dearmor, decompressMetadata, parsePrimary, parseRepomd } from './verify.ts';

/**
 * Reads a file of the repository by its path relative to the repository root
 * ("repodata/repomd.xml"); undefined when there is no such file. `maxBytes` is
 * a hint that only the start of the file is needed; a reader may return more.
 */
export type RepoFileReader = (path: string, maxBytes?: number) => Promise<Buffer | undefined>;

export interface RepositorySummary {
  packages: number;
  groups: { id: string; packages: string[] }[];
  /** repodata/repomd.xml.asc is present */
  metadataSigned: boolean;
  /** long key ids (16 hex digits, upper case) of every signature found: repomd.xml.asc and the RPMs */
  signingKeyIds: string[];
  packagesSigned: 'all' | 'some' | 'none' | 'unknown';
}

const LEAD_SIZE = 96;
const HEAD_BYTES = 64 * 1024;

/** Issuer key id of an RPM's signature header, null when unsigned, undefined when unreadable. */
export function rpmSignatureKeyId(start: Buffer): string | null | undefined {
  try {
    const sig = parseHeader(start, LEAD_SIZE, 'signature header');
    for (const tag of [SIGTAG.RSA, SIGTAG.DSA, SIGTAG.PGP, SIGTAG.GPG]) {
      const v = sig.entries.get(tag)?.value;
      if (Buffer.isBuffer(v)) return parsePgpSignature(v).keyId?.toUpperCase() ?? undefined;
    }
    return null;
  } catch {
    return undefined;
  }
}

/** Issuer key id of an armoured detached signature (repomd.xml.asc). */
export function detachedSignatureKeyId(armoured: string): string | undefined {
  try {
    return parsePgpSignature(dearmor(armoured)).keyId?.toUpperCase();
  } catch {
    return undefined;
  }
}

export async function summarizeRepository(readFile: RepoFileReader): Promise<RepositorySummary> {
  const repomdBytes = await readFile('repodata/repomd.xml');
  if (!repomdBytes) throw new Error('not a yum repository: repodata/repomd.xml is missing');
  const repomd = parseRepomd(repomdBytes.toString('utf8'));
  const primaryEntry = repomd.data.find((d) => d.type === 'primary');
  const primaryBytes = primaryEntry && await readFile(primaryEntry.href);
  const packages = primaryBytes ? parsePrimary(decompressMetadata(primaryBytes, primaryEntry!.href)) : [];

  const groupEntry = repomd.data.find((d) => d.type === 'group') ?? repomd.data.find((d) => d.type === 'group_gz');
  const compsBytes = groupEntry && await readFile(groupEntry.href);
  const groups = compsBytes
    ? parseComps(decompressMetadata(compsBytes, groupEntry!.href)).map((g) => ({ id: g.id, packages: g.packages.map((p) => p.name) }))
    : [];

  const keyIds = new Set<string>();
  const asc = await readFile('repodata/repomd.xml.asc');
  if (asc) {
    const id = detachedSignatureKeyId(asc.toString('latin1'));
    if (id) keyIds.add(id);
  }

  let signed = 0;
  let unsigned = 0;
  for (const p of packages) {
    let head = await readFile(p.href, HEAD_BYTES);
    if (!head) continue;
    let id = rpmSignatureKeyId(head);
    // a signature header larger than the hint: read the whole file
    if (id === undefined && head.length >= HEAD_BYTES) {
      head = await readFile(p.href);
      id = head ? rpmSignatureKeyId(head) : undefined;
    }
    if (id === null) unsigned++;
    else if (id !== undefined) {
      signed++;
      keyIds.add(id);
    }
  }
  const packagesSigned = signed + unsigned === 0 ? 'unknown'
    : signed === packages.length ? 'all'
      : signed === 0 && unsigned === packages.length ? 'none'
        : signed > 0 ? 'some' : 'unknown';
  return { packages: packages.length, groups, metadataSigned: !!asc, signingKeyIds: [...keyIds].sort(), packagesSigned };
}

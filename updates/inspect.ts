// What `xsforge inspect` says about an update ISO: the update.xml fields (and
// what is wrong with them), the control package's dependencies, the packages
// with their signing key ids, and which files are signed by which key. Works
// through a reader function (from an ISO image or a directory), like
// repo/summary.ts, and computes key ids itself (no gpg), so it is pure.
import { createHash } from 'node:crypto';
import { formatDependency, parseRpm, type RpmDependency } from '../packages/rpm-header.ts';
import { detachedSignatureKeyId, rpmSignatureKeyId, type RepoFileReader } from '../repo/summary.ts';
import { dearmor, decompressMetadata, parsePrimary, parseRepomd } from '../repo/verify.ts';
import { APPLIED_DIR } from './model.ts';
import { checkUpdateXml, type UpdateXml } from './update-xml.ts';

export interface UpdatePackageReport {
  name: string;
  version: string;
  release: string;
  arch: string;
  /** location in the repository, e.g. Packages/foo-1.0-1.noarch.rpm */
  href: string;
  /** long key id of the RPM's signature; null when unsigned */
  signedBy: string | null;
  control: boolean;
}

export interface UpdateIsoSummary {
  updateXml: UpdateXml | null;
  /** empty when update.xml follows SPEC section 6 */
  updateXmlProblems: string[];
  control: {
    href: string;
    nevra: string;
    provides: string[];
    requires: string[];
    conflicts: string[];
    /** the package installs /var/update/applied/<uuid> (the record of the update) */
    recordsApplied: boolean;
  } | null;
  /** why the control package could not be shown */
  controlProblem?: string;
  packages: UpdatePackageReport[];
  signatures: {
    /** long key id of update.xml.asc's signature; null when absent */
    updateXml: string | null;
    repomd: string | null;
    packages: 'all' | 'some' | 'none';
    /** the public keys at the root (RPM-GPG-KEY-*) and the key ids they hold (primary and subkeys) */
    publicKeys: { file: string; keyIds: string[] }[];
    /** every signature's key id is in a shipped public key (null: nothing is signed) */
    signedByShippedKey: boolean | null;
  };
}

/** Key ids (16 hex digits, upper case) of every public key and subkey in an armoured or binary key block. */
export function publicKeyIds(block: Buffer): string[] {
  const bytes = block.includes('-----BEGIN PGP') ? dearmor(block.toString('latin1')) : block;
  const ids: string[] = [];
  let i = 0;
  while (i < bytes.length) {
    const h = bytes[i];
    if (!(h & 0x80)) break;
    let tag: number;
    let len: number;
    let at: number;
    if (h & 0x40) {
      tag = h & 0x3f;
      const o1 = bytes[i + 1];
      if (o1 < 192) { len = o1; at = i + 2; }
      else if (o1 < 224) { len = ((o1 - 192) << 8) + bytes[i + 2] + 192; at = i + 3; }
      else if (o1 === 255) { len = bytes.readUInt32BE(i + 2); at = i + 6; }
      else break; // partial lengths do not occur in key blocks
    } else {
      tag = (h >> 2) & 0x0f;
      const lt = h & 3;
      if (lt === 0) { len = bytes[i + 1]; at = i + 2; }
      else if (lt === 1) { len = bytes.readUInt16BE(i + 1); at = i + 3; }
      else if (lt === 2) { len = bytes.readUInt32BE(i + 1); at = i + 5; }
      else break;
    }
    if (at + len > bytes.length) break;
    // public key (6) and public subkey (14), version 4: fingerprint = SHA-1(0x99, 2-byte length, body)
    if ((tag === 6 || tag === 14) && bytes[at] === 4) {
      const head = Buffer.from([0x99, (len >> 8) & 0xff, len & 0xff]);
      const fpr = createHash('sha1').update(head).update(bytes.subarray(at, at + len)).digest('hex').toUpperCase();
      ids.push(fpr.slice(-16));
    }
    i = at + len;
  }
  return ids;
}

const userDeps = (ds: RpmDependency[]) => ds.filter((d) => !d.name.startsWith('rpmlib(')).map(formatDependency);

/**
 * Summarises an update ISO's content. `rootNames` are the names of the files
 * at its root (to find RPM-GPG-KEY-*); `read` reads a file by its path
 * relative to the root. Throws when there is no update.xml.
 */
export async function summarizeUpdate(read: RepoFileReader, rootNames: string[]): Promise<UpdateIsoSummary> {
  const xmlBytes = await read('update.xml');
  if (!xmlBytes) throw new Error('not an update: update.xml is missing');
  const checked = checkUpdateXml(xmlBytes.toString('utf8'));
  const summary: UpdateIsoSummary = {
    updateXml: checked.update ?? null,
    updateXmlProblems: checked.problems,
    control: null,
    packages: [],
    signatures: { updateXml: null, repomd: null, packages: 'none', publicKeys: [], signedByShippedKey: null },
  };
  const asc = await read('update.xml.asc');
  if (asc) summary.signatures.updateXml = detachedSignatureKeyId(asc.toString('latin1')) ?? 'unreadable';
  const repomdAsc = await read('repodata/repomd.xml.asc');
  if (repomdAsc) summary.signatures.repomd = detachedSignatureKeyId(repomdAsc.toString('latin1')) ?? 'unreadable';
  for (const name of rootNames.filter((n) => n.startsWith('RPM-GPG-KEY-')).sort()) {
    const b = await read(name);
    let keyIds: string[] = [];
    try { keyIds = b ? publicKeyIds(b) : []; } catch { keyIds = []; }
    summary.signatures.publicKeys.push({ file: name, keyIds });
  }

  const repomdBytes = await read('repodata/repomd.xml');
  if (!repomdBytes) {
    summary.controlProblem = 'no repository (repodata/repomd.xml is missing)';
    return summary;
  }
  const primaryEntry = parseRepomd(repomdBytes.toString('utf8')).data.find((d) => d.type === 'primary');
  const primaryBytes = primaryEntry && await read(primaryEntry.href);
  const primary = primaryBytes ? parsePrimary(decompressMetadata(primaryBytes, primaryEntry!.href)) : [];
  const controlName = summary.updateXml?.control ?? primary.find((p) => p.name.startsWith('control-'))?.name;
  let signed = 0;
  for (const p of primary) {
    const head = await read(p.href, 64 * 1024);
    const id = head ? rpmSignatureKeyId(head) : undefined;
    if (id) signed++;
    summary.packages.push({ name: p.name, version: p.version, release: p.release, arch: p.arch, href: p.href, signedBy: id ?? null, control: p.name === controlName });
  }
  summary.packages.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  summary.signatures.packages = signed === 0 ? 'none' : signed === primary.length ? 'all' : 'some';

  const controlPkg = primary.find((p) => p.name === controlName);
  if (!controlPkg) summary.controlProblem = controlName ? `the repository has no package ${controlName}` : 'no control package (control-<name-label>) in the repository';
  else {
    const bytes = await read(controlPkg.href);
    try {
      const info = parseRpm(bytes!);
      const uuid = summary.updateXml?.uuid;
      summary.control = {
        href: controlPkg.href,
        nevra: `${info.name}-${info.version}-${info.release}.${info.arch}`,
        provides: userDeps(info.provides),
        requires: userDeps(info.requires),
        conflicts: userDeps(info.conflicts),
        recordsApplied: !!uuid && info.files.some((f) => f.path === `${APPLIED_DIR}/${uuid}`),
      };
    } catch (err) {
      summary.controlProblem = `${controlPkg.href}: ${(err as Error).message}`;
    }
  }

  const shipped = new Set(summary.signatures.publicKeys.flatMap((k) => k.keyIds));
  const used = [summary.signatures.updateXml, summary.signatures.repomd, ...summary.packages.map((p) => p.signedBy)].filter((x): x is string => !!x);
  summary.signatures.signedByShippedKey = used.length ? used.every((id) => shipped.has(id)) : null;
  return summary;
}

/** Lines for the human report (media/inspect.ts formatIsoReport). */
export function formatUpdateSummary(u: UpdateIsoSummary): string[] {
  const out: string[] = [];
  const x = u.updateXml;
  if (x) {
    out.push(`update: ${x.nameLabel} ${x.version} (uuid ${x.uuid})`);
    out.push(`  description          ${x.description}`);
    out.push(`  installation-size    ${x.installationSize} bytes`);
    out.push(`  after-apply-guidance ${x.afterApplyGuidance.join(',') || '(none)'}`);
    out.push(`  enforce-homogeneity  ${x.enforceHomogeneity}`);
    if (x.livepatch) out.push('  livepatch            true');
    out.push(`  key                  ${x.key ?? '(none)'}`);
    out.push(`  control              ${x.control}`);
    if (x.rolledUpBy) out.push(`  rolled up by         ${x.rolledUpBy.nameLabel} (uuid ${x.rolledUpBy.uuid})`);
    if (x.overwrites?.length) out.push(`  overwrites           ${x.overwrites.join(', ')}`);
  } else {
    out.push('update: update.xml is INVALID');
    for (const p of u.updateXmlProblems) out.push(`  problem: ${p}`);
  }
  if (u.control) {
    const c = u.control;
    out.push(`control package ${c.nevra}${c.recordsApplied ? ` (records ${APPLIED_DIR}/<uuid>)` : ' (does NOT record the update as applied)'}`);
    out.push(`  provides   ${c.provides.join(', ') || '(none)'}`);
    out.push(`  requires   ${c.requires.join(', ') || '(none)'}`);
    out.push(`  conflicts  ${c.conflicts.join(', ') || '(none)'}`);
  } else out.push(`control package: ${u.controlProblem ?? 'none'}`);
  out.push(`packages (${u.packages.length}):`);
  for (const p of u.packages) out.push(`  ${p.name}-${p.version}-${p.release}.${p.arch}${p.control ? '  [control]' : ''}  ${p.signedBy ? `signed by ${p.signedBy}` : 'unsigned'}`);
  const s = u.signatures;
  out.push('signatures:');
  out.push(`  update.xml.asc            ${s.updateXml ? `key ${s.updateXml}` : 'absent'}`);
  out.push(`  repodata/repomd.xml.asc   ${s.repomd ? `key ${s.repomd}` : 'absent'}`);
  out.push(`  packages                  ${s.packages} signed`);
  for (const k of s.publicKeys) out.push(`  public key ${k.file}: ${k.keyIds.join(', ') || 'unreadable'}`);
  if (s.signedByShippedKey !== null) out.push(`  ${s.signedByShippedKey ? 'every signature is by a key shipped on the ISO' : 'some signature is by a key NOT shipped on the ISO'}`);
  return out;
}

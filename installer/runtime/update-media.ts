// Supplemental packs (`<source>` elements after the first) and driver disks
// (`<driver-source>`) at install time: update media of SPEC section 6 (update.xml,
// a yum repository with the comps group `update`, and `drivers` on driver disks,
// a control package, signatures when signed).
//
// Each medium is fetched like the main repository (http/https/ftp mirrored into
// the work directory, every fetch logged with size and sha256; nfs mounted;
// file:// read from the installer or the install medium; local = another device
// holding /update.xml) and verified before the disk is touched: update.xml
// parsed with the rules of updates/update-xml.ts, update.xml.asc and
// repodata/repomd.xml.asc checked with gpgv against the key on the medium when
// the medium is signed, every package's sha256 against the primary metadata.
//
// Installing one medium into the new dom0 is one `rpm --upgrade` transaction of
// its groups `update` and `drivers` plus its control package: rpm's dependency
// check is what enforces product-version / platform-version / kernel-uname-r and
// the prerequisites, and the control package writes /var/update/applied/<uuid>,
// so `xsforge-update list` on the host shows what the installer put there.
//
// A file that belongs to an installed package is replaced only when the
// medium's update.xml declares it (<overwrites>, the spec's `overwrites:`):
// rpm's own dry run finds files of rpm packages, and the Debian dom0's file lists
// (/var/lib/dpkg/info/*.list) those of the packages the dom0 image was made of.
//
// Driver disks are also loaded into the running installer: the kernel modules of
// their `drivers` packages are unpacked with `rpm --root <scratch> --nodeps
// --noscripts` (install.img has rpm, not necessarily rpm2cpio), copied under
// /lib/modules/<running release>/updates/ and loaded with modprobe. A module
// that does not load is a warning: the install goes on without it.
import { copyFileSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { release as osRelease } from 'node:os';
import { basename, dirname, join, relative } from 'node:path';
import type { RepoSource } from '../../answerfiles/model.ts';
import { parseComps, type CompsGroup } from '../../repo/comps.ts';
import {
  damagedPackagesMessage, dearmor, decompressMetadata, parsePrimary, parseRepomd, verifyRepository, type PrimaryPackage,
} from '../../repo/verify.ts';
import { checkUpdateXml, type UpdateXml } from '../../updates/update-xml.ts';
import { findOnPath } from '../../core/which.ts';
import { FetchError, fetchToFile, fileUrlPath, findInstallMedium, mediaCandidates, mountNfs, scratchDir, type FetchEnv } from './fetch.ts';
import { RPM_DB_PATH, mirrorRepository } from './packages.ts';

export type UpdateMediumRole = 'supplemental pack' | 'driver disk';

export class UpdateMediumError extends FetchError {}

/** A verified update medium, ready to be installed. */
export interface UpdateMedium {
  role: UpdateMediumRole;
  /** the answer file's location, for messages */
  where: string;
  /** the medium's content as a local directory (a mount, the installer's file system, or a downloaded copy) */
  dir: string;
  update: UpdateXml;
  packages: PrimaryPackage[];
  groups: CompsGroup[];
  /** what installing it puts into dom0: the group members and the control package */
  install: PrimaryPackage[];
  /** the public key on the medium, when it is signed */
  keyFile?: string;
  signed: boolean;
}

/** "supplemental pack xsforge-snmp-agent (http://...)" */
export function mediumLabel(m: Pick<UpdateMedium, 'role' | 'where'> & { update?: Pick<UpdateXml, 'nameLabel'> }): string {
  return `${m.role}${m.update ? ` ${m.update.nameLabel}` : ''} (${m.where})`;
}

// ---- pure parts: what to install, which modules, why rpm refused ------------------

/**
 * The packages a medium installs: the members (mandatory and default) of its
 * groups `update` and, when present, `drivers` (required on driver disks), plus
 * the control package update.xml names, each once, newest build last listed.
 */
export function selectUpdatePackages(
  update: Pick<UpdateXml, 'nameLabel' | 'control'>, repo: { packages: PrimaryPackage[]; groups: CompsGroup[] }, role: UpdateMediumRole,
): PrimaryPackage[] {
  const label = `${role} ${update.nameLabel}`;
  const groupIds = ['update', 'drivers'];
  const names: string[] = [];
  for (const id of groupIds) {
    const g = repo.groups.find((x) => x.id === id);
    if (!g) {
      if (id === 'update' || role === 'driver disk') throw new UpdateMediumError(`The ${label} has no comps group "${id}": it is not an update medium of this product.`);
      continue;
    }
    for (const p of g.packages) if (p.type !== 'optional' && !names.includes(p.name)) names.push(p.name);
  }
  if (!names.includes(update.control)) names.push(update.control);
  return names.map((name) => {
    const candidates = repo.packages.filter((p) => p.name === name && p.arch !== 'src');
    if (!candidates.length) {
      throw new UpdateMediumError(name === update.control
        ? `The ${label} has no control package ${name} (update.xml control="${name}").`
        : `The ${label} lists ${name} in its comps groups, but its repository has no such package.`);
    }
    return candidates[candidates.length - 1]!;
  });
}

export interface DriverModule {
  /** kernel release the module is for (the directory under /lib/modules) */
  release: string;
  /** path relative to the root, e.g. lib/modules/6.1.0-56-amd64/updates/xsf_demo_nic.ko */
  path: string;
  /** module name for modprobe: the file name without .ko[.xz|.zst|.gz] */
  name: string;
}

const MODULE_FILE = /^(?:usr\/)?lib\/modules\/([^/]+)\/updates\/(?:.+\/)?([^/]+)\.ko(?:\.(?:xz|zst|gz))?$/;

/** Kernel modules among files (root-relative or absolute paths): those under /lib/modules/<release>/updates/. */
export function driverModules(paths: string[]): DriverModule[] {
  const out: DriverModule[] = [];
  for (const p of paths) {
    const rel = p.replace(/^\/+/, '');
    const m = MODULE_FILE.exec(rel);
    if (m) out.push({ release: m[1]!, path: rel, name: m[2]! });
  }
  return out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

export interface UnmetDependency {
  kind: 'requires' | 'conflicts' | 'obsoleted';
  /** the capability, e.g. "platform-version = 2.2.0" */
  capability: string;
  /** the package that asks for it, e.g. control-xsforge-snmp-agent-1.0-1.noarch */
  package: string;
}

/** rpm's "Failed dependencies:" lines (rpm 4.x wording), in order. */
export function parseFailedDependencies(rpmOutput: string): UnmetDependency[] {
  const out: UnmetDependency[] = [];
  for (const raw of rpmOutput.split('\n')) {
    const line = raw.trim();
    let m = /^(.+?) is needed by (?:\(installed\) )?(\S+)$/.exec(line);
    if (m) { out.push({ kind: 'requires', capability: m[1]!, package: m[2]! }); continue; }
    m = /^(.+?) conflicts with (?:\(installed\) )?(\S+)$/.exec(line);
    if (m) { out.push({ kind: 'conflicts', capability: m[1]!, package: m[2]! }); continue; }
    m = /^(.+?) is obsoleted by (?:\(installed\) )?(\S+)$/.exec(line);
    if (m) out.push({ kind: 'obsoleted', capability: m[1]!, package: m[2]! });
  }
  return out;
}

/** One sentence per unmet dependency, for the installer's error. */
export function describeUnmet(d: UnmetDependency): string {
  switch (d.kind) {
    case 'requires': return `${d.package} requires ${d.capability}, which this installation does not provide`;
    case 'conflicts': return `${d.capability} conflicts with ${d.package}`;
    case 'obsoleted': return `${d.capability} is obsoleted by ${d.package}`;
  }
}

export interface FileConflict {
  /** absolute path, as rpm prints it */
  path: string;
  /** the package being installed that ships it, e.g. xsforge-snmp-agent-1.0.3-1.noarch */
  package: string;
  /** the package that owns it now (installed, or another package of the same transaction) */
  owner: string;
  /** true when the owner is another package of the same transaction, not an installed one */
  sameTransaction: boolean;
}

/**
 * rpm's file conflict lines (rpm 4.x wording, lib/rpmprob.c), in order:
 * `file /x from install of P conflicts with file from package Q` and
 * `file /x conflicts between attempted installs of P and Q`.
 */
export function parseFileConflicts(rpmOutput: string): FileConflict[] {
  const out: FileConflict[] = [];
  for (const raw of rpmOutput.split('\n')) {
    const line = raw.trim();
    let m = /^file (\/.*) from install of (\S+) conflicts with file from package (\S+)$/.exec(line);
    if (m) { out.push({ path: m[1]!, package: m[2]!, owner: m[3]!, sameTransaction: false }); continue; }
    m = /^file (\/.*) conflicts between attempted installs of (\S+) and (\S+)$/.exec(line);
    if (m) out.push({ path: m[1]!, package: m[3]!, owner: m[2]!, sameTransaction: true });
  }
  return out;
}

/** A file an update's package ships (rpm -qp FILEMODES/FILENAMES). */
export interface PayloadFile {
  path: string;
  directory: boolean;
  /** NAME-VERSION-RELEASE.ARCH of the package that ships it */
  package: string;
}

/** The query format parsePayloadFiles reads: mode (octal), path, package, a line per file. */
export const PAYLOAD_QUERY_FORMAT = '[%{FILEMODES:octal}\t%{FILENAMES}\t%{=NAME}-%{=VERSION}-%{=RELEASE}.%{=ARCH}\n]';

export function parsePayloadFiles(out: string): PayloadFile[] {
  const files: PayloadFile[] = [];
  for (const line of out.split('\n')) {
    const [mode, path, pkg] = line.split('\t');
    if (!mode || !path?.startsWith('/') || !pkg) continue;
    // S_IFDIR is 040000: "40755" for a directory, "100644" for a file, "120777" for a link
    files.push({ path, directory: (parseInt(mode, 8) & 0o170000) === 0o040000, package: pkg });
  }
  return files;
}

// merged /usr: /bin, /sbin and /lib* are links into /usr, while dpkg's lists keep the old names
const MERGED_USR_DIRS = /^\/(bin|sbin|lib|lib32|lib64|libx32)(\/|$)/;

export function canonicalUsrPath(path: string, mergedUsr: boolean): string {
  return mergedUsr && MERGED_USR_DIRS.test(path) ? `/usr${path}` : path;
}

/** A Debian package's file list: owner from `NAME[:ARCH].list`, paths from its lines. */
export interface DpkgFileList {
  owner: string;
  paths: string[];
}

/**
 * The files (not directories) an update ships that a Debian package of the dom0
 * owns, as conflicts. A path an rpm package owns too (`rpmOwned`: the product
 * kernel's /boot/vmlinuz-*, taken over from linux-image) is left to rpm's own
 * check, which lets a hotfix upgrade its own package's files.
 */
export function dpkgFileConflicts(payload: PayloadFile[], lists: DpkgFileList[], mergedUsr: boolean, rpmOwned: ReadonlySet<string> = new Set()): FileConflict[] {
  const owners = new Map<string, string>();
  for (const l of lists) for (const p of l.paths) owners.set(canonicalUsrPath(p, mergedUsr), l.owner);
  const byRpm = new Set([...rpmOwned].map((p) => canonicalUsrPath(p, mergedUsr)));
  const out: FileConflict[] = [];
  for (const f of payload) {
    if (f.directory) continue;
    const path = canonicalUsrPath(f.path, mergedUsr);
    if (byRpm.has(path)) continue;
    const owner = owners.get(path);
    if (owner) out.push({ path: f.path, package: f.package, owner: `${owner} (Debian package)`, sameTransaction: false });
  }
  return out;
}

/** The dpkg file lists under `root` (none when it has no dpkg database). */
export function readDpkgFileLists(root: string): DpkgFileList[] {
  const info = join(root, 'var/lib/dpkg/info');
  if (!existsSync(info)) return [];
  return readdirSync(info).filter((n) => n.endsWith('.list')).map((n) => ({
    owner: n.slice(0, -'.list'.length).replace(/:[^:]*$/, ''),
    paths: readFileSync(join(info, n), 'utf8').split('\n').filter((p) => p.startsWith('/') && p !== '/.'),
  }));
}

/** /bin is a link into /usr under `root` (Debian bookworm and later). */
function isMergedUsr(root: string): boolean {
  try { return lstatSync(join(root, 'bin')).isSymbolicLink(); } catch { return false; }
}

/** The conflicts whose path the update does not declare in <overwrites>. */
export function undeclaredConflicts(conflicts: FileConflict[], overwrites: readonly string[] = []): FileConflict[] {
  return conflicts.filter((c) => !overwrites.includes(c.path));
}

/** "/usr/sbin/x (owned by xsforge-update-1-1.noarch, shipped by pack-1-1.noarch)" */
export function describeConflict(c: FileConflict): string {
  return `${c.path} (owned by ${c.sameTransaction ? 'its own package ' : ''}${c.owner}, shipped by ${c.package})`;
}

// ---- fetching -----------------------------------------------------------------------

/** Another device (not the install target) whose file system holds /update.xml; it stays mounted. */
async function findUpdateDevice(env: FetchEnv, taken: Set<string>): Promise<{ dir: string; device: string }> {
  const classDir = join(env.sysRoot, 'class', 'block');
  const names = existsSync(classDir) ? readdirSync(classDir) : [];
  for (const name of mediaCandidates(names, env.excludeDisks)) {
    const dev = join(env.devRoot, name);
    if (taken.has(dev) || !existsSync(dev)) continue;
    const dir = scratchDir(env, `update-${name}`);
    try {
      await env.log.run(['mount', '-o', 'ro', dev, dir]);
    } catch {
      rmSync(dir, { recursive: true, force: true });
      continue;
    }
    if (existsSync(join(dir, 'update.xml'))) {
      env.mounted.push(dir);
      taken.add(dev);
      return { dir, device: dev };
    }
    await env.log.run(['umount', dir]).catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }
  throw new UpdateMediumError('No device holds an update medium (a file system with /update.xml) for <source type="local">.',
    'attach the supplemental pack or driver disk as a CD/DVD or USB device, or give its URL');
}

/**
 * Copy a remote update medium: update.xml (required), update.xml.asc and the key
 * update.xml names (when there), then the repository with mirrorRepository.
 */
async function mirrorUpdateMedium(env: FetchEnv, base: string, dest: string, role: UpdateMediumRole): Promise<void> {
  const get = (rel: string) => fetchToFile(env, `${base}/${rel}`, join(dest, rel));
  try {
    await get('update.xml');
  } catch (e) {
    throw new UpdateMediumError(`The ${role} ${base} is not an update medium: ${base}/update.xml could not be fetched (${(e as Error).message.split('\n')[0]}).`);
  }
  const optional = async (rel: string) => get(rel).then(() => true, () => { env.log.detail(`${base}/${rel}: not there`); return false; });
  await optional('update.xml.asc');
  const key = checkUpdateXml(readFileSync(join(dest, 'update.xml'), 'utf8')).update?.key;
  if (key && /^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(key)) await optional(key);
  if (!await mirrorRepository(env, base, dest)) throw new UpdateMediumError(`The ${role} ${base} has no repository (repodata/repomd.xml).`);
}

/** Where the medium's content is, as a local directory. Remote media are copied into the work directory. */
async function openUpdateSource(env: FetchEnv, source: RepoSource, role: UpdateMediumRole, taken: Set<string>): Promise<{ where: string; dir: string }> {
  if (source.type === 'local') {
    const found = await findUpdateDevice(env, taken);
    env.log.say(`Found the ${role} on ${found.device}`);
    return { where: found.device, dir: found.dir };
  }
  if (source.type === 'nfs') return { where: `nfs ${source.address}`, dir: await mountNfs(env, source.address) };
  const address = source.address.replace(/\/+$/, '');
  if (/^file:\/\//i.test(address)) {
    const path = fileUrlPath(address);
    if (existsSync(path)) return { where: address, dir: path };
    // file:///packs/x names a directory on the install medium when the installer has no such path
    let medium: string;
    try {
      medium = await findInstallMedium(env, '.');
    } catch {
      throw new UpdateMediumError(`The ${role} ${address}: ${path} is not in the installer, and no install medium was found to look for it on.`);
    }
    return { where: address, dir: join(medium, path) };
  }
  if (!/^(https?|ftp):\/\//i.test(address)) throw new UpdateMediumError(`The ${role} ${address}: unsupported location (use http://, https://, ftp://, file://, nfs or local)`);
  const dest = scratchDir(env, role === 'driver disk' ? 'driver-disk' : 'supp-pack');
  env.log.say(`Fetching the ${role} ${address}`);
  await mirrorUpdateMedium(env, address, dest, role);
  return { where: address, dir: dest };
}

// ---- verifying ----------------------------------------------------------------------

/** gpgv of a detached signature against one public key file (armoured or binary); the error text when it fails. */
async function checkDetached(env: FetchEnv, file: string, asc: string, keyFile: string): Promise<{ ok: boolean; detail: string }> {
  if (!findOnPath('gpgv')) return { ok: false, detail: 'gpgv is not installed in the installer' };
  const tmp = scratchDir(env, 'gpgv');
  try {
    const raw = readFileSync(keyFile);
    const keyring = join(tmp, 'keyring.gpg');
    writeFileSync(keyring, raw.includes('-----BEGIN PGP') ? dearmor(raw.toString('latin1')) : raw);
    // an empty --homedir: only the given key is trusted
    const r = await env.log.run(['gpgv', '--homedir', tmp, '--status-fd', '1', '--keyring', keyring, asc, file])
      .then((x) => ({ ok: true, out: x.stdout }), (e) => ({ ok: false, out: String((e as { outputTail?: string }).outputTail ?? e) }));
    if (r.ok && /\[GNUPG:\] GOODSIG /.test(r.out)) return { ok: true, detail: 'good signature' };
    const bad = /\[GNUPG:\] (BADSIG|ERRSIG|NO_PUBKEY|EXPKEYSIG|REVKEYSIG)( [0-9A-F]+)?/.exec(r.out);
    return { ok: false, detail: bad ? `gpgv: ${bad[1]}${bad[2] ?? ''}` : r.out.trim().split('\n').slice(-1)[0] ?? 'gpgv failed' };
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

/** Check a medium in `dir`: update.xml, signatures (when signed), package checksums; and pick what it installs. */
export async function verifyUpdateMedium(env: FetchEnv, dir: string, where: string, role: UpdateMediumRole): Promise<UpdateMedium> {
  const first = `The ${role} ${where}`;
  const xmlPath = join(dir, 'update.xml');
  if (!existsSync(xmlPath)) throw new UpdateMediumError(`${first} is not an update medium: it has no update.xml.`);
  const checked = checkUpdateXml(readFileSync(xmlPath, 'utf8'));
  if (!checked.update) throw new UpdateMediumError(`${first} has an invalid update.xml:\n  - ${checked.problems.join('\n  - ')}`);
  const update = checked.update;
  const label = `${role} ${update.nameLabel} (${where})`;
  if (!existsSync(join(dir, 'repodata', 'repomd.xml'))) throw new UpdateMediumError(`The ${label} has no repository (repodata/repomd.xml).`);

  const signed = existsSync(join(dir, 'update.xml.asc')) || existsSync(join(dir, 'repodata', 'repomd.xml.asc'));
  let keyFile: string | undefined;
  if (signed) {
    const named = update.key && existsSync(join(dir, update.key)) ? update.key : undefined;
    const any = readdirSync(dir).filter((f) => f.startsWith('RPM-GPG-KEY-')).sort()[0];
    if (!named && !any) throw new UpdateMediumError(`The ${label} is signed but carries no public key (${update.key ?? 'RPM-GPG-KEY-*'} at its root).`);
    keyFile = join(dir, named ?? any!);
    if (!existsSync(join(dir, 'update.xml.asc'))) throw new UpdateMediumError(`The ${label} has a signed repository but no update.xml.asc.`);
    const sig = await checkDetached(env, xmlPath, join(dir, 'update.xml.asc'), keyFile);
    if (!sig.ok) throw new UpdateMediumError(`The ${label}: update.xml.asc does not verify with ${basename(keyFile)} (${sig.detail}).`);
  }

  const result = await verifyRepository(dir, keyFile ? { keyringFile: keyFile } : {});
  if (!result.metadataOk) throw new UpdateMediumError(`The repository metadata of the ${label} is damaged:\n${result.metadataProblems.join('\n')}`);
  if (result.damaged.length) {
    for (const d of result.damaged) env.log.detail(`damaged: ${d.href}: sha256 ${d.actual}, primary metadata says ${d.expected}`);
    throw new UpdateMediumError(`The ${label} is damaged. ${damagedPackagesMessage(result.damaged.map((d) => basename(d.href)))}`);
  }
  if (signed) {
    if (result.signature.status !== 'good') {
      throw new UpdateMediumError(`The ${label}: repodata/repomd.xml.asc does not verify with ${basename(keyFile!)} (${result.signature.status}: ${result.signature.detail}).`);
    }
    env.log.say(`The ${label} is signed: update.xml and repomd.xml verified with ${basename(keyFile!)}${result.signature.keyId ? ` (key ${result.signature.keyId})` : ''}`);
  } else {
    env.log.say(`The ${label} is unsigned: its packages are checked by their sha256 only`);
  }

  const repomd = parseRepomd(readFileSync(join(dir, 'repodata', 'repomd.xml'), 'utf8'));
  const hrefOf = (type: string) => repomd.data.find((d) => d.type === type)?.href;
  const primaryHref = hrefOf('primary')!;
  const packages = parsePrimary(decompressMetadata(readFileSync(join(dir, primaryHref)), primaryHref));
  const groupHref = hrefOf('group') ?? hrefOf('group_gz');
  const groups = groupHref ? parseComps(decompressMetadata(readFileSync(join(dir, groupHref)), groupHref)) : [];
  const install = selectUpdatePackages(update, { packages, groups }, role);
  env.log.say(`Verified the ${label}: ${update.version}, ${result.packages} packages (sha256 checked); installs ${install.map((p) => p.name).join(', ')}`);
  return { role, where, dir, update, packages, groups, install, ...(keyFile ? { keyFile } : {}), signed };
}

/**
 * Fetch and verify every medium of one kind, in answer-file order. Nothing on
 * the target is touched. The same update twice is an error (rpm would refuse
 * the second copy later, after the disk was written).
 */
export async function prepareUpdateMedia(env: FetchEnv, sources: RepoSource[], role: UpdateMediumRole, known: UpdateMedium[] = []): Promise<UpdateMedium[]> {
  const out: UpdateMedium[] = [];
  const taken = new Set<string>();
  for (const source of sources) {
    const { where, dir } = await openUpdateSource(env, source, role, taken);
    const m = await verifyUpdateMedium(env, dir, where, role);
    const twice = [...known, ...out].find((x) => x.update.uuid === m.update.uuid);
    if (twice) throw new UpdateMediumError(`The ${mediumLabel(m)} is the same update as ${mediumLabel(twice)} (uuid ${m.update.uuid}): give it once.`);
    out.push(m);
  }
  return out;
}

/**
 * A medium's key must not replace a different key of the same name that the
 * product repository installs (/etc/pki/rpm-gpg/RPM-GPG-KEY-<name>): a pack
 * could otherwise make the host trust its signer for the product's updates.
 */
export function checkKeyNames(media: UpdateMedium[], productKeyFiles: string[]): void {
  for (const m of media) {
    if (!m.keyFile) continue;
    const same = productKeyFiles.find((k) => basename(k) === basename(m.keyFile!));
    if (same && !readFileSync(same).equals(readFileSync(m.keyFile))) {
      throw new UpdateMediumError(`The ${mediumLabel(m)} is signed with a key named ${basename(m.keyFile)} that is not the product's key of that name.`,
        'sign the pack with its vendor\'s own key name, or with the product key');
    }
  }
}

// ---- installing into the target ---------------------------------------------------------

export interface InstalledUpdate {
  nameLabel: string;
  uuid: string;
  nevras: string[];
  /** the record the control package wrote, relative to the target root */
  applied: string;
}

/**
 * One rpm transaction (`rpm --upgrade`, so a pack may also update a product
 * package) of the medium's packages into `target`. The medium's key is imported
 * into the target's rpm database first (rpm checks package signatures with it)
 * and installed as /etc/pki/rpm-gpg/<key> when no file of that name is there,
 * so xsforge-update on the host verifies later updates by the same signer.
 * An unmet dependency stops the install with the pack's name and the requirement.
 * A dry run (--test) comes first: a file the update ships that an installed
 * package owns stops the install, naming the file and its owner, unless
 * update.xml declares it in <overwrites>; when every conflict is declared the
 * transaction runs with --replacefiles and each replaced file is logged.
 */
export async function installUpdateMedium(env: FetchEnv, m: UpdateMedium, target: string): Promise<InstalledUpdate> {
  const label = mediumLabel(m);
  const rpmRoot = ['--root', target, '--dbpath', RPM_DB_PATH];
  const stagingRel = `var/tmp/xsforge-update-${m.update.nameLabel}`;
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
    if (m.keyFile) {
      await env.log.run(['rpmkeys', ...rpmRoot, '--import', m.keyFile]);
      const installed = join(target, 'etc/pki/rpm-gpg', basename(m.keyFile));
      if (!existsSync(installed)) {
        mkdirSync(dirname(installed), { recursive: true });
        copyFileSync(m.keyFile, installed);
        env.log.detail(`installed /etc/pki/rpm-gpg/${basename(m.keyFile)} from the ${label}`);
      }
    }
    const files = m.install.map((p) => {
      const dest = join(staging, basename(p.href));
      copyFileSync(join(m.dir, p.href), dest);
      return dest;
    });
    env.log.say(`Installing the ${label}: ${m.install.map((p) => p.name).join(', ')}`);
    const rpmUpgrade = (extra: string[]) => ['rpm', ...rpmRoot, '--upgrade', '--verbose', '--force-debian', ...extra, ...files];
    const failure = (e: unknown): UpdateMediumError => {
      const output = String((e as { outputTail?: string }).outputTail ?? (e as Error).message);
      const unmet = parseFailedDependencies(output);
      if (unmet.length) {
        return new UpdateMediumError(`The ${label} cannot be installed on this host: ${unmet.map(describeUnmet).join('; ')}.`,
          m.role === 'driver disk' ? 'a driver disk is built for one dom0 kernel (kernel-uname-r)' : 'check the pack\'s requirements with `xsforge inspect` on its ISO');
      }
      const lines = output.split('\n').map((l) => l.trim()).filter((l) => /^error:|conflict|is already installed/i.test(l));
      return new UpdateMediumError(`The ${label} could not be installed: ${lines.join(' ') || output.trim().split('\n').slice(-1)[0]}`);
    };
    // A dry run first: rpm refuses files owned by installed packages, and only
    // the ones the update declares in <overwrites> may be replaced.
    let rpmConflicts: FileConflict[] = [];
    try {
      await env.log.run(rpmUpgrade(['--test']), { timeoutMs: 600_000 });
    } catch (e) {
      rpmConflicts = parseFileConflicts(String((e as { outputTail?: string }).outputTail ?? (e as Error).message));
      if (!rpmConflicts.length) throw failure(e);
    }
    // rpm knows nothing of the Debian packages the dom0 image was made of: their files too
    const dpkgLists = readDpkgFileLists(target);
    let dpkgConflicts: FileConflict[] = [];
    if (dpkgLists.length) {
      const payload = parsePayloadFiles((await env.log.run(['rpm', '-qp', '--nosignature', '--queryformat', PAYLOAD_QUERY_FORMAT, ...files])).stdout);
      const rpmOwned = new Set((await env.log.run(['rpm', ...rpmRoot, '-qa', '--queryformat', '[%{FILENAMES}\\n]'])).stdout.split('\n').filter(Boolean));
      dpkgConflicts = dpkgFileConflicts(payload, dpkgLists, isMergedUsr(target), rpmOwned);
    }
    const replaced = [...rpmConflicts, ...dpkgConflicts];
    const undeclared = undeclaredConflicts(replaced, m.update.overwrites);
    if (undeclared.length) {
      throw new UpdateMediumError(
        `The ${label} would overwrite ${undeclared.length === 1 ? 'a file' : `${undeclared.length} files`} of installed packages: ${undeclared.map(describeConflict).join('; ')}.`,
        'a pack may replace a product file only when its vendor declares that on purpose: list the path under `overwrites:` in the pack\'s spec and rebuild it');
    }
    try {
      await env.log.run(rpmUpgrade(rpmConflicts.length ? ['--replacefiles'] : []), { timeoutMs: 1_800_000 });
    } catch (e) {
      throw failure(e);
    }
    for (const c of replaced) env.log.say(`The ${label} replaced ${c.path} of ${c.owner} (declared in its overwrites)`);
    const applied = join('var/update/applied', m.update.uuid);
    if (!existsSync(join(target, applied))) {
      throw new UpdateMediumError(`The ${label} was installed, but its control package ${m.update.control} did not record /${applied}.`);
    }
    const q = await env.log.run(['rpm', ...rpmRoot, '--query', '--queryformat', '%{NAME}-%{VERSION}-%{RELEASE}.%{ARCH}\\n', ...m.install.map((p) => p.name)]);
    const nevras = q.stdout.split('\n').filter(Boolean);
    env.log.say(`Installed the ${label} ${m.update.version}: ${nevras.join(' ')}; recorded in /${applied}`);
    return { nameLabel: m.update.nameLabel, uuid: m.update.uuid, nevras, applied: `/${applied}` };
  } finally {
    for (const dir of binds.reverse()) await env.log.run(['umount', dir]).catch(() => undefined);
    rmSync(staging, { recursive: true, force: true });
  }
}

// ---- driver disks in the installer ---------------------------------------------------------

export interface ModuleEnv {
  /** root whose lib/modules/<release>/ modprobe and depmod use: / in install.img, a scratch tree in tests */
  modulesBase?: string;
  /** the running kernel's release (uname -r) */
  kernelRelease?: string;
}

export interface LoadedModule {
  name: string;
  release: string;
  loaded: boolean;
  /** why not, when not loaded */
  reason?: string;
}

function filesUnder(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) out.push(p);
    }
  };
  if (existsSync(dir)) walk(dir);
  return out;
}

/**
 * Unpack the module packages of a driver disk (group `drivers`) into a scratch
 * root: rpm without dependencies or scriptlets (nothing runs, the scratch root
 * has nothing to run them with). Package signatures are not checked here: each
 * package's sha256 was checked against the verified metadata.
 */
export async function unpackDriverPackages(env: FetchEnv, m: UpdateMedium): Promise<{ root: string; modules: DriverModule[] }> {
  const drivers = m.groups.find((g) => g.id === 'drivers');
  const names = new Set(drivers ? drivers.packages.filter((p) => p.type !== 'optional').map((p) => p.name) : []);
  const pkgs = m.install.filter((p) => names.has(p.name));
  const root = scratchDir(env, `drivers-${m.update.nameLabel}`);
  if (pkgs.length) {
    await env.log.run(['rpm', '--root', root, '--dbpath', RPM_DB_PATH, '--install', '--nodeps', '--noscripts', '--notriggers', '--nosignature',
      '--force-debian', ...pkgs.map((p) => join(m.dir, p.href))]);
  }
  const modules = driverModules(filesUnder(join(root, 'lib/modules')).concat(filesUnder(join(root, 'usr/lib/modules'))).map((f) => relative(root, f)));
  return { root, modules };
}

/**
 * Load a driver disk's modules into the running kernel. Modules for another
 * kernel release, a failing depmod or a module that does not load are warnings.
 */
export async function loadDriverModules(env: FetchEnv & ModuleEnv, m: UpdateMedium): Promise<LoadedModule[]> {
  const label = mediumLabel(m);
  const running = env.kernelRelease ?? osRelease();
  const base = env.modulesBase ?? '/';
  const { root, modules } = await unpackDriverPackages(env, m);
  const result: LoadedModule[] = [];
  try {
    if (!modules.length) {
      env.log.say(`warning: the ${label} has no kernel modules under /lib/modules/<release>/updates/`);
      return result;
    }
    const mine = modules.filter((x) => x.release === running);
    for (const x of modules.filter((y) => y.release !== running)) {
      const reason = `built for kernel ${x.release}, the installer runs ${running}`;
      env.log.say(`warning: module ${x.name} of the ${label} is not loaded: ${reason}`);
      result.push({ name: x.name, release: x.release, loaded: false, reason });
    }
    if (!mine.length) return result;
    for (const x of mine) {
      const dest = join(base, 'lib/modules', running, 'updates', relative(join(x.path.startsWith('usr/') ? 'usr/lib/modules' : 'lib/modules', x.release, 'updates'), x.path));
      mkdirSync(dirname(dest), { recursive: true });
      copyFileSync(join(root, x.path), dest);
    }
    await env.log.run(['depmod', '-b', base, '-a', running]).catch((e) => {
      env.log.say(`warning: depmod for the ${label} failed: ${String((e as { outputTail?: string }).outputTail ?? e).trim().split('\n').slice(-1)[0]}`);
    });
    for (const x of mine) {
      try {
        await env.log.run(['modprobe', '-d', base, '-S', running, x.name]);
        env.log.say(`Loaded module ${x.name} from the ${label}`);
        result.push({ name: x.name, release: x.release, loaded: true });
      } catch (e) {
        const why = String((e as { outputTail?: string }).outputTail ?? (e as Error).message).trim().split('\n').slice(-1)[0] ?? 'modprobe failed';
        env.log.say(`warning: module ${x.name} of the ${label} did not load (${why}); the install goes on without it`);
        result.push({ name: x.name, release: x.release, loaded: false, reason: why });
      }
    }
    return result;
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

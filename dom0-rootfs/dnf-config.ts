// dnf's side of the RPM dom0 provider as pure code: the dnf.conf that names
// exactly the configured repositories (nothing from the host's /etc/yum.repos.d
// or /etc/dnf), the install command line, and reading `rpm -qa` back. Text in,
// text out; no processes.
import { XsforgeError } from '../core/errors.ts';

/** A repository as dnf sees it once the stage knows where everything is. */
export interface DnfRepository {
  /** dnf repository id */
  id: string;
  /** http(s):// or file:// URL of the directory holding repodata/ */
  baseurl: string;
  /** absolute paths of ASCII-armoured public keys; any key turns on gpgcheck */
  gpgkeys: string[];
  /** also check repodata/repomd.xml.asc (only meaningful with keys) */
  repoGpgcheck: boolean;
}

/** dnf repository ids: what dnf itself accepts. */
export const REPO_ID_RE = /^[A-Za-z0-9][A-Za-z0-9_.:-]*$/;
/** A comps group id or a package name/spec as given to `dnf install`. */
const GROUP_RE = /^[A-Za-z0-9][A-Za-z0-9._+-]*$/;
const PACKAGE_RE = /^[A-Za-z0-9_+][A-Za-z0-9._+-]*$/;
/** dnf.conf values are one line; a space separates multiple gpgkey URLs. */
const CONF_VALUE_RE = /^[^\s\r\n]+$/;

export function dnfConfProblems(repos: DnfRepository[]): string[] {
  const problems: string[] = [];
  const ids = new Set<string>();
  if (repos.length === 0) problems.push('no repositories: dnf would have nothing to install from');
  for (const r of repos) {
    if (!REPO_ID_RE.test(r.id)) problems.push(`repository name ${JSON.stringify(r.id)} is not letters, digits and . _ : - (starting with a letter or digit)`);
    if (ids.has(r.id)) problems.push(`repository ${r.id} is listed twice`);
    ids.add(r.id);
    if (!/^(https?|file):\/\//.test(r.baseurl) || !CONF_VALUE_RE.test(r.baseurl)) problems.push(`repository ${r.id}: ${JSON.stringify(r.baseurl)} is not an http(s):// or file:// URL without spaces`);
    for (const k of r.gpgkeys) if (!k.startsWith('/') || !CONF_VALUE_RE.test(k)) problems.push(`repository ${r.id}: gpg key ${JSON.stringify(k)} is not an absolute path without spaces`);
    if (r.repoGpgcheck && r.gpgkeys.length === 0) problems.push(`repository ${r.id}: repo_gpgcheck needs a gpg key to check repomd.xml.asc with`);
  }
  return problems;
}

/** A file:// URL for an absolute local path (dnf takes the path literally after file://). */
export function fileUrl(path: string): string {
  if (!path.startsWith('/')) throw new Error(`"${path}" is not an absolute path`);
  return `file://${path}`;
}

/**
 * The whole dnf configuration: [main] plus one section per repository. Nothing
 * else is read: reposdir=/dev/null keeps the host's repositories out, and
 * plugins=0 keeps host dnf plugins from changing the transaction. Directories
 * (cachedir) are not set here: with --installroot, dnf 4.14 puts the root in
 * front of directories read from a config file (not of --setopt ones), and its
 * logs always go to the root's /var/log (the stage removes them).
 */
export function dnfConfText(repos: DnfRepository[]): string {
  const problems = dnfConfProblems(repos);
  if (problems.length) throw new XsforgeError(`dom0 RPM repositories: ${problems.join('; ')}`, 'each repository needs a name, a url or path, and optional gpg key files');
  const lines = [
    '# written by xsforge for one dom0 root build',
    '[main]',
    'reposdir=/dev/null',
    // downloaded packages stay in cachedir: a rebuild does not fetch them again
    'keepcache=1',
    'install_weak_deps=0',
    'plugins=0',
    'best=1',
    'skip_if_unavailable=0',
    // an appliance image: no installonly pruning of the one kernel it has
    'installonly_limit=0',
    '',
  ];
  for (const r of repos) {
    const signed = r.gpgkeys.length > 0;
    lines.push(
      `[${r.id}]`,
      `name=${r.id}`,
      `baseurl=${r.baseurl}`,
      'enabled=1',
      `gpgcheck=${signed ? 1 : 0}`,
      `repo_gpgcheck=${r.repoGpgcheck ? 1 : 0}`,
      ...(signed ? [`gpgkey=${r.gpgkeys.map(fileUrl).join(' ')}`] : []),
      // the stage runs only when its key changed: always read the current metadata
      'metadata_expire=0',
      '',
    );
  }
  return lines.join('\n');
}

export interface DnfInstallRequest {
  config: string;
  installroot: string;
  /** dnf's metadata and package cache, outside the root */
  cachedir: string;
  releasever: string;
  groups: string[];
  packages: string[];
  nodocs: boolean;
}

export function dnfInstallProblems(r: Pick<DnfInstallRequest, 'releasever' | 'groups' | 'packages'>): string[] {
  const problems: string[] = [];
  if (!/^[A-Za-z0-9][A-Za-z0-9._+-]*$/.test(r.releasever)) problems.push(`releasever ${JSON.stringify(r.releasever)} is not letters, digits and . _ + -`);
  for (const g of r.groups) if (!GROUP_RE.test(g)) problems.push(`group ${JSON.stringify(g)} is not a comps group id (letters, digits and . _ + -; no "@")`);
  for (const p of r.packages) if (!PACKAGE_RE.test(p)) problems.push(`package ${JSON.stringify(p)} is not a package name`);
  if (r.groups.length + r.packages.length === 0) problems.push('no groups and no packages: the root would be empty');
  return problems;
}

/** `dnf install` into an empty root with only our configuration. */
export function dnfInstallArgv(r: DnfInstallRequest): string[] {
  const problems = dnfInstallProblems(r);
  if (problems.length) throw new XsforgeError(`dom0 RPM install: ${problems.join('; ')}`);
  return [
    'dnf', '--assumeyes', `--config=${r.config}`, `--installroot=${r.installroot}`, `--releasever=${r.releasever}`,
    // also here: --setopt wins over whatever configuration file dnf reads
    '--setopt=reposdir=/dev/null',
    // a --setopt directory is taken as it is (one from dnf.conf would be put under the root)
    `--setopt=cachedir=${r.cachedir}`,
    ...(r.nodocs ? ['--nodocs'] : []),
    'install',
    ...r.groups.map((g) => `@${g}`),
    ...r.packages,
  ];
}

/** Query format for readRpmQa: one package a line, tab-separated. */
export const RPM_QA_FORMAT = '%{NAME}\\t%{EPOCHNUM}\\t%{VERSION}\\t%{RELEASE}\\t%{ARCH}\\t%{INSTALLTIME}\\t%{INSTALLTID}\\n';

export interface InstalledRpm {
  name: string;
  /** [epoch:]version-release, as rpm prints it */
  version: string;
  arch: string;
  installTime: number;
  /** the transaction's id: its start time */
  installTid: number;
}

/** `rpm -qa --qf RPM_QA_FORMAT` output, sorted by name then version. */
export function parseRpmQa(text: string): InstalledRpm[] {
  const out: InstalledRpm[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    const f = line.split('\t');
    if (f.length !== 7) throw new Error(`rpm -qa line ${JSON.stringify(line)} does not have 7 tab-separated fields`);
    const [name, epoch, version, release, arch, installTime, installTid] = f as [string, string, string, string, string, string, string];
    // gpg-pubkey entries (keys dnf imported) have no arch
    out.push({ name, version: `${epoch !== '0' ? `${epoch}:` : ''}${version}-${release}`, arch: arch === '(none)' ? '' : arch, installTime: Number(installTime), installTid: Number(installTid) });
  }
  return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : a.version < b.version ? -1 : a.version > b.version ? 1 : 0));
}

/**
 * Packages whose recorded install time does not come from SOURCE_DATE_EPOCH.
 * rpm 4.18 with SOURCE_DATE_EPOCH set records INSTALLTID = epoch and numbers
 * INSTALLTIME epoch, epoch+1, ... in transaction order (so the order stays
 * readable); anything else is the build's clock.
 */
export function clockInstallTimes(installed: InstalledRpm[], epoch: number): InstalledRpm[] {
  return installed.filter((x) => x.installTid !== epoch || x.installTime < epoch || x.installTime >= epoch + installed.length);
}

// The spec file for one package model: pure text out. Names, versions, deps and
// paths were validated by model.ts; free text (summary, description, licence,
// URL, scriptlets) has every "%" doubled so rpmbuild's macro expansion gives it
// back literally, and lines it cannot carry literally are refused there.
import { DEFAULT_FILE_MODE, DIR_MODE, RPM_SCRIPTLETS, normalizeDependency, validateRpmSpec, type RpmSpecInput } from './model.ts';

/** Under %{_sourcedir}: the install tree the builder lays out before rpmbuild runs. */
export const STAGING_TREE = 'tree';

export interface SpecOptions {
  /** dates the %changelog entry */
  sourceDateEpoch: number;
}

/** "%" -> "%%": macro expansion turns it back into one "%". */
export function escapeMacros(text: string): string {
  return text.replace(/%/g, '%%');
}

function octal(mode: number): string {
  return mode.toString(8).padStart(4, '0');
}

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** "Sun Sep 09 2001", the %changelog date form, in UTC. */
export function changelogDate(epochSeconds: number): string {
  const d = new Date(epochSeconds * 1000);
  return `${DAYS[d.getUTCDay()]} ${MONTHS[d.getUTCMonth()]} ${String(d.getUTCDate()).padStart(2, '0')} ${d.getUTCFullYear()}`;
}

export function formatRpmSpec(spec: RpmSpecInput<unknown>, opts: SpecOptions): string {
  validateRpmSpec(spec);
  // rpm refuses a changelog dated on the first day of 1970 (it reads day 0 as "no date")
  if (!(Number.isInteger(opts.sourceDateEpoch) && opts.sourceDateEpoch >= 86400)) {
    throw new Error(`SOURCE_DATE_EPOCH ${opts.sourceDateEpoch} is before 1970-01-02, which rpm's %changelog cannot date`);
  }
  const L: string[] = [];
  L.push('# Written by xsforge from its package model: edit the model, not this file.');
  L.push(`Name: ${spec.name}`);
  L.push(`Version: ${spec.version}`);
  L.push(`Release: ${spec.release}`);
  L.push(`Summary: ${escapeMacros(spec.summary.trim())}`);
  L.push(`License: ${escapeMacros(spec.license.trim())}`);
  if (spec.url?.trim()) L.push(`URL: ${escapeMacros(spec.url.trim())}`);
  if (spec.group?.trim()) L.push(`Group: ${escapeMacros(spec.group.trim())}`);
  L.push(`BuildArch: ${spec.arch}`);
  // The dependencies are the model's: rpm's generators would add requirements
  // found by scanning the payload (ELF sonames, script interpreters), which name
  // the build host's Debian libraries and differ with the host's tool versions.
  L.push('AutoReqProv: no');
  const deps: [string, string[]][] = [['Provides', spec.provides], ['Requires', spec.requires], ['Conflicts', spec.conflicts], ['Obsoletes', spec.obsoletes]];
  for (const [tag, list] of deps) for (const d of list) L.push(`${tag}: ${normalizeDependency(d)}`);
  L.push('');
  L.push('%description');
  L.push(escapeMacros(spec.description.replace(/\s+$/, '')));
  L.push('');
  L.push('%install');
  // The builder laid out the install tree with final modes; quoted in case the
  // build directory holds characters the shell would split on.
  L.push(`mkdir -p "%{buildroot}"`);
  L.push(`cp -pR "%{_sourcedir}/${STAGING_TREE}/." "%{buildroot}/"`);
  L.push('');
  L.push('%files');
  const entries: [string, string][] = [
    ...spec.dirs.map((d): [string, string] => [d, `%dir %attr(${octal(DIR_MODE)},root,root) ${d}`]),
    ...spec.files.map((f): [string, string] => [f.to, `${f.config ? '%config(noreplace) ' : ''}%attr(${octal(f.mode ?? DEFAULT_FILE_MODE)},root,root) ${f.to}`]),
  ];
  entries.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  for (const [, line] of entries) L.push(line);
  for (const name of RPM_SCRIPTLETS) {
    const body = spec.scriptlets[name];
    if (body === undefined) continue;
    L.push('');
    L.push(`%${name}`);
    L.push(escapeMacros(body.replace(/\s+$/, '')));
  }
  L.push('');
  L.push('%changelog');
  L.push(`* ${changelogDate(opts.sourceDateEpoch)} xsforge <xsforge@localhost> - ${spec.version}-${spec.release}`);
  L.push('- Built by xsforge.');
  return L.join('\n') + '\n';
}

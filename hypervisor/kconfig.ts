// Pure helpers for compiling Xen: Kconfig fragments against .config text, the
// reproducible build variables, and the identity Xen prints in its boot banner
// (read back from the generated compile.h). Text in, values out; no processes.

/** One Kconfig setting: y/n/m for bool and tristate, a number for int, a "0x.." string for hex, any other string for string options. */
export type KconfigValue = 'y' | 'n' | 'm' | string | number;
export type KconfigFragment = Record<string, KconfigValue>;

const OPTION_NAME = /^CONFIG_[A-Za-z0-9_]+$/;
const HEX = /^0x[0-9a-fA-F]+$/;

/** Problems with a fragment before any tool sees it (bad names, values that cannot be written). */
export function fragmentErrors(fragment: KconfigFragment): string[] {
  const errors: string[] = [];
  for (const [name, value] of Object.entries(fragment)) {
    if (!OPTION_NAME.test(name)) errors.push(`${name}: Kconfig option names look like CONFIG_FOO (letters, digits, "_")`);
    if (typeof value === 'number' && !Number.isInteger(value)) errors.push(`${name}: ${value} is not an integer`);
    if (typeof value === 'string' && /[\r\n]/.test(value)) errors.push(`${name}: a string value must be on one line`);
  }
  return errors;
}

/** The .config line for one setting ("is not set" comment for n, quotes for strings). */
export function configLine(name: string, value: KconfigValue): string {
  if (value === 'n') return `# ${name} is not set`;
  if (value === 'y' || value === 'm' || typeof value === 'number' || HEX.test(value)) return `${name}=${value}`;
  return `${name}="${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

/** Raw value of every option in .config text: "n" for "# CONFIG_X is not set", strings unquoted. */
export function parseConfig(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split('\n')) {
    const unset = /^# (CONFIG_[A-Za-z0-9_]+) is not set\s*$/.exec(line);
    if (unset) { out.set(unset[1], 'n'); continue; }
    const set = /^(CONFIG_[A-Za-z0-9_]+)=(.*)$/.exec(line);
    if (!set) continue;
    const raw = set[2].trim();
    out.set(set[1], raw.startsWith('"') && raw.endsWith('"') && raw.length >= 2
      ? raw.slice(1, -1).replace(/\\(.)/g, '$1')
      : raw);
  }
  return out;
}

/**
 * .config text with the fragment applied: each fragment option's old line is
 * removed and the fragment appended in its own (sorted) order, so olddefconfig
 * sees exactly one assignment per option and the result does not depend on key
 * order in the recipe.
 */
export function mergeFragment(configText: string, fragment: KconfigFragment): string {
  const names = Object.keys(fragment).sort();
  const mentioned = (line: string) => {
    const m = /^(?:# )?(CONFIG_[A-Za-z0-9_]+)(?:=| is not set)/.exec(line);
    return m !== null && names.includes(m[1]);
  };
  const kept = configText.split('\n').filter((l) => !mentioned(l)).join('\n').replace(/\n*$/, '\n');
  if (!names.length) return kept;
  return `${kept}# xsforge: recipe fragment\n${names.map((n) => configLine(n, fragment[n])).join('\n')}\n`;
}

export interface DroppedSetting {
  option: string;
  wanted: string;
  got: string; // "unset" when the option is not in .config at all
}

/** Fragment settings that the final .config does not hold (Kconfig dropped or changed them). */
export function droppedSettings(finalConfig: string, fragment: KconfigFragment): DroppedSetting[] {
  const cfg = parseConfig(finalConfig);
  const out: DroppedSetting[] = [];
  for (const name of Object.keys(fragment).sort()) {
    const wanted = String(fragment[name]);
    const got = cfg.get(name);
    // an option whose dependencies are unmet is absent from .config: that is "n"
    const ok = wanted === 'n' ? got === undefined || got === 'n' : got === wanted;
    if (!ok) out.push({ option: name, wanted, got: got ?? 'unset' });
  }
  return out;
}

export function describeDropped(dropped: DroppedSetting[]): string {
  const show = (v: string) => (v === '' ? '""' : v);
  return dropped.map((d) => `${d.option}: wanted ${show(d.wanted)}, Kconfig left ${show(d.got)}`).join('\n');
}

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const pad2 = (n: number) => String(n).padStart(2, '0');

/** `LC_ALL=C date -u -d @epoch` (what Xen's Makefile would run): "Thu Jan  1 00:00:00 UTC 1970". */
export function cDateUtc(epoch: number): string {
  const d = new Date(epoch * 1000);
  return `${DAYS[d.getUTCDay()]} ${MONTHS[d.getUTCMonth()]} ${String(d.getUTCDate()).padStart(2, ' ')} ${timeUtc(epoch)} UTC ${d.getUTCFullYear()}`;
}

/** `date -u +%T`: "00:00:00". */
export function timeUtc(epoch: number): string {
  const d = new Date(epoch * 1000);
  return `${pad2(d.getUTCHours())}:${pad2(d.getUTCMinutes())}:${pad2(d.getUTCSeconds())}`;
}

export interface BuildIdentity {
  /** the part after "@" in the banner (XEN_DOMAIN) */
  domain: string;
  /** the distribution word in the banner, where Debian's tree prints `lsb_release -is` */
  distribution: string;
  /** printed after the distribution (Debian's tree: DEB_VERSION); absent for an upstream tree, whose banner has no such part */
  systemVersion?: string;
}

export const BUILD_USER = 'xsforge';

// Xen's compile.h rule puts these into sed replacements: no "/", "\\", "&" or ",".
const BANNER_WORD = /^[A-Za-z0-9][A-Za-z0-9._+-]*$/;

export function identityErrors(id: Pick<BuildIdentity, 'domain' | 'distribution'>): string[] {
  return (['domain', 'distribution'] as const).filter((k) => !BANNER_WORD.test(id[k]))
    .map((k) => `${k}: "${id[k]}" must be letters, digits, ".", "_", "+" and "-"`);
}

/**
 * Make variables that pin everything Xen's build would otherwise take from the
 * clock, the host name, the user and the environment. Upstream's compile.h
 * (4.17: date, time, whoami, domain, hostname; the compiler comes from $(CC)
 * --version, whose version the key holds) uses XEN_WHOAMI@XEN_DOMAIN. Debian's
 * patched one prints DEB_MAINTAINER, DEB_VERSION and a distribution word
 * instead: those are set only for a Debian tree (systemVersion given).
 */
export function reproducibleMakeVars(epoch: number, id: BuildIdentity): Record<string, string> {
  const upstream = {
    XEN_BUILD_DATE: cDateUtc(epoch),
    XEN_BUILD_TIME: timeUtc(epoch),
    XEN_BUILD_HOST: BUILD_USER,
    XEN_WHOAMI: BUILD_USER,
    XEN_DOMAIN: id.domain,
  };
  if (id.systemVersion === undefined) return upstream;
  return {
    ...upstream,
    XEN_COMPILE_DISTRIBUTION: id.distribution,
    DEB_MAINTAINER: `${BUILD_USER} <${BUILD_USER}@${id.domain}>`,
    DEB_VERSION: id.systemVersion,
  };
}

/** Whether a tree's xen/build.mk is Debian's (its compile.h rule reads DEB_MAINTAINER/DEB_VERSION). */
export function isDebianBuildMk(buildMk: string): boolean {
  return buildMk.includes('DEB_MAINTAINER') || buildMk.includes('DEB_VERSION');
}

/**
 * Debian's compile.h rule runs `lsb_release -is`: the host's distribution would
 * end up in the binary. Point it at a make variable instead. Returns the text
 * unchanged when the tree has no such rule (upstream Xen).
 */
export function pinDistribution(buildMk: string): string {
  return buildMk.split('$(shell lsb_release -is)').join('$(XEN_COMPILE_DISTRIBUTION)');
}

/** Extra flags so no build path is embedded (DWARF, __FILE__), for gcc and for assembly (gcc bug 93371). */
export function prefixMapFlags(srcDir: string): string {
  return `-ffile-prefix-map=${srcDir}=. -fdebug-prefix-map=${srcDir}=.`;
}

/** The values a compiled Xen prints in its boot banner, from include/xen/compile.h. */
export interface XenBanner {
  version: string; // "4.17.5"
  distribution: string; // "" for an upstream tree
  systemVersion: string; // "" for an upstream tree
  by: string; // "xsforge@xsforge"
  compiler: string;
  date: string;
}

export function parseCompileH(text: string): XenBanner {
  const def = (name: string) => {
    const m = new RegExp(`^#define ${name}\\s+(.*)$`, 'm').exec(text);
    if (!m) return undefined;
    const v = m[1].trim();
    return v.startsWith('"') ? v.slice(1, -1) : v;
  };
  const local = def('XEN_COMPILE_SYSTEM_MAINTAINER_LOCAL') ?? def('XEN_COMPILE_BY') ?? '';
  const domain = def('XEN_COMPILE_SYSTEM_MAINTAINER_DOMAIN') ?? def('XEN_COMPILE_DOMAIN') ?? '';
  return {
    version: `${def('XEN_VERSION')}.${def('XEN_SUBVERSION')}${def('XEN_EXTRAVERSION') ?? ''}`,
    distribution: def('XEN_COMPILE_SYSTEM_DISTRIBUTION') ?? '',
    systemVersion: def('XEN_COMPILE_SYSTEM_VERSION') ?? '',
    by: `${local}@${domain}`,
    compiler: def('XEN_COMPILER') ?? '',
    date: def('XEN_COMPILE_DATE') ?? '',
  };
}

const reEscape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Upstream's banner has no "(distribution version)" part; Debian's has. */
const systemPart = (b: XenBanner) => (b.distribution === '' && b.systemVersion === '' ? undefined : `${b.distribution} ${b.systemVersion}`);

/**
 * The start of the banner line, e.g. "Xen version 4.17.5 (xsforge 4.17.5+72-...-1) (xsforge@xsforge) (gcc ...)"
 * from a Debian tree, "Xen version 4.17.5 (xsforge@xsforge) (gcc ...)" from an upstream one.
 */
export function bannerText(b: XenBanner): string {
  const sys = systemPart(b);
  return `Xen version ${b.version} ${sys === undefined ? '' : `(${sys}) `}(${b.by}) (${b.compiler})`;
}

/** Matches the console line "(XEN) Xen version ..." of exactly this build. */
export function bannerRegex(b: XenBanner): RegExp {
  const sys = systemPart(b);
  return new RegExp(`Xen version ${reEscape(b.version)} ${sys === undefined ? '' : `\\(${reEscape(sys)}\\) `}\\(${reEscape(b.by)}\\) \\(${reEscape(b.compiler)}\\)`);
}

/**
 * The release a Xen tree's xen/Makefile declares ("4.17.5"): XEN_VERSION,
 * XEN_SUBVERSION and XEN_EXTRAVERSION without the $(XEN_VENDORVERSION) the
 * recipe may append. Undefined when the text does not say.
 */
export function xenMakefileVersion(makefile: string): string | undefined {
  const get = (name: string) => new RegExp(`^(?:export\\s+)?${name}\\s*\\??=[ \\t]*(.*)$`, 'm').exec(makefile)?.[1].trim();
  const major = get('XEN_VERSION');
  const minor = get('XEN_SUBVERSION');
  if (!major || !minor || !/^\d+$/.test(major) || !/^\d+$/.test(minor)) return undefined;
  const extra = (get('XEN_EXTRAVERSION') ?? '').replace(/\$\(XEN_VENDORVERSION\)/g, '');
  if (/\$/.test(extra)) return undefined;
  return `${major}.${minor}${extra}`;
}

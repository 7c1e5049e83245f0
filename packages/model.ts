// The product RPM model: one package as plain data, from which spec.ts writes
// the spec file and rpmbuild.ts builds the .rpm. Validation lives here so the
// spec writer can rely on names, versions, dependencies and paths having a
// shape rpmbuild reads literally (no macros, globs or separators). Pure.
import { XsforgeError } from '../core/errors.ts';

export type RpmArch = 'x86_64' | 'noarch';
export const RPM_ARCHES: readonly RpmArch[] = ['x86_64', 'noarch'];

/** A file's content given inline (small generated files: release identity, configs). */
export interface InlineText { text: string }
/** A file in an upstream stage's output: `stage` is the alias in the stage's deps. */
export interface StageFileRef { stage: string; path: string }

export interface RpmFile<S = string> {
  /** S is an absolute source path in the built form; see RpmPackageDef for the stage form */
  from: S | InlineText;
  /** absolute install path */
  to: string;
  /** permission bits; default 0644 (the builder does not look at the source's mode, so the key covers it) */
  mode?: number;
  /** %config(noreplace): an edited copy survives upgrades */
  config?: boolean;
}

export type RpmScriptletName = 'pre' | 'post' | 'preun' | 'postun' | 'posttrans';
export const RPM_SCRIPTLETS: readonly RpmScriptletName[] = ['pre', 'post', 'preun', 'postun', 'posttrans'];

export interface RpmSpecInput<S = string> {
  name: string;
  version: string;
  release: string;
  summary: string;
  license: string;
  arch: RpmArch;
  description: string;
  url?: string;
  group?: string;
  /** each "name" or "name OP version" (OP one of < <= = >= >) */
  provides: string[];
  requires: string[];
  conflicts: string[];
  obsoletes: string[];
  files: RpmFile<S>[];
  /** directories the package owns (%dir), absolute; mode 0755 */
  dirs: string[];
  /** /bin/sh bodies */
  scriptlets: Partial<Record<RpmScriptletName, string>>;
}

/** The stage form: sources are absolute host paths, upstream stage outputs, or inline text. */
export type FileSource = string | StageFileRef | InlineText;
export type RpmPackageDef = RpmSpecInput<string | StageFileRef>;

export const DEFAULT_FILE_MODE = 0o644;
export const DIR_MODE = 0o755;

export class RpmSpecError extends XsforgeError {
  constructor(pkg: string, problems: string[]) {
    super(`package ${pkg || '(unnamed)'}: ${problems.length === 1 ? problems[0] : `\n  - ${problems.join('\n  - ')}`}`,
      'RPM names, versions, dependencies and paths are read literally by rpmbuild: keep to the characters listed');
    this.name = 'RpmSpecError';
  }
}

// rpm's own rules, narrowed to what EL7-era rpm (4.11) reads too: no caret in versions, no rich deps.
const NAME = /^[A-Za-z0-9_+][A-Za-z0-9._+-]*$/;
const VERSION = /^[A-Za-z0-9][A-Za-z0-9._+~]*$/;
const DEP_NAME = '[A-Za-z0-9_/][A-Za-z0-9_.+/:()-]*';
const DEP_EVR = '(?:[0-9]+:)?[A-Za-z0-9][A-Za-z0-9._+~]*(?:-[A-Za-z0-9][A-Za-z0-9._+~]*)?';
const DEP = new RegExp(`^(${DEP_NAME})(?:\\s*(<=|>=|<|>|=)\\s*(${DEP_EVR}))?$`);
/** Characters rpm's %files parser takes literally: no spaces, quotes, globs, % or backslashes. */
const PATH = /^(\/[A-Za-z0-9._+,:@=~-]+)+$/;

export const RPM_PATTERNS = {
  name: { regex: NAME, words: 'letters, digits, ".", "_", "+" and "-", not starting with "." or "-"' },
  version: { regex: VERSION, words: 'letters, digits, ".", "_", "+" and "~", starting with a letter or digit (no "-")' },
  dependency: { regex: DEP, words: '"name" or "name OP version" with OP one of < <= = >= > (e.g. "xen-hypervisor = 4.17.5")' },
  path: { regex: PATH, words: 'an absolute path of letters, digits and . _ + , : @ = ~ - (no spaces, globs or %)' },
} as const;

/** "name  >=1.2" -> "name >= 1.2"; throws on anything else. */
export function normalizeDependency(dep: string): string {
  const m = DEP.exec(dep.trim());
  if (!m) throw new Error(`dependency "${dep}" is not ${RPM_PATTERNS.dependency.words}`);
  return m[2] ? `${m[1]} ${m[2]} ${m[3]}` : m[1];
}

function checkPath(p: string, what: string, problems: string[]): void {
  if (!PATH.test(p)) problems.push(`${what} "${p}" is not ${RPM_PATTERNS.path.words}`);
  else if (p.split('/').some((s) => s === '.' || s === '..')) problems.push(`${what} "${p}" has a "." or ".." component`);
}

function checkOneLine(v: string | undefined, field: string, required: boolean, problems: string[]): void {
  if (v === undefined || v.trim() === '') {
    if (required) problems.push(`${field} is empty`);
    return;
  }
  if (/[\r\n]/.test(v)) problems.push(`${field} must be one line (rpmbuild would read the next line as a spec directive)`);
  // eslint-disable-next-line no-control-regex
  else if (/[\x00-\x08\x0b-\x1f\x7f]/.test(v)) problems.push(`${field} contains a control character`);
}

/**
 * Lines rpmbuild reads after macro expansion: a line whose first non-blank
 * character is "%" becomes a directive (%files, %endif, ...) even when written
 * as "%%", and in %description a line starting with "#" is dropped as a
 * comment. Neither can be escaped, so such text is refused rather than altered.
 */
export function textLineProblems(text: string, field: string, opts: { hashIsComment: boolean }): string[] {
  const problems: string[] = [];
  text.split('\n').forEach((line, i) => {
    const first = line.trimStart()[0];
    if (first === '%') problems.push(`${field} line ${i + 1} starts with "%", which rpmbuild reads as a spec directive even when escaped; start the line with another character`);
    if (first === '#' && opts.hashIsComment) problems.push(`${field} line ${i + 1} starts with "#", which rpmbuild drops as a comment; start the line with another character`);
    // eslint-disable-next-line no-control-regex
    if (/[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]/.test(line)) problems.push(`${field} line ${i + 1} contains a control character`);
  });
  return problems;
}

/** Every problem with a package model, so one run reports them all. */
export function rpmSpecProblems(spec: RpmSpecInput<unknown>): string[] {
  const problems: string[] = [];
  if (!NAME.test(spec.name ?? '')) problems.push(`name "${spec.name}" is not ${RPM_PATTERNS.name.words}`);
  if (!VERSION.test(spec.version ?? '')) problems.push(`version "${spec.version}" is not ${RPM_PATTERNS.version.words}`);
  if (!VERSION.test(spec.release ?? '')) problems.push(`release "${spec.release}" is not ${RPM_PATTERNS.version.words}`);
  if (!RPM_ARCHES.includes(spec.arch)) problems.push(`arch "${spec.arch}" is not one of ${RPM_ARCHES.join(', ')}`);
  checkOneLine(spec.summary, 'summary', true, problems);
  checkOneLine(spec.license, 'license', true, problems);
  checkOneLine(spec.url, 'url', false, problems);
  checkOneLine(spec.group, 'group', false, problems);
  if (!spec.description?.trim()) problems.push('description is empty');
  else problems.push(...textLineProblems(spec.description, 'description', { hashIsComment: true }));
  for (const kind of ['provides', 'requires', 'conflicts', 'obsoletes'] as const) {
    for (const d of spec[kind] ?? []) {
      try { normalizeDependency(d); } catch (e) { problems.push(`${kind}: ${(e as Error).message}`); }
    }
  }
  const owned = new Set<string>();
  for (const f of spec.files ?? []) {
    checkPath(f.to, 'file', problems);
    if (owned.has(f.to)) problems.push(`file "${f.to}" is listed twice`);
    owned.add(f.to);
    if (f.mode !== undefined && !(Number.isInteger(f.mode) && f.mode >= 0 && f.mode <= 0o7777)) problems.push(`file "${f.to}" has mode ${f.mode}, not a number from 0 to 0o7777`);
    if (f.from && typeof f.from === 'object' && 'text' in f.from && typeof (f.from as InlineText).text !== 'string') problems.push(`file "${f.to}": text must be a string`);
  }
  for (const d of spec.dirs ?? []) {
    checkPath(d, 'directory', problems);
    if (owned.has(d)) problems.push(`"${d}" is listed twice (as a file or directory)`);
    owned.add(d);
  }
  for (const [name, body] of Object.entries(spec.scriptlets ?? {})) {
    if (!RPM_SCRIPTLETS.includes(name as RpmScriptletName)) problems.push(`scriptlet "${name}" is not one of ${RPM_SCRIPTLETS.join(', ')}`);
    else if (typeof body === 'string') problems.push(...textLineProblems(body, `%${name} scriptlet`, { hashIsComment: false }));
  }
  return problems;
}

export function validateRpmSpec(spec: RpmSpecInput<unknown>): void {
  const problems = rpmSpecProblems(spec);
  if (problems.length) throw new RpmSpecError(spec.name, problems);
}

/** name-[epoch:]version-release.arch, also the .rpm file's base name (without epoch). */
export function nevra(spec: { name: string; version: string; release: string; arch: string }): string {
  return `${spec.name}-${spec.version}-${spec.release}.${spec.arch}`;
}

/** A Debian package version as an RPM version and release: "1:6.1.119-1~deb12u1" -> 6.1.119 / 1~deb12u1. */
export function rpmVersionFromDebian(debVersion: string): { version: string; release: string } {
  const noEpoch = debVersion.replace(/^\d+:/, '');
  const dash = noEpoch.lastIndexOf('-');
  const upstream = dash > 0 ? noEpoch.slice(0, dash) : noEpoch;
  const revision = dash > 0 ? noEpoch.slice(dash + 1) : '0';
  // "-" separates version from release in RPM; ":" is the epoch separator
  const clean = (s: string) => s.replace(/[^A-Za-z0-9._+~]/g, '_').replace(/^[^A-Za-z0-9]+/, '') || '0';
  return { version: clean(upstream), release: clean(revision) };
}

export function isInlineText(s: unknown): s is InlineText {
  return !!s && typeof s === 'object' && typeof (s as InlineText).text === 'string';
}

export function isStageFileRef(s: unknown): s is StageFileRef {
  return !!s && typeof s === 'object' && typeof (s as StageFileRef).stage === 'string' && typeof (s as StageFileRef).path === 'string';
}

// Loading an update spec: YAML → schema check → checks across fields and
// against the named files → one typed UpdateSpec. Every problem is reported as
// file:line:column, the field path and what is allowed, all at once, like the
// recipe loader (whose helpers we reuse). Reads the spec and the .rpm files it
// names; writes nothing.
import { existsSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { dirname, isAbsolute, relative, resolve } from 'node:path';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { LineCounter, parseDocument, type Node } from 'yaml';
import { XsforgeError } from '../core/errors.ts';
import { valueErrorMessage } from '../core/schema-messages.ts';
import { locateInYaml, pointerSegments, type Segment } from '../core/yaml-locate.ts';
import { rpmSpecProblems, type RpmPackageDef } from '../packages/model.ts';
import { isRpm, parseRpm } from '../packages/rpm-header.ts';
import { RPM_RECIPE_PATTERNS, packageFromRecipe } from '../packages/schema.ts';
import { closest, fieldPath, formatIssue } from '../recipes/load.ts';
import {
  DEFAULT_CONTROL_LICENSE, DEFAULT_PLATFORM_VERSION, DEFAULT_PRODUCT_VERSION, DEFAULT_UPDATE_EPOCH,
  controlPackageName, moduleDir, updateUuid, withDepmod, type UpdateSpec,
} from './model.ts';
import { UPDATE_PATTERNS, UPDATE_SPEC_SCHEMA, type UpdateSpecDocument } from './schema.ts';

export { UPDATE_SPEC_SCHEMA } from './schema.ts';

export interface UpdateSpecIssue {
  file: string;
  line: number;
  column: number;
  /** field path such as `rpms.packages[0].version`; empty for YAML syntax errors */
  path: string;
  message: string;
}

export class UpdateSpecError extends XsforgeError {
  constructor(readonly errors: UpdateSpecIssue[]) {
    super(errors.map(formatIssue).join('\n'), 'the update spec format is defined in updates/schema.ts; compare with examples/updates/');
    this.name = 'UpdateSpecError';
  }
}

/** Values given on the command line; they win over the spec's. */
export interface UpdateSpecOverrides {
  productVersion?: string;
  platformVersion?: string;
  kernelRelease?: string;
  sourceDateEpoch?: number;
}

let validator: ValidateFunction | undefined;
function getValidator(): ValidateFunction {
  validator ??= new Ajv({ allErrors: true, verbose: true, strict: true }).compile(UPDATE_SPEC_SCHEMA);
  return validator;
}

const PATTERN_LIST = [...Object.values(UPDATE_PATTERNS), ...Object.values(RPM_RECIPE_PATTERNS)];

function displayPath(abs: string): string {
  const rel = relative(process.cwd(), abs);
  return rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : abs;
}

/** Reads, checks and returns the spec; UpdateSpecError listing every problem otherwise. */
export function loadUpdateSpec(path: string, overrides: UpdateSpecOverrides = {}, opts: { allowEmptyPayload?: boolean } = {}): UpdateSpec {
  const abs = resolve(path);
  if (!existsSync(abs) || !statSync(abs).isFile()) {
    throw new XsforgeError(`update spec not found: ${displayPath(abs)}`, 'examples are in examples/updates/ (e.g. examples/updates/XS71ECU2001.yaml)');
  }
  const r = parseUpdateSpec(readFileSync(abs, 'utf8'), { file: abs, overrides, allowEmptyPayload: opts.allowEmptyPayload });
  if (!r.spec) throw new UpdateSpecError(r.errors);
  return r.spec;
}

export interface ParseUpdateSpecOptions {
  /** absolute path of the spec: rpm files and {repo} sources are relative to its directory */
  file: string;
  overrides?: UpdateSpecOverrides;
  /** a cumulative update read by the rollup, whose payload comes from the hotfixes */
  allowEmptyPayload?: boolean;
}

/** True when `file` (an existing path below `dir`) really lies outside `dir`: a symlink on the way leads out. */
function escapesDir(dir: string, file: string): boolean {
  const real = relative(realpathSync(dir), realpathSync(file));
  return isAbsolute(real) || real === '..' || real.startsWith('../');
}

/** Every problem in a spec's text, and the spec when there are none. */
export function parseUpdateSpec(text: string, o: ParseUpdateSpecOptions): { spec?: UpdateSpec; errors: UpdateSpecIssue[] } {
  const display = displayPath(o.file);
  const dir = dirname(o.file);
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: true, uniqueKeys: true });
  const errors: UpdateSpecIssue[] = [];
  const position = (node: Node | undefined) => {
    const offset = node?.range?.[0];
    if (offset === undefined) return { line: 1, column: 1 };
    const { line, col } = lineCounter.linePos(offset);
    return { line, column: col };
  };
  /** An issue about the field `path`, placed at `segs` (its value, or its key with onKey). */
  const at = (segs: Segment[], message: string, onKey = false, path: Segment[] = segs) => {
    const loc = locateInYaml(doc, segs);
    errors.push({ file: display, ...position(onKey ? loc.key ?? loc.node : loc.node ?? loc.key), path: fieldPath(path), message });
  };
  for (const err of doc.errors) {
    const pos = err.linePos?.[0] ?? lineCounter.linePos(err.pos[0]);
    errors.push({ file: display, line: pos.line, column: pos.col, path: '', message: `YAML syntax error: ${err.message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '')}` });
  }
  if (errors.length) return { errors };
  let data: unknown;
  try {
    data = doc.toJS();
  } catch (err) {
    // yaml reports an alias to a missing anchor, or too many aliases (an alias bomb),
    // only here, as a ReferenceError: a syntax problem of the spec
    return { errors: [{ file: display, line: 1, column: 1, path: '', message: `YAML error: ${(err as Error).message}` }] };
  }
  if (data === null || data === undefined) return { errors: [{ file: display, line: 1, column: 1, path: '', message: 'the update spec is empty' }] };
  const validate = getValidator();
  if (!validate(data)) {
    // YAML reads 1.0 as the number 1: the hint quotes what was written
    const source = (segs: Segment[]) => {
      const n = locateInYaml(doc, segs).node;
      return n?.range ? text.slice(n.range[0], n.range[1]).trim() : undefined;
    };
    schemaIssues(validate.errors ?? [], data, at, source);
    return { errors: sortIssues(errors) };
  }
  const d = data as UpdateSpecDocument;
  const ov = o.overrides ?? {};
  const kernelRelease = ov.kernelRelease ?? d.kernel_release;

  // ---- checks across fields ----
  if (d.kind === 'driver-disk' && !kernelRelease) at(['kind'], 'a driver disk needs kernel_release: the dom0 kernel release (uname -r) its modules are for');
  if (d.kind !== 'driver-disk' && d.kernel_release !== undefined) at(['kernel_release'], `kernel_release applies to kind driver-disk only (this is a ${d.kind})`);
  if (d.rolls_up && d.kind !== 'cumulative-update') at(['rolls_up'], `rolls_up applies to kind cumulative-update only (this is a ${d.kind})`);
  if (d.rolled_up_by) {
    if (d.kind !== 'hotfix') at(['rolled_up_by'], `rolled_up_by applies to kind hotfix only (this is a ${d.kind})`);
    if (!d.rolled_up_by.uuid && !d.rolled_up_by.version) at(['rolled_up_by'], 'rolled_up_by needs uuid, or version to derive the uuid from');
  }
  const self = d.name_label;
  (d.requires ?? []).forEach((n, i) => {
    if (n === self) at(['requires', i], `an update cannot require itself (${n})`);
    if ((d.conflicts ?? []).includes(n)) at(['requires', i], `${n} is both required and in conflicts`);
  });
  (d.conflicts ?? []).forEach((n, i) => { if (n === self) at(['conflicts', i], `an update cannot conflict with itself (${n})`); });
  const rolled = new Set<string>();
  (d.rolls_up ?? []).forEach((h, i) => {
    if (h.name_label === self) at(['rolls_up', i, 'name_label'], 'a cumulative update cannot roll up itself');
    if (rolled.has(h.name_label)) at(['rolls_up', i, 'name_label'], `${h.name_label} is listed twice`);
    rolled.add(h.name_label);
  });

  // ---- the payload ----
  if (d.base_install_product_version !== undefined && d.kind !== 'cumulative-update') at(['base_install_product_version'], `base_install_product_version applies to kind cumulative-update only (this is a ${d.kind})`);
  const files = d.rpms?.files ?? [];
  const models = d.rpms?.packages ?? [];
  if (files.length + models.length === 0 && !(o.allowEmptyPayload && d.kind === 'cumulative-update')) {
    if (d.rpms) at(['rpms'], 'the update has no packages: list .rpm files under rpms.files or package models under rpms.packages', true);
    else at([], 'missing required field \'rpms\' in the top level: the update has no packages (list .rpm files under rpms.files or package models under rpms.packages)', true, ['rpms']);
  }
  const seen = new Map<string, string>();
  const control = controlPackageName(self);
  const claim = (name: string, segs: Segment[]) => {
    if (name === control) at(segs, `package ${name} is the update's control package, which the builder makes`);
    else if (seen.has(name)) at(segs, `package ${name} is in the payload twice (also ${seen.get(name)})`);
    else seen.set(name, fieldPath(segs));
  };
  /** Files under /lib/modules/ (or named like modules) must be in the update dir of kernel_release; true when some are. */
  const modulePaths = (files: string[], dirs: string[], segs: Segment[]) => {
    if (d.kind !== 'driver-disk' || !kernelRelease) return false;
    const want = `${moduleDir(kernelRelease)}/`;
    let any = false;
    for (const p of files) {
      if (p.startsWith('/lib/modules/') || /\.ko(\.(xz|gz|zst))?$/.test(p)) {
        if (!p.startsWith(want)) at(segs, `${p}: a driver disk's modules go under ${want} (kernel_release ${kernelRelease})`);
        else any = true;
      }
    }
    for (const p of dirs) {
      // the update dir, its parents and directories below it
      if (p.startsWith('/lib/modules/') && !want.startsWith(`${p}/`) && !p.startsWith(want)) {
        at(segs, `directory ${p}: a driver disk's modules go under ${want} (kernel_release ${kernelRelease})`);
      }
    }
    return any;
  };
  let moduleCount = 0;
  const rpmFiles: string[] = [];
  files.forEach((f, i) => {
    const abs = resolve(dir, f);
    const rel = relative(dir, abs);
    if (rel.startsWith('..') || isAbsolute(rel)) return at(['rpms', 'files', i], `${f} is outside the spec's directory (paths are relative to the spec and stay below it)`);
    if (!existsSync(abs) || !statSync(abs).isFile()) return at(['rpms', 'files', i], `unknown RPM: no file ${displayPath(abs)} (paths are relative to the spec file)`);
    // a symlink below the spec's directory must not lead out of it either
    if (escapesDir(dir, abs)) return at(['rpms', 'files', i], `${f} is a symlink to ${realpathSync(abs)}, outside the spec's directory (paths stay below the spec)`);
    const bytes = readFileSync(abs);
    if (!isRpm(bytes)) return at(['rpms', 'files', i], `${f} is not an RPM package (no lead magic ED AB EE DB)`);
    let info;
    try {
      info = parseRpm(bytes);
    } catch (err) {
      return at(['rpms', 'files', i], `${f} is a damaged RPM: ${(err as Error).message}`);
    }
    if (info.type !== 'binary') return at(['rpms', 'files', i], `${f} is a source package; an update ships binary packages`);
    claim(info.name, ['rpms', 'files', i]);
    const isDir = (mode: number) => (mode & 0o170000) === 0o040000;
    if (modulePaths(info.files.filter((x) => !isDir(x.mode)).map((x) => x.path), info.files.filter((x) => isDir(x.mode)).map((x) => x.path), ['rpms', 'files', i])) moduleCount++;
    rpmFiles.push(abs);
  });
  const packages: RpmPackageDef[] = [];
  models.forEach((m, i) => {
    const segs: Segment[] = ['rpms', 'packages', i];
    claim(m.name, [...segs, 'name']);
    let pkg: RpmPackageDef;
    try {
      pkg = packageFromRecipe(m, dir);
    } catch (err) {
      return at(segs, (err as Error).message);
    }
    for (const p of rpmSpecProblems(pkg)) at(segs, p);
    (m.files ?? []).forEach((f, j) => {
      if ('repo' in f.from) {
        const src = resolve(dir, f.from.repo);
        if (!existsSync(src) || !statSync(src).isFile()) at([...segs, 'files', j, 'from', 'repo'], `file not found: ${displayPath(src)} (paths are relative to the spec file)`);
        else if (escapesDir(dir, src)) at([...segs, 'files', j, 'from', 'repo'], `${f.from.repo} is a symlink to ${realpathSync(src)}, outside the spec's directory (paths stay below the spec)`);
      }
    });
    const isModulePkg = modulePaths(pkg.files.map((x) => x.to), pkg.dirs, segs);
    if (isModulePkg) moduleCount++;
    packages.push(isModulePkg && kernelRelease ? withDepmod(pkg, kernelRelease) : pkg);
  });
  if (d.kind === 'driver-disk' && kernelRelease && files.length + models.length > 0 && moduleCount === 0) {
    at(['rpms'], `a driver disk ships at least one kernel module under ${moduleDir(kernelRelease)}/ (none of its packages does)`, true);
  }
  if (errors.length) return { errors: sortIssues(errors) };

  let sourceDateEpoch = ov.sourceDateEpoch ?? d.source_date_epoch ?? DEFAULT_UPDATE_EPOCH;
  sourceDateEpoch = Math.trunc(sourceDateEpoch);
  const spec: UpdateSpec = {
    kind: d.kind,
    nameLabel: self,
    uuid: (d.uuid ?? updateUuid(self, d.version)).toLowerCase(),
    version: d.version,
    description: d.description.trim(),
    guidance: d.after_apply_guidance ?? [],
    ...(d.key ? { key: d.key } : {}),
    productVersion: ov.productVersion ?? d.product_version ?? DEFAULT_PRODUCT_VERSION,
    platformVersion: ov.platformVersion ?? d.platform_version ?? DEFAULT_PLATFORM_VERSION,
    ...(d.kind === 'driver-disk' ? { kernelRelease } : {}),
    requires: d.requires ?? [],
    conflicts: d.conflicts ?? [],
    rollsUp: (d.rolls_up ?? []).map((h) => ({ nameLabel: h.name_label, version: h.version })),
    ...(d.rolled_up_by ? {
      rolledUpBy: {
        nameLabel: d.rolled_up_by.name_label,
        uuid: (d.rolled_up_by.uuid ?? updateUuid(d.rolled_up_by.name_label, d.rolled_up_by.version!)).toLowerCase(),
      },
    } : {}),
    ...(d.base_install_product_version ? { baseInstallProductVersion: d.base_install_product_version } : {}),
    livepatch: d.livepatch ?? false,
    enforceHomogeneity: d.enforce_homogeneity ?? false,
    ...(d.overwrites?.length ? { overwrites: d.overwrites } : {}),
    license: d.license ?? DEFAULT_CONTROL_LICENSE,
    sourceDateEpoch,
    rpmFiles,
    packages,
    file: o.file,
  };
  return { spec, errors: [] };
}

/** ajv errors as located, readable issues (the recipe loader's rules, for one file). */
function schemaIssues(errs: ErrorObject[], data: unknown, at: (segs: Segment[], message: string, onKey?: boolean, path?: Segment[]) => void, source: (segs: Segment[]) => string | undefined): void {
  // a value of the wrong type also fails its enum/pattern; the type error says it all
  const typeFailed = new Set(errs.filter((e) => e.keyword === 'type').map((e) => e.instancePath));
  // a union (file sources) also reports why each branch failed: its own message says it all
  const unions = errs.filter((e) => e.keyword === 'anyOf').map((e) => e.instancePath);
  const reported = new Set<string>();
  for (const e of errs) {
    if (e.keyword !== 'type' && typeFailed.has(e.instancePath)) continue;
    if (e.keyword !== 'anyOf' && unions.some((u) => e.instancePath === u || e.instancePath.startsWith(`${u}/`))) continue;
    const segs = pointerSegments(e.instancePath, data);
    const where = segs.length ? fieldPath(segs) : 'the top level';
    let message: string;
    let target = segs;
    let onKey = false;
    switch (e.keyword) {
      case 'additionalProperties': {
        const key = String(e.params.additionalProperty);
        const allowed = Object.keys((e.parentSchema?.properties ?? {}) as object);
        const guess = closest(key, allowed);
        message = `unknown key '${key}' in ${where}${guess ? `; did you mean '${guess}'?` : ''} (allowed keys: ${allowed.join(', ')})`;
        target = [...segs, key];
        onKey = true;
        break;
      }
      case 'required': {
        // placed where the mapping that lacks it is written
        const key = String(e.params.missingProperty);
        const m = `missing required field '${key}' in ${where}`;
        if (!reported.has(`${fieldPath([...segs, key])}|${m}`)) at(segs, m, true, [...segs, key]);
        reported.add(`${fieldPath([...segs, key])}|${m}`);
        continue;
      }
      case 'anyOf':
        message = 'must be one of {stage, path}, {repo} or {text}';
        break;
      default: {
        // package models use the recipe's words (an RPM version, not an update version)
        const list = segs[0] === 'rpms' ? [...Object.values(RPM_RECIPE_PATTERNS), ...Object.values(UPDATE_PATTERNS)] : PATTERN_LIST;
        const v = valueErrorMessage(e, { patternWords: (re) => list.find((p) => p.regex === re)?.words });
        message = v?.message ?? e.message ?? e.keyword;
        if (v?.item !== undefined) target = [...segs, v.item];
        if (e.keyword === 'pattern' && e.params.pattern === '\\S') message = 'must not be empty';
        if (e.keyword === 'type' && e.params.type === 'string' && (typeof e.data === 'number' || typeof e.data === 'boolean')) message += `; put it in quotes: "${source(segs) ?? String(e.data)}"`;
      }
    }
    const k = `${fieldPath(target)}|${message}`;
    if (reported.has(k)) continue;
    reported.add(k);
    at(target, message, onKey);
  }
}

function sortIssues(issues: UpdateSpecIssue[]): UpdateSpecIssue[] {
  const seen = new Set<string>();
  return issues
    .filter((i) => { const k = formatIssue(i); return seen.has(k) ? false : (seen.add(k), true); })
    .sort((a, b) => a.line - b.line || a.column - b.column);
}

/** For `xsforge update validate --json`: every problem, nothing thrown for spec errors. */
export function validateUpdateSpec(path: string, overrides: UpdateSpecOverrides = {}): { file: string; valid: boolean; errors: UpdateSpecIssue[]; spec?: UpdateSpec } {
  try {
    const spec = loadUpdateSpec(path, overrides);
    return { file: displayPath(resolve(path)), valid: true, errors: [], spec };
  } catch (err) {
    if (err instanceof UpdateSpecError) return { file: displayPath(resolve(path)), valid: false, errors: err.errors };
    if (err instanceof XsforgeError) return { file: path, valid: false, errors: [{ file: path, line: 1, column: 1, path: '', message: err.message }] };
    throw err;
  }
}

// Loading a recipe: YAML → `extends` chain → schema check → one typed Recipe.
// Every problem is reported as file:line:column, the field path, and what is
// allowed, and all of them are reported at once (sorted by place), so a user
// fixes a recipe in one round. Pure apart from reading the recipe files and
// checking that the files they name exist.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { LineCounter, parseDocument, type Document, type Node } from 'yaml';
import { XsforgeError } from '../core/errors.ts';
import { DEFAULT_MENU_LABELS, PATTERNS, RECIPE_SCHEMA, type Recipe } from './schema.ts';
import { RPM_RECIPE_PATTERNS } from '../packages/schema.ts';
import { valueErrorMessage } from '../core/schema-messages.ts';
import { getAt, isPlainObject, locateInYaml, pointerSegments, type Segment } from '../core/yaml-locate.ts';
import { HYPERVISOR_PATTERNS, hypervisorSectionErrors, type HypervisorSection } from '../hypervisor/schema.ts';

export { RECIPE_SCHEMA, type Recipe } from './schema.ts';

/** One problem in a recipe; `file` is relative to the working directory when inside it. */
export interface RecipeIssue {
  file: string;
  line: number;
  column: number;
  /** field path such as `boot.serial.baud` or `boot.entries[0].label`; empty for YAML syntax errors */
  path: string;
  message: string;
}

/** All the problems found in a recipe (and the recipes it extends), one per line of the message. */
export class RecipeError extends XsforgeError {
  constructor(readonly errors: RecipeIssue[]) {
    super(errors.map(formatIssue).join('\n'),
      'the recipe format is defined in recipes/schema.ts; compare with recipes/xenserver-7.1.2.yaml');
    this.name = 'RecipeError';
  }
}

export function formatIssue(i: RecipeIssue): string {
  return `${i.file}:${i.line}:${i.column}: ${i.path ? `${i.path}: ` : ''}${i.message}`;
}

/**
 * A validated recipe. `extends` is resolved away; `product.eula`, when present,
 * is an absolute path. `$file`/`$dir` locate this recipe; `$files` lists every
 * recipe file read (this one first, then what it extends), for cache keys.
 */
export type LoadedRecipe = Recipe & { $file: string; $dir: string; $files: string[] };

interface ParsedFile {
  abs: string;
  display: string;
  text: string;
  doc: Document;
  lineCounter: LineCounter;
  data: unknown;
  syntaxOk: boolean;
}


// Compiled once per process: the full schema for the merged result, and the same
// schema without `required` for each file of an `extends` chain on its own.
let validators: { full: ValidateFunction; partial: ValidateFunction } | undefined;
function getValidators() {
  if (!validators) {
    const ajv = new Ajv({ allErrors: true, verbose: true, strict: true });
    validators = { full: ajv.compile(RECIPE_SCHEMA), partial: ajv.compile(withoutRequired(RECIPE_SCHEMA) as Record<string, unknown>) };
  }
  return validators;
}

export function loadRecipe(path: string): LoadedRecipe {
  const abs = resolve(path);
  if (!existsSync(abs) || !statSync(abs).isFile()) {
    throw new XsforgeError(`recipe file not found: ${displayPath(abs)}`, 'shipped recipes are in recipes/ (e.g. recipes/xenserver-7.1.2.yaml)');
  }
  const issues: RecipeIssue[] = [];
  const typos = new Set<string>();
  const files: ParsedFile[] = [];
  const chainOk = readChain(abs, [], files, issues);

  const { partial, full } = getValidators();
  for (const pf of files) {
    if (!pf.syntaxOk) continue;
    if (pf.data === null || pf.data === undefined) {
      issues.push({ file: pf.display, line: 1, column: 1, path: '', message: 'the recipe file is empty' });
      continue;
    }
    if (!partial(pf.data)) issues.push(...ajvIssues(partial.errors ?? [], [pf], pf.data, typos));
    checkEula(pf, issues);
    checkPatches(pf, issues);
    checkUpdateTrees(pf, issues);
  }

  let merged: Record<string, unknown> | undefined;
  if (chainOk && files.every((f) => f.syntaxOk && isPlainObject(f.data))) {
    merged = files.slice().reverse().reduce<Record<string, unknown>>((acc, f) => deepMerge(acc, f.data as Record<string, unknown>), {});
    // Types and unknown keys were checked file by file; what only the merged
    // result can show is a field that no file of the chain gives.
    if (!full(merged)) {
      const missing = (full.errors ?? []).filter((e) => e.keyword === 'required');
      issues.push(...ajvIssues(missing, files, merged, typos));
    }
    checkMenu(merged, files, issues);
    checkDom0(merged, files, issues);
    checkDom0Mem(merged, files, issues);
    const hv = getAt(merged, ['hypervisor']);
    if (hv && typeof hv === 'object') {
      for (const e of hypervisorSectionErrors(hv as HypervisorSection)) issues.push(issueAt(files, e.path.split('.'), e.message));
    }
  }

  if (issues.length) throw new RecipeError(sortIssues(issues, files));

  const recipe = merged as Record<string, unknown>;
  delete recipe.extends;
  const eulaFile = files.find((f) => typeof getAt(f.data, ['product', 'eula']) === 'string');
  if (eulaFile) (recipe.product as Record<string, unknown>).eula = resolve(dirname(eulaFile.abs), getAt(eulaFile.data, ['product', 'eula']) as string);
  // dom0 repository paths and keys are relative to the file that lists them
  const repoFile = files.find((f) => Array.isArray(getAt(f.data, ['dom0', 'repositories'])));
  if (repoFile) {
    const repos = getAt(recipe, ['dom0', 'repositories']) as Array<Record<string, unknown>>;
    for (const repo of repos) {
      if (typeof repo.path === 'string') repo.path = resolve(dirname(repoFile.abs), repo.path);
      if (Array.isArray(repo.gpgkey)) repo.gpgkey = (repo.gpgkey as string[]).map((k) => resolve(dirname(repoFile.abs), k));
    }
  }
  // a hypervisor tarball or tree is relative to the file that names it
  const hvPathFile = files.find((f) => typeof getAt(f.data, ['hypervisor', 'path']) === 'string');
  if (hvPathFile) (recipe.hypervisor as Record<string, unknown>).path = resolve(dirname(hvPathFile.abs), getAt(hvPathFile.data, ['hypervisor', 'path']) as string);
  // patches are relative to the file that lists them (arrays are replaced whole by `extends`)
  const patchFile = files.find((f) => Array.isArray(getAt(f.data, ['hypervisor', 'patches'])));
  if (patchFile) {
    (recipe.hypervisor as Record<string, unknown>).patches = (getAt(patchFile.data, ['hypervisor', 'patches']) as string[]).map((p) => resolve(dirname(patchFile.abs), p));
  }
  // update trees are relative to the file that lists them
  const updatesFile = files.find((f) => Array.isArray(getAt(f.data, ['updates', 'include'])));
  if (updatesFile) {
    (recipe.updates as Record<string, unknown>).include = (getAt(updatesFile.data, ['updates', 'include']) as string[]).map((p) => resolve(dirname(updatesFile.abs), p));
  }
  return Object.assign(recipe as unknown as Recipe, { $file: abs, $dir: dirname(abs), $files: files.map((f) => f.abs) });
}

/** Parses `abs` and, following `extends`, the files it builds on; false when the chain is broken. */
function readChain(abs: string, stack: string[], files: ParsedFile[], issues: RecipeIssue[]): boolean {
  const pf = parseFile(abs, issues);
  files.push(pf);
  if (!pf.syntaxOk) return false;
  const ext = getAt(pf.data, ['extends']);
  if (typeof ext !== 'string' || ext === '') return true; // absent, or a type error the schema check reports
  const target = resolve(dirname(abs), ext);
  const at = locate(pf, ['extends']);
  const here = { file: pf.display, ...position(pf, at.node ?? at.key), path: 'extends' };
  const chain = [...stack, abs];
  if (chain.includes(target)) {
    const cycle = [...chain.slice(chain.indexOf(target)), target].map(displayPath).join(' → ');
    issues.push({ ...here, message: `cycle in extends: ${cycle}` });
    return false;
  }
  if (!existsSync(target) || !statSync(target).isFile()) {
    issues.push({ ...here, message: `extended recipe not found: ${displayPath(target)} (paths are relative to ${displayPath(dirname(abs))})` });
    return false;
  }
  return readChain(target, chain, files, issues);
}

function parseFile(abs: string, issues: RecipeIssue[]): ParsedFile {
  const text = readFileSync(abs, 'utf8');
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: true, uniqueKeys: true });
  const display = displayPath(abs);
  for (const err of doc.errors) {
    const pos = err.linePos?.[0] ?? lineCounter.linePos(err.pos[0]);
    const what = err.message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '');
    issues.push({ file: display, line: pos.line, column: pos.col, path: '', message: `YAML syntax error: ${what}` });
  }
  let syntaxOk = doc.errors.length === 0;
  let data: unknown;
  if (syntaxOk) {
    try {
      data = doc.toJS();
    } catch (err) {
      // an alias to a missing anchor, or too many aliases (an alias bomb), surfaces only here
      issues.push({ file: display, line: 1, column: 1, path: '', message: `YAML error: ${(err as Error).message}` });
      syntaxOk = false;
    }
  }
  return { abs, display, text, doc, lineCounter, data, syntaxOk };
}

// ---- turning ajv errors into located, readable issues ----

// `typos` links the two halves of a misspelt key: an unknown key whose suggested
// spelling is a missing required field reports both, so the "missing" half is dropped.
/** Every pattern a recipe can fail, with its words. */
const RECIPE_PATTERN_LIST = [...Object.values(PATTERNS), ...Object.values(RPM_RECIPE_PATTERNS), ...Object.values(HYPERVISOR_PATTERNS)];

function ajvIssues(errors: ErrorObject[], files: ParsedFile[], data: unknown, typos: Set<string>): RecipeIssue[] {
  // A value of the wrong type also fails its enum/pattern; the type error says it all.
  const typeFailed = new Set(errors.filter((e) => e.keyword === 'type').map((e) => e.instancePath));
  const out: RecipeIssue[] = [];
  for (const e of errors) {
    if (e.keyword !== 'type' && typeFailed.has(e.instancePath)) continue;
    const segs = pointerSegments(e.instancePath, data);
    const where = segs.length ? fieldPath(segs) : 'the top level';
    let target = segs;
    let pointAtKey = false; // place the issue on the key of `target` rather than its value
    let message: string;
    switch (e.keyword) {
      case 'additionalProperties': {
        const key = String(e.params.additionalProperty);
        const allowed = Object.keys((e.parentSchema?.properties ?? {}) as object);
        const guess = closest(key, allowed);
        if (guess) typos.add(fieldPath([...segs, guess]));
        message = `unknown key '${key}' in ${where}${guess ? `; did you mean '${guess}'?` : ''} (allowed keys: ${allowed.join(', ')})`;
        target = [...segs, key];
        pointAtKey = true;
        break;
      }
      case 'required': {
        const key = String(e.params.missingProperty);
        if (typos.has(fieldPath([...segs, key]))) continue;
        message = `missing required field '${key}' in ${where}`;
        const issueFile = files.find((f) => locate(f, segs).complete) ?? files[0];
        const at = locate(issueFile, segs);
        out.push({ file: issueFile.display, ...position(issueFile, at.key ?? at.node), path: fieldPath([...segs, key]), message });
        continue;
      }
      default: {
        const v = valueErrorMessage(e, { patternWords: (re) => RECIPE_PATTERN_LIST.find((p) => p.regex === re)?.words })!;
        message = v.message;
        if (v.item !== undefined) target = [...segs, v.item];
        if (e.keyword === 'type' && e.params.type === 'string' && (typeof e.data === 'number' || typeof e.data === 'boolean')) {
          const at = locate(files[0], segs);
          const src = at.node?.range ? files[0].text.slice(at.node.range[0], at.node.range[1]).trim() : String(e.data);
          message += `; put it in quotes: "${src}"`;
        }
      }
    }
    const at = locate(files[0], target);
    out.push({ file: files[0].display, ...position(files[0], pointAtKey ? at.key ?? at.node : at.node ?? at.key), path: fieldPath(target), message });
  }
  return out;
}

// ---- checks the schema cannot express ----

function checkMenu(recipe: Record<string, unknown>, files: ParsedFile[], issues: RecipeIssue[]): void {
  const entries = getAt(recipe, ['boot', 'entries']);
  const def = getAt(recipe, ['boot', 'default']);
  let labels: string[] = [...DEFAULT_MENU_LABELS];
  if (Array.isArray(entries)) {
    labels = entries.map((e) => getAt(e, ['label'])).filter((l): l is string => typeof l === 'string');
    const seen = new Map<string, number>();
    labels.forEach((label, i) => {
      if (seen.has(label)) issues.push(issueAt(files, ['boot', 'entries', i, 'label'], `menu label '${label}' is used twice (entries ${seen.get(label)} and ${i})`));
      else seen.set(label, i);
    });
  }
  if (typeof def === 'string' && !labels.includes(def)) {
    const from = Array.isArray(entries) ? 'boot.entries' : 'the built-in menu';
    const guess = closest(def, labels);
    issues.push(issueAt(files, ['boot', 'default'],
      `'${def}' is not a menu entry${guess ? `; did you mean '${guess}'?` : ''} (labels in ${from}: ${labels.join(', ')})`));
  }
}

/** What the schema cannot say about `dom0`: fields per provider, one source per repository. */
function checkDom0(merged: unknown, files: ParsedFile[], issues: RecipeIssue[]): void {
  const d = getAt(merged, ['dom0']) as Record<string, unknown> | undefined;
  if (!d || typeof d !== 'object') return;
  const rpmOnly = ['repositories', 'groups', 'releasever', 'nodocs'];
  if (d.provider === 'debian') {
    for (const k of rpmOnly) if (d[k] !== undefined) issues.push(issueAt(files, ['dom0', k], `'${k}' applies to provider: rpm only (this recipe has provider: debian)`));
    return;
  }
  if (d.provider !== 'rpm') return;
  const repos = d.repositories;
  if (!Array.isArray(repos)) {
    issues.push(issueAt(files, ['dom0', 'provider'], 'provider: rpm needs dom0.repositories (where dnf installs from)'));
    return;
  }
  repos.forEach((r, i) => {
    const given = ['path', 'url', 'build'].filter((k) => (r as Record<string, unknown>)[k] !== undefined && (r as Record<string, unknown>)[k] !== false);
    if (given.length !== 1) issues.push(issueAt(files, ['dom0', 'repositories', i], `a repository needs exactly one of path, url or build: true (got ${given.length ? given.join(', ') : 'none'})`));
  });
  if (!(Array.isArray(d.groups) && d.groups.length) && !(Array.isArray(d.packages) && d.packages.length)) {
    issues.push(issueAt(files, ['dom0', 'provider'], 'provider: rpm needs dom0.groups or dom0.packages (what dnf installs)'));
  }
}

/**
 * A compiled Xen's built-in dom0_mem (CONFIG_DOM0_MEM) and the boot line's must
 * agree: the boot line wins on every boot the media set up, so a different
 * built-in value would only show on a host booted some other way.
 */
function checkDom0Mem(merged: unknown, files: ParsedFile[], issues: RecipeIssue[]): void {
  const built = getAt(merged, ['hypervisor', 'config', 'CONFIG_DOM0_MEM']);
  const boot = getAt(merged, ['boot', 'xen', 'dom0_mem']);
  if (built === undefined || typeof boot !== 'string' || String(built) === boot) return;
  const at = issueAt(files, ['boot', 'xen', 'dom0_mem'], '');
  issues.push(issueAt(files, ['hypervisor', 'config', 'CONFIG_DOM0_MEM'],
    `'${String(built)}' disagrees with boot.xen.dom0_mem '${boot}' (${at.file}:${at.line}); give both the same value, or leave CONFIG_DOM0_MEM out`));
}

function checkPatches(pf: ParsedFile, issues: RecipeIssue[]): void {
  const patches = getAt(pf.data, ['hypervisor', 'patches']);
  if (!Array.isArray(patches)) return;
  patches.forEach((p, i) => {
    if (typeof p !== 'string' || isAbsolute(p)) return; // the schema reports it
    const file = resolve(dirname(pf.abs), p);
    if (!existsSync(file) || !statSync(file).isFile()) {
      const at = locate(pf, ['hypervisor', 'patches', i]);
      issues.push({ file: pf.display, ...position(pf, at.node ?? at.key), path: `hypervisor.patches.${i}`, message: `file not found: ${displayPath(file)} (paths are relative to the recipe file)` });
    }
  });
}

/** Each included update is a built update tree: update.xml and Packages/ with RPMs. */
function checkUpdateTrees(pf: ParsedFile, issues: RecipeIssue[]): void {
  const include = getAt(pf.data, ['updates', 'include']);
  if (!Array.isArray(include)) return;
  include.forEach((p, i) => {
    if (typeof p !== 'string' || isAbsolute(p)) return; // the schema reports it
    const dir = resolve(dirname(pf.abs), p);
    const packages = join(dir, 'Packages');
    let problem: string | undefined;
    if (!existsSync(dir) || !statSync(dir).isDirectory()) problem = `directory not found: ${displayPath(dir)} (paths are relative to the recipe file)`;
    else if (!existsSync(join(dir, 'update.xml')) || !existsSync(packages) || !readdirSync(packages).some((n) => n.endsWith('.rpm'))) {
      problem = `${displayPath(dir)} is not an update tree (it needs update.xml and Packages/*.rpm, as \`xsforge update build\` writes beside the ISO)`;
    }
    if (problem) {
      const at = locate(pf, ['updates', 'include', i]);
      issues.push({ file: pf.display, ...position(pf, at.node ?? at.key), path: `updates.include[${i}]`, message: problem });
    }
  });
}

function checkEula(pf: ParsedFile, issues: RecipeIssue[]): void {
  const eula = getAt(pf.data, ['product', 'eula']);
  if (typeof eula !== 'string' || isAbsolute(eula)) return; // wrong type or absolute: the schema reports it
  const file = resolve(dirname(pf.abs), eula);
  if (!existsSync(file) || !statSync(file).isFile()) {
    const at = locate(pf, ['product', 'eula']);
    issues.push({ file: pf.display, ...position(pf, at.node ?? at.key), path: 'product.eula', message: `file not found: ${displayPath(file)} (paths are relative to the recipe file)` });
  }
}

/** An issue placed in the first file of the chain (this recipe first) that sets the field. */
function issueAt(files: ParsedFile[], segs: Segment[], message: string): RecipeIssue {
  const f = files.find((x) => locate(x, segs).complete) ?? files[0];
  const at = locate(f, segs);
  return { file: f.display, ...position(f, at.node ?? at.key), path: fieldPath(segs), message };
}

// ---- YAML node lookup ----

/** Where a field is in one file of the chain (see core/yaml-locate.ts). */
function locate(pf: ParsedFile, segs: Segment[]): { node?: Node; key?: Node; complete: boolean } {
  return locateInYaml(pf.doc, segs);
}

function position(pf: ParsedFile, node: Node | undefined): { line: number; column: number } {
  const offset = node?.range?.[0];
  if (offset === undefined) return { line: 1, column: 1 };
  const { line, col } = pf.lineCounter.linePos(offset);
  return { line, column: col };
}

// ---- small helpers ----


export function fieldPath(segs: Segment[]): string {
  return segs.map((s, i) => (typeof s === 'number' ? `[${s}]` : i === 0 ? s : `.${s}`)).join('');
}



/** Objects merge key by key (`over` wins); arrays and scalars are replaced whole. */
export function deepMerge(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) {
    out[k] = isPlainObject(v) && isPlainObject(base[k]) ? deepMerge(base[k] as Record<string, unknown>, v) : v;
  }
  return out;
}

function withoutRequired(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(withoutRequired);
  if (!isPlainObject(schema)) return schema;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(schema)) {
    if (k === 'required' && Array.isArray(v)) continue;
    out[k] = withoutRequired(v);
  }
  return out;
}

function sortIssues(issues: RecipeIssue[], files: ParsedFile[]): RecipeIssue[] {
  const order = (f: string) => files.findIndex((x) => x.display === f);
  const seen = new Set<string>();
  return issues
    .filter((i) => { const k = formatIssue(i); return seen.has(k) ? false : (seen.add(k), true); })
    .sort((a, b) => order(a.file) - order(b.file) || a.line - b.line || a.column - b.column);
}

function displayPath(abs: string): string {
  const rel = relative(process.cwd(), abs);
  return rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : abs;
}




/** The allowed word nearest to `word` (edit distance with transpositions), if it is near enough to be a typo. */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDist = Infinity;
  for (const c of candidates) {
    const d = c.toLowerCase() === word.toLowerCase() ? 0 : editDistance(word, c);
    if (d < bestDist) { best = c; bestDist = d; }
  }
  return bestDist <= Math.max(1, Math.floor(word.length / 3)) ? best : undefined;
}

function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.length][b.length];
}

// Loading a host inventory: YAML (or CSV) → schema check → `defaults` merged into
// each host → checks across fields and hosts → typed Hosts. Every problem is
// reported as file:line:column, the field path and what is allowed, all at once
// and sorted by place, like recipes/load.ts does for recipes (whose exported
// helpers we reuse). Pure apart from reading the file and, for plaintext root
// passwords, random salts.
import { randomBytes as nodeRandomBytes } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { isAbsolute, relative, resolve } from 'node:path';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { LineCounter, parseDocument, type Node } from 'yaml';
import { XsforgeError } from '../core/errors.ts';
import { closest, deepMerge, fieldPath, formatIssue } from '../recipes/load.ts';
import { cryptSaltFromBytes, sha512Crypt } from '../installer/runtime/sha512crypt.ts';
import { normalizeDisk, type ScriptStage } from '../answerfiles/model.ts';
import { parseCsv } from './csv.ts';
import { valueErrorMessage } from '../core/schema-messages.ts';
import { getAt, isPlainObject, locateInYaml, pointerSegments, type Segment } from '../core/yaml-locate.ts';
import {
  CSV_BOOLEAN_COLUMNS, CSV_COLUMNS, CSV_INTEGER_COLUMNS, CSV_LIST_COLUMNS, INVENTORY_PATTERNS, INVENTORY_SCHEMA,
  MERGED_HOST_SCHEMA, PER_HOST_KEYS, SCRIPT_STAGES, type MergedHostFields,
} from './schema.ts';

export { INVENTORY_SCHEMA } from './schema.ts';

/** One problem in an inventory; `file` is relative to the working directory when inside it. */
export interface InventoryIssue {
  file: string;
  line: number;
  column: number;
  /** field path such as `hosts[2].management.gateway`; empty for syntax errors */
  path: string;
  message: string;
}

/** All the problems found in an inventory, one `file:line:col: path: message` per line. */
export class InventoryError extends XsforgeError {
  constructor(readonly errors: InventoryIssue[]) {
    super(errors.map(formatIssue).join('\n'), 'the inventory format is described by `xsforge inventory schema` (inventory/schema.ts); compare with examples/hosts.yaml');
    this.name = 'InventoryError';
  }
}

export interface HostManagement {
  /** Exactly one of interface (ethN) and hwaddr is set; hwaddr defaults to the host's mac. */
  interface?: string;
  /** Lower-case colon form. */
  hwaddr?: string;
  mode: 'dhcp' | 'static';
  /** ip, netmask and gateway are set exactly when mode is static. */
  ip?: string;
  netmask?: string;
  gateway?: string;
  dns: string[];
  /** Not carried by 7.1 answer files (see the schema); kept for tooling. */
  vlan?: number;
}

/** A plaintext is only ever here when the inventory asked to keep it. */
export type HostRootPassword = { hash: string } | { plaintext: string; keep_plaintext: true };

/** One host with `defaults` merged in, checked, and its defaults applied. */
export interface Host {
  /** MAC of the PXE NIC, lower-case colon form (00:16:3e:aa:bb:cc). */
  mac: string;
  hostname: string;
  management: HostManagement;
  /** As written (the answer file gets `/dev/` added). */
  primary_disk: string;
  guest_disks: string[];
  guest_storage: boolean;
  sr_type: 'lvm' | 'ext';
  timezone: string;
  ntp: string[];
  root_password?: HostRootPassword;
  scripts: { stage: ScriptStage; url: string }[];
  supplemental_packs: string[];
  console: 'serial' | 'vga';
  dom0_args: string[];
  xen_args: string[];
  multipath: boolean;
  use_ibft: boolean;
  keymap?: string;
  network_backend?: 'bridge';
  /** Where the host is written in the inventory: its place in `hosts` and its line. */
  index: number;
  line: number;
}

export interface Inventory {
  /** The inventory file as given (relative to the working directory when inside it). */
  file: string;
  format: 'yaml' | 'csv';
  hosts: Host[];
  warnings: InventoryIssue[];
}

export interface InventoryParseOptions {
  /** Default: `csv` for a file name ending in .csv, else `yaml`. */
  format?: 'yaml' | 'csv';
  /** Source of salt bytes for plaintext passwords (tests make it deterministic). Default: node:crypto randomBytes. */
  randomBytes?: (size: number) => Uint8Array;
}

export interface InventoryParseResult {
  /** Present exactly when there are no errors. */
  inventory?: Inventory;
  errors: InventoryIssue[];
  warnings: InventoryIssue[];
}

/** What `xsforge inventory validate --json` prints for a file. */
export interface InventoryValidation {
  file: string;
  valid: boolean;
  /** Number of hosts in the file (0 when it could not be read as a list of hosts). */
  hosts: number;
  errors: InventoryIssue[];
  warnings: InventoryIssue[];
}

/** Reads, checks and returns the inventory; throws InventoryError listing every problem. */
export function loadInventory(path: string, options: InventoryParseOptions = {}): Inventory {
  const { text, display } = readInventoryFile(path);
  const r = parseInventory(text, display, options);
  if (!r.inventory) throw new InventoryError(r.errors);
  return r.inventory;
}

/** Every problem and warning, for `--json`; plaintext passwords are not hashed (nothing is written). */
export function validateInventory(path: string, options: Pick<InventoryParseOptions, 'format'> = {}): InventoryValidation {
  let read: { text: string; display: string };
  try {
    read = readInventoryFile(path);
  } catch (err) {
    if (!(err instanceof XsforgeError)) throw err;
    return { file: path, valid: false, hosts: 0, errors: [{ file: path, line: 1, column: 1, path: '', message: err.message }], warnings: [] };
  }
  const a = analyse(read.text, read.display, options.format ?? formatOf(path));
  return { file: read.display, valid: a.errors.length === 0, hosts: a.hostCount, errors: a.errors, warnings: a.warnings };
}

/** The checks of loadInventory on text in memory; `file` is only used in the issues. */
export function parseInventory(text: string, file: string, options: InventoryParseOptions = {}): InventoryParseResult {
  const a = analyse(text, file, options.format ?? formatOf(file));
  if (a.errors.length) return { errors: a.errors, warnings: a.warnings };
  const random = options.randomBytes ?? ((size: number) => nodeRandomBytes(size));
  // A plaintext written once (in defaults) is hashed once: 5000 sha512 rounds per host would
  // make a large inventory slow, and the shared hash says no more than the shared default does.
  const hashed = new Map<string, string>();
  const hosts = a.merged.map((m) => toHost(m, (where, plaintext) => {
    let h = hashed.get(where);
    if (h === undefined) {
      h = sha512Crypt(plaintext, cryptSaltFromBytes(random(16)));
      hashed.set(where, h);
    }
    return h;
  }));
  return { inventory: { file, format: a.format, hosts, warnings: a.warnings }, errors: [], warnings: a.warnings };
}

// ---- small public helpers ----

const MAC_RE = new RegExp(INVENTORY_PATTERNS.mac.regex);
const IPV4_RE = new RegExp(INVENTORY_PATTERNS.ipv4.regex);

/** A MAC in any notation the schema accepts, as lower-case colon form; undefined when it is not one. */
export function normalizeMac(text: string): string | undefined {
  if (!MAC_RE.test(text)) return undefined;
  const hex = text.replace(/[:.-]/g, '').toLowerCase();
  return hex.match(/../g)!.join(':');
}

/** RFC 1123 host name rules; returns what is wrong, or undefined when the name is fine. */
export function hostnameProblem(name: string): string | undefined {
  if (name.length > 253) return `is ${name.length} characters long; a host name has at most 253`;
  const labels = name.split('.');
  for (const label of labels) {
    if (label === '') return 'has an empty label (a dot at either end, or two dots in a row)';
    if (label.length > 63) return `has a label of ${label.length} characters ('${label.slice(0, 12)}...'); a label has at most 63`;
    const bad = /[^A-Za-z0-9-]/.exec(label);
    if (bad) return `contains '${bad[0]}' in label '${label}'; labels hold only letters, digits and hyphens`;
    if (label.startsWith('-') || label.endsWith('-')) return `has label '${label}' that ${label.startsWith('-') ? 'starts' : 'ends'} with a hyphen`;
  }
  if (/^[0-9]+$/.test(labels[labels.length - 1]!) && labels.length > 1) return 'ends in an all-numeric label, which makes it look like an IP address';
  return undefined;
}

/** Dotted quad → 32-bit unsigned integer; undefined when not a dotted quad. */
export function ipv4ToInt(ip: string): number | undefined {
  if (!IPV4_RE.test(ip)) return undefined;
  return ip.split('.').reduce((acc, p) => acc * 256 + Number(p), 0);
}

export function intToIpv4(n: number): string {
  return [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join('.');
}

/** Prefix length of a netmask with contiguous one bits; undefined otherwise. */
export function netmaskPrefix(mask: string): number | undefined {
  const n = ipv4ToInt(mask);
  if (n === undefined) return undefined;
  const bits = n.toString(2).padStart(32, '0');
  return /^1*0*$/.test(bits) ? bits.indexOf('0') < 0 ? 32 : bits.indexOf('0') : undefined;
}

// ---- reading ----

function readInventoryFile(path: string): { text: string; display: string } {
  const abs = resolve(path);
  if (!existsSync(abs) || !statSync(abs).isFile()) {
    throw new XsforgeError(`inventory file not found: ${displayPath(abs)}`, 'an example is examples/hosts.yaml');
  }
  return { text: readFileSync(abs, 'utf8'), display: displayPath(abs) };
}

function formatOf(file: string): 'yaml' | 'csv' {
  return /\.csv$/i.test(file) ? 'csv' : 'yaml';
}

function displayPath(abs: string): string {
  const rel = relative(process.cwd(), abs);
  return rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : abs;
}

// ---- where things are in the source ----

interface Pos { line: number; column: number }

/** The parsed file and a way to find the line and column of a field path in it. */
interface Source {
  file: string;
  data: unknown;
  /** Where `segs` is, when the whole path is in the file; `atKey` points at a map key rather than its value. */
  find(segs: Segment[], atKey?: boolean): Pos | undefined;
  /** Where `segs`, or the deepest part of it that is in the file, is. */
  nearest(segs: Segment[]): Pos;
  /** The source text of a scalar, for "put it in quotes" hints. */
  raw(segs: Segment[]): string | undefined;
}

function yamlSource(text: string, file: string, issues: InventoryIssue[]): Source | undefined {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: true, uniqueKeys: true });
  for (const err of doc.errors) {
    const pos = err.linePos?.[0] ?? lineCounter.linePos(err.pos[0]);
    // Only the first line: the rest quotes the source, which may hold a password.
    const what = err.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
    issues.push({ file, line: pos.line, column: pos.col, path: '', message: `YAML syntax error: ${what}` });
  }
  if (doc.errors.length) return undefined;
  const position = (node: Node | undefined): Pos => {
    const offset = node?.range?.[0];
    if (offset === undefined) return { line: 1, column: 1 };
    const { line, col } = lineCounter.linePos(offset);
    return { line, column: col };
  };
  const locate = (segs: Segment[]) => locateInYaml(doc, segs);
  let data: unknown;
  try {
    data = doc.toJS();
  } catch (err) {
    // yaml reports an alias to a missing anchor, or too many aliases (an alias bomb),
    // only here, as a ReferenceError; the first line only, as above
    issues.push({ file, line: 1, column: 1, path: '', message: `YAML error: ${(err as Error).message.split('\n')[0]}` });
    return undefined;
  }
  return {
    file,
    data,
    find(segs, atKey = false) {
      const at = locate(segs);
      if (!at.complete) return undefined;
      return position(atKey ? at.key ?? at.node : at.node ?? at.key);
    },
    nearest(segs) {
      const at = locate(segs);
      return position(at.complete ? at.node ?? at.key : at.key ?? at.node);
    },
    raw(segs) {
      const at = locate(segs);
      return at.complete && at.node?.range ? text.slice(at.node.range[0], at.node.range[1]).trim() : undefined;
    },
  };
}

/** A CSV file as `{ hosts: [...] }`, one host per row, with each cell's place. */
function csvSource(text: string, file: string, issues: InventoryIssue[]): Source | undefined {
  const { rows, errors } = parseCsv(text);
  for (const e of errors) issues.push({ file, line: e.line, column: e.column, path: '', message: `CSV syntax error: ${e.message}` });
  if (errors.length) return undefined;
  const header = rows[0];
  if (!header) {
    issues.push({ file, line: 1, column: 1, path: '', message: 'the inventory file is empty (a CSV inventory starts with a header row naming its columns)' });
    return undefined;
  }
  const columns = header.cells.map((c) => c.text.trim());
  let headerOk = true;
  columns.forEach((name, i) => {
    const at = header.cells[i]!;
    if (!CSV_COLUMNS.includes(name)) {
      const guess = closest(name, CSV_COLUMNS);
      issues.push({ file, line: at.line, column: at.column, path: '', message: `unknown column '${name}'${guess ? `; did you mean '${guess}'?` : ''} (columns: ${CSV_COLUMNS.join(', ')})` });
      headerOk = false;
    } else if (columns.indexOf(name) !== i) {
      issues.push({ file, line: at.line, column: at.column, path: '', message: `column '${name}' is named twice (columns ${columns.indexOf(name) + 1} and ${i + 1})` });
      headerOk = false;
    }
  });
  for (const required of ['mac', 'hostname', 'primary_disk']) {
    if (!columns.includes(required)) {
      issues.push({ file, line: header.line, column: 1, path: '', message: `the header has no '${required}' column (every host needs mac, hostname and primary_disk; a CSV inventory has no defaults)` });
      headerOk = false;
    }
  }
  if (!headerOk) return undefined;

  const hosts: Record<string, unknown>[] = [];
  const cellAt: Map<string, Pos>[] = [];
  const rowAt: Pos[] = [];
  for (const row of rows.slice(1)) {
    const i = hosts.length;
    const host: Record<string, unknown> = {};
    const places = new Map<string, Pos>();
    if (row.cells.length > columns.length) {
      const extra = row.cells[columns.length]!;
      issues.push({ file, line: extra.line, column: extra.column, path: `hosts[${i}]`, message: `the row has ${row.cells.length} cells but the header names ${columns.length} columns` });
    }
    row.cells.slice(0, columns.length).forEach((cell, c) => {
      const column = columns[c]!;
      const value = cell.text.trim();
      if (value === '') return;
      places.set(column, { line: cell.line, column: cell.column });
      const converted = csvValue(column, value, (message) => issues.push({ file, line: cell.line, column: cell.column, path: fieldPath(['hosts', i, ...column.split('.')]), message }));
      if (converted === undefined) return;
      const [first, second] = column.split('.') as [string, string | undefined];
      if (second === undefined) host[first] = converted;
      else ((host[first] ??= {}) as Record<string, unknown>)[second] = converted;
    });
    hosts.push(host);
    cellAt.push(places);
    rowAt.push({ line: row.line, column: 1 });
  }

  /** `hosts[i]` + path → the cell of its column (list items share their cell). */
  const place = (segs: Segment[]): { pos?: Pos; complete: boolean } => {
    if (segs.length === 0) return { pos: { line: header.line, column: 1 }, complete: true };
    if (segs[0] !== 'hosts') return { complete: false };
    if (segs.length === 1) return { pos: { line: header.line, column: 1 }, complete: true };
    const i = segs[1];
    if (typeof i !== 'number' || i >= hosts.length) return { pos: { line: header.line, column: 1 }, complete: false };
    const rest = segs.slice(2);
    if (rest.length === 0) return { pos: rowAt[i], complete: true };
    const firstIndex = rest.findIndex((s) => typeof s === 'number');
    const column = (firstIndex < 0 ? rest : rest.slice(0, firstIndex)).join('.');
    const exact = cellAt[i]!.get(column);
    if (exact) return { pos: exact, complete: true };
    // `management` as a whole: its first cell in this row.
    for (const [name, pos] of cellAt[i]!) if (name.startsWith(`${column}.`)) return { pos, complete: true };
    return { pos: rowAt[i], complete: false };
  };
  return {
    file,
    data: { hosts },
    find: (segs) => { const p = place(segs); return p.complete ? p.pos : undefined; },
    nearest: (segs) => place(segs).pos ?? { line: 1, column: 1 },
    raw: () => undefined,
  };
}

/** A cell's text as the YAML value it stands for; undefined (after `problem`) when it cannot be one. */
function csvValue(column: string, text: string, problem: (message: string) => void): unknown {
  if ((CSV_BOOLEAN_COLUMNS as readonly string[]).includes(column)) {
    const t = text.toLowerCase();
    if (['true', 'yes'].includes(t)) return true;
    if (['false', 'no'].includes(t)) return false;
    return text; // the schema says what is expected
  }
  if ((CSV_INTEGER_COLUMNS as readonly string[]).includes(column)) return /^[0-9]+$/.test(text) ? Number(text) : text;
  if (column === 'scripts') {
    const scripts: { stage: string; url: string }[] = [];
    for (const item of text.split(/\s+/)) {
      const colon = item.indexOf(':');
      if (colon <= 0) {
        problem(`script '${item}' is not stage:url (stage one of ${SCRIPT_STAGES.join(', ')})`);
        return undefined;
      }
      scripts.push({ stage: item.slice(0, colon), url: item.slice(colon + 1) });
    }
    return scripts;
  }
  if ((CSV_LIST_COLUMNS as readonly string[]).includes(column)) return text.split(/\s+/);
  return text;
}

// ---- the checks ----

let fileValidator: ValidateFunction | undefined;
function getFileValidator(): ValidateFunction {
  fileValidator ??= new Ajv({ allErrors: true, verbose: true, strict: true }).compile(INVENTORY_SCHEMA);
  return fileValidator;
}

/**
 * What a host must have once defaults are merged in, from the merged-host schema.
 * The file schema has already checked every value where it is written, so the
 * only thing a second ajv pass over each merged host could add is these keys
 * being absent: looking for them directly is that check without its cost.
 */
const MERGED_REQUIRED = (MERGED_HOST_SCHEMA.required ?? []) as string[];

interface Analysis {
  format: 'yaml' | 'csv';
  errors: InventoryIssue[];
  warnings: InventoryIssue[];
  hostCount: number;
  /** Merged hosts with where their root password came from; only meaningful without errors. */
  merged: MergedHost[];
}

interface MergedHost {
  index: number;
  line: number;
  data: MergedHostFields;
  /** `file:line:col` of the plaintext password, to hash each written password once. */
  plaintextAt?: string;
}

function analyse(text: string, file: string, format: 'yaml' | 'csv'): Analysis {
  const errors: InventoryIssue[] = [];
  const warnings: InventoryIssue[] = [];
  const done = (merged: MergedHost[] = [], hostCount = 0): Analysis => ({
    format, errors: sortIssues(errors), warnings: sortIssues(warnings), hostCount, merged,
  });
  const src = format === 'csv' ? csvSource(text, file, errors) : yamlSource(text, file, errors);
  if (!src) return done();
  if (src.data === null || src.data === undefined) {
    errors.push({ file, line: 1, column: 1, path: '', message: 'the inventory file is empty (it needs a hosts: list)' });
    return done();
  }
  const typos = new Set<string>();
  const validate = getFileValidator();
  if (!validate(src.data)) errors.push(...schemaIssues(validate.errors ?? [], src, typos));

  const data = src.data as Record<string, unknown>;
  if (!isPlainObject(data) || !Array.isArray(data.hosts)) return done();
  // A mac or hostname in defaults is an error reported above; it must not fill in a host's.
  const defaults = isPlainObject(data.defaults) ? omit(data.defaults, PER_HOST_KEYS) : {};
  const ctx = new HostChecks(src, errors, warnings);
  const merged: MergedHost[] = [];
  data.hosts.forEach((entry: unknown, i: number) => {
    if (!isPlainObject(entry)) return; // the schema reported it
    const m = deepMerge(defaults, entry);
    // Types and unknown keys were checked where they are written; what only the
    // merged host can show is a required field that neither host nor defaults give.
    for (const key of MERGED_REQUIRED) {
      if (m[key] === undefined) {
        if (typos.has(fieldPath(['hosts', i, key]))) continue;
        const where = PER_HOST_KEYS.includes(key as (typeof PER_HOST_KEYS)[number]) ? '' : ' (nor in defaults)';
        const pos = src.nearest(['hosts', i]);
        errors.push({ file, ...pos, path: fieldPath(['hosts', i, key]), message: `missing required field '${key}' in hosts[${i}]${where}` });
      }
    }
    ctx.checkHost(i, m);
    const pw = getAt(m, ['root_password', 'plaintext']);
    const pwAt = typeof pw === 'string' ? ctx.placeOf(i, ['root_password', 'plaintext']) : undefined;
    merged.push({
      index: i, line: src.nearest(['hosts', i]).line, data: m as unknown as MergedHostFields,
      ...(pwAt && { plaintextAt: `${pwAt.pos.line}:${pwAt.pos.column}` }),
    });
  });
  return done(merged, data.hosts.length);
}

/** The first host to use a value that must be unique, and the field it is in. */
interface FirstUse { i: number; name: string; segs: Segment[] }

/** The checks that need more than one field, or more than one host. */
class HostChecks {
  // Where the first use is written is only looked up when a second use is found:
  // most values are unique, and finding a place in the YAML is the costly part.
  private readonly macs = new Map<string, FirstUse>();
  private readonly names = new Map<string, FirstUse>();
  private readonly ips = new Map<string, FirstUse>();

  constructor(readonly src: Source, readonly errors: InventoryIssue[], readonly warnings: InventoryIssue[]) {}

  /** Where a field of host i is written: in the host, else in defaults, else the host itself. */
  placeOf(i: number, segs: Segment[]): { pos: Pos; inherited: boolean } {
    const own = this.src.find(['hosts', i, ...segs]);
    if (own) return { pos: own, inherited: false };
    const inherited = this.src.find(['defaults', ...segs]);
    if (inherited) return { pos: inherited, inherited: true };
    return { pos: this.src.nearest(['hosts', i, ...segs]), inherited: false };
  }

  private issue(list: InventoryIssue[], i: number, segs: Segment[], message: string): void {
    const { pos, inherited } = this.placeOf(i, segs);
    list.push({ file: this.src.file, ...pos, path: fieldPath(['hosts', i, ...segs]), message: inherited ? `${message} (value from defaults)` : message });
  }

  error(i: number, segs: Segment[], message: string): void {
    this.issue(this.errors, i, segs, message);
  }

  /** A second use of a value that must be unique: the error names both places. */
  private unique(map: Map<string, FirstUse>, key: string, i: number, name: string, segs: Segment[], what: string): void {
    const first = map.get(key);
    if (first && first.i !== i) {
      const { pos } = this.placeOf(first.i, first.segs);
      this.error(i, segs, `${what} is also used by hosts[${first.i}] (${first.name}) at ${this.src.file}:${pos.line}:${pos.column}`);
    } else if (!first) map.set(key, { i, name, segs });
  }

  checkHost(i: number, h: Record<string, unknown>): void {
    const name = typeof h.hostname === 'string' ? h.hostname : `hosts[${i}]`;
    if (typeof h.mac === 'string') {
      const mac = normalizeMac(h.mac);
      if (mac) this.unique(this.macs, mac, i, name, ['mac'], `MAC ${mac}`);
    }
    if (typeof h.hostname === 'string' && h.hostname !== '') {
      const problem = hostnameProblem(h.hostname);
      if (problem) this.error(i, ['hostname'], `'${h.hostname}' is not a valid host name: it ${problem} (RFC 1123: labels of 1 to 63 letters, digits and hyphens, not starting or ending with a hyphen)`);
      else this.unique(this.names, h.hostname.toLowerCase(), i, name, ['hostname'], `host name ${h.hostname}`);
    }
    this.checkManagement(i, h, name);
    this.checkDisks(i, h);
    this.checkPassword(i, h);
    if (Array.isArray(h.dom0_args)) {
      h.dom0_args.forEach((arg: unknown, k: number) => {
        if (typeof arg !== 'string') return;
        const key = arg.split('=')[0]!;
        if (['answerfile', 'answerfile_generator', 'answerfile_device', 'network_device', 'rt_answerfile'].includes(key)) {
          this.error(i, ['dom0_args', k], `'${key}=' is set by xsforge from the inventory (the answer file URL and the management NIC); remove it from dom0_args`);
        }
      });
    }
  }

  private checkManagement(i: number, h: Record<string, unknown>, name: string): void {
    const m = isPlainObject(h.management) ? h.management : {};
    if (m.interface !== undefined && m.hwaddr !== undefined) {
      this.error(i, ['management', 'hwaddr'], 'give either management.interface or management.hwaddr, not both');
    }
    if (typeof m.hwaddr === 'string' && typeof h.mac === 'string') {
      const hw = normalizeMac(m.hwaddr);
      // The management NIC belongs to this host: no other host may claim it as its PXE NIC or its own.
      if (hw && hw !== normalizeMac(h.mac)) this.unique(this.macs, hw, i, name, ['management', 'hwaddr'], `MAC ${hw}`);
    }
    const mode = m.mode ?? 'dhcp';
    const staticFields = ['ip', 'netmask', 'gateway'] as const;
    if (mode === 'static') {
      const missing = staticFields.filter((k) => m[k] === undefined);
      if (missing.length) this.error(i, ['management'], `mode static needs ip, netmask and gateway (missing: ${missing.join(', ')})`);
      const ip = typeof m.ip === 'string' ? ipv4ToInt(m.ip) : undefined;
      const prefix = typeof m.netmask === 'string' ? netmaskPrefix(m.netmask) : undefined;
      const gw = typeof m.gateway === 'string' ? ipv4ToInt(m.gateway) : undefined;
      if (typeof m.netmask === 'string' && ipv4ToInt(m.netmask) !== undefined) {
        if (prefix === undefined) this.error(i, ['management', 'netmask'], `${m.netmask} is not a netmask: its one bits must be contiguous (e.g. 255.255.255.0)`);
        else if (prefix === 0 || prefix === 32) this.error(i, ['management', 'netmask'], `netmask ${m.netmask} (/${prefix}) leaves no subnet for the host and its gateway; use /1 to /31`);
      }
      const usable = prefix !== undefined && prefix > 0 && prefix < 32;
      if (ip !== undefined && usable) {
        const size = 2 ** (32 - prefix);
        const network = ip - (ip % size);
        const subnet = `${intToIpv4(network)}/${prefix}`;
        if (prefix <= 30 && (ip === network || ip === network + size - 1)) {
          this.error(i, ['management', 'ip'], `${m.ip} is the ${ip === network ? 'network' : 'broadcast'} address of its subnet ${subnet}, not a host address`);
        }
        if (gw !== undefined) {
          if (gw === ip) this.error(i, ['management', 'gateway'], `gateway ${m.gateway} is the host's own address`);
          else if (gw - (gw % size) !== network) this.error(i, ['management', 'gateway'], `gateway ${m.gateway} is outside the subnet ${subnet} of ip ${m.ip} (netmask ${m.netmask})`);
        }
      }
      if (typeof m.ip === 'string' && ip !== undefined) this.unique(this.ips, m.ip, i, name, ['management', 'ip'], `static IP ${m.ip}`);
    } else if (mode === 'dhcp') {
      for (const k of staticFields) {
        if (m[k] !== undefined && this.src.find(['hosts', i, 'management', k])) {
          this.issue(this.warnings, i, ['management', k], `management.${k} is ignored with mode dhcp`);
        }
      }
    }
    if (m.vlan !== undefined) {
      const own = this.src.find(['hosts', i, 'management', 'vlan']);
      const segs = own ? ['hosts', i, 'management', 'vlan'] : ['defaults', 'management', 'vlan'];
      const pos = own ?? this.src.find(segs) ?? this.src.nearest(['hosts', i]);
      // Written once per place, so a default VLAN warns once, not once per host.
      this.warnings.push({
        file: this.src.file, ...pos, path: fieldPath(segs),
        message: 'the 7.1 installer cannot put the management interface on a VLAN (answer-file vlan= came in 7.2), so the answer file does not carry it: the install network must reach this NIC untagged, and the VLAN is set after installation',
      });
    }
  }

  private checkDisks(i: number, h: Record<string, unknown>): void {
    if (!Array.isArray(h.guest_disks)) return;
    const seen = new Map<string, number>();
    const primary = typeof h.primary_disk === 'string' ? normalizeDisk(h.primary_disk) : undefined;
    h.guest_disks.forEach((d: unknown, k: number) => {
      if (typeof d !== 'string') return;
      const dev = normalizeDisk(d);
      if (seen.has(dev)) this.error(i, ['guest_disks', k], `${dev} is listed twice (guest_disks[${seen.get(dev)}] and [${k}])`);
      else seen.set(dev, k);
      if (dev === primary && h.guest_storage !== false) {
        this.error(i, ['guest_disks', k], `${dev} is the primary disk, whose free space is already in the local SR (guest_storage is true); remove it from guest_disks`);
      }
    });
  }

  private checkPassword(i: number, h: Record<string, unknown>): void {
    if (!isPlainObject(h.root_password)) return;
    const pw = h.root_password;
    const has = (k: string) => pw[k] !== undefined;
    if (has('hash') && has('plaintext')) this.error(i, ['root_password'], 'give either root_password.hash or root_password.plaintext, not both');
    else if (!has('hash') && !has('plaintext')) this.error(i, ['root_password'], 'root_password needs hash or plaintext');
    if (pw.keep_plaintext === true && !has('plaintext')) this.error(i, ['root_password', 'keep_plaintext'], 'keep_plaintext goes with root_password.plaintext');
    if (pw.keep_plaintext === true && typeof pw.plaintext === 'string') {
      // The generator refuses these (the installer strips white space; XML cannot hold control characters).
      if (/^\s|\s$/.test(pw.plaintext)) this.error(i, ['root_password', 'plaintext'], 'a plaintext password kept in the answer file cannot start or end with white space (the installer strips it); drop keep_plaintext to store its hash');
      // eslint-disable-next-line no-control-regex
      if (/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/.test(pw.plaintext)) this.error(i, ['root_password', 'plaintext'], 'a plaintext password kept in the answer file cannot hold control characters; drop keep_plaintext to store its hash');
    }
  }
}

// ---- turning ajv errors into located, readable issues ----

/** A value an error message may show: nothing under root_password (a misplaced password must not be echoed). */
function shown(segs: Segment[], text: string): string {
  return segs.includes('root_password') ? '(hidden)' : text;
}

function schemaIssues(errors: ErrorObject[], src: Source, typos: Set<string>): InventoryIssue[] {
  // A value of the wrong type also fails its enum/pattern; the type error says it all.
  const typeFailed = new Set(errors.filter((e) => e.keyword === 'type').map((e) => e.instancePath));
  const out: InventoryIssue[] = [];
  for (const e of errors) {
    if (e.keyword !== 'type' && typeFailed.has(e.instancePath)) continue;
    const segs = pointerSegments(e.instancePath, src.data);
    const where = segs.length ? fieldPath(segs) : 'the top level';
    let target = segs;
    let atKey = false;
    let message: string;
    switch (e.keyword) {
      case 'additionalProperties': {
        const key = String(e.params.additionalProperty);
        const allowed = Object.keys((e.parentSchema?.properties ?? {}) as object);
        target = [...segs, key];
        atKey = true;
        if (segs.length === 1 && segs[0] === 'defaults' && PER_HOST_KEYS.includes(key as (typeof PER_HOST_KEYS)[number])) {
          message = `'${key}' identifies one host and cannot be in defaults; give it in each host`;
          break;
        }
        const guess = closest(key, allowed);
        if (guess) typos.add(fieldPath([...segs, guess]));
        message = `unknown key '${key}' in ${where}${guess ? `; did you mean '${guess}'?` : ''} (allowed keys: ${allowed.join(', ')})`;
        break;
      }
      case 'required':
        message = `missing required field '${String(e.params.missingProperty)}' in ${where}`;
        target = [...segs, String(e.params.missingProperty)];
        break;
      default: {
        // values under root_password are never echoed (shown() hides them)
        const v = valueErrorMessage(e, {
          patternWords: (re) => Object.values(INVENTORY_PATTERNS).find((p) => p.regex === re)?.words,
          show: (t) => shown(segs, t),
        })!;
        message = v.message;
        if (v.item !== undefined) target = [...segs, v.item];
        if (e.keyword === 'type' && e.params.type === 'string' && (typeof e.data === 'number' || typeof e.data === 'boolean') && !segs.includes('root_password')) {
          message += `; put it in quotes: "${src.raw(segs) ?? String(e.data)}"`;
        }
      }
    }
    const pos = src.find(target, atKey) ?? src.nearest(target);
    out.push({ file: src.file, ...pos, path: fieldPath(target), message });
  }
  return out;
}

// ---- building the typed host ----

function toHost(m: MergedHost, hashOnce: (where: string, plaintext: string) => string): Host {
  const h = m.data;
  const mac = normalizeMac(h.mac)!;
  const mg = h.management ?? {};
  const mode = mg.mode ?? 'dhcp';
  const management: HostManagement = {
    ...(mg.interface !== undefined ? { interface: mg.interface } : { hwaddr: normalizeMac(mg.hwaddr ?? mac)! }),
    mode,
    ...(mode === 'static' && { ip: mg.ip!, netmask: mg.netmask!, gateway: mg.gateway! }),
    dns: mg.dns ?? [],
    ...(mg.vlan !== undefined && { vlan: mg.vlan }),
  };
  let root_password: HostRootPassword | undefined;
  const pw = h.root_password;
  if (pw?.hash !== undefined) root_password = { hash: pw.hash };
  else if (pw?.plaintext !== undefined) {
    root_password = pw.keep_plaintext ? { plaintext: pw.plaintext, keep_plaintext: true } : { hash: hashOnce(m.plaintextAt ?? `host ${m.index}`, pw.plaintext) };
  }
  return {
    mac,
    hostname: h.hostname,
    management,
    primary_disk: h.primary_disk,
    guest_disks: h.guest_disks ?? [],
    guest_storage: h.guest_storage ?? true,
    sr_type: h.sr_type ?? 'lvm',
    timezone: h.timezone ?? 'Etc/UTC',
    ntp: h.ntp ?? [],
    ...(root_password && { root_password }),
    scripts: (h.scripts ?? []).map((s) => ({ stage: s.stage, url: s.url })),
    supplemental_packs: h.supplemental_packs ?? [],
    console: h.console ?? 'serial',
    dom0_args: h.dom0_args ?? [],
    xen_args: h.xen_args ?? [],
    multipath: h.multipath ?? false,
    use_ibft: h.use_ibft ?? false,
    ...(h.keymap !== undefined && { keymap: h.keymap }),
    ...(h.network_backend !== undefined && { network_backend: h.network_backend }),
    index: m.index,
    line: m.line,
  };
}

// ---- small helpers ----



function omit(o: Record<string, unknown>, keys: readonly string[]): Record<string, unknown> {
  return Object.fromEntries(Object.entries(o).filter(([k]) => !keys.includes(k)));
}


function sortIssues(issues: InventoryIssue[]): InventoryIssue[] {
  const seen = new Set<string>();
  return issues
    .filter((i) => { const k = formatIssue(i); return seen.has(k) ? false : (seen.add(k), true); })
    .sort((a, b) => a.line - b.line || a.column - b.column);
}




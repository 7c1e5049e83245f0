// update.xml (SPEC section 6): the generator the builder uses and the parser
// that `inspect`, tests and anything else reading an update ISO use. The parser
// enforces the section's rules and reports every problem at once. Pure.
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { XsforgeError } from '../core/errors.ts';
import { AFTER_APPLY_GUIDANCE, UPDATE_PATTERNS, type AfterApplyGuidance } from './schema.ts';

export interface UpdateXml {
  nameLabel: string;
  uuid: string;
  version: string;
  /** e.g. RPM-GPG-KEY-XS-7; absent when the update names no key */
  key?: string;
  /** bytes of free space needed */
  installationSize: number;
  afterApplyGuidance: AfterApplyGuidance[];
  enforceHomogeneity: boolean;
  /** the control package's name, control-<name-label> */
  control: string;
  description: string;
  rolledUpBy?: { nameLabel: string; uuid: string };
  /** xsforge's attribute (written only when true): the update can be applied as a live patch */
  livepatch: boolean;
  /**
   * xsforge's <overwrites>: files of installed packages the update deliberately
   * replaces (the installer and xsforge-update then install with --replacefiles).
   * Absent when none (the element is then not written).
   */
  overwrites?: string[];
}

export class UpdateXmlError extends XsforgeError {
  constructor(readonly problems: string[], where = 'update.xml') {
    super(`${where}: ${problems.length === 1 ? problems[0] : `\n  - ${problems.join('\n  - ')}`}`,
      'update.xml needs name-label, uuid, version and a non-empty <name-description> (SPEC section 6)');
    this.name = 'UpdateXmlError';
  }
}

function escAttr(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/\r/g, '&#13;').replace(/\n/g, '&#10;').replace(/\t/g, '&#9;');
}

function escText(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** update.xml text; attributes in the order of SPEC section 6. Refuses what its own parser would refuse. */
export function renderUpdateXml(u: UpdateXml): string {
  const attrs: [string, string][] = [
    ['name-label', u.nameLabel],
    ['uuid', u.uuid],
    ['version', u.version],
    ...(u.key !== undefined ? [['key', u.key] as [string, string]] : []),
    ['installation-size', String(u.installationSize)],
    ['after-apply-guidance', u.afterApplyGuidance.join(',')],
    ['enforce-homogeneity', String(u.enforceHomogeneity)],
    ...(u.livepatch ? [['livepatch', 'true'] as [string, string]] : []),
    ['control', u.control],
  ];
  const lines = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<update ${attrs.map(([k, v]) => `${k}="${escAttr(v)}"`).join(' ')}>`,
    `  <name-description>${escText(u.description.trim())}</name-description>`,
  ];
  if (u.rolledUpBy) lines.push(`  <rolled-up-by name-label="${escAttr(u.rolledUpBy.nameLabel)}" uuid="${escAttr(u.rolledUpBy.uuid)}"/>`);
  if (u.overwrites?.length) {
    // one <file> per line: xsforge-update reads them with awk
    lines.push('  <overwrites>', ...u.overwrites.map((p) => `    <file path="${escAttr(p)}"/>`), '  </overwrites>');
  }
  lines.push('</update>', '');
  const text = lines.join('\n');
  const check = checkUpdateXml(text);
  if (check.problems.length) throw new UpdateXmlError(check.problems, 'update.xml to write');
  return text;
}

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@',
  parseAttributeValue: false,
  parseTagValue: false,
  trimValues: true,
  processEntities: true,
  isArray: (name) => name === 'rolled-up-by' || name === 'name-description' || name === 'overwrites' || name === 'file',
});

const UUID_RE = new RegExp(UPDATE_PATTERNS.uuid.regex);
const PATH_RE = new RegExp(UPDATE_PATTERNS.absolutePath.regex, 'u');

/** Every problem with an update.xml, and the update when there are none. */
export function checkUpdateXml(text: string): { update?: UpdateXml; problems: string[] } {
  const valid = XMLValidator.validate(text);
  if (valid !== true) return { problems: [`not well-formed XML: ${valid.err.msg} (line ${valid.err.line}, column ${valid.err.col})`] };
  // update.xml needs no entities; declared ones could expand without bound or name a file to read
  if (/<!ENTITY\b/.test(text.replace(/<!--[\s\S]*?-->/g, ''))) return { problems: ['entity declarations (<!ENTITY ...>) are not allowed in update.xml'] };
  let doc: Record<string, unknown>;
  try {
    doc = parser.parse(text) as Record<string, unknown>;
  } catch (err) {
    // the parser refuses some documents its validator passes (an unclosed <?xml ...?>)
    return { problems: [`not well-formed XML: ${(err as Error).message}`] };
  }
  const root = doc.update as Record<string, unknown> | string | undefined;
  const others = Object.keys(doc).filter((k) => k !== '?xml' && k !== 'update');
  if (root === undefined) return { problems: [`the root element must be <update>${others.length ? ` (found <${others[0]}>)` : ''}`] };
  const el: Record<string, unknown> = typeof root === 'object' && root ? root : {};
  const attr = (k: string): string | undefined => (typeof el[`@${k}`] === 'string' ? el[`@${k}`] as string : undefined);
  const problems: string[] = [];

  const required = (k: string): string => {
    const v = attr(k);
    if (v === undefined || v.trim() === '') problems.push(`missing required attribute ${k}`);
    return v?.trim() ?? '';
  };
  const nameLabel = required('name-label');
  const uuid = required('uuid');
  const version = required('version');
  if (uuid && !UUID_RE.test(uuid)) problems.push(`uuid "${uuid}" is not ${UPDATE_PATTERNS.uuid.words}`);
  if (nameLabel && !new RegExp(UPDATE_PATTERNS.nameLabel.regex).test(nameLabel)) problems.push(`name-label "${nameLabel}" is not ${UPDATE_PATTERNS.nameLabel.words}`);

  const descs = (el['name-description'] as unknown[] | undefined) ?? [];
  const descText = (d: unknown) => (typeof d === 'string' ? d : d && typeof d === 'object' && '#text' in d ? String((d as Record<string, unknown>)['#text']) : '');
  if (descs.length === 0) problems.push('missing required element <name-description>');
  else if (descs.length > 1) problems.push(`<name-description> appears ${descs.length} times`);
  const description = descs.length ? descText(descs[0]).trim() : '';
  if (descs.length === 1 && !description) problems.push('<name-description> is empty');

  const sizeText = attr('installation-size');
  let installationSize = 0;
  if (sizeText !== undefined) {
    if (!/^\d+$/.test(sizeText.trim())) problems.push(`installation-size "${sizeText}" is not a whole number of bytes`);
    else installationSize = Number(sizeText.trim());
  }

  const guidance: AfterApplyGuidance[] = [];
  for (const g of (attr('after-apply-guidance') ?? '').split(',').map((s) => s.trim()).filter(Boolean)) {
    if (!(AFTER_APPLY_GUIDANCE as readonly string[]).includes(g)) problems.push(`after-apply-guidance "${g}" is not one of ${AFTER_APPLY_GUIDANCE.join(', ')}`);
    else if (guidance.includes(g as AfterApplyGuidance)) problems.push(`after-apply-guidance lists ${g} twice`);
    else guidance.push(g as AfterApplyGuidance);
  }

  const bool = (k: string): boolean => {
    const v = attr(k);
    if (v === undefined) return false;
    if (v !== 'true' && v !== 'false') problems.push(`${k} "${v}" is not true or false`);
    return v === 'true';
  };
  const enforceHomogeneity = bool('enforce-homogeneity');
  const livepatch = bool('livepatch');

  const control = attr('control') ?? (nameLabel ? `control-${nameLabel}` : '');
  const key = attr('key');

  let rolledUpBy: UpdateXml['rolledUpBy'];
  const rub = (el['rolled-up-by'] as Array<Record<string, unknown>> | undefined) ?? [];
  if (rub.length > 1) problems.push(`<rolled-up-by> appears ${rub.length} times`);
  if (rub.length) {
    const r = typeof rub[0] === 'object' && rub[0] ? rub[0] : {};
    const n = typeof r['@name-label'] === 'string' ? (r['@name-label'] as string).trim() : '';
    const u = typeof r['@uuid'] === 'string' ? (r['@uuid'] as string).trim() : '';
    if (!n) problems.push('<rolled-up-by> lacks name-label');
    if (!u) problems.push('<rolled-up-by> lacks uuid');
    else if (!UUID_RE.test(u)) problems.push(`<rolled-up-by> uuid "${u}" is not ${UPDATE_PATTERNS.uuid.words}`);
    rolledUpBy = { nameLabel: n, uuid: u.toLowerCase() };
  }

  const overwrites: string[] = [];
  const ow = (el.overwrites as unknown[] | undefined) ?? [];
  if (ow.length > 1) problems.push(`<overwrites> appears ${ow.length} times`);
  if (ow.length) {
    const o = typeof ow[0] === 'object' && ow[0] ? ow[0] as Record<string, unknown> : {};
    for (const f of (o.file as unknown[] | undefined) ?? []) {
      const p = f && typeof f === 'object' && typeof (f as Record<string, unknown>)['@path'] === 'string' ? (f as Record<string, unknown>)['@path'] as string : '';
      if (!p) problems.push('<overwrites> has a <file> without path');
      else if (!PATH_RE.test(p)) problems.push(`<overwrites> file "${p}" is not ${UPDATE_PATTERNS.absolutePath.words}`);
      else if (overwrites.includes(p)) problems.push(`<overwrites> lists ${p} twice`);
      else overwrites.push(p);
    }
  }

  if (problems.length) return { problems };
  const update: UpdateXml = {
    nameLabel, uuid: uuid.toLowerCase(), version, ...(key !== undefined ? { key } : {}), installationSize,
    afterApplyGuidance: guidance, enforceHomogeneity, control, description, livepatch,
    ...(rolledUpBy ? { rolledUpBy } : {}),
    ...(overwrites.length ? { overwrites } : {}),
  };
  return { update, problems: [] };
}

/** The update described by update.xml; UpdateXmlError listing every problem otherwise. */
export function parseUpdateXml(text: string, where = 'update.xml'): UpdateXml {
  const r = checkUpdateXml(text);
  if (!r.update) throw new UpdateXmlError(r.problems, where);
  return r.update;
}

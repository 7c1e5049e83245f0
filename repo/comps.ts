// Comps (package groups) XML: the file `createrepo_c -g` copies into repodata/
// and yum/dnf read for `install @group`. Pure: groups in, text out, and back.
//
// `<grouplist><groupreq>` (a group requiring another) is written because the
// product's comps has it (xenserver_dom0 requires xenserver_base), and yum 3's
// comps parser reads it; dnf/libcomps parse the file with it but do NOT install
// required groups (checked with dnf 4.14 / libcomps: `install @xenserver_dom0`
// installs only dom0's own packages and their RPM dependencies). The product's
// installer names both groups (`install @xenserver_base @xenserver_dom0`), so
// nothing relies on groupreq being followed.
import { XMLParser } from 'fast-xml-parser';
import { XsforgeError } from '../core/errors.ts';

export type PackageReqType = 'mandatory' | 'default' | 'optional';

export interface CompsPackage {
  name: string;
  type: PackageReqType;
}

export interface CompsGroup {
  id: string;
  name: string;
  description: string;
  default: boolean;
  uservisible: boolean;
  packages: CompsPackage[];
  /** ids of groups this one requires */
  groupreqs?: string[];
}

const ID_RE = /^[A-Za-z0-9][A-Za-z0-9._+-]*$/;
const REQ_TYPES: PackageReqType[] = ['mandatory', 'default', 'optional'];

/** Throws an XsforgeError naming the first thing wrong with the groups. */
export function validateGroups(groups: CompsGroup[]): void {
  const ids = new Set<string>();
  for (const g of groups) {
    if (!ID_RE.test(g.id)) throw new XsforgeError(`comps group id ${JSON.stringify(g.id)} is not allowed`, 'group ids are letters, digits, and . _ + - (e.g. xenserver_base)');
    if (ids.has(g.id)) throw new XsforgeError(`comps group ${g.id} is defined twice`);
    ids.add(g.id);
    const names = new Set<string>();
    for (const p of g.packages) {
      if (!ID_RE.test(p.name)) throw new XsforgeError(`comps group ${g.id}: package name ${JSON.stringify(p.name)} is not allowed`);
      if (!REQ_TYPES.includes(p.type)) throw new XsforgeError(`comps group ${g.id}: package ${p.name} has type ${JSON.stringify(p.type)}`, `allowed: ${REQ_TYPES.join(', ')}`);
      if (names.has(p.name)) throw new XsforgeError(`comps group ${g.id} lists package ${p.name} twice`);
      names.add(p.name);
    }
  }
  for (const g of groups) {
    for (const r of g.groupreqs ?? []) {
      if (!ids.has(r)) throw new XsforgeError(`comps group ${g.id} requires group ${r}, which is not defined`, `defined groups: ${[...ids].join(', ')}`);
    }
  }
}

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** Comps XML for the groups, in the order given (packages in the order given). */
export function renderComps(groups: CompsGroup[]): string {
  validateGroups(groups);
  const out = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<!DOCTYPE comps PUBLIC "-//Red Hat, Inc.//DTD Comps info//EN" "comps.dtd">',
    '<comps>',
  ];
  for (const g of groups) {
    out.push('  <group>',
      `    <id>${esc(g.id)}</id>`,
      `    <name>${esc(g.name)}</name>`,
      `    <description>${esc(g.description)}</description>`,
      `    <default>${g.default}</default>`,
      `    <uservisible>${g.uservisible}</uservisible>`);
    if (g.groupreqs?.length) {
      out.push('    <grouplist>');
      for (const r of g.groupreqs) out.push(`      <groupreq>${esc(r)}</groupreq>`);
      out.push('    </grouplist>');
    }
    out.push('    <packagelist>');
    for (const p of g.packages) out.push(`      <packagereq type="${p.type}">${esc(p.name)}</packagereq>`);
    out.push('    </packagelist>', '  </group>');
  }
  out.push('</comps>', '');
  return out.join('\n');
}

/** The product's two groups: what a fresh install puts into dom0. */
export function productGroups(base: string[], dom0: string[]): CompsGroup[] {
  return [
    {
      id: 'xenserver_base', name: 'XenServer base', description: 'Base packages of the control domain',
      default: true, uservisible: true, packages: base.map((name) => ({ name, type: 'mandatory' as const })),
    },
    {
      id: 'xenserver_dom0', name: 'XenServer dom0', description: 'Packages of the control domain on top of the base',
      default: true, uservisible: true, packages: dom0.map((name) => ({ name, type: 'mandatory' as const })),
      groupreqs: ['xenserver_base'],
    },
  ];
}

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@',
  parseTagValue: false,
  trimValues: true,
  isArray: (name) => ['group', 'packagereq', 'groupreq'].includes(name),
});

/** Reads comps XML back (what yum/dnf would see): groups with their package lists. */
export function parseComps(xml: string): CompsGroup[] {
  // comps needs no entities; declared ones could expand without bound or name a file to read
  if (/<!ENTITY\b/.test(xml.replace(/<!--[\s\S]*?-->/g, ''))) throw new XsforgeError('comps XML declares entities (<!ENTITY ...>), which are not allowed');
  let doc: any;
  try {
    doc = parser.parse(xml);
  } catch (err) {
    throw new XsforgeError(`comps XML does not parse: ${(err as Error).message}`);
  }
  if (!doc?.comps) throw new XsforgeError('comps XML has no <comps> element');
  const text = (v: unknown): string => (typeof v === 'string' ? v : typeof v === 'object' && v && '#text' in v ? String((v as any)['#text']) : '');
  return (doc.comps.group ?? []).map((g: any): CompsGroup => ({
    id: text(g.id),
    name: text(Array.isArray(g.name) ? g.name[0] : g.name),
    description: text(Array.isArray(g.description) ? g.description[0] : g.description),
    default: text(g.default) === 'true',
    uservisible: text(g.uservisible) !== 'false',
    packages: (g.packagelist?.packagereq ?? []).map((p: any) => ({ name: text(p), type: (p['@type'] ?? 'mandatory') as PackageReqType })),
    groupreqs: (g.grouplist?.groupreq ?? []).map(text),
  }));
}

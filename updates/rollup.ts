// Rollups, planned (SPEC section 6, seed:330-370): which hotfixes a cumulative
// update contains, the newest build of every package across them (rpm's
// version order), which hotfix packages are superseded, what each rolled-up
// hotfix says in <rolled-up-by>, what changed since the previous cumulative
// update, and which updates the CU's base-install media must carry for the
// CU's control package to install. Pure: loaded specs and package identities
// in, a plan out; updates/rollup-build.ts builds it.
import { XsforgeError } from '../core/errors.ts';
import { compareEvr, formatEvr, type Evr } from './rpmvercmp.ts';
import type { UpdateSpec } from './model.ts';

/** One package of an update's payload, and where the builder takes it from. */
export interface PayloadPackage extends Evr {
  name: string;
  arch: string;
  /** a ready .rpm file, or the index of a package model in spec.packages */
  source: { file: string } | { model: number };
}

/** An update with its payload identified (from package models and rpm file headers). */
export interface RollupUpdate {
  spec: UpdateSpec;
  packages: PayloadPackage[];
}

export interface RollupInput {
  /** the cumulative update: name-label, uuid, version, description, guidance, requires; its own packages, if any, go in too */
  cu: RollupUpdate;
  /** the hotfixes to roll up, in release order */
  hotfixes: RollupUpdate[];
  /** the cumulative updates before this one, oldest first; the last is the one this CU follows */
  previous: RollupUpdate[];
}

export interface ChosenPackage extends PayloadPackage {
  nevra: string;
  /** name-label of the update the build comes from (a hotfix, or the CU itself) */
  from: string;
}

export interface SupersededPackage {
  /** the hotfix whose build is not in the CU */
  hotfix: string;
  name: string;
  nevra: string;
  /** the newer build that replaces it, and the update it comes from */
  by: { update: string; nevra: string };
}

export interface PackageChange {
  name: string;
  /** the build the host has from the previous cumulative updates (updated, unchanged, carried) */
  old?: string;
  /** the build in this CU (added, updated, unchanged) */
  new?: string;
  /** the update the new build comes from, or the previous CU that shipped the old one (carried) */
  from: string;
}

export interface RollupPlan {
  cu: { nameLabel: string; uuid: string; version: string; requires: string[]; rollsUp: { nameLabel: string; version: string }[] };
  /** the CU's payload: one build per package name, sorted by name */
  packages: ChosenPackage[];
  superseded: SupersededPackage[];
  /** hotfixes none of whose packages is in the CU (the release notes say "superseded") */
  supersededHotfixes: string[];
  /** builds identical in version to the chosen one (a later copy of the same build): left out, not superseded */
  duplicates: { update: string; nevra: string; same: string }[];
  /** each rolled-up hotfix with the <rolled-up-by> it gets */
  rolledUp: { nameLabel: string; uuid: string; version: string; rolledUpBy: { nameLabel: string; uuid: string } }[];
  /** what changed since the previous cumulative update(s); previous undefined: everything is added */
  changes: { previous?: string; added: PackageChange[]; updated: PackageChange[]; unchanged: PackageChange[]; carried: PackageChange[] };
  /** the updates a base-install ISO with this CU carries, in the order they apply (previous CUs, then this one) */
  media: { updates: string[]; unmet: string[] };
}

export class RollupError extends XsforgeError {
  constructor(readonly problems: string[]) {
    super(`cannot roll up: ${problems.length === 1 ? problems[0] : `\n  - ${problems.join('\n  - ')}`}`,
      'a rollup takes hotfixes (kind hotfix) on top of the previous cumulative update, and a cumulative update spec (kind cumulative-update)');
    this.name = 'RollupError';
  }
}

export function packageNevra(p: { name: string; arch: string } & Evr): string {
  return `${p.name}-${formatEvr(p)}.${p.arch}`;
}

/** The payload of a spec as package identities: models from the spec, files from their headers (read by the caller). */
export function payloadOf(spec: UpdateSpec, fileHeaders: ReadonlyMap<string, { name: string; epoch?: number; version: string; release: string; arch: string }>): PayloadPackage[] {
  const out: PayloadPackage[] = spec.packages.map((p, i) => ({ name: p.name, version: p.version, release: p.release, arch: p.arch, source: { model: i } }));
  for (const file of spec.rpmFiles) {
    const h = fileHeaders.get(file);
    if (!h) throw new Error(`no header read for ${file}`);
    out.push({ name: h.name, ...(h.epoch ? { epoch: h.epoch } : {}), version: h.version, release: h.release, arch: h.arch, source: { file } });
  }
  return out;
}

const byName = (a: { name: string }, b: { name: string }) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

export function planRollup(input: RollupInput): RollupPlan {
  const problems: string[] = [];
  const cu = input.cu.spec;
  if (cu.kind !== 'cumulative-update') problems.push(`${cu.nameLabel} is a ${cu.kind}; the rollup makes a cumulative-update`);
  const previous = input.previous.map((p) => p.spec);
  previous.forEach((p) => { if (p.kind !== 'cumulative-update') problems.push(`previous update ${p.nameLabel} is a ${p.kind}, not a cumulative-update`); });
  const last = previous.at(-1);
  if (input.hotfixes.length === 0) problems.push('no hotfixes to roll up');

  // ---- which hotfixes, and what they may require ----
  const hotfixNames = input.hotfixes.map((h) => h.spec.nameLabel);
  const requires = [...new Set([...cu.requires, ...(last ? [last.nameLabel] : [])])];
  const allowed = new Set([...requires, ...previous.map((p) => p.nameLabel), ...hotfixNames]);
  const seen = new Set<string>();
  for (const { spec: h } of input.hotfixes) {
    if (h.kind !== 'hotfix') problems.push(`${h.nameLabel} is a ${h.kind}; only hotfixes are rolled up`);
    if (seen.has(h.nameLabel)) problems.push(`hotfix ${h.nameLabel} is listed twice`);
    seen.add(h.nameLabel);
    if (h.nameLabel === cu.nameLabel) problems.push(`hotfix ${h.nameLabel} has the cumulative update's own name`);
    if (h.rolledUpBy && h.rolledUpBy.nameLabel !== cu.nameLabel) problems.push(`hotfix ${h.nameLabel} is already rolled up by ${h.rolledUpBy.nameLabel}`);
    if (h.productVersion !== cu.productVersion) problems.push(`hotfix ${h.nameLabel} is for product-version ${h.productVersion}, ${cu.nameLabel} for ${cu.productVersion}`);
    if (last && !h.requires.includes(last.nameLabel)) problems.push(`hotfix ${h.nameLabel} does not require ${last.nameLabel}, the cumulative update this rollup follows (hotfixes apply on top of the latest CU)`);
    for (const r of h.requires) {
      if (!allowed.has(r)) problems.push(`hotfix ${h.nameLabel} requires ${r}, which this rollup neither follows nor contains`);
    }
    for (const c of h.conflicts) if (allowed.has(c)) problems.push(`hotfix ${h.nameLabel} conflicts with ${c}, which this rollup contains or follows`);
  }
  for (const c of cu.conflicts) if (allowed.has(c)) problems.push(`${cu.nameLabel} conflicts with ${c}, which it contains or follows`);
  for (const r of cu.rollsUp) if (!seen.has(r.nameLabel)) problems.push(`${cu.nameLabel} says it rolls up ${r.nameLabel}, which is not among the hotfixes given`);

  // ---- the newest build of each package; ties keep the first (the build hosts already have) ----
  const candidates: { pkg: PayloadPackage; from: string }[] = [
    ...input.hotfixes.flatMap((h) => h.packages.map((pkg) => ({ pkg, from: h.spec.nameLabel }))),
    ...input.cu.packages.map((pkg) => ({ pkg, from: cu.nameLabel })),
  ];
  const winners = new Map<string, { pkg: PayloadPackage; from: string }>();
  for (const c of candidates) {
    const w = winners.get(c.pkg.name);
    if (!w || compareEvr(c.pkg, w.pkg) > 0) winners.set(c.pkg.name, c);
  }
  const superseded: SupersededPackage[] = [];
  const duplicates: RollupPlan['duplicates'] = [];
  for (const c of candidates) {
    const w = winners.get(c.pkg.name)!;
    if (w === c) continue;
    if (w.pkg.arch !== c.pkg.arch) problems.push(`package ${c.pkg.name} is ${c.pkg.arch} in ${c.from} but ${w.pkg.arch} in ${w.from}`);
    if (compareEvr(c.pkg, w.pkg) === 0) duplicates.push({ update: c.from, nevra: packageNevra(c.pkg), same: w.from });
    else if (c.from !== cu.nameLabel) superseded.push({ hotfix: c.from, name: c.pkg.name, nevra: packageNevra(c.pkg), by: { update: w.from, nevra: packageNevra(w.pkg) } });
    else problems.push(`${cu.nameLabel}'s own ${packageNevra(c.pkg)} is older than ${packageNevra(w.pkg)} from ${w.from}`);
  }
  const packages: ChosenPackage[] = [...winners.values()].map((w) => ({ ...w.pkg, nevra: packageNevra(w.pkg), from: w.from })).sort(byName);
  const supersededHotfixes = input.hotfixes
    .filter((h) => h.packages.length > 0 && h.packages.every((p) => winners.get(p.name)!.from !== h.spec.nameLabel))
    .map((h) => h.spec.nameLabel);

  // ---- against what the previous cumulative updates left on a host ----
  const before = new Map<string, { pkg: PayloadPackage; from: string }>();
  for (const p of input.previous) {
    for (const pkg of p.packages) {
      const b = before.get(pkg.name);
      if (!b || compareEvr(pkg, b.pkg) >= 0) before.set(pkg.name, { pkg, from: p.spec.nameLabel });
    }
  }
  const changes: RollupPlan['changes'] = { ...(last ? { previous: last.nameLabel } : {}), added: [], updated: [], unchanged: [], carried: [] };
  for (const p of packages) {
    const b = before.get(p.name);
    if (!b) changes.added.push({ name: p.name, new: p.nevra, from: p.from });
    else {
      const cmp = compareEvr(p, b.pkg);
      if (cmp > 0) changes.updated.push({ name: p.name, old: packageNevra(b.pkg), new: p.nevra, from: p.from });
      else if (cmp === 0) changes.unchanged.push({ name: p.name, old: packageNevra(b.pkg), new: p.nevra, from: p.from });
      else problems.push(`${p.nevra} (from ${p.from}) is older than ${packageNevra(b.pkg)} from ${b.from}: the cumulative update would not update it`);
    }
  }
  for (const [name, b] of [...before.entries()].sort(([x], [y]) => (x < y ? -1 : 1))) {
    if (!winners.has(name)) changes.carried.push({ name, old: packageNevra(b.pkg), from: b.from });
  }

  // ---- base-install media: the previous CUs and this one, each one's prerequisites among them ----
  const mediaUpdates = [...previous.map((p) => p.nameLabel), cu.nameLabel];
  const unmet: string[] = [];
  for (const [i, u] of [...previous, { ...cu, requires }].entries()) {
    for (const r of u.requires) if (!mediaUpdates.slice(0, i).includes(r)) unmet.push(`${u.nameLabel} requires ${r}`);
  }

  if (problems.length) throw new RollupError(problems);
  const rolledUpBy = { nameLabel: cu.nameLabel, uuid: cu.uuid };
  return {
    cu: {
      nameLabel: cu.nameLabel, uuid: cu.uuid, version: cu.version, requires,
      rollsUp: input.hotfixes.map((h) => ({ nameLabel: h.spec.nameLabel, version: h.spec.version })),
    },
    packages,
    superseded,
    supersededHotfixes,
    duplicates,
    rolledUp: input.hotfixes.map((h) => ({ nameLabel: h.spec.nameLabel, uuid: h.spec.uuid, version: h.spec.version, rolledUpBy })),
    changes,
    media: { updates: mediaUpdates, unmet },
  };
}

/** A hotfix as rolled up: the same spec with <rolled-up-by> naming the CU. */
export function rolledUpSpec(hotfix: UpdateSpec, plan: RollupPlan): UpdateSpec {
  return { ...hotfix, rolledUpBy: { nameLabel: plan.cu.nameLabel, uuid: plan.cu.uuid } };
}

/**
 * The CU to build: the CU spec's identity with the plan's prerequisites and
 * rolled-up hotfixes, its own chosen models, and the chosen builds of the
 * hotfixes as files (`hotfixFile` maps a hotfix's package to its built .rpm).
 */
export function cumulativeSpec(cu: UpdateSpec, plan: RollupPlan, hotfixFile: (from: string, pkg: ChosenPackage) => string): UpdateSpec {
  const own = plan.packages.filter((p) => p.from === cu.nameLabel);
  const models = own.flatMap((p) => ('model' in p.source ? [cu.packages[p.source.model]] : []));
  const ownFiles = own.flatMap((p) => ('file' in p.source ? [p.source.file] : []));
  const hotfixFiles = plan.packages.filter((p) => p.from !== cu.nameLabel).map((p) => hotfixFile(p.from, p));
  return {
    ...cu,
    requires: plan.cu.requires,
    rollsUp: plan.cu.rollsUp,
    packages: models,
    rpmFiles: [...hotfixFiles, ...ownFiles],
  };
}

/** The report as text lines (`xsforge update rollup` without --json). */
export function formatRollupReport(plan: RollupPlan): string[] {
  const L: string[] = [];
  L.push(`cumulative update ${plan.cu.nameLabel} ${plan.cu.version} (uuid ${plan.cu.uuid})`);
  L.push(`  requires   ${plan.cu.requires.join(', ') || '(only the product version)'}`);
  L.push(`  rolls up   ${plan.rolledUp.map((h) => `${h.nameLabel}${plan.supersededHotfixes.includes(h.nameLabel) ? ' (superseded)' : ''}`).join(', ')}`);
  L.push('  packages');
  for (const p of plan.packages) L.push(`    ${p.nevra}  from ${p.from}`);
  L.push(`  superseded${plan.superseded.length ? '' : ' (none)'}`);
  for (const s of plan.superseded) L.push(`    ${s.nevra} of ${s.hotfix}  by ${s.by.nevra} of ${s.by.update}`);
  for (const d of plan.duplicates) L.push(`  same build left out: ${d.nevra} of ${d.update} (as in ${d.same})`);
  L.push(`  changes since ${plan.changes.previous ?? 'the base release'}`);
  for (const c of plan.changes.added) L.push(`    added     ${c.new}  (${c.from})`);
  for (const c of plan.changes.updated) L.push(`    updated   ${c.old} -> ${c.new}  (${c.from})`);
  for (const c of plan.changes.unchanged) L.push(`    unchanged ${c.new}`);
  for (const c of plan.changes.carried) L.push(`    kept      ${c.old}  (from ${c.from}, not in this CU)`);
  return L;
}

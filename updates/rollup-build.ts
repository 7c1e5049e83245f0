// Builds a planned rollup (updates/rollup.ts): each rolled-up hotfix again with
// <rolled-up-by> (out/rolled-up/), the previous cumulative updates the CU's
// base-install media carries (out/previous/), the cumulative update itself
// (out/<CU>.iso) whose payload is the hotfixes' own built packages (the same
// bytes hosts got from the hotfixes), and out/rollup-report.json.
import { readFile, rm, writeFile } from 'node:fs/promises';
import { basename, join, relative } from 'node:path';
import { XsforgeError } from '../core/errors.ts';
import { parseRpm } from '../packages/rpm-header.ts';
import { buildUpdate, type BuildUpdateOptions, type BuiltUpdate } from './build.ts';
import type { UpdateSpec } from './model.ts';
import { cumulativeSpec, payloadOf, planRollup, rolledUpSpec, type RollupPlan, type RollupUpdate } from './rollup.ts';

export interface RollupSources {
  cu: UpdateSpec;
  /** in release order */
  hotfixes: UpdateSpec[];
  /** the cumulative updates before this one, oldest first */
  previous: UpdateSpec[];
}

export const ROLLUP_REPORT = 'rollup-report.json';
export const ROLLED_UP_DIR = 'rolled-up';
export const PREVIOUS_DIR = 'previous';

/** The specs with their payloads identified (package models as written, .rpm files from their headers). */
export async function rollupInput(src: RollupSources): Promise<{ cu: RollupUpdate; hotfixes: RollupUpdate[]; previous: RollupUpdate[] }> {
  const headers = new Map<string, { name: string; epoch?: number; version: string; release: string; arch: string }>();
  for (const spec of [src.cu, ...src.hotfixes, ...src.previous]) {
    for (const f of spec.rpmFiles) if (!headers.has(f)) headers.set(f, parseRpm(await readFile(f)));
  }
  const of = (spec: UpdateSpec): RollupUpdate => ({ spec, packages: payloadOf(spec, headers) });
  return { cu: of(src.cu), hotfixes: src.hotfixes.map(of), previous: src.previous.map(of) };
}

export interface BuiltRollupSummary {
  nameLabel: string;
  /** relative to the rollup's out directory */
  iso: string;
  tree: string;
  isoSha256: string;
  control: BuiltUpdate['control'];
  packages: { name: string; nevra: string; sha256: string }[];
  rolledUpBy?: { nameLabel: string; uuid: string };
}

export interface RollupReport {
  plan: RollupPlan;
  cu: BuiltRollupSummary & { installationSize: number };
  rolledUp: BuiltRollupSummary[];
  previous: BuiltRollupSummary[];
  signed: boolean;
}

export interface BuiltRollup {
  plan: RollupPlan;
  report: RollupReport;
  /** absolute path of out/rollup-report.json */
  reportFile: string;
  cu: BuiltUpdate;
  rolledUp: BuiltUpdate[];
  previous: BuiltUpdate[];
  durationMs: number;
}

export type BuildRollupOptions = Omit<BuildUpdateOptions, 'out'> & { out: string };

export async function buildRollup(src: RollupSources, opts: BuildRollupOptions): Promise<BuiltRollup> {
  const started = Date.now();
  const plan = planRollup(await rollupInput(src));
  const log = opts.log ?? (() => {});
  const common = { ...opts, log };

  const rolledDir = join(opts.out, ROLLED_UP_DIR);
  const rolledUp: BuiltUpdate[] = [];
  for (const h of src.hotfixes) {
    log(`rolling up ${h.nameLabel}: rebuilt with <rolled-up-by name-label="${plan.cu.nameLabel}">`);
    rolledUp.push(await buildUpdate(rolledUpSpec(h, plan), { ...common, out: rolledDir }));
  }
  const previous: BuiltUpdate[] = [];
  for (const p of src.previous) previous.push(await buildUpdate(p, { ...common, out: join(opts.out, PREVIOUS_DIR) }));

  // the CU carries the hotfixes' own builds: the package bytes a host already has from a hotfix
  const built = new Map(src.hotfixes.map((h, i) => [h.nameLabel, rolledUp[i]]));
  const cuSpec = cumulativeSpec(src.cu, plan, (from, pkg) => {
    const b = built.get(from)!;
    const p = b.packages.find((x) => x.name === pkg.name && !x.control);
    if (!p || p.nevra !== pkg.nevra) throw new XsforgeError(`hotfix ${from} was built with ${p?.nevra ?? 'no package'} ${pkg.name}, but the plan expected ${pkg.nevra}`);
    return join(b.tree, p.path);
  });
  // the CU carries the hotfixes' packages, so it overwrites what they declared they overwrite
  const overwrites = [...new Set([...(src.cu.overwrites ?? []), ...src.hotfixes.flatMap((h) => h.overwrites ?? [])])].sort();
  const cu = await buildUpdate(overwrites.length ? { ...cuSpec, overwrites } : cuSpec, { ...common, out: opts.out });

  const rel = (p: string) => relative(opts.out, p);
  const summary = (b: BuiltUpdate): BuiltRollupSummary => ({
    nameLabel: b.update.nameLabel, iso: rel(b.iso), tree: rel(b.tree), isoSha256: b.isoSha256, control: b.control,
    packages: b.packages.map((p) => ({ name: p.name, nevra: p.nevra, sha256: p.sha256 })),
    ...(b.update.rolledUpBy ? { rolledUpBy: b.update.rolledUpBy } : {}),
  });
  const report: RollupReport = {
    // .rpm files by name only: the report holds no build paths
    plan: { ...plan, packages: plan.packages.map((p) => ('file' in p.source ? { ...p, source: { file: basename(p.source.file) } } : p)) },
    cu: { ...summary(cu), installationSize: cu.installationSize },
    rolledUp: rolledUp.map(summary),
    previous: previous.map(summary),
    signed: cu.signed,
  };
  const reportFile = join(opts.out, ROLLUP_REPORT);
  await rm(reportFile, { force: true });
  await writeFile(reportFile, `${JSON.stringify(report, null, 2)}\n`);
  return { plan, report, reportFile, cu, rolledUp, previous, durationMs: Date.now() - started };
}

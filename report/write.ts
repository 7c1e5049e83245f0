// Gathers the report's data after a build (timeline, output manifest, menu
// model, default layouts) and writes output/<recipe>/report.html. The report is
// not an artifact: manifest.json does not list it and no stage key covers it.
import { readFileSync } from 'node:fs';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { StageResult } from '../core/engine.ts';
import type { BuildTimeline } from '../core/events.ts';
import type { OutputManifest } from '../core/output.ts';
import { planLayout, type LayoutPlan } from '../disk/layout.ts';
import { buildMenu, type MenuInput } from '../media/menu.ts';
import { extractCarriedTimeline, renderReport, type ReportData } from './render.ts';

export const REPORT_FILE = 'report.html';
/** the disk the default layouts are drawn for: 60 GiB, 512-byte sectors */
export const REPORT_DISK_BYTES = 60 * 2 ** 30;

/** The installer's default layout (new GPT, local SR) for BIOS and for UEFI boot. */
export function defaultLayouts(diskBytes = REPORT_DISK_BYTES): LayoutPlan[] {
  return [false, true].map((uefi) => planLayout({ scheme: 'gpt', diskSectors: diskBytes / 512, guestStorage: true, uefi, diskName: '/dev/sda' }));
}

/**
 * The last timeline that ran stages, from the report in `outDir`. Read before
 * publishing (which swaps the directory), so an all-cached rebuild's report
 * still shows where the time of the last real build went.
 */
export function readCarriedTimeline(outDir: string): BuildTimeline | undefined {
  try {
    return extractCarriedTimeline(readFileSync(join(outDir, REPORT_FILE), 'utf8'));
  } catch {
    return undefined;
  }
}

export interface BuildReportInput {
  outDir: string;
  recipe: MenuInput & { name: string; description?: string };
  timeline: BuildTimeline;
  published: boolean;
  /** the engine's results; cached stages' original build times come from their cache manifests */
  results?: Map<string, StageResult>;
  lastRun?: BuildTimeline;
}

export function reportData(input: BuildReportInput): ReportData {
  let manifest: OutputManifest | undefined;
  try {
    manifest = JSON.parse(readFileSync(join(input.outDir, 'manifest.json'), 'utf8'));
  } catch {
    manifest = undefined; // no output yet (a first build that failed)
  }
  const cachedBuildMs: Record<string, number> = {};
  for (const r of input.results?.values() ?? []) if (r.cached && Number.isFinite(r.manifest.durationMs)) cachedBuildMs[r.stage.name] = r.manifest.durationMs;
  const p = input.recipe.product;
  return {
    recipe: {
      name: input.recipe.name,
      description: input.recipe.description,
      product: { brand: p.brand, version: p.version, build: p.build_number, platform: `${p.platform.name} ${p.platform.version}` },
    },
    timeline: input.timeline,
    lastRun: input.lastRun,
    cachedBuildMs,
    published: input.published,
    artifacts: manifest?.artifacts,
    menu: buildMenu(input.recipe),
    layouts: defaultLayouts(),
  };
}

/** Writes <outDir>/report.html (by rename, so a reader never sees half a file); returns its path. */
export async function writeBuildReport(input: BuildReportInput): Promise<string> {
  const html = renderReport(reportData(input));
  await mkdir(input.outDir, { recursive: true });
  const file = join(input.outDir, REPORT_FILE);
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, html);
  await rename(tmp, file);
  return file;
}

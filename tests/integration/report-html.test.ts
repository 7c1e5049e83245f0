// The build report in a real browser (headless Chromium): the DOM it parses
// holds every stage in its lane and the partition rects at their widths, the
// layout drawing's pixels are where the widths say, and a real build's report
// names its stages, artifacts and menu. Screenshots are kept in
// output/report-screenshots/ (or $XSFORGE_SCREENSHOT_DIR) for a person to look at.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { DEFAULT_RECIPE, REPO_ROOT } from '../../cli/shared.ts';
import type { BuildTimeline } from '../../core/events.ts';
import { run } from '../../core/exec.ts';
import { requireTool } from '../../core/tools.ts';
import { buildMenu } from '../../media/menu.ts';
import { loadRecipe } from '../../recipes/load.ts';
import { assignLanes, layoutDrawing, LAYOUT_MIN_WIDTH, LAYOUT_WIDTH, renderLayoutSvg, renderReport } from '../../report/render.ts';
import { defaultLayouts, reportData } from '../../report/write.ts';
import { buildRecipe, readManifest } from '../lib/build.ts';
import { decodePng, pixelAt } from '../lib/png.ts';

const work = mkdtempSync(join(tmpdir(), 'xsf-report-'));
const shots = process.env.XSFORGE_SCREENSHOT_DIR ?? join(REPO_ROOT, 'output', 'report-screenshots');
test.after(() => rmSync(work, { recursive: true, force: true }));

const chromiumCmd = requireTool('chromium');
let profiles = 0;
function chromium(args: string[]) {
  // a profile of its own each time: no state shared between runs or with a user's browser
  const profile = join(work, `profile-${profiles++}`);
  return run([chromiumCmd, '--headless', '--disable-gpu', '--no-sandbox', '--no-first-run', `--user-data-dir=${profile}`,
    '--force-device-scale-factor=1', '--hide-scrollbars', ...args], { timeoutMs: 120_000 });
}
const dumpDom = async (file: string) => (await chromium(['--dump-dom', pathToFileURL(file).href])).stdout;
async function screenshot(file: string, png: string, width: number, height: number): Promise<Buffer> {
  await chromium([`--window-size=${width},${height}`, `--screenshot=${png}`, pathToFileURL(file).href]);
  return readFileSync(png);
}

/** Attributes of every <rect> in the serialized DOM that has the given attribute. */
function rects(dom: string, attr: string): Record<string, string>[] {
  return [...dom.matchAll(/<rect\b([^>]*)>/g)].map((m) => Object.fromEntries([...m[1].matchAll(/([\w:-]+)="([^"]*)"/g)].map((a) => [a[1], a[2]])))
    .filter((a) => attr in a);
}

const synthetic: BuildTimeline = {
  startedAt: Date.UTC(2024, 5, 1, 12, 0, 0), durationMs: 42_000, ok: true, jobs: 3,
  stages: [
    { stage: 'debian-index', status: 'cached', startMs: 20, durationMs: 0 },
    { stage: 'hypervisor', status: 'ran', startMs: 40, durationMs: 30_000 },
    { stage: 'kernel', status: 'ran', startMs: 45, durationMs: 4_000 },
    { stage: 'boot-files', status: 'ran', startMs: 50, durationMs: 2_500 },
    { stage: 'menus', status: 'ran', startMs: 2_560, durationMs: 300 },
    { stage: 'dom0-rootfs', status: 'ran', startMs: 4_050, durationMs: 20_000 },
    { stage: 'efi-image', status: 'ran', startMs: 24_100, durationMs: 1_200 },
    { stage: 'rpms', status: 'cached', startMs: 30_050, durationMs: 0 },
    { stage: 'install-img', status: 'ran', startMs: 30_060, durationMs: 9_000 },
    { stage: 'iso', status: 'ran', startMs: 39_070, durationMs: 2_900 },
  ],
};

function syntheticReport(): string {
  const recipe = loadRecipe(DEFAULT_RECIPE);
  const menu = buildMenu({ ...recipe, boot: { ...recipe.boot, entries: [{ label: 'install', title: 'Install <b>"XenServer"</b> & more', xen_args: [], dom0_args: [] }] } });
  return renderReport({
    recipe: { name: 'synthetic', product: { brand: 'XenServer', version: '7.1.2', build: '137272c', platform: 'XCP 2.2.0' } },
    timeline: synthetic,
    published: true,
    artifacts: [{ kind: 'install-iso', path: 'synthetic.iso', sha256: '0123456789abcdef'.repeat(4), size: 323_000_000 }],
    menu: { ...menu, defaultLabel: 'install' },
    layouts: defaultLayouts(),
  });
}

test('synthetic report: Chromium parses every stage into its lane and the layout rects at their drawn widths', async () => {
  const file = join(work, 'synthetic.html');
  writeFileSync(file, syntheticReport());
  const dom = await dumpDom(file);
  const stageRects = rects(dom, 'data-stage');
  const worked = synthetic.stages.filter((s) => s.status === 'ran');
  const lanes = assignLanes(worked);
  assert.is(Math.max(...lanes) + 1, 3, 'three stages overlap at the start');
  for (const [i, s] of worked.entries()) {
    const r = stageRects.find((a) => a['data-stage'] === s.stage);
    assert.ok(r, `${s.stage} drawn`);
    assert.is(r!['data-status'], 'ran');
    assert.is(Number(r!['data-lane']), lanes[i], `${s.stage} lane`);
    assert.ok(Math.abs(Number(r!.width) - (s.durationMs / synthetic.durationMs) * 840) < 0.01, `${s.stage} width ${r!.width}`);
  }
  for (const s of synthetic.stages.filter((x) => x.status === 'cached')) assert.ok(stageRects.some((a) => a['data-stage'] === s.stage && a['data-status'] === 'cached'), s.stage);
  assert.ok(dom.includes('lane 3') && !dom.includes('lane 4'));
  assert.match(dom, /cache hit rate<b>20%<\/b>/);
  // the menu title stayed text: escaped in the serialized DOM, no <b> element from it
  assert.ok(dom.includes('Install &lt;b&gt;"XenServer"&lt;/b&gt; &amp; more'), 'menu title as text');
  for (const plan of defaultLayouts()) {
    const svgStart = dom.indexOf(`<svg id="layout-${plan.bootMode}"`);
    assert.ok(svgStart >= 0, `${plan.bootMode} layout drawn`);
    const svg = dom.slice(svgStart, dom.indexOf('</svg>', svgStart));
    const drawn = rects(svg, 'data-partition');
    const expected = layoutDrawing(plan, LAYOUT_WIDTH, LAYOUT_MIN_WIDTH).segments;
    assert.equal(drawn.map((r) => Number(r['data-partition'])), expected.map((s) => s.number), 'on-disk order');
    for (const [i, s] of expected.entries()) assert.ok(Math.abs(Number(drawn[i].width) - s.width) < 0.006, `partition ${s.number}: ${drawn[i].width} vs ${s.width}`);
    assert.equal(drawn.filter((r) => r['data-widened'] === 'true').map((r) => r['data-role']), ['boot']);
  }
});

test('the layout drawing renders to scale: pixels of each partition colour match the rect widths, in on-disk order', async () => {
  const [, uefi] = defaultLayouts();
  const file = join(work, 'layout.html');
  writeFileSync(file, `<!DOCTYPE html><html><head><meta charset="utf-8"><style>body{margin:0;background:#fff}</style></head><body>${renderLayoutSvg(uefi, 'l')}</body></html>`);
  const png = decodePng(await screenshot(file, join(work, 'layout.png'), 1000, 120));
  const colours: Record<string, [number, number, number]> = { logs: [0x8e, 0x7c, 0xc3], backup: [0x93, 0xa9, 0xc9], root: [0x3d, 0x7b, 0xd9], boot: [0xe6, 0x91, 0x38], swap: [0xc2, 0x7b, 0xa0], sr: [0x6a, 0xa8, 0x4f] };
  const near = (a: number[], b: number[]) => a.every((v, i) => Math.abs(v - b[i]) <= 3);
  const y = 8; // inside the bar, above the labels
  const counts: Record<string, number> = {};
  const order: string[] = [];
  for (let x = 0; x < png.width; x++) {
    const p = pixelAt(png, x, y);
    const role = Object.keys(colours).find((r) => near(p, colours[r]));
    if (!role) continue;
    counts[role] = (counts[role] ?? 0) + 1;
    if (order[order.length - 1] !== role) order.push(role);
  }
  assert.equal(order, ['logs', 'backup', 'root', 'boot', 'swap', 'sr']);
  for (const s of layoutDrawing(uefi, LAYOUT_WIDTH, LAYOUT_MIN_WIDTH).segments) {
    // the white 1 px outline takes about half a pixel off each side
    assert.ok(Math.abs(counts[s.role!] - (s.width - 1)) <= 2, `${s.role}: ${counts[s.role!]} px for a ${s.width.toFixed(2)} px rect`);
  }
  assert.ok(counts.root / counts.logs > 4.3 && counts.root / counts.logs < 4.7, `root is 4.5x logs: ${counts.root}/${counts.logs}`);
});

test('synthetic report screenshot is far from a blank page', async () => {
  mkdirSync(shots, { recursive: true });
  const file = join(work, 'synthetic.html');
  writeFileSync(file, syntheticReport());
  const blankFile = join(work, 'blank.html');
  writeFileSync(blankFile, '<!DOCTYPE html><html><body></body></html>');
  const shot = await screenshot(file, join(shots, 'report-synthetic.png'), 1024, 2200);
  const blank = await screenshot(blankFile, join(work, 'blank.png'), 1024, 2200);
  const png = decodePng(shot);
  assert.equal([png.width, png.height], [1024, 2200]);
  assert.ok(shot.length > 20 * blank.length, `report ${shot.length} bytes vs blank ${blank.length}`);
});

test('a real build writes report.html that names its stages, artifacts, menu and layouts; a no-op rebuild rewrites it', async () => {
  const output = join(work, 'out');
  const first = await buildRecipe(DEFAULT_RECIPE, { output });
  const second = await buildRecipe(DEFAULT_RECIPE, { output });
  assert.is(second.result.published, false, 'second build is a no-op');
  const file = second.result.report;
  assert.is(file, join(second.outDir, 'report.html'));
  assert.ok(statSync(file).size > 5000);
  const manifest = readManifest(second.outDir);
  assert.not.ok(manifest.artifacts.some((a: any) => a.path === 'report.html'), 'the report is not an artifact');
  const dom = await dumpDom(file);
  const cached = second.events.filter((e) => e.type === 'stage-cached').map((e) => e.stage);
  assert.ok(cached.length >= 7);
  const stageRects = rects(dom, 'data-stage');
  for (const s of cached) assert.ok(stageRects.some((r) => r['data-stage'] === s && r['data-status'] === 'cached'), `${s} in the timeline`);
  assert.match(dom, /cache hit rate<b>100%<\/b>/);
  for (const a of manifest.artifacts) assert.ok(dom.includes(a.sha256) && dom.includes(a.path), a.path);
  const recipe = loadRecipe(DEFAULT_RECIPE);
  for (const e of buildMenu(recipe).entries) assert.ok(dom.includes(e.title), e.title);
  assert.ok(rects(dom, 'data-partition').length >= 12, 'both layouts drawn');
  // when the first build ran stages, the no-op report still shows them as the last real run
  const firstRan = first.events.filter((e) => e.type === 'stage-finish').map((e) => e.stage);
  if (firstRan.length) {
    assert.match(dom, /Last build that ran stages/);
    for (const s of firstRan) assert.ok(stageRects.some((r) => r['data-stage'] === s && r['data-status'] === 'ran'), `${s} in the last run`);
  } else {
    assert.not.match(dom, /Last build that ran stages/);
  }
  mkdirSync(shots, { recursive: true });
  const shot = await screenshot(file, join(shots, 'report-build.png'), 1024, 2600);
  assert.ok(decodePng(shot).width === 1024 && shot.length > 50_000, `screenshot ${shot.length} bytes`);
});

test('reportData reads the manifest and the menu; a missing output directory gives a report without artifacts', () => {
  const recipe = loadRecipe(DEFAULT_RECIPE);
  const d = reportData({ outDir: join(work, 'nowhere'), recipe, timeline: synthetic, published: false });
  assert.is(d.artifacts, undefined);
  assert.is(d.menu.entries.length, buildMenu(recipe).entries.length);
  assert.match(renderReport(d), /No published output/);
  assert.not.ok(existsSync(join(work, 'nowhere')));
});

test.run();

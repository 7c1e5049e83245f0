// The build report (output/<recipe>/report.html): one self-contained HTML file
// with inline CSS and inline SVG, no scripts and nothing fetched (a CSP meta tag
// forbids it too). Pure: report data in, HTML text out; the same data gives the
// same bytes. Every string that can come from a recipe is escaped.
import type { BuildTimeline, TimelineStage } from '../core/events.ts';
import type { PublishedArtifact } from '../core/output.ts';
import { formatBytes } from '../disk/size.ts';
import { typeCode } from '../disk/format.ts';
import type { LayoutPlan, Role } from '../disk/layout.ts';
import type { BootMenu } from '../media/menu.ts';

export interface ReportData {
  recipe: { name: string; description?: string; product: { brand: string; version: string; build: string; platform: string } };
  timeline: BuildTimeline;
  /** the last earlier build that ran stages; drawn as well when this one ran none */
  lastRun?: BuildTimeline;
  /** stage -> ms its cached output took when it was built */
  cachedBuildMs?: Record<string, number>;
  /** this build published new output (false: the output was already current, or the build failed) */
  published: boolean;
  /** what output/<name>/manifest.json lists; undefined when there is no published output */
  artifacts?: PublishedArtifact[];
  menu: BootMenu;
  /** default layouts to draw (BIOS and UEFI) */
  layouts: LayoutPlan[];
}

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}
const h = escapeHtml;

/** "850 ms", "12.3 s", "4 min 05 s" */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const s = Math.round(ms / 1000);
  return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s`;
}

const px = (n: number) => (Math.round(n * 100) / 100).toString();

// ---------------------------------------------------------------------------
// Timeline

/**
 * Lanes for intervals the way slots are taken: in start order, each interval
 * goes to the lowest lane whose last interval has ended (an end equal to the
 * start counts as ended). This is an optimal interval colouring, so the lane
 * count equals the most intervals ever running at once, never more than -j.
 */
export function assignLanes(intervals: Pick<TimelineStage, 'startMs' | 'durationMs'>[]): number[] {
  const order = intervals.map((_, i) => i).sort((a, b) => intervals[a].startMs - intervals[b].startMs || a - b);
  const laneEnds: number[] = [];
  const lanes = new Array<number>(intervals.length);
  for (const i of order) {
    const { startMs, durationMs } = intervals[i];
    let lane = laneEnds.findIndex((end) => end <= startMs);
    if (lane < 0) lane = laneEnds.length;
    laneEnds[lane] = startMs + durationMs;
    lanes[i] = lane;
  }
  return lanes;
}

/** Tick spacing of 1, 2 or 5 x 10^k ms giving at most `most` ticks. */
export function tickStep(totalMs: number, most = 8): number {
  for (let p = 1; ; p *= 10) for (const m of [1, 2, 5]) if (totalMs / (m * p) <= most) return m * p;
}

export interface TimelineCounts { ran: number; cached: number; failed: number; skipped: number; hitRate: number | undefined }

export function timelineCounts(t: BuildTimeline): TimelineCounts {
  const n = (s: TimelineStage['status']) => t.stages.filter((x) => x.status === s).length;
  const ran = n('ran');
  const cached = n('cached');
  const failed = n('failed');
  const looked = ran + cached + failed; // skipped stages never reached the cache
  return { ran, cached, failed, skipped: n('skipped'), hitRate: looked ? cached / looked : undefined };
}

const TL = { left: 96, width: 840, right: 24, axis: 22, lane: 24, gap: 6 };

export function renderTimelineSvg(t: BuildTimeline, id: string): string {
  const worked = t.stages.filter((s) => s.status === 'ran' || s.status === 'failed');
  const cached = t.stages.filter((s) => s.status === 'cached');
  const lanes = assignLanes(worked);
  const laneCount = Math.max(0, ...lanes.map((l) => l + 1));
  const total = Math.max(1, t.durationMs, ...t.stages.map((s) => s.startMs + s.durationMs));
  const xOf = (ms: number) => TL.left + (ms / total) * TL.width;
  const rows = laneCount + (cached.length ? 1 : 0);
  const height = TL.axis + rows * (TL.lane + TL.gap) + 4;
  const width = TL.left + TL.width + TL.right;
  const out: string[] = [];
  out.push(`<svg id="${id}" class="timeline" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="stage timeline">`);
  const step = tickStep(total);
  for (let ms = 0; ms <= total; ms += step) {
    const x = px(xOf(ms));
    out.push(`<line class="tick" x1="${x}" y1="${TL.axis - 4}" x2="${x}" y2="${height}"/><text class="axis" x="${x}" y="${TL.axis - 8}" text-anchor="middle">${ms ? h(formatDuration(ms)) : '0'}</text>`);
  }
  const rowY = (row: number) => TL.axis + row * (TL.lane + TL.gap);
  for (let l = 0; l < laneCount; l++) out.push(`<text class="lane-name" x="${TL.left - 8}" y="${rowY(l) + 16}" text-anchor="end">lane ${l + 1}</text>`);
  worked.forEach((s, i) => {
    const x = xOf(s.startMs);
    const w = Math.max(2, (s.durationMs / total) * TL.width);
    const y = rowY(lanes[i]);
    const tip = `${s.stage}: ${s.status === 'ran' ? 'ran' : 'FAILED'}, started at +${formatDuration(s.startMs)}, took ${formatDuration(s.durationMs)}${s.note ? ` (${s.note})` : ''}`;
    out.push(`<g class="stage ${s.status}"><rect data-stage="${h(s.stage)}" data-status="${s.status}" data-lane="${lanes[i]}" x="${px(x)}" y="${y}" width="${px(w)}" height="${TL.lane}" rx="3"><title>${h(tip)}</title></rect>`);
    // the name goes inside when it fits (about 6.6 px a character at 11 px)
    if (w >= s.stage.length * 6.6 + 8) out.push(`<text x="${px(x + 4)}" y="${y + 16}">${h(s.stage)}</text>`);
    out.push('</g>');
  });
  if (cached.length) {
    const y = rowY(laneCount);
    out.push(`<text class="lane-name" x="${TL.left - 8}" y="${y + 16}" text-anchor="end">from cache</text>`);
    for (const s of cached) {
      out.push(`<rect class="cached" data-stage="${h(s.stage)}" data-status="cached" x="${px(xOf(s.startMs) - 1)}" y="${y}" width="3" height="${TL.lane}"><title>${h(`${s.stage}: from cache at +${formatDuration(s.startMs)}`)}</title></rect>`);
    }
  }
  out.push('</svg>');
  return out.join('');
}

function stageTable(t: BuildTimeline, cachedBuildMs: Record<string, number> | undefined): string {
  const order = [...t.stages].sort((a, b) => a.startMs - b.startMs || (a.stage < b.stage ? -1 : a.stage > b.stage ? 1 : 0));
  const rows = order.map((s) => {
    const built = s.status === 'cached' && cachedBuildMs?.[s.stage] !== undefined ? ` <span class="dim">(built in ${formatDuration(cachedBuildMs[s.stage])})</span>` : '';
    return `<tr class="${s.status}"><td><code>${h(s.stage)}</code></td><td><span class="badge ${s.status}">${s.status}</span></td>` +
      `<td class="num">+${h(formatDuration(s.startMs))}</td><td class="num">${s.status === 'ran' || s.status === 'failed' ? h(formatDuration(s.durationMs)) : '–'}${built}</td>` +
      `<td>${s.note ? h(s.note) : ''}</td></tr>`;
  });
  return `<table class="stages"><thead><tr><th>stage</th><th>result</th><th>start</th><th>duration</th><th></th></tr></thead><tbody>${rows.join('')}</tbody></table>`;
}

function timelineSection(t: BuildTimeline, id: string, cachedBuildMs?: Record<string, number>): string {
  const c = timelineCounts(t);
  const worked = c.ran + c.failed;
  const summary = `${t.stages.length} stages: ${c.ran} ran, ${c.cached} from cache${c.failed ? `, ${c.failed} failed` : ''}${c.skipped ? `, ${c.skipped} skipped` : ''}; ` +
    `${formatDuration(t.durationMs)} wall time, up to ${t.jobs} stage${t.jobs === 1 ? '' : 's'} at once (-j ${t.jobs})` +
    (worked ? `, ${formatDuration(t.stages.reduce((a, s) => a + (s.status === 'cached' || s.status === 'skipped' ? 0 : s.durationMs), 0))} of stage time` : '');
  return `<p>${h(summary)}</p>${renderTimelineSvg(t, id)}${stageTable(t, cachedBuildMs)}`;
}

// ---------------------------------------------------------------------------
// Partition layout drawing

export interface LayoutSegment {
  kind: 'partition' | 'free';
  number?: number;
  role?: Role;
  firstSector: number;
  sectorCount: number;
  x: number;
  width: number;
  /** drawn at the minimum width, wider than to scale */
  widened: boolean;
  /** its width if drawn to scale */
  scaleWidth: number;
}

export interface LayoutDrawing {
  segments: LayoutSegment[];
  /** gaps too small to draw (alignment, GPT headers): start sector and size */
  notDrawn: { firstSector: number; sectorCount: number }[];
  /** sectors per pixel for the segments drawn to scale */
  sectorsPerPx: number;
}

/**
 * Partitions in on-disk order as widths out of `width` px, proportional to
 * their sizes. A segment narrower than `minWidth` is drawn at `minWidth` and
 * the others share what is left, still in proportion to each other. Gaps of
 * under 0.1% of the disk (the 1 MiB alignment, GPT headers) are left out and
 * listed; larger free space is drawn as a segment of its own.
 */
export function layoutDrawing(plan: Pick<LayoutPlan, 'partitions' | 'diskSectors'>, width: number, minWidth: number): LayoutDrawing {
  const parts = [...plan.partitions].sort((a, b) => a.firstSector - b.firstSector);
  const raw: Omit<LayoutSegment, 'x' | 'width' | 'widened' | 'scaleWidth'>[] = [];
  const notDrawn: LayoutDrawing['notDrawn'] = [];
  const gap = (firstSector: number, end: number) => {
    const sectorCount = end - firstSector;
    if (sectorCount <= 0) return;
    if (sectorCount < plan.diskSectors / 1000) notDrawn.push({ firstSector, sectorCount });
    else raw.push({ kind: 'free', firstSector, sectorCount });
  };
  let cursor = 0;
  for (const p of parts) {
    gap(cursor, p.firstSector);
    raw.push({ kind: 'partition', number: p.number, role: p.role, firstSector: p.firstSector, sectorCount: p.sectorCount });
    cursor = p.firstSector + p.sectorCount;
  }
  gap(cursor, plan.diskSectors);
  const drawnSectors = raw.reduce((a, s) => a + s.sectorCount, 0);
  // widen the small ones until no segment left at scale falls under the minimum
  const widened = new Set<number>();
  let scale = 0;
  for (;;) {
    const rest = raw.reduce((a, s, i) => a + (widened.has(i) ? 0 : s.sectorCount), 0);
    scale = rest ? (width - widened.size * minWidth) / rest : 0;
    const more = raw.map((s, i) => i).filter((i) => !widened.has(i) && raw[i].sectorCount * scale < minWidth);
    if (!more.length || widened.size + more.length >= raw.length) break;
    for (const i of more) widened.add(i);
  }
  let x = 0;
  const segments = raw.map((s, i): LayoutSegment => {
    const w = widened.has(i) ? minWidth : s.sectorCount * scale;
    const seg = { ...s, x, width: w, widened: widened.has(i), scaleWidth: (s.sectorCount / drawnSectors) * width };
    x += w;
    return seg;
  });
  return { segments, notDrawn, sectorsPerPx: scale ? 1 / scale : 0 };
}

const ROLE_COLOUR: Record<Role, string> = {
  logs: '#8e7cc3', backup: '#93a9c9', root: '#3d7bd9', boot: '#e69138', swap: '#c27ba0', sr: '#6aa84f', utility: '#999999',
};
export const LAYOUT_WIDTH = 900;
export const LAYOUT_MIN_WIDTH = 14;

const bytesOf = (plan: LayoutPlan, sectors: number) => sectors * plan.sectorSize;

export function renderLayoutSvg(plan: LayoutPlan, id: string): string {
  const d = layoutDrawing(plan, LAYOUT_WIDTH, LAYOUT_MIN_WIDTH);
  const height = 64;
  const out: string[] = [`<svg id="${id}" class="layout" width="${LAYOUT_WIDTH + 2}" height="${height + 2}" viewBox="-1 -1 ${LAYOUT_WIDTH + 2} ${height + 2}" role="img" aria-label="partition layout, ${plan.bootMode}">`];
  for (const s of d.segments) {
    const size = formatBytes(bytesOf(plan, s.sectorCount));
    const name = s.kind === 'free' ? 'free space' : `${s.number} ${s.role}`;
    const attrs = s.kind === 'free' ? 'data-role="free"' : `data-partition="${s.number}" data-role="${s.role}"`;
    const fill = s.kind === 'free' ? '#eeeeee' : ROLE_COLOUR[s.role!];
    out.push(`<g class="segment"><rect ${attrs} data-sectors="${s.sectorCount}" data-widened="${s.widened}" x="${px(s.x)}" y="0" width="${px(s.width)}" height="${height}" fill="${fill}" stroke="#ffffff" stroke-width="1">` +
      `<title>${h(`${name}: ${size}, sectors ${s.firstSector}..${s.firstSector + s.sectorCount - 1}${s.widened ? ` (drawn wider than to scale: ${px(s.scaleWidth)} px)` : ''}`)}</title></rect>`);
    const cx = s.x + s.width / 2;
    if (s.width >= Math.max(name.length, size.length) * 7 + 8) {
      out.push(`<text x="${px(cx)}" y="27" text-anchor="middle">${h(name)}</text><text x="${px(cx)}" y="44" text-anchor="middle">${h(size)}</text>`);
    } else if (s.kind === 'partition') {
      out.push(`<text x="${px(cx)}" y="37" text-anchor="middle">${s.number}${s.widened ? '*' : ''}</text>`);
    }
    out.push('</g>');
  }
  out.push('</svg>');
  return out.join('');
}

function layoutSection(plan: LayoutPlan, id: string): string {
  const d = layoutDrawing(plan, LAYOUT_WIDTH, LAYOUT_MIN_WIDTH);
  const rows = d.segments.filter((s) => s.kind === 'partition').map((s) => {
    const p = plan.partitions.find((q) => q.number === s.number)!;
    const what = [p.fsType, p.mountPoint, p.labelPrefix ? `label ${p.labelPrefix}…` : ''].filter(Boolean).join(', ');
    return `<tr><td><span class="swatch" style="background:${ROLE_COLOUR[p.role]}"></span>${p.number}${s.widened ? '*' : ''}</td><td>${p.role}</td>` +
      `<td class="num">${h(formatBytes(bytesOf(plan, p.sectorCount)))}</td><td class="num">${p.firstSector}</td><td class="num">${p.sectorCount}</td>` +
      `<td>${h(typeCode(p))}</td><td>${h(what)}</td><td>${s.widened ? `* drawn at the minimum width of ${LAYOUT_MIN_WIDTH} px; to scale it would be ${px(s.scaleWidth)} px` : ''}</td></tr>`;
  });
  const left = d.notDrawn.map((g) => `${formatBytes(bytesOf(plan, g.sectorCount))} at sector ${g.firstSector}`).join(', ');
  const caption = `${formatBytes(bytesOf(plan, plan.diskSectors))} disk, ${plan.tableType.toUpperCase()} table, ${plan.bootMode.toUpperCase()} boot ` +
    `(PARTITION_LAYOUT ${plan.partitionLayout}); partitions in on-disk order, to scale at 1 px = ${formatBytes(Math.round(bytesOf(plan, d.sectorsPerPx)))}` +
    `${d.segments.some((s) => s.widened) ? ' except those marked *' : ''}.${left ? ` Too small to draw: ${left}.` : ''}`;
  return `<figure><figcaption>${h(caption)}</figcaption>${renderLayoutSvg(plan, id)}</figure>` +
    `<table class="legend"><thead><tr><th>#</th><th>role</th><th>size</th><th>first sector</th><th>sectors</th><th>type</th><th>contents</th><th></th></tr></thead><tbody>${rows.join('')}</tbody></table>`;
}

// ---------------------------------------------------------------------------
// The page

/** The timeline a later all-cached build carries forward: this one if it did work. */
export function timelineToCarry(data: Pick<ReportData, 'timeline' | 'lastRun'>): BuildTimeline | undefined {
  const c = timelineCounts(data.timeline);
  return c.ran + c.failed > 0 ? data.timeline : data.lastRun;
}

const CARRY_MARK = 'xsforge-last-run:';

/** The carried timeline out of an earlier report (undefined when absent or malformed). */
export function extractCarriedTimeline(html: string): BuildTimeline | undefined {
  const m = new RegExp(`<!--${CARRY_MARK}([A-Za-z0-9_-]*)-->`).exec(html);
  if (!m) return undefined;
  try {
    const t = JSON.parse(Buffer.from(m[1], 'base64url').toString('utf8'));
    const okStage = (s: any) => s && typeof s.stage === 'string' && ['ran', 'cached', 'failed', 'skipped'].includes(s.status) &&
      Number.isFinite(s.startMs) && Number.isFinite(s.durationMs) && (s.note === undefined || typeof s.note === 'string');
    if (!Number.isFinite(t.startedAt) || !Number.isFinite(t.durationMs) || typeof t.ok !== 'boolean' || !Number.isInteger(t.jobs) || !Array.isArray(t.stages) || !t.stages.every(okStage)) return undefined;
    return t;
  } catch {
    return undefined;
  }
}

const CSS = `
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;color:#1d1d1f;margin:24px auto;max-width:980px;padding:0 16px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #ddd;padding-bottom:4px}h3{font-size:15px;margin:18px 0 6px}
.dim{color:#777}code{font:12px ui-monospace,Menlo,Consolas,monospace}
table{border-collapse:collapse;width:100%;margin:8px 0}th,td{text-align:left;padding:3px 8px;border-bottom:1px solid #eee;vertical-align:top}th{font-weight:600;background:#f6f6f6}
.legend td:first-child{white-space:nowrap}
td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
.cards{display:flex;flex-wrap:wrap;gap:10px;margin:12px 0}.card{border:1px solid #ddd;border-radius:6px;padding:8px 12px;min-width:120px}.card b{display:block;font-size:20px}
.bar{height:8px;background:#eee;border-radius:4px;overflow:hidden;margin-top:4px}.bar span{display:block;height:100%;background:#6aa84f}
.badge{border-radius:3px;padding:0 5px;font-size:12px}.badge.ran{background:#d6e4fb}.badge.cached{background:#e3f1dc}.badge.failed{background:#f8d0cc}.badge.skipped{background:#eee}
.ok{color:#2e7d32}.failed-text{color:#c62828}
svg text{font:11px system-ui,sans-serif;fill:#1d1d1f}svg .axis{fill:#777}svg .lane-name{fill:#555}svg line.tick{stroke:#e4e4e4}
svg .stage.ran rect{fill:#9bbcf0}svg .stage.failed rect{fill:#ef9a9a}svg rect.cached{fill:#6aa84f}
svg.layout text{fill:#fff;font-weight:600}
.swatch{display:inline-block;width:10px;height:10px;margin-right:6px;border-radius:2px}
.sha{word-break:break-all}figure{margin:8px 0}figcaption{color:#555;margin-bottom:6px}
`;

export function renderReport(data: ReportData): string {
  const t = data.timeline;
  const c = timelineCounts(t);
  const p = data.recipe.product;
  const hit = c.hitRate === undefined ? 'n/a' : `${Math.round(c.hitRate * 100)}%`;
  const saved = Object.entries(data.cachedBuildMs ?? {}).reduce((a, [, ms]) => a + ms, 0);
  const started = new Date(t.startedAt).toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC');
  const parts: string[] = [];
  parts.push('<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">',
    `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">`,
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>xsforge build report: ${h(data.recipe.name)}</title><style>${CSS}</style></head><body>`);
  parts.push(`<h1>Build report: ${h(data.recipe.name)}</h1>`,
    `<p class="dim">${h(`${p.brand} ${p.version} (build ${p.build}, ${p.platform})`)}${data.recipe.description ? ` · ${h(data.recipe.description)}` : ''}</p>`);

  parts.push('<h2 id="summary">Summary</h2><div class="cards">',
    `<div class="card">result<b class="${t.ok ? 'ok' : 'failed-text'}">${t.ok ? 'ok' : 'FAILED'}</b></div>`,
    `<div class="card">wall time<b>${h(formatDuration(t.durationMs))}</b></div>`,
    `<div class="card">stages<b>${t.stages.length}</b>${c.ran} ran · ${c.cached} cached${c.failed ? ` · ${c.failed} failed` : ''}${c.skipped ? ` · ${c.skipped} skipped` : ''}</div>`,
    `<div class="card" id="hit-rate">cache hit rate<b>${hit}</b><div class="bar"><span style="width:${c.hitRate === undefined ? 0 : px(c.hitRate * 100)}%"></span></div></div>`,
    saved ? `<div class="card">saved by the cache<b>${h(formatDuration(saved))}</b>of stage time</div>` : '',
    '</div>',
    `<p class="dim">Started ${h(started)} with -j ${t.jobs}. ${data.published ? 'This build published new output.' : t.ok ? 'The output was already current: nothing was republished.' : data.artifacts ? 'Nothing was published: the output directory keeps the previous good build.' : 'Nothing was published.'}</p>`);

  parts.push('<h2 id="timeline">Stage timeline</h2>', timelineSection(t, 'timeline-svg', data.cachedBuildMs));
  const carried = data.lastRun;
  if (c.ran + c.failed === 0 && carried) {
    const when = new Date(carried.startedAt).toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC');
    parts.push(`<h3 id="last-run">Last build that ran stages (${h(when)})</h3>`, timelineSection(carried, 'last-run-svg'));
  }

  parts.push('<h2 id="artifacts">Artifacts</h2>');
  if (data.artifacts?.length) {
    const total = data.artifacts.reduce((a, x) => a + x.size, 0);
    parts.push(`<p>${data.artifacts.length} files, ${h(formatBytes(total))} in all, as manifest.json lists them.</p>`,
      '<table class="artifacts"><thead><tr><th>kind</th><th>path</th><th>size</th><th>sha256</th></tr></thead><tbody>',
      ...data.artifacts.map((a) => `<tr><td>${h(a.kind)}</td><td><code>${h(a.path)}</code></td><td class="num" title="${a.size} bytes">${h(formatBytes(a.size))}</td><td class="sha"><code>${h(a.sha256)}</code></td></tr>`),
      '</tbody></table>');
  } else {
    parts.push('<p>No published output.</p>');
  }

  const m = data.menu;
  parts.push('<h2 id="boot-menu">Boot menu</h2>',
    `<p>Default entry <code>${h(m.defaultLabel)}</code>, timeout ${h(String(m.timeout / 10))} s, serial console ${h(m.serial.port)} at ${m.serial.baud} baud.</p>`,
    '<table class="menu"><thead><tr><th>label</th><th>title</th><th>Xen arguments</th><th>dom0 arguments</th></tr></thead><tbody>',
    ...m.entries.map((e) => `<tr${e.label === m.defaultLabel ? ' class="default"' : ''}><td><code>${h(e.label)}</code>${e.label === m.defaultLabel ? ' <span class="badge cached">default</span>' : ''}</td>` +
      `<td>${h(e.title)}</td><td><code>${h(e.xenArgs.join(' '))}</code></td><td><code>${h(e.dom0Args.join(' '))}</code></td></tr>`),
    '</tbody></table>');

  parts.push('<h2 id="layout">Default partition layout</h2>');
  const ids = new Set<string>();
  data.layouts.forEach((plan, i) => {
    const id = ids.has(`layout-${plan.bootMode}`) ? `layout-${plan.bootMode}-${i}` : `layout-${plan.bootMode}`;
    ids.add(id);
    parts.push(`<h3>${plan.bootMode === 'uefi' ? 'UEFI' : 'BIOS'} boot</h3>`, layoutSection(plan, id));
  });

  const carry = timelineToCarry(data);
  // data for the next all-cached build's report; base64url keeps it comment-safe
  if (carry) parts.push(`<!--${CARRY_MARK}${Buffer.from(JSON.stringify(carry)).toString('base64url')}-->`);
  parts.push('</body></html>\n');
  return parts.join('\n');
}

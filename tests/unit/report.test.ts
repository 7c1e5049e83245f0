import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { RecordingReporter, type BuildEvent, type BuildTimeline } from '../../core/events.ts';
import { planLayout } from '../../disk/layout.ts';
import { buildMenu } from '../../media/menu.ts';
import {
  assignLanes, escapeHtml, extractCarriedTimeline, layoutDrawing, renderReport, tickStep, timelineCounts, type ReportData,
} from '../../report/render.ts';
import { defaultLayouts } from '../../report/write.ts';

const GiB = 2 ** 30;

function menuRecipe(entryTitle = 'Install XenServer', extraArg = 'quiet') {
  return {
    product: { brand: 'XenServer', version: '7.1.2', build_number: '137272c', platform: { name: 'XCP', version: '2.2.0' }, volume_id: 'XS712', eula: 'EULA.txt' },
    boot: {
      default: 'install', timeout: 50, serial: { port: 'com1', baud: 115200 },
      xen: { dom0_max_vcpus: '1-16', dom0_mem: '1024M,max:1024M', extra: [] },
      dom0: { extra: [extraArg] },
      entries: [
        { label: 'install', title: entryTitle, xen_args: [], dom0_args: [] },
        { label: 'shell', title: 'Boot to a shell', xen_args: [], dom0_args: ['bash-shell'] },
      ],
    },
  } as any;
}

const timeline: BuildTimeline = {
  startedAt: Date.UTC(2024, 0, 2, 3, 4, 5), durationMs: 10_000, ok: true, jobs: 2,
  stages: [
    { stage: 'debian-index', status: 'cached', startMs: 5, durationMs: 0 },
    { stage: 'xen', status: 'ran', startMs: 10, durationMs: 6000 },
    { stage: 'kernel', status: 'ran', startMs: 12, durationMs: 2000 },
    { stage: 'dom0', status: 'ran', startMs: 2012, durationMs: 3000 },
    { stage: 'iso', status: 'ran', startMs: 6010, durationMs: 3900 },
  ],
};

function data(over: Partial<ReportData> = {}): ReportData {
  return {
    recipe: { name: 'xenserver-7.1.2', description: 'test media', product: { brand: 'XenServer', version: '7.1.2', build: '137272c', platform: 'XCP 2.2.0' } },
    timeline,
    published: true,
    artifacts: [{ kind: 'install-iso', path: 'xenserver.iso', sha256: 'ab'.repeat(32), size: 734003200 }],
    menu: buildMenu(menuRecipe()),
    layouts: defaultLayouts(),
    ...over,
  };
}

test('escapeHtml escapes the five HTML specials', () => {
  assert.is(escapeHtml(`<a href="x">Tom & 'Jerry'</a>`), '&lt;a href=&quot;x&quot;&gt;Tom &amp; &#39;Jerry&#39;&lt;/a&gt;');
});

test('recipe strings reach the HTML escaped: menu titles, arguments, description, recipe name', () => {
  const evil = '<script>alert(1)</script>';
  const html = renderReport(data({
    recipe: { name: 'x"><img src=x>', description: evil, product: { brand: '<u>brand</u>', version: '1', build: '2', platform: 'p' } },
    menu: buildMenu(menuRecipe(`Install ${evil}`, `answerfile="<x>&y"`)),
  }));
  assert.not.ok(html.includes('<script'), 'no script element');
  assert.not.ok(html.includes('<img'), 'no img element');
  assert.not.ok(html.includes('<u>'));
  assert.ok(html.includes('&lt;u&gt;brand&lt;/u&gt;'));
  assert.ok(html.includes('Install &lt;script&gt;alert(1)&lt;/script&gt;'));
  assert.ok(html.includes('answerfile=&quot;&lt;x&gt;&amp;y&quot;'));
  assert.ok(html.includes('x&quot;&gt;&lt;img src=x&gt;'));
});

test('lanes: overlapping stages get different lanes, a stage starting when another ends reuses its lane', () => {
  // a [0,100) b [10,50) c [50,120) d [100,130) e [60,70)
  const lanes = assignLanes([
    { startMs: 0, durationMs: 100 }, { startMs: 10, durationMs: 40 }, { startMs: 50, durationMs: 70 }, { startMs: 100, durationMs: 30 }, { startMs: 60, durationMs: 10 },
  ]);
  assert.equal(lanes, [0, 1, 1, 0, 2]);
  // sequential stages all fit in one lane
  assert.equal(assignLanes([{ startMs: 0, durationMs: 5 }, { startMs: 5, durationMs: 5 }, { startMs: 10, durationMs: 1 }]), [0, 0, 0]);
  // order of the input does not matter, only start times
  assert.equal(assignLanes([{ startMs: 10, durationMs: 40 }, { startMs: 0, durationMs: 100 }]), [1, 0]);
});

test('lane count equals the most stages ever running at once', () => {
  let seed = 7;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  for (let round = 0; round < 50; round++) {
    const iv = Array.from({ length: 12 }, () => ({ startMs: Math.floor(rnd() * 100), durationMs: 1 + Math.floor(rnd() * 40) }));
    const lanes = assignLanes(iv);
    let most = 0;
    for (const a of iv) most = Math.max(most, iv.filter((b) => b.startMs <= a.startMs && a.startMs < b.startMs + b.durationMs).length);
    assert.is(Math.max(...lanes) + 1, most);
    // no two intervals in one lane overlap
    for (let i = 0; i < iv.length; i++) for (let j = i + 1; j < iv.length; j++) {
      if (lanes[i] !== lanes[j]) continue;
      const overlap = iv[i].startMs < iv[j].startMs + iv[j].durationMs && iv[j].startMs < iv[i].startMs + iv[i].durationMs;
      assert.not.ok(overlap, `intervals ${i} and ${j} overlap in lane ${lanes[i]}`);
    }
  }
});

test('timeline SVG draws each stage that ran in its lane, cached ones in the cache row, widths to scale', () => {
  const html = renderReport(data());
  const rect = (name: string) => new RegExp(`<rect data-stage="${name}" data-status="ran" data-lane="(\\d)" x="([\\d.]+)" y="\\d+" width="([\\d.]+)"`).exec(html);
  const xen = rect('xen')!;
  const kernel = rect('kernel')!;
  const dom0 = rect('dom0')!;
  const iso = rect('iso')!;
  assert.ok(xen && kernel && dom0 && iso);
  assert.is(xen[1], '0');
  assert.is(kernel[1], '1');
  assert.is(dom0[1], '1', 'dom0 starts when kernel ends: same lane');
  assert.is(iso[1], '0', 'iso starts when xen ends: the lowest free lane');
  // 840 px for 10 s
  assert.ok(Math.abs(Number(xen[3]) - 504) < 0.01, xen[3]);
  assert.ok(Math.abs(Number(dom0[2]) - (96 + 2012 * 0.084)) < 0.01, dom0[2]);
  assert.match(html, /<rect class="cached" data-stage="debian-index" data-status="cached"/);
  assert.match(html, />lane 2</);
  assert.not.match(html, />lane 3</);
});

test('cache hit rate counts cached stages among those looked up', () => {
  assert.equal(timelineCounts(timeline), { ran: 4, cached: 1, failed: 0, skipped: 0, hitRate: 0.2 });
  const html = renderReport(data());
  assert.match(html, /cache hit rate<b>20%<\/b>/);
  const all: BuildTimeline = { ...timeline, stages: timeline.stages.map((s) => ({ ...s, status: 'cached' as const, durationMs: 0 })) };
  assert.match(renderReport(data({ timeline: all })), /cache hit rate<b>100%<\/b>/);
});

test('tick steps are 1, 2 or 5 x 10^k and give at most 8 ticks', () => {
  assert.is(tickStep(10_000), 2000);
  assert.is(tickStep(35), 5);
  assert.is(tickStep(1), 1);
  assert.is(tickStep(4 * 60_000), 50_000);
});

test('layout drawing: partitions in on-disk order, widths proportional, small ones widened to the minimum', () => {
  const [bios, uefi] = defaultLayouts();
  assert.is(bios.bootMode, 'bios');
  assert.is(uefi.bootMode, 'uefi');
  const d = layoutDrawing(uefi, 900, 14);
  const parts = d.segments.filter((s) => s.kind === 'partition');
  // logs, backup, root, boot, swap, SR on disk (numbers 5,2,1,4,6,3)
  assert.equal(parts.map((s) => s.number), [5, 2, 1, 4, 6, 3]);
  assert.equal(parts.map((s) => s.role), ['logs', 'backup', 'root', 'boot', 'swap', 'sr']);
  const total = d.segments.reduce((a, s) => a + s.width, 0);
  assert.ok(Math.abs(total - 900) < 1e-6, `fills the width: ${total}`);
  for (let i = 1; i < d.segments.length; i++) assert.ok(Math.abs(d.segments[i].x - (d.segments[i - 1].x + d.segments[i - 1].width)) < 1e-9, 'adjacent');
  const boot = parts.find((s) => s.role === 'boot')!;
  // 512 MiB of 60 GiB is 7.5 px at 900 px: widened
  assert.ok(boot.widened);
  assert.is(boot.width, 14);
  assert.ok(Math.abs(boot.scaleWidth - 7.5) < 0.01, String(boot.scaleWidth));
  const scaled = parts.filter((s) => !s.widened);
  assert.equal(scaled.map((s) => s.role), ['logs', 'backup', 'root', 'swap', 'sr']);
  // among those at scale, width / sectors is one constant
  const ratio = scaled[0].width / scaled[0].sectorCount;
  for (const s of scaled) assert.ok(Math.abs(s.width / s.sectorCount - ratio) < 1e-12, `${s.role} to scale`);
  const root = parts.find((s) => s.role === 'root')!;
  const logs = parts.find((s) => s.role === 'logs')!;
  assert.ok(Math.abs(root.width / logs.width - 18432 / 4096) < 1e-9);
  // the 1 MiB before the first partition and the GPT backup area are listed, not drawn
  assert.equal(d.notDrawn, [{ firstSector: 0, sectorCount: 2048 }, { firstSector: uefi.diskSectors - 33, sectorCount: 33 }]);
});

test('layout drawing: a large free area is drawn, and a run of small parts all widen', () => {
  const plan = {
    diskSectors: 1000_000,
    partitions: [
      { number: 1, role: 'root', firstSector: 0, sectorCount: 1000 },
      { number: 2, role: 'boot', firstSector: 1000, sectorCount: 1000 },
      { number: 3, role: 'sr', firstSector: 2000, sectorCount: 498_000 },
    ],
  } as any;
  const d = layoutDrawing(plan, 100, 10);
  assert.equal(d.segments.map((s) => [s.kind, s.widened]), [['partition', true], ['partition', true], ['partition', false], ['free', false]]);
  assert.ok(Math.abs(d.segments[2].width - 80 * 498 / 998) < 1e-9);
  assert.ok(Math.abs(d.segments[3].width - 80 * 500 / 998) < 1e-9);
});

test('layout SVG rects carry the drawing\'s widths, and the legend says which are widened', () => {
  const html = renderReport(data());
  const [, uefi] = defaultLayouts();
  const d = layoutDrawing(uefi, 900, 14);
  const svg = html.slice(html.indexOf('<svg id="layout-uefi"'), html.indexOf('</svg>', html.indexOf('<svg id="layout-uefi"')));
  for (const s of d.segments) {
    const m = new RegExp(`data-partition="${s.number}" data-role="${s.role}" data-sectors="${s.sectorCount}" data-widened="${s.widened}" x="([\\d.]+)" y="0" width="([\\d.]+)"`).exec(svg);
    assert.ok(m, `rect for partition ${s.number}`);
    assert.ok(Math.abs(Number(m![2]) - s.width) < 0.006);
    assert.ok(Math.abs(Number(m![1]) - s.x) < 0.006);
  }
  assert.match(html, /drawn at the minimum width of 14 px; to scale it would be 7\.5 px/);
  assert.ok(html.includes('<svg id="layout-bios"'));
  // BIOS boot partition is a BIOS-boot partition (EF02), UEFI an ESP (EF00)
  assert.match(html, /<td>EF02<\/td>/);
  assert.match(html, /<td>EF00<\/td><td>vfat, \/boot\/efi/);
});

test('no network resources: no scripts, links, images or url() and no http(s):// or // references', () => {
  const html = renderReport(data({ menu: buildMenu(menuRecipe('Install', 'answerfile=http://10.0.0.1/a.xml')) }));
  for (const bad of ['<script', '<link', '<img', '<iframe', '<object', '<embed', 'url(', '@import', 'src=', 'href=']) assert.not.ok(html.includes(bad), bad);
  // the only URL is recipe text, shown as text
  const withoutRecipeText = html.replaceAll('answerfile=http://10.0.0.1/a.xml', '');
  assert.not.ok(/https?:\/\//.test(withoutRecipeText), 'no http(s)://');
  assert.not.ok(/=\s*["']?\/\//.test(html), 'no protocol-relative attribute');
  assert.match(html, /Content-Security-Policy" content="default-src 'none'/);
});

test('same data, same bytes', () => {
  assert.is(renderReport(data()), renderReport(data()));
});

test('an all-cached build carries the last run forward, and a build with work replaces it', () => {
  const allCached: BuildTimeline = { startedAt: Date.UTC(2024, 0, 3), durationMs: 40, ok: true, jobs: 2, stages: [{ stage: 'iso', status: 'cached', startMs: 3, durationMs: 0 }] };
  const first = renderReport(data());
  assert.equal(extractCarriedTimeline(first), timeline);
  const noop = renderReport(data({ timeline: allCached, lastRun: extractCarriedTimeline(first), published: false }));
  assert.equal(extractCarriedTimeline(noop), timeline);
  assert.match(noop, /<h3 id="last-run">Last build that ran stages \(2024-01-02 03:04:05 UTC\)<\/h3>/);
  assert.ok(noop.includes('<svg id="last-run-svg"'));
  assert.match(noop, /The output was already current/);
  // without a last run there is nothing to carry
  assert.is(extractCarriedTimeline(renderReport(data({ timeline: allCached }))), undefined);
  assert.is(extractCarriedTimeline('<!--xsforge-last-run:bm90IGpzb24-->'), undefined);
  assert.is(extractCarriedTimeline('<html></html>'), undefined);
});

test('RecordingReporter passes events on and records start offsets, durations and failures', () => {
  const seen: BuildEvent[] = [];
  const r = new RecordingReporter({ emit: (e) => seen.push(e), close() {} }, 2);
  const t0 = 1_000_000;
  const events: BuildEvent[] = [
    { type: 'build-start', stages: 4, time: t0 },
    { type: 'stage-cached', stage: 'idx', key: 'k', artifacts: {}, time: t0 + 2 },
    { type: 'stage-start', stage: 'a', key: 'k', time: t0 + 3 },
    { type: 'stage-start', stage: 'b', key: 'k', time: t0 + 4 },
    { type: 'stage-finish', stage: 'a', key: 'k', durationMs: 99, artifacts: {}, time: t0 + 103 },
    { type: 'stage-failed', stage: 'b', key: 'k', durationMs: 200, error: 'mmdebstrap failed\ndetails', time: t0 + 204 },
    { type: 'stage-skipped', stage: 'c', because: 'b did not build', time: t0 + 205 },
    { type: 'build-finish', ok: false, ran: 1, cached: 1, failed: 1, durationMs: 206, time: t0 + 206 },
  ];
  for (const e of events) r.emit(e);
  assert.is(seen.length, events.length);
  const t = r.timeline();
  assert.equal(t, {
    startedAt: t0, durationMs: 206, ok: false, jobs: 2,
    stages: [
      { stage: 'idx', status: 'cached', startMs: 2, durationMs: 0 },
      { stage: 'a', status: 'ran', startMs: 3, durationMs: 100 },
      { stage: 'b', status: 'failed', startMs: 4, durationMs: 200, note: 'mmdebstrap failed' },
      { stage: 'c', status: 'skipped', startMs: 205, durationMs: 0, note: 'b did not build' },
    ],
  });
  const html = renderReport(data({ timeline: t, published: false }));
  assert.match(html, /<rect data-stage="b" data-status="failed" data-lane="1"/);
  assert.match(html, /result<b class="failed-text">FAILED<\/b>/);
});

test('default layouts are the planner\'s for a 60 GiB disk', () => {
  const [bios, uefi] = defaultLayouts();
  assert.equal(bios, planLayout({ scheme: 'gpt', diskSectors: 60 * GiB / 512, guestStorage: true, uefi: false, diskName: '/dev/sda' }));
  assert.is(uefi.partitionLayout, 'ROOT,BACKUP,LOG,BOOT,SWAP,SR');
});

test.run();

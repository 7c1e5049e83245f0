import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { checkStageSet, formatTimeline, parseEvents, stageRuns, stageTimeline, summaryTable, type BenchResult } from '../../bench/lib.ts';

// the shape of `xsforge build --json` output: a menu change over a warm cache
const EVENTS = [
  { type: 'build-start', stages: 5, time: 1000 },
  { type: 'stage-cached', stage: 'kernel', key: 'k1', time: 1010 },
  { type: 'stage-cached', stage: 'install-img', key: 'k2', time: 1011 },
  { type: 'stage-start', stage: 'menus', key: 'k3', time: 1020 },
  { type: 'stage-finish', stage: 'menus', key: 'k3', durationMs: 80, time: 1100 },
  { type: 'stage-start', stage: 'efi-image', key: 'k4', time: 1100 },
  { type: 'stage-progress', stage: 'efi-image', note: 'mkfs.vfat', time: 1150 },
  { type: 'stage-finish', stage: 'efi-image', key: 'k4', durationMs: 400, time: 1500 },
  { type: 'stage-start', stage: 'iso', key: 'k5', time: 1500 },
  { type: 'stage-finish', stage: 'iso', key: 'k5', durationMs: 1500, time: 3000 },
  { type: 'build-finish', ok: true, ran: 3, cached: 2, failed: 0, durationMs: 2000, time: 3000 },
];
const STDOUT = EVENTS.map((e) => JSON.stringify(e)).join('\n') + '\n';

test('parseEvents reads one event per line and refuses what is not an event', () => {
  assert.is(parseEvents(STDOUT).length, EVENTS.length);
  assert.throws(() => parseEvents('{"type":"build-start"}\nwarning: something\n'), /line 2 is not JSON/);
  assert.throws(() => parseEvents('[1,2]\n'), /line 1 is not an event/);
});

test('stageRuns separates stages that ran from cached ones', () => {
  const r = stageRuns(parseEvents(STDOUT));
  assert.equal(r.ran, ['efi-image', 'iso', 'menus']);
  assert.equal(r.cached, ['install-img', 'kernel']);
  assert.equal(r.failed, []);
});

test('checkStageSet: exact only when no stage is extra or missing', () => {
  assert.equal(checkStageSet(['efi-image', 'iso', 'menus'], ['menus', 'efi-image', 'iso']), { exact: true, unexpected: [], missing: [] });
  assert.equal(checkStageSet(['efi-image', 'install-img', 'iso', 'menus'], ['menus', 'efi-image', 'iso']), { exact: false, unexpected: ['install-img'], missing: [] });
  assert.equal(checkStageSet(['iso', 'menus'], ['menus', 'efi-image', 'iso']), { exact: false, unexpected: [], missing: ['efi-image'] });
});

test('stageTimeline: offsets from build-start, durations from stage-finish, in start order', () => {
  const t = stageTimeline(parseEvents(STDOUT));
  assert.equal(t, [
    { stage: 'menus', startMs: 20, durationMs: 80 },
    { stage: 'efi-image', startMs: 100, durationMs: 400 },
    { stage: 'iso', startMs: 500, durationMs: 1500 },
  ]);
  assert.throws(() => stageTimeline([{ type: 'stage-finish', stage: 'x', durationMs: 1 }]), /no build-start/);
  assert.throws(() => stageTimeline([{ type: 'build-start', time: 0 }, { type: 'stage-finish', stage: 'x', durationMs: 1 }]), /x finished without a stage-start/);
});

test('formatTimeline draws each stage where it ran on a common axis', () => {
  const lines = formatTimeline([{ stage: 'a', startMs: 0, durationMs: 1000 }, { stage: 'b', startMs: 1000, durationMs: 1000 }], 10);
  assert.is(lines.length, 3);
  assert.match(lines[0], /stage\s+start s\s+dur s/);
  assert.ok(lines[1].endsWith('|#####     |'), lines[1]);
  assert.ok(lines[2].endsWith('|     #####|'), lines[2]);
  assert.match(lines[2], /b\s+1\.0\s+1\.0/);
  // a stage too short to see still gets one mark
  assert.ok(formatTimeline([{ stage: 'a', startMs: 0, durationMs: 10_000 }, { stage: 'tiny', startMs: 5000, durationMs: 1 }], 10)[2].endsWith('|     #    |'));
  assert.equal(formatTimeline([]), ['  (no stage ran)']);
});

test('summaryTable: figure, baseline, ratio and target status in aligned columns', () => {
  const rs: BenchResult[] = [
    { name: 'iso-mastering', value: 1.34, unit: 's', baseline: 1.0, baselineName: 'bare xorriso', ratio: 1.34, target: '<= 1.10x', met: false, samples: [] },
    { name: 'cold-build', value: 300, unit: 's', baseline: 400, baselineName: 'sum of stage durations', ratio: 0.75, samples: [] },
    { name: 'pxe-10k-hosts', value: 4, unit: 's', baseline: 0.6, baselineName: 'plain loop', ratio: 6.67, target: '< 5 s', met: true, samples: [] },
  ];
  const lines = summaryTable(rs);
  assert.is(lines.length, 5);
  assert.match(lines[2], /^iso-mastering\s+1\.340 s\s+1\.000 s \(bare xorriso\)\s+1\.34x\s+<= 1\.10x\s+NOT MET$/);
  assert.match(lines[3], /^cold-build\s+300\.000 s\s+400\.000 s \(sum of stage durations\)\s+0\.75x\s+-\s+-$/);
  assert.match(lines[4], /\s+met$/);
  // columns line up: every row's ratio starts where the header's does
  const col = lines[0].indexOf('ratio');
  for (const l of lines.slice(2)) assert.match(l.slice(col), /^\d+\.\d\dx/);
});

test.run();

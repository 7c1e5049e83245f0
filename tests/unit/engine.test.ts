import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StageCache } from '../../core/cache.ts';
import { runGraph, BuildError } from '../../core/engine.ts';
import type { BuildEvent } from '../../core/events.ts';
import { defineStage, type Stage } from '../../core/stage.ts';

function setup() {
  const dir = mkdtempSync(join(tmpdir(), 'xsf-engine-'));
  const events: BuildEvent[] = [];
  const cache = new StageCache(join(dir, 'cache'));
  const opts = { cache, reporter: { emit: (e: BuildEvent) => events.push(e), close() {} }, sourceDateEpoch: 1, scope: 't', explain: true, jobs: 2 };
  return { dir, events, cache, opts, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

function graph(menuParam: string, runs: string[], srcFile: string) {
  const a = defineStage({ name: 'a', version: 1, options: { x: 1 }, inputFiles: { src: srcFile }, async run(ctx) { runs.push('a'); await writeFile(join(ctx.out, 'a.txt'), readFileSync(ctx.inputFile('src'))); } });
  const menu = defineStage({ name: 'menu', version: 1, options: { param: menuParam }, async run(ctx) { runs.push('menu'); await writeFile(join(ctx.out, 'menu.cfg'), `p=${ctx.options.param}`); } });
  const iso = defineStage({ name: 'iso', version: 1, options: {}, deps: { a, menu }, async run(ctx) {
    runs.push('iso');
    await writeFile(join(ctx.out, 'iso'), readFileSync(join(ctx.dep('a'), 'a.txt'), 'utf8') + readFileSync(join(ctx.dep('menu'), 'menu.cfg'), 'utf8'));
  } });
  return iso;
}

test('second build runs nothing; a changed option reruns only its stage and dependents, with the reason', async () => {
  const s = setup();
  const src = join(s.dir, 'src.txt');
  writeFileSync(src, 'hello ');
  const runs: string[] = [];
  await runGraph([graph('1024M', runs, src)], s.opts);
  assert.equal(runs.sort(), ['a', 'iso', 'menu']);
  runs.length = 0;
  const r = await runGraph([graph('1024M', runs, src)], s.opts);
  assert.equal(runs, []);
  assert.ok(r.get('iso')!.cached);
  s.events.length = 0;
  const r2 = await runGraph([graph('2048M', runs, src)], s.opts);
  assert.equal(runs.sort(), ['iso', 'menu']);
  const start = s.events.find((e) => e.type === 'stage-start' && e.stage === 'menu') as Extract<BuildEvent, { type: 'stage-start' }>;
  assert.equal(start.reasons, ['options.param: "1024M" -> "2048M"']);
  assert.is(readFileSync(join(r2.get('iso')!.dir, 'iso'), 'utf8'), 'hello p=2048M');
  s.cleanup();
});

test('an upstream rerun with identical output does not rerun downstream (early cutoff)', async () => {
  const s = setup();
  const src = join(s.dir, 'src.txt');
  writeFileSync(src, 'same');
  const runs: string[] = [];
  const mk = (v: number) => {
    const up = defineStage({ name: 'up', version: v, options: {}, async run(ctx) { runs.push('up'); await writeFile(join(ctx.out, 'f'), 'constant'); } });
    return defineStage({ name: 'down', version: 1, options: {}, deps: { up }, async run(ctx) { runs.push('down'); await writeFile(join(ctx.out, 'g'), 'x'); } });
  };
  await runGraph([mk(1)], s.opts);
  runs.length = 0;
  await runGraph([mk(2)], s.opts);
  assert.equal(runs, ['up']);
  s.cleanup();
});

test('a failing stage leaves no cache entry, skips dependents, and the error names it', async () => {
  const s = setup();
  const bad = defineStage({ name: 'bad', version: 1, options: {}, async run(ctx) { await writeFile(join(ctx.out, 'half'), 'x'); await ctx.run(['sh', '-c', 'echo boom-output >&2; exit 3']); } });
  const after = defineStage({ name: 'after', version: 1, options: {}, deps: { bad }, async run() { throw new Error('must not run'); } });
  try {
    await runGraph([after], s.opts);
    assert.unreachable('should fail');
  } catch (err) {
    assert.instance(err, BuildError);
    assert.match((err as Error).message, /bad/);
    assert.match((err as Error).message, /boom-output/);
    assert.match((err as Error).message, /command: sh -c/);
  }
  assert.equal(readdirSync(join(s.cache.root, 'stages')), []);
  assert.ok(s.events.some((e) => e.type === 'stage-skipped' && e.stage === 'after'));
  s.cleanup();
});

test('a different SOURCE_DATE_EPOCH is a different key (dates are in the output)', async () => {
  const s = setup();
  const runs: string[] = [];
  const st = () => defineStage({ name: 'dated', version: 1, options: {}, async run(ctx) { runs.push(String(ctx.sourceDateEpoch)); await writeFile(join(ctx.out, 'f'), String(ctx.sourceDateEpoch)); } });
  await runGraph([st()], { ...s.opts, sourceDateEpoch: 100 });
  await runGraph([st()], { ...s.opts, sourceDateEpoch: 200 });
  const again = await runGraph([st()], { ...s.opts, sourceDateEpoch: 100 });
  assert.equal(runs, ['100', '200']);
  assert.ok(again.get('dated')!.cached);
  s.cleanup();
});

test('independent stages run in parallel up to --jobs', async () => {
  const s = setup();
  let live = 0;
  let peak = 0;
  const mk = (n: string): Stage<any> => defineStage({ name: n, version: 1, options: {}, async run(ctx) {
    live++; peak = Math.max(peak, live);
    await new Promise((r) => setTimeout(r, 50));
    live--;
    await writeFile(join(ctx.out, n), n);
  } });
  await runGraph([mk('p1'), mk('p2'), mk('p3')], { ...s.opts, jobs: 2 });
  assert.is(peak, 2);
  s.cleanup();
});

test.run();

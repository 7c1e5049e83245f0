// A cache you can trust: damaged entries are caught and rebuilt with a warning,
// `cache verify` finds what the cheap check cannot, `cache gc` evicts least
// recently used entries and spares those a build holds, and two builds sharing
// one cache both succeed and leave it clean.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StageCache } from '../../core/cache.ts';
import { runGraph } from '../../core/engine.ts';
import type { BuildEvent } from '../../core/events.ts';
import { defineStage } from '../../core/stage.ts';
import { REPO_ROOT } from '../../cli/shared.ts';

const work = mkdtempSync(join(tmpdir(), 'xsf-cache-trust-'));
test.after(() => rmSync(work, { recursive: true, force: true }));

function node(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', ...args], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => { stdout += c; });
    child.stderr.on('data', (c) => { stderr += c; });
    child.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr }));
  });
}
const cacheCli = (...args: string[]) => node(['tests/lib/cache-cli.ts', 'cache', ...args]);

function setup(name: string) {
  const root = join(work, name);
  const cache = new StageCache(root);
  const events: BuildEvent[] = [];
  const runs: string[] = [];
  const stage = (body = 'payload') => defineStage({ name: 'blob', version: 1, options: {}, async run(ctx) {
    runs.push('blob');
    mkdirSync(join(ctx.out, 'sub'));
    await writeFile(join(ctx.out, 'sub', 'data.bin'), body.repeat(1000));
    await writeFile(join(ctx.out, 'small.txt'), 'small');
  } });
  const build = (force?: string[]) => runGraph([stage()], { cache, reporter: { emit: (e) => events.push(e), close() {} }, sourceDateEpoch: 1, scope: 't', jobs: 1, force });
  return { root, cache, events, runs, build };
}

const warnings = (events: BuildEvent[]) => events.flatMap((e) => (e.type === 'message' && e.level === 'warn' ? [e.text] : []));

test('a truncated, edited or deleted file in an entry is caught on lookup: warning, entry replaced, stage rebuilt', async () => {
  const s = setup('damage');
  const first = (await s.build()).get('blob')!;
  const data = join(first.dir, 'sub', 'data.bin');
  const good = readFileSync(data);
  const manifest = JSON.parse(readFileSync(join(s.cache.entryDir(first.key), 'manifest.json'), 'utf8'));
  assert.is(manifest.mtimes['sub/data.bin'], statSync(data).mtimeMs, 'manifest mtime is what is on disk');
  assert.ok(statSync(join(s.cache.entryDir(first.key), 'used')).isFile());

  const damage: [string, () => void, RegExp][] = [
    ['truncated', () => writeFileSync(data, good.subarray(0, 10)), /sub\/data\.bin has 10 bytes, the manifest says 7000/],
    // same size, new mtime: the cheap check re-hashes it
    ['edited in place', () => writeFileSync(data, Buffer.from(good).fill(0x41, 0, 7)), /sub\/data\.bin was modified .*content differs/],
    ['deleted', () => unlinkSync(join(first.dir, 'small.txt')), /small\.txt is missing/],
    ['manifest lost', () => unlinkSync(join(s.cache.entryDir(first.key), 'manifest.json')), /manifest\.json is missing/],
  ];
  for (const [what, harm, expected] of damage) {
    s.runs.length = 0;
    s.events.length = 0;
    harm();
    const again = (await s.build()).get('blob')!;
    assert.equal(s.runs, ['blob'], `${what}: rebuilt`);
    assert.not.ok(again.cached, what);
    const w = warnings(s.events);
    assert.is(w.length, 1, `${what}: one warning`);
    assert.match(w[0], /^stage blob: cached output [0-9a-f]{16} is damaged/);
    assert.match(w[0], expected);
    assert.equal(readFileSync(join(again.dir, 'sub', 'data.bin')), good, `${what}: good bytes again`);
    assert.is(again.manifest.digest, first.manifest.digest);
    // nothing left aside once the build is done
    assert.equal(readdirSync(join(s.root, 'tmp')), [], what);
  }
  s.runs.length = 0;
  await s.build();
  assert.equal(s.runs, [], 'the rebuilt entry is a hit');
});

test('a file whose mtime alone changed (a downstream hard link + utimes) is re-hashed once, not rebuilt', async () => {
  const s = setup('touch');
  const first = (await s.build()).get('blob')!;
  const data = join(first.dir, 'sub', 'data.bin');
  utimesSync(data, 1000, 1000);
  s.runs.length = 0;
  const again = (await s.build()).get('blob')!;
  assert.equal(s.runs, []);
  assert.ok(again.cached);
  assert.equal(warnings(s.events), []);
  const manifest = JSON.parse(readFileSync(join(s.cache.entryDir(first.key), 'manifest.json'), 'utf8'));
  assert.is(manifest.mtimes['sub/data.bin'], 1_000_000, 'the new mtime is recorded');
});

test('an entry from before mtimes were recorded is still a hit (size check only)', async () => {
  const s = setup('oldmanifest');
  const first = (await s.build()).get('blob')!;
  const mpath = join(s.cache.entryDir(first.key), 'manifest.json');
  const m = JSON.parse(readFileSync(mpath, 'utf8'));
  delete m.mtimes;
  delete m.committedAt;
  writeFileSync(mpath, JSON.stringify(m));
  unlinkSync(join(s.cache.entryDir(first.key), 'used'));
  s.runs.length = 0;
  assert.ok((await s.build()).get('blob')!.cached);
  assert.equal(s.runs, []);
  assert.ok(statSync(join(s.cache.entryDir(first.key), 'used')).isFile(), 'a hit writes the used stamp');
});

test('commit over a damaged entry replaces it (it used to fail with ENOTEMPTY)', async () => {
  const s = setup('commit');
  const first = (await s.build()).get('blob')!;
  writeFileSync(join(first.dir, 'small.txt'), 'x');
  // --force skips lookup, so the damaged entry is still there when commit renames
  const forced = (await s.build(['blob'])).get('blob')!;
  assert.not.ok(forced.cached);
  assert.is(readFileSync(join(forced.dir, 'small.txt'), 'utf8'), 'small');
  assert.match(warnings(s.events).join('\n'), /small\.txt has 1 bytes/);
});

test('the used stamp moves on every hit', async () => {
  const s = setup('used');
  const first = (await s.build()).get('blob')!;
  const used = join(s.cache.entryDir(first.key), 'used');
  utimesSync(used, 1, 1);
  await s.build();
  assert.ok(statSync(used).mtimeMs > Date.now() - 60_000);
});

test('cache verify catches a same-size, same-mtime content change, exits 1, and --fix removes the entry', async () => {
  const s = setup('verify');
  const first = (await s.build()).get('blob')!;
  const clean = await cacheCli('verify', '--cache', s.root);
  assert.is(clean.code, 0, clean.stderr);
  assert.match(clean.stdout, /1 entries checked, 0 damaged/);

  const data = join(first.dir, 'sub', 'data.bin');
  // a whole-second mtime (utimes cannot restore sub-millisecond ones), recorded by the next lookup
  utimesSync(data, 1_700_000_000, 1_700_000_000);
  assert.ok(await s.cache.lookup(first.key));
  const bytes = readFileSync(data);
  bytes[100] ^= 0xff;
  writeFileSync(data, bytes);
  utimesSync(data, 1_700_000_000, 1_700_000_000);
  assert.is(statSync(data).size, 7000);
  // the cheap check cannot see it...
  assert.is((await s.cache.check(first.key)).status, 'ok');
  // ...verify can
  const bad = await cacheCli('verify', '--cache', s.root, '--json');
  assert.is(bad.code, 1);
  const report = JSON.parse(bad.stdout);
  assert.is(report.ok, false);
  assert.equal(report.damaged.map((d: any) => [d.stage, d.key]), [['blob', first.key]]);
  assert.match(report.damaged[0].problems[0], /^out\/sub\/data\.bin: content differs/);

  const fixed = await cacheCli('verify', '--cache', s.root, '--fix');
  assert.is(fixed.code, 1, 'still reports what it found');
  assert.match(fixed.stdout, /DAMAGED blob [0-9a-f]{16} \(removed\)/);
  assert.equal(readdirSync(join(s.root, 'stages')), []);
  assert.is((await cacheCli('verify', '--cache', s.root)).code, 0);
  s.runs.length = 0;
  await s.build();
  assert.equal(s.runs, ['blob']);
});

test('cache gc evicts least recently used entries until under the size, sparing entries a live build holds', async () => {
  const root = join(work, 'gc');
  const cache = new StageCache(root);
  const sizeOf = { s1: 100, s2: 200, s3: 300, s4: 400 };
  const stages = Object.entries(sizeOf).map(([name, kib]) => defineStage({ name, version: 1, options: {}, async run(ctx) {
    await writeFile(join(ctx.out, 'f'), Buffer.alloc(kib * 1024, name));
  } }));
  const results = await runGraph(stages, { cache, reporter: { emit() {}, close() {} }, sourceDateEpoch: 1, scope: 't', jobs: 2 });
  const key = (n: string) => results.get(n)!.key;
  // last used: s3 oldest, then s1, s4, s2 newest
  const order = ['s3', 's1', 's4', 's2'];
  order.forEach((n, i) => utimesSync(join(cache.entryDir(key(n)), 'used'), 1_000_000 + i * 1000, 1_000_000 + i * 1000));

  const ls = JSON.parse((await cacheCli('ls', '--json', '--cache', root)).stdout);
  assert.equal(ls.entries.map((e: any) => e.stage), order, 'ls lists least recently used first');
  const total = ls.totalBytes;
  assert.ok(total > 1000 * 1024 && total < 1010 * 1024, String(total));

  const dry = JSON.parse((await cacheCli('gc', '--max-size', '700K', '--dry-run', '--json', '--cache', root)).stdout);
  assert.equal(dry.evict, [key('s3'), key('s1')]);
  assert.is(readdirSync(join(root, 'stages')).length, 4, 'dry run removes nothing');

  // this test process "builds" with s3: gc must keep it and take the next instead
  const hold = cache.holdKeys();
  await hold.hold(key('s3'));
  try {
    const r = await cacheCli('gc', '--max-size', '700K', '--json', '--cache', root);
    assert.is(r.code, 0, r.stderr);
    const gc = JSON.parse(r.stdout);
    assert.equal(gc.removed, [key('s1'), key('s4')]);
    assert.equal(gc.skippedHeld, [key('s3')]);
    assert.ok(gc.afterBytes <= 700 * 1024, String(gc.afterBytes));
    assert.equal(readdirSync(join(root, 'stages')).sort(), [key('s2'), key('s3')].sort());
  } finally {
    hold.release();
  }
  // released: now s3 (oldest) goes
  const r2 = JSON.parse((await cacheCli('gc', '--max-size', '250K', '--json', '--cache', root)).stdout);
  assert.equal(r2.removed, [key('s3')]);
  assert.equal(readdirSync(join(root, 'stages')), [key('s2')]);
  assert.equal(readdirSync(join(root, 'tmp')), [], 'evicted entries are gone, not parked');
});

test('a lock file left by a process that is gone does not protect its keys; gc sweeps its scratch', async () => {
  const root = join(work, 'stale-lock');
  const cache = new StageCache(root);
  const st = defineStage({ name: 'x', version: 1, options: {}, async run(ctx) { await writeFile(join(ctx.out, 'f'), 'x'); } });
  const key = (await runGraph([st], { cache, reporter: { emit() {}, close() {} }, sourceDateEpoch: 1, scope: 't' })).get('x')!.key;
  const dead = spawn(process.execPath, ['-e', '']);
  await new Promise((r) => dead.on('close', r));
  appendFileSync(join(cache.locksDir, `${dead.pid}.0`), `${key}\n`);
  mkdirSync(join(root, 'tmp', `${key.slice(0, 16)}.${dead.pid}.0`, 'out'), { recursive: true });
  assert.ok(cache.heldKeys().size === 0);
  assert.equal(readdirSync(cache.locksDir), [], 'the stale lock file is removed');
  const gc = JSON.parse((await cacheCli('gc', '--max-size', '0', '--json', '--cache', root)).stdout);
  assert.equal(gc.removed, [key]);
  assert.equal(readdirSync(join(root, 'tmp')), [], 'the dead build\'s scratch is swept too');
});

test('two builds sharing one cache at the same time both succeed, agree, and leave it clean', async () => {
  const root = join(work, 'concurrent');
  const gate = join(work, 'concurrent-gate');
  // both builds run the slow stage at once: each waits at the gate until the other is there too,
  // so both commit the same key and the second must keep the first's entry
  const waiting = new Set<number>();
  const start = () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'tests/lib/cache-graph.ts', root, gate], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => {
      stdout += c;
      if (stdout.includes('"stage":"slow","note":"waiting for the gate"')) waiting.add(child.pid!);
      if (waiting.size === 2 && !existsSync(gate)) writeFileSync(gate, '');
    });
    child.stderr.on('data', (c) => { stderr += c; });
    return new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => child.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr })));
  };
  const [a, b] = await Promise.all([start(), start()]);
  assert.is(a.code, 0, a.stderr);
  assert.is(b.code, 0, b.stderr);
  assert.is(waiting.size, 2, 'both builds were inside the slow stage at once');
  const events = (r: { stdout: string }) => r.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l));
  const slowFinish = [a, b].map((r) => events(r).find((e) => e.stage === 'slow' && e.type === 'stage-finish'));
  assert.ok(slowFinish[0] && slowFinish[1], 'both ran slow');
  assert.is(slowFinish[0].key, slowFinish[1].key);
  const v = await cacheCli('verify', '--cache', root, '--json');
  assert.is(v.code, 0, v.stdout);
  assert.is(JSON.parse(v.stdout).checked, 3);
  assert.equal(readdirSync(join(root, 'tmp')), [], 'the losing commit removed its scratch');
  assert.equal(readdirSync(join(root, 'locks')), [], 'both builds released their holds');
});

test('cache gc --max-size 0 while a build is running leaves that build\'s entries, and the build completes', async () => {
  const root = join(work, 'gc-during-build');
  const gate = join(work, 'gc-gate');
  // an entry no build holds, which gc must take
  const cache = new StageCache(root);
  const idle = defineStage({ name: 'idle', version: 1, options: {}, async run(ctx) { await writeFile(join(ctx.out, 'f'), 'idle'); } });
  const idleKey = (await runGraph([idle], { cache, reporter: { emit() {}, close() {} }, sourceDateEpoch: 1, scope: 't' })).get('idle')!.key;
  let gcResult: any;
  const build = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'tests/lib/cache-graph.ts', root, gate], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let started = false;
    child.stdout.on('data', async (c) => {
      stdout += c;
      if (!started && stdout.includes('"note":"waiting for the gate"')) {
        started = true;
        const r = await cacheCli('gc', '--max-size', '0', '--json', '--cache', root);
        gcResult = r.code === 0 ? JSON.parse(r.stdout) : r;
        writeFileSync(gate, '');
      }
    });
    child.stderr.on('data', (c) => { stderr += c; });
    child.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr }));
  });
  assert.is(build.code, 0, build.stderr);
  assert.ok(gcResult?.removed, JSON.stringify(gcResult));
  const genKey = JSON.parse(build.stdout.split('\n').find((l) => l.includes('"stage":"gen"'))!).key;
  assert.equal(gcResult.removed, [idleKey]);
  assert.equal(gcResult.skippedHeld, [genKey]);
  const v = await cacheCli('verify', '--cache', root, '--json');
  assert.is(v.code, 0, v.stdout);
  assert.is(JSON.parse(v.stdout).checked, 3, 'gen, slow and final');
});

test.run();

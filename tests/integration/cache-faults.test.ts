// Faults a build meets, and what is left afterwards: a build killed with
// SIGKILL in the middle of a stage, a full disk under the cache, a command that
// is not installed, and a compiler that rejects its input. Each must fail (or
// recover) with a message a person can act on and leave no half entry behind.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from '../../cli/shared.ts';
import { xsforge } from '../lib/build.ts';
import { StageCache } from '../../core/cache.ts';
import { BuildError, runGraph } from '../../core/engine.ts';
import type { BuildEvent } from '../../core/events.ts';
import { run } from '../../core/exec.ts';
import { defineStage } from '../../core/stage.ts';
import { registerToolPackages } from '../../core/which.ts';

const work = mkdtempSync(join(tmpdir(), 'xsf-cache-faults-'));
const mounted: string[] = [];
test.after(async () => {
  for (const m of mounted) await run(['umount', m]).catch(() => undefined);
  rmSync(work, { recursive: true, force: true });
});

const quiet = { emit() {}, close() {} };
const manifests = (root: string) => readdirSync(join(root, 'stages')).map((k) => JSON.parse(readFileSync(join(root, 'stages', k, 'manifest.json'), 'utf8')));
const failureOf = (p: Promise<unknown>) => p.then(() => { throw new Error('the build should have failed'); }, (e: Error) => e);

/** Runs tests/lib/cache-graph.ts; `onLine` sees each JSON event as it arrives. */
function graphProcess(cacheRoot: string, gate: string, onEvent?: (e: any, pid: number) => void) {
  const child = spawn(process.execPath, ['--import', 'tsx', 'tests/lib/cache-graph.ts', cacheRoot, gate], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  let partial = '';
  child.stdout.on('data', (c) => {
    stdout += c;
    partial += c;
    const lines = partial.split('\n');
    partial = lines.pop()!;
    for (const l of lines) if (l) onEvent?.(JSON.parse(l), child.pid!);
  });
  child.stderr.on('data', (c) => { stderr += c; });
  const done = new Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string }>((resolve) => child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })));
  return { child, done };
}

test('a build killed with SIGKILL mid-stage leaves no entry for that stage; the rerun succeeds with the same outputs as an uninterrupted build', async () => {
  const root = join(work, 'killed');
  const gate = join(work, 'gate');
  let sawSlowWaiting = false;
  const killed = graphProcess(root, gate, (e, pid) => {
    // the stage has written its first file and is waiting: kill it now
    if (e.type === 'stage-progress' && e.stage === 'slow' && !sawSlowWaiting) {
      sawSlowWaiting = true;
      process.kill(pid, 'SIGKILL');
    }
  });
  const k = await killed.done;
  assert.ok(sawSlowWaiting, `the build never reached the slow stage:\n${k.stderr}`);
  assert.is(k.signal, 'SIGKILL');
  // what the kill left: gen's entry, and slow's half-written scratch, which nothing trusts
  assert.equal(manifests(root).map((m) => m.stage), ['gen']);
  const scratch = readdirSync(join(root, 'tmp'));
  assert.is(scratch.length, 1);
  assert.ok(existsSync(join(root, 'tmp', scratch[0], 'out', 'first-half.bin')));

  writeFileSync(gate, '');
  const rerun = await graphProcess(root, gate).done;
  assert.is(rerun.code, 0, rerun.stderr);
  const events = rerun.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l));
  assert.equal(events.filter((e) => e.type === 'stage-cached').map((e) => e.stage), ['gen']);
  assert.equal(events.filter((e) => e.type === 'stage-finish').map((e) => e.stage), ['slow', 'final']);
  assert.equal(readdirSync(join(root, 'tmp')), [], 'the killed build\'s scratch was swept');

  const reference = join(work, 'uninterrupted');
  const clean = await graphProcess(reference, gate).done;
  assert.is(clean.code, 0, clean.stderr);
  const digests = (r: string) => Object.fromEntries(manifests(r).map((m) => [m.stage, { key: m.key, digest: m.digest, files: m.files }]));
  assert.equal(digests(root), digests(reference));
});

test('a full disk under the cache fails the build naming ENOSPC and the cache directory, and leaves no entry or scratch', async () => {
  const root = join(work, 'full');
  mkdirSync(root);
  await run(['mount', '-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', root]);
  mounted.push(root);
  const cache = new StageCache(root);
  const big = (name: string, how: 'node' | 'tool') => defineStage({ name, version: 1, options: {}, tools: ['dd'], async run(ctx) {
    await writeFile(join(ctx.out, 'fits.txt'), 'a small file first');
    if (how === 'node') await writeFile(join(ctx.out, 'big.bin'), Buffer.alloc(4 << 20, 1));
    else await ctx.run(['dd', 'if=/dev/zero', `of=${join(ctx.out, 'big.bin')}`, 'bs=1M', 'count=4']);
  } });
  for (const how of ['node', 'tool'] as const) {
    const events: BuildEvent[] = [];
    const err = await failureOf(runGraph([big(`big-${how}`, how)], { cache, reporter: { emit: (e) => events.push(e), close() {} }, sourceDateEpoch: 1, scope: 't' }));
    assert.instance(err, BuildError, how);
    assert.match(err.message, /no space left on device \(ENOSPC\)/, how);
    assert.ok(err.message.includes(`in the stage cache ${root}`), `${how}: ${err.message}`);
    assert.match((err as BuildError).hint ?? '', /xsforge cache gc --max-size/);
    if (how === 'tool') assert.match(err.message, /command: dd if=\/dev\/zero/);
    assert.equal(readdirSync(join(root, 'stages')), [], `${how}: no entry`);
    assert.equal(readdirSync(join(root, 'tmp')), [], `${how}: no scratch`);
    const failed = events.find((e) => e.type === 'stage-failed') as Extract<BuildEvent, { type: 'stage-failed' }>;
    assert.is(failed.log, undefined, 'no log path into a directory that is gone');
  }
  // and the space is free again: a small stage still builds
  const small = defineStage({ name: 'small', version: 1, options: {}, async run(ctx) { await writeFile(join(ctx.out, 'f'), Buffer.alloc(1 << 20)); } });
  await runGraph([small], { cache, reporter: quiet, sourceDateEpoch: 1, scope: 't' });
});

test('a command that is not installed fails fast with the command and a hint; a known one names its Debian package', async () => {
  const cache = new StageCache(join(work, 'missing'));
  const missing = (cmd: string) => defineStage({ name: `uses-${cmd}`, version: 1, options: {}, async run(ctx) { await ctx.run([cmd, '--version']); } });

  const t0 = Date.now();
  const unknown = await failureOf(runGraph([missing('xsforge-no-such-tool')], { cache, reporter: quiet, sourceDateEpoch: 1, scope: 't' })) as BuildError;
  assert.ok(Date.now() - t0 < 5000, 'fails fast');
  assert.match(unknown.message, /uses-xsforge-no-such-tool: xsforge-no-such-tool/);
  assert.match(unknown.message, /command: xsforge-no-such-tool --version/);
  assert.match(unknown.hint ?? '', /'xsforge-no-such-tool' is not on PATH.*HOST_TOOLS/);

  // as for every HOST_TOOLS entry: the hint says which package to install
  registerToolPackages([{ command: 'xsforge-absent-tool', debianPackage: 'xsforge-absent-pkg' }]);
  const known = await failureOf(runGraph([missing('xsforge-absent-tool')], { cache, reporter: quiet, sourceDateEpoch: 1, scope: 't' })) as BuildError;
  assert.match(known.message, /required tool 'xsforge-absent-tool' is not installed/);
  assert.match(known.hint ?? '', /apt-get install -y --no-install-recommends xsforge-absent-pkg/);
  assert.equal(readdirSync(join(cache.root, 'stages')), []);
});

test('a compiler error fails the stage with the gcc command line and the end of its output', async () => {
  const cache = new StageCache(join(work, 'gcc'));
  const events: BuildEvent[] = [];
  const compile = defineStage({ name: 'compile', version: 1, options: {}, tools: ['gcc'], async run(ctx) {
    const src = join(ctx.work, 'broken.c');
    await writeFile(src, 'int main(void)\n{\n  return 0\n}\n');
    await ctx.run(['gcc', '-c', src, '-o', join(ctx.out, 'broken.o')]);
  } });
  const err = await failureOf(runGraph([compile], { cache, reporter: { emit: (e) => events.push(e), close() {} }, sourceDateEpoch: 1, scope: 't' }));
  assert.match(err.message, /build failed in compile/);
  assert.match(err.message, /gcc exited with status 1/);
  assert.match(err.message, /command: gcc -c \S+broken\.c -o \S+broken\.o/);
  assert.match(err.message, /\| .*broken\.c:3:\d+: error: expected .;. before .}. token/);
  const failed = events.find((e) => e.type === 'stage-failed') as Extract<BuildEvent, { type: 'stage-failed' }>;
  assert.match(readFileSync(failed.log!, 'utf8'), /error: expected .;./, 'the build log has the whole output');
  assert.equal(readdirSync(join(cache.root, 'stages')), []);
});

test('an unreachable package mirror fails the real build fast with the apt command, its output and the mirror to check', async () => {
  // a closed port on loopback: connection refused at once (apt retries a little)
  const recipe = join(work, 'mirror-down.yaml');
  writeFileSync(recipe, `extends: ${join(REPO_ROOT, 'recipes/test-mini.yaml')}\nname: mirror-down\ndebian:\n  mirror: http://127.0.0.1:9/debian\n  suite: bookworm\n  components: [main]\n`);
  const cache = join(work, 'mirror-cache');
  const t0 = Date.now();
  const r = await xsforge(['build', recipe, '-o', join(work, 'mirror-out'), '--cache', cache]);
  const seconds = (Date.now() - t0) / 1000;
  assert.is(r.code, 1, r.stderr);
  assert.ok(seconds < 60, `failed in ${seconds.toFixed(1)} s`);
  assert.match(r.stderr, /xsforge: error: apt-get exited with status 100/);
  assert.match(r.stderr, /command: apt-get .*--error-on=any update/);
  assert.match(r.stderr, /\| E: Failed to fetch http:\/\/127\.0\.0\.1:9\/debian\/dists\/bookworm\/InRelease +Could not connect/);
  assert.match(r.stderr, /hint: check that http:\/\/127\.0\.0\.1:9\/debian is reachable and serves bookworm/);
  const stored = existsSync(join(cache, 'stages')) ? manifests(cache).map((m) => m.stage as string) : [];
  assert.equal(stored.filter((st) => /dom0|install-img|hypervisor|kernel|boot-files/.test(st)), [], `no stage that needs the mirror was stored (stored: ${stored.join(', ') || 'none'})`);
});

test.run();

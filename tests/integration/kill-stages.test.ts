// A real build killed with SIGKILL in the middle of each kind of stage, then run
// again: the rerun succeeds, the stage's output has the digest an uninterrupted
// build gave it (so the ISO is the same bytes), the killed build's scratch is
// swept and nothing stays mounted under the cache.
//
// The whole process group is killed (xsforge and the tool it runs), as a CI
// timeout or a closed terminal would. Kinds in make test: deb extraction
// (boot-files, kernel), mkfs.fat + mtools (efi-image), rpmbuild (rpms),
// createrepo_c (yum-repo), xorriso (iso). The long ones, mmdebstrap in a chroot
// (dom0-rootfs, install-img) and the hypervisor's compile, run in make
// test-matrix (XSFORGE_KILL_STAGES names the stages to kill).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from '../../cli/shared.ts';
import { defaultCacheRoot } from '../../core/cache.ts';
import { buildRecipe, readManifest } from '../lib/build.ts';

const RECIPE = join(REPO_ROOT, 'recipes/test-mini.yaml');
const STAGES = (process.env.XSFORGE_KILL_STAGES ?? 'boot-files,kernel,efi-image,rpms,yum-repo,iso').split(',').map((s) => s.trim()).filter(Boolean);
const work = mkdtempSync(join(tmpdir(), 'xsf-kill-stages-'));
const cacheRoot = process.env.XSFORGE_CACHE || defaultCacheRoot();
test.after(() => rmSync(work, { recursive: true, force: true }));

interface Entry { key: string; digest: string; durationMs: number }
let before: Record<string, Entry> = {};
let isoSha = '';

function entryOf(key: string): Entry {
  const m = JSON.parse(readFileSync(join(cacheRoot, 'stages', key, 'manifest.json'), 'utf8'));
  return { key, digest: m.digest, durationMs: m.durationMs };
}

function stageEntries(outDir: string): Record<string, Entry> {
  const keys = readManifest(outDir).stages as Record<string, string>;
  return Object.fromEntries(Object.entries(keys).map(([s, k]) => [s, entryOf(k)]));
}

const isoSha256 = (outDir: string): string => (readManifest(outDir).artifacts as Array<{ kind: string; sha256: string }>).find((a) => a.kind === 'install-iso')!.sha256;

/** Mount points under the cache (a killed chroot stage must not leave /proc or /dev mounted there). */
function mountsUnderCache(): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8').split('\n').map((l) => l.split(' ')[4] ?? '').filter((m) => m.startsWith(`${cacheRoot}/`));
}

/**
 * `xsforge build --force STAGE` in its own process group, SIGKILLed `delayMs`
 * after STAGE starts. Resolves with what happened before the kill.
 */
function killDuring(stage: string, delayMs: number, out: string): Promise<{ killed: boolean; finishedFirst: boolean; pid: number }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [join(REPO_ROOT, 'bin/xsforge'), 'build', RECIPE, '--json', '-o', out, '--force', stage], { stdio: ['ignore', 'pipe', 'ignore'], detached: true });
    let partial = '';
    let finishedFirst = false;
    let timer: NodeJS.Timeout | undefined;
    child.stdout.on('data', (c) => {
      partial += c;
      const lines = partial.split('\n');
      partial = lines.pop()!;
      for (const l of lines) {
        const e = JSON.parse(l);
        if (e.stage !== stage) continue;
        if (e.type === 'stage-start' && !timer) timer = setTimeout(() => { try { process.kill(-child.pid!, 'SIGKILL'); } catch { /* gone */ } }, delayMs);
        if (e.type === 'stage-finish') finishedFirst = true;
      }
    });
    child.on('close', (_code, signal) => { clearTimeout(timer); resolve({ killed: signal === 'SIGKILL', finishedFirst, pid: child.pid! }); });
  });
}

test.before(async () => {
  const first = await buildRecipe(RECIPE, { output: join(work, 'first') });
  before = stageEntries(first.outDir);
  isoSha = isoSha256(first.outDir);
  for (const s of STAGES) if (!before[s]) throw new Error(`test-mini has no stage ${s} (it has ${Object.keys(before).join(', ')})`);
});

for (const stage of STAGES) {
  test(`SIGKILL in the middle of ${stage}: the rerun succeeds with the same output digest and ISO`, async () => {
    const b = before[stage]!;
    // about halfway through, by how long the stage took last time; a stage that
    // beat the kill is tried again with the kill sooner
    let outcome: Awaited<ReturnType<typeof killDuring>> | undefined;
    for (const fraction of [0.4, 0.1, 0]) {
      outcome = await killDuring(stage, Math.round(b.durationMs * fraction), join(work, `killed-${stage}`));
      if (!outcome.finishedFirst) break;
    }
    assert.ok(outcome!.killed, `the build of ${stage} was killed`);
    assert.not.ok(outcome!.finishedFirst, `${stage} was killed before it finished`);
    // the entry the uninterrupted build made is still there and whole
    assert.is(entryOf(b.key).digest, b.digest, 'the killed build did not touch the stored entry');

    const rerun = await buildRecipe(RECIPE, { output: join(work, `rerun-${stage}`), extra: ['--force', stage] });
    const ran = rerun.events.filter((e) => e.type === 'stage-finish').map((e) => e.stage);
    assert.ok(ran.includes(stage), `${stage} ran again (ran: ${ran.join(', ')})`);
    assert.is(stageEntries(rerun.outDir)[stage]!.digest, b.digest, `${stage}'s output is the same as the uninterrupted build's`);
    assert.is(isoSha256(rerun.outDir), isoSha, 'the ISO is the same bytes');
    // the rerun swept the killed build's scratch; nothing of it is mounted
    const left = existsSync(join(cacheRoot, 'tmp')) ? readdirSync(join(cacheRoot, 'tmp')).filter((n) => n.split('.')[1] === String(outcome!.pid)) : [];
    assert.equal(left, [], 'no scratch of the killed build is left');
    assert.equal(mountsUnderCache(), [], 'nothing is mounted under the cache');
  });
}

test.run();

// Runs the test tiers (unit, integration, e2e) with uvu, one process per file so
// a crash in one file cannot hide the others, and prints `N passed, N failed`.
// Usage: node --import tsx tests/run.ts [tier...] [--filter REGEX] [--lanes N]
//
// Unit files run one after another. Integration files run in lanes (default
// 2, XSFORGE_TEST_LANES or --lanes): most wait on one tool at a time. E2e files
// run one at a time (XSFORGE_E2E_LANES): measured here, two guests side by side
// each took 2.7 times as long to reach login (268 and 277 s against 101-136 s
// alone; 232-237 s against 127 s with single-threaded TCG), so a second lane
// only loses. reproducible.test (a clean build, CPU-bound) is an integration
// file: run beside the first e2e file it cost that file as much as it saved
// (upgrade-restore 953 s against 585 s alone, while it took 473 s). A file that
// needs a fixed host resource names it in a line `// test-lock: NAME` (e.g. the
// answer-file port): files sharing a lock never overlap. Longest files start
// first, by the durations the last run recorded.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defaultCacheRoot } from '../core/cache.ts';
import { locksOf, runInLanes } from './lib/lanes.ts';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const args = process.argv.slice(2);
const optionValue = (name: string): string | undefined => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const filterText = optionValue('--filter');
const filter = filterText ? new RegExp(filterText) : undefined;
const lanes = Math.max(1, Number(optionValue('--lanes') ?? process.env.XSFORGE_TEST_LANES ?? 2) || 1);
const e2eLanes = Math.max(1, Number(process.env.XSFORGE_E2E_LANES ?? 1) || 1);
const tiers = args.filter((a, i) => !a.startsWith('--') && !['--filter', '--lanes'].includes(args[i - 1] ?? ''));
const selected = tiers.length ? tiers : ['unit', 'integration', 'e2e'];

// Where the last run's durations are kept (outside the work tree, like the stage cache).
const cacheRoot = defaultCacheRoot();
const durationsFile = join(cacheRoot, 'test-durations.json');
// Seconds measured in CI (stop 12), used until this machine has its own numbers.
const FIRST_RUN_DURATIONS: Record<string, number> = {
  'tests/e2e/upgrade-restore.test.ts': 585,
  'tests/e2e/install.test.ts': 505,
  'tests/integration/reproducible.test.ts': 450,
  'tests/e2e/pxe-install.test.ts': 447,
  'tests/e2e/factory-install.test.ts': 263,
  'tests/e2e/interactive-install.test.ts': 250,
  'tests/e2e/install-refusals.test.ts': 99,
  'tests/e2e/install-rpm-dom0.test.ts': 96,
  'tests/integration/disk-image-formats.test.ts': 59,
  'tests/e2e/netboot-boot.test.ts': 56,
  'tests/integration/install-img.test.ts': 41,
  'tests/integration/upgrade-exec.test.ts': 40,
  'tests/integration/build.test.ts': 28,
};
const durations: Record<string, number> = (() => {
  try { return { ...FIRST_RUN_DURATIONS, ...JSON.parse(readFileSync(durationsFile, 'utf8')) as Record<string, number> }; } catch { return { ...FIRST_RUN_DURATIONS }; }
})();

let passed = 0;
let failed = 0;
const failures: string[] = [];

interface FileResult { passed: number; failed: number; code: number; out: string }

function runFile(file: string, opts: { quiet?: boolean } = {}): Promise<FileResult> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', file], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, FORCE_COLOR: '0' } });
    let out = '';
    child.stdout.on('data', (c) => { out += c; if (!opts.quiet) process.stdout.write(c); });
    child.stderr.on('data', (c) => { out += c; if (!opts.quiet) process.stderr.write(c); });
    child.on('close', (code) => {
      const total = Number(/Total:\s+(\d+)/.exec(out)?.[1] ?? 0);
      const p = Number(/Passed:\s+(\d+)/.exec(out)?.[1] ?? 0);
      // uvu's Total counts the tests that ran; skipped ones are outside it
      let f = Math.max(0, total - p);
      if (code !== 0 && f === 0) f = 1; // crashed before reporting
      resolve({ passed: p, failed: f, code: code ?? 1, out });
    });
  });
}

function tally(file: string, r: { passed: number; failed: number }, t0: number): void {
  passed += r.passed;
  failed += r.failed;
  if (r.failed) failures.push(file);
  const seconds = (Date.now() - t0) / 1000;
  if (!r.failed) durations[file] = Math.round(seconds);
  process.stdout.write(`== ${file}: ${r.passed} passed, ${r.failed} failed (${seconds.toFixed(1)} s)\n`);
}

/** Runs files in `n` lanes (tests/lib/lanes.ts): live output with one lane, each file's output whole when it ends with more. */
async function runFilesInLanes(files: string[], n: number): Promise<void> {
  const jobs = files.map((name) => ({ name, locks: locksOf(readFileSync(join(root, name), 'utf8')), cost: durations[name] ?? 0 }));
  const held = n > 1;
  await runInLanes(jobs, n, async (job, i) => {
    const file = job.name;
    process.stdout.write(held ? `\n== ${file}: started in lane ${i}; its output follows when it ends\n` : `\n== ${file}\n`);
    const t0 = Date.now();
    const r = await runFile(file, { quiet: held });
    if (held) process.stdout.write(`\n== ${file} (lane ${i})\n${r.out}`);
    tally(file, r, t0);
  });
}

const start = Date.now();
for (const tier of selected) {
  const dir = join(root, 'tests', tier);
  if (!existsSync(dir)) continue;
  const files = readdirSync(dir).filter((f) => f.endsWith('.test.ts')).sort().map((f) => join('tests', tier, f))
    .filter((f) => !filter || filter.test(f));
  // integration: real tools, mostly one process at a time each, two files side by side
  await runFilesInLanes(files, tier === 'integration' ? lanes : tier === 'e2e' ? e2eLanes : 1);
}
try {
  mkdirSync(cacheRoot, { recursive: true });
  writeFileSync(durationsFile, `${JSON.stringify(durations, null, 1)}\n`);
} catch { /* durations only order the next run */ }
if (failures.length) process.stdout.write(`\nfailing files:\n${failures.map((f) => `  ${f}`).join('\n')}\n`);
process.stdout.write(`\ntests took ${((Date.now() - start) / 1000).toFixed(1)} s\n`);
process.stdout.write(`${passed} passed, ${failed} failed\n`);
process.exitCode = failed ? 1 : 0;

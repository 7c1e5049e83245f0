// Runs the test tiers (unit, integration, e2e) with uvu, one process per file so
// a crash in one file cannot hide the others, and prints `N passed, N failed`.
// Usage: node --import tsx tests/run.ts [tier...] [--filter REGEX]
import { spawn } from 'node:child_process';
import { readdirSync, existsSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const args = process.argv.slice(2);
const filterIdx = args.indexOf('--filter');
const filter = filterIdx >= 0 ? new RegExp(args[filterIdx + 1]) : undefined;
const tiers = args.filter((a, i) => !a.startsWith('--') && args[i - 1] !== '--filter');
const selected = tiers.length ? tiers : ['unit', 'integration', 'e2e'];

let passed = 0;
let failed = 0;
const failures: string[] = [];

// Heavy files that use the CPU but no VM: when the e2e tier runs too, they run
// alongside it (QEMU under TCG waits on one guest at a time), output held back
// until they finish, which saves their whole duration on the README's command.
const ALONGSIDE_E2E = new Set(['tests/integration/reproducible.test.ts']);

function runFile(file: string, opts: { quiet?: boolean } = {}): Promise<{ passed: number; failed: number; code: number; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', file], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, FORCE_COLOR: '0' } });
    let out = '';
    child.stdout.on('data', (c) => { out += c; if (!opts.quiet) process.stdout.write(c); });
    child.stderr.on('data', (c) => { out += c; if (!opts.quiet) process.stderr.write(c); });
    child.on('close', (code) => {
      const total = Number(/Total:\s+(\d+)/.exec(out)?.[1] ?? 0);
      const p = Number(/Passed:\s+(\d+)/.exec(out)?.[1] ?? 0);
      const skipped = Number(/Skipped:\s+(\d+)/.exec(out)?.[1] ?? 0);
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
  process.stdout.write(`== ${file}: ${r.passed} passed, ${r.failed} failed (${((Date.now() - t0) / 1000).toFixed(1)} s)\n`);
}

const start = Date.now();
const deferred: string[] = [];
const alongside: Array<Promise<void>> = [];
for (const tier of selected) {
  const dir = join(root, 'tests', tier);
  if (!existsSync(dir)) continue;
  if (tier === 'e2e') {
    for (const file of deferred.splice(0)) {
      process.stdout.write(`\n== ${file}: started alongside the e2e tier; its output follows when it ends\n`);
      const t0 = Date.now();
      alongside.push(runFile(file, { quiet: true }).then((r) => {
        process.stdout.write(`\n== ${file} (ran alongside e2e)\n${r.out}`);
        tally(file, r, t0);
      }));
    }
  }
  const files = readdirSync(dir).filter((f) => f.endsWith('.test.ts')).sort().map((f) => join('tests', tier, f));
  for (const file of files) {
    if (filter && !filter.test(file)) continue;
    if (ALONGSIDE_E2E.has(file) && selected.includes('e2e')) {
      deferred.push(file);
      continue;
    }
    process.stdout.write(`\n== ${file}\n`);
    const t0 = Date.now();
    const r = await runFile(file);
    tally(file, r, t0);
  }
}
// e2e selected but its folder absent or filtered out: deferred files still run
for (const file of deferred) {
  process.stdout.write(`\n== ${file}\n`);
  const t0 = Date.now();
  tally(file, await runFile(file), t0);
}
await Promise.all(alongside);
if (failures.length) process.stdout.write(`\nfailing files:\n${failures.map((f) => `  ${f}`).join('\n')}\n`);
process.stdout.write(`\ntests took ${((Date.now() - start) / 1000).toFixed(1)} s\n`);
process.stdout.write(`${passed} passed, ${failed} failed\n`);
process.exitCode = failed ? 1 : 0;

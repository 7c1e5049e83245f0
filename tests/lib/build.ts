// Shared by integration and e2e tests: run the real CLI, and build each recipe
// once per test process (the stage cache makes reruns cheap across processes).
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from '../../cli/shared.ts';

export interface CliResult { code: number; stdout: string; stderr: string }

export function xsforge(args: string[], env: Record<string, string> = {}, timeoutMs = 60 * 60 * 1000): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [join(REPO_ROOT, 'bin', 'xsforge'), ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => { stdout += c; });
    child.stderr.on('data', (c) => { stderr += c; if (process.env.XSFORGE_TEST_VERBOSE) process.stderr.write(c); });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (code) => { clearTimeout(timer); resolve({ code: code ?? 1, stdout, stderr }); });
  });
}

export interface BuildOutcome {
  iso: string;
  outDir: string;
  events: Array<Record<string, any>>;
  result: Record<string, any>;
}

/** xsforge build --json; throws with the tail of stderr on failure. */
export async function buildRecipe(recipe: string, opts: { output?: string; cache?: string; env?: Record<string, string>; extra?: string[] } = {}): Promise<BuildOutcome> {
  const output = opts.output ?? mkdtempSync(join(tmpdir(), 'xsf-out-'));
  const args = ['build', recipe, '--json', '-o', output, ...(opts.cache ? ['--cache', opts.cache] : []), ...(opts.extra ?? [])];
  const r = await xsforge(args, opts.env);
  const events = r.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l));
  if (r.code !== 0) throw new Error(`xsforge ${args.join(' ')} failed (${r.code}):\n${r.stderr.slice(-4000)}\n${r.stdout.slice(-2000)}`);
  const result = events.find((e) => e.type === 'result');
  return { iso: result.iso, outDir: result.output, events, result };
}

export function readManifest(outDir: string): any {
  return JSON.parse(readFileSync(join(outDir, 'manifest.json'), 'utf8'));
}

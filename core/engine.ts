// Runs a graph of stages: computes each stage's key from its declared inputs,
// reuses cached outputs, runs the rest (independent stages in parallel up to
// --jobs), and reports events. A stage's key uses its upstream stages' output
// digests, so an upstream rerun that yields the same bytes reruns nothing below.
import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { StageCache, removeTree, type CacheManifest } from './cache.ts';
import { ToolError, XsforgeError } from './errors.ts';
import { run as execRun } from './exec.ts';
import { diffInputs } from './explain.ts';
import type { BuildEvent, EventInput, Reporter } from './events.ts';
import { hashJson, sha256File, type Json } from './hash.ts';
import type { Stage, StageContext } from './stage.ts';
import { toolVersion } from './tools.ts';

export interface EngineOptions {
  cache: StageCache;
  reporter: Reporter;
  jobs?: number;
  sourceDateEpoch: number;
  /** groups --explain history, e.g. the recipe name */
  scope: string;
  /** compute reasons for every stage that runs */
  explain?: boolean;
  /** stage names to run even when their output is cached (--force) */
  force?: string[];
}

export interface StageResult {
  stage: Stage<any>;
  key: string;
  dir: string; // the cache entry's out/ directory
  manifest: CacheManifest;
  cached: boolean;
}

export class BuildError extends XsforgeError {
  constructor(readonly failures: { stage: string; error: unknown }[]) {
    super(`build failed in ${failures.map((f) => f.stage).join(', ')}:\n${failures.map((f) => `${f.stage}: ${(f.error as Error).message}`).join('\n')}`,
      failures.map((f) => (f.error as XsforgeError).hint).filter(Boolean).join('\n') || undefined);
  }
}

/** Every stage reachable from the targets, each once, dependencies first. */
export function collectStages(targets: Stage<any>[]): Stage<any>[] {
  const order: Stage<any>[] = [];
  const seen = new Set<Stage<any>>();
  const names = new Map<string, Stage<any>>();
  const onPath = new Set<Stage<any>>();
  const visit = (s: Stage<any>) => {
    if (seen.has(s)) return;
    if (onPath.has(s)) throw new XsforgeError(`stage graph has a cycle through ${s.name}`);
    onPath.add(s);
    for (const d of Object.values(s.deps ?? {})) visit(d);
    onPath.delete(s);
    seen.add(s);
    const other = names.get(s.name);
    if (other && other !== s) throw new XsforgeError(`two different stages are named ${s.name}`);
    names.set(s.name, s);
    order.push(s);
  };
  targets.forEach(visit);
  return order;
}

class Semaphore {
  private waiting: (() => void)[] = [];
  constructor(private free: number) {}
  async acquire(): Promise<void> {
    if (this.free > 0) { this.free--; return; }
    await new Promise<void>((r) => this.waiting.push(r));
  }
  release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.free++;
  }
}

export async function runGraph(targets: Stage<any>[], opts: EngineOptions): Promise<Map<string, StageResult>> {
  const stages = collectStages(targets);
  const emit = (e: EventInput) => opts.reporter.emit({ ...e, time: Date.now() } as BuildEvent);
  const slots = new Semaphore(Math.max(1, opts.jobs ?? 2));
  const results = new Map<string, StageResult>();
  const promises = new Map<Stage<any>, Promise<StageResult | undefined>>();
  const failures: { stage: string; error: unknown }[] = [];
  let ran = 0;
  let cachedCount = 0;
  const t0 = Date.now();
  await opts.cache.sweepScratch();
  // entries this build uses stay out of `cache gc`'s reach until it returns
  const held = opts.cache.holdKeys();
  emit({ type: 'build-start', stages: stages.length });

  const runOne = async (stage: Stage<any>): Promise<StageResult | undefined> => {
    const depResults: Record<string, StageResult> = {};
    for (const [alias, dep] of Object.entries(stage.deps ?? {})) {
      const r = await promises.get(dep)!;
      if (!r) {
        emit({ type: 'stage-skipped', stage: stage.name, because: `${dep.name} did not build` });
        return undefined;
      }
      depResults[alias] = r;
    }
    const keyInputs = await computeKeyInputs(stage, depResults, opts.sourceDateEpoch);
    const key = hashJson(keyInputs);
    const artifactsOf = (dir: string) => Object.fromEntries(Object.entries(stage.artifacts ?? {}).map(([k, a]) => [k, join(dir, a.path)]));
    const damaged = (then: string) => (problem: string) => emit({ type: 'message', level: 'warn', text: `stage ${stage.name}: cached output ${key.slice(0, 16)} is damaged (${problem}); ${then}` });
    await held.hold(key);
    const hit = opts.force?.includes(stage.name) ? undefined : await opts.cache.lookup(key, damaged('discarded, rebuilding'));
    if (hit) {
      const dir = join(opts.cache.entryDir(key), 'out');
      cachedCount++;
      emit({ type: 'stage-cached', stage: stage.name, key, artifacts: artifactsOf(dir) });
      const r = { stage, key, dir, manifest: hit, cached: true };
      results.set(stage.name, r);
      // keep --explain history in step even when the entry came from another scope
      await opts.cache.writeLastInputs(opts.scope, stage.name, keyInputs);
      return r;
    }
    await slots.acquire();
    const started = Date.now();
    let scratch: string | undefined;
    let logFile: string | undefined;
    try {
      scratch = await opts.cache.scratch(key);
      const log = logFile = join(scratch, 'build.log');
      const reasons = !opts.explain ? undefined
        : opts.force?.includes(stage.name) ? ['forced (--force)'] : diffInputs(await opts.cache.readLastInputs(opts.scope, stage.name), keyInputs);
      emit({ type: 'stage-start', stage: stage.name, key, reasons });
      const ctx: StageContext<any> = {
        options: stage.options,
        out: join(scratch, 'out'),
        work: join(scratch, 'work'),
        dep: (alias) => {
          const r = depResults[alias];
          if (!r) throw new XsforgeError(`stage ${stage.name} has no dependency called ${alias}`);
          return r.dir;
        },
        inputFile: (k) => {
          const p = stage.inputFiles?.[k];
          if (!p) throw new XsforgeError(`stage ${stage.name} declares no input file ${k}`);
          return p;
        },
        sourceDateEpoch: opts.sourceDateEpoch,
        downloadCache: opts.cache.downloadsRoot,
        run: (argv, o) => {
          appendFileSync(log, `$ ${argv.join(' ')}\n`);
          return execRun(argv, { logFile: log, ...o, env: { SOURCE_DATE_EPOCH: String(opts.sourceDateEpoch), ...o?.env } });
        },
        progress: (note) => emit({ type: 'stage-progress', stage: stage.name, note }),
        log: (line) => appendFileSync(log, `${line}\n`),
      };
      await stage.run(ctx);
      const manifest = await opts.cache.commit(key, stage.name, scratch, keyInputs, Date.now() - started, damaged('replaced with this build\'s output'));
      await opts.cache.writeLastInputs(opts.scope, stage.name, keyInputs);
      const dir = join(opts.cache.entryDir(key), 'out');
      ran++;
      emit({ type: 'stage-finish', stage: stage.name, key, durationMs: Date.now() - started, artifacts: artifactsOf(dir) });
      const r = { stage, key, dir, manifest, cached: false };
      results.set(stage.name, r);
      return r;
    } catch (caught) {
      const error = explainStageError(caught, opts.cache.root);
      let log = logFile;
      if (isNoSpace(caught)) {
        // a full disk: free what this stage wrote rather than keep it for the log
        if (scratch) await removeTree(scratch).catch(() => undefined);
        log = undefined;
      }
      failures.push({ stage: stage.name, error });
      emit({ type: 'stage-failed', stage: stage.name, key, durationMs: Date.now() - started, error: (error as Error).message, log });
      return undefined;
    } finally {
      slots.release();
    }
  };

  for (const s of stages) promises.set(s, runOne(s));
  try {
    await Promise.all(promises.values());
  } finally {
    held.release();
  }
  emit({ type: 'build-finish', ok: failures.length === 0, ran, cached: cachedCount, failed: failures.length, durationMs: Date.now() - t0 });
  if (failures.length) throw new BuildError(failures);
  return results;
}

function isNoSpace(err: unknown): boolean {
  return (err as NodeJS.ErrnoException)?.code === 'ENOSPC'
    || (err instanceof ToolError && /No space left on device|ENOSPC/i.test(err.outputTail));
}

/**
 * Errors that say what to do: a full disk names the cache directory; a command
 * that cannot be started (and is not in HOST_TOOLS, which gives MissingToolError
 * with its package) says so.
 */
function explainStageError(err: unknown, cacheRoot: string): unknown {
  if (isNoSpace(err)) {
    return new XsforgeError(`no space left on device (ENOSPC) in the stage cache ${cacheRoot}: ${(err as Error).message}`,
      `free space there (xsforge cache gc --max-size SIZE --cache ${cacheRoot}), or use a cache on a larger disk (--cache DIR or XSFORGE_CACHE)`);
  }
  if (err instanceof ToolError && !err.hint && err.exitCode === null && err.signal === null && /ENOENT/.test(err.outputTail)) {
    return new XsforgeError(err.message, `'${err.argv[0]}' is not on PATH: install it, and add it to HOST_TOOLS in core/tools.ts with its Debian package so xsforge doctor can name it`);
  }
  return err;
}

// The epoch is an input of every stage: it is in their output bytes (dates).
async function computeKeyInputs(stage: Stage<any>, deps: Record<string, StageResult>, sourceDateEpoch: number): Promise<Json> {
  const files: Record<string, string> = {};
  for (const [k, p] of Object.entries(stage.inputFiles ?? {}).sort()) {
    try {
      files[k] = await sha256File(p);
    } catch (err) {
      throw new XsforgeError(`stage ${stage.name}: cannot read input file ${p}: ${(err as Error).message}`);
    }
  }
  const tools: Record<string, string> = {};
  for (const t of stage.tools ?? []) tools[t] = toolVersion(t);
  return {
    stage: stage.name,
    version: stage.version,
    sourceDateEpoch,
    options: stage.options,
    files,
    deps: Object.fromEntries(Object.entries(deps).map(([a, r]) => [a, r.manifest.digest])),
    tools,
  };
}

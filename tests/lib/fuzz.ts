// A tiny dependency-free mutation fuzzer for the byte and text parsers.
//
// Each input is derived from (seed, index) alone: a seeded PRNG picks a valid
// starting input from the target's corpus and stacks a few mutations on it (bit
// flips, bytes set to 0/0xff/0x7f/0x80, integer fields set to huge or negative
// values, truncation, duplicated or deleted chunks, splices of two inputs,
// dictionary tokens). So any failure replays from the seed and the index.
//
// The property: the parser returns, or throws the error type it documents
// (`target.clean`). Anything else (TypeError, a RangeError out of a Buffer read,
// a blown stack, a hang, running out of memory) is a failure reported with the
// seed, the index and the input in hex.
//
// The loop runs in a worker thread so that a hang can be caught: the worker
// publishes the index it is working on in shared memory and the main thread
// terminates it when one input takes longer than the per-input budget.
//
// Environment: XSFORGE_FUZZ_SECONDS (seconds per target, default 1.5),
// XSFORGE_FUZZ_SEED (a number, or "random"; default 1, so the unit tier is
// deterministic), XSFORGE_FUZZ_INPUT with XSFORGE_FUZZ_TARGET (replay one
// input in this process, with its full stack, and write it to a file).
import { Worker } from 'node:worker_threads';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomInt } from 'node:crypto';

// ---------------------------------------------------------------- PRNG

/** mulberry32: small, fast, good enough to pick mutations; same seed, same stream. */
export class Prng {
  private s: number;
  constructor(seed: number) { this.s = seed >>> 0; }
  next(): number {
    let t = (this.s = (this.s + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  /** integer in [0, n) */
  int(n: number): number { return Math.floor(this.next() * n); }
  pick<T>(items: readonly T[]): T { return items[this.int(items.length)]!; }
  chance(p: number): boolean { return this.next() < p; }
}

/** The PRNG of input `index` under `seed`: inputs are independent of each other. */
export function inputRng(seed: number, index: number): Prng {
  let h = (seed ^ Math.imul(index + 1, 0x9e3779b1)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b) >>> 0;
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) >>> 0;
  return new Prng((h ^ (h >>> 16)) >>> 0);
}

// ---------------------------------------------------------------- mutations

const INTERESTING_BYTES = [0x00, 0xff, 0x7f, 0x80, 0x01, 0x20, 0x0a, 0x3c, 0x26];
const INTERESTING_U16 = [0, 1, 0x7fff, 0x8000, 0xffff, 0xfffe, 0x0800, 0x0200];
const INTERESTING_U32 = [0, 1, 0x7fffffff, 0x80000000, 0xffffffff, 0xfffffffe, 0x10000, 0x0fffffff, 2048, 512];
const INTERESTING_U64 = [0n, 1n, 0x7fffffffffffffffn, 0x8000000000000000n, 0xffffffffffffffffn, 0x100000000n, 0x20000000000000n];
/** Text spellings of numbers that break naive number handling. */
const INTERESTING_NUMBERS = ['0', '-1', '4294967295', '4294967296', '9007199254740993', '99999999999999999999999', '1e308', '-0', 'NaN', 'ffffffff', '7fffffff', '00000000'];

export interface MutateContext {
  /** other valid inputs, for splicing */
  corpus: readonly Buffer[];
  /** tokens of the format (XML/YAML syntax, magic numbers), inserted or overwritten as a whole */
  dictionary: readonly Buffer[];
  /** offsets worth hitting more often than chance would (non-zero bytes of the start input) */
  hot: readonly number[];
}

function offsetIn(rng: Prng, buf: Buffer, ctx: MutateContext): number {
  if (buf.length === 0) return 0;
  if (ctx.hot.length && rng.chance(0.6)) {
    const o = rng.pick(ctx.hot);
    if (o < buf.length) return o;
  }
  return rng.int(buf.length);
}

type Mutator = (rng: Prng, b: Buffer, ctx: MutateContext) => Buffer;

const MUTATORS: Array<[weight: number, name: string, fn: Mutator]> = [
  [4, 'bitflip', (rng, b, ctx) => { if (b.length) b[offsetIn(rng, b, ctx)] ^= 1 << rng.int(8); return b; }],
  [3, 'interesting-byte', (rng, b, ctx) => { if (b.length) b[offsetIn(rng, b, ctx)] = rng.pick(INTERESTING_BYTES); return b; }],
  [2, 'random-byte', (rng, b, ctx) => { if (b.length) b[offsetIn(rng, b, ctx)] = rng.int(256); return b; }],
  [3, 'interesting-int', (rng, b, ctx) => {
    const width = rng.pick([2, 4, 4, 8]);
    if (b.length < width) return b;
    let o = Math.min(offsetIn(rng, b, ctx), b.length - width);
    if (rng.chance(0.5)) o -= o % width; // fields are usually aligned
    const le = rng.chance(0.5);
    if (width === 2) { const v = rng.pick(INTERESTING_U16); if (le) b.writeUInt16LE(v, o); else b.writeUInt16BE(v, o); }
    else if (width === 4) { const v = rng.pick(INTERESTING_U32); if (le) b.writeUInt32LE(v, o); else b.writeUInt32BE(v, o); }
    else { const v = rng.pick(INTERESTING_U64); if (le) b.writeBigUInt64LE(v, o); else b.writeBigUInt64BE(v, o); }
    return b;
  }],
  [1, 'add-small', (rng, b, ctx) => { if (b.length) { const o = offsetIn(rng, b, ctx); b[o] = (b[o]! + rng.int(33) - 16) & 0xff; } return b; }],
  [2, 'truncate', (rng, b) => b.subarray(0, rng.int(b.length + 1))],
  [2, 'duplicate-chunk', (rng, b, ctx) => {
    if (!b.length) return b;
    const from = offsetIn(rng, b, ctx);
    const len = 1 + rng.int(Math.min(256, b.length - from));
    const at = rng.int(b.length + 1);
    return Buffer.concat([b.subarray(0, at), b.subarray(from, from + len), b.subarray(at)]);
  }],
  [2, 'delete-chunk', (rng, b, ctx) => {
    if (!b.length) return b;
    const from = offsetIn(rng, b, ctx);
    const len = 1 + rng.int(Math.min(256, b.length - from));
    return Buffer.concat([b.subarray(0, from), b.subarray(from + len)]);
  }],
  [1, 'splice', (rng, b, ctx) => {
    const other = rng.pick(ctx.corpus);
    const cutA = rng.int(b.length + 1);
    const cutB = rng.int(other.length + 1);
    return Buffer.concat([b.subarray(0, cutA), other.subarray(cutB)]);
  }],
  [2, 'dictionary-insert', (rng, b, ctx) => {
    if (!ctx.dictionary.length) return b;
    const at = b.length ? offsetIn(rng, b, ctx) : 0;
    return Buffer.concat([b.subarray(0, at), rng.pick(ctx.dictionary), b.subarray(at)]);
  }],
  [2, 'dictionary-overwrite', (rng, b, ctx) => {
    if (!ctx.dictionary.length || !b.length) return b;
    const tok = rng.pick(ctx.dictionary);
    const at = offsetIn(rng, b, ctx);
    return Buffer.concat([b.subarray(0, at), tok, b.subarray(Math.min(b.length, at + tok.length))]);
  }],
  [2, 'number-text', (rng, b) => {
    // a run of digits (or hex digits) in text replaced by a troublesome number
    const text = b.toString('latin1');
    const runs = [...text.matchAll(/[0-9a-fA-F]{1,20}/g)];
    if (!runs.length) return b;
    const m = rng.pick(runs);
    return Buffer.concat([b.subarray(0, m.index!), Buffer.from(rng.pick(INTERESTING_NUMBERS), 'latin1'), b.subarray(m.index! + m[0].length)]);
  }],
];
const TOTAL_WEIGHT = MUTATORS.reduce((n, [w]) => n + w, 0);

/** Stacks 1..8 mutations (fewer more often) on a copy of `start`. */
export function mutate(rng: Prng, start: Buffer, ctx: MutateContext): { data: Buffer; applied: string[] } {
  let b = Buffer.from(start);
  const applied: string[] = [];
  const n = 1 + Math.floor(Math.pow(rng.next(), 2) * 8);
  for (let i = 0; i < n; i++) {
    let r = rng.int(TOTAL_WEIGHT);
    for (const [w, name, fn] of MUTATORS) {
      if (r < w) {
        // copy: a mutator may return a view of the buffer it changed
        b = Buffer.from(fn(rng, b, ctx));
        applied.push(name);
        break;
      }
      r -= w;
    }
  }
  return { data: b, applied };
}

/** Offsets of the non-zero bytes of `b` (sampled down to at most 4,096). */
export function hotOffsets(b: Buffer): number[] {
  const all: number[] = [];
  for (let i = 0; i < b.length; i++) if (b[i] !== 0) all.push(i);
  if (all.length <= 4096) return all;
  const step = all.length / 4096;
  return Array.from({ length: 4096 }, (_, i) => all[Math.floor(i * step)]!);
}

// ---------------------------------------------------------------- targets

/** What a fuzz target module exports under its name (see tests/lib/fuzz-targets.ts). */
export interface FuzzTarget {
  /** valid inputs, made by the project's own writers where there are some */
  seeds(): Buffer[] | Promise<Buffer[]>;
  /** parse (and use) one input; may be async */
  run(input: Buffer): unknown;
  /** true for the errors the parser documents; anything else is a failure */
  clean(err: unknown): boolean;
  dictionary?: string[];
  /** run once in the worker after the loop (temp files) */
  cleanup?(): void | Promise<void>;
}

export interface PreparedTarget {
  target: FuzzTarget;
  corpus: Buffer[];
  ctx: MutateContext[];
}

export async function prepare(target: FuzzTarget): Promise<PreparedTarget> {
  const corpus = await target.seeds();
  if (!corpus.length) throw new Error('fuzz target has no seed inputs');
  const dictionary = (target.dictionary ?? []).map((t) => Buffer.from(t, 'latin1'));
  return { target, corpus, ctx: corpus.map((c) => ({ corpus, dictionary, hot: hotOffsets(c) })) };
}

/** Input `index` under `seed`: index 0.. corpus.length-1 are the seeds unchanged. */
export function inputAt(p: PreparedTarget, seed: number, index: number): { data: Buffer; applied: string[] } {
  if (index < p.corpus.length) return { data: Buffer.from(p.corpus[index]!), applied: ['(seed input)'] };
  const rng = inputRng(seed, index);
  const which = rng.int(p.corpus.length);
  return mutate(rng, p.corpus[which]!, p.ctx[which]!);
}

/** Errors that are never a parser's own: programming errors and exhausted resources. */
export function describeError(err: unknown): string {
  if (err instanceof Error) return err.stack ?? `${err.name}: ${err.message}`;
  return `non-Error thrown: ${String(err)}`;
}

/** A short signature so one bug found by a thousand inputs is reported once. */
export function errorSignature(err: unknown): string {
  if (!(err instanceof Error)) return `non-Error:${typeof err}`;
  const frame = (err.stack ?? '').split('\n').find((l) => /^\s+at /.test(l))?.trim().replace(/:\d+:\d+\)?$/, '') ?? '';
  return `${err.name}:${err.message.replace(/\d+/g, 'N').slice(0, 80)}@${frame}`;
}

export function hexPreview(b: Buffer, max = 256): string {
  const head = b.subarray(0, max).toString('hex').replace(/(.{64})/g, '$1\n    ').trimEnd();
  return `${b.length} bytes${b.length > max ? `, first ${max}` : ''}:\n    ${head}`;
}

// ---------------------------------------------------------------- the run

export interface FuzzFailure {
  index: number;
  kind: 'error' | 'timeout' | 'crash';
  error: string;
  signature: string;
  applied: string[];
  hex: string;
}

export interface FuzzReport {
  target: string;
  seed: number;
  inputs: number;
  ms: number;
  failures: FuzzFailure[];
}

export interface FuzzOptions {
  seconds?: number;
  seed?: number;
  /** per-input budget: longer counts as a hang */
  inputMs?: number;
  /** stop after this many inputs (tests of the fuzzer itself) */
  maxInputs?: number;
  /** module exporting `targets: Record<string, FuzzTarget>`; default tests/lib/fuzz-targets.ts */
  module?: string;
}

export function fuzzSeed(): number {
  const env = process.env.XSFORGE_FUZZ_SEED;
  if (env === 'random') return randomInt(1, 2 ** 31);
  if (env !== undefined && env !== '') {
    const n = Number(env);
    if (!Number.isInteger(n) || n < 0 || n >= 2 ** 32) throw new Error(`XSFORGE_FUZZ_SEED must be a 32-bit unsigned integer or "random", got ${env}`);
    return n;
  }
  return 1;
}

export function fuzzSeconds(fallback = 1.5): number {
  const env = process.env.XSFORGE_FUZZ_SECONDS;
  if (env === undefined || env === '') return fallback;
  const n = Number(env);
  if (!(n > 0)) throw new Error(`XSFORGE_FUZZ_SECONDS must be a positive number, got ${env}`);
  return n;
}

const DEFAULT_MODULE = new URL('./fuzz-targets.ts', import.meta.url).href;

async function loadTarget(module: string, name: string): Promise<FuzzTarget> {
  const mod = await import(module) as { targets: Record<string, FuzzTarget> };
  const t = mod.targets[name];
  if (!t) throw new Error(`no fuzz target '${name}' in ${module}`);
  return t;
}

/** Runs one input in this process and writes it to a file (XSFORGE_FUZZ_INPUT). */
async function replay(name: string, module: string, seed: number, index: number): Promise<FuzzReport> {
  const target = await loadTarget(module, name);
  const p = await prepare(target);
  const { data, applied } = inputAt(p, seed, index);
  const file = join(tmpdir(), `xsforge-fuzz-${name}-${seed}-${index}.bin`);
  writeFileSync(file, data);
  process.stdout.write(`fuzz ${name}: replaying seed ${seed} input #${index} (${applied.join(', ')}), written to ${file}\n`);
  const failures: FuzzFailure[] = [];
  const t0 = Date.now();
  try {
    await target.run(data);
  } catch (err) {
    process.stdout.write(`  threw ${describeError(err)}\n`);
    if (!target.clean(err)) failures.push({ index, kind: 'error', error: describeError(err), signature: errorSignature(err), applied, hex: hexPreview(data) });
  } finally {
    await target.cleanup?.();
  }
  return { target: name, seed, inputs: 1, ms: Date.now() - t0, failures };
}

const WORKER_SOURCE = `
const { workerData, parentPort } = require('node:worker_threads');
import(workerData.tsxApi).then((api) => { api.register(); return import(workerData.workerModule); })
  .then((m) => m.workerMain(workerData))
  .catch((err) => { parentPort.postMessage({ type: 'fatal', error: String(err && err.stack || err) }); });
`;

/** Fuzzes one target; see fuzzAll. */
export async function fuzz(name: string, opts: FuzzOptions = {}): Promise<FuzzReport> {
  return (await fuzzAll([name], opts))[0]!;
}

/**
 * Fuzzes each target for `seconds` (default XSFORGE_FUZZ_SECONDS or 1.5), one
 * after the other in one worker (loading the parsers once), and returns what
 * went wrong; prints one summary line per target with the seed.
 */
export async function fuzzAll(names: string[], opts: FuzzOptions = {}): Promise<FuzzReport[]> {
  const seed = opts.seed ?? fuzzSeed();
  const module = opts.module ?? DEFAULT_MODULE;
  const replayIndex = process.env.XSFORGE_FUZZ_INPUT;
  if (replayIndex !== undefined && replayIndex !== '') {
    const only = process.env.XSFORGE_FUZZ_TARGET;
    const reports: FuzzReport[] = [];
    for (const name of names) {
      reports.push(only && only !== name ? { target: name, seed, inputs: 0, ms: 0, failures: [] } : await replay(name, module, seed, Number(replayIndex)));
    }
    return reports;
  }
  const seconds = opts.seconds ?? fuzzSeconds();
  const inputMs = opts.inputMs ?? 2000;
  const reports = new Map<string, FuzzReport>(names.map((n) => [n, { target: n, seed, inputs: 0, ms: 0, failures: [] }]));
  let pending = [...names];

  while (pending.length) {
    // [target being run (index into pending), input index, 1 while an input runs]
    const progress = new Int32Array(new SharedArrayBuffer(12));
    const started = new Map<number, number>();
    const batch = pending;
    await new Promise<void>((resolve, reject) => {
      const worker = new Worker(WORKER_SOURCE, {
        eval: true,
        workerData: {
          tsxApi: import.meta.resolve('tsx/esm/api'), workerModule: new URL('./fuzz-worker.ts', import.meta.url).href,
          module, names: batch, seed, seconds, maxInputs: opts.maxInputs ?? Infinity, progress,
        },
        // a parser that allocates without bound fails the run instead of the machine
        resourceLimits: { maxOldGenerationSizeMb: 768 },
      });
      let last = '';
      let since = Date.now();
      let settled = false;
      let dead = false;
      const finish = (fn: () => void) => { if (!settled) { settled = true; clearInterval(watch); fn(); } };
      /** The worker died on batch[t] input i: record it, and go on with the targets after it. */
      const died = (failure: Omit<FuzzFailure, 'index' | 'hex' | 'applied'>) => {
        dead = true;
        clearInterval(watch);
        const t = Atomics.load(progress, 0);
        const i = Atomics.load(progress, 1);
        const r = reports.get(batch[t]!)!;
        r.failures.push({ ...failure, index: i, applied: [], hex: '' });
        r.inputs = i + 1;
        r.ms = Date.now() - (started.get(t) ?? Date.now());
        pending = batch.slice(t + 1);
      };
      const watch = setInterval(() => {
        const now = `${Atomics.load(progress, 0)}/${Atomics.load(progress, 1)}`;
        if (now !== last || Atomics.load(progress, 2) !== 1) { last = now; since = Date.now(); return; }
        if (Date.now() - since > inputMs) {
          died({ kind: 'timeout', error: `input took longer than ${inputMs} ms (hang or runaway loop)`, signature: 'timeout' });
          void worker.terminate().then(() => finish(resolve));
        }
      }, 50);
      worker.on('message', (m: { type: string; target?: number; failure?: FuzzFailure; inputs?: number; ms?: number; error?: string }) => {
        if (m.type === 'start') started.set(m.target!, Date.now());
        else if (m.type === 'failure') reports.get(batch[m.target!]!)!.failures.push(m.failure!);
        else if (m.type === 'target-done') Object.assign(reports.get(batch[m.target!]!)!, { inputs: m.inputs, ms: m.ms });
        else if (m.type === 'done') { pending = []; finish(resolve); }
        else if (m.type === 'fatal') finish(() => reject(new Error(`fuzz worker failed: ${m.error}`)));
      });
      worker.on('error', (err) => {
        // out of memory, or a crash outside the per-input try: blame the input being run
        died({ kind: 'crash', error: describeError(err), signature: `crash:${(err as NodeJS.ErrnoException).code ?? err.name}` });
        finish(resolve);
      });
      worker.on('exit', () => { if (!dead) pending = []; finish(resolve); });
    });
  }

  for (const r of reports.values()) {
    // inputs of timeouts and crashes are regenerated here (the worker is gone)
    if (r.failures.some((f) => !f.hex)) {
      const p = await prepare(await loadTarget(module, r.target));
      for (const f of r.failures) if (!f.hex) { const { data, applied } = inputAt(p, seed, f.index); f.hex = hexPreview(data); f.applied = applied; }
    }
    process.stdout.write(`fuzz ${r.target}: seed ${seed}, ${r.inputs} inputs in ${(r.ms / 1000).toFixed(1)} s, ${r.failures.length} distinct failure(s)\n`);
  }
  return [...reports.values()];
}

/** The failures as text for an assertion message: how to replay, the error, the input. */
export function formatFailures(r: FuzzReport, testFile: string): string {
  return r.failures.map((f) => [
    `fuzz ${r.target}: ${f.kind} on input #${f.index} (seed ${r.seed}; mutations: ${f.applied.join(', ')})`,
    `  replay: XSFORGE_FUZZ_SEED=${r.seed} XSFORGE_FUZZ_TARGET=${r.target} XSFORGE_FUZZ_INPUT=${f.index} node --import tsx ${testFile}`,
    `  ${f.error.split('\n').slice(0, 8).join('\n  ')}`,
    `  input ${f.hex}`,
  ].join('\n')).join('\n\n');
}

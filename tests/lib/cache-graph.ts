// A small stage graph for cache tests that need separate processes (two builds
// sharing one cache; a build killed with SIGKILL). Prints one JSON event per
// line on stdout, the error on stderr, and exits 1 when the build fails.
// Usage: node --import tsx tests/lib/cache-graph.ts CACHE_DIR [GATE_FILE]
//   GATE_FILE: the "slow" stage writes part of its output, then waits until
//   this file exists before finishing (so a test can kill it mid-stage).
import { existsSync, readdirSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { StageCache } from '../../core/cache.ts';
import { runGraph } from '../../core/engine.ts';
import { JsonReporter } from '../../core/events.ts';
import { defineStage } from '../../core/stage.ts';

/** Deterministic bytes: the same for every process, different per name. */
export function filler(name: string, bytes: number): Buffer {
  const b = Buffer.alloc(bytes);
  for (let i = 0; i < bytes; i++) b[i] = (i * 31 + name.charCodeAt(i % name.length)) & 0xff;
  return b;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function cacheTestGraph(gate?: string) {
  const gen = defineStage({ name: 'gen', version: 1, options: { files: 3 }, async run(ctx) {
    for (let i = 0; i < ctx.options.files; i++) {
      await writeFile(join(ctx.out, `part${i}.bin`), filler(`gen${i}`, 64 * 1024));
      await sleep(30); // long enough that two processes overlap
    }
  } });
  const slow = defineStage({ name: 'slow', version: 1, options: {}, deps: { gen }, async run(ctx) {
    await writeFile(join(ctx.out, 'first-half.bin'), filler('slow-a', 128 * 1024));
    ctx.progress('waiting for the gate');
    while (gate && !existsSync(gate)) await sleep(20);
    await writeFile(join(ctx.out, 'second-half.bin'), filler('slow-b', 128 * 1024));
  } });
  const final = defineStage({ name: 'final', version: 1, options: {}, deps: { gen, slow }, async run(ctx) {
    const names = [...readdirSync(ctx.dep('gen')), ...readdirSync(ctx.dep('slow'))].sort();
    await writeFile(join(ctx.out, 'summary.txt'), `${names.join('\n')}\n`);
  } });
  return final;
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop()!)) {
  const [cacheDir, gate] = process.argv.slice(2);
  try {
    await runGraph([cacheTestGraph(gate)], { cache: new StageCache(cacheDir), reporter: new JsonReporter(), sourceDateEpoch: 1, scope: 'cache-test', jobs: 2 });
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n`);
    process.exitCode = 1;
  }
}

// The fuzz loop, run in a worker thread by tests/lib/fuzz.ts: for each target in
// turn, inputs by index until its time is up; the target and input index are
// published in shared memory before each input so the main thread can tell a
// hang from slow progress.
import { parentPort } from 'node:worker_threads';
import { describeError, errorSignature, hexPreview, inputAt, prepare, type FuzzTarget } from './fuzz.ts';

interface WorkerData {
  module: string;
  names: string[];
  seed: number;
  seconds: number;
  maxInputs: number;
  /** [target index, input index, 1 while an input runs] */
  progress: Int32Array;
}

export async function workerMain(d: WorkerData): Promise<void> {
  const { targets } = await import(d.module) as { targets: Record<string, FuzzTarget> };
  for (const [t, name] of d.names.entries()) {
    const target = targets[name];
    if (!target) throw new Error(`no fuzz target '${name}' in ${d.module}`);
    parentPort!.postMessage({ type: 'start', target: t });
    const t0 = Date.now();
    const p = await prepare(target);
    const seen = new Set<string>();
    let deadline = Infinity;
    let index = 0;
    Atomics.store(d.progress, 0, t);
    // the seed inputs always run, and the clock starts after them: they warm up
    // what is compiled once (schema validators, the JIT)
    for (; index < d.maxInputs && Date.now() < deadline; index++) {
      if (index === p.corpus.length) deadline = Date.now() + d.seconds * 1000;
      const { data, applied } = inputAt(p, d.seed, index);
      Atomics.store(d.progress, 1, index);
      Atomics.store(d.progress, 2, 1);
      try {
        await target.run(data);
      } catch (err) {
        if (!target.clean(err)) {
          const signature = errorSignature(err);
          if (!seen.has(signature)) {
            seen.add(signature);
            parentPort!.postMessage({ type: 'failure', target: t, failure: { index, kind: 'error', error: describeError(err), signature, applied, hex: hexPreview(data) } });
          }
        }
      }
      Atomics.store(d.progress, 2, 0);
    }
    await target.cleanup?.();
    parentPort!.postMessage({ type: 'target-done', target: t, inputs: index, ms: Date.now() - t0 });
  }
  parentPort!.postMessage({ type: 'done' });
}

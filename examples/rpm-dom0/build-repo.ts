// Builds the RPM dom0 test repository (and, with --dom0, the dom0 root from it)
// through the engine with the default cache, and copies the results to --out:
//   DIR/repo/   Packages/, repodata/ (+ RPM-GPG-KEY-* when signed): point a recipe's
//               dom0 repository `path:` here
//   DIR/dom0/   dom0-root.tar.zst and dom0-root.json (with --dom0)
// Usage: node --import tsx examples/rpm-dom0/build-repo.ts --out DIR [--dom0] [--sign-key KEY]
import { cpSync, mkdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { defaultCacheRoot, downloadsRootFor, StageCache } from '../../core/cache.ts';
import { runGraph } from '../../core/engine.ts';
import { EXAMPLE_EPOCH, planRpmDom0Example } from './plan.ts';

const { values } = parseArgs({ options: { out: { type: 'string' }, dom0: { type: 'boolean', default: false }, 'sign-key': { type: 'string' } } });
if (!values.out) {
  console.error('usage: build-repo.ts --out DIR [--dom0] [--sign-key KEY]');
  process.exit(2);
}
const cacheRoot = defaultCacheRoot();
const t0 = Date.now();
const plan = await planRpmDom0Example({
  downloadsRoot: downloadsRootFor(cacheRoot),
  ...(values['sign-key'] ? { signing: { key: values['sign-key'] } } : {}),
});
const targets = values.dom0 ? [plan.dom0] : [plan.test.repo];
const results = await runGraph(targets, {
  cache: new StageCache(cacheRoot),
  reporter: {
    emit: (e) => {
      if (e.type === 'stage-finish') console.error(`built ${e.stage} in ${(e.durationMs / 1000).toFixed(1)} s`);
      else if (e.type === 'stage-cached') console.error(`cached ${e.stage}`);
      else if (e.type === 'stage-failed') console.error(`FAILED ${e.stage}: ${e.error}`);
    },
    close() {},
  },
  sourceDateEpoch: EXAMPLE_EPOCH, scope: 'rpm-dom0-example', jobs: 2,
});
const out = resolve(values.out);
for (const [stage, dest] of [['rpm-dom0-test-repo', 'repo'], ...(values.dom0 ? [['dom0-rootfs', 'dom0']] : [])] as const) {
  rmSync(join(out, dest), { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  cpSync(results.get(stage)!.dir, join(out, dest), { recursive: true });
}
console.log(`${Object.entries(plan.resolved).map(([k, v]) => `${k} ${v}`).join(', ')}; kernel ${plan.kernelRelease}`);
console.log(`written to ${out} in ${((Date.now() - t0) / 1000).toFixed(1)} s`);

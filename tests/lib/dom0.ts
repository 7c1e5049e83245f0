// Builds the dom0-rootfs stage through the engine for tests (default cache root
// unless told otherwise, so reruns with unchanged inputs are cached).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { defaultCacheRoot, downloadsRootFor, StageCache } from '../../core/cache.ts';
import { runGraph } from '../../core/engine.ts';
import { AptRoot } from '../../debian/apt.ts';
import { dom0RootfsStage, ROOT_JSON, ROOT_TAR, type Dom0RootInfo } from '../../dom0-rootfs/rootfs.ts';

// the default recipe's source_date_epoch: the engine's stage key does not include the
// epoch, so tests and `xsforge build` must agree on it to share cache entries
export const DOM0_TEST_EPOCH = 1_533_081_600;
export const DOM0_TEST_PRODUCT = { brand: 'XenServer', version: '7.1.2', build_number: '137272c', platform: { name: 'XCP', version: '2.2.0' } };
export const DOM0_TEST_DEBIAN = { mirror: 'http://deb.debian.org/debian', suite: 'bookworm', components: ['main'] };

export interface BuiltDom0 { dir: string; archive: string; info: Dom0RootInfo; cached: boolean; seconds: number }

export async function buildDom0(cacheRoot = defaultCacheRoot()): Promise<BuiltDom0> {
  const t0 = Date.now();
  // every cache root fetches .debs into the default downloads directory
  process.env.XSFORGE_DOWNLOADS ??= downloadsRootFor(defaultCacheRoot());
  const apt = new AptRoot(DOM0_TEST_DEBIAN, process.env.XSFORGE_DOWNLOADS);
  await apt.ensureIndex();
  const stage = dom0RootfsStage({ debian: DOM0_TEST_DEBIAN, indexDigest: apt.indexDigest(), packages: [], product: DOM0_TEST_PRODUCT });
  const results = await runGraph([stage], {
    cache: new StageCache(cacheRoot),
    reporter: { emit: (e) => { if (process.env.XSFORGE_TEST_VERBOSE) console.error(JSON.stringify(e)); }, close() {} },
    sourceDateEpoch: DOM0_TEST_EPOCH, scope: 'test-dom0', jobs: 1,
  });
  const r = results.get('dom0-rootfs')!;
  return {
    dir: r.dir, archive: join(r.dir, ROOT_TAR), cached: r.cached, seconds: (Date.now() - t0) / 1000,
    info: JSON.parse(readFileSync(join(r.dir, ROOT_JSON), 'utf8')),
  };
}

// The test guest (guest/test-guest.ts) for tests that boot it, built through the
// real CLI: `xsforge test-guest RECIPE --out DIR --json`. The stage cache makes
// every build after the first a copy.
import { join } from 'node:path';
import { DEFAULT_RECIPE } from '../../cli/shared.ts';
import { xsforge } from './build.ts';

export interface TestGuestFiles {
  dir: string;
  /** vmlinuz and initrd.img in dir */
  kernel: string;
  initrd: string;
  /** example configs in dir (paths in them point at dir) */
  xlConfig: string;
  libvirtXml: string;
  kernelRelease: string;
  /** module files in the order /init loads them */
  modules: string[];
  /** Debian packages, name to version */
  packages: Record<string, string>;
  stage: { name: string; key: string; cached: boolean };
  /** how long the test-guest stage itself ran; undefined when it came from the cache */
  stageMs?: number;
}

export interface BuildTestGuestOptions {
  /** default: the default recipe (the kernel of the ISOs the e2e tier installs) */
  recipe?: string;
  /** default: <work>/test-guest */
  out?: string;
  cache?: string;
  /** more arguments, e.g. ['--force'] or ['--disk', 'phy:/dev/VG/LV'] */
  extra?: string[];
}

/** Builds (or takes from the cache) the test guest; throws with the CLI's output on failure. */
export async function buildTestGuest(work: string, opts: BuildTestGuestOptions = {}): Promise<TestGuestFiles> {
  const out = opts.out ?? join(work, 'test-guest');
  const args = ['test-guest', opts.recipe ?? DEFAULT_RECIPE, '--out', out, '--json', ...(opts.cache ? ['--cache', opts.cache] : []), ...(opts.extra ?? [])];
  const r = await xsforge(args);
  if (r.code !== 0) throw new Error(`xsforge ${args.join(' ')} failed (${r.code}):\n${r.stderr.slice(-4000)}\n${r.stdout.slice(-2000)}`);
  const events = r.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
  const result = events.find((e) => e.type === 'result') as Omit<TestGuestFiles, 'stageMs'> | undefined;
  if (!result) throw new Error(`xsforge ${args.join(' ')} printed no result line:\n${r.stdout.slice(-2000)}`);
  const finish = events.find((e) => e.type === 'stage-finish' && e.stage === result.stage.name);
  return { ...result, ...(typeof finish?.durationMs === 'number' ? { stageMs: finish.durationMs } : {}) };
}

// In `make test-matrix`, not `make test`: it compiles Xen a second time (from the
// upstream tarball, ~2.5 min), which the CI budget of the README command cannot carry.
// Xen compiled from an upstream tarball (Debian's orig.tar.xz: an upstream tree
// without Debian's patch series) through the real engine, in the user's normal
// stage cache: the first run compiles once (about 100 s on 2 cores), later runs
// find it cached. Also: a tarball with another digest is refused before
// unpacking, and a `directory` source's key follows its tree digest (not .git,
// not its path) and it runs the same configure path (shown without compiling).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { basename, join, relative } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { StageCache, defaultCacheRoot, downloadsRootFor } from '../../core/cache.ts';
import { runGraph, type StageResult } from '../../core/engine.ts';
import { run } from '../../core/exec.ts';
import type { BuildEvent } from '../../core/events.ts';
import { sha256File } from '../../core/hash.ts';
import type { Stage } from '../../core/stage.ts';
import { AptRoot } from '../../debian/apt.ts';
import { parseConfig } from '../../hypervisor/kconfig.ts';
import { hypervisorOrigin, hypervisorStage } from '../../hypervisor/schema.ts';
import { compiledXenBanner, compiledXenStage, xenDirectory } from '../../hypervisor/source.ts';

const BOOKWORM = { mirror: 'http://deb.debian.org/debian', suite: 'bookworm', components: ['main'] };
const EPOCH = 1533081600;
const FRAGMENT = { CONFIG_NR_CPUS: 512 } as const;
// the build runs with this as $USER: upstream's XEN_WHOAMI defaults to it, so the image must not hold it
const PROBE_USER = 'xsfprobeuser';

const work = mkdtempSync(join(tmpdir(), 'xsf-xentar-'));
const apt = new AptRoot(BOOKWORM, downloadsRootFor(defaultCacheRoot()));
let tarball: string;
let digest: string;
let built: StageResult;

const engineOpts = (cache: StageCache, sink: BuildEvent[] = []) =>
  ({ cache, reporter: { emit: (e: BuildEvent) => { sink.push(e); }, close: () => {} }, sourceDateEpoch: EPOCH, scope: 'test-hypervisor-tarball' });
const scratchCache = () => new StageCache(mkdtempSync(join(work, 'cache-')));

/** The stage's key as the engine computes it, without running the stage. */
async function keyOf(stage: Stage<any>): Promise<string> {
  const sink: BuildEvent[] = [];
  await runGraph([{ ...stage, run: async () => { throw new Error('key only'); } }], engineOpts(scratchCache(), sink)).catch(() => undefined);
  const failed = sink.find((e) => e.type === 'stage-failed') as Extract<BuildEvent, { type: 'stage-failed' }> | undefined;
  assert.ok(failed, 'the engine computed a key');
  return failed!.key;
}

test.before(async () => {
  await apt.ensureSourceIndex();
  const source = await apt.resolveSource('xen');
  const dir = await apt.fetchSource(source);
  tarball = join(dir, readdirSync(dir).find((f) => /^xen_4\.17\..*\.orig\.tar\.xz$/.test(f))!);
  digest = await sha256File(tarball);
  const user = process.env.USER;
  process.env.USER = PROBE_USER;
  try {
    built = (await runGraph([compiledXenStage({ tarball: { path: tarball, sha256: digest }, config: { ...FRAGMENT } })], engineOpts(new StageCache()))).get('hypervisor')!;
  } finally {
    process.env.USER = user;
  }
});
test.after(() => rmSync(work, { recursive: true, force: true }));

test('a tarball with another digest is refused before unpacking, naming both digests', async () => {
  const wanted = 'b'.repeat(64);
  const sink: BuildEvent[] = [];
  const msg = await runGraph([compiledXenStage({ tarball: { path: tarball, sha256: wanted } })], engineOpts(scratchCache(), sink)).then(() => '', (e: Error) => e.message);
  assert.match(msg, `has sha256 ${digest}, but the recipe requires ${wanted}`);
  assert.not.ok(sink.some((e) => e.type === 'stage-progress' && /unpacking/.test(e.note)));
  const failed = sink.find((e) => e.type === 'stage-failed') as Extract<BuildEvent, { type: 'stage-failed' }>;
  // no tool ran at all: the engine wrote no build log (it would hold a "$ tar ..." line)
  assert.not.ok(failed.log && existsSync(failed.log) && /\$ tar /.test(readFileSync(failed.log, 'utf8')));
});

test('xen.gz is a gzip of an ELF image with a multiboot header; xen.config holds the fragment', () => {
  const image = gunzipSync(readFileSync(join(built.dir, 'xen.gz')));
  assert.equal([...image.subarray(0, 4)], [0x7f, 0x45, 0x4c, 0x46]);
  const mb1 = [...Array(8192 / 4).keys()].map((i) => i * 4).find((o) => image.readUInt32LE(o) === 0x1badb002
    && ((image.readUInt32LE(o) + image.readUInt32LE(o + 4) + image.readUInt32LE(o + 8)) >>> 0) === 0);
  assert.ok(mb1 !== undefined, 'multiboot header with a valid checksum in the first 8 KiB');
  for (const f of ['xen-syms', 'xen.config', 'xen-banner.json', 'xen.efi']) assert.ok(readdirSync(built.dir).includes(f), f);
  assert.is(parseConfig(readFileSync(join(built.dir, 'xen.config'), 'utf8')).get('CONFIG_NR_CPUS'), '512');
});

test('the banner is upstream\'s with xsforge\'s pinned identity, and holds no user, host or Debian maintainer of this machine', async () => {
  const { banner, text } = await compiledXenBanner(built.dir);
  assert.equal({ ...banner, compiler: '' }, { version: '4.17.5', distribution: '', systemVersion: '', by: 'xsforge@xsforge', compiler: '', date: 'Wed Aug  1 00:00:00 UTC 2018' });
  assert.match(banner.compiler, /^gcc /);
  assert.ok(text.startsWith('Xen version 4.17.5 (xsforge@xsforge) (gcc '), text);
  const image = gunzipSync(readFileSync(join(built.dir, 'xen.gz')));
  assert.ok(image.includes('xsforge\0'));
  assert.ok(image.includes('Wed Aug  1 00:00:00 UTC 2018\0'));
  assert.not.ok(image.includes(PROBE_USER), 'the $USER of the build');
  // a short host name ("vm") can be one of Xen's own strings: then Debian's build (another host) has it too
  const [deb] = await (await apt.ensureIndex(), apt).resolve(['xen-hypervisor-4.17-amd64']);
  const debRoot = join(work, 'deb');
  await run(['dpkg-deb', '-x', await apt.fetch(deb), debRoot]);
  const debian = gunzipSync(readFileSync(join(debRoot, 'boot', readdirSync(join(debRoot, 'boot')).find((f) => /^xen-.*\.gz$/.test(f))!)));
  const domain = (await run(['hostname', '-d']).catch(() => ({ stdout: '' }))).stdout.trim();
  for (const word of [hostname(), domain].filter(Boolean)) {
    assert.ok(!image.includes(`\0${word}\0`) || debian.includes(`\0${word}\0`), `host or domain name ${word}`);
  }
  assert.ok(debian.includes('pkg-xen-devel'));
  assert.not.ok(image.includes('pkg-xen-devel'), 'Debian\'s maintainer address (its patch series was not applied)');
  assert.not.ok(image.includes(work.split('/')[1] === 'tmp' ? '/tmp/' : work), 'no build path');
});

test('a second run is a cache hit; the key follows the tarball\'s digest, not its path or name', async () => {
  const t0 = Date.now();
  const again = (await runGraph([compiledXenStage({ tarball: { path: tarball, sha256: digest }, config: { ...FRAGMENT } })], engineOpts(new StageCache()))).get('hypervisor')!;
  assert.ok(again.cached);
  assert.is(again.key, built.key);
  assert.ok(Date.now() - t0 < 5000, `took ${Date.now() - t0} ms`);

  // the recipe section, relative to a recipe folder elsewhere, under another file name
  const recipeDir = join(work, 'recipe');
  mkdirSync(join(recipeDir, 'sources'), { recursive: true });
  copyFileSync(tarball, join(recipeDir, 'sources', 'xen-4.17.5.tar.xz'));
  const section = { source: 'tarball' as const, path: 'sources/xen-4.17.5.tar.xz', sha256: digest, config: { ...FRAGMENT } };
  assert.is(await keyOf(await hypervisorStage(section, { apt, baseDir: recipeDir })), built.key);
  assert.equal(await hypervisorOrigin(section, { apt, baseDir: recipeDir }), { name: 'xen-4.17.5.tar.xz', version: '4.17.5', compiled: true });

  const other = join(work, 'other.tar.xz');
  writeFileSync(other, 'not the same bytes');
  assert.is.not(await keyOf(compiledXenStage({ tarball: { path: other, sha256: await sha256File(other) }, config: { ...FRAGMENT } })), built.key);
  assert.is.not(await keyOf(compiledXenStage({ tarball: { path: tarball, sha256: digest }, config: { CONFIG_NR_CPUS: 256 } })), built.key);
});

test('a directory source: the key follows the tree digest (not .git, not where it is), and it runs the shared configure path', async () => {
  const top = join(work, 'checkout');
  mkdirSync(top);
  await run(['tar', '-x', '-J', '-f', tarball, '-C', top, '--strip-components=1']);
  mkdirSync(join(top, '.git'));
  writeFileSync(join(top, '.git', 'HEAD'), 'ref: refs/heads/main\n');
  const section = { source: 'directory' as const, path: relative(work, top), config: { ...FRAGMENT } };
  const base = await keyOf(await hypervisorStage(section, { apt, baseDir: work }));
  assert.is.not(base, built.key, 'a directory and a tarball of the same tree are different sources');
  writeFileSync(join(top, '.git', 'HEAD'), 'ref: refs/heads/other\n');
  const moved = join(work, 'elsewhere');
  renameSync(top, moved);
  assert.is(await keyOf(await hypervisorStage({ ...section, path: basename(moved) }, { apt, baseDir: work })), base);
  assert.equal(await hypervisorOrigin({ ...section, path: basename(moved) }, { apt, baseDir: work }), { name: 'elsewhere (directory)', version: '4.17.5', compiled: true });
  const readme = join(moved, 'README');
  writeFileSync(readme, `${readFileSync(readme, 'utf8')}\nxsforge\n`);
  const edited = await xenDirectory(moved);
  assert.is.not(await keyOf(compiledXenStage({ directory: edited, config: { ...FRAGMENT } })), base);

  // copy -> digest check -> defconfig -> fragment -> survival check: fails before compiling, as for any source
  const sink: BuildEvent[] = [];
  const msg = await runGraph([compiledXenStage({ directory: edited, config: { CONFIG_ARGO: 'y' } })], engineOpts(scratchCache(), sink)).then(() => '', (e: Error) => e.message);
  assert.match(msg, /CONFIG_ARGO: wanted y, Kconfig left unset/);
  assert.ok(sink.some((e) => e.type === 'stage-progress' && /^copying /.test(e.note)));
  assert.not.ok(sink.some((e) => e.type === 'stage-progress' && /compiling/.test(e.note)));
  // the tree changed after the key was taken: refused, naming both digests
  writeFileSync(readme, 'changed again\n');
  const stale = await runGraph([compiledXenStage({ directory: edited })], engineOpts(scratchCache())).then(() => '', (e: Error) => e.message);
  assert.match(stale, new RegExp(`changed while the build was starting \\(tree digest [0-9a-f]{64}, expected ${edited.treeSha256}\\)`));
});

test.run();

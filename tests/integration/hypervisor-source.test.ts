// Xen compiled from Debian's `xen` source package through the real engine, in
// the user's normal stage cache: the first run compiles once (about two minutes
// on 2 cores), later runs find it cached. Also: a Kconfig setting that cannot
// survive fails naming the option (no compile), and which changes move the key
// (computed without compiling).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { REPO_ROOT } from '../../cli/shared.ts';
import { StageCache, defaultCacheRoot, downloadsRootFor } from '../../core/cache.ts';
import { runGraph, type StageResult } from '../../core/engine.ts';
import { run } from '../../core/exec.ts';
import type { BuildEvent } from '../../core/events.ts';
import type { Stage } from '../../core/stage.ts';
import { AptRoot, type ResolvedSource } from '../../debian/apt.ts';
import { parseConfig } from '../../hypervisor/kconfig.ts';
import { hypervisorStage } from '../../hypervisor/schema.ts';
import { compiledXenBanner, compiledXenStage } from '../../hypervisor/source.ts';

const BOOKWORM = { mirror: 'http://deb.debian.org/debian', suite: 'bookworm', components: ['main'] };
// the default recipe's epoch, patch and fragment: a machine that built the default product compiles nothing here
const EPOCH = 1533081600;
const PATCH = join(REPO_ROOT, 'recipes', 'patches', 'xen', '0001-console-say-compiled-by-xsforge.patch');
// differs from defconfig in a bool, an int and a string option
const FRAGMENT = { CONFIG_HYPFS_CONFIG: 'n', CONFIG_NR_CPUS: 512, CONFIG_DOM0_MEM: '1024M,max:1024M' } as const;

const work = mkdtempSync(join(tmpdir(), 'xsf-xensrc-'));
const apt = new AptRoot(BOOKWORM, downloadsRootFor(defaultCacheRoot()));
let source: ResolvedSource;
let built: StageResult;
const events: BuildEvent[] = [];

const engineOpts = (cache: StageCache, sink: BuildEvent[] = []) =>
  ({ cache, reporter: { emit: (e: BuildEvent) => { sink.push(e); }, close: () => {} }, sourceDateEpoch: EPOCH, scope: 'test-hypervisor-source' });

/** The stage's key as the engine computes it, without running the stage (a copy whose run fails at once, in a throwaway cache). */
async function keyOf(stage: Stage<any>): Promise<string> {
  const sink: BuildEvent[] = [];
  const cache = new StageCache(mkdtempSync(join(work, 'keycache-')));
  await runGraph([{ ...stage, run: async () => { throw new Error('key only'); } }], engineOpts(cache, sink)).catch(() => undefined);
  const failed = sink.find((e) => e.type === 'stage-failed') as Extract<BuildEvent, { type: 'stage-failed' }> | undefined;
  assert.ok(failed, 'the engine computed a key');
  return failed!.key;
}

test.before(async () => {
  await apt.ensureSourceIndex();
  source = await apt.resolveSource('xen');
  const stage = compiledXenStage({ apt, source, config: { ...FRAGMENT }, patches: [PATCH] });
  built = (await runGraph([stage], engineOpts(new StageCache(), events))).get('hypervisor')!;
});
test.after(() => rmSync(work, { recursive: true, force: true }));

test('the source package resolves to the bookworm 4.17 release, and fetching it again runs no process', async () => {
  assert.is(source.name, 'xen');
  assert.match(source.version, /^4\.17\./);
  assert.ok(source.files.some((f) => f.name.endsWith('.orig.tar.xz')));
  const dir = await apt.fetchSource(source);
  assert.equal(readdirSync(dir).sort(), source.files.map((f) => f.name));
  // with no apt-get/apt-cache to be found, only the memo and the store can answer
  const path = process.env.PATH;
  process.env.PATH = '/nonexistent';
  try {
    const fresh = new AptRoot(BOOKWORM, downloadsRootFor(defaultCacheRoot()));
    assert.equal(await fresh.resolveSource('xen'), source);
    assert.is(await fresh.fetchSource(source), dir);
  } finally {
    process.env.PATH = path;
  }
});

test('xen.gz is a gzip of an ELF image with multiboot and multiboot2 headers', () => {
  const image = gunzipSync(readFileSync(join(built.dir, 'xen.gz')));
  assert.equal([...image.subarray(0, 4)], [0x7f, 0x45, 0x4c, 0x46]);
  const mb1 = [...Array(8192 / 4).keys()].map((i) => i * 4).find((o) => image.readUInt32LE(o) === 0x1badb002
    && ((image.readUInt32LE(o) + image.readUInt32LE(o + 4) + image.readUInt32LE(o + 8)) >>> 0) === 0);
  assert.ok(mb1 !== undefined, 'multiboot header with a valid checksum in the first 8 KiB');
  const mb2 = [...Array(32768 / 8).keys()].map((i) => i * 8).find((o) => image.readUInt32LE(o) === 0xe85250d6);
  assert.ok(mb2 !== undefined, 'multiboot2 header in the first 32 KiB');
  for (const f of ['xen-syms', 'xen.config', 'xen-banner.json']) assert.ok(readdirSync(built.dir).includes(f), f);
});

test('xen.config holds every fragment setting', () => {
  const cfg = parseConfig(readFileSync(join(built.dir, 'xen.config'), 'utf8'));
  assert.is(cfg.get('CONFIG_HYPFS_CONFIG') ?? 'n', 'n');
  assert.is(cfg.get('CONFIG_NR_CPUS'), '512');
  assert.is(cfg.get('CONFIG_DOM0_MEM'), '1024M,max:1024M');
  assert.is(cfg.get('CONFIG_HYPFS'), 'y'); // defconfig's value where the fragment says nothing
});

test('the patch is in the image and the banner identity is xsforge\'s, not the Debian package\'s', async () => {
  const image = gunzipSync(readFileSync(join(built.dir, 'xen.gz')));
  assert.ok(image.includes('Xen compiled by xsforge from the Debian source package'));
  const { banner, text, regex } = await compiledXenBanner(built.dir);
  assert.is(banner.by, 'xsforge@xsforge');
  assert.is(banner.systemVersion, source.version);
  assert.is(banner.date, 'Wed Aug  1 00:00:00 UTC 2018'); // from EPOCH
  assert.match(`(XEN) ${text} debug=n ${banner.date}`, regex);
  // Debian's own build of the same version carries its maintainer address instead
  const [deb] = await (await apt.ensureIndex(), apt).resolve(['xen-hypervisor-4.17-amd64']);
  const root = join(work, 'deb');
  await run(['dpkg-deb', '-x', await apt.fetch(deb), root]);
  const gz = readdirSync(join(root, 'boot')).find((f) => /^xen-.*\.gz$/.test(f))!;
  const debian = gunzipSync(readFileSync(join(root, 'boot', gz)));
  assert.ok(debian.includes('pkg-xen-devel'));
  for (const s of [banner.distribution, banner.systemVersion]) assert.ok(image.includes(`${s}\0`), s);
  assert.not.ok(debian.includes('xsforge\0'));
});

test('a second run with the same inputs is a cache hit', async () => {
  const again: BuildEvent[] = [];
  const t0 = Date.now();
  const stage = compiledXenStage({ apt, source, config: { ...FRAGMENT }, patches: [PATCH] });
  const r = (await runGraph([stage], engineOpts(new StageCache(), again))).get('hypervisor')!;
  assert.ok(r.cached);
  assert.is(r.key, built.key);
  assert.ok(Date.now() - t0 < 5000, `took ${Date.now() - t0} ms`);
});

test('a fragment setting that Kconfig drops fails before compiling, naming the option and what it needs', async () => {
  const stage = compiledXenStage({ apt, source, config: { CONFIG_NR_CPUS: 64, CONFIG_ARGO: 'y' } });
  const sink: BuildEvent[] = [];
  const err = await runGraph([stage], engineOpts(new StageCache(mkdtempSync(join(work, 'cache-'))), sink)).then(() => undefined, (e: Error) => e);
  assert.ok(err, 'the build failed');
  assert.match(err!.message, /CONFIG_ARGO: wanted y, Kconfig left unset/);
  assert.match(err!.message, /CONFIG_ARGO \(common\/Kconfig\) needs: UNSUPPORTED/);
  assert.not.match(err!.message, /CONFIG_NR_CPUS/);
  assert.not.ok(sink.some((e) => e.type === 'stage-progress' && /compiling/.test(e.note)));
});

test('a patch that does not apply fails naming the patch file and showing the rejected hunk; --forward refuses a repeat', async () => {
  const stale = join(work, '0002-stale.patch');
  writeFileSync(stale, readFileSync(PATCH, 'utf8').replace('xen_compiler(), xen_build_info(), xen_compile_date());', 'xen_compiler(), xen_compile_date());'));
  const fail = (patches: string[]) => runGraph([compiledXenStage({ apt, source, patches })], engineOpts(new StageCache(mkdtempSync(join(work, 'cache-')))))
    .then(() => undefined, (e: Error) => e.message);
  const msg = await fail([stale]);
  assert.match(msg ?? '', new RegExp(`patch 0002-stale\\.patch \\(${stale.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\) does not apply to xen 4\\.17`));
  assert.match(msg ?? '', /rejected hunks:\n[^]*\+    printk\("Xen compiled by xsforge/);
  const twice = await fail([PATCH, PATCH]);
  assert.match(twice ?? '', /patch 0001-console-say-compiled-by-xsforge\.patch .*does not apply[^]*previously applied/);
});

test('a compile error fails with the end of the make output and the path of the whole log', async () => {
  const sink: BuildEvent[] = [];
  const stage = compiledXenStage({ apt, source, make: { EXTRA_CFLAGS_XEN_CORE: '-Werror=xsforge-no-such-warning' } });
  const msg = await runGraph([stage], engineOpts(new StageCache(mkdtempSync(join(work, 'cache-'))), sink)).then(() => '', (e: Error) => e.message);
  assert.match(msg, /compiling Xen 4\.17\.\S+ failed after \d+ files; end of the make output \(all of it: \S+build\.log\)/);
  assert.match(msg, /no option '-Wxsforge-no-such-warning'/);
  const log = /all of it: (\S+build\.log)/.exec(msg)![1];
  const failed = sink.find((e) => e.type === 'stage-failed') as Extract<BuildEvent, { type: 'stage-failed' }>;
  assert.is(failed.log, log);
  const text = readFileSync(log, 'utf8');
  assert.match(text, /\$ make .* defconfig /);
  assert.match(text, /GEN +include\/compat/); // the whole output, not just the tail
});

test('the key follows the fragment, the patches\' contents and order, and the make variables, and nothing else', async () => {
  const base = await keyOf(compiledXenStage({ apt, source, config: { ...FRAGMENT }, patches: [PATCH] }));
  assert.is(base, built.key, 'keyOf computes what the engine used');

  // same contents elsewhere (another checkout or recipe folder), config keys in another order: same key
  const elsewhere = join(work, 'elsewhere');
  mkdirSync(join(elsewhere, 'patches'), { recursive: true });
  copyFileSync(PATCH, join(elsewhere, 'patches', '0001-console-say-compiled-by-xsforge.patch'));
  const section = { source: 'debian-source' as const, package: 'xen', config: { CONFIG_DOM0_MEM: '1024M,max:1024M', CONFIG_NR_CPUS: 512, CONFIG_HYPFS_CONFIG: 'n' },
    patches: ['patches/0001-console-say-compiled-by-xsforge.patch'] };
  assert.is(await keyOf(await hypervisorStage(section, { apt, baseDir: elsewhere })), base);

  const changed = async (input: Parameters<typeof compiledXenStage>[0]) => {
    const k = await keyOf(compiledXenStage(input));
    assert.is.not(k, base);
    return k;
  };
  await changed({ apt, source, config: { ...FRAGMENT, CONFIG_NR_CPUS: 128 }, patches: [PATCH] });
  await changed({ apt, source, config: { ...FRAGMENT }, patches: [] });
  await changed({ apt, source, config: { ...FRAGMENT }, patches: [PATCH], make: { XEN_VENDORVERSION: '-xsf' } });
  await changed({ apt, source, config: { ...FRAGMENT }, patches: [PATCH], domain: 'example.com' });
  const edited = join(work, 'edited.patch');
  writeFileSync(edited, readFileSync(PATCH, 'utf8').replace('from the Debian source package', 'from Debian source'));
  await changed({ apt, source, config: { ...FRAGMENT }, patches: [edited] });
  // two patches: their order is part of the key
  const second = join(work, '0002-add-file.patch');
  writeFileSync(second, '--- /dev/null\n+++ b/XSFORGE\n@@ -0,0 +1 @@\n+xsforge\n');
  const ab = await changed({ apt, source, config: { ...FRAGMENT }, patches: [PATCH, second] });
  const ba = await changed({ apt, source, config: { ...FRAGMENT }, patches: [second, PATCH] });
  assert.is.not(ab, ba);
});

test.run();

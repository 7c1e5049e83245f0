// The build command end to end on real tools: incremental rebuilds, --explain,
// early errors (recipe, missing tool), output manifest, inspect vs xorriso.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_RECIPE } from '../../cli/shared.ts';
import { run } from '../../core/exec.ts';
import { sha256File } from '../../core/hash.ts';
import { buildRecipe, readManifest, xsforge } from '../lib/build.ts';

const work = mkdtempSync(join(tmpdir(), 'xsf-build-'));
const output = join(work, 'out');
let first: Awaited<ReturnType<typeof buildRecipe>>;

test.before(async () => {
  first = await buildRecipe(DEFAULT_RECIPE, { output });
});
test.after(() => rmSync(work, { recursive: true, force: true }));

test('output holds the ISO and a manifest listing every artifact with kind, path and sha256', async () => {
  const m = readManifest(first.outDir);
  const kinds = m.artifacts.map((a: any) => a.kind).sort();
  for (const k of ['install-iso', 'hypervisor', 'kernel', 'installer-initrd', 'efi-boot-image', 'boot-menu', 'rpm', 'yum-repo-metadata']) assert.ok(kinds.includes(k), k);
  for (const a of m.artifacts) assert.is(await sha256File(join(first.outDir, a.path)), a.sha256, a.path);
  assert.is(m.product.version, '7.1.2');
});

test('a second build with nothing changed runs no stage', async () => {
  const again = await buildRecipe(DEFAULT_RECIPE, { output });
  const ran = again.events.filter((e) => e.type === 'stage-start').map((e) => e.stage);
  assert.equal(ran, []);
  assert.ok(again.events.filter((e) => e.type === 'stage-cached').length >= 7);
  assert.is(again.result.published, false);
});

test('touching one boot parameter reruns only the menu, EFI image and ISO stages, and --explain names it', async () => {
  // a value no earlier run used, so the stages really have to run on a warm cache; not
  // dom0_mem: the recipe's CONFIG_DOM0_MEM must agree with it, and that recompiles Xen
  const vcpus = `1-${3 + Math.floor(Math.random() * 100000)}`;
  const recipe = join(work, 'dom0vcpus.yaml');
  writeFileSync(recipe, `extends: ${DEFAULT_RECIPE}\nboot:\n  xen:\n    dom0_max_vcpus: ${vcpus}\n`);
  const changed = await buildRecipe(recipe, { output: join(work, 'out2'), extra: ['--explain'] });
  const starts = changed.events.filter((e) => e.type === 'stage-start');
  assert.equal(starts.map((e) => e.stage).sort(), ['efi-image', 'iso', 'menus']);
  const menus = starts.find((e) => e.stage === 'menus')!;
  assert.equal(menus.reasons, [`options.boot.xen.dom0_max_vcpus: "1-2" -> "${vcpus}"`]);
  assert.ok(starts.find((e) => e.stage === 'iso')!.reasons.some((r: string) => /upstream stage (menus|efi)/.test(r)));
});

test('a stage that fails mid-build shows the command and its output, and leaves the previous good output intact', async () => {
  const before = readManifest(first.outDir);
  const recipe = join(work, 'badpkg.yaml');
  writeFileSync(recipe, `extends: ${DEFAULT_RECIPE}\ninstaller:\n  packages: [nodejs, no-such-package-xsforge]\n`);
  const r = await xsforge(['build', recipe, '--json', '-o', output]);
  assert.is(r.code, 1);
  assert.match(r.stderr, /build failed in install-img/);
  assert.match(r.stderr, /command: mmdebstrap /);
  assert.match(r.stderr, /no-such-package-xsforge/);
  assert.ok(r.stdout.split('\n').some((l) => l.includes('"type":"stage-failed"') && l.includes('install-img')));
  assert.equal(readManifest(first.outDir), before);
  assert.is(await sha256File(first.iso), before.artifacts[0].sha256);
});

test('a recipe with a typo, a wrong type or a missing field fails before any work, naming line and field', async () => {
  const cases: [string, RegExp][] = [
    [`extends: ${DEFAULT_RECIPE}\nboot:\n  tiemout: 5\n`, /:3:3: boot\.tiemout: unknown key 'tiemout' in boot; did you mean 'timeout'\?/],
    [`extends: ${DEFAULT_RECIPE}\nboot:\n  serial:\n    baud: fast\n`, /:4:11: boot\.serial\.baud: .*integer/],
    [`name: x\nsource_date_epoch: 1\n`, /product: missing required field 'product'/],
  ];
  for (const [text, re] of cases) {
    const f = join(work, 'bad.yaml');
    writeFileSync(f, text);
    const r = await xsforge(['build', f, '--json', '-o', join(work, 'never')]);
    assert.is(r.code, 1);
    assert.match(r.stderr, re);
    assert.not.match(r.stdout, /stage-start/);
    assert.not.ok(existsSync(join(work, 'never')));
  }
});

test('a missing host tool fails before any work with the apt package to install', async () => {
  // a PATH with every command of /usr/bin except xorriso
  const bin = join(work, 'bin-without-xorriso');
  mkdirSync(bin);
  for (const f of readdirSync('/usr/bin')) if (f !== 'xorriso') symlinkSync(join('/usr/bin', f), join(bin, f));
  const r = await xsforge(['build', DEFAULT_RECIPE, '--json', '-o', join(work, 'never2')], { PATH: `${bin}:/usr/sbin:/sbin` });
  assert.is(r.code, 1);
  assert.match(r.stderr, /required tool 'xorriso' is not installed/);
  assert.match(r.stderr, /apt-get install -y --no-install-recommends xorriso/);
  assert.not.match(r.stdout, /stage-start/);
});

test('xsforge inspect agrees with xorriso on the boot catalog and the file list of the built ISO', async () => {
  const r = await xsforge(['inspect', first.iso, '--json']);
  assert.is(r.code, 0, r.stderr);
  const report = JSON.parse(r.stdout);
  assert.is(report.volume.volumeId, 'XS712');
  // boot catalog: xorriso's el torito report
  const el = (await run(['xorriso', '-indev', first.iso, '-report_el_torito', 'plain'])).stdout;
  const xorrisoImages = [...el.matchAll(/El Torito boot img :\s+\d+\s+(BIOS|UEFI)\s+y\s+none\s+0x0000\s+0x00\s+(\d+)\s+(\d+)/g)].map((m) => ({ platform: m[1], size: Number(m[2]), lba: Number(m[3]) }));
  assert.is(xorrisoImages.length, 2, el);
  const ours = report.boot.entries.map((e: any) => ({ platform: e.platformId === 0xef ? 'UEFI' : 'BIOS', size: e.loadSectors, lba: e.loadRba }));
  assert.equal(ours, xorrisoImages);
  assert.equal(report.boot.entries.map((e: any) => e.path), ['/boot/isolinux/isolinux.bin', '/boot/efiboot.img']);
  // file list: every file xorriso lists, with the same size
  const find = (await run(['xorriso', '-indev', first.iso, '-find', '/', '-exec', 'lsdl'])).stdout;
  const theirs = [...find.matchAll(/^[-e]\S+\s+\d+\s+\S+\s+\S+\s+(\d+)\s+\S+\s+\S+\s+\S+\s+'\/(.*)'$/gm)].map((m) => `${m[2]} ${m[1]}`).sort();
  const oursFiles = report.files.filter((f: any) => f.type === 'file').map((f: any) => `${f.path.replace(/^\//, '')} ${f.size}`).sort();
  assert.ok(theirs.length > 15, find.slice(0, 500));
  assert.equal(oursFiles, theirs);
  for (const p of ['boot/xen.gz', 'boot/vmlinuz', 'install.img', 'boot/isolinux/isolinux.cfg', 'boot/isolinux/mboot.c32', 'boot/pxelinux/pxelinux.0', 'EFI/xenserver/grubx64.efi', 'EFI/xenserver/grub.cfg', 'EFI/BOOT/BOOTX64.EFI', 'boot/efiboot.img', '.treeinfo', 'EULA'])
    assert.ok(oursFiles.some((f: string) => f.startsWith(`${p} `)), p);
  // xsforge-boot: the recipe's Xen/dom0 values for the installed host's GRUB (media/treeinfo.ts)
  assert.equal(report.treeinfo.map((s: any) => s.name), ['platform', 'branding', 'build', 'xsforge-boot']);
});

test.run();

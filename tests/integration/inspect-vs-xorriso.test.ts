// Our ISO reader against xorriso's own reports on a small hybrid ISO mastered
// like the product's (isolinux BIOS entry, EFI image entry, isohybrid MBR + GPT,
// Rock Ridge + Joliet). Every file is compared, not a sample; a disagreement
// fails with a line diff (`- xorriso` / `+ ours`).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtemp, mkdir, writeFile, copyFile, symlink, utimes, chmod, readFile, readlink, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from '@commander-js/extra-typings';
import { run } from '../../core/exec.ts';
import { XsforgeError } from '../../core/errors.ts';
import { openIsoFile, modeString, IsoImage, type IsoEntry } from '../../media/iso9660.ts';
import { inspectIso, inspectFile, formatIsoReport, type IsoReport } from '../../media/inspect.ts';
import { formatTreeinfo, type TreeinfoSection } from '../../media/treeinfo.ts';
import { register } from '../../cli/commands/inspect.ts';

const ISOLINUX_BIN = '/usr/lib/ISOLINUX/isolinux.bin';
const ISOHDPFX = '/usr/lib/ISOLINUX/isohdpfx.bin';
const LDLINUX = '/usr/lib/syslinux/modules/bios/ldlinux.c32';
const XENV = { TZ: 'UTC', SOURCE_DATE_EPOCH: '1000000000', LC_ALL: 'C' };

const TREEINFO: TreeinfoSection[] = [
  { name: 'platform', entries: [['name', 'XCP'], ['version', '2.2.0']] },
  { name: 'branding', entries: [['name', 'Test Server'], ['version', '7.1.2']] },
  { name: 'build', entries: [['number', 'test-1']] },
  { name: 'keys', entries: [['key1', 'RPM-GPG-KEY-test']] },
];
const LONG_NAME = `${'long-name-'.repeat(24)}end.txt`; // 247 bytes: its NM cannot fit a directory record
const LONG_TARGET = Array.from({ length: 8 }, (_, i) => `component-${i}-${'y'.repeat(30)}`).join('/'); // > 255: SL split
const DEEP_DIR = 'deep/d2/d3/d4/d5/d6/d7/d8/d9/d10';
const MTIME = new Date('2001-02-03T04:05:06Z');

let dir: string;
let tree: string;
let hybridIso: string;
let relocIso: string;

async function xorriso(...args: string[]): Promise<string> {
  return (await run(['xorriso', ...args], { env: XENV })).stdout;
}

test.before(async () => {
  // uvu reports a failing hook only as "0 passed": say what broke.
  try {
    await buildImages();
  } catch (err) {
    process.stderr.write(`setup failed: ${(err as Error).stack ?? err}\n`);
    process.exitCode = 1;
    throw err;
  }
});

async function buildImages(): Promise<void> {
  dir = await mkdtemp(join(tmpdir(), 'xsforge-inspect-'));
  tree = join(dir, 'tree');
  await mkdir(join(tree, 'boot/isolinux'), { recursive: true });
  await copyFile(ISOLINUX_BIN, join(tree, 'boot/isolinux/isolinux.bin'));
  await copyFile(LDLINUX, join(tree, 'boot/isolinux/ldlinux.c32'));
  // EFI boot image: a FAT file system holding the removable-media loader path.
  const efi = join(dir, 'efiboot.img');
  await run(['mkfs.vfat', '-C', efi, '1440']);
  await run(['mmd', '-i', efi, '::EFI', '::EFI/BOOT']);
  await writeFile(join(dir, 'BOOTX64.EFI'), 'not really an EFI program\n');
  await run(['mcopy', '-i', efi, join(dir, 'BOOTX64.EFI'), '::EFI/BOOT/BOOTX64.EFI']);
  await copyFile(efi, join(tree, 'boot/efiboot.img'));
  await writeFile(join(tree, '.treeinfo'), formatTreeinfo(TREEINFO));
  await mkdir(join(tree, 'docs'), { recursive: true });
  await writeFile(join(tree, 'docs', LONG_NAME), 'long\n');
  await writeFile(join(tree, 'docs/empty'), '');
  await writeFile(join(tree, 'docs/run.sh'), '#!/bin/sh\necho hi\n');
  await chmod(join(tree, 'docs/run.sh'), 0o755);
  await writeFile(join(tree, 'docs/secret'), 'x');
  await chmod(join(tree, 'docs/secret'), 0o600);
  await mkdir(join(tree, DEEP_DIR), { recursive: true });
  await writeFile(join(tree, DEEP_DIR, 'bottom.txt'), 'bottom\n');
  await writeFile(join(tree, 'deep/d2/dated.txt'), 'dated\n');
  await utimes(join(tree, 'deep/d2/dated.txt'), MTIME, MTIME);
  await symlink('../boot/isolinux/isolinux.bin', join(tree, 'docs/isolinux-link'));
  await symlink(`/${LONG_TARGET}`, join(tree, 'docs/long-link'));
  await symlink(`../${'z'.repeat(255)}`, join(tree, 'docs/long-component-link')); // one component split over SL entries
  // A file bigger than a block with a pattern, to catch off-by-one extents.
  await writeFile(join(tree, 'docs/pattern.bin'), Buffer.from(Array.from({ length: 5000 }, (_, i) => i % 251)));

  hybridIso = join(dir, 'out.iso');
  await run(['xorriso', '-as', 'mkisofs', '-R', '-J', '-joliet-long', '-V', 'TESTVOL',
    '-isohybrid-mbr', ISOHDPFX, '-c', 'boot/isolinux/boot.cat', '-b', 'boot/isolinux/isolinux.bin',
    '-no-emul-boot', '-boot-load-size', '4', '-boot-info-table',
    '-eltorito-alt-boot', '-e', 'boot/efiboot.img', '-no-emul-boot', '-isohybrid-gpt-basdat',
    '-o', hybridIso, tree], { env: XENV });
  // Same tree with deep directories relocated (Rock Ridge CL/RE records).
  relocIso = join(dir, 'reloc.iso');
  await run(['xorriso', '-as', 'mkisofs', '-R', '-rr_reloc_dir', 'rr_moved', '-V', 'RELOC', '-o', relocIso, join(tree, 'deep')], { env: XENV });
}

test.after(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** Fails with a readable diff when the two line sets differ (order-insensitive). */
function assertSameLines(what: string, ours: string[], theirs: string[]): void {
  const a = [...ours].sort();
  const b = [...theirs].sort();
  const onlyTheirs = b.filter((l) => !a.includes(l));
  const onlyOurs = a.filter((l) => !b.includes(l));
  if (onlyTheirs.length || onlyOurs.length || a.length !== b.length) {
    assert.unreachable(`${what}: our reader and xorriso disagree\n${onlyTheirs.map((l) => `  - xorriso: ${l}`).join('\n')}\n${onlyOurs.map((l) => `  + ours:    ${l}`).join('\n')}`);
  }
  assert.ok(a.length > 0, `${what}: nothing compared`);
}

// lsdl: "-rw-r--r--    1 0        0              38 Feb  3  2001 '/path'" [" -> 'target'"]
const LSDL = /^(\S{10})\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+\w{3}\s+\d+\s+[\d:]+\s+'(.*?)'(?: -> '(.*)')?$/;

function parseLsdl(out: string): string[] {
  return out.split('\n').filter((l) => l.trim()).map((l) => {
    const m = LSDL.exec(l);
    if (!m) throw new Error(`cannot parse xorriso lsdl line: ${l}`);
    const [, perms, , uid, gid, size, path, target] = m;
    // xorriso marks the El Torito catalog with 'e' where ls shows its type; it is a regular file.
    const mode = perms[0] === 'e' ? `-${perms.slice(1)}` : perms;
    return `${mode} ${uid}:${gid} ${perms[0] === 'd' ? 0 : size} ${path}${target !== undefined ? ` -> ${target}` : ''}`;
  });
}

function ourLsdl(entries: IsoEntry[]): string[] {
  return entries.map((e) => `${modeString(e.type, e.mode!)} ${e.uid}:${e.gid} ${e.type === 'dir' ? 0 : e.size} ${e.path}${e.symlinkTarget !== undefined ? ` -> ${e.symlinkTarget}` : ''}`);
}

async function withIso<T>(path: string, fn: (iso: IsoImage) => Promise<T>): Promise<T> {
  const iso = await openIsoFile(path);
  try { return await fn(iso); } finally { await iso.close(); }
}

test('every file: type, permissions, owner, size, path and symlink target match xorriso -exec lsdl', async () => {
  const theirs = parseLsdl(await xorriso('-indev', hybridIso, '-find', '/', '-exec', 'lsdl'));
  const ours = await withIso(hybridIso, async (iso) => {
    assert.is(iso.names, 'rockridge');
    return ourLsdl([iso.root(), ...(await iso.listFiles())]);
  });
  assertSameLines('file list', ours, theirs);
  // The tree really has the hard cases in it (so the comparison above covers them).
  assert.ok(ours.some((l) => l.endsWith(`/docs/${LONG_NAME}`)), 'long name present');
  assert.ok(ours.some((l) => l.endsWith(` -> /${LONG_TARGET}`)), 'long symlink present');
  assert.ok(ours.some((l) => l.includes(`/${DEEP_DIR}/bottom.txt`)), 'deep file present');
});

test('every file: data block and size match xorriso -exec report_lba', async () => {
  const out = await xorriso('-indev', hybridIso, '-find', '/', '-exec', 'report_lba');
  const theirs = out.split('\n').filter((l) => l.startsWith('File data lba:')).map((l) => {
    const m = /^File data lba:\s+\d+\s*,\s*(\d+)\s*,\s*\d+\s*,\s*(\d+)\s*,\s*'(.*)'$/.exec(l);
    if (!m) throw new Error(`cannot parse report_lba line: ${l}`);
    return `${m[1]} ${m[2]} ${m[3]}`;
  });
  const ours = await withIso(hybridIso, async (iso) => {
    const catalog = (await iso.elTorito())?.catalogPath;
    // xorriso lists regular files except the boot catalog, which it treats as a special node.
    return (await iso.listFiles()).filter((f) => f.type === 'file' && f.path !== catalog).map((f) => `${f.extentLba} ${f.size} ${f.path}`);
  });
  assertSameLines('file data blocks', ours, theirs);
});

test('El Torito entries match xorriso -report_el_torito plain', async () => {
  const out = await xorriso('-indev', hybridIso, '-report_el_torito', 'plain');
  const paths = new Map<string, string>();
  const opts = new Map<string, string>();
  const imgs: string[][] = [];
  let catalog = '';
  let catalogPath = '';
  for (const line of out.split('\n')) {
    const colon = line.indexOf(':');
    const [key, value] = [line.slice(0, colon).trim(), line.slice(colon + 1).trim()];
    if (key === 'El Torito boot img') imgs.push(value.split(/\s+/));
    else if (key === 'El Torito img path') { const [n, ...p] = value.split(/\s+/); paths.set(n, p.join(' ')); }
    else if (key === 'El Torito img opts') { const [n, ...o] = value.split(/\s+/); opts.set(n, o.join(' ')); }
    else if (key === 'El Torito catalog') catalog = value.split(/\s+/)[0];
    else if (key === 'El Torito cat path') catalogPath = value;
  }
  assert.is(imgs.length, 2, `xorriso reported ${imgs.length} boot images:\n${out}`);
  const theirs = imgs.map(([n, pltf, b, emul, ldSeg, hdpt, ldsiz, lba]) =>
    `${n} ${pltf} ${b} ${emul} seg=${ldSeg} hdpt=${hdpt} size=${ldsiz} lba=${lba} ${paths.get(n)} bit=${(opts.get(n) ?? '').includes('boot-info-table')}`);
  const cat = await withIso(hybridIso, (iso) => iso.elTorito());
  assert.ok(cat, 'our reader found no boot catalog');
  assert.equal(cat.problems, []);
  assert.ok(cat.validation.checksumOk);
  const pltf: Record<string, string> = { 'x86 BIOS': 'BIOS', EFI: 'UEFI', PowerPC: 'PPC', Mac: 'Mac' };
  const emul: Record<string, string> = { 'no-emulation': 'none', 'hard-disk': 'hd', 'floppy-1.2M': 'fd', 'floppy-1.44M': 'fd', 'floppy-2.88M': 'fd' };
  const hex = (n: number, w: number) => `0x${n.toString(16).padStart(w, '0')}`;
  const ours = cat.entries.map((e) =>
    `${e.index} ${pltf[e.platform] ?? e.platform} ${e.bootable ? 'y' : 'n'} ${emul[e.emulation]} seg=${hex(e.loadSegment, 4)} hdpt=${hex(e.systemType, 2)} size=${e.sectorCount} lba=${e.loadRba} ${e.path} bit=${e.bootInfoTable}`);
  assertSameLines('El Torito boot images', ours, theirs);
  assert.is(String(cat.catalogLba), catalog);
  assert.is(cat.catalogPath, catalogPath);
  // And they are the product's two entries.
  assert.equal(cat.entries.map((e) => [e.platform, e.path]), [['x86 BIOS', '/boot/isolinux/isolinux.bin'], ['EFI', '/boot/efiboot.img']]);
});

test('system area (isohybrid MBR + GPT) matches xorriso -report_system_area plain', async () => {
  const out = await xorriso('-indev', hybridIso, '-report_system_area', 'plain');
  const field = (key: string) => out.split('\n').filter((l) => l.startsWith(key)).map((l) => l.slice(l.indexOf(':') + 1).trim());
  const rawGuid = (g: string) => {
    const b = Buffer.from(g.replace(/-/g, ''), 'hex');
    b.subarray(0, 4).reverse(); b.subarray(4, 6).reverse(); b.subarray(6, 8).reverse();
    return b.toString('hex');
  };
  const report = await inspectIso(hybridIso, { files: false });
  const sa = report.systemArea;
  assert.is(sa.summary, 'hybrid MBR + GPT');
  assert.match(field('System area summary')[0], /MBR.*GPT/);
  const mbrPaths = new Map(field('MBR partition path').map((v) => { const [n, p] = v.split(/\s+/); return [n, p]; }));
  assertSameLines('MBR partitions',
    sa.mbr.partitions.map((p) => `${p.number} ${hex2(p.active ? 0x80 : 0)} ${hex2(p.type)} ${p.start} ${p.sectors} ${p.path ?? '-'}`),
    field('MBR partition      ').map((v) => { const [n, st, ty, start, blocks] = v.split(/\s+/); return `${n} ${st} ${ty} ${start} ${blocks} ${mbrPaths.get(n) ?? '-'}`; }));
  assert.ok(sa.gpt, 'no GPT found');
  assert.ok(sa.gpt.headerCrcOk && sa.gpt.entriesCrcOk && sa.gpt.backupHeaderOk, 'GPT CRCs / backup header');
  assert.is(rawGuid(sa.gpt.diskGuid), field('GPT disk GUID')[0]);
  assert.is(`${sa.gpt.firstUsableLba} ${sa.gpt.lastUsableLba} ${sa.gpt.backupLba}`, field('GPT lba range').join(' ').replace(/\s+/g, ' '));
  assert.is(`${sa.gpt.entriesLba} ${sa.gpt.entryCount}`, field('GPT entry array')[0].split(/\s+/).slice(0, 2).join(' '));
  const byNum = (key: string) => new Map(field(key).map((v) => { const [n, ...rest] = v.split(/\s+/); return [n, rest.join(' ')]; }));
  const [types, names, ranges, gptPaths] = [byNum('GPT type GUID'), byNum('GPT partname local'), byNum('GPT start and size'), byNum('GPT partition path')];
  assertSameLines('GPT partitions',
    sa.gpt.partitions.map((p) => `${p.number} ${rawGuid(p.typeGuid)} ${p.name} ${p.start} ${p.sectors} ${p.path ?? '-'}`),
    [...types.keys()].map((n) => `${n} ${types.get(n)} ${names.get(n)} ${ranges.get(n)} ${gptPaths.get(n) ?? '-'}`));
  // The EFI image is reachable both ways a USB stick is booted.
  assert.ok(sa.mbr.partitions.some((p) => p.type === 0xef && p.path === '/boot/efiboot.img'));
  assert.ok(sa.gpt.partitions.some((p) => p.path === '/boot/efiboot.img'));
});

function hex2(n: number): string {
  return `0x${n.toString(16).padStart(2, '0')}`;
}

test('volume descriptor matches xorriso -pvd_info; dates follow SOURCE_DATE_EPOCH', async () => {
  const out = await xorriso('-indev', hybridIso, '-pvd_info');
  const field = (key: string) => (out.split('\n').find((l) => l.startsWith(key)) ?? '').replace(/^[^:]*:\s?/, '');
  const report = await inspectIso(hybridIso, { files: false });
  assert.is(report.volume.volumeId, 'TESTVOL');
  assert.is(report.volume.volumeId, field('Volume Id'));
  assert.is(report.volume.preparerId, field('Preparer Id'));
  assert.is(report.volume.publisherId, field('Publisher Id'));
  assert.is(report.volume.systemId, field('System Id'));
  assert.is(report.volume.created, '2001-09-09T01:46:40.000Z');
  const digits = (iso: string | null) => (iso ?? '').replace(/[-T:.Z]/g, '').slice(0, 16).padEnd(16, '0');
  assert.is(digits(report.volume.created), field('Creation Time'));
  assert.is(digits(report.volume.modified), field('Modif. Time'));
  const size = (await run(['stat', '-c', '%s', hybridIso])).stdout.trim();
  assert.is(String(report.imageBytes), size);
});

test('file contents, symlink targets, times and .treeinfo read back', async () => {
  await withIso(hybridIso, async (iso) => {
    assert.ok((await iso.readFile('/boot/isolinux/ldlinux.c32')).equals(await readFile(LDLINUX)));
    assert.ok((await iso.readFile('/boot/efiboot.img')).equals(await readFile(join(dir, 'efiboot.img'))));
    assert.ok((await iso.readFile('/docs/pattern.bin')).equals(await readFile(join(tree, 'docs/pattern.bin'))));
    // isolinux.bin differs from the source only in its boot info table (bytes 8..63), which xorriso patched.
    const bin = await iso.readFile('/boot/isolinux/isolinux.bin');
    const src = await readFile(ISOLINUX_BIN);
    assert.ok(bin.subarray(64).equals(src.subarray(64)) && bin.subarray(0, 8).equals(src.subarray(0, 8)));
    assert.is(bin.readUInt32LE(8), 16);
    assert.is((await iso.stat('/docs/isolinux-link'))?.symlinkTarget, await readlink(join(tree, 'docs/isolinux-link')));
    assert.is((await iso.stat('/docs/long-link'))?.symlinkTarget, await readlink(join(tree, 'docs/long-link')));
    assert.is((await iso.stat('/docs/long-component-link'))?.symlinkTarget, `../${'z'.repeat(255)}`);
    assert.is((await iso.stat('/deep/d2/dated.txt'))?.mtime?.toISOString(), MTIME.toISOString());
  });
  const report = await inspectIso(hybridIso);
  assert.equal(report.treeinfo, TREEINFO);
  assert.is(report.files?.length, report.fileCount);
  assert.equal(report.files?.find((f) => f.path === '/docs/run.sh'), { path: '/docs/run.sh', type: 'file', size: 18, mode: '-rwxr-xr-x', lba: report.files!.find((f) => f.path === '/docs/run.sh')!.lba });
  const text = formatIsoReport(report);
  for (const needle of ['TESTVOL', 'hybrid MBR + GPT', '/boot/isolinux/isolinux.bin  [boot-info-table]', '[platform]', 'version = 7.1.2', `/docs/long-link -> /${LONG_TARGET}`]) {
    assert.ok(text.includes(needle), `human report lacks ${JSON.stringify(needle)}:\n${text}`);
  }
});

test('Joliet tree of the same image: same files and blocks where Joliet can name them', async () => {
  const joliet = await openIsoFile(hybridIso, { names: 'joliet' });
  try {
    const jfiles = new Map((await joliet.listFiles()).map((f) => [f.path, f]));
    for (const p of ['/boot/isolinux/isolinux.bin', '/boot/efiboot.img', '/.treeinfo', '/docs/pattern.bin']) {
      assert.ok(jfiles.has(p), `Joliet lacks ${p}`);
    }
    await withIso(hybridIso, async (rr) => {
      for (const [p, jf] of jfiles) {
        const rf = await rr.stat(p);
        if (jf.type === 'file' && rf) assert.equal([jf.extentLba, jf.size], [rf.extentLba, rf.size], p);
      }
    });
  } finally {
    await joliet.close();
  }
});

test('relocated deep directories (Rock Ridge CL/RE) read like xorriso reads them', async () => {
  const theirs = parseLsdl(await xorriso('-indev', relocIso, '-find', '/', '-exec', 'lsdl'));
  const ours = await withIso(relocIso, async (iso) => ourLsdl([iso.root(), ...(await iso.listFiles())]));
  assertSameLines('relocated tree', ours, theirs);
  assert.ok(ours.some((l) => l.endsWith('/d2/d3/d4/d5/d6/d7/d8/d9/d10/bottom.txt')));
  // Without Rock Ridge the same image shows where the directory really went.
  const plain = await openIsoFile(relocIso, { names: 'iso9660' });
  try {
    assert.ok((await plain.listFiles()).some((f) => f.path.startsWith('/RR_MOVED/')), 'relocation directory not found in the ISO 9660 view');
  } finally {
    await plain.close();
  }
});

test('inspect: sniffs ISO vs .treeinfo, clear errors otherwise, CLI --json works', async () => {
  const ti = await inspectFile(join(tree, '.treeinfo'));
  assert.is(ti.kind, 'treeinfo');
  if (ti.kind === 'treeinfo') assert.equal(ti.sections, TREEINFO);
  for (const [content, re] of [['{"not": "ini"}', /neither an ISO 9660 image nor a \.treeinfo/], ['[a]\nno delimiter here\n', /:2: expected/]] as const) {
    const f = join(dir, 'bogus');
    await writeFile(f, content);
    try {
      await inspectFile(f);
      assert.unreachable(`no error for ${content}`);
    } catch (err) {
      assert.instance(err, XsforgeError);
      assert.match((err as Error).message, re);
    }
  }
  // Right signature, nothing behind it: a truncated image is an error, not a crash.
  const cut = join(dir, 'cut.iso');
  await writeFile(cut, (await readFile(hybridIso)).subarray(0, 16 * 2048 + 100));
  try {
    await inspectFile(cut);
    assert.unreachable('truncated ISO accepted');
  } catch (err) {
    assert.instance(err, XsforgeError);
  }
  let printed = '';
  const write = process.stdout.write;
  process.stdout.write = ((chunk: string) => { printed += chunk; return true; }) as typeof process.stdout.write;
  try {
    const program = new Command('xsforge').exitOverride();
    register(program);
    await program.parseAsync(['inspect', '--json', '--no-files', hybridIso], { from: 'user' });
  } finally {
    process.stdout.write = write;
  }
  const json = JSON.parse(printed) as IsoReport;
  assert.is(json.volume.volumeId, 'TESTVOL');
  assert.is(json.files, undefined);
  assert.is(json.boot?.entries.length, 2);
});

test.run();

// Detecting existing installations on sparse disk images: tables written by our
// writer (`xsforge layout write` and writeTableToImage), real ext file systems
// made by mke2fs at the partition offsets (-E offset=, no loop devices), then
// probed with probeDiskImage and planned. Also checks the superblock reader
// against what mke2fs was told (label, UUID, type, size).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { open, truncate } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '../../core/exec.ts';
import { REPO_ROOT } from '../../cli/shared.ts';
import { EXT_PROBE_BYTES, readExtSuperblock } from '../../disk/ext-superblock.ts';
import { probeDiskImage } from '../../disk/probe.ts';
import { planLegacyGptLayout } from '../../disk/upgrade-layout.ts';
import { readTableFromImage, writeTableToImage } from '../../disk/write-table.ts';
import type { LayoutPlan } from '../../disk/layout.ts';
import { MESSAGES } from '../../answerfiles/model.ts';
import { describeInstallation, findInstallations, locateInstallation } from '../../upgrade/detect.ts';
import { formatUpgradePlan, planUpgrade } from '../../upgrade/plan.ts';
import type { RootFiles } from '../../upgrade/model.ts';
import { PRODUCT_71, installedRoot } from '../lib/upgrade-fixtures.ts';

const dir = mkdtempSync(join(tmpdir(), 'xsforge-upgrade-detect-'));

async function layoutWrite(image: string, size: string, extra: string[] = []): Promise<LayoutPlan> {
  const { stdout } = await run([join(REPO_ROOT, 'bin/xsforge'), 'layout', 'write', image, '--create-size', size, '--label-suffix', 'abcdef', '--guid-seed', image, '--json', ...extra]);
  return (JSON.parse(stdout) as { plan: LayoutPlan }).plan;
}

/** A real ext file system of `size` inside the image at the partition's offset, optionally filled from a directory. */
async function mkfs(image: string, plan: LayoutPlan, number: number, label: string, o: { type?: string; uuid?: string; size?: string; from?: string } = {}): Promise<void> {
  const p = plan.partitions.find((x) => x.number === number)!;
  await run(['mke2fs', '-q', '-F', '-t', o.type ?? 'ext3', '-L', label, ...(o.uuid ? ['-U', o.uuid] : []), ...(o.from ? ['-d', o.from] : []),
    '-E', `offset=${p.firstSector * plan.sectorSize}`, image, o.size ?? '64M']);
}

/** Files read back from the ext file system at partition `number` (what the runtime gets by mounting it). */
async function readBack(image: string, plan: LayoutPlan, number: number, paths: string[]): Promise<RootFiles> {
  const p = plan.partitions.find((x) => x.number === number)!;
  const out: RootFiles = {};
  for (const path of paths) {
    // e2fsprogs' unix I/O manager takes ?offset= on the image name
    const { stdout } = await run(['debugfs', '-R', `cat ${path}`, `${image}?offset=${p.firstSector * plan.sectorSize}`]);
    if (stdout) out[path] = stdout;
  }
  return out;
}

/** The installed root's files as a directory (what the runtime would mount and read). */
function rootDir(name: string): string {
  const d = join(dir, name);
  for (const [path, v] of Object.entries(installedRoot())) {
    if (typeof v !== 'string') continue;
    mkdirSync(join(d, path, '..'), { recursive: true });
    writeFileSync(join(d, path), v);
  }
  return d;
}

test('new GPT layout (60 GB): root-abcdef found on partition 1; the superblock reader agrees with mke2fs', async () => {
  const image = join(dir, 'new.img');
  const plan = await layoutWrite(image, '60GB');
  await mkfs(image, plan, 1, 'root-abcdef', { uuid: '01234567-89ab-cdef-0123-456789abcdef', from: rootDir('new-root') });
  await mkfs(image, plan, 5, 'logs-abcdef', { type: 'ext4', size: '32M' });
  // the first 2 KiB of the root partition, as the fixture the unit tests model
  const fh = await open(image, 'r');
  const head = Buffer.alloc(EXT_PROBE_BYTES);
  await fh.read(head, 0, head.length, plan.partitions.find((p) => p.number === 1)!.firstSector * 512);
  await fh.close();
  const sb = readExtSuperblock(head)!;
  assert.equal([sb.label, sb.uuid, sb.type, Number(sb.sizeBytes)], ['root-abcdef', '01234567-89ab-cdef-0123-456789abcdef', 'ext3', 64 * 2 ** 20]);

  const probe = await probeDiskImage(image, '/dev/sda');
  assert.is(readExtSuperblock(probe.partitionStarts[5]!)!.type, 'ext4');
  const found = locateInstallation([probe], '/dev/sda');
  assert.equal([found.rootDevice, found.rootLabel, found.labelSuffix, found.layout.scheme, found.backupDevice, found.layout.partitions.length],
    ['/dev/sda1', 'root-abcdef', 'abcdef', 'gpt', '/dev/sda2', 6]);
  assert.equal(found.layout.numbers, { root: 1, backup: 2, logs: 5, boot: 4, swap: 6, sr: 3 });
  const files = await readBack(image, plan, 1, ['/etc/xensource-inventory', '/etc/hostname', '/etc/xenserver-release']);
  assert.is(files['/etc/hostname'], 'host-a.example.com\n');
  const inst = describeInstallation(found, files);
  assert.equal([inst.product.brand, inst.product.version, inst.product.buildNumber], ['XenServer', '7.1.0', '1000a']);
  const up = planUpgrade(inst, installedRoot({ version: '7.1.0' }), { media: PRODUCT_71, uefi: false, srHasData: true, installationDate: '2025-06-01 00:00:00' });
  assert.equal([up.layout.writesTable, up.layout.srUntouched, up.backup.to.device], [false, true, '/dev/sda2']);
  assert.match(formatUpgradePlan(up), /6 -> 6 partitions, gpt \(GPT\); the partition table stays/);
});

test('DOS layout (20 GB, disable-gpt): found at partition 1 from sector 63; upgrade keeps DOS', async () => {
  const image = join(dir, 'dos.img');
  const plan = await layoutWrite(image, '20GB', ['--scheme', 'dos']);
  await mkfs(image, plan, 1, 'root-abcdef');
  const probe = await probeDiskImage(image, '/dev/sdb');
  assert.is(probe.table.tableType, 'dos');
  const found = locateInstallation([probe], '/dev/sdb');
  assert.equal([found.rootDevice, found.layout.scheme, found.layout.numbers], ['/dev/sdb1', 'dos', { root: 1, backup: 2, sr: 3 }]);
  const up = planUpgrade(describeInstallation(found, installedRoot()), installedRoot(), { media: PRODUCT_71, uefi: false, srHasData: false, installationDate: 'd' });
  assert.equal([up.layout.partitionsBefore, up.layout.partitionsAfter, up.layout.layout.tableType, up.layout.writesTable], [3, 3, 'dos', false]);
});

test('old GPT (6.x, 60 GB): found; with VMs it gains a boot partition (3 -> 4), and the rewritten table checks out', async () => {
  const image = join(dir, 'old.img');
  writeFileSync(image, '');
  await truncate(image, 60e9);
  const six = planLegacyGptLayout({ diskSectors: 60e9 / 512, diskName: image, labelSuffix: 'abcdef', guidSeed: 'six' });
  await writeTableToImage(image, six);
  await mkfs(image, six, 1, 'root-abcdef');
  const probe = await probeDiskImage(image, '/dev/sdc');
  const found = locateInstallation([probe], '/dev/sdc');
  assert.equal([found.layout.scheme, found.layout.partitions.length], ['old-gpt', 3]);
  const inst = describeInstallation(found, installedRoot({ version: '7.0.0' }));
  const keep = planUpgrade(inst, installedRoot({ version: '7.0.0' }), { media: PRODUCT_71, uefi: false, srHasData: true, installationDate: 'd' });
  assert.equal([keep.layout.decision.scheme, keep.layout.partitionsAfter, keep.layout.srUntouched], ['old-gpt', 4, true]);
  const move = planUpgrade(inst, installedRoot({ version: '7.0.0' }), { media: PRODUCT_71, uefi: false, srHasData: false, installationDate: 'd' });
  assert.equal([move.layout.decision.scheme, move.layout.partitionsAfter, move.backup.when], ['gpt', 6, 'after-table-write']);

  // the 3 -> 4 table, written by our writer: sgdisk finds no problems, the SR entry is the same
  await writeTableToImage(image, { ...keep.layout.layout, diskName: image });
  const { stdout } = await run(['sgdisk', '-v', image]);
  assert.match(stdout, /No problems found/);
  const after = await readTableFromImage(image);
  const sr = (t: typeof after) => t.existing.find((p) => p.number === 3)!;
  assert.equal([after.existing.length, sr(after).firstSector, sr(after).sectorCount, sr(after).uniqueGuid],
    [4, six.partitions[2]!.firstSector, six.partitions[2]!.sectorCount, six.partitions[2]!.uniqueGuid]);
  // the old root's file system is still at its old place, inside the new boot partition's sectors: the backup copy comes first
  assert.is(keep.backup.when, 'before-table-write');
});

test('a disk without an installation: the product\'s error text, before anything is planned', async () => {
  const image = join(dir, 'empty.img');
  await layoutWrite(image, '60GB');
  const blank = join(dir, 'blank.img');
  writeFileSync(blank, '');
  await truncate(blank, 2 ** 30);
  const probes = [await probeDiskImage(image, '/dev/sda'), await probeDiskImage(blank, '/dev/sdb')];
  assert.equal(findInstallations(probes), []);
  for (const disk of ['/dev/sda', '/dev/sdb']) {
    assert.throws(() => locateInstallation(probes, disk), (e: Error) => e.message === MESSAGES.installationNotFound && e.message === 'Could not locate the installation specified to be reinstalled.');
  }
});

test.after(() => rmSync(dir, { recursive: true, force: true }));
test.run();

// The layout planner against SPEC section 4 (seed:3439-3550), sector for sector.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  LayoutError, TYPE_GUID, DOS_ID, diskGiB, layoutForUpgrade, partitionLayoutInventory, planLayout,
  type LayoutPlan, type LayoutRequest,
} from '../../disk/layout.ts';
import { formatPlan, planJson } from '../../disk/format.ts';
import { parseSize } from '../../disk/size.ts';

const GiB = 2 ** 30;
const base = { diskName: '/dev/sda', guestStorage: true, uefi: false } as const;

function plan(req: Partial<LayoutRequest> & Pick<LayoutRequest, 'scheme' | 'diskSectors'>): LayoutPlan {
  return planLayout({ ...base, ...req });
}

/** [number, role, first, count] in on-disk order */
function rows(p: LayoutPlan): [number, string, number, number][] {
  return p.partitions.map((x) => [x.number, x.role, x.firstSector, x.sectorCount]);
}

function throwsLayout(fn: () => unknown, message: string): void {
  try {
    fn();
  } catch (err) {
    assert.instance(err, LayoutError);
    assert.is((err as Error).message, message);
    return;
  }
  assert.unreachable(`expected LayoutError: ${message}`);
}

// The SPEC table: partitions 5,2,1,4,6 never move; the SR takes the rest up to extent-34.
const NEW_FIXED: [number, string, number, number][] = [
  [5, 'logs', 2048, 8388608],
  [2, 'backup', 8390656, 37748736],
  [1, 'root', 46139392, 37748736],
  [4, 'boot', 83888128, 1048576],
  [6, 'swap', 84936704, 2097152],
];
const SR_START = 87033856;

for (const [name, bytes] of [['46 GiB', 46 * GiB], ['60 GB', 60e9], ['2 TB', 2e12]] as const) {
  test(`new GPT layout, ${name}, BIOS: SPEC table sector for sector`, () => {
    const sectors = bytes / 512;
    const p = plan({ scheme: 'gpt', diskSectors: sectors, labelSuffix: 'qzxkvb' });
    assert.equal(rows(p), [...NEW_FIXED, [3, 'sr', SR_START, sectors - 34 + 1 - SR_START]]);
    const sr = p.partitions.at(-1)!;
    assert.is(sr.lastSector, sectors - 34);
    assert.is(p.scheme, 'gpt');
    assert.is(p.tableType, 'gpt');
    assert.is(p.partitionLayout, 'ROOT,BACKUP,LOG,BOOT,SWAP,SR');
    const byNum = Object.fromEntries(p.partitions.map((x) => [x.number, x]));
    assert.is(byNum[1].typeGuid, TYPE_GUID.basicData);
    assert.is(byNum[2].typeGuid, TYPE_GUID.basicData);
    assert.is(byNum[5].typeGuid, TYPE_GUID.basicData);
    assert.is(byNum[3].typeGuid, TYPE_GUID.lvm);
    assert.is(byNum[6].typeGuid, TYPE_GUID.swap);
    assert.is(byNum[4].typeGuid, TYPE_GUID.biosBoot);
    assert.is(byNum[4].active, true, 'BIOS boot partition is legacy-BIOS-bootable');
    assert.is(byNum[1].label, 'root-qzxkvb');
    assert.is(byNum[5].label, 'logs-qzxkvb');
    assert.is(byNum[6].label, 'swap-qzxkvb');
    assert.is(byNum[4].label, undefined, 'BIOS-boot partition has no file system');
    assert.is(byNum[1].fsType, 'ext3');
    assert.is(byNum[5].mountPoint, '/var/log');
    assert.equal(p.numbers, { root: 1, backup: 2, sr: 3, boot: 4, logs: 5, swap: 6 });
  });
}

test('2 TB disk: sector numbers past 2^32 stay exact', () => {
  const p = plan({ scheme: 'gpt', diskSectors: 3906250000n });
  assert.is(p.diskSectors, 3906250000);
  assert.is(p.partitions.at(-1)!.lastSector, 3906249966);
  assert.is(p.partitions.at(-1)!.sectorCount, 3819216111);
  const eight = plan({ scheme: 'gpt', diskSectors: 8e12 / 512 });
  assert.is(eight.partitions.at(-1)!.lastSector, 8e12 / 512 - 34);
});

test('new GPT layout, UEFI: ESP at 4 with BOOT-<SFX> label, not bootable-flagged', () => {
  const p = plan({ scheme: 'gpt', diskSectors: 60e9 / 512, uefi: true, labelSuffix: 'abcxyz' });
  const boot = p.partitions.find((x) => x.role === 'boot')!;
  assert.is(boot.number, 4);
  assert.is(boot.firstSector, 83888128);
  assert.is(boot.sectorCount, 1048576);
  assert.is(boot.typeGuid, TYPE_GUID.esp);
  assert.is(boot.fsType, 'vfat');
  assert.is(boot.label, 'BOOT-ABCXYZ');
  assert.is(boot.labelPrefix, 'BOOT-');
  assert.is(boot.active, undefined);
  assert.is(p.bootMode, 'uefi');
});

test('no guest storage: partition 3 is boot, no SR, swap is last', () => {
  const p = plan({ scheme: 'gpt', diskSectors: 60e9 / 512, guestStorage: false });
  assert.equal(rows(p), [
    [5, 'logs', 2048, 8388608],
    [2, 'backup', 8390656, 37748736],
    [1, 'root', 46139392, 37748736],
    [3, 'boot', 83888128, 1048576],
    [6, 'swap', 84936704, 2097152],
  ]);
  assert.is(p.partitionLayout, 'ROOT,BACKUP,LOG,BOOT,SWAP');
  assert.is(p.numbers.sr, undefined);
});

test('GPT utility partition (ESP named DELLUTILITY) kept at 1; root 2, backup 3, SR 4, boot 5, logs 6, swap 7', () => {
  const util = { number: 1, firstSector: 2048, sectorCount: 204800, typeGuid: TYPE_GUID.esp, name: 'DELLUTILITY', uniqueGuid: '11111111-2222-4333-8444-555555555555', attributes: (1n << 2n) | 1n };
  const p = plan({ scheme: 'gpt', diskSectors: 60e9 / 512, existing: [util, { number: 2, firstSector: 206848, sectorCount: 1000, typeGuid: TYPE_GUID.basicData }] });
  const start = 2048 + 204800; // logs follow partition 1 directly
  assert.equal(rows(p), [
    [1, 'utility', 2048, 204800],
    [6, 'logs', start, 8388608],
    [3, 'backup', start + 8388608, 37748736],
    [2, 'root', start + 8388608 + 37748736, 37748736],
    [5, 'boot', start + 8388608 + 2 * 37748736, 1048576],
    [7, 'swap', start + 8388608 + 2 * 37748736 + 1048576, 2097152],
    [4, 'sr', start + 8388608 + 2 * 37748736 + 1048576 + 2097152, 60e9 / 512 - 34 + 1 - (start + 8388608 + 2 * 37748736 + 1048576 + 2097152)],
  ]);
  const kept = p.partitions[0];
  assert.is(kept.name, 'DELLUTILITY');
  assert.is(kept.uniqueGuid, '11111111-2222-4333-8444-555555555555');
  assert.is(kept.attributes, 1n, 'legacy-BIOS-bootable cleared on the utility partition, other bits kept');
  assert.equal(p.numbers, { root: 2, backup: 3, utility: 1, sr: 4, boot: 5, logs: 6, swap: 7 });
  assert.is(p.partitionLayout, 'ROOT,BACKUP,LOG,BOOT,SWAP,SR');
});

test('an ESP not named DELLUTILITY is not a utility partition: the disk is zapped', () => {
  const p = plan({ scheme: 'gpt', diskSectors: 60e9 / 512, existing: [{ number: 1, firstSector: 2048, sectorCount: 204800, typeGuid: TYPE_GUID.esp, name: 'EFI system' }] });
  assert.equal(rows(p).slice(0, 5), NEW_FIXED);
});

test('DOS utility partition (id 0xDE) keeps the DOS layout, shifted: root 2 (active), backup 3, SR 4', () => {
  const sectors = 100 * GiB / 512;
  const p = plan({ scheme: 'gpt', diskSectors: sectors, existing: [{ number: 1, firstSector: 63, sectorCount: 65536, dosId: 0xde, active: true }], existingTableType: 'dos' });
  assert.is(p.scheme, 'dos');
  assert.is(p.tableType, 'dos');
  const extent = Math.floor(sectors / 16065) * 16065;
  assert.equal(rows(p), [
    [1, 'utility', 63, 65536],
    [2, 'root', 65599, 8388608],
    [3, 'backup', 65599 + 8388608, 8388608],
    [4, 'sr', 65599 + 2 * 8388608, extent - (65599 + 2 * 8388608)],
  ]);
  assert.is(p.partitions[0].active, false);
  assert.is(p.partitions[1].active, true);
  assert.is(p.partitions[0].dosId, DOS_ID.utility);
  assert.is(p.partitionLayout, 'ROOT,BACKUP,SR');
});

test('GPT utility partition with disable-gpt: the old GPT layout after it (boot 5 first)', () => {
  const p = plan({ scheme: 'dos', diskSectors: 30 * GiB / 512, existingTableType: 'gpt', existing: [{ number: 1, firstSector: 2048, sectorCount: 2048, typeGuid: TYPE_GUID.esp, name: 'DELLUTILITY' }] });
  assert.is(p.scheme, 'old-gpt');
  assert.equal(rows(p).slice(0, 4), [
    [1, 'utility', 2048, 2048],
    [5, 'boot', 4096, 1048576],
    [2, 'root', 4096 + 1048576, 7340032],
    [3, 'backup', 4096 + 1048576 + 7340032, 8388608],
  ]);
  assert.is(p.partitionLayout, 'ROOT,BACKUP,BOOT,SR');
});

test('two utility partitions, or one not at 1: the product error', () => {
  const u = (number: number, firstSector: number) => ({ number, firstSector, sectorCount: 2048, dosId: 0xde });
  throwsLayout(() => plan({ scheme: 'dos', diskSectors: 30 * GiB / 512, existing: [u(1, 63), u(3, 10000)] }),
    'Installer only supports a single Utility Partition at partition 1, but found Utility Partitions at [1, 3]');
  throwsLayout(() => plan({ scheme: 'gpt', diskSectors: 60 * GiB / 512, existing: [{ number: 2, firstSector: 4096, sectorCount: 2048, typeGuid: TYPE_GUID.esp, name: 'DELLUTILITY' }] }),
    'Installer only supports a single Utility Partition at partition 1, but found Utility Partitions at [2]');
});

test('preserve-first-partition: false zaps a utility partition, true keeps any partition 1', () => {
  const util = { number: 1, firstSector: 63, sectorCount: 65536, dosId: 0xde };
  const zapped = plan({ scheme: 'dos', diskSectors: 30 * GiB / 512, existing: [util], preserveFirstPartition: 'false' });
  assert.equal(rows(zapped)[0], [1, 'root', 63, 8388608]);
  const other = { number: 1, firstSector: 63, sectorCount: 1000, dosId: 0x0c };
  const kept = plan({ scheme: 'dos', diskSectors: 30 * GiB / 512, existing: [other], existingTableType: 'dos', preserveFirstPartition: 'true' });
  assert.equal(rows(kept)[1], [2, 'root', 1063, 8388608]);
  assert.is(kept.partitions[0].dosId, 0x0c);
  throwsLayout(() => plan({ scheme: 'gpt', diskSectors: 60 * GiB / 512, preserveFirstPartition: 'true' }),
    'preserve-first-partition is true but /dev/sda has no partition 1');
});

test('DOS layout (disable-gpt), 20 GiB: root 1 active at 63, backup 2, SR 3 to the last whole cylinder', () => {
  const sectors = 20 * GiB / 512;
  const p = plan({ scheme: 'dos', diskSectors: sectors, labelSuffix: 'mnbvcx' });
  const extent = Math.floor(sectors / (255 * 63)) * 255 * 63; // 41929650
  assert.is(extent, 41929650);
  assert.equal(rows(p), [
    [1, 'root', 63, 8388608],
    [2, 'backup', 8388671, 8388608],
    [3, 'sr', 16777279, extent - 16777279],
  ]);
  assert.is(p.partitions[0].active, true);
  assert.is(p.partitions[1].active, undefined);
  assert.equal(p.partitions.map((x) => x.dosId), [0x83, 0x83, 0x8e]);
  assert.is(p.partitions[0].label, 'root-mnbvcx');
  assert.is(p.partitionLayout, 'ROOT,BACKUP,SR');
  assert.is(p.numbers.boot, undefined);
});

test('DOS layout without guest storage: root and backup only', () => {
  const p = plan({ scheme: 'dos', diskSectors: 20 * GiB / 512, guestStorage: false });
  assert.equal(rows(p), [[1, 'root', 63, 8388608], [2, 'backup', 8388671, 8388608]]);
  assert.is(p.partitionLayout, 'ROOT,BACKUP');
});

test('DOS layout on a 4 TB disk is capped at 0xffe00000 sectors (2047 GiB)', () => {
  const p = plan({ scheme: 'dos', diskSectors: 4e12 / 512 });
  const capped = Math.floor(0xffe00000 / 16065) * 16065;
  const sr = p.partitions.at(-1)!;
  assert.is(sr.lastSector, capped - 1);
  assert.ok(sr.lastSector < 0xffe00000);
  assert.is(sr.sectorCount, 4276079891);
  assert.is(p.lastUsableSector, capped - 1);
});

test('old GPT layout: boot 4 first (512 MiB), root 1 3584 MiB, backup 2 4096 MiB, SR 3', () => {
  const sectors = 60e9 / 512;
  const p = plan({ scheme: 'old-gpt', diskSectors: sectors, uefi: true });
  assert.equal(rows(p), [
    [4, 'boot', 34, 1048576],
    [1, 'root', 1048610, 7340032],
    [2, 'backup', 8388642, 8388608],
    [3, 'sr', 16777250, sectors - 34 + 1 - 16777250],
  ]);
  assert.is(p.partitions[0].typeGuid, TYPE_GUID.esp);
  assert.is(p.partitionLayout, 'ROOT,BACKUP,BOOT,SR');
  assert.is(partitionLayoutInventory({ ...p, numbers: { ...p.numbers, sr: undefined } }), 'ROOT,BACKUP,BOOT');
});

test('too small: the product messages (46 for the new layout, 12 for DOS and old GPT)', () => {
  throwsLayout(() => plan({ scheme: 'gpt', diskSectors: 45 * GiB / 512, diskName: '/dev/sdb' }), 'The disk /dev/sdb is smaller than 46GB.');
  // 46 GiB less one sector still counts as 45
  throwsLayout(() => plan({ scheme: 'gpt', diskSectors: 46 * GiB / 512 - 1 }), 'The disk /dev/sda is smaller than 46GB.');
  // 46 "GB" of a vendor (46e9 bytes) is 42 GiB
  throwsLayout(() => plan({ scheme: 'gpt', diskSectors: 46e9 / 512 }), 'The disk /dev/sda is smaller than 46GB.');
  throwsLayout(() => plan({ scheme: 'dos', diskSectors: 11 * GiB / 512 }), 'The disk /dev/sda is smaller than 12GB.');
  throwsLayout(() => plan({ scheme: 'gpt', diskSectors: 11 * GiB / 512 }), 'The disk /dev/sda is smaller than 12GB.');
  throwsLayout(() => plan({ scheme: 'old-gpt', diskSectors: 11 * GiB / 512 }), 'The disk /dev/sda is smaller than 12GB.');
  assert.is(plan({ scheme: 'dos', diskSectors: 12 * GiB / 512 }).partitions.length, 3);
  assert.is(plan({ scheme: 'old-gpt', diskSectors: 12 * GiB / 512 }).partitions.length, 4);
  assert.is(diskGiB(46 * GiB / 512), 46);
  assert.is(diskGiB(46 * GiB / 512 - 1), 45);
});

test('UEFI with a DOS table: the product error', () => {
  throwsLayout(() => plan({ scheme: 'dos', diskSectors: 20 * GiB / 512, uefi: true }), 'UEFI boot requires the partition type to be GPT');
  // a kept DOS utility partition keeps the DOS table, so UEFI fails there too
  throwsLayout(() => plan({ scheme: 'gpt', diskSectors: 100 * GiB / 512, uefi: true, existing: [{ number: 1, firstSector: 63, sectorCount: 100, dosId: 0xde }] }),
    'UEFI boot requires the partition type to be GPT');
});

test('4096-byte sectors: same bytes, a quarter of the sectors; DOS refused', () => {
  const sectors = 60e9 / 4096;
  const p = plan({ scheme: 'gpt', diskSectors: Math.floor(sectors), sectorSize: 4096 });
  assert.equal(rows(p).slice(0, 5), NEW_FIXED.map(([n, r, s, c]) => [n, r, s / 8, c / 8]));
  assert.is(p.partitions.at(-1)!.lastSector, Math.floor(sectors) - 34);
  assert.throws(() => plan({ scheme: 'dos', diskSectors: 20 * GiB / 4096, sectorSize: 4096 }), /DOS layout needs 512-byte sectors/);
  assert.throws(() => plan({ scheme: 'gpt', diskSectors: 1e9, sectorSize: 520 }), /sector size 520 .* not supported/);
});

test('labels and GUIDs are deterministic in labelSuffix and guidSeed', () => {
  const a = plan({ scheme: 'gpt', diskSectors: 60e9 / 512, labelSuffix: 'abcdef', guidSeed: 'seed-1' });
  const b = plan({ scheme: 'gpt', diskSectors: 60e9 / 512, labelSuffix: 'abcdef', guidSeed: 'seed-1' });
  const c = plan({ scheme: 'gpt', diskSectors: 60e9 / 512, labelSuffix: 'abcdef', guidSeed: 'seed-2' });
  assert.equal(a, b);
  assert.is.not(a.diskGuid, c.diskGuid);
  const guids = new Set([a.diskGuid, ...a.partitions.map((p) => p.uniqueGuid)]);
  assert.is(guids.size, 7);
  for (const g of guids) assert.match(g!, /^[0-9A-F]{8}-[0-9A-F]{4}-4[0-9A-F]{3}-[89AB][0-9A-F]{3}-[0-9A-F]{12}$/);
  const d = plan({ scheme: 'dos', diskSectors: 20 * GiB / 512, guidSeed: 'seed-1' });
  assert.type(d.diskSignature, 'number');
  assert.is(d.diskGuid, undefined);
  assert.throws(() => plan({ scheme: 'gpt', diskSectors: 60e9 / 512, labelSuffix: 'ABCDEF' }), /6 lower-case letters/);
  assert.throws(() => plan({ scheme: 'gpt', diskSectors: 60e9 / 512, labelSuffix: 'abc' }), /6 lower-case letters/);
});

test('a utility partition too big for the rest: a clear error, not a negative size', () => {
  const util = (sectorCount: number) => [{ number: 1, firstSector: 2048, sectorCount, typeGuid: TYPE_GUID.esp, name: 'DELLUTILITY' }];
  throwsLayout(() => plan({ scheme: 'gpt', diskSectors: 46 * GiB / 512, existing: util(20 * GiB / 512) }),
    'the partitions do not fit on /dev/sda: partition 2 (root) would end at sector 125831167, past the last usable sector 96468958');
  // swap ends exactly on the last usable sector: nothing left for the SR
  const fixed = 8388608 + 2 * 37748736 + 1048576 + 2097152;
  const exact = 46 * GiB / 512 - 34 - 2048 - fixed + 1;
  throwsLayout(() => plan({ scheme: 'gpt', diskSectors: 46 * GiB / 512, existing: util(exact) }),
    'the partitions do not fit on /dev/sda: partition 4 (sr) would have no space');
  assert.is(plan({ scheme: 'gpt', diskSectors: 46 * GiB / 512, existing: util(exact - 1) }).partitions.at(-1)!.sectorCount, 1);
});

test('formatPlan shows every partition in disk order; planJson turns bigint into hex', () => {
  const p = plan({ scheme: 'gpt', diskSectors: 60e9 / 512 });
  const text = formatPlan(p);
  const lines = text.trim().split('\n').slice(-6);
  assert.equal(lines.map((l) => l.trim().split(/\s+/)[0]), ['5', '2', '1', '4', '6', '3']);
  assert.match(text, /root-<sfx>/);
  assert.match(text, /PARTITION_LAYOUT='ROOT,BACKUP,LOG,BOOT,SWAP,SR'/);
  assert.match(lines[3], /EF02.*legacy-bios-bootable/);
  assert.match(planJson({ a: 5n }), /"a": "0x5"/);
});

// seed:3510-3523, one test per row of the table of install/upgrade cases
test('upgrade row: 6.x with VMs on the local SR -> old GPT, 3 -> 4 partitions', () => {
  const d = layoutForUpgrade({ existingScheme: 'old-gpt', srHasData: true, diskGiB: 500 });
  assert.equal([d.scheme, d.partitionsBefore, d.partitionsAfter, d.changesLayout], ['old-gpt', 3, 4, true]);
  assert.match(d.reason, /VDIs/);
});

test('upgrade row: 6.x on a disk under 46 GB -> old GPT, 3 -> 4', () => {
  const d = layoutForUpgrade({ existingScheme: 'old-gpt', srHasData: false, diskGiB: 45 });
  assert.equal([d.scheme, d.partitionsBefore, d.partitionsAfter], ['old-gpt', 3, 4]);
  assert.match(d.reason, /smaller than 46/);
});

test('upgrade row: 6.x, no VMs on the local SR and at least 46 GB -> new GPT, 3 -> 6', () => {
  const d = layoutForUpgrade({ existingScheme: 'old-gpt', srHasData: false, diskGiB: 46 });
  assert.equal([d.scheme, d.partitionsBefore, d.partitionsAfter, d.changesLayout], ['gpt', 3, 6, true]);
  // the xe CLI cannot move to the new layout (seed: 客户不能使用 xe CLI升级到新主机分区布局)
  assert.is(layoutForUpgrade({ existingScheme: 'old-gpt', srHasData: false, diskGiB: 100, rollingPoolUpgrade: false }).scheme, 'old-gpt');
});

test('upgrade row: 6.x DOS (and utility partition) -> DOS, 3 (or 4) partitions', () => {
  assert.equal(layoutForUpgrade({ existingScheme: 'dos', srHasData: false, diskGiB: 500 }),
    { scheme: 'dos', changesLayout: false, partitionsBefore: 3, partitionsAfter: 3, reason: layoutForUpgrade({ existingScheme: 'dos', srHasData: true, diskGiB: 1 }).reason });
  const u = layoutForUpgrade({ existingScheme: 'dos', srHasData: true, diskGiB: 20, utilityPartition: true });
  assert.equal([u.scheme, u.partitionsBefore, u.partitionsAfter], ['dos', 4, 4]);
});

test('upgrade: a disk already in the new GPT layout keeps it', () => {
  const d = layoutForUpgrade({ existingScheme: 'gpt', srHasData: true, diskGiB: 60 });
  assert.equal([d.scheme, d.changesLayout, d.partitionsAfter], ['gpt', false, 6]);
});

test('install rows: fresh >= 46 GB -> 6 partitions new GPT; disable-gpt >= 12 GB -> 3 (4 with utility) DOS', () => {
  assert.is(plan({ scheme: 'gpt', diskSectors: 46 * GiB / 512 }).partitions.length, 6);
  assert.is(plan({ scheme: 'dos', diskSectors: 12 * GiB / 512 }).partitions.length, 3);
  assert.is(plan({ scheme: 'dos', diskSectors: 12 * GiB / 512, existing: [{ number: 1, firstSector: 63, sectorCount: 2048, dosId: 0xde }] }).partitions.length, 4);
});

test('parseSize: G/GiB are 2^30, GB is 10^9; bad input is refused', () => {
  assert.is(parseSize('60G'), 60 * GiB);
  assert.is(parseSize('60GiB'), 60 * GiB);
  assert.is(parseSize('60gib'), 60 * GiB);
  assert.is(parseSize('60GB'), 60e9);
  assert.is(parseSize('2TB'), 2e12);
  assert.is(parseSize('2T'), 2 * 2 ** 40);
  assert.is(parseSize('1.5G'), 1.5 * GiB);
  assert.is(parseSize('512'), 512);
  assert.is(parseSize('32M'), 32 * 2 ** 20);
  assert.is(parseSize('4KB'), 4000);
  for (const bad of ['', 'G', '60X', '60 Gi', '-1G', '0.3B', '1e3']) assert.throws(() => parseSize(bad), /size/);
});

test.run();

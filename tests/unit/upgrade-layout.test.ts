// Layouts on upgrade: one test per row of the seed's table of install/upgrade
// cases (seed:3510-3523), with its partition counts, plus the SR invariant.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { LayoutError, SIZE_MIB, TYPE_GUID, planLayout, type LayoutPlan } from '../../disk/layout.ts';
import { renderTable } from '../../disk/table.ts';
import { readGpt } from '../../disk/gpt.ts';
import { classifyLayout, planLegacyGptLayout, planUpgradeLayout, type ExistingLayout, type UpgradeLayoutPlan } from '../../disk/upgrade-layout.ts';
import { existingOf } from '../lib/upgrade-fixtures.ts';

const GiB = 2 ** 30;
const MiB = 2 ** 20;
const SFX = 'abcdef';

function fresh(scheme: 'gpt' | 'dos' | 'old-gpt', bytes: number, extra: Partial<Parameters<typeof planLayout>[0]> = {}): LayoutPlan {
  return planLayout({ scheme, diskSectors: bytes / 512, diskName: '/dev/sda', guestStorage: true, uefi: false, labelSuffix: SFX, guidSeed: 'old', ...extra });
}

function existing(plan: LayoutPlan): ExistingLayout {
  const labels: Record<number, string> = {};
  for (const p of plan.partitions) if (p.fsType === 'ext3' && p.label) labels[p.number] = p.label;
  return classifyLayout({ tableType: plan.tableType, diskSectors: plan.diskSectors, sectorSize: plan.sectorSize, existing: existingOf(plan),
    ...(plan.diskGuid && { diskGuid: plan.diskGuid }), ...(plan.diskSignature !== undefined && { diskSignature: plan.diskSignature }) },
  plan.numbers.root, labels);
}

function upgrade(plan: LayoutPlan, o: { srHasData: boolean; uefi?: boolean; allowLayoutMove?: boolean }): UpgradeLayoutPlan {
  return planUpgradeLayout(existing(plan), { srHasData: o.srHasData, diskBytes: plan.diskSectors * 512, uefi: o.uefi ?? false,
    labelSuffix: SFX, guidSeed: 'upgrade', diskName: '/dev/sda', ...(o.allowLayoutMove !== undefined && { allowLayoutMove: o.allowLayoutMove }) });
}

const action = (u: UpgradeLayoutPlan, role: string) => u.changes.filter((c) => c.role === role).map((c) => c.action);

/** The SR keeps number, place, size and type (the upgrade's promise). */
function assertSrKept(before: LayoutPlan, u: UpgradeLayoutPlan) {
  const a = before.partitions.find((p) => p.role === 'sr')!;
  const b = u.layout.partitions.find((p) => p.role === 'sr')!;
  assert.equal([b.number, b.firstSector, b.sectorCount, b.typeGuid ?? b.dosId], [a.number, a.firstSector, a.sectorCount, a.typeGuid ?? a.dosId]);
  assert.ok(u.srUntouched);
  assert.equal(action(u, 'sr'), ['kept']);
}

test('classifyLayout tells new GPT, old GPT (6.x and 7.x forms), DOS and utility partitions apart', () => {
  assert.is(existing(fresh('gpt', 60e9)).scheme, 'gpt');
  assert.is(existing(fresh('dos', 20 * GiB)).scheme, 'dos');
  assert.is(existing(fresh('old-gpt', 60e9)).scheme, 'old-gpt');
  const six = existing(planLegacyGptLayout({ diskSectors: 60e9 / 512, diskName: '/dev/sda', labelSuffix: SFX, guidSeed: 'x' }));
  assert.equal([six.scheme, six.numbers], ['old-gpt', { root: 1, backup: 2, sr: 3 }]);
  const util = existing(fresh('dos', 20 * GiB, { existing: [{ number: 1, firstSector: 63, sectorCount: 65536, dosId: 0xde }] }));
  assert.equal([util.scheme, util.utility, util.numbers.root, util.numbers.backup, util.numbers.sr], ['dos', true, 2, 3, 4]);
  const n = existing(fresh('gpt', 60e9, { uefi: true }));
  assert.equal([n.numbers, n.bootMode], [{ root: 1, backup: 2, logs: 5, boot: 4, swap: 6, sr: 3 }, 'uefi']);
});

test('row: 6.x with VMs on the local SR -> old GPT, 3 -> 4 partitions, boot cut from the old root', () => {
  const before = planLegacyGptLayout({ diskSectors: 500e9 / 512, diskName: '/dev/sda', labelSuffix: SFX, guidSeed: 'six' });
  const u = upgrade(before, { srHasData: true });
  assert.equal([u.decision.scheme, u.partitionsBefore, u.partitionsAfter, u.layout.tableType], ['old-gpt', 3, 4, 'gpt']);
  assertSrKept(before, u);
  const oldRoot = before.partitions.find((p) => p.role === 'root')!;
  const boot = u.layout.partitions.find((p) => p.role === 'boot')!;
  const root = u.layout.partitions.find((p) => p.role === 'root')!;
  assert.equal([boot.number, boot.firstSector, boot.sectorCount * 512 / MiB, boot.typeGuid], [4, oldRoot.firstSector, 512, TYPE_GUID.biosBoot]);
  assert.equal([root.number, root.firstSector, root.sectorCount * 512 / MiB, root.label], [1, oldRoot.firstSector + 512 * 2048, SIZE_MIB.rootOldGpt, 'root-abcdef']);
  assert.equal([action(u, 'boot'), action(u, 'root'), action(u, 'backup')], [['created'], ['recreated'], ['reformatted']]);
  assert.equal([u.writesTable, u.backupCopy], [true, 'before-table-write']);
  assert.match(u.decision.reason, /VDIs/);
  // the disk GUID and the kept partitions' GUIDs survive the rewrite
  const gpt = readGpt(renderTable(u.layout).gpt!.primary);
  assert.is(gpt.header.diskGuid, before.diskGuid);
  assert.is(gpt.partitions.find((p) => p.number === 3)!.uniqueGuid, before.partitions[2]!.uniqueGuid);
});

test('row: 6.x on a disk below 46 GB with an empty SR -> old GPT, 3 -> 4', () => {
  const before = planLegacyGptLayout({ diskSectors: 45 * GiB / 512, diskName: '/dev/sda', labelSuffix: SFX, guidSeed: 'small' });
  const u = upgrade(before, { srHasData: false });
  assert.equal([u.decision.scheme, u.partitionsBefore, u.partitionsAfter], ['old-gpt', 3, 4]);
  assert.match(u.decision.reason, /smaller than 46/);
  assertSrKept(before, u);
});

test('row: 6.x with no VMs on the local SR and at least 46 GB -> new GPT, 3 -> 6; the SR is made anew', () => {
  const before = planLegacyGptLayout({ diskSectors: 60e9 / 512, diskName: '/dev/sda', labelSuffix: SFX, guidSeed: 'move' });
  const u = upgrade(before, { srHasData: false });
  assert.equal([u.decision.scheme, u.partitionsBefore, u.partitionsAfter], ['gpt', 3, 6]);
  assert.equal(u.layout.partitions.map((p) => p.number), [5, 2, 1, 4, 6, 3]);
  assert.equal([u.srUntouched, action(u, 'sr'), action(u, 'logs'), action(u, 'swap')], [false, ['recreated'], ['created'], ['created']]);
  // the old root is read from its old sectors after the table changed: no new partition that is made before the copy covers them
  assert.is(u.backupCopy, 'after-table-write');
  const nb = u.layout.partitions.find((p) => p.role === 'backup')!;
  assert.ok(u.oldRoot.firstSector + u.oldRoot.sectorCount <= nb.firstSector);
  assert.equal(u.layout.partitions.filter((p) => p.label).map((p) => p.label), ['logs-abcdef', 'root-abcdef', 'swap-abcdef']);
  // the xe CLI path cannot move (seed:3488)
  assert.is(upgrade(before, { srHasData: false, allowLayoutMove: false }).decision.scheme, 'old-gpt');
});

test('row: 6.x DOS -> DOS, 3 -> 3; with a utility partition 4 -> 4; nothing but root and backup change', () => {
  const before = fresh('dos', 40 * GiB);
  const u = upgrade(before, { srHasData: true });
  assert.equal([u.decision.scheme, u.partitionsBefore, u.partitionsAfter, u.writesTable, u.layout.tableType], ['dos', 3, 3, false, 'dos']);
  assertSrKept(before, u);
  assert.equal(u.changes.map((c) => `${c.number}:${c.action}`), ['1:reformatted', '2:reformatted', '3:kept']);
  assert.is(u.layout.diskSignature, before.diskSignature);
  const withUtil = fresh('dos', 40 * GiB, { existing: [{ number: 1, firstSector: 63, sectorCount: 65536, dosId: 0xde }] });
  const w = upgrade(withUtil, { srHasData: false });
  assert.equal([w.decision.scheme, w.partitionsBefore, w.partitionsAfter, w.writesTable], ['dos', 4, 4, false]);
  assert.equal(action(w, 'utility'), ['kept']);
  assertSrKept(withUtil, w);
  // DOS and UEFI do not go together (SPEC section 4)
  assert.throws(() => upgrade(before, { srHasData: true, uefi: true }), (e: Error) => e instanceof LayoutError && /UEFI boot requires the partition type to be GPT/.test(e.message));
});

test('row: the new layout is kept, 6 -> 6: logs and swap stay, SR untouched, no table write', () => {
  for (const uefi of [false, true]) {
    const before = fresh('gpt', 60e9, { uefi });
    const u = upgrade(before, { srHasData: false, uefi });
    assert.equal([u.decision.scheme, u.partitionsBefore, u.partitionsAfter, u.writesTable], ['gpt', 6, 6, false]);
    assertSrKept(before, u);
    assert.equal([action(u, 'logs'), action(u, 'swap'), action(u, 'root'), action(u, 'backup')], [['kept'], ['kept'], ['reformatted'], ['reformatted']]);
    assert.equal(action(u, 'boot'), [uefi ? 'reformatted' : 'bootloader']);
  }
  // with a utility partition: 7 -> 7
  const util = fresh('gpt', 60e9, { existing: [{ number: 1, firstSector: 2048, sectorCount: 65536, typeGuid: TYPE_GUID.esp, name: 'DELLUTILITY', uniqueGuid: '00000000-0000-0000-0000-000000000001' }], existingTableType: 'gpt' });
  const w = upgrade(util, { srHasData: true });
  assert.equal([w.partitionsBefore, w.partitionsAfter, w.writesTable], [7, 7, false]);
  assertSrKept(util, w);
});

test('new layout installed by BIOS, upgraded by UEFI: the boot partition is retyped to an ESP, the SR stays', () => {
  const before = fresh('gpt', 60e9, { uefi: false });
  const u = upgrade(before, { srHasData: true, uefi: true });
  const boot = u.layout.partitions.find((p) => p.role === 'boot')!;
  assert.equal([boot.typeGuid, boot.fsType, boot.label, action(u, 'boot'), u.writesTable], [TYPE_GUID.esp, 'vfat', 'BOOT-ABCDEF', ['recreated'], true]);
  assertSrKept(before, u);
});

test('a 7.x host on the old layout (4 partitions) stays old GPT with its boot partition; no table write', () => {
  const before = fresh('old-gpt', 40 * GiB);
  const u = upgrade(before, { srHasData: true });
  assert.equal([u.decision.scheme, u.partitionsBefore, u.partitionsAfter, u.writesTable], ['old-gpt', 4, 4, false]);
  assertSrKept(before, u);
});

test('partitions the product did not make block a table rewrite, and a move to the new layout', () => {
  const before = planLegacyGptLayout({ diskSectors: 500e9 / 512, diskName: '/dev/sda', labelSuffix: SFX, guidSeed: 'six' });
  const ex = existing(before);
  const sr = ex.partitions.find((p) => p.role === 'sr')!;
  // a foreign partition at 9 in the last 1 GiB, the SR shortened to make room
  sr.sectorCount -= 2 * 1024 * 1024;
  ex.partitions.push({ number: 9, role: 'unknown', firstSector: sr.firstSector + sr.sectorCount, sectorCount: 2 * 1024 * 1024, typeGuid: TYPE_GUID.basicData, uniqueGuid: '00000000-0000-0000-0000-000000000009' });
  assert.throws(() => planUpgradeLayout(ex, { srHasData: false, diskBytes: 500e9, uefi: false, labelSuffix: SFX, guidSeed: 'g', diskName: '/dev/sda' }),
    /did not make \(9\)/);
});

test('a root without a backup partition next to it cannot be upgraded', () => {
  const before = fresh('dos', 40 * GiB);
  const ex = existing(before);
  ex.partitions = ex.partitions.filter((p) => p.role !== 'backup');
  delete ex.numbers.backup;
  assert.throws(() => planUpgradeLayout(ex, { srHasData: false, diskBytes: 40 * GiB, uefi: false, labelSuffix: SFX, guidSeed: 'g', diskName: '/dev/sda' }), /no backup partition/);
});

test.run();

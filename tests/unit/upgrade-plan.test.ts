// The whole upgrade plan (detect -> check -> layout -> backup -> carry over ->
// bootloader), the reinstall backup step, and restore plans built from the
// backup record an upgrade leaves, so the host boots the previous version.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { planLayout, type LayoutPlan } from '../../disk/layout.ts';
import { planLegacyGptLayout } from '../../disk/upgrade-layout.ts';
import { BACKUP_INFO, BACKUP_MARKER, backupCandidates, describeInstallation, findInstallations, readBackup, type DetectedInstallation, type FoundBackup } from '../../upgrade/detect.ts';
import { formatRestorePlan, formatUpgradePlan, planReinstallBackup, planUpgrade, type UpgradePlan } from '../../upgrade/plan.ts';
import { planRestore } from '../../upgrade/restore.ts';
import { PRODUCT_71, installedRoot, probeOf } from '../lib/upgrade-fixtures.ts';
import { parseShellVars } from '../../upgrade/model.ts';
import { DEFAULT_BOOT } from '../../target/boot-args.ts';
import { grubConfig } from '../../target/grub.ts';

const GiB = 2 ** 30;

function detected(plan: LayoutPlan, version = '7.1.0'): DetectedInstallation {
  return describeInstallation(findInstallations([probeOf(plan, '/dev/sda')])[0]!, installedRoot({ version }));
}

function upgraded(before: LayoutPlan, o: { srHasData: boolean; uefi?: boolean; version?: string }): UpgradePlan {
  return planUpgrade(detected(before, o.version), installedRoot({ version: o.version ?? '7.1.0' }), {
    media: PRODUCT_71, uefi: o.uefi ?? false, srHasData: o.srHasData, installationDate: '2025-06-01 00:00:00',
  });
}

/** The disk after the upgrade, with the backup the upgrade wrote, as detection sees it. */
function afterUpgrade(u: UpgradePlan): { current: ReturnType<typeof findInstallations>[number]; backup: FoundBackup } {
  const probe = probeOf(u.layout.layout, '/dev/sda', { [u.backup.to.partition]: u.backup.label });
  const current = findInstallations([probe])[0]!;
  const cand = backupCandidates([probe]);
  assert.equal(cand.map((c) => c.device), [u.backup.to.device]);
  const info = u.backup.markerFiles.find((f) => f.path === BACKUP_INFO.slice(1));
  const files = { ...installedRoot({ version: u.installed.version }), [BACKUP_MARKER]: '', [BACKUP_INFO]: info?.kind === 'file' ? info.content : '' };
  return { current, backup: readBackup(cand[0]!, files)! };
}

test('upgrade of the new layout: backup first, root remade with its old label, settings carried, SR untouched', () => {
  const before = planLayout({ scheme: 'gpt', diskSectors: 60e9 / 512, diskName: '/dev/sda', guestStorage: true, uefi: true, labelSuffix: 'abcdef', guidSeed: 'a' });
  const u = upgraded(before, { srHasData: true, uefi: true });
  assert.equal([u.backup.from.device, u.backup.to.device, u.backup.when, u.backup.label], ['/dev/sda1', '/dev/sda2', 'before-table-write', 'backup-abcdef']);
  assert.equal(u.backup.mkfs, ['mkfs.ext3', '-F', '-q', '-L', 'backup-abcdef', '/dev/sda2']);
  assert.is(u.backup.from.byteOffset, before.partitions.find((p) => p.role === 'root')!.firstSector * 512);
  assert.equal(u.backup.markerFiles.map((f) => f.path), ['.xen-backup-partition', '.xsforge-backup.json']);
  assert.is(u.backup.info.product.version, '7.1.0');
  // logs and swap stay; root and the ESP are made again
  assert.equal(u.fileSystems.map((f) => f.argv.join(' ')), ['mkfs.ext3 -F -q -L root-abcdef /dev/sda1', 'mkfs.vfat -n BOOT-ABCDEF /dev/sda4']);
  assert.equal(u.mounts.map((m) => m.mountPoint), ['/', '/var/log', '/boot/efi']);
  assert.equal([u.layout.srUntouched, u.carryOver.firstBoot], [true, 'done']);
  assert.match(u.bootloader.grubCfg, /root=LABEL=root-abcdef/);
  assert.match(u.bootloader.efi!.stubCfg, /--set=root root-abcdef/);
  const text = formatUpgradePlan(u);
  for (const want of [/^Upgrade plan: XenServer 7\.1\.0 \(build 1000a\) on xenenterprise 2\.2\.0 on \/dev\/sda -> XenServer 7\.1\.2 \(build 137272c\)/, /6 -> 6 partitions/, /local SR:\s+untouched/,
    /3\s+sr\s+kept/, /\/etc\/ssh\/ssh_host_ed25519_key \(\d+ bytes, mode 600\)/, /first boot: done on the old host/, /Not carried:\n/]) assert.match(text, want);
});

test('the upgraded host boots with the medium\'s values: grub.cfg and DOM0_MEM; older media give the defaults', () => {
  const before = planLayout({ scheme: 'gpt', diskSectors: 60e9 / 512, diskName: '/dev/sda', guestStorage: true, uefi: false, labelSuffix: 'abcdef', guidSeed: 'a' });
  const boot = { serial: { port: 'com2', baud: 57600 }, xen: { dom0_mem: '3G', dom0_max_vcpus: '2-4', extra: ['dma_bits=32'] } };
  const dom0Mem = (u: UpgradePlan) => {
    const inv = u.carryOver.files.find((f) => f.path === 'etc/xensource-inventory');
    return parseShellVars(inv?.kind === 'file' ? inv.content : '').get('DOM0_MEM');
  };
  const u = planUpgrade(detected(before), installedRoot(), { media: { ...PRODUCT_71, boot }, uefi: false, srHasData: true, installationDate: '2025-06-01 00:00:00' });
  assert.is(u.bootloader.grubCfg, grubConfig({ brand: 'XenServer', rootLabel: 'root-abcdef', boot }));
  assert.match(u.bootloader.grubCfg, /multiboot2 \/boot\/xen\.gz dom0_mem=3G dom0_max_vcpus=2-4 com2=57600,8n1 console=com2,vga dma_bits=32\n/);
  assert.is(dom0Mem(u), '3072');
  assert.match(formatUpgradePlan(u), /\n  multiboot2 \/boot\/xen\.gz dom0_mem=3G /);
  const old = upgraded(before, { srHasData: true });
  assert.is(old.bootloader.grubCfg, grubConfig({ brand: 'XenServer', rootLabel: 'root-abcdef', boot: DEFAULT_BOOT }));
  assert.is(dom0Mem(old), '1024');
});

test('xen-cmdline changes survive the upgrade: both new GRUB entries, the inventory\'s DOM0_MEM, the record itself; a bad record stops the plan', () => {
  const before = planLayout({ scheme: 'gpt', diskSectors: 60e9 / 512, diskName: '/dev/sda', guestStorage: true, uefi: false, labelSuffix: 'abcdef', guidSeed: 'a' });
  const record = '# Boot arguments changed on this host with xen-cmdline\nxen set dom0_mem=2048M,max:2048M\nxen set dma_bits=32\nxen delete dom0_max_vcpus\ndom0 set quiet\n';
  const root = { ...installedRoot(), '/etc/xensource/xen-cmdline.conf': record };
  const u = planUpgrade(detected(before), root, { media: PRODUCT_71, uefi: false, srHasData: true, installationDate: '2025-06-01 00:00:00' });
  const xen = [...u.bootloader.grubCfg.matchAll(/multiboot2 \/boot\/xen\.gz (.*)/g)].map((m) => m[1]);
  assert.equal(xen, ['dom0_mem=2048M,max:2048M com1=115200,8n1 console=com1,vga dma_bits=32', 'dom0_mem=2048M,max:2048M console=vga dma_bits=32']);
  assert.ok([...u.bootloader.grubCfg.matchAll(/module2 \/boot\/vmlinuz (.*)/g)].every((m) => m[1]!.endsWith(' quiet')));
  const inv = u.carryOver.files.find((f) => f.path === 'etc/xensource-inventory');
  assert.match(inv?.kind === 'file' ? inv.content : '', /^DOM0_MEM='2048'$/m);
  assert.ok(u.carryOver.files.some((f) => f.path === 'etc/xensource/xen-cmdline.conf' && f.kind === 'file' && f.content === record), 'the record is carried for the next upgrade');
  assert.ok(u.notes.some((n) => n.includes('xen set dma_bits=32')), u.notes.join('\n'));
  assert.throws(() => planUpgrade(detected(before), { ...root, '/etc/xensource/xen-cmdline.conf': 'xen set dom0_mem=1G\nxen frob x\n' },
    { media: PRODUCT_71, uefi: false, srHasData: true, installationDate: '2025-06-01 00:00:00' }), /xen-cmdline\.conf line 2: .*nothing was written/);
});

test('upgrade from a newer version is refused before any plan is made', () => {
  const before = planLayout({ scheme: 'gpt', diskSectors: 60e9 / 512, diskName: '/dev/sda', guestStorage: true, uefi: false, labelSuffix: 'abcdef', guidSeed: 'a' });
  assert.throws(() => upgraded(before, { srHasData: true, version: '8.0.0' }), /^Upgrading from a newer version is not possible/);
});

test('old GPT 3 -> 4 upgraded, then restored: the 6.x table comes back, the backup stays, GRUB by blocklists', () => {
  const before = planLegacyGptLayout({ diskSectors: 100 * GiB / 512, diskName: '/dev/sda', labelSuffix: 'abcdef', guidSeed: 'six' });
  const u = upgraded(before, { srHasData: true, version: '7.0.0' });
  assert.equal([u.layout.partitionsBefore, u.layout.partitionsAfter, u.backup.when], [3, 4, 'before-table-write']);
  assert.equal(u.backup.info.layout.partitions.map((p) => p.number), [1, 2, 3]);
  const { current, backup } = afterUpgrade(u);
  assert.equal([current.layout.scheme, current.layout.partitions.length, backup.product.version], ['old-gpt', 4, '7.0.0']);

  const r = planRestore(backup, { media: PRODUCT_71, uefi: false, srHasData: true, current });
  assert.equal([r.rootDevice, r.rootLabel, r.copy.from, r.copy.to], ['/dev/sda1', 'root-abcdef', '/dev/sda2', '/dev/sda1']);
  assert.equal(r.copy.mkfs, ['mkfs.ext3', '-F', '-q', '-L', 'root-abcdef', '/dev/sda1']);
  assert.equal(r.copy.exclude, ['.xen-backup-partition', '.xsforge-backup.json']);
  assert.equal(r.changes.map((c) => `${c.number}:${c.action}`), ['4:deleted', '1:recreated', '2:kept', '3:kept']);
  assert.equal(r.tables.map((t) => [t.when, t.layout.partitions.map((p) => p.number)]), [['before-copy', [1, 2, 3]], ['after-copy', [1, 2, 3]]]);
  const root = r.tables[1]!.layout.partitions.find((p) => p.number === 1)!;
  assert.equal([root.firstSector, root.sectorCount], [before.partitions[0]!.firstSector, before.partitions[0]!.sectorCount]);
  assert.is(r.bootloader.biosBlocklists, true);
  assert.match(formatRestorePlan(r), /Restore plan: XenServer 7\.0\.0 .* from \/dev\/sda2 onto \/dev\/sda1 \(label root-abcdef\)/);
  // no ESP in a 6.x layout: a UEFI restore cannot boot it
  assert.throws(() => planRestore(backup, { media: PRODUCT_71, uefi: true, srHasData: true, current }), /no EFI system partition/);
});

test('old GPT moved to the new layout, then restored: the SR comes back empty only when it holds no VDIs', () => {
  const before = planLegacyGptLayout({ diskSectors: 100 * GiB / 512, diskName: '/dev/sda', labelSuffix: 'abcdef', guidSeed: 'six' });
  const u = upgraded(before, { srHasData: false, version: '7.0.0' });
  assert.equal([u.layout.partitionsAfter, u.backup.when, u.layout.srUntouched, u.carryOver.firstBoot], [6, 'after-table-write', false, 'pending']);
  assert.equal(u.fileSystems.map((f) => f.role), ['root', 'logs', 'swap']);
  const { current, backup } = afterUpgrade(u);
  assert.throws(() => planRestore(backup, { media: PRODUCT_71, uefi: false, srHasData: true, current }), /the SR holds virtual disks now/);
  const r = planRestore(backup, { media: PRODUCT_71, uefi: false, srHasData: false, current });
  assert.equal(r.changes.map((c) => `${c.number}:${c.role}:${c.action}`), ['5:logs:deleted', '1:root:recreated', '2:backup:recreated', '3:sr:recreated', '4:boot:deleted', '6:swap:deleted']);
  // transitional: the new backup (2) stays, the old root's sectors become partition 1 again
  assert.equal(r.tables[0]!.layout.partitions.map((p) => p.number), [1, 2, 4, 6, 3]);
  assert.equal(r.rootRemovals, ['etc/xensource/local-sr.conf']);
  assert.equal(r.rootFiles.map((f) => f.path), ['etc/firstboot.d/state/pending']);
  assert.ok(r.fileSystems.some((f) => f.role === 'backup'));
});

test('restore of the new layout keeps the table; UEFI gets the stub that finds the restored root', () => {
  const before = planLayout({ scheme: 'gpt', diskSectors: 60e9 / 512, diskName: '/dev/sda', guestStorage: true, uefi: true, labelSuffix: 'abcdef', guidSeed: 'a' });
  const u = upgraded(before, { srHasData: true, uefi: true });
  const { current, backup } = afterUpgrade(u);
  const r = planRestore(backup, { media: PRODUCT_71, uefi: true, srHasData: true, current });
  assert.equal([r.tables.length, r.changes.filter((c) => c.action !== 'kept').map((c) => `${c.number}:${c.action}`)], [0, ['1:reformatted']]);
  assert.equal(r.bootloader.efi, { espDevice: '/dev/sda4', espPartition: 4, stubCfg: 'search --no-floppy --label --set=root root-abcdef\nset prefix=($root)/boot/grub\nconfigfile $prefix/grub.cfg\n' });
  assert.equal(r.relabel, []);
  // a backup of a newer version than the media is refused
  assert.throws(() => planRestore({ ...backup, product: { ...backup.product, version: '7.2.0' } }, { media: PRODUCT_71, uefi: true, srHasData: true, current }), /newer than this installer's XenServer 7\.1\.2/);
});

test('reinstall: the backup is taken before the table when the backup partition stays; labels of a different suffix are given back on restore', () => {
  const before = planLayout({ scheme: 'gpt', diskSectors: 60e9 / 512, diskName: '/dev/sda', guestStorage: true, uefi: false, labelSuffix: 'abcdef', guidSeed: 'a' });
  const inst = detected(before);
  const fresh = planLayout({ scheme: 'gpt', diskSectors: 60e9 / 512, diskName: '/dev/sda', guestStorage: true, uefi: false, labelSuffix: 'zzzzzz', guidSeed: 'b' });
  const step = planReinstallBackup(inst, fresh, { media: PRODUCT_71, uefi: false });
  assert.equal([step.when, step.label, step.info.takenBy.mode, step.info.rootLabel], ['before-table-write', 'backup-zzzzzz', 'reinstall', 'root-abcdef']);
  // a DOS fresh layout puts its backup over the old root: no backup possible
  const dos = planLayout({ scheme: 'dos', diskSectors: 60e9 / 512, diskName: '/dev/sda', guestStorage: true, uefi: false, labelSuffix: 'zzzzzz' });
  assert.throws(() => planReinstallBackup(inst, dos, { media: PRODUCT_71, uefi: false }), /cannot keep a backup/);

  const probe = probeOf(fresh, '/dev/sda', { 2: step.label });
  const current = findInstallations([probe])[0]!;
  const backup = readBackup(backupCandidates([probe])[0]!, { ...installedRoot(), [BACKUP_INFO]: (step.markerFiles[1] as { content: string }).content })!;
  const r = planRestore(backup, { media: PRODUCT_71, uefi: false, srHasData: true, current });
  assert.equal(r.relabel.map((x) => x.argv.join(' ')), ['e2label /dev/sda5 logs-abcdef', 'swaplabel -L swap-abcdef /dev/sda6']);
  assert.is(r.rootLabel, 'root-abcdef');
});

test.run();

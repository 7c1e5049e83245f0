// Detecting installations and backups from table + superblock bytes, and the
// product read from a root's files.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { MESSAGES } from '../../answerfiles/model.ts';
import { readExtSuperblock } from '../../disk/ext-superblock.ts';
import { planLayout } from '../../disk/layout.ts';
import {
  BACKUP_INFO, BACKUP_MARKER, backupCandidates, backupInfoFor, backupInfoJson, describeInstallation, findInstallations,
  locateInstallation, parseBackupInfo, readBackup, selectBackup, type FoundBackup,
} from '../../upgrade/detect.ts';
import { parseShellVars, readInstalledProduct } from '../../upgrade/model.ts';
import { extStart, installedRoot, probeOf } from '../lib/upgrade-fixtures.ts';

const plan = (scheme: 'gpt' | 'dos', bytes: number, sfx = 'abcdef') =>
  planLayout({ scheme, diskSectors: bytes / 512, diskName: '/dev/sda', guestStorage: true, uefi: false, labelSuffix: sfx, guidSeed: sfx });

test('readExtSuperblock: label, uuid, type by features, size; no magic or too few bytes -> undefined', () => {
  const sb = readExtSuperblock(extStart('root-abcdef', { uuid: '00112233-4455-6677-8899-aabbccddeeff', blocks: 1000 }))!;
  assert.equal([sb.label, sb.uuid, sb.type, sb.blockSize, sb.sizeBytes, sb.clean], ['root-abcdef', '00112233-4455-6677-8899-aabbccddeeff', 'ext3', 4096, 4096000n, true]);
  assert.is(readExtSuperblock(extStart('x', { journal: false }))!.type, 'ext2');
  assert.is(readExtSuperblock(extStart('x', { extents: true }))!.type, 'ext4');
  assert.is(readExtSuperblock(new Uint8Array(2048)), undefined);
  assert.is(readExtSuperblock(extStart('root-abcdef').subarray(0, 1500)), undefined);
  // a 16-byte label has no NUL
  assert.is(readExtSuperblock(extStart('root-abcdefghijk'))!.label, 'root-abcdefghijk');
});

test('findInstallations: the root-* label on a basic-data/Linux partition, on each disk', () => {
  const a = probeOf(plan('gpt', 60e9), '/dev/sda');
  const b = probeOf(plan('dos', 20 * 2 ** 30, 'qwerty'), '/dev/sdb');
  const found = findInstallations([a, b]);
  assert.equal(found.map((f) => [f.disk, f.rootDevice, f.rootLabel, f.labelSuffix, f.layout.scheme, f.backupDevice]),
    [['/dev/sda', '/dev/sda1', 'root-abcdef', 'abcdef', 'gpt', '/dev/sda2'], ['/dev/sdb', '/dev/sdb1', 'root-qwerty', 'qwerty', 'dos', '/dev/sdb2']]);
  // a root-* label on an LVM (SR) partition is not an installation
  const c = probeOf(plan('gpt', 60e9), '/dev/sdc');
  c.partitionStarts = { 3: extStart('root-zzzzzz') };
  assert.equal(findInstallations([c]), []);
});

test('locateInstallation: the product\'s text when the disk holds none, with a hint of what was found', () => {
  const a = probeOf(plan('gpt', 60e9), '/dev/sda');
  const blank = { ...probeOf(plan('gpt', 60e9), '/dev/sdb'), partitionStarts: {} };
  assert.is(locateInstallation([a, blank], '/dev/sda').rootPartition, 1);
  try {
    locateInstallation([a, blank], '/dev/sdb');
    assert.unreachable();
  } catch (e) {
    assert.is((e as Error).message, MESSAGES.installationNotFound);
    assert.is((e as Error).message, 'Could not locate the installation specified to be reinstalled.');
    assert.match((e as { hint: string }).hint, /\/dev\/sda \(root-abcdef on \/dev\/sda1\)/);
  }
  assert.throws(() => locateInstallation([blank], '/dev/sdb'), (e: Error & { hint?: string }) => /no basic-data or Linux partition/.test(e.hint!));
  assert.throws(() => locateInstallation([blank], '/dev/sdz'), (e: Error & { hint?: string }) => /there is no disk \/dev\/sdz/.test(e.hint!));
});

test('readInstalledProduct: inventory first, the release file otherwise; shell quoting as sh reads it', () => {
  const root = installedRoot({ version: '7.1.0' });
  assert.equal(readInstalledProduct(root), { brand: 'XenServer', version: '7.1.0', buildNumber: '1000a', platformName: 'xenenterprise', platformVersion: '2.2.0', source: '/etc/xensource-inventory' });
  const noInv = { '/etc/xenserver-release': 'XenServer release 6.5.0-90233c (xenenterprise 1.9.0)\n', '/etc/os-release': 'NAME=Debian\n' };
  assert.equal(readInstalledProduct(noInv), { brand: 'XenServer', version: '6.5.0', buildNumber: '90233c', platformName: 'xenenterprise', platformVersion: '1.9.0', source: '/etc/xenserver-release' });
  assert.is(readInstalledProduct({ '/etc/hostname': 'x\n' }), undefined);
  const v = parseShellVars(`A='it'\\''s'\nB="x \\"y\\""\nC=bare # comment\n# D='no'\nexport E=1\nA='last'\n`);
  assert.equal([...v], [['A', 'last'], ['B', 'x "y"'], ['C', 'bare'], ['E', '1']]);
  const found = findInstallations([probeOf(plan('gpt', 60e9), '/dev/sda')])[0]!;
  assert.is(describeInstallation(found, root).product.version, '7.1.0');
  assert.throws(() => describeInstallation(found, {}), /neither \/etc\/xensource-inventory/);
});

test('backups: candidates, the marker and the record, and the product\'s texts for none / several / none on that disk', () => {
  const disk = plan('gpt', 60e9);
  const probe = probeOf(disk, '/dev/sda', { 2: 'backup-abcdef' });
  const cands = backupCandidates([probe]);
  assert.equal(cands, [{ disk: '/dev/sda', partition: 2, device: '/dev/sda2', label: 'backup-abcdef' }]);
  const inst = describeInstallation(findInstallations([probe])[0]!, installedRoot({ version: '7.1.0' }));
  const info = backupInfoFor(inst, 'bios', { brand: 'XenServer', version: '7.1.2', build: '137272c', mode: 'upgrade' });
  const text = backupInfoJson(info);
  assert.equal(parseBackupInfo(text), info);
  assert.throws(() => parseBackupInfo('{"format":2}'), /format is not 1/);
  assert.throws(() => parseBackupInfo('nope'), /not valid JSON/);
  const files = { ...installedRoot({ version: '7.1.0' }), [BACKUP_MARKER]: '', [BACKUP_INFO]: text };
  const b = readBackup(cands[0]!, files)!;
  assert.equal([b.product.version, b.info?.rootLabel, b.info?.layout.partitions.length], ['7.1.0', 'root-abcdef', 6]);
  assert.is(readBackup(cands[0]!, installedRoot()), undefined, 'no marker: not a backup');
  // product-made backups carry only the marker
  assert.is(readBackup(cands[0]!, { ...installedRoot(), [BACKUP_MARKER]: '' })!.info, undefined);

  const other: FoundBackup = { ...b, disk: '/dev/sdb', device: '/dev/sdb2', info: { ...b.info!, disk: '/dev/sdb' } };
  assert.throws(() => selectBackup([]), (e: Error) => e.message === 'Could not locate exsisting backup.');
  assert.throws(() => selectBackup([b, other]), (e: Error) => e.message === 'Multiple backups were found. Unable to deduce which backup to restore from.');
  assert.throws(() => selectBackup([b, other], '/dev/sdc'), (e: Error) => e.message === 'Unable to find a backup to restore.');
  assert.is(selectBackup([b, other], '/dev/sdb').device, '/dev/sdb2');
  assert.is(selectBackup([b]).device, '/dev/sda2');
});

test.run();

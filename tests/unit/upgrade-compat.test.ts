// May this media upgrade that installation: product line, version order.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { UpgradeError, type InstalledProduct } from '../../upgrade/model.ts';
import { XENSERVER_71_MIN_UPGRADE_FROM, checkUpgrade, compareVersions } from '../../upgrade/version.ts';
import { PRODUCT_71 } from '../lib/upgrade-fixtures.ts';

const installed = (version: string, o: Partial<InstalledProduct> = {}): InstalledProduct =>
  ({ brand: 'XenServer', version, buildNumber: 'b', platformName: 'xenenterprise', platformVersion: '2.2.0', source: '/etc/xensource-inventory', ...o });

test('compareVersions: numeric parts as numbers, missing parts lower, words below numbers', () => {
  const cases: [string, string, number][] = [
    ['7.1.2', '7.1.2', 0], ['7.1.2', '7.1.10', -1], ['7.10', '7.9.9', 1], ['7.1', '7.1.0', -1], ['6.2.0', '7.0.0', -1],
    ['7.1.0', '7.1.beta', 1], ['7.1.2-2', '7.1.2-10', -1], ['2.2.0', '2.1.9', 1],
  ];
  for (const [a, b, want] of cases) {
    assert.is(compareVersions(a, b), want, `${a} vs ${b}`);
    assert.is(compareVersions(b, a), -want || 0, `${b} vs ${a}`);
  }
});

test('same line, older or equal: allowed (equal with a note)', () => {
  assert.equal(checkUpgrade(installed('7.1.0'), PRODUCT_71).notes, []);
  assert.equal(checkUpgrade(installed('6.5.0', { platformVersion: '1.9.0' }), PRODUCT_71, { minVersion: XENSERVER_71_MIN_UPGRADE_FROM }).notes, []);
  assert.match(checkUpgrade(installed('7.1.2'), PRODUCT_71).notes[0]!, /already runs XenServer 7.1.2/);
});

test('a newer installation is refused with a clear message before anything is touched', () => {
  for (const inst of [installed('7.2.0'), installed('7.1.2', { platformVersion: '2.3.0' })]) {
    try {
      checkUpgrade(inst, PRODUCT_71, { disk: '/dev/sda' });
      assert.unreachable();
    } catch (e) {
      assert.instance(e, UpgradeError);
      assert.match((e as Error).message, /^Upgrading from a newer version is not possible: the installation on \/dev\/sda is XenServer 7\.\d\.\d/);
      assert.match((e as UpgradeError).hint!, /mode="reinstall"/);
    }
  }
});

test('another product line (brand or platform) is refused; too old for a direct upgrade is refused', () => {
  assert.throws(() => checkUpgrade(installed('7.0.0', { brand: 'OtherHV' }), PRODUCT_71), /Only an installation of the same product \(XenServer on xenenterprise\)/);
  assert.throws(() => checkUpgrade(installed('7.0.0', { platformName: 'xcp' }), PRODUCT_71), /same product/);
  // brand compared without case, as the inventory and the recipe may spell it differently
  assert.equal(checkUpgrade(installed('7.0.0', { brand: 'xenserver' }), PRODUCT_71).notes, []);
  assert.throws(() => checkUpgrade(installed('6.1.0'), PRODUCT_71, { minVersion: XENSERVER_71_MIN_UPGRADE_FROM }), /must run 6\.2\.0 or later/);
});

test.run();

// Which packages the installer puts into dom0: the mandatory and default members
// of xenserver_base and xenserver_dom0, resolved against primary metadata.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { INSTALL_GROUPS, packagesToInstall } from '../../installer/runtime/packages.ts';
import { productGroups, type CompsGroup } from '../../repo/comps.ts';
import type { PrimaryPackage } from '../../repo/verify.ts';

const pkg = (name: string, version = '1', arch = 'noarch'): PrimaryPackage => ({
  name, arch, epoch: '0', version, release: '1', href: `Packages/${name}-${version}-1.${arch}.rpm`,
  checksum: { type: 'sha256', value: '0'.repeat(64) }, size: 1, provides: [], requires: [],
});

test('both product groups, in group order, each package once', () => {
  const groups = productGroups(['xenserver-release', 'kernel'], ['xsforge-firstboot', 'kernel']);
  const got = packagesToInstall({ groups, packages: [pkg('kernel', '6.1', 'x86_64'), pkg('xenserver-release'), pkg('xsforge-firstboot'), pkg('unrelated')] });
  assert.equal(got.map((p) => p.name), ['xenserver-release', 'kernel', 'xsforge-firstboot']);
  assert.equal(INSTALL_GROUPS, ['xenserver_base', 'xenserver_dom0']);
});

test('optional members are left out; a missing group or member is an error naming it', () => {
  const groups: CompsGroup[] = [
    { id: 'xenserver_base', name: 'b', description: '', default: true, uservisible: true, packages: [{ name: 'a', type: 'mandatory' }, { name: 'extra', type: 'optional' }] },
  ];
  assert.equal(packagesToInstall({ groups, packages: [pkg('a'), pkg('extra')] }, ['xenserver_base']).map((p) => p.name), ['a']);
  assert.throws(() => packagesToInstall({ groups, packages: [pkg('a')] }), /no comps group xenserver_dom0/);
  assert.throws(() => packagesToInstall({ groups, packages: [] }, ['xenserver_base']), /Group member a is not in the repository/);
});

test('source packages are never installed', () => {
  const groups = productGroups(['a'], []);
  assert.throws(() => packagesToInstall({ groups, packages: [pkg('a', '1', 'src')] }, ['xenserver_base']), /not in the repository/);
});

test.run();

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { issueFile, issueNetFile, releaseFile, shellAssignment, xenReleaseFromPackageVersion } from '../../dom0-rootfs/identity.ts';

const PRODUCT = { brand: 'XenServer', version: '7.1.2', build_number: '137272c', platform: { name: 'XCP', version: '2.2.0' } };

test('release file: KEY=value lines quoted for sh', () => {
  assert.is(releaseFile(PRODUCT),
    "PRODUCT_BRAND='XenServer'\nPRODUCT_VERSION='7.1.2'\nBUILD_NUMBER='137272c'\nPLATFORM_NAME='XCP'\nPLATFORM_VERSION='2.2.0'\n");
  assert.is(shellAssignment('PRODUCT_BRAND', "Bob's Xen"), "PRODUCT_BRAND='Bob'\\''s Xen'");
});

test('issue: brand, version, build, then agetty escapes; a backslash in the brand is not an escape', () => {
  assert.is(issueFile(PRODUCT), 'XenServer 7.1.2 (build 137272c) \\r \\l\n\n');
  assert.is(issueFile({ ...PRODUCT, brand: 'A\\nB' }), 'A\\\\nB 7.1.2 (build 137272c) \\r \\l\n\n');
  assert.is(issueNetFile(PRODUCT), 'XenServer 7.1.2\n');
});

test('Xen release from the Debian package version', () => {
  assert.is(xenReleaseFromPackageVersion('4.17.5+72-g01140da4e8-1'), '4.17.5');
  assert.is(xenReleaseFromPackageVersion('1:4.17.3-1~deb12u1'), '4.17.3');
  assert.is(xenReleaseFromPackageVersion('4.17-1'), '4.17');
  assert.throws(() => xenReleaseFromPackageVersion('git20240101'), /cannot read a Xen release/);
});

test.run();

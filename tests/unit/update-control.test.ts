// The pure parts of an update: stable uuids, the control package per kind
// (requires/provides/conflicts, the applied record), installation size, comps
// groups, depmod scriptlets, the ISO volume id, key ids of a public key, and
// the CLI's override precedence.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash } from 'node:crypto';
import { overridesFrom } from '../../cli/commands/update.ts';
import { formatRpmSpec } from '../../packages/spec.ts';
import {
  DEFAULT_UPDATE_EPOCH, SIZE_BLOCK, SIZE_HEADROOM, controlPackage, depmodScript, installationSize, isoVolumeId,
  updateGroups, updateUuid, uuidV5, withDepmod, type UpdateSpec,
} from '../../updates/model.ts';
import { publicKeyIds } from '../../updates/inspect.ts';

function spec(over: Partial<UpdateSpec>): UpdateSpec {
  return {
    kind: 'hotfix', nameLabel: 'XS71ECU2001', uuid: updateUuid('XS71ECU2001', '1.0'), version: '1.0', description: 'd',
    guidance: [], productVersion: '7.1.2', platformVersion: '2.2.0', requires: ['XS71ECU2'], conflicts: [], rollsUp: [],
    livepatch: false, enforceHomogeneity: false, license: 'MIT', sourceDateEpoch: DEFAULT_UPDATE_EPOCH, rpmFiles: [], packages: [],
    ...over,
  };
}

test('uuidV5 matches RFC 4122 (Python uuid5 vectors); update uuids are stable and differ by name and version', () => {
  assert.is(uuidV5('6ba7b810-9dad-11d1-80b4-00c04fd430c8', 'www.example.com'), '2ed6657d-e927-568b-95e1-2665a8aea6a2');
  assert.is(uuidV5('6ba7b811-9dad-11d1-80b4-00c04fd430c8', 'https://xsforge.invalid/updates'), 'd8da1b35-6e3d-5b56-b4b0-2517f2752830');
  const a = updateUuid('XS71ECU2001', '1.0');
  assert.is(a, updateUuid('XS71ECU2001', '1.0'));
  assert.is.not(a, updateUuid('XS71ECU2001', '1.1'));
  assert.is.not(a, updateUuid('XS71ECU2002', '1.0'));
  assert.match(a, /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
});

test('control package of a hotfix: product-version, the prerequisite CU, provides itself, records update.xml', () => {
  const s = spec({ conflicts: ['XS71ECU2003'] });
  const c = controlPackage(s, '<update/>\n');
  assert.is(c.name, 'control-XS71ECU2001');
  assert.is(c.version, '1.0');
  assert.is(c.arch, 'noarch');
  assert.equal(c.requires, ['product-version = 7.1.2', 'xsforge-update(XS71ECU2)']);
  assert.equal(c.provides, ['xsforge-update(XS71ECU2001) = 1.0']);
  assert.equal(c.conflicts, ['xsforge-update(XS71ECU2003)']);
  assert.equal(c.files, [{ from: { text: '<update/>\n' }, to: `/var/update/applied/${s.uuid}`, mode: 0o644 }]);
  // and rpmbuild can take it as it is
  const text = formatRpmSpec(c, { sourceDateEpoch: DEFAULT_UPDATE_EPOCH });
  assert.match(text, /^Requires: xsforge-update\(XS71ECU2\)$/m);
  assert.match(text, /^Conflicts: xsforge-update\(XS71ECU2003\)$/m);
});

test('control package per kind: CU provides the hotfixes it rolls up, driver disk needs the kernel, a pack the platform', () => {
  const cu = controlPackage(spec({ kind: 'cumulative-update', nameLabel: 'XS71ECU3', requires: ['XS71ECU2'], rollsUp: [{ nameLabel: 'XS71ECU2001', version: '1.0' }, { nameLabel: 'XS71ECU2002', version: '1.1' }] }), 'x');
  assert.equal(cu.provides, ['xsforge-update(XS71ECU3) = 1.0', 'xsforge-update(XS71ECU2001) = 1.0', 'xsforge-update(XS71ECU2002) = 1.1']);
  assert.equal(cu.requires, ['product-version = 7.1.2', 'xsforge-update(XS71ECU2)']);
  const drv = controlPackage(spec({ kind: 'driver-disk', nameLabel: 'drv', requires: [], kernelRelease: '6.1.0-28-amd64' }), 'x');
  // the kernel package provides kernel-uname-r with "_" for "-" (rpm refuses "-" in a dependency version)
  assert.equal(drv.requires, ['kernel-uname-r = 6.1.0_28_amd64']);
  const pack = controlPackage(spec({ kind: 'supplemental-pack', nameLabel: 'snmp', requires: [], platformVersion: '2.3.0' }), 'x');
  assert.equal(pack.requires, ['platform-version = 2.3.0']);
  assert.throws(() => controlPackage(spec({ kind: 'driver-disk', kernelRelease: undefined }), 'x'), /kernel release/);
});

test('installation size: installed bytes + one block per file + 1 MiB headroom', () => {
  assert.is(SIZE_BLOCK, 4096);
  assert.is(SIZE_HEADROOM, 1048576);
  assert.is(installationSize([]), 1048576);
  assert.is(installationSize([{ size: 268, files: [1, 2, 3] }, { size: 10_000_000, files: [1] }]), 1048576 + 268 + 3 * 4096 + 10_000_000 + 4096);
});

test('comps groups: update has every payload package and the control package; drivers only for driver disks', () => {
  assert.equal(updateGroups(spec({}), ['b', 'a', 'a'], []).map((g) => [g.id, g.packages.map((p) => `${p.name}:${p.type}`)]), [
    ['update', ['a:mandatory', 'b:mandatory', 'control-XS71ECU2001:mandatory']],
  ]);
  const drv = updateGroups(spec({ kind: 'driver-disk', nameLabel: 'drv' }), ['mod', 'tool'], ['mod']);
  assert.equal(drv.map((g) => [g.id, g.packages.map((p) => p.name)]), [['update', ['mod', 'tool', 'control-drv']], ['drivers', ['mod']]]);
});

test('depmod scriptlets: appended to the model\'s own, run only when depmod exists', () => {
  const pkg = { name: 'm', version: '1', release: '1', summary: 's', license: 'GPLv2', arch: 'x86_64' as const, description: 'd', provides: [], requires: [], conflicts: [], obsoletes: [], files: [], dirs: [], scriptlets: { post: 'echo hi' } };
  const w = withDepmod(pkg, '6.1.0-28-amd64');
  assert.is(w.scriptlets.post, `echo hi\n${depmodScript('6.1.0-28-amd64')}`);
  assert.is(w.scriptlets.postun, depmodScript('6.1.0-28-amd64'));
  assert.match(depmodScript('6.1.0-28-amd64'), /^if command -v depmod >\/dev\/null 2>&1; then\n {2}depmod -a 6\.1\.0-28-amd64 \|\| :\nfi$/);
});

test('ISO volume id: upper-case d-characters, at most 32', () => {
  assert.is(isoVolumeId('XS71ECU2001'), 'XS71ECU2001');
  assert.is(isoVolumeId('xsforge-snmp-agent'), 'XSFORGE_SNMP_AGENT');
  assert.is(isoVolumeId('a.very-long.name-label+for.a.driver.disk'), 'A_VERY_LONG_NAME_LABEL_FOR_A_DRI');
});

test('publicKeyIds: v4 key id = last 8 bytes of SHA-1(0x99, length, body), for new- and old-format packets', () => {
  // a fake v4 RSA key body: version 4, time, algorithm 1, MPIs (the content does not matter to the fingerprint rule)
  const body = Buffer.concat([Buffer.from([4, 0x5b, 0x61, 0x00, 0x00, 1, 0x00, 0x08, 0xc5, 0x00, 0x02, 0x01, 0x01])]);
  const expected = createHash('sha1').update(Buffer.from([0x99, 0, body.length])).update(body).digest('hex').toUpperCase().slice(-16);
  const newFormat = Buffer.concat([Buffer.from([0xc0 | 6, body.length]), body]);
  const oldFormat = Buffer.concat([Buffer.from([0x80 | (14 << 2) | 1, 0, body.length]), body]); // subkey, 2-byte length
  const uid = Buffer.concat([Buffer.from([0xc0 | 13, 3]), Buffer.from('abc')]);
  assert.equal(publicKeyIds(Buffer.concat([newFormat, uid, oldFormat])), [expected, expected]);
  const armoured = `-----BEGIN PGP PUBLIC KEY BLOCK-----\n\n${newFormat.toString('base64')}\n=AAAA\n-----END PGP PUBLIC KEY BLOCK-----\n`;
  assert.equal(publicKeyIds(Buffer.from(armoured)), [expected]);
});

test('CLI overrides: flag beats $SOURCE_DATE_EPOCH; bad values are refused', () => {
  assert.equal(overridesFrom({ sourceDateEpoch: '1700000000' }, { SOURCE_DATE_EPOCH: '1600000000' }), { sourceDateEpoch: 1700000000 });
  assert.equal(overridesFrom({}, { SOURCE_DATE_EPOCH: '1600000000' }), { sourceDateEpoch: 1600000000 });
  assert.equal(overridesFrom({ kernelRelease: '6.1.0-50-amd64', productVersion: '7.1.3' }, {}), { kernelRelease: '6.1.0-50-amd64', productVersion: '7.1.3' });
  assert.throws(() => overridesFrom({ sourceDateEpoch: 'soon' }, {}), /whole number of seconds/);
  assert.throws(() => overridesFrom({ productVersion: '7.1-2' }, {}), /dot-separated numbers/);
});

test.run();

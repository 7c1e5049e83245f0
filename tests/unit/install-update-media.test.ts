// The pure parts of the installer's supplemental packs and driver disks: what a
// medium installs (groups update/drivers + control package), which files are
// driver modules, rpm's failed-dependency lines, and how the plan lists them.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseAnswerFile } from '../../answerfiles/parse.ts';
import { parseCmdline } from '../../installer/runtime/cmdline.ts';
import { formatInstallPlan, planInstall, type PlanOptions } from '../../installer/runtime/plan.ts';
import {
  UpdateMediumError, describeConflict, describeUnmet, driverModules, mediumLabel, parseFailedDependencies, parseFileConflicts, selectUpdatePackages,
  undeclaredConflicts, canonicalUsrPath, dpkgFileConflicts, parsePayloadFiles,
} from '../../installer/runtime/update-media.ts';
import type { CompsGroup } from '../../repo/comps.ts';
import type { PrimaryPackage } from '../../repo/verify.ts';

function pkg(name: string, version = '1.0', arch = 'noarch'): PrimaryPackage {
  return {
    name, arch, epoch: '0', version, release: '1', href: `Packages/${name}-${version}-1.${arch}.rpm`,
    checksum: { type: 'sha256', value: '0'.repeat(64) }, size: 1, provides: [], requires: [],
  };
}

function group(id: string, names: string[], optional: string[] = []): CompsGroup {
  return {
    id, name: id, description: '', default: true, uservisible: false,
    packages: [...names.map((n) => ({ name: n, type: 'mandatory' as const })), ...optional.map((n) => ({ name: n, type: 'optional' as const }))],
  };
}

const PACK = { nameLabel: 'xsforge-snmp-agent', control: 'control-xsforge-snmp-agent' };

test('a pack installs its update group (not optional members) and its control package, each once', () => {
  const repo = {
    packages: [pkg('xsforge-snmp-agent'), pkg('xsforge-snmp-agent-docs'), pkg('control-xsforge-snmp-agent'), pkg('xsforge-snmp-agent', '1.0', 'src')],
    groups: [group('update', ['xsforge-snmp-agent', 'control-xsforge-snmp-agent'], ['xsforge-snmp-agent-docs'])],
  };
  assert.equal(selectUpdatePackages(PACK, repo, 'supplemental pack').map((p) => [p.name, p.arch]),
    [['xsforge-snmp-agent', 'noarch'], ['control-xsforge-snmp-agent', 'noarch']]);
  // a group without the control package: it is added from update.xml's control attribute
  const noControl = { ...repo, groups: [group('update', ['xsforge-snmp-agent'])] };
  assert.equal(selectUpdatePackages(PACK, noControl, 'supplemental pack').map((p) => p.name), ['xsforge-snmp-agent', 'control-xsforge-snmp-agent']);
  // several builds listed: the last one (createrepo's order) wins
  const two = { ...repo, packages: [pkg('xsforge-snmp-agent', '1.0'), pkg('xsforge-snmp-agent', '1.1'), pkg('control-xsforge-snmp-agent')] };
  assert.is(selectUpdatePackages(PACK, two, 'supplemental pack')[0]!.version, '1.1');
});

test('driver disks: update and drivers groups together; drivers is required on a driver disk, not on a pack', () => {
  const nic = { nameLabel: 'nic', control: 'control-nic' };
  const repo = {
    packages: [pkg('nic-module', '2.4.1', 'x86_64'), pkg('nic-tools'), pkg('control-nic')],
    groups: [group('update', ['nic-tools', 'control-nic']), group('drivers', ['nic-module'])],
  };
  assert.equal(selectUpdatePackages(nic, repo, 'driver disk').map((p) => p.name), ['nic-tools', 'control-nic', 'nic-module']);
  const noDrivers = { ...repo, groups: [group('update', ['nic-tools', 'control-nic'])] };
  assert.throws(() => selectUpdatePackages(nic, noDrivers, 'driver disk'), (e: Error) => e instanceof UpdateMediumError && /driver disk nic has no comps group "drivers"/.test(e.message));
  assert.equal(selectUpdatePackages(nic, noDrivers, 'supplemental pack').map((p) => p.name), ['nic-tools', 'control-nic']);
});

test('refusals name the medium: no update group, a member or the control package missing', () => {
  const base = { packages: [pkg('a'), pkg('control-xsforge-snmp-agent')], groups: [group('update', ['a'])] };
  assert.throws(() => selectUpdatePackages(PACK, { ...base, groups: [] }, 'supplemental pack'), /supplemental pack xsforge-snmp-agent has no comps group "update"/);
  assert.throws(() => selectUpdatePackages(PACK, { ...base, groups: [group('update', ['a', 'b'])] }, 'supplemental pack'), /lists b in its comps groups, but its repository has no such package/);
  assert.throws(() => selectUpdatePackages(PACK, { ...base, packages: [pkg('a')] }, 'supplemental pack'), /has no control package control-xsforge-snmp-agent \(update\.xml control="control-xsforge-snmp-agent"\)/);
});

test('driver modules: .ko (plain or compressed) under lib/modules/<release>/updates/, merged-usr too; nothing else', () => {
  const files = [
    '/lib/modules/6.1.0-56-amd64/updates/xsf_demo_nic.ko',
    'usr/lib/modules/6.1.0-56-amd64/updates/net/e1000x.ko.xz',
    '/lib/modules/6.1.0-56-amd64/updates/zz.ko.zst',
    '/lib/modules/6.1.0-56-amd64/kernel/drivers/net/dummy.ko',
    '/lib/modules/6.1.0-56-amd64/updates/readme.txt',
    '/etc/modules-load.d/xsf_demo_nic.conf',
    '/lib/modules/6.1.0-56-amd64/updates/bad.kox',
  ];
  assert.equal(driverModules(files), [
    { release: '6.1.0-56-amd64', path: 'lib/modules/6.1.0-56-amd64/updates/xsf_demo_nic.ko', name: 'xsf_demo_nic' },
    { release: '6.1.0-56-amd64', path: 'lib/modules/6.1.0-56-amd64/updates/zz.ko.zst', name: 'zz' },
    { release: '6.1.0-56-amd64', path: 'usr/lib/modules/6.1.0-56-amd64/updates/net/e1000x.ko.xz', name: 'e1000x' },
  ]);
  assert.equal(driverModules([]), []);
});

test('rpm\'s failed dependencies: requires, conflicts (also with installed packages), obsoletes; other lines ignored', () => {
  const out = [
    'error: Failed dependencies:',
    '\tplatform-version = 9.9.9 is needed by control-xsforge-snmp-agent-1.0-1.noarch',
    '\txsforge-update(XS71ECU2) is needed by control-XS71ECU2001-1.0-1.noarch',
    '\txsforge-update(XS71ECU3) conflicts with (installed) control-XS71ECU2-1.0-1.noarch',
    '\tfoo is obsoleted by bar-2-1.noarch',
    'warning: something else',
  ].join('\n');
  const unmet = parseFailedDependencies(out);
  assert.equal(unmet, [
    { kind: 'requires', capability: 'platform-version = 9.9.9', package: 'control-xsforge-snmp-agent-1.0-1.noarch' },
    { kind: 'requires', capability: 'xsforge-update(XS71ECU2)', package: 'control-XS71ECU2001-1.0-1.noarch' },
    { kind: 'conflicts', capability: 'xsforge-update(XS71ECU3)', package: 'control-XS71ECU2-1.0-1.noarch' },
    { kind: 'obsoleted', capability: 'foo', package: 'bar-2-1.noarch' },
  ]);
  assert.is(describeUnmet(unmet[0]!), 'control-xsforge-snmp-agent-1.0-1.noarch requires platform-version = 9.9.9, which this installation does not provide');
  assert.equal(parseFailedDependencies('error: package x is already installed'), []);
  assert.is(mediumLabel({ role: 'driver disk', where: 'http://h/d', update: { nameLabel: 'nic' } }), 'driver disk nic (http://h/d)');
  assert.is(mediumLabel({ role: 'supplemental pack', where: '/dev/sr1' }), 'supplemental pack (/dev/sr1)');
});

const OPTS: PlanOptions = {
  uefi: false, labelSuffix: 'abcdef',
  uuids: { installation: '11111111-1111-4111-8111-111111111111', controlDomain: '22222222-2222-4222-8222-222222222222', sr: '33333333-3333-4333-8333-333333333333' },
  product: { brand: 'XenServer', version: '7.1.2', build_number: '137272c', platform: { name: 'XCP', version: '2.2.0' } },
  installationDate: '2018-08-01 00:00:00', nics: [{ name: 'eth0', mac: '52:54:00:12:34:56' }],
};

test('the plan keeps packs and driver disks in answer-file order, lists them in its text, and no longer notes them as missing', () => {
  const r = parseAnswerFile(`<installation><primary-disk>sda</primary-disk>
    <source type="local"/>
    <source type="url">http://10.0.2.2/packs/snmp/</source>
    <driver-source type="url">http://10.0.2.2/drivers/nic</driver-source>
    <source type="nfs">nfs.example:/packs/tools</source>
    <source type="url">file:///packs/local-pack</source>
    <admin-interface name="eth0" proto="dhcp"/></installation>`);
  assert.equal(r.errors, []);
  const plan = planInstall(r.config!, [{ name: 'sda', path: '/dev/sda', sizeBytes: 60e9, sectorSize: 512 }], parseCmdline('install').cmdline, OPTS);
  assert.equal(plan.source, { type: 'local', address: '' });
  assert.equal(plan.extraSources.map((s) => s.address), ['http://10.0.2.2/packs/snmp/', 'nfs.example:/packs/tools', 'file:///packs/local-pack']);
  assert.equal(plan.driverSources, [{ type: 'url', address: 'http://10.0.2.2/drivers/nic' }]);
  assert.not.ok(plan.notes.some((n) => /supplemental|driver/.test(n)), plan.notes.join('; '));
  const text = formatInstallPlan(plan);
  assert.match(text, /^ {2}driver disk 1: http:\/\/10\.0\.2\.2\/drivers\/nic$/m);
  assert.match(text, /^ {2}supp\. pack 1: http:\/\/10\.0\.2\.2\/packs\/snmp\/$/m);
  assert.match(text, /^ {2}supp\. pack 2: nfs nfs\.example:\/packs\/tools$/m);
  assert.match(text, /^ {2}1\. driver disk http:\/\/10\.0\.2\.2\/drivers\/nic \(its modules are loaded into the installer first\)$/m);
  assert.match(text, /^ {2}4\. supplemental pack file:\/\/\/packs\/local-pack$/m);
  assert.ok(text.indexOf('Updates installed into the new dom0') < text.indexOf('Bootloader:'), 'listed before the bootloader, the order they are done in');
  assert.not.match(text, /not installed yet|not loaded yet/);
  const none = planInstall(parseAnswerFile('<installation><primary-disk>sda</primary-disk><source type="local"/><admin-interface name="eth0" proto="dhcp"/></installation>').config!,
    [{ name: 'sda', path: '/dev/sda', sizeBytes: 60e9, sectorSize: 512 }], parseCmdline('install').cmdline, OPTS);
  assert.not.match(formatInstallPlan(none), /Updates installed|supp\. pack|driver disk/);
});

test('file conflicts: rpm 4.x lines become path, shipping package and owner; other lines are ignored', () => {
  const out = [
    'error: Failed dependencies:',
    '\tplatform-version = 2.2.0 is needed by control-p-1-1.noarch',
    '\tfile /usr/sbin/xsforge-update from install of xsforge-snmp-agent-1.0.3-1.noarch conflicts with file from package xsforge-update-1.0-1.x86_64',
    '\tfile /etc/a b.conf from install of p-2-1.noarch conflicts with file from package q-1-1.noarch',
    '\tfile /usr/bin/two conflicts between attempted installs of a-1-1.noarch and b-1-1.noarch',
    '\tpackage p-2-1.noarch is already installed',
  ].join('\n');
  const c = parseFileConflicts(out);
  assert.equal(c, [
    { path: '/usr/sbin/xsforge-update', package: 'xsforge-snmp-agent-1.0.3-1.noarch', owner: 'xsforge-update-1.0-1.x86_64', sameTransaction: false },
    { path: '/etc/a b.conf', package: 'p-2-1.noarch', owner: 'q-1-1.noarch', sameTransaction: false },
    { path: '/usr/bin/two', package: 'b-1-1.noarch', owner: 'a-1-1.noarch', sameTransaction: true },
  ]);
  assert.equal(parseFileConflicts('error: Failed dependencies:\n\tfoo is needed by bar-1-1.noarch\n'), []);
  assert.equal(undeclaredConflicts(c, ['/etc/a b.conf']).map((x) => x.path), ['/usr/sbin/xsforge-update', '/usr/bin/two']);
  assert.equal(undeclaredConflicts(c, ['/usr/sbin/xsforge-update', '/etc/a b.conf', '/usr/bin/two']), []);
  assert.equal(undeclaredConflicts(c).length, 3);
  assert.is(describeConflict(c[0]!), '/usr/sbin/xsforge-update (owned by xsforge-update-1.0-1.x86_64, shipped by xsforge-snmp-agent-1.0.3-1.noarch)');
});

test('payload files from rpm -qp: directories told by their mode, lines without a path skipped', () => {
  const out = '100755\t/usr/sbin/tool\tpack-1-1.noarch\n40755\t/var/lib/pack\tpack-1-1.noarch\n120777\t/usr/bin/link\tpack-1-1.noarch\n(none)\n\n';
  assert.equal(parsePayloadFiles(out), [
    { path: '/usr/sbin/tool', directory: false, package: 'pack-1-1.noarch' },
    { path: '/var/lib/pack', directory: true, package: 'pack-1-1.noarch' },
    { path: '/usr/bin/link', directory: false, package: 'pack-1-1.noarch' },
  ]);
});

test('merged /usr: /bin, /sbin and /lib* compare under /usr; nothing else moves, nor anything without merged /usr', () => {
  assert.is(canonicalUsrPath('/bin/bash', true), '/usr/bin/bash');
  assert.is(canonicalUsrPath('/lib64/ld-linux-x86-64.so.2', true), '/usr/lib64/ld-linux-x86-64.so.2');
  assert.is(canonicalUsrPath('/sbin', true), '/usr/sbin');
  assert.is(canonicalUsrPath('/binary/x', true), '/binary/x');
  assert.is(canonicalUsrPath('/usr/bin/bash', true), '/usr/bin/bash');
  assert.is(canonicalUsrPath('/bin/bash', false), '/bin/bash');
});

test('dpkg conflicts: a shipped file a Debian package lists, by either name; directories and rpm-owned paths are not', () => {
  const payload = parsePayloadFiles([
    '100755\t/usr/bin/bash\tpack-1-1.noarch',
    '40755\t/usr/bin\tpack-1-1.noarch',
    '100644\t/boot/vmlinuz-6.1.0-50-amd64\tkernel-6.1.176-2.x86_64',
    '100644\t/usr/share/pack/README\tpack-1-1.noarch',
  ].join('\n'));
  const lists = [
    { owner: 'bash', paths: ['/bin', '/bin/bash', '/usr/share/doc/bash'] },
    { owner: 'linux-image-6.1.0-50-amd64', paths: ['/boot/vmlinuz-6.1.0-50-amd64'] },
  ];
  const conflicts = dpkgFileConflicts(payload, lists, true, new Set(['/boot/vmlinuz-6.1.0-50-amd64']));
  assert.equal(conflicts, [{ path: '/usr/bin/bash', package: 'pack-1-1.noarch', owner: 'bash (Debian package)', sameTransaction: false }]);
  assert.is(describeConflict(conflicts[0]!), '/usr/bin/bash (owned by bash (Debian package), shipped by pack-1-1.noarch)');
  // without merged /usr the names differ and nothing matches; without the rpm owner the kernel's image is dpkg's
  assert.equal(dpkgFileConflicts(payload, lists, false, new Set(['/boot/vmlinuz-6.1.0-50-amd64'])), []);
  assert.equal(dpkgFileConflicts(payload, lists, true).map((c) => c.path), ['/usr/bin/bash', '/boot/vmlinuz-6.1.0-50-amd64']);
});

test.run();

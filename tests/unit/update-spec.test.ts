// Update spec loader: a valid spec becomes an UpdateSpec with its defaults; bad
// specs fail with file:line:col, the field path and what is allowed, all at once.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseUpdateSpec, type UpdateSpecIssue } from '../../updates/load.ts';
import { DEFAULT_UPDATE_EPOCH, updateUuid } from '../../updates/model.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '../..');
// a spec "next to" nothing: only file checks that are named below touch the disk
const FILE = '/nonexistent-xsforge-dir/spec.yaml';

const PKG = [
  '    - name: xs-demo',
  '      version: "1.0"',
  '      summary: Demo',
  '      license: MIT',
  '      arch: noarch',
  '      description: A demo package.',
  '      files:',
  '        - { from: { text: "x\\n" }, to: /usr/share/xs-demo/x }',
];

function spec(head: string[], pkg = PKG): string {
  return [...head, 'rpms:', '  packages:', ...pkg, ''].join('\n');
}

const HOTFIX = ['kind: hotfix', 'name_label: XS71ECU2001', 'version: "1.0"', 'description: Fixes things', 'requires: [XS71ECU2]'];

function errorsOf(text: string, overrides = {}): UpdateSpecIssue[] {
  const r = parseUpdateSpec(text, { file: FILE, overrides });
  assert.not.ok(r.spec, 'expected the spec to be refused');
  return r.errors;
}

function has(errors: UpdateSpecIssue[], line: number, path: string, words: RegExp): void {
  const e = errors.find((x) => x.line === line && x.path === path && words.test(x.message));
  assert.ok(e, `no error at line ${line} for ${path} matching ${words}; got:\n${errors.map((x) => `${x.line}:${x.column} ${x.path}: ${x.message}`).join('\n')}`);
}

test('a valid hotfix: defaults filled in, uuid derived from name_label and version', () => {
  const r = parseUpdateSpec(spec(HOTFIX), { file: FILE });
  assert.equal(r.errors, []);
  const s = r.spec!;
  assert.is(s.kind, 'hotfix');
  assert.is(s.uuid, updateUuid('XS71ECU2001', '1.0'));
  assert.is(s.productVersion, '7.1.2');
  assert.is(s.platformVersion, '2.2.0');
  assert.is(s.sourceDateEpoch, DEFAULT_UPDATE_EPOCH);
  assert.equal(s.guidance, []);
  assert.equal(s.requires, ['XS71ECU2']);
  assert.is(s.packages.length, 1);
  assert.is(s.packages[0].name, 'xs-demo');
  assert.is(s.livepatch, false);
  assert.is(s.enforceHomogeneity, false);
  assert.is(s.key, undefined);
});

test('overrides (command-line flags) win over the spec', () => {
  const r = parseUpdateSpec(spec([...HOTFIX, 'product_version: 7.1.1', 'source_date_epoch: 1600000000']), { file: FILE, overrides: { productVersion: '7.1.3', sourceDateEpoch: 1700000000 } });
  assert.is(r.spec!.productVersion, '7.1.3');
  assert.is(r.spec!.sourceDateEpoch, 1700000000);
  const s = parseUpdateSpec(spec([...HOTFIX, 'product_version: 7.1.1', 'source_date_epoch: 1600000000']), { file: FILE }).spec!;
  assert.is(s.productVersion, '7.1.1');
  assert.is(s.sourceDateEpoch, 1600000000);
});

test('missing name_label and description, unknown guidance: every problem, each at its line', () => {
  const errors = errorsOf(spec(['kind: hotfix', 'version: "1.0"', 'after_apply_guidance: [restartHost, rebootNow]']));
  has(errors, 1, 'name_label', /missing required field 'name_label'/);
  has(errors, 1, 'description', /missing required field 'description'/);
  has(errors, 3, 'after_apply_guidance[1]', /must be one of restartHVM, restartPV, restartHost, restartXAPI \(got "rebootNow"\)/);
  assert.is(errors.length, 3);
});

test('an empty description, an unquoted version, a misspelt key, a bad uuid and kind', () => {
  const errors = errorsOf(spec(['kind: patch', 'name_label: XS71ECU2001', 'version: 1.10', 'description: "  "', 'uuid: not-a-uuid', 'requirez: [XS71ECU2]']));
  has(errors, 1, 'kind', /must be one of supplemental-pack, driver-disk, hotfix, cumulative-update \(got "patch"\)/);
  has(errors, 3, 'version', /expected a string, got the number 1\.1; put it in quotes: "1\.10"/);
  has(errors, 4, 'description', /must not be empty/);
  has(errors, 5, 'uuid', /must be a UUID such as/);
  has(errors, 6, 'requirez', /unknown key 'requirez' in the top level; did you mean 'requires'\?/);
});

test('unknown RPM: a file the spec names that is not there, at its line', () => {
  const text = ['kind: supplemental-pack', 'name_label: pack', 'version: "1.0"', 'description: A pack', 'rpms:', '  files:', '    - rpms/missing-1.0-1.noarch.rpm', ''].join('\n');
  const errors = errorsOf(text);
  has(errors, 7, 'rpms.files[0]', /unknown RPM: no file .*rpms\/missing-1\.0-1\.noarch\.rpm/);
});

test('an .rpm that is not an RPM, and a path leaving the spec directory', () => {
  const dir = join(root, 'examples/updates');
  const text = ['kind: supplemental-pack', 'name_label: pack', 'version: "1.0"', 'description: A pack', 'rpms:', '  files:', '    - XS71ECU1.yaml.rpm', '    - ../hosts.yaml.rpm', ''].join('\n');
  const r = parseUpdateSpec(text, { file: join(dir, 'spec.yaml') });
  has(r.errors, 7, 'rpms.files[0]', /unknown RPM/);
  has(r.errors, 8, 'rpms.files[1]', /outside the spec's directory/);
});

test('no packages at all', () => {
  const errors = errorsOf(['kind: hotfix', 'name_label: H', 'version: "1"', 'description: d', 'rpms: {}', ''].join('\n'));
  has(errors, 5, 'rpms', /the update has no packages/);
});

test('fields that belong to other kinds, self-references, both required and conflicting', () => {
  const errors = errorsOf(spec([
    'kind: hotfix', 'name_label: H1', 'version: "1"', 'description: d',
    'kernel_release: 6.1.0-28-amd64',
    'rolls_up: [{ name_label: H0, version: "1" }]',
    'requires: [H1, X]',
    'conflicts: [X, H1]',
  ]));
  has(errors, 5, 'kernel_release', /applies to kind driver-disk only \(this is a hotfix\)/);
  has(errors, 6, 'rolls_up', /applies to kind cumulative-update only/);
  has(errors, 7, 'requires[0]', /cannot require itself/);
  has(errors, 7, 'requires[1]', /X is both required and in conflicts/);
  has(errors, 8, 'conflicts[1]', /cannot conflict with itself/);
});

test('rolled_up_by needs uuid or version; with version the uuid is derived', () => {
  has(errorsOf(spec([...HOTFIX, 'rolled_up_by: { name_label: XS71ECU3 }'])), 6, 'rolled_up_by', /needs uuid, or version/);
  const s = parseUpdateSpec(spec([...HOTFIX, 'rolled_up_by: { name_label: XS71ECU3, version: "1.0" }']), { file: FILE }).spec!;
  assert.equal(s.rolledUpBy, { nameLabel: 'XS71ECU3', uuid: updateUuid('XS71ECU3', '1.0') });
});

test('driver disk: kernel_release required (or given as override); modules only under /lib/modules/<release>/updates/', () => {
  const head = ['kind: driver-disk', 'name_label: drv', 'version: "1"', 'description: d'];
  const mod = (to: string) => [...PKG.slice(0, 7), `        - { from: { text: "m" }, to: ${to} }`];
  has(errorsOf(spec(head, mod('/lib/modules/6.1.0-28-amd64/updates/x.ko'))), 1, 'kind', /a driver disk needs kernel_release/);
  const ok = parseUpdateSpec(spec(head, mod('/lib/modules/6.1.0-28-amd64/updates/x.ko')), { file: FILE, overrides: { kernelRelease: '6.1.0-28-amd64' } });
  assert.equal(ok.errors, []);
  // depmod scriptlets were added to the module package
  assert.match(ok.spec!.packages[0].scriptlets.post!, /depmod -a 6\.1\.0-28-amd64/);
  assert.match(ok.spec!.packages[0].scriptlets.postun!, /command -v depmod/);
  const wrongDir = errorsOf(spec([...head, 'kernel_release: 6.1.0-28-amd64'], mod('/lib/modules/6.1.0-28-amd64/kernel/x.ko')));
  has(wrongDir, 8, 'rpms.packages[0]', /modules go under \/lib\/modules\/6\.1\.0-28-amd64\/updates\//);
  const noModule = errorsOf(spec([...head, 'kernel_release: 6.1.0-28-amd64']));
  has(noModule, 6, 'rpms', /ships at least one kernel module/);
});

test('package models are checked like the recipe\'s: pattern words, and the control package name is reserved', () => {
  const badVersion = [...PKG];
  badVersion[1] = '      version: "1.0-2"';
  has(errorsOf(spec(HOTFIX, badVersion)), 9, 'rpms.packages[0].version', /must be an RPM version or release: .*no "-"/);
  const control = [...PKG];
  control[0] = '    - name: control-XS71ECU2001';
  has(errorsOf(spec(HOTFIX, control)), 8, 'rpms.packages[0].name', /control package, which the builder makes/);
  const twice = [...PKG, ...PKG];
  has(errorsOf(spec(HOTFIX, twice)), 16, 'rpms.packages[1].name', /xs-demo is in the payload twice/);
  // what rpmbuild would misread, found by the model's own checks
  const percent = [...PKG];
  percent[5] = '      description: "%files trick"';
  has(errorsOf(spec(HOTFIX, percent)), 8, 'rpms.packages[0]', /description line 1 starts with "%"/);
});

test('YAML syntax errors and an empty file', () => {
  has(errorsOf('kind: hotfix\nname_label: [unclosed\n'), 3, '', /YAML syntax error/);
  const empty = errorsOf('');
  assert.is(empty[0].message, 'the update spec is empty');
});

test('every shipped example is valid', () => {
  const dir = join(root, 'examples/updates');
  const files = readdirSync(dir).filter((f) => f.endsWith('.yaml'));
  assert.ok(files.length >= 6, `examples: ${files.join(', ')}`);
  const kinds = new Set<string>();
  for (const f of files) {
    const r = parseUpdateSpec(readFileSync(join(dir, f), 'utf8'), { file: join(dir, f) });
    assert.equal(r.errors, [], f);
    kinds.add(r.spec!.kind);
  }
  assert.equal([...kinds].sort(), ['cumulative-update', 'driver-disk', 'hotfix', 'supplemental-pack']);
});

test('overwrites: absolute paths without ".." carried into the spec; others refused at their line', () => {
  const PACKHEAD = ['kind: supplemental-pack', 'name_label: pack', 'version: "1"', 'description: A pack'];
  const ok = parseUpdateSpec(spec([...PACKHEAD, 'overwrites: [/usr/sbin/xsforge-update, /etc/x.conf]']), { file: FILE });
  assert.equal(ok.errors, []);
  assert.equal(ok.spec!.overwrites, ['/usr/sbin/xsforge-update', '/etc/x.conf']);
  assert.is(parseUpdateSpec(spec(PACKHEAD), { file: FILE }).spec!.overwrites, undefined);
  const errors = errorsOf(spec([...PACKHEAD, 'overwrites:', '  - /usr/sbin/ok', '  - usr/sbin/relative', '  - /usr/../etc/shadow']));
  has(errors, 7, 'overwrites[1]', /absolute file path/);
  has(errors, 8, 'overwrites[2]', /without "\." or "\.\." parts/);
  assert.is(errors.length, 2);
  has(errorsOf(spec([...PACKHEAD, 'overwrites: [/a, /a]'])), 5, 'overwrites[1]', /"\/a" is listed twice/);
});

test.run();

// `xsforge update build|validate` and `xsforge inspect` on update ISOs, run as
// processes (the command module through tests/lib/command-main.ts, as the lead
// has yet to list it in cli/commands/index.ts): exit codes, output, --json,
// flags that override the spec, and nothing written for a bad spec.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { run } from '../../core/exec.ts';
import { parseUpdateXml } from '../../updates/update-xml.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '../..');
const work = mkdtempSync(join(tmpdir(), 'xsf-update-cli-'));
const gnupg = join(work, 'gnupg');
let fingerprint = '';

function xsforge(module: 'update' | 'inspect', args: string[], env: Record<string, string> = {}): { code: number; out: string; err: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'tests/lib/command-main.ts', `cli/commands/${module}.ts`, ...args],
    { cwd: root, encoding: 'utf8', env: { ...process.env, SOURCE_DATE_EPOCH: '', ...env } });
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
}

test.before(async () => {
  mkdirSync(gnupg, { mode: 0o700 });
  await run(['gpg', '--batch', '--passphrase', '', '--quick-gen-key', 'xsforge update cli <cli@xsforge.invalid>', 'rsa2048', 'sign', 'never'], { env: { GNUPGHOME: gnupg } });
  fingerprint = /^fpr:+([0-9A-F]{40}):/m.exec((await run(['gpg', '--batch', '--with-colons', '--list-secret-keys'], { env: { GNUPGHOME: gnupg } })).stdout)![1];
});

test.after(async () => {
  await run(['gpgconf', '--kill', 'gpg-agent'], { env: { GNUPGHOME: gnupg } }).catch(() => undefined);
  rmSync(work, { recursive: true, force: true });
});

test('update build (signed) then inspect: update.xml fields, control dependencies, packages, signatures by the shipped key', () => {
  const out = join(work, 'signed');
  const b = xsforge('update', ['update', 'build', 'examples/updates/XS71ECU2001.yaml', '--out', out, '--sign-key', fingerprint, '--gnupg-home', gnupg]);
  assert.is(b.code, 0, b.err);
  assert.match(b.out, new RegExp(`^wrote ${out}/XS71ECU2001\\.iso \\(\\d+ bytes, sha256 [0-9a-f]{64}\\)$`, 'm'));
  assert.match(b.out, /^ {4}requires {2}product-version = 7\.1\.2, xsforge-update\(XS71ECU2\)$/m);
  assert.match(b.out, new RegExp(`signed by ${fingerprint.slice(-16)}`));
  const iso = join(out, 'XS71ECU2001.iso');

  const j = xsforge('inspect', ['inspect', '--json', '--no-files', iso]);
  assert.is(j.code, 0, j.err);
  const u = JSON.parse(j.out).update;
  assert.is(u.updateXml.nameLabel, 'XS71ECU2001');
  assert.equal(u.updateXmlProblems, []);
  assert.equal(u.control.requires, ['product-version = 7.1.2', 'xsforge-update(XS71ECU2)']);
  assert.equal(u.control.provides, ['control-XS71ECU2001 = 1.0-1', 'xsforge-update(XS71ECU2001) = 1.0']);
  assert.is(u.control.recordsApplied, true);
  assert.equal(u.packages.map((p: { name: string; signedBy: string }) => [p.name, p.signedBy]), [
    ['control-XS71ECU2001', fingerprint.slice(-16)], ['xsforge-hostinfo', fingerprint.slice(-16)],
  ]);
  assert.equal(u.signatures, {
    updateXml: fingerprint.slice(-16), repomd: fingerprint.slice(-16), packages: 'all',
    publicKeys: [{ file: 'RPM-GPG-KEY-XS-7', keyIds: [fingerprint.slice(-16)] }], signedByShippedKey: true,
  });

  const t = xsforge('inspect', ['inspect', '--no-files', iso]);
  assert.is(t.code, 0, t.err);
  assert.match(t.out, /^update: XS71ECU2001 1\.0 \(uuid [0-9a-f-]{36}\)$/m);
  assert.match(t.out, /^ {2}requires {3}product-version = 7\.1\.2, xsforge-update\(XS71ECU2\)$/m);
  assert.match(t.out, new RegExp(`^ {2}update\\.xml\\.asc {12}key ${fingerprint.slice(-16)}$`, 'm'));
  assert.match(t.out, /every signature is by a key shipped on the ISO/);
  assert.match(t.out, /^ {2}group update: xsforge-hostinfo, control-XS71ECU2001$/m);
});

test('inspect an unsigned update whose update.xml is broken: the problems are listed, not thrown', async () => {
  const out = join(work, 'unsigned');
  const b = xsforge('update', ['update', 'build', 'examples/updates/xsforge-snmp-agent.yaml', '--out', out, '--json']);
  assert.is(b.code, 0, b.err);
  const result = JSON.parse(b.out);
  assert.is(result.type, 'result');
  assert.is(result.signed, false);
  assert.equal(result.groups, [{ id: 'update', packages: ['xsforge-snmp-agent', 'control-xsforge-snmp-agent'] }]);
  // remaster the tree with an update.xml that lacks its uuid
  const tree = result.tree as string;
  writeFileSync(join(tree, 'update.xml'), readFileSync(join(tree, 'update.xml'), 'utf8').replace(/ uuid="[^"]+"/, ''));
  const broken = join(work, 'broken.iso');
  await run(['xorriso', '-as', 'mkisofs', '-quiet', '-o', broken, '-r', '-J', '-V', 'BROKEN', tree]);
  const t = xsforge('inspect', ['inspect', '--no-files', broken]);
  assert.is(t.code, 0, t.err);
  assert.match(t.out, /^update: update\.xml is INVALID\n {2}problem: missing required attribute uuid$/m);
  assert.match(t.out, /^ {2}update\.xml\.asc {12}absent$/m);
  assert.match(t.out, /^ {2}packages {18}none signed$/m);
});

test('flags override the spec: --kernel-release for a driver disk, SOURCE_DATE_EPOCH from the environment', () => {
  const out = join(work, 'flags');
  const b = xsforge('update', ['update', 'build', 'examples/updates/xsforge-demo-nic-driver.yaml', '--out', out, '--kernel-release', '6.1.0-50-amd64', '--json'], { SOURCE_DATE_EPOCH: '1700000000' });
  // the spec's package still installs under 6.1.0-56-amd64, which the new release refuses
  assert.is(b.code, 1);
  assert.match(b.err, /xsforge-demo-nic-driver\.yaml:\d+:\d+: rpms\.packages\[0\]: \/lib\/modules\/6\.1\.0-56-amd64\/updates\/xsf_demo_nic\.ko: a driver disk's modules go under \/lib\/modules\/6\.1\.0-50-amd64\/updates\//);
  assert.not.ok(existsSync(out), 'a refused spec writes nothing');
  const spec = join(work, 'drv.yaml');
  writeFileSync(spec, readFileSync(join(root, 'examples/updates/xsforge-demo-nic-driver.yaml'), 'utf8').replace(/6\.1\.0-56-amd64/g, '6.1.0-50-amd64'));
  const ok = xsforge('update', ['update', 'build', spec, '--out', out, '--json', '--kernel-release', '6.1.0-50-amd64'], { SOURCE_DATE_EPOCH: '1700000000' });
  assert.is(ok.code, 0, ok.err);
  const r = JSON.parse(ok.out);
  assert.equal(r.control.requires, ['kernel-uname-r = 6.1.0_50_amd64']);
  assert.is(r.sourceDateEpoch, 1700000000);
  assert.equal(r.groups.map((g: { id: string }) => g.id), ['update', 'drivers']);
  assert.is(parseUpdateXml(readFileSync(join(out, 'xsforge-demo-nic-driver', 'update.xml'), 'utf8')).afterApplyGuidance.join(), 'restartHost');
});

test('a bad spec: exit 1, every problem as file:line:col, nothing written', () => {
  const spec = join(work, 'bad.yaml');
  writeFileSync(spec, [
    'kind: hotfix',
    'name_label: XS71ECU2099',
    'version: "1.0"',
    'description: ""',
    'after_apply_guidance: [restartHost, reboot]',
    'rpms:',
    '  files: [rpms/nowhere-1.0-1.noarch.rpm]',
    '',
  ].join('\n'));
  const out = join(work, 'bad-out');
  const b = xsforge('update', ['update', 'build', spec, '--out', out]);
  assert.is(b.code, 1);
  assert.match(b.err, /bad\.yaml:4:14: description: must not be empty/);
  assert.match(b.err, /bad\.yaml:5:37: after_apply_guidance\[1\]: must be one of restartHVM, restartPV, restartHost, restartXAPI \(got "reboot"\)/);
  assert.not.ok(existsSync(out));
  // once the schema is satisfied, the missing file is named
  writeFileSync(spec, readFileSync(spec, 'utf8').replace('description: ""', 'description: x').replace(', reboot', ''));
  const v = xsforge('update', ['update', 'validate', spec, '--json']);
  assert.is(v.code, 1);
  const j = JSON.parse(v.out);
  assert.is(j.valid, false);
  assert.equal(j.errors.map((e: { line: number; path: string }) => [e.line, e.path]), [[7, 'rpms.files[0]']]);
  assert.match(j.errors[0].message, /^unknown RPM: no file /);
});

test('update validate on the examples', () => {
  const v = xsforge('update', ['update', 'validate', 'examples/updates/XS71ECU3.yaml']);
  assert.is(v.code, 0, v.err);
  assert.match(v.out, /^examples\/updates\/XS71ECU3\.yaml: valid \(cumulative-update XS71ECU3 1\.0, uuid [0-9a-f-]{36}, 2 packages\)$/m);
});

test.run();

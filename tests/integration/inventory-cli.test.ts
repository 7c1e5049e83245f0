// `xsforge inventory validate|answers|schema` run as a process on the example and on
// broken inventories: exit codes, the JSON shape, and that nothing is written on error.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAnswerFile } from '../../answerfiles/parse.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '../..');
const EXAMPLE = 'examples/hosts.yaml';
const MACS = ['52:54:00:12:34:01', '52:54:00:12:34:02', '52:54:00:12:34:03'];

// cli/main.ts's main() with only this command registered (the lead wires it into
// cli/commands/index.ts); errors go through main's own reportError.
const HARNESS = `
import { Command } from '@commander-js/extra-typings';
const { register } = await import('./cli/commands/inventory.ts');
const { reportError } = await import('./cli/main.ts');
const program = new Command('xsforge');
register(program);
try { await program.parseAsync(process.argv.slice(1), { from: 'user' }); } catch (err) { process.exitCode = reportError(err); }
`;

function xsforge(...args: string[]): { code: number; out: string; err: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', HARNESS, 'inventory', ...args], { cwd: root, encoding: 'utf8' });
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
}

let dir = '';
test.before.each(() => { dir = mkdtempSync(join(tmpdir(), 'xsforge-inventory-cli-')); });
test.after.each(() => { rmSync(dir, { recursive: true, force: true }); });

const BAD = [
  'hosts:',
  '  - mac: 52:54:00:00:00:01',
  '    hostname: h1',
  '    primary_disk: sda',
  '  - mac: 52:54:00:00:00:01',
  '    hostname: h_2',
  '    primary_disk: sda',
  '    root_password: { plaintext: Never-Print-Me }',
  '',
].join('\n');

test('validate: the example is valid, exit 0', () => {
  const r = xsforge('validate', EXAMPLE);
  assert.is(r.code, 0, r.err);
  assert.is(r.out, 'examples/hosts.yaml: valid (3 hosts)\n');
});

test('validate --json: {file, valid, hosts, errors, warnings}', () => {
  const ok = xsforge('validate', EXAMPLE, '--json');
  assert.is(ok.code, 0);
  assert.equal(JSON.parse(ok.out), { file: 'examples/hosts.yaml', valid: true, hosts: 3, errors: [], warnings: [] });

  const file = join(dir, 'bad.yaml');
  writeFileSync(file, BAD);
  const bad = xsforge('validate', file, '--json');
  assert.is(bad.code, 1);
  const j = JSON.parse(bad.out);
  assert.equal(Object.keys(j), ['file', 'valid', 'hosts', 'errors', 'warnings']);
  assert.is(j.valid, false);
  assert.is(j.hosts, 2);
  assert.equal(j.errors.map((e: { line: number; column: number; path: string }) => `${e.line}:${e.column} ${e.path}`), ['5:10 hosts[1].mac', '6:15 hosts[1].hostname']);
  assert.equal(Object.keys(j.errors[0]), ['file', 'line', 'column', 'path', 'message']);
  assert.is(j.errors[0].message, `MAC 52:54:00:00:00:01 is also used by hosts[0] (h1) at ${file}:2:10`);
  assert.not.ok(bad.out.includes('Never-Print-Me'));
});

test('validate: errors as file:line:col: path: message, exit 1; a missing file too', () => {
  const file = join(dir, 'bad.yaml');
  writeFileSync(file, BAD);
  const r = xsforge('validate', file);
  assert.is(r.code, 1);
  const lines = r.out.trimEnd().split('\n');
  assert.is(lines.length, 2);
  assert.is(lines[0], `${file}:5:10: hosts[1].mac: MAC 52:54:00:00:00:01 is also used by hosts[0] (h1) at ${file}:2:10`);
  assert.ok(lines[1]!.startsWith(`${file}:6:15: hosts[1].hostname: 'h_2' is not a valid host name`), lines[1]);
  const missing = xsforge('validate', join(dir, 'nope.yaml'));
  assert.is(missing.code, 1);
  assert.ok(missing.out.includes('inventory file not found'), missing.out);
});

test('validate: a CSV inventory', () => {
  const file = join(dir, 'rack.csv');
  writeFileSync(file, 'mac,hostname,primary_disk,management.mode,management.ip,management.netmask,management.gateway\n00:16:3e:00:00:01,r1,sda,static,10.0.0.11,255.255.255.0,10.0.0.1\n00:16:3e:00:00:02,r2,sda,,,,\n');
  const r = xsforge('validate', file, '--json');
  assert.is(r.code, 0, r.out);
  assert.is(JSON.parse(r.out).hosts, 2);
});

test('answers: one <mac>.xml per host, each valid, atomically in place', () => {
  const out = join(dir, 'answers');
  const r = xsforge('answers', EXAMPLE, '--out', out, '--repo-url', 'http://192.0.2.5/xenserver/');
  assert.is(r.code, 0, r.err);
  assert.is(r.out, `wrote 3 answer files to ${out}\n`);
  assert.equal(readdirSync(out).sort(), MACS.map((m) => `${m}.xml`));
  for (const m of MACS) {
    const text = readFileSync(join(out, `${m}.xml`), 'utf8');
    assert.equal(parseAnswerFile(text).errors, [], m);
    assert.ok(text.includes('<source type="url">http://192.0.2.5/xenserver/</source>'), text);
    assert.is(statSync(join(out, `${m}.xml`)).mode & 0o777, 0o644);
  }
  assert.is(statSync(out).mode & 0o777, 0o755);
  assert.equal(readdirSync(dir), ['answers']); // no temporary directory left behind

  // A second run replaces the earlier output as a whole (a host removed loses its file).
  writeFileSync(join(out, '52:54:00:99:99:99.xml'), '<installation/>');
  assert.is(xsforge('answers', EXAMPLE, '--out', out).code, 0);
  assert.equal(readdirSync(out).sort(), MACS.map((m) => `${m}.xml`));
  assert.ok(readFileSync(join(out, `${MACS[0]}.xml`), 'utf8').includes('<source type="local"/>'));
  assert.equal(readdirSync(dir), ['answers']);
});

test('answers: an invalid inventory writes nothing and exits 1 with every error', () => {
  const file = join(dir, 'bad.yaml');
  writeFileSync(file, BAD);
  const out = join(dir, 'answers');
  const r = xsforge('answers', file, '--out', out);
  assert.is(r.code, 1);
  assert.ok(r.err.startsWith(`xsforge: error: ${file}:5:10: hosts[1].mac: MAC 52:54:00:00:00:01 is also used by`), r.err);
  assert.ok(r.err.includes(`${file}:6:15: hosts[1].hostname:`), r.err);
  assert.not.ok(r.err.includes('Never-Print-Me'));
  assert.not.ok(existsSync(out));
  assert.equal(readdirSync(dir), ['bad.yaml']);

  // an earlier output stays as it was
  mkdirSync(out);
  writeFileSync(join(out, 'old.xml'), 'old');
  assert.is(xsforge('answers', file, '--out', out).code, 1);
  assert.equal(readdirSync(out), ['old.xml']);
  assert.is(readFileSync(join(out, 'old.xml'), 'utf8'), 'old');
});

test('answers: a bad --repo-url, or a directory holding other files, writes nothing', () => {
  const out = join(dir, 'answers');
  const badUrl = xsforge('answers', EXAMPLE, '--out', out, '--repo-url', 'mirror/xs');
  assert.is(badUrl.code, 1);
  assert.ok(badUrl.err.includes("'mirror/xs' is not a repository location the installer can use"), badUrl.err);
  assert.not.ok(existsSync(out));

  mkdirSync(out);
  writeFileSync(join(out, 'pxelinux.0'), 'x');
  const foreign = xsforge('answers', EXAMPLE, '--out', out);
  assert.is(foreign.code, 1);
  assert.ok(foreign.err.includes('holds files that are not answer files (pxelinux.0)'), foreign.err);
  assert.equal(readdirSync(out), ['pxelinux.0']);
  assert.equal(readdirSync(dir), ['answers']);
});

test('answers: plaintext passwords are hashed; a kept one is written 0600', () => {
  const file = join(dir, 'pw.yaml');
  writeFileSync(file, [
    'defaults: { primary_disk: sda }',
    'hosts:',
    '  - { mac: 52:54:00:00:00:01, hostname: h1, root_password: { plaintext: Hash-Me-Please } }',
    '  - { mac: 52:54:00:00:00:02, hostname: h2, root_password: { plaintext: Keep-Me-Please, keep_plaintext: true } }',
  ].join('\n'));
  const out = join(dir, 'answers');
  const r = xsforge('answers', file, '--out', out);
  assert.is(r.code, 0, r.err);
  const h1 = readFileSync(join(out, '52:54:00:00:00:01.xml'), 'utf8');
  assert.match(h1, /<root-password type="hash">\$6\$[./0-9A-Za-z]{16}\$[./0-9A-Za-z]{86}<\/root-password>/);
  assert.not.ok(h1.includes('Hash-Me-Please'));
  assert.not.ok(r.out.includes('Hash-Me-Please') || r.err.includes('Hash-Me-Please'));
  assert.ok(readFileSync(join(out, '52:54:00:00:00:02.xml'), 'utf8').includes('<root-password type="plaintext">Keep-Me-Please</root-password>'));
  assert.is(statSync(join(out, '52:54:00:00:00:02.xml')).mode & 0o777, 0o600);
  assert.is(statSync(join(out, '52:54:00:00:00:01.xml')).mode & 0o777, 0o644);
});

test('schema: prints the JSON Schema', () => {
  const r = xsforge('schema');
  assert.is(r.code, 0);
  const s = JSON.parse(r.out);
  assert.is(s.title, 'xsforge host inventory');
  assert.ok(s.properties.hosts.items.properties.root_password.properties.keep_plaintext.description.length > 0);
});

test.run();

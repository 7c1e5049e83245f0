// `xsforge answerfile validate|new`: run through commander with captured output.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from '@commander-js/extra-typings';
import { register, parseRepoSpec, parseScriptSpec } from '../../cli/commands/answerfile.ts';
import { parseAnswerFile } from '../../answerfiles/parse.ts';
import type { FreshInstallConfig, UpgradeConfig } from '../../answerfiles/model.ts';
import { XsforgeError } from '../../core/errors.ts';

let dir = '';
test.before.each(() => { dir = mkdtempSync(join(tmpdir(), 'xsforge-answerfile-')); });
test.after.each(() => { rmSync(dir, { recursive: true, force: true }); process.exitCode = undefined; });

/** Runs `xsforge answerfile ...`; returns stdout, stderr and the exit code it set. */
async function cli(...args: string[]): Promise<{ out: string; err: string; code: number }> {
  const program = new Command('xsforge').exitOverride();
  register(program);
  let out = '';
  let err = '';
  const write = { out: process.stdout.write, err: process.stderr.write };
  process.stdout.write = ((c: string) => { out += c; return true; }) as typeof process.stdout.write;
  process.stderr.write = ((c: string) => { err += c; return true; }) as typeof process.stderr.write;
  process.exitCode = undefined;
  try {
    await program.parseAsync(['answerfile', ...args], { from: 'user' });
  } finally {
    process.stdout.write = write.out;
    process.stderr.write = write.err;
  }
  const code = typeof process.exitCode === 'number' ? process.exitCode : 0;
  process.exitCode = undefined;
  return { out, err, code };
}

const GOOD = '<installation><primary-disk>sda</primary-disk><source type="local"/><admin-interface name="eth0" proto="dhcp"/></installation>\n';
const BAD = '<?xml version="1.0"?>\n<installation>\n<source type="cd"/>\n<admin-interface name="eth0" proto="dhcp"/>\n</installation>\n';

test('validate: all valid exits 0', async () => {
  writeFileSync(join(dir, 'a.xml'), GOOD);
  const r = await cli('validate', join(dir, 'a.xml'));
  assert.is(r.code, 0);
  assert.is(r.out, `${join(dir, 'a.xml')}: valid\n`);
});

test('validate: one bad file exits 1 and names file, line and message', async () => {
  writeFileSync(join(dir, 'a.xml'), GOOD);
  writeFileSync(join(dir, 'b.xml'), BAD);
  const r = await cli('validate', join(dir, 'a.xml'), join(dir, 'b.xml'));
  assert.is(r.code, 1);
  assert.ok(r.out.includes(`${join(dir, 'b.xml')}:2:1: error: Missing mandatory element primary-disk\n`), r.out);
  assert.ok(r.out.includes(`${join(dir, 'b.xml')}:3:1: error: Invalid type for <source> media specified.\n`), r.out);
});

test('validate --json: one object per file with valid and errors[{message, line}]', async () => {
  writeFileSync(join(dir, 'a.xml'), GOOD);
  writeFileSync(join(dir, 'b.xml'), BAD);
  writeFileSync(join(dir, 'c.xml'), '<installation>\n<oops></installation>');
  const r = await cli('validate', '--json', join(dir, 'a.xml'), join(dir, 'b.xml'), join(dir, 'c.xml'), join(dir, 'missing.xml'));
  assert.is(r.code, 1);
  const json = JSON.parse(r.out) as { file: string; valid: boolean; errors: { message: string; line?: number }[] }[];
  assert.equal(json.map((j) => [j.file, j.valid]), [[join(dir, 'a.xml'), true], [join(dir, 'b.xml'), false], [join(dir, 'c.xml'), false], [join(dir, 'missing.xml'), false]]);
  assert.equal(json[1]!.errors.map((e) => [e.message, e.line]), [['Missing mandatory element primary-disk', 2], ['Invalid type for <source> media specified.', 3]]);
  assert.is(json[2]!.errors[0]!.message, 'Answerfile is incorrectly formatted.');
  assert.is(json[2]!.errors[0]!.line, 2);
  assert.ok(json[3]!.errors[0]!.message.startsWith('cannot read'));
});

test('new: defaults give a fresh DHCP install from the local medium on sda', async () => {
  const r = await cli('new');
  assert.is(r.code, 0);
  const p = parseAnswerFile(r.out);
  assert.equal(p.errors, []);
  const c = p.config as FreshInstallConfig;
  assert.is(c.primaryDisk, '/dev/sda');
  assert.equal(c.sources, [{ type: 'local', address: '' }]);
  assert.equal(c.adminInterface, { name: 'eth0', proto: 'dhcp', protov6: 'none' });
  assert.is(c.rootPassword, undefined);
  assert.ok(r.err.includes('no root password'), r.err);
});

test('new -o: static interface, DNS, NTP, ext SR, guest disks, scripts, hashed password', async () => {
  const out = join(dir, 'host.xml');
  const r = await cli('new', '--static', '--ip', '10.0.0.5', '--netmask', '255.255.255.0', '--gateway', '10.0.0.1',
    '--dns', '10.0.0.1', '--dns', '8.8.8.8', '--hostname', 'xs1.example.com', '--ntp', 'pool.ntp.org', '--timezone', 'Europe/London',
    '--keymap', 'de', '--network-backend', 'bridge', '--source', 'url:http://10.0.0.1/xs/', '--source', 'nfs:nfs1:/packs',
    '--script', 'installation-start:http://10.0.0.1/s.sh', '--script', 'filesystem-populated:nfs://srv:/fs.sh',
    '--primary-disk', 'nvme0n1', '--guest-disk', 'sdb', '--guest-disk', 'sdc', '--sr-type', 'ext', '--no-guest-storage',
    '--root-password-hash', '$6$abc$def', '--service', 'sshd=enabled', '--no-boot-entry', '-o', out);
  assert.is(r.code, 0, r.err);
  assert.is(r.out, '');
  assert.is(statSync(out).mode & 0o777, 0o600, 'a file with a password is private');
  const c = parseAnswerFile(readFileSync(out, 'utf8')).config as FreshInstallConfig;
  assert.equal(c, {
    kind: 'install', mode: 'fresh', primaryDisk: '/dev/nvme0n1', guestStorage: false, srAtEnd: true, preserveFirstPartition: 'if-utility',
    guestDisks: ['/dev/sdb', '/dev/sdc'], srType: 'ext', initialPartitions: [],
    adminInterface: { name: 'eth0', proto: 'static', ipv4: { address: '10.0.0.5', netmask: '255.255.255.0', gateway: '10.0.0.1' }, protov6: 'none' },
    rootPassword: { type: 'hash', value: '$6$abc$def' }, nameServers: ['10.0.0.1', '8.8.8.8'], hostname: 'xs1.example.com',
    timezone: 'Europe/London', ntpServers: ['pool.ntp.org'], keymap: 'de', services: { sshd: 'enabled' },
    sources: [{ type: 'url', address: 'http://10.0.0.1/xs/' }, { type: 'nfs', address: 'nfs1:/packs' }], networkBackend: 'bridge',
    bootloader: { location: 'mbr', writeBootEntry: false },
    driverSources: [], fcoeInterfaces: [], uiConfirmationPrompt: false,
    scripts: [{ stage: 'installation-start', type: 'url', url: 'http://10.0.0.1/s.sh' }, { stage: 'filesystem-populated', type: 'nfs', url: 'nfs://srv:/fs.sh' }],
  });
});

test('new: --root-password-file reads the first line as plaintext; --root-password warns', async () => {
  writeFileSync(join(dir, 'pw'), 'S3cret <&> pw\n');
  const a = await cli('new', '--root-password-file', join(dir, 'pw'), '--hwaddr', '52:54:00:aa:bb:cc');
  const ca = parseAnswerFile(a.out).config as FreshInstallConfig;
  assert.equal(ca.rootPassword, { type: 'plaintext', value: 'S3cret <&> pw' });
  assert.equal(ca.adminInterface, { hwaddr: '52:54:00:aa:bb:cc', proto: 'dhcp', protov6: 'none' });
  const b = await cli('new', '--root-password', 'pw1');
  assert.equal((parseAnswerFile(b.out).config as FreshInstallConfig).rootPassword, { type: 'plaintext', value: 'pw1' });
  assert.ok(b.err.includes('--root-password is visible'), b.err);
});

test('new --mode upgrade and --mode restore', async () => {
  const u = await cli('new', '--mode', 'upgrade', '--existing-installation', 'sdb', '--source', 'http://h/xs/');
  assert.equal(parseAnswerFile(u.out).config, {
    kind: 'install', mode: 'upgrade', existingInstallation: '/dev/sdb', sources: [{ type: 'url', address: 'http://h/xs/' }],
    bootloader: { location: 'mbr', writeBootEntry: true }, driverSources: [], scripts: [], fcoeInterfaces: [], uiConfirmationPrompt: false,
  } satisfies UpgradeConfig);
  const r = await cli('new', '--mode', 'restore', '--backup-disk', 'sda');
  assert.equal(parseAnswerFile(r.out).config, { kind: 'restore', backupDisk: '/dev/sda', driverSources: [], scripts: [], fcoeInterfaces: [], uiConfirmationPrompt: false });
});

test('new: bad flag combinations are refused with a message', async () => {
  const cases: [string[], RegExp][] = [
    [['--static', '--ip', '10.0.0.5'], /needs --ip, --netmask and --gateway/],
    [['--dhcp', '--ip', '10.0.0.5'], /--dhcp conflicts/],
    [['--interface', 'eth1', '--hwaddr', '52:54:00:aa:bb:cc'], /either --interface or --hwaddr/],
    [['--root-password-hash', 'x', '--root-password', 'y'], /only one of/],
    [['--source', 'cdrom'], /bad repository 'cdrom'/],
    [['--script', 'post-boot:http://h/x'], /bad script/],
    [['--script', 'installation-start:/tmp/x.sh'], /bad script location/],
    [['--service', 'sshd=on'], /bad service/],
    [['--hostname', ' spaced'], /white space/],
  ];
  for (const [args, re] of cases) {
    let caught: unknown;
    try { await cli('new', ...args); } catch (e) { caught = e; }
    assert.ok(caught instanceof XsforgeError, `${args.join(' ')} should fail`);
    assert.match((caught as Error).message, re);
  }
});

test('repository and script specs', () => {
  assert.equal(parseRepoSpec('local'), { type: 'local', address: '' });
  assert.equal(parseRepoSpec('url:http://h/x/'), { type: 'url', address: 'http://h/x/' });
  assert.equal(parseRepoSpec('https://h/x/'), { type: 'url', address: 'https://h/x/' });
  assert.equal(parseRepoSpec('nfs:srv:/x'), { type: 'nfs', address: 'srv:/x' });
  assert.equal(parseRepoSpec('nfs://srv:/x'), { type: 'nfs', address: 'srv:/x' });
  assert.equal(parseRepoSpec('url:nfs://srv:/x'), { type: 'nfs', address: 'srv:/x' });
  assert.equal(parseScriptSpec('installation-complete:ftp://h/x'), { stage: 'installation-complete', type: 'url', url: 'ftp://h/x' });
  assert.equal(parseScriptSpec('filesystem-populated:nfs:srv:/x'), { stage: 'filesystem-populated', type: 'nfs', url: 'nfs://srv:/x' });
  assert.throws(() => parseScriptSpec('http://h/x'), /bad script/);
});

test.run();

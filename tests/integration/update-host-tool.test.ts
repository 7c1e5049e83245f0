// The host-side update tool (host-tools/xsforge-update, POSIX sh) on real
// tools: a scratch root with an rpm database holding the base release, update
// media signed with a throwaway key (rpmbuild + createrepo_c + gpg, as the
// update builder makes them), and the tool run with `sh` and --root, so no
// host is booted. Checks upload/precheck/apply/list, the error codes the
// precheck maps rpm's dry run to, and the signature chain refusing tampering.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash } from 'node:crypto';
import { gunzipSync, gzipSync } from 'node:zlib';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ToolError } from '../../core/errors.ts';
import { run } from '../../core/exec.ts';
import { findOnPath } from '../../core/tools.ts';
import { buildRpm } from '../../packages/rpmbuild.ts';
import type { RpmSpecInput } from '../../packages/model.ts';
import { renderComps } from '../../repo/comps.ts';
import { openGpgSigner, type Signer } from '../../repo/signer.ts';
import { assembleRepository } from '../../repo/stage.ts';

const SCRIPT = join(dirname(dirname(dirname(fileURLToPath(import.meta.url)))), 'host-tools', 'xsforge-update');
const EPOCH = 1_533_081_600;
const KEY_NAME = 'xsforge-test';
const DBPATH = '/var/lib/rpm';
const work = mkdtempSync(join(tmpdir(), 'xsf-updtool-'));
const gnupg = join(work, 'gnupg');
// the tool's temporary files go here, so the tests can see it cleans up
const toolTmp = join(work, 'tool-tmp');
let signer: Signer;
let otherSigner: Signer;
let publicKey = '';
let baseRpms: string[] = [];
const media: Record<string, string> = {};

interface Pkg { name: string; version: string; release?: string; provides?: string[]; requires?: string[] }
interface UpdateFixture {
  name: string;
  version: string;
  description: string;
  requires: string[];
  conflicts?: string[];
  payload: Pkg[];
  guidance?: string;
  installationSize?: string;
  /** false: the packages stay unsigned (repomd.xml and update.xml are still signed) */
  signRpms?: boolean;
  /** list the control package in the comps group as well */
  controlInGroup?: boolean;
  /** false: a control package that breaks the contract by not installing /var/update/applied/<uuid> */
  controlRecords?: boolean;
  /** cumulative updates: hotfixes the control package provides (as xsforge update rollup writes them) */
  rollsUp?: { name: string; version: string }[];
}

function uuidOf(name: string): string {
  const h = createHash('sha256').update(`xsforge-update-test:${name}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function updateXml(u: UpdateFixture, over: { key?: string; size?: string } = {}): string {
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<update name-label="${u.name}" uuid="${uuidOf(u.name)}" version="${u.version}" key="${over.key ?? KEY_NAME}"`,
    `        installation-size="${over.size ?? u.installationSize ?? '65536'}" after-apply-guidance="${u.guidance ?? 'restartHost,restartXAPI'}"`,
    `        enforce-homogeneity="false" control="control-${u.name}">`,
    `  <name-description>${esc(u.description)}</name-description>`,
    '</update>',
    '',
  ].join('\n');
}

function rpmModel(p: Pkg & { files?: RpmSpecInput['files']; conflicts?: string[]; summary?: string }): RpmSpecInput {
  return {
    name: p.name, version: p.version, release: p.release ?? '1', summary: p.summary ?? `test package ${p.name}`,
    license: 'MIT', arch: 'noarch', description: `Test package ${p.name} ${p.version}.`,
    provides: p.provides ?? [], requires: p.requires ?? [], conflicts: p.conflicts ?? [], obsoletes: [],
    files: p.files ?? [{ from: { text: `${p.name} ${p.version}\n` }, to: `/usr/share/xsforge-test/${p.name}`, mode: 0o644 }],
    dirs: [], scriptlets: {},
  };
}

/** A signed update medium (directory) laid out as the CONTRACT says. */
async function makeUpdate(u: UpdateFixture): Promise<string> {
  const dir = join(work, 'media', u.name);
  const scratch = join(work, 'scratch', u.name);
  mkdirSync(scratch, { recursive: true });
  const xml = updateXml(u);
  const control = rpmModel({
    name: `control-${u.name}`, version: u.version, summary: `control package of update ${u.name}`,
    provides: [`xsforge-update(${u.name}) = ${u.version}`, ...(u.rollsUp ?? []).map((h) => `xsforge-update(${h.name}) = ${h.version}`)],
    requires: u.requires, conflicts: u.conflicts,
    files: u.controlRecords === false ? [] : [{ from: { text: xml }, to: `/var/update/applied/${uuidOf(u.name)}`, mode: 0o644 }],
  });
  const built = await Promise.all([...u.payload.map(rpmModel), control].map((m) =>
    buildRpm(m, { outDir: join(scratch, 'rpms'), workDir: join(scratch, `w-${m.name}`), sourceDateEpoch: EPOCH })));
  const groupNames = [...u.payload.map((p) => p.name), ...(u.controlInGroup ? [control.name] : [])];
  await assembleRepository({
    out: dir, work: join(scratch, 'repo'), rpms: built.map((b) => b.file),
    compsXml: renderComps([{
      id: 'update', name: `${u.name} update`, description: u.description, default: true, uservisible: false,
      packages: groupNames.map((name) => ({ name, type: 'mandatory' as const })),
    }]),
    signer: u.signRpms === false ? undefined : signer,
    sourceDateEpoch: EPOCH, run, log: () => {},
    requiredPackages: groupNames.map((name) => ({ group: 'update', name })),
  });
  if (u.signRpms === false) await signer.detachSign(join(dir, 'repodata/repomd.xml'), join(dir, 'repodata/repomd.xml.asc'));
  writeFileSync(join(dir, 'update.xml'), xml);
  await signer.detachSign(join(dir, 'update.xml'), join(dir, 'update.xml.asc'));
  return dir;
}

/** A copy of a medium whose update.xml is rewritten and signed again (by `by`). */
async function variant(of: string, name: string, xml: string, by: Signer = signer): Promise<string> {
  const dir = join(work, 'media', name);
  cpSync(media[of], dir, { recursive: true });
  writeFileSync(join(dir, 'update.xml'), xml);
  await by.detachSign(join(dir, 'update.xml'), join(dir, 'update.xml.asc'));
  return dir;
}

const rpmIn = (root: string, ...args: string[]) => run(['rpm', '--root', root, '--dbpath', DBPATH, ...args]);

/** A scratch dom0 root: rpm database with the base release, and the installed public key. */
async function makeRoot(): Promise<string> {
  const root = mkdtempSync(join(work, 'root-'));
  await rpmIn(root, '--initdb');
  await rpmIn(root, '-U', '--force-debian', '--nosignature', ...baseRpms);
  mkdirSync(join(root, 'etc/pki/rpm-gpg'), { recursive: true });
  writeFileSync(join(root, 'etc/pki/rpm-gpg', `RPM-GPG-KEY-${KEY_NAME}`), publicKey);
  return root;
}

async function installed(root: string, ...names: string[]): Promise<string[]> {
  const out = await rpmIn(root, '-q', '--qf', '%{NAME}-%{VERSION}-%{RELEASE}\\n', ...names).catch((e: ToolError) => ({ stdout: e.outputTail }));
  return out.stdout.trim().split('\n');
}

interface ToolResult { code: number; out: string }

/** Runs the script with sh; a non-zero exit is a result, not a throw. */
async function tool(root: string, ...args: string[]): Promise<ToolResult> {
  try {
    const r = await run(['sh', SCRIPT, '--root', root, ...args], { env: { TMPDIR: toolTmp } });
    return { code: 0, out: r.stdout };
  } catch (e) {
    if (e instanceof ToolError && e.exitCode !== null) return { code: e.exitCode, out: e.outputTail };
    throw e;
  }
}

function expectError(r: ToolResult, code: string, exit: number, message?: RegExp): void {
  assert.is(r.code, exit, `expected ${code} (exit ${exit}), got exit ${r.code}:\n${r.out}`);
  assert.match(r.out, new RegExp(`^${code}: `, 'm'), r.out);
  if (message) assert.match(r.out, message, r.out);
}

const CU1: UpdateFixture = {
  name: 'XS71ECU1', version: '1.0', description: 'Cumulative update 1: xs-tools & xs-agent <"new">',
  requires: ['product-version = 7.1.2'], controlInGroup: true,
  payload: [{ name: 'xs-tools', version: '1.1' }, { name: 'xs-agent', version: '1.0' }],
};
const CU2: UpdateFixture = {
  name: 'XS71ECU2', version: '2.0', description: 'Cumulative update 2', guidance: 'restartHost',
  requires: ['xsforge-update(XS71ECU1)', 'product-version = 7.1.2'],
  // xs-agent 1.0 came with CU1: skipped, not reinstalled
  payload: [{ name: 'xs-tools', version: '1.2' }, { name: 'xs-agent', version: '1.0' }],
};
const HOTFIX: UpdateFixture = {
  name: 'XS71ECU2001', version: '1.0', description: 'Hotfix 1 on CU2', guidance: 'restartXAPI',
  requires: ['xsforge-update(XS71ECU2)', 'product-version = 7.1.2'],
  payload: [{ name: 'xs-agent', version: '1.0.1' }],
};
const CU3: UpdateFixture = {
  name: 'XS71ECU3', version: '3.0', description: 'Cumulative update 3, rolling up XS71ECU2001', guidance: 'restartHost',
  requires: ['xsforge-update(XS71ECU2)', 'product-version = 7.1.2'], rollsUp: [{ name: 'XS71ECU2001', version: '1.0' }],
  payload: [{ name: 'xs-agent', version: '1.0.1' }, { name: 'xs-tools', version: '1.3' }],
};
const FUTURE: UpdateFixture = {
  name: 'XS99PACK', version: '1.0', description: 'A pack for a later release',
  requires: ['product-version = 9.9.9'], payload: [{ name: 'xs-future', version: '1.0' }],
};
const OLD_DRIVER: UpdateFixture = {
  name: 'xs-nic-driver-old', version: '1.0', description: 'Driver disk for another kernel', guidance: 'restartHost',
  requires: ['kernel-uname-r = 6.1.0_99_amd64'], payload: [{ name: 'xs-nic-module', version: '1.0' }],
};
const DRIVER: UpdateFixture = {
  name: 'xs-nic-driver', version: '1.0', description: 'Driver disk for the dom0 kernel', guidance: 'restartHost',
  requires: ['kernel-uname-r = 6.1.0_50_amd64'], payload: [{ name: 'xs-nic-module', version: '1.0' }],
};
const SNMP: UpdateFixture = {
  name: 'snmp-pack', version: '1.0', description: 'Supplemental pack that cannot live with CU1', guidance: '',
  requires: ['platform-version = 2.2.0'], conflicts: ['xsforge-update(XS71ECU1)'], payload: [{ name: 'xs-snmp', version: '1.0' }],
};
const NO_RECORD: UpdateFixture = {
  name: 'XS71ENORECORD', version: '1.0', description: 'Control package without the applied record', controlRecords: false,
  requires: ['product-version = 7.1.2'], payload: [{ name: 'xs-norecord', version: '1.0' }],
};
const UNSIGNED_RPMS: UpdateFixture = {
  name: 'XS71EUNSIGNED', version: '1.0', description: 'Packages without RPM signatures', signRpms: false,
  requires: ['product-version = 7.1.2'], payload: [{ name: 'xs-unsigned', version: '1.0' }],
};

test.before(async () => {
  mkdirSync(gnupg, { mode: 0o700 });
  mkdirSync(toolTmp);
  const env = { GNUPGHOME: gnupg };
  await run(['gpg', '--batch', '--passphrase', '', '--quick-gen-key', 'xsforge update test <update@xsforge.invalid>', 'rsa2048', 'sign', 'never'], { env });
  await run(['gpg', '--batch', '--passphrase', '', '--quick-gen-key', 'someone else <other@xsforge.invalid>', 'rsa2048', 'sign', 'never'], { env });
  signer = await openGpgSigner({ key: 'update@xsforge.invalid', gnupgHome: gnupg, sourceDateEpoch: EPOCH });
  otherSigner = await openGpgSigner({ key: 'other@xsforge.invalid', gnupgHome: gnupg, sourceDateEpoch: EPOCH });
  publicKey = await signer.exportPublicKey();
  const base = join(work, 'base');
  baseRpms = (await Promise.all([
    rpmModel({ name: 'xenserver-release', version: '7.1.2', provides: ['product-version = 7.1.2', 'platform-version = 2.2.0'] }),
    rpmModel({ name: 'kernel', version: '6.1.129', provides: ['kernel-uname-r = 6.1.0_50_amd64'] }),
    rpmModel({ name: 'xs-tools', version: '1.0' }),
  ].map((m) => buildRpm(m, { outDir: base, workDir: join(base, `w-${m.name}`), sourceDateEpoch: EPOCH })))).map((b) => b.file);
  // one at a time: they share the gpg-agent, and rpmsign's gpg calls are serial anyway
  for (const u of [CU1, CU2, CU3, HOTFIX, FUTURE, OLD_DRIVER, DRIVER, SNMP, UNSIGNED_RPMS, NO_RECORD]) media[u.name] = await makeUpdate(u);
});

test.after(async () => {
  await run(['gpgconf', '--kill', 'gpg-agent'], { env: { GNUPGHOME: gnupg } }).catch(() => undefined);
  rmSync(work, { recursive: true, force: true });
});

test('the script parses as POSIX sh (sh -n, dash -n; checkbashisms when installed)', async () => {
  await run(['sh', '-n', SCRIPT]);
  if (findOnPath('dash')) await run(['dash', '-n', SCRIPT]);
  if (findOnPath('checkbashisms')) await run(['checkbashisms', '--posix', SCRIPT]);
  else console.log('  (checkbashisms is not installed: skipped)');
  assert.ok(readFileSync(SCRIPT, 'utf8').startsWith('#!/bin/sh\n'));
});

test('--help lists the commands and exit codes; a bad command line is USAGE (exit 2)', async () => {
  const root = await makeRoot();
  const help = await tool(root, '--help');
  assert.is(help.code, 0);
  for (const word of ['upload ISO|DIR', 'precheck UUID|ISO|DIR', 'apply UUID|ISO|DIR', 'list [--json]', '--root DIR', 'INVALID_SIGNATURE', 'PREREQUISITE_MISSING', 'CONFLICT_PRESENT', 'WRONG_SERVER_VERSION', 'OUT_OF_SPACE', 'UPDATE_ALREADY_APPLIED']) {
    assert.ok(help.out.includes(word), `--help does not mention ${word}`);
  }
  expectError(await tool(root, 'frobnicate'), 'USAGE', 2, /unknown command frobnicate/);
  expectError(await tool(root, 'list', '--yaml'), 'USAGE', 2);
  assert.equal(await tool(root, 'list'), { code: 0, out: '' });
  assert.equal(await tool(root, 'list', '--json'), { code: 0, out: '[]\n' });
  expectError(await tool(root, 'apply'), 'USAGE', 2);
  expectError(await tool(root, 'apply', join(work, 'no-such-medium')), 'UPDATE_NOT_FOUND', 5);
  expectError(await tool(root, 'apply', uuidOf('never-uploaded')), 'UPDATE_NOT_FOUND', 5, /no staged update/);
});

test('hotfix onto the base release is refused with PREREQUISITE_MISSING naming CU2; nothing changes', async () => {
  const root = await makeRoot();
  const before = await installed(root, '-a');
  const r = await tool(root, 'apply', media[HOTFIX.name]);
  expectError(r, 'PREREQUISITE_MISSING', 9, /update XS71ECU2001 requires update XS71ECU2, which is not applied/);
  assert.equal((await installed(root, '-a')).sort(), before.sort());
  assert.not.ok(existsSync(join(root, 'var/update/applied', uuidOf(HOTFIX.name))));
});

test('CU1 applies: payload installed, recorded, listed (text and JSON), guidance printed; twice is UPDATE_ALREADY_APPLIED', async () => {
  const root = await makeRoot();
  const r = await tool(root, 'apply', media[CU1.name]);
  assert.is(r.code, 0, r.out);
  assert.match(r.out, /^APPLIED: update XS71ECU1 1\.0 \(/m);
  assert.match(r.out, /^after-apply-guidance: restartHost,restartXAPI$/m);
  assert.match(r.out, /^ {2}restartHost: restart the host/m);
  assert.equal(await installed(root, 'xs-tools', 'xs-agent', 'control-XS71ECU1'), ['xs-tools-1.1-1', 'xs-agent-1.0-1', 'control-XS71ECU1-1.0-1']);
  const record = join(root, 'var/update/applied', uuidOf(CU1.name));
  assert.is(readFileSync(record, 'utf8'), updateXml(CU1));
  // the staged copy is gone once applied; the key is in the rpm database for rpm's own checks
  assert.not.ok(existsSync(join(root, 'var/update/staged', uuidOf(CU1.name))));
  assert.is((await installed(root, 'gpg-pubkey')).length, 1);
  assert.equal(readdirSync(toolTmp), [], 'the tool left temporary files');

  const list = await tool(root, 'list');
  assert.is(list.code, 0);
  assert.match(list.out, new RegExp(`^uuid: ${uuidOf(CU1.name)}\nname-label: XS71ECU1\nversion: 1\\.0\nname-description: Cumulative update 1: xs-tools & xs-agent <"new">\n`, 'm'), list.out);
  const json = JSON.parse((await tool(root, 'list', '--json')).out);
  assert.is(json.length, 1);
  assert.is(json[0]['name-label'], 'XS71ECU1');
  assert.is(json[0].uuid, uuidOf(CU1.name));
  assert.is(json[0]['name-description'], CU1.description);
  assert.is(json[0]['after-apply-guidance'], 'restartHost,restartXAPI');
  // the control package's install time, not the packaged mtime (SOURCE_DATE_EPOCH)
  assert.ok(Math.abs(json[0]['applied-epoch'] - Date.now() / 1000) < 600, String(json[0]['applied-epoch']));
  assert.match(json[0].applied, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);

  expectError(await tool(root, 'apply', media[CU1.name]), 'UPDATE_ALREADY_APPLIED', 6, /XS71ECU1/);
  expectError(await tool(root, 'precheck', uuidOf(CU1.name)), 'UPDATE_ALREADY_APPLIED', 6);
});

test('CU2 straight onto the base is PREREQUISITE_MISSING (CU1); CU1, CU2, hotfix in order apply and list in order', async () => {
  const root = await makeRoot();
  expectError(await tool(root, 'precheck', media[CU2.name]), 'PREREQUISITE_MISSING', 9, /requires update XS71ECU1, which is not applied/);
  // upload stages it; precheck and apply by uuid
  const up = await tool(root, 'upload', media[CU1.name]);
  assert.is(up.code, 0, up.out);
  assert.is(up.out.trim(), uuidOf(CU1.name));
  assert.ok(existsSync(join(root, 'var/update/staged', uuidOf(CU1.name), 'update.xml')));
  const pre = await tool(root, 'precheck', uuidOf(CU1.name));
  assert.is(pre.code, 0, pre.out);
  assert.match(pre.out, /^OK: update XS71ECU1 1\.0/m);
  assert.is((await tool(root, 'apply', uuidOf(CU1.name))).code, 0);

  const cu2 = await tool(root, 'apply', media[CU2.name]);
  assert.is(cu2.code, 0, cu2.out);
  assert.match(cu2.out, /^already at this version or newer: xs-agent 1\.0-1 \(installed: 1\.0-1\)$/m);
  assert.match(cu2.out, /^installed: xs-tools-1\.2-1 control-XS71ECU2-2\.0-1$/m);
  const hf = await tool(root, 'apply', media[HOTFIX.name]);
  assert.is(hf.code, 0, hf.out);
  assert.match(hf.out, /^after-apply-guidance: restartXAPI$/m);
  assert.equal(await installed(root, 'xs-tools', 'xs-agent', 'xenserver-release'), ['xs-tools-1.2-1', 'xs-agent-1.0.1-1', 'xenserver-release-7.1.2-1']);
  const json = JSON.parse((await tool(root, 'list', '--json')).out) as Array<Record<string, string>>;
  assert.equal(json.map((u) => u['name-label']), ['XS71ECU1', 'XS71ECU2', 'XS71ECU2001']);
});

test('a hotfix rolled up into an applied CU is UPDATE_ALREADY_APPLIED naming the CU; nothing changes', async () => {
  const root = await makeRoot();
  for (const u of [CU1, CU2, CU3]) assert.is((await tool(root, 'apply', media[u.name])).code, 0, u.name);
  const before = await installed(root, '-a');
  for (const cmd of ['precheck', 'apply']) {
    expectError(await tool(root, cmd, media[HOTFIX.name]), 'UPDATE_ALREADY_APPLIED', 6,
      /update XS71ECU2001 1\.0 \([0-9a-f-]+\) is already applied: it is rolled up in XS71ECU3, which is applied \(control-XS71ECU3-3\.0-1 provides xsforge-update\(XS71ECU2001\) = 1\.0\)/);
  }
  assert.equal((await installed(root, '-a')).sort(), before.sort());
  assert.equal(await installed(root, 'control-XS71ECU2001'), ['package control-XS71ECU2001 is not installed']);
  // on CU2 alone the same hotfix still applies: only a CU that provides it makes it applied
  const cu2Only = await makeRoot();
  for (const u of [CU1, CU2, HOTFIX]) assert.is((await tool(cu2Only, 'apply', media[u.name])).code, 0, u.name);
});

test('wrong server version: product-version 9.9.9 and another kernel are WRONG_SERVER_VERSION; the dom0 kernel\'s driver disk applies', async () => {
  const root = await makeRoot();
  expectError(await tool(root, 'precheck', media[FUTURE.name]), 'WRONG_SERVER_VERSION', 8,
    /update XS99PACK requires product-version = 9\.9\.9; this host has product-version = 7\.1\.2/);
  expectError(await tool(root, 'apply', media[OLD_DRIVER.name]), 'WRONG_SERVER_VERSION', 8,
    /requires kernel-uname-r = 6\.1\.0_99_amd64; this host has kernel-uname-r = 6\.1\.0_50_amd64/);
  assert.equal(await installed(root, 'xs-future'), ['package xs-future is not installed']);
  const ok = await tool(root, 'apply', media[DRIVER.name]);
  assert.is(ok.code, 0, ok.out);
  assert.equal(await installed(root, 'xs-nic-module'), ['xs-nic-module-1.0-1']);
});

test('a pack that conflicts with an applied CU is CONFLICT_PRESENT; without the CU it applies', async () => {
  const root = await makeRoot();
  assert.is((await tool(root, 'apply', media[CU1.name])).code, 0);
  expectError(await tool(root, 'apply', media[SNMP.name]), 'CONFLICT_PRESENT', 10, /conflicts with applied update XS71ECU1/);
  const clean = await makeRoot();
  const r = await tool(clean, 'apply', media[SNMP.name]);
  assert.is(r.code, 0, r.out);
  assert.match(r.out, /^after-apply-guidance: $/m);
});

test('signatures: tampered update.xml, tampered RPM, unsigned RPMs, another key, a key not installed: INVALID_SIGNATURE, nothing staged', async () => {
  const root = await makeRoot();
  const staged = join(root, 'var/update/staged');
  const copy = (name: string) => {
    const dir = join(work, 'media', name);
    cpSync(media[CU1.name], dir, { recursive: true });
    return dir;
  };

  const xmlTampered = copy('tampered-xml');
  const xml = readFileSync(join(xmlTampered, 'update.xml'));
  const at = xml.indexOf('Cumulative');
  xml[at] = 'c'.charCodeAt(0); // one byte
  writeFileSync(join(xmlTampered, 'update.xml'), xml);
  expectError(await tool(root, 'upload', xmlTampered), 'INVALID_SIGNATURE', 3, /update\.xml does not verify with key xsforge-test .*BAD signature/);

  const rpmTampered = copy('tampered-rpm');
  const pkg = join(rpmTampered, 'Packages', 'xs-tools-1.1-1.noarch.rpm');
  const bytes = readFileSync(pkg);
  bytes[bytes.length - 10] ^= 0xff;
  writeFileSync(pkg, bytes);
  expectError(await tool(root, 'apply', rpmTampered), 'INVALID_SIGNATURE', 3, /package Packages\/xs-tools-1\.1-1\.noarch\.rpm does not match the sha256/);

  expectError(await tool(root, 'upload', media[UNSIGNED_RPMS.name]), 'INVALID_SIGNATURE', 3, /Packages\/[\w-]+-1\.0-1\.noarch\.rpm is not signed by key xsforge-test \(rpmkeys: digests OK\)/);

  const otherKey = await variant(CU1.name, 'other-key', updateXml(CU1), otherSigner);
  expectError(await tool(root, 'upload', otherKey), 'INVALID_SIGNATURE', 3, /update\.xml does not verify with key xsforge-test/);

  const noKey = await variant(CU1.name, 'no-key', updateXml(CU1, { key: 'RPM-GPG-KEY-partner' }));
  expectError(await tool(root, 'upload', noKey), 'INVALID_SIGNATURE', 3, /signed with key partner, which is not installed/);

  const repomdTampered = copy('tampered-repomd');
  writeFileSync(join(repomdTampered, 'repodata/repomd.xml'), readFileSync(join(repomdTampered, 'repodata/repomd.xml'), 'utf8').replace('<revision>', '<revision>1'));
  expectError(await tool(root, 'upload', repomdTampered), 'INVALID_SIGNATURE', 3, /repodata\/repomd\.xml does not verify/);

  assert.equal(readdirSync(staged).filter((f) => !f.startsWith('.lock')), [], 'a refused medium left something staged');
  assert.equal(await installed(root, 'xs-tools'), ['xs-tools-1.0-1']);
  assert.equal(readdirSync(toolTmp), []);
});

test('signed metadata pointing outside the medium ("../") is INVALID_UPDATE, and nothing is read from there', async () => {
  const root = await makeRoot();
  const dir = join(work, 'media', 'escape');
  cpSync(media[CU1.name], dir, { recursive: true });
  const repomdFile = join(dir, 'repodata/repomd.xml');
  const repomd = readFileSync(repomdFile, 'utf8');
  const m = /<data type="primary">\s*<checksum type="sha256">([0-9a-f]{64})<\/checksum>[\s\S]*?<location href="([^"]+)"/.exec(repomd)!;
  const primaryFile = join(dir, m[2]);
  const primary = gunzipSync(readFileSync(primaryFile)).toString('utf8').replace('href="Packages/xs-agent', 'href="../xs-agent');
  assert.ok(primary.includes('href="../xs-agent'));
  const gz = gzipSync(primary);
  writeFileSync(primaryFile, gz);
  writeFileSync(repomdFile, repomd.replace(`<checksum type="sha256">${m[1]}</checksum>`, `<checksum type="sha256">${createHash('sha256').update(gz).digest('hex')}</checksum>`));
  await signer.detachSign(repomdFile, join(dir, 'repodata/repomd.xml.asc'));
  expectError(await tool(root, 'upload', dir), 'INVALID_UPDATE', 4, /package xs-agent has location "\.\.\/xs-agent-1\.0-1\.noarch\.rpm"/);
});

test('installation-size beyond the free space is OUT_OF_SPACE (15-digit and 20-digit sizes)', async () => {
  const root = await makeRoot();
  const big = await variant(CU1.name, 'big', updateXml(CU1, { size: '900000000000000' }));
  expectError(await tool(root, 'precheck', big), 'OUT_OF_SPACE', 7, /update XS71ECU1 needs 900000000000000 bytes; .* has \d+ bytes free/);
  const huge = await variant(CU1.name, 'huge', updateXml(CU1, { size: '99999999999999999999' }));
  expectError(await tool(root, 'apply', huge), 'OUT_OF_SPACE', 7);
  assert.equal(await installed(root, 'xs-tools'), ['xs-tools-1.0-1']);
});

test('malformed update.xml (signed, but no description) is INVALID_UPDATE', async () => {
  const root = await makeRoot();
  const bad = await variant(CU1.name, 'no-description', updateXml({ ...CU1, description: '' }));
  expectError(await tool(root, 'upload', bad), 'INVALID_UPDATE', 4, /update\.xml of \S+\/no-description: <name-description> is missing or empty/);
  const guidance = await variant(CU1.name, 'bad-guidance', updateXml({ ...CU1, guidance: 'restartHost,reboot' }));
  expectError(await tool(root, 'upload', guidance), 'INVALID_UPDATE', 4, /after-apply-guidance "reboot" is not one of/);
});

test('images: a loop-mounted file-system image and an ISO 9660 image upload like the directory', async () => {
  const root = await makeRoot();
  const iso = join(work, 'cu1.iso');
  await run(['xorriso', '-as', 'mkisofs', '-quiet', '-R', '-J', '-V', 'XS71ECU1', '-o', iso, media[CU1.name]]);
  const r = await tool(root, 'upload', iso);
  assert.is(r.code, 0, r.out);
  assert.is(r.out.trim(), uuidOf(CU1.name));
  assert.ok(existsSync(join(root, 'var/update/staged', uuidOf(CU1.name), 'Packages', 'xs-agent-1.0-1.noarch.rpm')));
  assert.equal(readdirSync(toolTmp), [], 'the ISO was left mounted or extracted');

  if (process.getuid?.() !== 0) {
    console.log('  (not root: loop mount of a file-system image skipped)');
    return;
  }
  const img = join(work, 'hotfix.img');
  await run(['mke2fs', '-q', '-t', 'ext4', '-d', media[CU2.name], img, '16M']);
  const cu2 = await tool(root, 'upload', img);
  assert.is(cu2.code, 0, cu2.out);
  assert.is(cu2.out.trim(), uuidOf(CU2.name));
  const mounts = readFileSync('/proc/mounts', 'utf8');
  assert.not.ok(mounts.includes(toolTmp), 'the image is still mounted');
  assert.equal(readdirSync(toolTmp), []);
});

test('a control package that does not record the update: the tool records it from update.xml and warns', async () => {
  const root = await makeRoot();
  const r = await tool(root, 'apply', media[NO_RECORD.name]);
  assert.is(r.code, 0, r.out);
  assert.is(readFileSync(join(root, 'var/update/applied', uuidOf(NO_RECORD.name)), 'utf8'), updateXml(NO_RECORD));
  const again = await tool(root, 'apply', media[NO_RECORD.name]);
  expectError(again, 'UPDATE_ALREADY_APPLIED', 6);
  const json = JSON.parse((await tool(root, 'list', '--json')).out);
  assert.is(json[0]['name-label'], 'XS71ENORECORD');
});

test('a second run while one holds the lock is UPDATE_BUSY', async () => {
  const root = await makeRoot();
  mkdirSync(join(root, 'var/update'), { recursive: true });
  const holder = run(['flock', join(root, 'var/update/.lock'), 'sleep', '2']);
  await new Promise((r) => setTimeout(r, 300));
  expectError(await tool(root, 'apply', media[CU1.name]), 'UPDATE_BUSY', 14);
  await holder;
  assert.is((await tool(root, 'apply', media[CU1.name])).code, 0);
});

test.run();

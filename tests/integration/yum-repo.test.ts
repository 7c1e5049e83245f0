// The yum repository stage on real tools: rpmbuild-made fixture packages,
// createrepo_c, gpg/rpmsign with a throwaway key, dnf resolving the product's
// comps groups, rpmkeys/gpgv checking signatures, reproducible repodata, and
// verifyRepository finding a damaged package.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { copyFile, mkdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { StageCache } from '../../core/cache.ts';
import { runGraph, type StageResult } from '../../core/engine.ts';
import { XsforgeError } from '../../core/errors.ts';
import { run } from '../../core/exec.ts';
import { walkTree } from '../../core/hash.ts';
import { defineStage, type Stage } from '../../core/stage.ts';
import { productGroups, type CompsGroup } from '../../repo/comps.ts';
import { yumRepoStage, REPOMD, REPOMD_ASC, type YumRepoStageOptions } from '../../repo/stage.ts';
import { summarizeRepository } from '../../repo/summary.ts';
import { damagedPackagesMessage, verifyRepository } from '../../repo/verify.ts';
import { makeTestRpms } from '../lib/rpm-fixtures.ts';
import { dnfResolve } from '../lib/dnf.ts';

const EPOCH = 1_533_081_600;
const work = mkdtempSync(join(tmpdir(), 'xsf-yumrepo-'));
const gnupg = join(work, 'gnupg');
let rpmFiles: string[] = [];
let fingerprint = '';

const COMPS = productGroups(['xs-base-a', 'xs-base-b'], ['xs-dom0-a', 'xs-dom0-b']);

test.before(async () => {
  mkdirSync(gnupg, { mode: 0o700 });
  await run(['gpg', '--batch', '--passphrase', '', '--quick-gen-key', 'xsforge test <test@xsforge.invalid>', 'rsa2048', 'sign', 'never'], { env: { GNUPGHOME: gnupg } });
  const listing = (await run(['gpg', '--batch', '--with-colons', '--list-secret-keys'], { env: { GNUPGHOME: gnupg } })).stdout;
  fingerprint = /^fpr:+([0-9A-F]{40}):/m.exec(listing)![1];
  rpmFiles = await makeTestRpms(join(work, 'rpms'), [
    { name: 'xs-base-a', version: '1.0' },
    { name: 'xs-base-b', version: '1.0', files: { '/etc/xs-base-b.conf': 'b=1\n' } },
    { name: 'xs-dom0-a', version: '2.1', release: '3', requires: ['xs-base-a'], provides: ['xs-dom0-api = 2'] },
    { name: 'xs-dom0-b', version: '2.1', release: '3' },
    { name: 'xs-extra', version: '0.1' },
  ], { sourceDateEpoch: EPOCH });
});

test.after(async () => {
  await run(['gpgconf', '--kill', 'gpg-agent'], { env: { GNUPGHOME: gnupg } }).catch(() => undefined);
  rmSync(work, { recursive: true, force: true });
});

/** An upstream stage holding some of the RPMs (the product RPM stage's stand-in). */
function upstreamRpms(files: string[]): Stage<any> {
  return defineStage({
    name: 'fixture-rpms', version: 1, options: {},
    inputFiles: Object.fromEntries(files.map((f, i) => [`f${i}`, f])),
    async run(ctx) {
      await mkdir(join(ctx.out, 'RPMS', 'noarch'), { recursive: true });
      for (const f of files) await copyFile(f, join(ctx.out, 'RPMS', 'noarch', f.split('/').pop()!));
    },
  });
}

async function build(cacheName: string, opts: Partial<YumRepoStageOptions> = {}): Promise<{ result: StageResult; log: string; stage: Stage<any> }> {
  const stage = await yumRepoStage({
    rpms: { stages: { products: upstreamRpms(rpmFiles.slice(0, 3)) }, files: rpmFiles.slice(3) },
    comps: COMPS, keyName: 'xsforge-test', ...opts,
  });
  const results = await runGraph([stage], {
    cache: new StageCache(join(work, cacheName)), reporter: { emit() {}, close() {} },
    sourceDateEpoch: EPOCH, scope: 'test-yum-repo', jobs: 2,
  });
  const result = results.get(stage.name)!;
  return { result, log: readFileSync(join(dirname(result.dir), 'build.log'), 'utf8'), stage };
}

const signing = () => ({ key: fingerprint, gnupgHome: gnupg });

test('unsigned repository: Packages/, gzip primary, comps, no sqlite, no signature, and the log says unsigned', async () => {
  const { result, log } = await build('cache-u1');
  const dir = result.dir;
  assert.equal(readdirSync(join(dir, 'Packages')).sort(), rpmFiles.map((f) => f.split('/').pop()).sort());
  const repodata = readdirSync(join(dir, 'repodata'));
  assert.ok(repodata.some((f) => /^[0-9a-f]{64}-primary\.xml\.gz$/.test(f)), repodata.join(' '));
  assert.ok(repodata.some((f) => f.endsWith('-comps.xml')) && repodata.some((f) => f.endsWith('-comps.xml.gz')), repodata.join(' '));
  assert.not.ok(repodata.some((f) => /sqlite/.test(f)), 'no sqlite databases');
  assert.not.ok(existsSync(join(dir, REPOMD_ASC)));
  assert.not.ok(readdirSync(dir).some((f) => f.startsWith('RPM-GPG-KEY')));
  assert.match(log, /unsigned build: no signing key configured/);
  const repomd = readFileSync(join(dir, REPOMD), 'utf8');
  assert.match(repomd, new RegExp(`<revision>${EPOCH}</revision>`));
  assert.not.match(repomd, /<timestamp>(?!1533081600)/);
  const v = await verifyRepository(dir);
  assert.equal({ packages: v.packages, damaged: v.damaged, metadataOk: v.metadataOk, sig: v.signature.status }, { packages: 5, damaged: [], metadataOk: true, sig: 'missing' });
  const s = await summarizeRepository((p) => readFile(join(dir, p)).catch(() => undefined));
  assert.equal(s, {
    packages: 5, metadataSigned: false, signingKeyIds: [], packagesSigned: 'none',
    groups: [{ id: 'xenserver_base', packages: ['xs-base-a', 'xs-base-b'] }, { id: 'xenserver_dom0', packages: ['xs-dom0-a', 'xs-dom0-b'] }],
  });
});


test('dnf reads the groups: the product command installs both, and @xenserver_dom0 pulls base packages it requires', async () => {
  const { result } = await build('cache-u1');
  const list = await run(['dnf', '-q', '--setopt=reposdir=/dev/null', `--repofrompath=media,${result.dir}`, `--installroot=${join(work, 'dnflist')}`,
    '--releasever=1', 'group', 'list', '--ids']);
  assert.match(list.stdout, /XenServer base \(xenserver_base\)/);
  assert.match(list.stdout, /XenServer dom0 \(xenserver_dom0\)/);
  // what the installer runs: install @xenserver_base @xenserver_dom0
  assert.equal(await dnfResolve(work, result.dir, ['xenserver_base', 'xenserver_dom0']), ['xs-base-a', 'xs-base-b', 'xs-dom0-a', 'xs-dom0-b']);
  // alone, dom0's group brings xs-base-a through xs-dom0-a's Requires; dnf does not
  // follow <groupreq> (see repo/comps.ts), so xs-base-b stays out
  assert.equal(await dnfResolve(work, result.dir, ['xenserver_dom0']), ['xs-base-a', 'xs-dom0-a', 'xs-dom0-b']);
});

test('signed repository: rpmkeys accepts every package with the exported key, gpgv the repomd signature', async () => {
  const { result, log } = await build('cache-s1', { signing: signing() });
  const dir = result.dir;
  const keyFile = join(dir, 'RPM-GPG-KEY-xsforge-test');
  assert.match(readFileSync(keyFile, 'utf8'), /^-----BEGIN PGP PUBLIC KEY BLOCK-----/);
  assert.not.match(readFileSync(keyFile, 'utf8'), /PRIVATE/);
  assert.match(log, new RegExp(`signed by ${fingerprint}`));
  const rpmdb = join(work, 'rpmdb');
  mkdirSync(rpmdb, { recursive: true });
  await run(['rpmkeys', '--dbpath', rpmdb, '--import', keyFile]);
  const pkgs = readdirSync(join(dir, 'Packages')).map((f) => join(dir, 'Packages', f));
  const k = await run(['rpmkeys', '--dbpath', rpmdb, '--checksig', ...pkgs]);
  assert.is(k.stdout.trim().split('\n').filter((l) => / digests signatures OK$/.test(l)).length, 5, k.stdout);
  await run(['gpg', '--homedir', gnupg, '--batch', '--verify', join(dir, REPOMD_ASC), join(dir, REPOMD)]);
  const v = await verifyRepository(dir, { keyringFile: keyFile });
  assert.is(v.signature.status, 'good', v.signature.detail);
  assert.is(v.signature.keyId, fingerprint.slice(-16));
  assert.equal(v.damaged, []);
  const s = await summarizeRepository((p) => readFile(join(dir, p)).catch(() => undefined));
  assert.equal([s.metadataSigned, s.signingKeyIds, s.packagesSigned], [true, [fingerprint.slice(-16)], 'all']);
});

test('a tampered repomd.xml fails the signature check', async () => {
  const { result } = await build('cache-s1', { signing: signing() });
  const copy = join(work, 'tampered');
  cpSync(result.dir, copy, { recursive: true });
  const repomd = join(copy, REPOMD);
  writeFileSync(repomd, readFileSync(repomd, 'utf8').replace(`<revision>${EPOCH}`, '<revision>1'));
  const v = await verifyRepository(copy, { keyringFile: join(copy, 'RPM-GPG-KEY-xsforge-test') });
  assert.is(v.signature.status, 'bad');
  assert.match(v.signature.detail, /BADSIG/);
});

test('two builds in different directories give byte-identical repositories, signed ones included', async () => {
  for (const [a, b, opts] of [['cache-u1', 'cache-u2', {}], ['cache-s1', 'cache-s2', { signing: signing() }]] as const) {
    const one = await build(a, opts);
    const two = await build(b, opts);
    assert.is.not(one.result.dir, two.result.dir);
    assert.not.ok(two.result.cached);
    const t1 = await walkTree(one.result.dir);
    const t2 = await walkTree(two.result.dir);
    assert.equal(t2, t1);
    assert.is(one.result.key, two.result.key);
  }
});

test('the stage key follows comps and the signing key; a changed comps reruns the stage', async () => {
  const plain = await build('cache-u1');
  const signed = await build('cache-u1', { signing: signing() });
  const otherComps: CompsGroup[] = productGroups(['xs-base-a'], ['xs-dom0-a']);
  const regrouped = await build('cache-u1', { comps: otherComps });
  assert.is.not(plain.result.key, signed.result.key);
  assert.is.not(plain.result.key, regrouped.result.key);
  assert.not.ok(regrouped.result.cached);
  assert.ok((await build('cache-u1')).result.cached);
  // the secret key is not an input: only fingerprints are
  const inputs = JSON.stringify(signed.result.manifest.keyInputs);
  assert.match(inputs, new RegExp(fingerprint));
  assert.not.match(inputs, /gnupg/);
});

test('verifyRepository names damaged and missing packages, and the message lists them', async () => {
  const { result } = await build('cache-u1');
  const copy = join(work, 'damaged');
  cpSync(result.dir, copy, { recursive: true });
  const bad = join(copy, 'Packages', 'xs-dom0-b-2.1-3.noarch.rpm');
  const bytes = readFileSync(bad);
  bytes[bytes.length - 10] ^= 0xff;
  writeFileSync(bad, bytes);
  rmSync(join(copy, 'Packages', 'xs-extra-0.1-1.noarch.rpm'));
  const v = await verifyRepository(copy);
  assert.is(v.packages, 5);
  assert.equal(v.damaged.map((d) => d.href), ['Packages/xs-dom0-b-2.1-3.noarch.rpm', 'Packages/xs-extra-0.1-1.noarch.rpm']);
  assert.is(v.damaged[1].actual, 'missing');
  assert.match(v.damaged[0].actual, /^[0-9a-f]{64}$/);
  assert.is.not(v.damaged[0].actual, v.damaged[0].expected);
  assert.ok(v.metadataOk);
  assert.is(damagedPackagesMessage(v.damaged.map((d) => d.href.split('/').pop()!)),
    'Some packages appeared damaged.  These were: xs-dom0-b-2.1-3.noarch.rpm and xs-extra-0.1-1.noarch.rpm');
  // damaged metadata is caught too
  const primary = readdirSync(join(copy, 'repodata')).find((f) => f.endsWith('-filelists.xml.gz'))!;
  writeFileSync(join(copy, 'repodata', primary), 'garbage');
  const v2 = await verifyRepository(copy);
  assert.not.ok(v2.metadataOk);
  assert.match(v2.metadataProblems.join('\n'), /filelists/);
});

test('a key that is not in the keyring fails early with how to list keys', async () => {
  try {
    await yumRepoStage({ rpms: { files: rpmFiles }, comps: COMPS, keyName: 'x', signing: { key: 'nobody@xsforge.invalid', gnupgHome: gnupg } });
    assert.unreachable('accepted a missing key');
  } catch (e) {
    assert.instance(e, XsforgeError);
    assert.match((e as Error).message, /signing key 'nobody@xsforge\.invalid' is not in the keyring/);
    assert.match((e as XsforgeError).hint ?? '', /gpg --list-secret-keys/);
  }
});

test('a passphrase-protected key signs with a passphrase file, and fails without one', async () => {
  const home = join(work, 'gnupg-pw');
  mkdirSync(home, { mode: 0o700 });
  await run(['gpg', '--batch', '--pinentry-mode', 'loopback', '--passphrase', 'sekrit words', '--quick-gen-key', 'xsforge pw <pw@xsforge.invalid>', 'rsa2048', 'sign', 'never'], { env: { GNUPGHOME: home } });
  const passFile = join(work, 'pass.txt');
  writeFileSync(passFile, 'sekrit words\n', { mode: 0o600 });
  try {
    const without = await yumRepoStage({ name: 'yum-repo-nopass', rpms: { files: rpmFiles.slice(0, 1) }, keyName: 'pw', signing: { key: 'pw@xsforge.invalid', gnupgHome: home } });
    try {
      await runGraph([without], { cache: new StageCache(join(work, 'cache-nopass')), reporter: { emit() {}, close() {} }, sourceDateEpoch: EPOCH, scope: 't', jobs: 1 });
      assert.unreachable('signed without the passphrase');
    } catch (e) {
      assert.match(String((e as XsforgeError).hint), /passphrase/);
    }
    const stage = await yumRepoStage({ name: 'yum-repo-pw', rpms: { files: rpmFiles.slice(0, 2) }, keyName: 'pw', signing: { key: 'pw@xsforge.invalid', gnupgHome: home, passphraseFile: passFile } });
    const r = (await runGraph([stage], { cache: new StageCache(join(work, 'cache-pw')), reporter: { emit() {}, close() {} }, sourceDateEpoch: EPOCH, scope: 't', jobs: 1 })).get('yum-repo-pw')!;
    const v = await verifyRepository(r.dir, { keyringFile: join(r.dir, 'RPM-GPG-KEY-pw') });
    assert.is(v.signature.status, 'good', v.signature.detail);
    const s = await summarizeRepository((p) => readFile(join(r.dir, p)).catch(() => undefined));
    assert.is(s.packagesSigned, 'all');
    assert.not.match(readFileSync(join(dirname(r.dir), 'build.log'), 'utf8'), /sekrit/);
  } finally {
    await run(['gpgconf', '--kill', 'gpg-agent'], { env: { GNUPGHOME: home } }).catch(() => undefined);
  }
});

test('a comps group naming a package the repository lacks fails the stage', async () => {
  const stage = await yumRepoStage({ name: 'yum-repo-bad', rpms: { files: rpmFiles }, comps: productGroups(['xs-base-a', 'no-such-pkg'], []) });
  try {
    await runGraph([stage], { cache: new StageCache(join(work, 'cache-bad')), reporter: { emit() {}, close() {} }, sourceDateEpoch: EPOCH, scope: 't', jobs: 1 });
    assert.unreachable('built');
  } catch (e) {
    assert.match((e as Error).message, /no-such-pkg \(group xenserver_base\)/);
  }
});

test.run();

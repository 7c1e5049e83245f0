// Update ISOs on real tools: every example under examples/updates/ built with
// rpmbuild/createrepo_c/xorriso; the control packages read back with rpm -qp;
// the comps groups; dnf resolving the control packages' prerequisites the way a
// host's precheck would; signatures checked with gpgv and rpmkeys against the
// key shipped on the ISO (throwaway key); byte-identical rebuilds; the xorriso
// listing; driver-disk modules and depmod.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ToolError, XsforgeError } from '../../core/errors.ts';
import { run } from '../../core/exec.ts';
import { parseRpm } from '../../packages/rpm-header.ts';
import { buildRpm } from '../../packages/rpmbuild.ts';
import { summarizeRepository } from '../../repo/summary.ts';
import { dearmor } from '../../repo/verify.ts';
import { assembleRepository } from '../../repo/stage.ts';
import { buildUpdate, type BuiltUpdate } from '../../updates/build.ts';
import { loadUpdateSpec, parseUpdateSpec } from '../../updates/load.ts';
import { installationSize, updateUuid } from '../../updates/model.ts';
import { parseUpdateXml } from '../../updates/update-xml.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '../..');
const EXAMPLES = join(root, 'examples/updates');
const work = mkdtempSync(join(tmpdir(), 'xsf-update-build-'));
const gnupg = join(work, 'gnupg');
let fingerprint = '';
const built = new Map<string, BuiltUpdate>();
const noLog = () => {};

test.before(async () => {
  mkdirSync(gnupg, { mode: 0o700 });
  await run(['gpg', '--batch', '--passphrase', '', '--quick-gen-key', 'xsforge update test <update@xsforge.invalid>', 'rsa2048', 'sign', 'never'], { env: { GNUPGHOME: gnupg } });
  fingerprint = /^fpr:+([0-9A-F]{40}):/m.exec((await run(['gpg', '--batch', '--with-colons', '--list-secret-keys'], { env: { GNUPGHOME: gnupg } })).stdout)![1];
  const t0 = Date.now();
  for (const f of readdirSync(EXAMPLES).filter((x) => x.endsWith('.yaml')).sort()) {
    const spec = loadUpdateSpec(join(EXAMPLES, f));
    built.set(spec.nameLabel, await buildUpdate(spec, { out: join(work, 'unsigned'), log: noLog }));
  }
  console.log(`built ${built.size} example updates in ${Date.now() - t0} ms`);
});

test.after(async () => {
  await run(['gpgconf', '--kill', 'gpg-agent'], { env: { GNUPGHOME: gnupg } }).catch(() => undefined);
  rmSync(work, { recursive: true, force: true });
});

/** The promise fails, with an error whose message matches `re`. */
async function rejects(p: Promise<unknown>, re: RegExp, cls: Function = Error): Promise<void> {
  try {
    await p;
  } catch (err) {
    assert.instance(err, cls);
    assert.match((err as Error).message, re);
    return;
  }
  assert.unreachable(`expected a failure matching ${re}`);
}

const rpmq = async (file: string, what: string) => (await run(['rpm', '-qp', what, file])).stdout.split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('rpmlib('));

test('every example: ISO and tree, update.xml with the spec\'s fields, installation-size from the payload headers', async () => {
  assert.equal([...built.keys()].sort(), ['XS71ECU1', 'XS71ECU2', 'XS71ECU2001', 'XS71ECU2002', 'XS71ECU3', 'xsforge-demo-nic-driver', 'xsforge-snmp-agent']);
  for (const [name, r] of built) {
    assert.is(r.iso, join(work, 'unsigned', `${name}.iso`));
    assert.ok(existsSync(r.iso) && existsSync(join(r.tree, 'repodata/repomd.xml')), name);
    const text = readFileSync(join(r.tree, 'update.xml'), 'utf8');
    assert.is(text, r.updateXml);
    const x = parseUpdateXml(text);
    assert.is(x.nameLabel, name);
    assert.is(x.uuid, updateUuid(name, '1.0'));
    assert.is(x.control, `control-${name}`);
    assert.is(x.key, 'RPM-GPG-KEY-XS-7');
    const payload = r.packages.filter((p) => !p.control).map((p) => parseRpm(readFileSync(join(r.tree, p.path))));
    assert.is(x.installationSize, installationSize(payload));
    assert.ok(x.installationSize > 1024 * 1024 + payload.reduce((n, p) => n + p.size, 0), name);
    // nothing else at the root of an unsigned update
    assert.equal(readdirSync(r.tree).sort(), ['Packages', 'repodata', 'update.xml'], name);
  }
  assert.equal(built.get('XS71ECU2002')!.update.afterApplyGuidance, ['restartXAPI']);
  assert.match(built.get('XS71ECU3')!.updateXml, /<name-description>XenServer 7\.1 Cumulative Update 3 \(example; rolls up XS71ECU2001 and XS71ECU2002\)<\/name-description>/);
});

test('control packages read back with rpm -qp: requires, provides and conflicts by kind', async () => {
  const ctl = (name: string) => join(built.get(name)!.tree, built.get(name)!.control.path);
  assert.equal(await rpmq(ctl('XS71ECU2001'), '--requires'), ['product-version = 7.1.2', 'xsforge-update(XS71ECU2)']);
  assert.equal(await rpmq(ctl('XS71ECU2001'), '--provides'), ['control-XS71ECU2001 = 1.0-1', 'xsforge-update(XS71ECU2001) = 1.0']);
  assert.equal(await rpmq(ctl('XS71ECU2'), '--requires'), ['product-version = 7.1.2', 'xsforge-update(XS71ECU1)']);
  assert.equal(await rpmq(ctl('XS71ECU1'), '--requires'), ['product-version = 7.1.2']);
  assert.equal(await rpmq(ctl('XS71ECU3'), '--provides'), ['control-XS71ECU3 = 1.0-1', 'xsforge-update(XS71ECU2001) = 1.0', 'xsforge-update(XS71ECU2002) = 1.0', 'xsforge-update(XS71ECU3) = 1.0']);
  assert.equal(await rpmq(ctl('xsforge-demo-nic-driver'), '--requires'), ['kernel-uname-r = 6.1.0_56_amd64']);
  assert.equal(await rpmq(ctl('xsforge-snmp-agent'), '--requires'), ['platform-version = 2.2.0']);
  assert.equal(await rpmq(ctl('XS71ECU2001'), '--conflicts'), []);
  const info = await run(['rpm', '-qp', '--qf', '%{NAME} %{VERSION} %{ARCH}\n', ctl('XS71ECU2001')]);
  assert.is(info.stdout, 'control-XS71ECU2001 1.0 noarch\n');
});

test('a spec with conflicts: rpm -qp --conflicts; the control package\'s file is update.xml byte for byte', async () => {
  const dir = join(work, 'conflicts');
  mkdirSync(dir);
  const file = join(dir, 'spec.yaml');
  writeFileSync(file, readFileSync(join(EXAMPLES, 'XS71ECU2002.yaml'), 'utf8').replace('requires: [XS71ECU2]', 'requires: [XS71ECU2]\nconflicts: [XS71ECU2001]\nrolled_up_by: { name_label: XS71ECU3, version: "1.0" }'));
  const r = await buildUpdate(loadUpdateSpec(file), { out: join(dir, 'out'), log: noLog });
  const control = join(r.tree, r.control.path);
  assert.equal(await rpmq(control, '--conflicts'), ['xsforge-update(XS71ECU2001)']);
  assert.equal(r.update.rolledUpBy, { nameLabel: 'XS71ECU3', uuid: built.get('XS71ECU3')!.update.uuid });
  assert.equal((await rpmq(control, '--list')), ['/var/update', '/var/update/applied', `/var/update/applied/${r.update.uuid}`]);
  const cpioDir = join(dir, 'cpio');
  mkdirSync(cpioDir);
  const payload = (await run(['rpm2cpio', control])).stdoutBytes;
  await run(['cpio', '-idm', '--quiet'], { cwd: cpioDir, input: payload });
  assert.is(readFileSync(join(cpioDir, 'var/update/applied', r.update.uuid), 'utf8'), readFileSync(join(r.tree, 'update.xml'), 'utf8'));
});

test('repodata made by createrepo_c: comps group update with every package, drivers for the driver disk', async () => {
  const reader = (tree: string) => async (p: string) => (existsSync(join(tree, p)) ? readFileSync(join(tree, p)) : undefined);
  const cu3 = await summarizeRepository(reader(built.get('XS71ECU3')!.tree));
  assert.is(cu3.packages, 3);
  assert.equal(cu3.groups, [{ id: 'update', packages: ['xsforge-hostinfo', 'xsforge-netcheck', 'control-XS71ECU3'] }]);
  assert.is(cu3.packagesSigned, 'none');
  const drv = await summarizeRepository(reader(built.get('xsforge-demo-nic-driver')!.tree));
  assert.equal(drv.groups, [
    { id: 'update', packages: ['xsforge-demo-nic-driver', 'control-xsforge-demo-nic-driver'] },
    { id: 'drivers', packages: ['xsforge-demo-nic-driver'] },
  ]);
  const repomd = readFileSync(join(built.get('XS71ECU3')!.tree, 'repodata/repomd.xml'), 'utf8');
  assert.match(repomd, /<data type="group">/);
  assert.match(repomd, /<data type="primary">[\s\S]*?primary\.xml\.gz/);
});

/**
 * dnf's answer to "install WHAT from these repositories" into an empty root
 * (default the group @update): the package names it would fetch, or the failure text.
 */
async function dnfInstallUpdate(repos: string[], what = '@update'): Promise<{ ok: boolean; names: string[]; text: string }> {
  const rootDir = mkdtempSync(join(work, 'dnfroot-'));
  const dl = join(rootDir, 'dl');
  const argv = ['dnf', '-y', '--setopt=reposdir=/dev/null', ...repos.map((r, i) => `--repofrompath=r${i},${r}`), `--installroot=${rootDir}`,
    '--releasever=1', '--nogpgcheck', '--setopt=install_weak_deps=False', `--setopt=cachedir=${join(rootDir, 'cache')}`,
    'install', '--downloadonly', `--downloaddir=${dl}`, what];
  try {
    await run(argv);
    return { ok: true, names: readdirSync(dl).map((f) => f.replace(/-[^-]+-[^-]+\.(noarch|x86_64)\.rpm$/, '')).sort(), text: '' };
  } catch (err) {
    if (!(err instanceof ToolError)) throw err;
    return { ok: false, names: [], text: err.outputTail };
  }
}

test('dnf resolves the prerequisites: a hotfix needs CU2 (which needs CU1); a driver disk needs the kernel; a pack the platform', async () => {
  // the installed product's identity, as packages/product.ts makes it
  const base = join(work, 'base-repo');
  const mk = (name: string, provides: string[], arch: 'noarch' | 'x86_64' = 'noarch') => buildRpm({
    name, version: '1', release: '1', summary: name, license: 'MIT', arch, description: name, provides, requires: [], conflicts: [], obsoletes: [],
    files: [{ from: { text: `${name}\n` }, to: `/usr/share/${name}/id` }], dirs: [], scriptlets: {},
  }, { outDir: join(work, 'base-rpms'), workDir: join(work, 'base-build'), sourceDateEpoch: 1_644_364_800 });
  const rpms = [
    await mk('xenserver-release', ['product-version = 7.1.2', 'platform-version = 2.2.0']),
    await mk('kernel', ['kernel-uname-r = 6.1.0_56_amd64'], 'x86_64'),
    // scriptlets (the driver's depmod) need the shell
    await mk('bash', ['/bin/sh'], 'x86_64'),
  ];
  await assembleRepository({ out: base, work: join(work, 'base-work'), rpms: rpms.map((r) => r.file), sourceDateEpoch: 1_644_364_800, run, log: noLog });
  const tree = (n: string) => built.get(n)!.tree;

  // the precheck: installing the control package (SPEC section 6)
  const missingCu = await dnfInstallUpdate([base, tree('XS71ECU2001')], 'control-XS71ECU2001');
  assert.not.ok(missingCu.ok);
  assert.match(missingCu.text, /nothing provides xsforge-update\(XS71ECU2\) needed by control-XS71ECU2001/);
  const withCus = await dnfInstallUpdate([base, tree('XS71ECU2001'), tree('XS71ECU2'), tree('XS71ECU1')], 'control-XS71ECU2001');
  assert.ok(withCus.ok, withCus.text);
  assert.equal(withCus.names, ['control-XS71ECU1', 'control-XS71ECU2', 'control-XS71ECU2001', 'xenserver-release']);
  // applying: the group of the update's own repository (the CUs' control packages come from theirs)
  const apply = await dnfInstallUpdate([base, tree('XS71ECU1')]);
  assert.equal(apply.names, ['control-XS71ECU1', 'xenserver-release', 'xsforge-hostinfo']);

  const wrongProduct = await dnfInstallUpdate([tree('XS71ECU1')]);
  assert.match(wrongProduct.text, /nothing provides product-version = 7\.1\.2/);

  const driver = await dnfInstallUpdate([base, tree('xsforge-demo-nic-driver')]);
  assert.ok(driver.ok, driver.text);
  assert.equal(driver.names, ['bash', 'control-xsforge-demo-nic-driver', 'kernel', 'xsforge-demo-nic-driver']);
  const pack = await dnfInstallUpdate([base, tree('xsforge-snmp-agent')]);
  assert.equal(pack.names, ['control-xsforge-snmp-agent', 'xenserver-release', 'xsforge-snmp-agent']);
});

test('driver disk: the module is under /lib/modules/<release>/updates, depmod tolerates the placeholder, %post runs depmod only when present', async () => {
  const r = built.get('xsforge-demo-nic-driver')!;
  const mod = r.packages.find((p) => p.modules)!;
  assert.is(mod.name, 'xsforge-demo-nic-driver');
  const file = join(r.tree, mod.path);
  assert.ok((await rpmq(file, '--list')).includes('/lib/modules/6.1.0-56-amd64/updates/xsf_demo_nic.ko'));
  const rootDir = join(work, 'drvroot');
  mkdirSync(rootDir);
  await run(['cpio', '-idm', '--quiet'], { cwd: rootDir, input: (await run(['rpm2cpio', file])).stdoutBytes });
  await run(['depmod', '-b', rootDir, '-a', '6.1.0-56-amd64']);
  assert.match(readFileSync(join(rootDir, 'lib/modules/6.1.0-56-amd64/modules.dep'), 'utf8'), /^updates\/xsf_demo_nic\.ko:/m);

  const post = parseRpm(readFileSync(file)).scriptlets.post!;
  const bin = join(work, 'fakebin');
  mkdirSync(bin);
  const logFile = join(work, 'depmod.log');
  writeFileSync(join(bin, 'depmod'), `#!/bin/sh\necho "$@" >> ${logFile}\n`);
  chmodSync(join(bin, 'depmod'), 0o755);
  await run(['/bin/sh', '-c', post], { env: { PATH: `${bin}:/usr/bin:/bin` } });
  assert.is(readFileSync(logFile, 'utf8'), '-a 6.1.0-56-amd64\n');
  // a root without depmod: the scriptlet still succeeds (an rpm transaction would otherwise fail)
  const empty = join(work, 'emptybin');
  mkdirSync(empty);
  await run(['/bin/sh', '-c', post], { env: { PATH: empty } });
  assert.is(readFileSync(logFile, 'utf8'), '-a 6.1.0-56-amd64\n');
});

test('signed: update.xml.asc and repomd.xml.asc verify with gpgv against the shipped key; rpmkeys -K on every RPM', async () => {
  const spec = loadUpdateSpec(join(EXAMPLES, 'XS71ECU2001.yaml'));
  const r = await buildUpdate(spec, { out: join(work, 'signed-a'), signing: { key: fingerprint, gnupgHome: gnupg }, log: noLog });
  assert.ok(r.signed);
  assert.is(r.keyId, fingerprint.slice(-16));
  assert.equal(readdirSync(r.tree).sort(), ['Packages', 'RPM-GPG-KEY-XS-7', 'repodata', 'update.xml', 'update.xml.asc']);
  const keyring = join(work, 'shipped.gpg');
  writeFileSync(keyring, dearmor(readFileSync(join(r.tree, 'RPM-GPG-KEY-XS-7'), 'latin1')));
  const home = mkdtempSync(join(work, 'gpgv-'));
  for (const [asc, data] of [['update.xml.asc', 'update.xml'], ['repodata/repomd.xml.asc', 'repodata/repomd.xml']]) {
    assert.match(readFileSync(join(r.tree, asc), 'utf8'), /^-----BEGIN PGP SIGNATURE-----/);
    const v = await run(['gpgv', '--homedir', home, '--status-fd', '1', '--keyring', keyring, join(r.tree, asc), join(r.tree, data)]);
    assert.match(v.stdout, new RegExp(`GOODSIG ${fingerprint.slice(-16)}`), asc);
  }
  // a changed update.xml no longer verifies
  const tampered = join(work, 'tampered.xml');
  writeFileSync(tampered, readFileSync(join(r.tree, 'update.xml'), 'utf8').replace('version="1.0"', 'version="9.0"'));
  await rejects(run(['gpgv', '--homedir', home, '--keyring', keyring, join(r.tree, 'update.xml.asc'), tampered]), /BAD signature/, ToolError);
  const dbpath = join(work, 'rpmdb');
  mkdirSync(dbpath);
  await run(['rpmkeys', '--dbpath', dbpath, '--import', join(r.tree, 'RPM-GPG-KEY-XS-7')]);
  for (const p of r.packages) {
    const k = await run(['rpmkeys', '--dbpath', dbpath, '--checksig', '--verbose', join(r.tree, p.path)]);
    assert.match(k.stdout, new RegExp(`Signature, key ID ${fingerprint.slice(-8).toLowerCase()}: OK`), p.path);
    assert.not.match(k.stdout, /NOKEY|BAD|NOT OK/, p.path);
  }
});

test('reproducible: the same spec and key give a byte-identical ISO (signed and unsigned)', async () => {
  const spec = loadUpdateSpec(join(EXAMPLES, 'XS71ECU2001.yaml'));
  const a = await buildUpdate(spec, { out: join(work, 'repro-a'), signing: { key: fingerprint, gnupgHome: gnupg }, log: noLog });
  const b = await buildUpdate(spec, { out: join(work, 'repro-b'), signing: { key: fingerprint, gnupgHome: gnupg }, log: noLog });
  const sha = async (f: string) => (await run(['sha256sum', f])).stdout.split(' ')[0];
  assert.is(await sha(a.iso), await sha(b.iso));
  assert.is(a.isoSha256, await sha(a.iso));
  const u = loadUpdateSpec(join(EXAMPLES, 'xsforge-demo-nic-driver.yaml'));
  const c = await buildUpdate(u, { out: join(work, 'repro-c'), log: noLog });
  assert.is(c.isoSha256, built.get('xsforge-demo-nic-driver')!.isoSha256);
  // and a different epoch changes it (the check can fail)
  const d = await buildUpdate({ ...u, sourceDateEpoch: u.sourceDateEpoch + 86400 }, { out: join(work, 'repro-d'), log: noLog });
  assert.is.not(d.isoSha256, c.isoSha256);
});

test('xorriso lists exactly the tree; volume id from the name-label; no boot records', async () => {
  const r = built.get('xsforge-snmp-agent')!;
  const ls = await run(['xorriso', '-indev', r.iso, '-find', '/', '-type', 'f'], { env: { LC_ALL: 'C' } });
  const onIso = ls.stdout.split('\n').map((l) => l.trim().replace(/^'|'$/g, '')).filter((l) => l.startsWith('/')).sort();
  const inTree = (await run(['find', '.', '-type', 'f'], { cwd: r.tree })).stdout.split('\n').filter(Boolean).map((l) => l.slice(1)).sort();
  assert.equal(onIso, inTree);
  assert.ok(onIso.includes('/update.xml') && onIso.includes('/repodata/repomd.xml') && onIso.includes('/Packages/control-xsforge-snmp-agent-1.0-1.noarch.rpm'), onIso.join('\n'));
  const pvd = await run(['xorriso', '-indev', r.iso, '-pvd_info'], { env: { LC_ALL: 'C' } });
  assert.match(pvd.stdout, /Volume Id\s*:\s*XSFORGE_SNMP_AGENT/);
  assert.match(pvd.stdout, /Creation Time\s*:\s*2022020900000000/);
  const boot = await run(['xorriso', '-indev', r.iso, '-report_el_torito', 'plain'], { env: { LC_ALL: 'C' } });
  assert.not.match(boot.stdout, /El Torito boot img/);
});

test('build inputs: {stage, path} sources come from stageDirs; an unknown stage is named; signing needs a key name', async () => {
  const dir = join(work, 'stage-src');
  mkdirSync(join(dir, 'kernel-out'), { recursive: true });
  writeFileSync(join(dir, 'kernel-out', 'demo.ko'), 'placeholder module\n');
  const text = [
    'kind: driver-disk', 'name_label: stage-driver', 'version: "1"', 'description: From a stage', 'kernel_release: 6.1.0-56-amd64',
    'rpms:', '  packages:', '    - { name: stage-mod, version: "1", summary: s, license: GPLv2, arch: x86_64, description: d,',
    '        files: [{ from: { stage: kernel, path: demo.ko }, to: /lib/modules/6.1.0-56-amd64/updates/demo.ko }] }', '',
  ].join('\n');
  const spec = parseUpdateSpec(text, { file: join(dir, 'spec.yaml') }).spec!;
  assert.ok(spec, 'the spec is valid');
  await rejects(buildUpdate(spec, { out: join(dir, 'out-missing'), log: noLog }), /build stage "kernel", which this build was not given/, XsforgeError);
  assert.not.ok(existsSync(join(dir, 'out-missing', 'stage-driver.iso')));
  assert.equal(readdirSync(join(dir, 'out-missing')), [], 'a failed build leaves nothing in the output directory');
  const r = await buildUpdate(spec, { out: join(dir, 'out'), stageDirs: { kernel: join(dir, 'kernel-out') }, log: noLog });
  const mod = r.packages.find((p) => p.name === 'stage-mod')!;
  const rootDir = join(dir, 'x');
  mkdirSync(rootDir);
  await run(['cpio', '-idm', '--quiet'], { cwd: rootDir, input: (await run(['rpm2cpio', join(r.tree, mod.path)])).stdoutBytes });
  assert.is(readFileSync(join(rootDir, 'lib/modules/6.1.0-56-amd64/updates/demo.ko'), 'utf8'), 'placeholder module\n');
  const { key: _unused, ...noKey } = spec;
  await rejects(buildUpdate(noKey, { out: join(dir, 'out-nokey'), signing: { key: fingerprint, gnupgHome: gnupg }, log: noLog }), /names no key/, XsforgeError);
});

test.run();

// `xsforge update rollup` end to end, run as a process: three signed hotfixes
// (two update the same package, the newer build by rpm's order 1.0-10 > 1.0-2)
// on a previous CU, rolled up into a CU. Checked with real tools: rpm -qp on
// the CU's packages and control package, update.xml read back from the rebuilt
// hotfix ISOs (xorriso), the host tool applying the CU in a scratch root and
// then refusing a rolled-up hotfix, and the CU base-install ISO: its repository
// (xorriso + primary/comps metadata) holds every package once, the control
// packages, and xenserver-release at the bumped version; installing what the
// installer would install (its groups, rpm with dependencies checked) gives a
// root that lists the CUs as applied and refuses the hotfixes as applied too.
// The base ISO reuses the stage cache: only rpms, yum-repo, iso (and the EFI
// image, whose volume seed is the recipe name) are built.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ToolError } from '../../core/errors.ts';
import { run } from '../../core/exec.ts';
import { packagesToInstall } from '../../installer/runtime/packages.ts';
import { parseTreeinfo } from '../../media/treeinfo.ts';
import { buildRpm } from '../../packages/rpmbuild.ts';
import type { RpmSpecInput } from '../../packages/model.ts';
import { parseComps } from '../../repo/comps.ts';
import { decompressMetadata, parsePrimary, parseRepomd } from '../../repo/verify.ts';
import { parseUpdateXml } from '../../updates/update-xml.ts';
import { updateUuid } from '../../updates/model.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '../..');
const SCRIPT = join(ROOT, 'host-tools', 'xsforge-update');
const work = mkdtempSync(join(tmpdir(), 'xsf-rollup-'));
const gnupg = join(work, 'gnupg');
const specs = join(work, 'specs');
const out = join(work, 'out');
const DBPATH = '/var/lib/rpm';
// the default recipe's key name: hosts installed from the base ISO have RPM-GPG-KEY-XS-7 from its key package
const KEY = 'XS-7';
let fingerprint = '';
let result: Record<string, any> = {};
let publicKey = '';

function pkg(name: string, version: string, release: string): string {
  return `  - name: ${name}
    version: "${version}"
    release: "${release}"
    summary: rollup test package ${name}
    license: MIT
    arch: noarch
    description: rollup test package
    files:
      - from: { text: "${name} ${version}-${release}\\n" }
        to: /usr/share/xsforge-rollup-test/${name}
`;
}

function spec(file: string, head: string, packages: string[]): void {
  writeFileSync(join(specs, file), `${head}key: ${KEY}\n${packages.length ? `rpms:\n  packages:\n${packages.join('')}` : ''}`);
}

function xsforge(args: string[]): { code: number; out: string; err: string } {
  const r = spawnSync(join(ROOT, 'bin', 'xsforge'), args, { cwd: ROOT, encoding: 'utf8', env: { ...process.env, SOURCE_DATE_EPOCH: '', GNUPGHOME: gnupg }, maxBuffer: 64 * 1024 * 1024 });
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
}

async function rpmq(file: string, ...q: string[]): Promise<string[]> {
  return (await run(['rpm', '-qp', '--nosignature', ...q, file])).stdout.trim().split('\n').filter(Boolean);
}

async function tool(root: string, ...args: string[]): Promise<{ code: number; out: string }> {
  try {
    return { code: 0, out: (await run(['sh', SCRIPT, '--root', root, ...args])).stdout };
  } catch (e) {
    if (e instanceof ToolError && e.exitCode !== null) return { code: e.exitCode, out: e.outputTail };
    throw e;
  }
}

async function extract(iso: string, dest: string, ...paths: string[]): Promise<void> {
  mkdirSync(dest, { recursive: true });
  const args = paths.flatMap((p) => ['-extract', p, join(dest, p)]);
  await run(['xorriso', '-osirrox', 'on', '-indev', iso, ...args], { env: { LC_ALL: 'C' } });
}

test.before(async () => {
  mkdirSync(gnupg, { mode: 0o700 });
  mkdirSync(specs);
  await run(['gpg', '--batch', '--passphrase', '', '--quick-gen-key', 'xsforge rollup test <rollup@xsforge.invalid>', 'rsa2048', 'sign', 'never'], { env: { GNUPGHOME: gnupg } });
  fingerprint = /^fpr:+([0-9A-F]{40}):/m.exec((await run(['gpg', '--batch', '--with-colons', '--list-secret-keys'], { env: { GNUPGHOME: gnupg } })).stdout)![1];
  publicKey = (await run(['gpg', '--batch', '--armor', '--export', fingerprint], { env: { GNUPGHOME: gnupg } })).stdout;
  spec('cu1.yaml', 'kind: cumulative-update\nname_label: XSRT71CU1\nversion: "1.0"\ndescription: rollup test CU1\nafter_apply_guidance: [restartHost]\n',
    [pkg('rt-demo', '1.0', '1'), pkg('rt-keep', '3.0', '1')]);
  const hotfix = (n: string, what: string) => `kind: hotfix\nname_label: XSRT71CU1${n}\nversion: "1.0"\ndescription: rollup test hotfix ${what}\nrequires: [XSRT71CU1]\n`;
  spec('hf1.yaml', hotfix('001', 'rt-demo 1.0-2'), [pkg('rt-demo', '1.0', '2')]);
  spec('hf2.yaml', hotfix('002', 'rt-tool'), [pkg('rt-tool', '2.0', '1')]);
  spec('hf3.yaml', hotfix('003', 'rt-demo 1.0-10'), [pkg('rt-demo', '1.0', '10')]);
  spec('cu2.yaml', 'kind: cumulative-update\nname_label: XSRT71CU2\nversion: "1.0"\ndescription: rollup test CU2\nafter_apply_guidance: [restartHost]\nrequires: [XSRT71CU1]\nbase_install_product_version: "7.1.3"\n', []);

  const started = Date.now();
  const r = xsforge(['update', 'rollup', join(specs, 'hf1.yaml'), join(specs, 'hf2.yaml'), join(specs, 'hf3.yaml'),
    '--cu', join(specs, 'cu2.yaml'), '--previous', join(specs, 'cu1.yaml'), '--out', out, '--sign-key', fingerprint, '--gnupg-home', gnupg, '--json']);
  assert.is(r.code, 0, r.err);
  result = JSON.parse(r.out);
  console.log(`  rollup with base-install ISO: ${((Date.now() - started) / 1000).toFixed(1)} s`);
});

test.after(async () => {
  await run(['gpgconf', '--kill', 'gpg-agent'], { env: { GNUPGHOME: gnupg } }).catch(() => undefined);
  rmSync(work, { recursive: true, force: true });
});

test('where things are: CU ISO, rolled-up hotfixes, report file (same content as --json), base ISO', () => {
  assert.is(result.cuIso, join(out, 'XSRT71CU2.iso'));
  assert.equal(result.rolledUpIsos, ['XSRT71CU1001', 'XSRT71CU1002', 'XSRT71CU1003'].map((n) => join(out, 'rolled-up', `${n}.iso`)));
  for (const f of [result.cuIso, ...result.rolledUpIsos, result.report, result.baseIso]) assert.ok(existsSync(f), f);
  const report = JSON.parse(readFileSync(result.report, 'utf8'));
  assert.equal(report.plan, result.plan);
  assert.is(result.baseProductVersion, '7.1.3');
  assert.is(result.baseIso, join(out, 'xenserver-7.1.2-xsrt71cu2', 'xenserver-7.1.2-xsrt71cu2.iso'));
});

test('the CU holds the newer rt-demo (1.0-10, not 1.0-2), rt-tool, and the 1.0-2 build is superseded', async () => {
  const tree = join(out, 'XSRT71CU2', 'Packages');
  const files = readdirSync(tree).sort();
  const nevras = (await Promise.all(files.map((f) => rpmq(join(tree, f), '--qf', '%{NAME}-%{VERSION}-%{RELEASE}')))).flat();
  assert.equal(nevras, ['control-XSRT71CU2-1.0-1', 'rt-demo-1.0-10', 'rt-tool-2.0-1']);
  assert.equal(result.plan.superseded, [{ hotfix: 'XSRT71CU1001', name: 'rt-demo', nevra: 'rt-demo-1.0-2.noarch', by: { update: 'XSRT71CU1003', nevra: 'rt-demo-1.0-10.noarch' } }]);
  assert.equal(result.plan.supersededHotfixes, ['XSRT71CU1001']);
  assert.equal(result.plan.changes.updated, [{ name: 'rt-demo', old: 'rt-demo-1.0-1.noarch', new: 'rt-demo-1.0-10.noarch', from: 'XSRT71CU1003' }]);
  assert.equal(result.plan.changes.added.map((c: { new: string }) => c.new), ['rt-tool-2.0-1.noarch']);
  assert.equal(result.plan.changes.carried.map((c: { old: string }) => c.old), ['rt-keep-3.0-1.noarch']);
  // the CU carries the hotfix's own build, byte for byte
  const fromHotfix = readFileSync(join(out, 'rolled-up', 'XSRT71CU1003', 'Packages', 'rt-demo-1.0-10.noarch.rpm'));
  assert.ok(fromHotfix.equals(readFileSync(join(tree, 'rt-demo-1.0-10.noarch.rpm'))));
});

test('the CU control package requires the previous CU and provides every rolled-up hotfix', async () => {
  const control = join(out, 'XSRT71CU2', 'Packages', 'control-XSRT71CU2-1.0-1.noarch.rpm');
  const provides = await rpmq(control, '--provides');
  for (const h of ['XSRT71CU1001', 'XSRT71CU1002', 'XSRT71CU1003', 'XSRT71CU2']) assert.ok(provides.includes(`xsforge-update(${h}) = 1.0`), provides.join('\n'));
  const requires = await rpmq(control, '--requires');
  assert.ok(requires.includes('xsforge-update(XSRT71CU1)'), requires.join('\n'));
  assert.ok(requires.includes('product-version = 7.1.2'), requires.join('\n'));
});

test('rolled-up hotfix ISOs: update.xml (and its signature) carries <rolled-up-by> naming the CU and its uuid', async () => {
  const cuUuid = updateUuid('XSRT71CU2', '1.0');
  for (const iso of result.rolledUpIsos as string[]) {
    const dest = join(work, 'x', iso.split('/').pop()!);
    await extract(iso, dest, '/update.xml', '/update.xml.asc');
    const xml = readFileSync(join(dest, 'update.xml'), 'utf8');
    assert.equal(parseUpdateXml(xml).rolledUpBy, { nameLabel: 'XSRT71CU2', uuid: cuUuid });
    assert.ok(xml.includes(`<rolled-up-by name-label="XSRT71CU2" uuid="${cuUuid}"/>`), xml);
    await run(['gpg', '--batch', '--verify', join(dest, 'update.xml.asc'), join(dest, 'update.xml')], { env: { GNUPGHOME: gnupg } });
  }
});

test('host tool: CU1 then the CU apply; a rolled-up hotfix is then UPDATE_ALREADY_APPLIED naming the CU', async () => {
  const root = mkdtempSync(join(work, 'root-'));
  const base = join(work, 'base-rpms');
  const release: RpmSpecInput = {
    name: 'xenserver-release', version: '7.1.2', release: '1', summary: 'test release', license: 'MIT', arch: 'noarch', description: 'test',
    provides: ['product-version = 7.1.2'], requires: [], conflicts: [], obsoletes: [], files: [], dirs: [], scriptlets: {},
  };
  const built = await buildRpm(release, { outDir: base, workDir: join(base, 'w'), sourceDateEpoch: 1_533_081_600 });
  await run(['rpm', '--root', root, '--dbpath', DBPATH, '--initdb']);
  await run(['rpm', '--root', root, '--dbpath', DBPATH, '-U', '--force-debian', '--nosignature', built.file]);
  mkdirSync(join(root, 'etc/pki/rpm-gpg'), { recursive: true });
  writeFileSync(join(root, 'etc/pki/rpm-gpg', `RPM-GPG-KEY-${KEY}`), publicKey);

  const hf1 = result.rolledUpIsos[0] as string;
  // before the CU the hotfix would apply (CU1 is its prerequisite)
  assert.is((await tool(root, 'apply', join(out, 'previous', 'XSRT71CU1.iso'))).code, 0);
  const pre = await tool(root, 'precheck', hf1);
  assert.is(pre.code, 0, pre.out);
  const cu = await tool(root, 'apply', result.cuIso);
  assert.is(cu.code, 0, cu.out);
  assert.match(cu.out, /^installed: .*rt-demo-1\.0-10/m);
  const refused = await tool(root, 'apply', hf1);
  assert.is(refused.code, 6, refused.out);
  assert.match(refused.out, /^UPDATE_ALREADY_APPLIED: update XSRT71CU1001 1\.0 \([0-9a-f-]+\) is already applied: it is rolled up in XSRT71CU2/m);
  const list = JSON.parse((await tool(root, 'list', '--json')).out) as Array<Record<string, string>>;
  assert.equal(list.map((u) => u['name-label']), ['XSRT71CU1', 'XSRT71CU2']);
});

test('CU base-install ISO: one build per name, the CUs\' packages and control packages, xenserver-release 7.1.3; an install from it has the CUs applied', async () => {
  const iso = result.baseIso as string;
  const dest = join(work, 'base-iso');
  await extract(iso, dest, '/.treeinfo', '/repodata', '/Packages');
  assert.equal(parseTreeinfo(readFileSync(join(dest, '.treeinfo'), 'utf8')).find((s) => s.name === 'branding')!.entries.find(([k]) => k === 'version')?.[1], '7.1.3');
  const repomd = parseRepomd(readFileSync(join(dest, 'repodata', 'repomd.xml'), 'utf8'));
  const href = (type: string) => repomd.data.find((d) => d.type === type)!.href;
  const primary = parsePrimary(decompressMetadata(readFileSync(join(dest, href('primary'))), href('primary')));
  const names = primary.map((p) => p.name);
  assert.equal([...new Set(names)].sort(), [...names].sort(), `a package name twice: ${names.join(', ')}`);
  for (const n of ['control-XSRT71CU1', 'control-XSRT71CU2', 'rt-demo', 'rt-keep', 'rt-tool', 'xenserver-release', 'kernel']) assert.ok(names.includes(n), `${n} missing: ${names.join(', ')}`);
  const demo = primary.find((p) => p.name === 'rt-demo')!;
  assert.is(`${demo.version}-${demo.release}`, '1.0-10');
  const rel = primary.find((p) => p.name === 'xenserver-release')!;
  assert.is(rel.version, '7.1.3');
  const relProvides = await rpmq(join(dest, rel.href), '--provides');
  assert.ok(relProvides.includes('product-version = 7.1.3') && relProvides.includes('product-version = 7.1.2'), relProvides.join('\n'));

  // what the installer installs: its groups, resolved as installer/runtime/packages.ts does
  const groups = parseComps(decompressMetadata(readFileSync(join(dest, href('group_gz'))), href('group_gz')));
  const toInstall = packagesToInstall({ packages: primary, groups });
  for (const n of ['control-XSRT71CU1', 'control-XSRT71CU2', 'rt-demo', 'rt-tool']) assert.ok(toInstall.some((p) => p.name === n), n);
  // installed with dependencies checked (scriptlets off: the scratch root has no shell)
  const root = mkdtempSync(join(work, 'installed-'));
  await run(['rpm', '--root', root, '--dbpath', DBPATH, '--initdb']);
  await run(['rpm', '--root', root, '--dbpath', DBPATH, '--install', '--nosignature', '--noscripts', '--force-debian', ...toInstall.map((p) => join(dest, p.href))]);
  const applied = JSON.parse((await tool(root, 'list', '--json')).out) as Array<Record<string, string>>;
  assert.equal(applied.map((u) => u['name-label']).sort(), ['XSRT71CU1', 'XSRT71CU2']);
  for (const iso of result.rolledUpIsos as string[]) {
    const r = await tool(root, 'precheck', iso);
    assert.is(r.code, 6, r.out);
    assert.match(r.out, /rolled up in XSRT71CU2/);
  }
});

test.run();

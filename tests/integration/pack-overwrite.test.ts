// A supplemental pack that ships files owned by installed product packages
// (issue 8): built with buildUpdate and a throwaway key, offered to the
// installer (installUpdateMedium) and to the host tool (xsforge-update precheck
// / apply --root) over a scratch dom0 root whose product rpm package owns
// /usr/sbin/xsforge-update and whose Debian package (a dpkg file list, merged
// /usr: it says /bin/xsf-debian-tool) owns /usr/bin/xsf-debian-tool. Without
// `overwrites:` both refuse it, naming each file and its owner, and nothing of
// the pack is installed; declaring only the rpm file is still refused for the
// Debian one; with both declared both install it and say what they replaced.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ToolError } from '../../core/errors.ts';
import { run } from '../../core/exec.ts';
import { buildRpm } from '../../packages/rpmbuild.ts';
import { buildUpdate, type BuiltUpdate } from '../../updates/build.ts';
import { loadUpdateSpec } from '../../updates/load.ts';
import { InstallLog } from '../../installer/runtime/log.ts';
import type { FetchEnv } from '../../installer/runtime/fetch.ts';
import { UpdateMediumError, installUpdateMedium, prepareUpdateMedia } from '../../installer/runtime/update-media.ts';

const SCRIPT = join(dirname(dirname(dirname(fileURLToPath(import.meta.url)))), 'host-tools', 'xsforge-update');
const work = mkdtempSync(join(tmpdir(), 'xsf-pack-overwrite-'));
const gnupg = join(work, 'gnupg');
const DBPATH = '/var/lib/rpm';
const OWNED = '/usr/sbin/xsforge-update';
const PRODUCT_TEXT = '#!/bin/sh\necho product tool\n';
const PACK_TEXT = '#!/bin/sh\necho pack tool\n';
const DPKG_OWNED = '/usr/bin/xsf-debian-tool';
const DEBIAN_TEXT = '#!/bin/sh\necho debian tool\n';
const lines: string[] = [];
const built: Record<'undeclared' | 'rpm-only' | 'declared', BuiltUpdate | undefined> = { undeclared: undefined, 'rpm-only': undefined, declared: undefined };
let productRpms: string[] = [];
const targets: string[] = [];

function packSpec(overwrites: string[]): string {
  return [
    'kind: supplemental-pack',
    'name_label: overwrite-pack',
    'version: "1.0"',
    'description: A pack that replaces the product\'s update tool',
    'key: XS-7',
    ...(overwrites.length ? [`overwrites: [${overwrites.join(', ')}]`] : []),
    'rpms:',
    '  packages:',
    '    - name: overwrite-pack-tool',
    '      version: "1.0"',
    '      summary: A replacement update tool',
    '      license: MIT',
    '      arch: noarch',
    '      description: Ships a file the product package xsforge-update owns.',
    '      files:',
    `        - { from: { text: ${JSON.stringify(PACK_TEXT)} }, to: ${OWNED}, mode: "0755" }`,
    `        - { from: { text: ${JSON.stringify(PACK_TEXT)} }, to: ${DPKG_OWNED}, mode: "0755" }`,
    '',
  ].join('\n');
}

function env(name: string): FetchEnv {
  return {
    log: new InstallLog({ line: (t = '') => lines.push(t) }, join(work, `${name}.log`)),
    workDir: join(work, `w-${name}`), sysRoot: join(work, 'no-sys'), devRoot: join(work, 'no-dev'), excludeDisks: [], mounted: [],
  };
}

const rpmIn = (root: string, ...args: string[]) => run(['rpm', '--root', root, '--dbpath', DBPATH, ...args]);

/**
 * A scratch dom0: the product release (platform-version) and xsforge-update
 * owning OWNED; a Debian package owning DPKG_OWNED by its merged-/usr name
 * (and OWNED too, which rpm's owner decides, as for the product kernel's
 * /boot/vmlinuz-*); the pack's key installed for the host tool.
 */
async function productRoot(name: string): Promise<string> {
  const root = join(work, name);
  targets.push(root);
  mkdirSync(join(root, 'var/lib/rpm'), { recursive: true });
  await rpmIn(root, '--initdb');
  await rpmIn(root, '-U', '--force-debian', '--nosignature', ...productRpms);
  mkdirSync(join(root, 'etc/pki/rpm-gpg'), { recursive: true });
  writeFileSync(join(root, 'etc/pki/rpm-gpg/RPM-GPG-KEY-XS-7'), readFileSync(join(built.declared!.tree, 'RPM-GPG-KEY-XS-7')));
  mkdirSync(join(root, 'usr/bin'), { recursive: true });
  symlinkSync('usr/bin', join(root, 'bin'));
  writeFileSync(join(root, DPKG_OWNED), DEBIAN_TEXT, { mode: 0o755 });
  mkdirSync(join(root, 'var/lib/dpkg/info'), { recursive: true });
  writeFileSync(join(root, 'var/lib/dpkg/info/xsf-debian-tools:amd64.list'), `/.\n/bin\n/bin/xsf-debian-tool\n${OWNED}\n`);
  writeFileSync(join(root, 'var/lib/dpkg/info/other.list'), '/.\n/usr\n/usr/share/doc/other/README\n');
  return root;
}

async function isInstalled(root: string, name: string): Promise<boolean> {
  return rpmIn(root, '-q', name).then(() => true, () => false);
}

async function tool(root: string, ...args: string[]): Promise<{ code: number; out: string }> {
  try {
    const r = await run(['sh', SCRIPT, '--root', root, ...args], { env: { TMPDIR: join(work, 'tool-tmp') } });
    return { code: 0, out: r.stdout };
  } catch (e) {
    if (e instanceof ToolError && e.exitCode !== null) return { code: e.exitCode, out: e.outputTail };
    throw e;
  }
}

test.before(async () => {
  try {
    mkdirSync(gnupg, { mode: 0o700 });
    mkdirSync(join(work, 'tool-tmp'));
    await run(['gpg', '--batch', '--passphrase', '', '--quick-gen-key', 'xsforge overwrite test <ovw@xsforge.invalid>', 'rsa2048', 'sign', 'never'], { env: { GNUPGHOME: gnupg } });
    const fpr = /^fpr:+([0-9A-F]{40}):/m.exec((await run(['gpg', '--batch', '--with-colons', '--list-secret-keys'], { env: { GNUPGHOME: gnupg } })).stdout)![1]!;
    const signing = { key: fpr, gnupgHome: gnupg };
    for (const [which, overwrites] of [['undeclared', []], ['rpm-only', [OWNED]], ['declared', [OWNED, DPKG_OWNED]]] as const) {
      const spec = join(work, which, 'pack.yaml');
      mkdirSync(dirname(spec), { recursive: true });
      writeFileSync(spec, packSpec([...overwrites]));
      built[which] = await buildUpdate(loadUpdateSpec(spec), { out: join(work, which, 'out'), signing, log: () => {} });
    }
    const rpms = join(work, 'product-rpms');
    const product = (name: string, provides: string[], files: { text: string; to: string }[]) => buildRpm({
      name, version: '1', release: '1', summary: `stand-in ${name}`, license: 'MIT', arch: 'noarch', description: 'stand-in',
      provides, requires: [], conflicts: [], obsoletes: [], dirs: [],
      files: files.map((f) => ({ from: { text: f.text }, to: f.to, mode: 0o755 })), scriptlets: {},
    }, { outDir: rpms, workDir: join(work, `rpmbuild-${name}`), sourceDateEpoch: 1_533_081_600 });
    productRpms = [
      (await product('xenserver-release', ['product-version = 7.1.2', 'platform-version = 2.2.0'], [])).file,
      (await product('xsforge-update', [], [{ text: PRODUCT_TEXT, to: OWNED }])).file,
    ];
  } catch (e) {
    // uvu reports a failing hook without its error
    console.error(e);
    throw e;
  }
});

test.after(async () => {
  await run(['gpgconf', '--kill', 'gpg-agent'], { env: { GNUPGHOME: gnupg } }).catch(() => undefined);
  for (const t of targets) for (const b of ['proc', 'dev']) await run(['umount', join(t, b)]).catch(() => undefined);
  rmSync(work, { recursive: true, force: true });
});

test('update.xml carries the declaration only when there is one', () => {
  assert.is(built.undeclared!.update.overwrites, undefined);
  assert.not.match(built.undeclared!.updateXml, 'overwrites');
  assert.equal(built.declared!.update.overwrites, [OWNED, DPKG_OWNED]);
  assert.match(readFileSync(join(built.declared!.tree, 'update.xml'), 'utf8'), `<overwrites>\n    <file path="${OWNED}"/>\n    <file path="${DPKG_OWNED}"/>\n  </overwrites>`);
});

test('installer: an undeclared product file is refused with the file and its owner, and nothing of the pack is installed', async () => {
  const e = env('undeclared');
  const [m] = await prepareUpdateMedia(e, [{ type: 'url', address: `file://${built.undeclared!.tree}` }], 'supplemental pack');
  const target = await productRoot('installer-undeclared');
  const err = await installUpdateMedium(e, m!, target).then(() => undefined, (x: unknown) => x);
  assert.instance(err, UpdateMediumError, `expected an UpdateMediumError, got ${String(err)}`);
  const msg = (err as UpdateMediumError).message;
  assert.match(msg, /^The supplemental pack overwrite-pack \(file:\/\/[^)]+\) would overwrite 2 files of installed packages: /);
  assert.match(msg, `${OWNED} (owned by xsforge-update-1-1.noarch, shipped by overwrite-pack-tool-1.0-1.noarch); ${DPKG_OWNED} (owned by xsf-debian-tools (Debian package), shipped by overwrite-pack-tool-1.0-1.noarch).`);
  assert.match(String((err as UpdateMediumError).hint), /overwrites:/);
  assert.not.ok(await isInstalled(target, 'overwrite-pack-tool'), 'the payload is not installed');
  assert.not.ok(await isInstalled(target, 'control-overwrite-pack'), 'the control package is not installed');
  assert.is(readFileSync(join(target, OWNED), 'utf8'), PRODUCT_TEXT, 'the product file is untouched');
  assert.is(readFileSync(join(target, DPKG_OWNED), 'utf8'), DEBIAN_TEXT, 'the Debian file is untouched');
});

test('installer: declaring the rpm file only is still refused for the Debian package\'s file', async () => {
  const e = env('rpm-only');
  const [m] = await prepareUpdateMedia(e, [{ type: 'url', address: `file://${built['rpm-only']!.tree}` }], 'supplemental pack');
  const target = await productRoot('installer-rpm-only');
  const err = await installUpdateMedium(e, m!, target).then(() => undefined, (x: unknown) => x);
  assert.instance(err, UpdateMediumError, `expected an UpdateMediumError, got ${String(err)}`);
  assert.match((err as UpdateMediumError).message, `would overwrite a file of installed packages: ${DPKG_OWNED} (owned by xsf-debian-tools (Debian package), shipped by overwrite-pack-tool-1.0-1.noarch).`);
  assert.not.ok(await isInstalled(target, 'overwrite-pack-tool'));
  assert.is(readFileSync(join(target, DPKG_OWNED), 'utf8'), DEBIAN_TEXT);
});

test('installer: a declared product file is replaced with --replacefiles, and the log names it', async () => {
  const e = env('declared');
  const [m] = await prepareUpdateMedia(e, [{ type: 'url', address: `file://${built.declared!.tree}` }], 'supplemental pack');
  const target = await productRoot('installer-declared');
  const r = await installUpdateMedium(e, m!, target);
  assert.equal(r.nevras.sort(), ['control-overwrite-pack-1.0-1.noarch', 'overwrite-pack-tool-1.0-1.noarch']);
  assert.is(readFileSync(join(target, OWNED), 'utf8'), PACK_TEXT);
  assert.is(readFileSync(join(target, DPKG_OWNED), 'utf8'), PACK_TEXT);
  assert.match(lines.join('\n'), /The supplemental pack overwrite-pack \(file:\/\/[^)]+\) replaced \/usr\/sbin\/xsforge-update of xsforge-update-1-1\.noarch \(declared in its overwrites\)/);
  assert.match(lines.join('\n'), /The supplemental pack overwrite-pack \(file:\/\/[^)]+\) replaced \/usr\/bin\/xsf-debian-tool of xsf-debian-tools \(Debian package\) \(declared in its overwrites\)/);
  const owners = (await rpmIn(target, '-qf', OWNED)).stdout.trim().split('\n').sort();
  assert.ok(owners.includes('overwrite-pack-tool-1.0-1.noarch'), owners.join(' '));
});

test('host tool: precheck of the undeclared pack is CONFLICT_PRESENT (exit 10) naming the file and owner; the declared one applies', async () => {
  const root = await productRoot('host');
  const bad = await tool(root, 'precheck', built.undeclared!.tree);
  assert.is(bad.code, 10, bad.out);
  assert.match(bad.out, /^CONFLICT_PRESENT: update overwrite-pack would overwrite files of installed packages: \/usr\/sbin\/xsforge-update \(owned by xsforge-update-1-1\.noarch, shipped by overwrite-pack-tool-1\.0-1\.noarch\)/m);
  assert.match(bad.out, /overwrites:/);
  const badApply = await tool(root, 'apply', built.undeclared!.tree);
  assert.is(badApply.code, 10, badApply.out);
  assert.not.ok(await isInstalled(root, 'overwrite-pack-tool'));
  assert.is(readFileSync(join(root, OWNED), 'utf8'), PRODUCT_TEXT);

  // the rpm file declared, the Debian one not: refused by the dpkg file lists
  const half = await tool(root, 'precheck', built['rpm-only']!.tree);
  assert.is(half.code, 10, half.out);
  assert.match(half.out, /^CONFLICT_PRESENT: update overwrite-pack would overwrite files of installed packages: \/usr\/bin\/xsf-debian-tool \(owned by xsf-debian-tools \(Debian package\), shipped by overwrite-pack-tool-1\.0-1\.noarch\) \(a pack/m);
  assert.is(readFileSync(join(root, DPKG_OWNED), 'utf8'), DEBIAN_TEXT);

  // the same name-label and uuid: the staged undeclared copy is replaced by the upload of the declared one
  const ok = await tool(root, 'precheck', built.declared!.tree);
  assert.is(ok.code, 0, ok.out);
  assert.match(ok.out, /^OK: update overwrite-pack 1\.0/m);
  const applied = await tool(root, 'apply', built.declared!.tree);
  assert.is(applied.code, 0, applied.out);
  assert.match(applied.out, /^replaced \(declared in overwrites\): \/usr\/sbin\/xsforge-update of xsforge-update-1-1\.noarch; \/usr\/bin\/xsf-debian-tool of xsf-debian-tools \(Debian package\)$/m);
  assert.is(readFileSync(join(root, DPKG_OWNED), 'utf8'), PACK_TEXT);
  assert.is(readFileSync(join(root, OWNED), 'utf8'), PACK_TEXT);
  assert.ok(await isInstalled(root, 'control-overwrite-pack'));
});

test.run();

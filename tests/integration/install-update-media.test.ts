// The installer's supplemental-pack and driver-disk steps (installer/runtime/
// update-media.ts) on this host: update media built from examples/updates/ with
// buildUpdate and a throwaway key, one served over loopback HTTP (fetched with
// curl like a remote pack, each fetch logged), one read from a directory
// (file://); verified, installed with rpm --root into a scratch root whose rpm
// database holds a stand-in product (product-version, platform-version,
// kernel-uname-r), and a driver disk's modules unpacked and offered to modprobe
// (the example's .ko is a placeholder text file: it must fail to load as a
// warning, not an error). Failures: an unmet platform-version names the pack and
// the requirement; a tampered update.xml fails its signature; a medium without
// update.xml is refused.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createServer, type Server } from 'node:http';
import { copyFileSync, cpSync, createReadStream, existsSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { release, tmpdir } from 'node:os';
import { dirname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import { run } from '../../core/exec.ts';
import { buildRpm } from '../../packages/rpmbuild.ts';
import { kernelUnameRVersion } from '../../packages/product.ts';
import { buildUpdate, type BuiltUpdate } from '../../updates/build.ts';
import { loadUpdateSpec } from '../../updates/load.ts';
import { InstallLog } from '../../installer/runtime/log.ts';
import type { FetchEnv } from '../../installer/runtime/fetch.ts';
import {
  UpdateMediumError, checkKeyNames, installUpdateMedium, loadDriverModules, prepareUpdateMedia, type UpdateMedium,
} from '../../installer/runtime/update-media.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '../..');
const EXAMPLES = join(root, 'examples/updates');
const work = mkdtempSync(join(tmpdir(), 'xsf-install-updates-'));
const gnupg = join(work, 'gnupg');
const KERNEL = release();
const lines: string[] = [];
let server: Server;
let baseUrl = '';
const built: Record<string, BuiltUpdate> = {};
const timings: string[] = [];

function env(name: string): FetchEnv {
  const logFile = join(work, `${name}.log`);
  return {
    log: new InstallLog({ line: (t = '') => lines.push(t) }, logFile),
    workDir: join(work, `w-${name}`), sysRoot: join(work, 'no-sys'), devRoot: join(work, 'no-dev'), excludeDisks: [], mounted: [],
  };
}

/** Serves `work/http/` (binary files, 404 otherwise). */
function serveDir(dir: string): Promise<string> {
  server = createServer((req, res) => {
    const rel = normalize(decodeURIComponent((req.url ?? '/').split('?')[0]!)).replace(/^\/+/, '');
    const path = join(dir, rel);
    if (rel.startsWith('..') || !existsSync(path) || !statSync(path).isFile()) { res.writeHead(404).end(); return; }
    res.writeHead(200, { 'content-length': statSync(path).size });
    createReadStream(path).pipe(res);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(server.address() as { port: number }).port}`)));
}

/**
 * A scratch dom0 whose rpm database has what update media require: the
 * product's identity and kernel, and a /bin/sh (the host's dash and its
 * libraries) for the driver package's depmod scriptlet, which rpm runs chrooted.
 */
async function scratchTarget(name: string): Promise<string> {
  const target = join(work, name);
  mkdirSync(join(target, 'var/lib/rpm'), { recursive: true });
  const shell = readlinkSync('/bin/sh').startsWith('/') ? readlinkSync('/bin/sh') : join('/bin', readlinkSync('/bin/sh'));
  const libs = [...(await run(['ldd', shell])).stdout.matchAll(/(\/\S+\.so[.\d]*)/g)].map((m) => m[1]!);
  for (const f of [shell, ...libs]) {
    mkdirSync(join(target, dirname(f)), { recursive: true });
    copyFileSync(f, join(target, f));
  }
  if (!existsSync(join(target, 'bin/sh'))) symlinkSync(shell, join(target, 'bin/sh'));
  const rpms = join(work, 'stand-in-rpms');
  const files: string[] = [];
  if (!existsSync(rpms)) mkdirSync(rpms);
  for (const [pkgName, provides] of [
    // the real dom0's base package owns /bin/sh (dom0-base-debian)
    ['xenserver-release', ['product-version = 7.1.2', 'platform-version = 2.2.0', '/bin/sh']],
    ['kernel', [`kernel-uname-r = ${kernelUnameRVersion(KERNEL)}`]],
  ] as const) {
    const b = await buildRpm({
      name: pkgName, version: '1', release: '1', summary: `stand-in ${pkgName}`, license: 'MIT', arch: 'noarch', description: 'stand-in',
      provides: [...provides], requires: [], conflicts: [], obsoletes: [], files: [], dirs: [`/usr/share/${pkgName}`], scriptlets: {},
    }, { outDir: rpms, workDir: join(work, `rpmbuild-${pkgName}`), sourceDateEpoch: 1_533_081_600 });
    files.push(b.file);
  }
  await run(['rpm', '--root', target, '--dbpath', '/var/lib/rpm', '--install', '--nodeps', '--force-debian', ...files]);
  return target;
}

async function rejects(p: Promise<unknown>, re: RegExp): Promise<Error> {
  const err = await p.then(() => undefined, (e: unknown) => e);
  assert.instance(err, UpdateMediumError, `expected an UpdateMediumError, got ${String(err)}`);
  assert.match((err as Error).message, re);
  return err as Error;
}

test.before(async () => {
  try {
    await setup();
  } catch (e) {
    // uvu reports a failing hook without its error
    console.error(e);
    throw e;
  }
});

async function setup(): Promise<void> {
  const t0 = Date.now();
  mkdirSync(gnupg, { mode: 0o700 });
  await run(['gpg', '--batch', '--passphrase', '', '--quick-gen-key', 'xsforge pack test <pack@xsforge.invalid>', 'rsa2048', 'sign', 'never'], { env: { GNUPGHOME: gnupg } });
  const fpr = /^fpr:+([0-9A-F]{40}):/m.exec((await run(['gpg', '--batch', '--with-colons', '--list-secret-keys'], { env: { GNUPGHOME: gnupg } })).stdout)![1]!;
  const signing = { key: fpr, gnupgHome: gnupg };
  const http = join(work, 'http');
  built.pack = await buildUpdate(loadUpdateSpec(join(EXAMPLES, 'xsforge-snmp-agent.yaml')), { out: http, signing, log: () => {} });
  // the example names its kernel in the module paths too: the copy is for the kernel this host runs
  const driverSpec = join(work, 'xsforge-demo-nic-driver.yaml');
  writeFileSync(driverSpec, readFileSync(join(EXAMPLES, 'xsforge-demo-nic-driver.yaml'), 'utf8').replaceAll('6.1.0-56-amd64', KERNEL));
  built.driver = await buildUpdate(loadUpdateSpec(driverSpec), { out: join(work, 'local'), signing, log: () => {} });
  built.newerPlatform = await buildUpdate(loadUpdateSpec(join(EXAMPLES, 'xsforge-snmp-agent.yaml'), { platformVersion: '9.9.9' }), { out: join(work, 'other'), signing, log: () => {} });
  baseUrl = await serveDir(http);
  timings.push(`3 update media built in ${Date.now() - t0} ms`);
}

test.after(async () => {
  server?.close();
  await run(['gpgconf', '--kill', 'gpg-agent'], { env: { GNUPGHOME: gnupg } }).catch(() => undefined);
  for (const m of ['t1', 't2'].map((t) => join(work, t))) {
    for (const b of ['proc', 'dev']) await run(['umount', join(m, b)]).catch(() => undefined);
  }
  if (!process.env.XSF_KEEP) rmSync(work, { recursive: true, force: true });
  console.log(timings.join('\n'));
});

test('a signed pack over HTTP and a driver disk from a directory: fetched (logged with sha256), verified, installed in one transaction each', async () => {
  const e = env('good');
  const t0 = Date.now();
  const drivers = await prepareUpdateMedia(e, [{ type: 'url', address: `file://${built.driver!.tree}` }], 'driver disk');
  const packs = await prepareUpdateMedia(e, [{ type: 'url', address: `${baseUrl}/xsforge-snmp-agent/` }], 'supplemental pack', drivers);
  timings.push(`fetch+verify: ${Date.now() - t0} ms`);
  const log = readFileSync(join(work, 'good.log'), 'utf8');
  // every file of the remote pack arrived through a logged fetch
  for (const rel of ['update.xml', 'update.xml.asc', 'RPM-GPG-KEY-XS-7', 'repodata/repomd.xml', 'repodata/repomd.xml.asc']) {
    assert.match(log, new RegExp(`fetched ${baseUrl}/xsforge-snmp-agent/${rel.replace(/\./g, '\\.')}: \\d+ bytes, sha256 [0-9a-f]{64}`), rel);
  }
  assert.match(log, /fetched http:\/\/[^ ]+\/Packages\/xsforge-snmp-agent-1\.0\.3-1\.noarch\.rpm: \d+ bytes, sha256 [0-9a-f]{64}/);
  const [pack] = packs;
  const [driver] = drivers;
  assert.ok(pack && driver);
  assert.ok(pack.signed && driver.signed);
  assert.is(pack.update.nameLabel, 'xsforge-snmp-agent');
  assert.equal(pack.install.map((p) => p.name).sort(), ['control-xsforge-snmp-agent', 'xsforge-snmp-agent']);
  assert.equal(driver.install.map((p) => p.name).sort(), ['control-xsforge-demo-nic-driver', 'xsforge-demo-nic-driver']);
  assert.match(lines.join('\n'), /supplemental pack xsforge-snmp-agent \(http:[^)]+\) is signed: update\.xml and repomd\.xml verified with RPM-GPG-KEY-XS-7/);

  // modules: the placeholder .ko is found, copied for the running kernel, and fails to load as a warning
  const modulesBase = join(work, 'modules-base');
  const loaded = await loadDriverModules({ ...e, modulesBase, kernelRelease: KERNEL }, driver);
  assert.equal(loaded.map((m) => [m.name, m.release, m.loaded]), [['xsf_demo_nic', KERNEL, false]]);
  assert.ok(existsSync(join(modulesBase, 'lib/modules', KERNEL, 'updates/xsf_demo_nic.ko')), 'copied where modprobe looks');
  assert.ok(existsSync(join(modulesBase, 'lib/modules', KERNEL, 'modules.dep')), 'depmod ran on the copy');
  assert.match(lines.join('\n'), /warning: module xsf_demo_nic of the driver disk xsforge-demo-nic-driver \([^)]+\) did not load \(.+\); the install goes on without it/);
  const other = await loadDriverModules({ ...e, modulesBase, kernelRelease: '0.0.0-other' }, driver);
  assert.equal(other.map((m) => [m.loaded, m.reason]), [[false, `built for kernel ${KERNEL}, the installer runs 0.0.0-other`]]);

  const target = await scratchTarget('t1');
  const t1 = Date.now();
  const installedDriver = await installUpdateMedium(e, driver, target);
  const installedPack = await installUpdateMedium(e, pack, target);
  timings.push(`install driver + pack into a scratch root: ${Date.now() - t1} ms`);
  assert.equal(installedPack.nevras.sort(), ['control-xsforge-snmp-agent-1.0-1.noarch', 'xsforge-snmp-agent-1.0.3-1.noarch']);
  assert.is(installedPack.applied, `/var/update/applied/${built.pack!.update.uuid}`);
  assert.is(readFileSync(join(target, installedPack.applied), 'utf8'), built.pack!.updateXml, 'the applied record is update.xml, from the control package');
  assert.ok(existsSync(join(target, installedDriver.applied)));
  assert.ok(existsSync(join(target, 'lib/modules', KERNEL, 'updates/xsf_demo_nic.ko')), 'the driver package is in the target');
  assert.is(readFileSync(join(target, 'etc/pki/rpm-gpg/RPM-GPG-KEY-XS-7'), 'utf8'), readFileSync(join(built.pack!.tree, 'RPM-GPG-KEY-XS-7'), 'utf8'),
    'the pack\'s key is installed for xsforge-update');
  const owner = (await run(['rpm', '--root', target, '--dbpath', '/var/lib/rpm', '-qf', `/var/update/applied/${built.pack!.update.uuid}`])).stdout.trim();
  assert.is(owner, 'control-xsforge-snmp-agent-1.0-1.noarch');
  const keys = (await run(['rpm', '--root', target, '--dbpath', '/var/lib/rpm', '-q', 'gpg-pubkey'])).stdout.trim();
  assert.match(keys, /^gpg-pubkey-/, 'the key is in the target\'s rpm database (signed packages were checked with it)');
});

test('refusals: unmet platform-version names the pack and the requirement; tampered update.xml; not an update medium; the same pack twice; a key named like the product\'s', async () => {
  const e = env('bad');
  const [newer] = await prepareUpdateMedia(e, [{ type: 'url', address: `file://${built.newerPlatform!.tree}` }], 'supplemental pack');
  const target = await scratchTarget('t2');
  await rejects(installUpdateMedium(e, newer!, target),
    /^The supplemental pack xsforge-snmp-agent \(file:\/\/[^)]+\) cannot be installed on this host: control-xsforge-snmp-agent-1\.0-1\.noarch requires platform-version = 9\.9\.9, which this installation does not provide\.$/);
  assert.not.ok(existsSync(join(target, 'var/update/applied', built.newerPlatform!.update.uuid)), 'nothing recorded');
  const q = await run(['rpm', '--root', target, '--dbpath', '/var/lib/rpm', '-q', 'xsforge-snmp-agent']).then(() => 'installed', () => 'absent');
  assert.is(q, 'absent', 'one transaction: the payload is not installed either');

  const tampered = join(work, 'tampered');
  cpSync(built.pack!.tree, tampered, { recursive: true });
  writeFileSync(join(tampered, 'update.xml'), readFileSync(join(tampered, 'update.xml'), 'utf8').replace('restartXAPI', 'restartHost'));
  await rejects(prepareUpdateMedia(e, [{ type: 'url', address: `file://${tampered}` }], 'supplemental pack'),
    /supplemental pack xsforge-snmp-agent \(file:\/\/[^)]+\): update\.xml\.asc does not verify with RPM-GPG-KEY-XS-7 \(gpgv: BADSIG/);

  const notUpdate = join(work, 'not-an-update');
  cpSync(built.pack!.tree, notUpdate, { recursive: true });
  rmSync(join(notUpdate, 'update.xml'));
  await rejects(prepareUpdateMedia(e, [{ type: 'url', address: `file://${notUpdate}` }], 'supplemental pack'), /is not an update medium: it has no update\.xml/);
  await rejects(prepareUpdateMedia(e, [{ type: 'url', address: `${baseUrl}/no-such-pack` }], 'supplemental pack'),
    /The supplemental pack http:\/\/[^ ]+\/no-such-pack is not an update medium: .*update\.xml could not be fetched/);

  const twice = [{ type: 'url' as const, address: `file://${built.pack!.tree}` }, { type: 'url' as const, address: `${baseUrl}/xsforge-snmp-agent` }];
  await rejects(prepareUpdateMedia(e, twice, 'supplemental pack'), /is the same update as supplemental pack xsforge-snmp-agent/);

  const [pack] = await prepareUpdateMedia(e, [{ type: 'url', address: `file://${built.pack!.tree}` }], 'supplemental pack');
  const productKey = join(work, 'product-key', 'RPM-GPG-KEY-XS-7');
  mkdirSync(dirname(productKey), { recursive: true });
  writeFileSync(productKey, 'another key\n');
  assert.throws(() => checkKeyNames([pack as UpdateMedium], [productKey]), /signed with a key named RPM-GPG-KEY-XS-7 that is not the product's key of that name/);
  checkKeyNames([pack as UpdateMedium], [join(built.pack!.tree, 'RPM-GPG-KEY-XS-7')]);
});

test.run();

// Real rpmbuild on small packages: the bytes are the same from two work
// directories, rpm itself agrees with our header reader, the digests check,
// the payload holds the files with their modes, a key id survives rpmsign,
// and the product package set builds as a cached stage from upstream outputs.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { StageCache } from '../../core/cache.ts';
import { runGraph } from '../../core/engine.ts';
import type { BuildEvent } from '../../core/events.ts';
import { run } from '../../core/exec.ts';
import { defineStage } from '../../core/stage.ts';
import type { RpmSpecInput } from '../../packages/model.ts';
import { productRpmSpecs } from '../../packages/product.ts';
import { formatDependency, formatRpmInfo, parseRpm, type RpmInfo } from '../../packages/rpm-header.ts';
import { buildRpm, rpmPackagesStage, RPMS_MANIFEST, type RpmsManifestEntry } from '../../packages/rpmbuild.ts';

const EPOCH = 1700000000;
const work = mkdtempSync(join(tmpdir(), 'xsf-rpm-'));
test.after(async () => {
  await run(['gpgconf', '--kill', 'gpg-agent'], { env: { GNUPGHOME: join(work, 'gnupg') } }).catch(() => {});
  rmSync(work, { recursive: true, force: true });
});

const src = join(work, 'src');
mkdirSync(src);
// a little binary-looking content, a script and a config file
writeFileSync(join(src, 'tool'), Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919) % 251)));
writeFileSync(join(src, 'tool.conf'), 'level = 3\n');

const TOOLS: RpmSpecInput = {
  name: 'xsf-test-tools', version: '1.2.3', release: '4', arch: 'x86_64', license: 'MIT',
  summary: '100% real %{name} %(id)', url: 'https://example.com/%41',
  description: 'Tools for tests.\nDiscount: 50% off %{_topdir}\n  indented line',
  provides: ['xsf-test-cap = 2.0', 'kernel-uname-r = 6.1.0_28_amd64'],
  requires: ['/bin/sh', 'glibc >= 2.17'], conflicts: ['xsf-old-tools < 1.0'], obsoletes: ['xsf-legacy'],
  files: [
    { from: join(src, 'tool'), to: '/usr/bin/xsf-tool', mode: 0o755 },
    { from: join(src, 'tool.conf'), to: '/etc/xsf/tool.conf', mode: 0o640, config: true },
    { from: { text: 'inline text\n' }, to: '/usr/share/xsf/readme' },
  ],
  dirs: ['/etc/xsf', '/usr/share/xsf'],
  scriptlets: { post: 'echo "installed at $(date +%s)"', postun: ':' },
};

const q = async (file: string, fmt: string) => (await run(['rpm', '-qp', '--queryformat', fmt, file])).stdout;

let built: { file: string; sha256: string; nevra: string };
let info: RpmInfo;

test('two builds from different work directories and source mtimes give identical bytes', async () => {
  const t0 = Date.now();
  built = await buildRpm(TOOLS, { outDir: join(work, 'out-a'), workDir: join(work, 'work-a'), sourceDateEpoch: EPOCH });
  const t1 = Date.now();
  utimesSync(join(src, 'tool'), 2000000000, 2000000000);
  chmodSync(join(src, 'tool.conf'), 0o600); // the model's mode wins, not the source's
  const again = await buildRpm(TOOLS, { outDir: join(work, 'out-b'), workDir: join(work, 'work-b-longer-path'), sourceDateEpoch: EPOCH });
  console.log(`  rpmbuild: ${t1 - t0} ms, then ${Date.now() - t1} ms`);
  assert.is(built.nevra, 'xsf-test-tools-1.2.3-4.x86_64');
  assert.is(built.file, join(work, 'out-a', 'xsf-test-tools-1.2.3-4.x86_64.rpm'));
  assert.is(again.sha256, built.sha256);
  assert.ok(readFileSync(again.file).equals(readFileSync(built.file)));
  const other = await buildRpm(TOOLS, { outDir: join(work, 'out-c'), workDir: join(work, 'work-c'), sourceDateEpoch: EPOCH + 86400 });
  assert.is.not(other.sha256, built.sha256, 'the epoch is in the bytes (build time, changelog)');
  info = parseRpm(readFileSync(built.file));
  // no build path or host name in the header (the payload holds only our files)
  const headerBytes = readFileSync(built.file).subarray(0, info.payloadOffset);
  assert.not.ok(headerBytes.includes(work), 'work directory in the header');
  if (hostname().length >= 4) assert.not.ok(headerBytes.includes(hostname()), 'host name in the header');
});

test('rpm -qp agrees with our reader: identity, dependencies, files, modes, digests', async () => {
  const [name, version, release, arch, summary, license, buildtime, buildhost, size, compressor, url] =
    (await q(built.file, '%{NAME}\\n%{VERSION}\\n%{RELEASE}\\n%{ARCH}\\n%{SUMMARY}\\n%{LICENSE}\\n%{BUILDTIME}\\n%{BUILDHOST}\\n%{SIZE}\\n%{PAYLOADCOMPRESSOR}\\n%{URL}\\n')).split('\n');
  assert.equal([info.name, info.version, info.release, info.arch, info.summary, info.license, info.url],
    [name, version, release, arch, summary, license, url]);
  assert.equal([info.buildTime, info.buildHost, info.size, info.payloadCompressor], [Number(buildtime), buildhost, Number(size), compressor]);
  // the escaped free text came through literally, and the epoch and pinned host are in the header
  assert.equal([summary, url, Number(buildtime), buildhost, compressor], ['100% real %{name} %(id)', 'https://example.com/%41', EPOCH, 'xsforge', 'xz']);
  assert.is(await q(built.file, '%{DESCRIPTION}'), TOOLS.description);
  assert.is(info.description, TOOLS.description);

  const lines = async (tag: string) => (await q(built.file, `[%{${tag}NAME} %{${tag}FLAGS:depflags} %{${tag}VERSION}\\n]`))
    .split('\n').filter(Boolean).map((l) => l.replace(/\s+/g, ' ').trim());
  for (const [tag, ours] of [['PROVIDE', info.provides], ['REQUIRE', info.requires], ['CONFLICT', info.conflicts], ['OBSOLETE', info.obsoletes]] as const) {
    assert.equal(ours.map((d) => formatDependency(d)), await lines(tag), tag);
  }
  assert.ok(info.provides.map(formatDependency).includes('xsf-test-cap = 2.0'));
  assert.ok(info.requires.map(formatDependency).includes('glibc >= 2.17'));
  // AutoReqProv off: nothing but ours, rpmlib() features and the scriptlet shell
  assert.equal([...new Set(info.requires.map(formatDependency).filter((r) => !r.startsWith('rpmlib(')))].sort(), ['/bin/sh', 'glibc >= 2.17']);

  const rpmFiles = (await q(built.file, '[%{FILENAMES}\\t%{FILEMODES:octal}\\t%{FILESIZES}\\t%{FILEDIGESTS}\\t%{FILEFLAGS:fflags}\\n]')).split('\n').filter(Boolean)
    .map((l) => l.split('\t'));
  assert.equal(info.files.map((f) => [f.path, f.mode.toString(8), String(f.size), f.digest, f.config]),
    rpmFiles.map(([p, m, s, d, fl]) => [p, m, s, d, fl.includes('c')]));
  assert.equal(info.files.map((f) => [f.path, f.mode.toString(8), f.user, f.group]), [
    ['/etc/xsf', '40755', 'root', 'root'],
    ['/etc/xsf/tool.conf', '100640', 'root', 'root'],
    ['/usr/bin/xsf-tool', '100755', 'root', 'root'],
    ['/usr/share/xsf', '40755', 'root', 'root'],
    ['/usr/share/xsf/readme', '100644', 'root', 'root'],
  ]);
  assert.is(info.files[2].digest, (await run(['sha256sum', join(src, 'tool')])).stdout.split(' ')[0]);
  assert.equal(info.scriptlets, { post: 'echo "installed at $(date +%s)"', postun: ':' });
  assert.equal(info.checks, { headerSha256: true, payloadSha256: true });
  assert.not.ok(info.signature.keyId);
  assert.match(formatRpmInfo(info), /Signature   : \(none\)/);
});

test('rpm -K checks the digests; rpm2cpio | cpio lists the payload with the modes', async () => {
  const k = await run(['rpm', '-K', '--nosignature', built.file]);
  assert.match(k.stdout, /digests OK/);
  // a flipped payload byte is caught by rpm too (and by our reader)
  const bad = join(work, 'bad.rpm');
  const bytes = readFileSync(built.file);
  bytes[bytes.length - 100] ^= 0xff;
  writeFileSync(bad, bytes);
  await run(['rpm', '-K', '--nosignature', bad]).then(() => assert.unreachable('rpm -K accepted a damaged payload'), () => {});
  assert.is(parseRpm(bytes).checks.payloadSha256, false);

  const cpio = await run(['rpm2cpio', built.file]);
  const listing = (await run(['cpio', '-t', '-v', '--quiet'], { input: cpio.stdoutBytes, env: { TZ: 'UTC', LC_ALL: 'C' } })).stdout;
  const entries = listing.split('\n').filter(Boolean).map((l) => {
    const f = l.trim().split(/\s+/);
    return [f[0], f[2], f[3], f[f.length - 1]];
  });
  assert.equal(entries, [
    ['drwxr-xr-x', 'root', 'root', './etc/xsf'],
    ['-rw-r-----', 'root', 'root', './etc/xsf/tool.conf'],
    ['-rwxr-xr-x', 'root', 'root', './usr/bin/xsf-tool'],
    ['drwxr-xr-x', 'root', 'root', './usr/share/xsf'],
    ['-rw-r--r--', 'root', 'root', './usr/share/xsf/readme'],
  ]);
  // mtimes clamped to SOURCE_DATE_EPOCH, although the source file is dated 2033
  assert.equal([...new Set((await q(built.file, '[%{FILEMTIMES}\\n]')).split('\n').filter(Boolean))], [String(EPOCH)]);
});

test('the key id of an rpmsign signature, as rpm reports it', async () => {
  const gnupg = join(work, 'gnupg');
  mkdirSync(gnupg, { mode: 0o700 });
  const env = { GNUPGHOME: gnupg };
  await run(['gpg', '--batch', '--quiet', '--passphrase', '', '--quick-gen-key', 'xsforge test <test@xsforge.invalid>', 'rsa2048', 'sign', 'never'], { env });
  const colons = (await run(['gpg', '--batch', '--with-colons', '--list-keys'], { env })).stdout;
  const keyId = /^pub:[^:]*:\d+:\d+:([0-9A-F]{16}):/m.exec(colons)![1].toLowerCase();
  const fpr = /^fpr:+([0-9A-F]{40}):/m.exec(colons)![1].toLowerCase();
  const signedFile = join(work, 'signed.rpm');
  writeFileSync(signedFile, readFileSync(built.file));
  await run(['rpmsign', '--define', '_gpg_name test@xsforge.invalid', '--define', '__gpg /usr/bin/gpg', '--addsign', signedFile], { env: { ...env, HOME: work } });
  const s = parseRpm(readFileSync(signedFile));
  assert.is(s.signature.keyId, keyId);
  assert.is(s.signature.fingerprint, fpr);
  assert.is(s.signature.tag, 'RSAHEADER');
  const pgpsig = await q(signedFile, '%{RSAHEADER:pgpsig}');
  assert.match(pgpsig, new RegExp(`^${s.signature.algorithm}, .*Key ID ${keyId}$`));
  // signing adds to the signature header only: the main header and its digest stay
  assert.is(s.signature.sha256, info.signature.sha256);
  assert.equal(s.checks, { headerSha256: true, payloadSha256: true });
  assert.match(formatRpmInfo(s), new RegExp(`Signature   : ${s.signature.algorithm}, .* Key ID ${keyId}`));
});

test('the product package set builds as a stage from upstream outputs, and is cached', async () => {
  const upstream = defineStage({
    name: 'fake-boot', version: 1, options: {},
    async run(ctx) {
      await writeFile(join(ctx.out, 'xen.gz'), 'pretend hypervisor\n');
      await writeFile(join(ctx.out, 'vmlinuz'), 'pretend kernel\n');
    },
  });
  const keyFile = join(src, 'pub.asc');
  writeFileSync(keyFile, '-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nnot a real key\n-----END PGP PUBLIC KEY BLOCK-----\n');
  const packages = productRpmSpecs({
    brand: 'XenServer', productVersion: '7.1.2', platform: { name: 'XCP', version: '2.2.0' }, buildNumber: '137272c',
    hypervisor: { version: '4.17.5', xenGz: { stage: 'boot', path: 'xen.gz' } },
    kernel: { release: '6.1.0-28-amd64', version: '6.1.119', rpmRelease: '1', vmlinuz: { stage: 'boot', path: 'vmlinuz' } },
    treeinfo: '[platform]\nname = XCP\nversion = 2.2.0\n',
    gpgKey: { name: 'xsforge', file: keyFile },
  });
  const events: BuildEvent[] = [];
  const cache = new StageCache(join(work, 'cache'));
  const opts = { cache, reporter: { emit: (e: BuildEvent) => events.push(e), close() {} }, sourceDateEpoch: EPOCH, scope: 't', jobs: 2 };
  const t0 = Date.now();
  const results = await runGraph([rpmPackagesStage({ name: 'rpms', packages, deps: { boot: upstream } })], opts);
  console.log(`  6 product RPMs as a stage: ${Date.now() - t0} ms`);
  const out = results.get('rpms')!.dir;
  const manifest = JSON.parse(readFileSync(join(out, RPMS_MANIFEST), 'utf8')) as RpmsManifestEntry[];
  assert.equal(manifest.map((m) => m.file), [
    'kernel-6.1.119-1.x86_64.rpm', 'xenserver-gpg-keys-7.1.2-137272c.noarch.rpm', 'xenserver-hypervisor-4.17.5-137272c.x86_64.rpm',
    'xenserver-release-7.1.2-137272c.noarch.rpm', 'xsforge-firstboot-7.1.2-137272c.noarch.rpm', 'xsforge-update-7.1.2-137272c.noarch.rpm', 'xsforge-xen-cmdline-7.1.2-137272c.noarch.rpm',
  ]);
  const read = (f: string) => parseRpm(readFileSync(join(out, f)));
  const deps = (i: RpmInfo) => i.provides.map(formatDependency);
  const xen = read('xenserver-hypervisor-4.17.5-137272c.x86_64.rpm');
  assert.ok(deps(xen).includes('xen-hypervisor = 4.17.5'));
  assert.equal(xen.files.map((f) => [f.path, f.size]), [['/boot/xen-4.17.5.gz', 19]]);
  assert.ok(deps(read('kernel-6.1.119-1.x86_64.rpm')).includes('kernel-uname-r = 6.1.0_28_amd64'));
  const rel = read('xenserver-release-7.1.2-137272c.noarch.rpm');
  assert.ok(deps(rel).includes('product-version = 7.1.2') && deps(rel).includes('platform-version = 2.2.0'));
  assert.equal(rel.files.map((f) => f.path), ['/etc/xenserver-release', '/usr/share/xenserver', '/usr/share/xenserver/treeinfo']);
  const fb = read('xsforge-firstboot-7.1.2-137272c.noarch.rpm');
  assert.equal(fb.files.map((f) => [f.path, f.mode.toString(8)]), [
    ['/etc/firstboot.d', '40755'], ['/etc/firstboot.d/data', '40755'], ['/etc/firstboot.d/state', '40755'],
    ['/usr/lib/systemd/system/xsforge-firstboot.service', '100644'], ['/usr/lib/systemd/system/xsforge-ssh-hostkeys.service', '100644'],
    ['/usr/lib/xsforge', '40755'], ['/usr/lib/xsforge/firstboot', '100755'],
  ]);
  assert.match(fb.scriptlets.post!, /systemctl enable xsforge-firstboot\.service/);
  assert.equal(read('xenserver-gpg-keys-7.1.2-137272c.noarch.rpm').files.map((f) => f.path), ['/etc/pki/rpm-gpg', '/etc/pki/rpm-gpg/RPM-GPG-KEY-xsforge']);
  for (const m of manifest) assert.equal(read(m.file).checks, { headerSha256: true, payloadSha256: true }, m.file);

  // same inputs: nothing runs; a changed host file (the key) reruns the stage
  events.length = 0;
  await runGraph([rpmPackagesStage({ name: 'rpms', packages, deps: { boot: upstream } })], opts);
  assert.ok(events.some((e) => e.type === 'stage-cached' && e.stage === 'rpms'));
  assert.not.ok(events.some((e) => e.type === 'stage-start'));
  writeFileSync(keyFile, 'another key\n');
  events.length = 0;
  const again = await runGraph([rpmPackagesStage({ name: 'rpms', packages, deps: { boot: upstream } })], opts);
  assert.ok(events.some((e) => e.type === 'stage-start' && e.stage === 'rpms'));
  const newManifest = JSON.parse(readFileSync(join(again.get('rpms')!.dir, RPMS_MANIFEST), 'utf8')) as RpmsManifestEntry[];
  const changed = newManifest.filter((m, i) => m.sha256 !== manifest[i].sha256).map((m) => m.name);
  assert.equal(changed, ['xenserver-gpg-keys'], 'only the package holding the key changed');
});

test('a stage reference to an undeclared stage is refused when the graph is made', () => {
  assert.throws(() => rpmPackagesStage({ name: 'rpms', packages: [{ ...TOOLS, files: [{ from: { stage: 'nope', path: 'x' }, to: '/x' }] }] }),
    /comes from stage "nope", which is not a dependency of rpms/);
});

test.run();

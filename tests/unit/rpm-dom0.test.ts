// The pure parts of the RPM dom0 provider and its test repository: dnf.conf and
// the dnf command line, reading rpm -qa, the install-time check, module load
// order, and the text of the initrd's /init and busybox's inittab.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { clockInstallTimes, dnfConfText, dnfInstallArgv, parseRpmQa, type DnfRepository } from '../../dom0-rootfs/dnf-config.ts';
import { initrdInitScript, inittabText, moduleLoadOrder } from '../../dom0-rootfs/minimal-userland.ts';
import { rpmPackagesForManifest } from '../../dom0-rootfs/rpm-provider.ts';
import { userlandPackages } from '../../dom0-rootfs/rpm-test-repo.ts';
import { rpmSpecProblems } from '../../packages/model.ts';

const product: DnfRepository = { id: 'product', baseurl: 'file:///srv/repo', gpgkeys: [], repoGpgcheck: false };
const signed: DnfRepository = { id: 'updates', baseurl: 'https://example.invalid/xs/7.1', gpgkeys: ['/k/RPM-GPG-KEY-xs', '/k/old.asc'], repoGpgcheck: true };

/** Sections of an INI text: name -> key -> value. */
function ini(text: string): Record<string, Record<string, string>> {
  const out: Record<string, Record<string, string>> = {};
  let cur = '';
  for (const line of text.split('\n')) {
    const sec = /^\[(.+)\]$/.exec(line);
    if (sec) { cur = sec[1]!; out[cur] = {}; continue; }
    const kv = /^([a-z_]+)=(.*)$/.exec(line);
    if (kv) out[cur]![kv[1]!] = kv[2]!;
  }
  return out;
}

test('dnf.conf: only our repositories, no host plugins or repos, no weak deps; gpg settings per repository', () => {
  const conf = ini(dnfConfText([product, signed]));
  assert.equal(Object.keys(conf), ['main', 'product', 'updates']);
  assert.is(conf.main!.reposdir, '/dev/null');
  assert.is(conf.main!.plugins, '0');
  assert.is(conf.main!.install_weak_deps, '0');
  assert.is(conf.main!.cachedir, undefined, 'a cachedir from the config file would be put under the installroot');
  assert.equal([conf.product!.baseurl, conf.product!.gpgcheck, conf.product!.repo_gpgcheck, conf.product!.gpgkey], ['file:///srv/repo', '0', '0', undefined]);
  assert.equal([conf.updates!.gpgcheck, conf.updates!.repo_gpgcheck], ['1', '1']);
  assert.is(conf.updates!.gpgkey, 'file:///k/RPM-GPG-KEY-xs file:///k/old.asc');
});

test('dnf.conf refuses what dnf would misread: bad ids, duplicates, relative or spaced paths, repo_gpgcheck without a key', () => {
  for (const [repos, msg] of [
    [[{ ...product, id: '-x' }], /repository name "-x"/],
    [[product, product], /listed twice/],
    [[{ ...product, baseurl: '/srv/repo' }], /not an http\(s\):\/\/ or file:\/\/ URL/],
    [[{ ...product, baseurl: 'file:///srv/my repo' }], /without spaces/],
    [[{ ...product, gpgkeys: ['key.asc'] }], /not an absolute path/],
    [[{ ...product, repoGpgcheck: true }], /repo_gpgcheck needs a gpg key/],
    [[], /no repositories/],
  ] as const) {
    assert.throws(() => dnfConfText(repos as unknown as DnfRepository[]), msg as RegExp);
  }
});

test('dnf install argv: groups as @id, packages, releasever, cache outside the root, --nodocs on request', () => {
  const argv = dnfInstallArgv({ config: '/w/dnf.conf', installroot: '/w/root', cachedir: '/c/dnf', releasever: '8', groups: ['xenserver_base', 'xenserver_dom0'], packages: ['busybox'], nodocs: true });
  assert.equal(argv, ['dnf', '--assumeyes', '--config=/w/dnf.conf', '--installroot=/w/root', '--releasever=8', '--setopt=reposdir=/dev/null',
    '--setopt=cachedir=/c/dnf', '--nodocs', 'install', '@xenserver_base', '@xenserver_dom0', 'busybox']);
  assert.not.ok(dnfInstallArgv({ config: '/c', installroot: '/r', cachedir: '/d', releasever: '1', groups: [], packages: ['a'], nodocs: false }).includes('--nodocs'));
  assert.throws(() => dnfInstallArgv({ config: '/c', installroot: '/r', cachedir: '/d', releasever: '1', groups: ['@base'], packages: [], nodocs: false }), /not a comps group id/);
  assert.throws(() => dnfInstallArgv({ config: '/c', installroot: '/r', cachedir: '/d', releasever: '1', groups: [], packages: [], nodocs: false }), /root would be empty/);
  assert.throws(() => dnfInstallArgv({ config: '/c', installroot: '/r', cachedir: '/d', releasever: '$x', groups: ['g'], packages: [], nodocs: false }), /releasever/);
});

test('rpm -qa output: epoch only when set, gpg-pubkey without arch, sorted; manifest versions', () => {
  const text = [
    'kernel\t0\t6.1.176\t137272c\tx86_64\t1533081601\t1533081600',
    'busybox\t1\t1.35.0\t4\tx86_64\t1533081603\t1533081600',
    'gpg-pubkey\t0\t3a1c5b7e\t6543aa01\t(none)\t1533081600\t1533081600',
    '',
  ].join('\n');
  const qa = parseRpmQa(text);
  assert.equal(qa.map((x) => [x.name, x.version, x.arch]), [['busybox', '1:1.35.0-4', 'x86_64'], ['gpg-pubkey', '3a1c5b7e-6543aa01', ''], ['kernel', '6.1.176-137272c', 'x86_64']]);
  assert.equal(rpmPackagesForManifest(qa), [{ name: 'busybox', version: '1:1.35.0-4.x86_64' }, { name: 'gpg-pubkey', version: '3a1c5b7e-6543aa01' }, { name: 'kernel', version: '6.1.176-137272c.x86_64' }]);
  assert.throws(() => parseRpmQa('kernel\t0\t6.1\n'), /7 tab-separated fields/);
});

test('install times: epoch-numbered transactions pass, clock times are caught', () => {
  const e = 1_533_081_600;
  const mk = (name: string, t: number, tid = e) => ({ name, version: '1-1', arch: 'noarch', installTime: t, installTid: tid });
  assert.equal(clockInstallTimes([mk('a', e), mk('b', e + 1), mk('c', e + 2)], e), []);
  assert.equal(clockInstallTimes([mk('a', e), mk('b', 1_795_676_835)], e).map((x) => x.name), ['b']);
  assert.equal(clockInstallTimes([mk('a', e, 1_795_676_835)], e).map((x) => x.name), ['a']);
  assert.equal(clockInstallTimes([mk('a', e), mk('b', e + 2)], e).map((x) => x.name), ['b'], 'two packages cannot reach epoch+2');
});

test('module load order: dependencies first, built-in names skipped, cycles do not loop', () => {
  const deps = new Map<string, string[]>([
    ['kernel/fs/ext4/ext4.ko', ['crc16', 'jbd2', 'mbcache', 'crc32c']],
    ['kernel/fs/jbd2/jbd2.ko', []],
    ['kernel/fs/mbcache.ko', []],
    ['kernel/lib/crc16.ko', []],
    ['kernel/drivers/ata/ahci.ko', ['libahci', 'libata']],
    ['kernel/drivers/ata/libahci.ko', ['libata']],
    ['kernel/drivers/ata/libata.ko', ['scsi_mod']],
    ['kernel/drivers/scsi/scsi_mod.ko', ['scsi_common']],
    ['kernel/drivers/scsi/scsi_common.ko', ['scsi_mod']],
  ]);
  const order = moduleLoadOrder(deps, [...deps.keys()]);
  assert.is(order.length, deps.size);
  const at = (n: string) => order.findIndex((p) => p.endsWith(`/${n}.ko`));
  for (const [a, b] of [['jbd2', 'ext4'], ['mbcache', 'ext4'], ['crc16', 'ext4'], ['libata', 'libahci'], ['libahci', 'ahci'], ['scsi_mod', 'libata']]) {
    assert.ok(at(a!) < at(b!), `${a} before ${b}: ${order.join(' ')}`);
  }
});

test('initrd /init: reads root= from the command line, loads the modules in order, waits with findfs, switch_roots', () => {
  const text = initrdInitScript({ kernelRelease: '6.1.0-50-amd64', modules: ['kernel/fs/jbd2/jbd2.ko', 'kernel/fs/ext4/ext4.ko'], rootWaitSeconds: 20 });
  assert.ok(text.startsWith('#!/bin/busybox sh\n'));
  assert.match(text, /root=\*\) root="\$\{arg#root=\}"/);
  assert.match(text, /for m in \/lib\/modules\/6\.1\.0-50-amd64\/kernel\/fs\/jbd2\/jbd2\.ko \\\n {2}\/lib\/modules\/6\.1\.0-50-amd64\/kernel\/fs\/ext4\/ext4\.ko; do/);
  assert.match(text, /dev="\$\(findfs "\$root" 2>\/dev\/null\)"/);
  assert.match(text, /while \[ \$i -lt 200 \]/, '20 s in 0.1 s steps');
  assert.match(text, /mount -o "\$mode" "\$dev" \/newroot/);
  assert.match(text, /exec switch_root \/newroot \/sbin\/init\n$/);
  assert.throws(() => initrdInitScript({ kernelRelease: '6.1; rm -rf /', modules: [] }), /not a plain word/);
});

test('inittab: host name at sysinit, getty on the Xen console; userland packages are valid RPM models', () => {
  const tab = inittabText();
  assert.match(tab, /^::sysinit:\/bin\/busybox hostname -F \/etc\/hostname$/m);
  assert.match(tab, /^hvc0::respawn:\/bin\/busybox getty -L hvc0 115200 vt100$/m);
  const [fs, busybox] = userlandPackages('1');
  assert.equal([rpmSpecProblems(fs!), rpmSpecProblems(busybox!)], [[], []]);
  assert.equal(busybox!.files.map((f) => f.to).filter((p) => /bin\//.test(p)), ['/bin/busybox', '/bin/sh', '/sbin/init']);
  assert.match(busybox!.scriptlets.post!, /busybox --install -s/);
});

test.run();

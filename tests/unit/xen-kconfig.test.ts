// Kconfig fragment merging and the survival check, the reproducible build
// variables, compile.h/banner parsing, and the apt source-record helpers.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  bannerRegex, bannerText, cDateUtc, configLine, describeDropped, droppedSettings, fragmentErrors, mergeFragment, parseCompileH, parseConfig,
  isDebianBuildMk, pinDistribution, reproducibleMakeVars, timeUtc, xenMakefileVersion,
} from '../../hypervisor/kconfig.ts';
import { compareDebianVersions, parseSourceRecords } from '../../debian/apt.ts';
import { Ajv } from 'ajv';
import { HypervisorSchema, hypervisorSectionErrors } from '../../hypervisor/schema.ts';
import { identityErrors } from '../../hypervisor/kconfig.ts';

const DEFCONFIG = `#
# Automatically generated file; DO NOT EDIT.
#
CONFIG_X86_64=y
CONFIG_NR_CPUS=256
CONFIG_HYPFS=y
CONFIG_HYPFS_CONFIG=y
# CONFIG_UNSUPPORTED is not set
CONFIG_CMDLINE=""
CONFIG_SCHED_DEFAULT="credit2"
`;

test('configLine writes bool, int, hex and quoted string settings', () => {
  assert.is(configLine('CONFIG_A', 'y'), 'CONFIG_A=y');
  assert.is(configLine('CONFIG_A', 'n'), '# CONFIG_A is not set');
  assert.is(configLine('CONFIG_A', 64), 'CONFIG_A=64');
  assert.is(configLine('CONFIG_A', '0x1f'), 'CONFIG_A=0x1f');
  assert.is(configLine('CONFIG_A', 'a "b" \\c'), 'CONFIG_A="a \\"b\\" \\\\c"');
});

test('parseConfig reads set, unset and quoted values, and round-trips configLine', () => {
  const c = parseConfig(DEFCONFIG);
  assert.is(c.get('CONFIG_NR_CPUS'), '256');
  assert.is(c.get('CONFIG_UNSUPPORTED'), 'n');
  assert.is(c.get('CONFIG_SCHED_DEFAULT'), 'credit2');
  assert.is(c.get('CONFIG_CMDLINE'), '');
  assert.is(c.get('CONFIG_NOPE'), undefined);
  assert.is(parseConfig(configLine('CONFIG_S', 'x "y" \\z')).get('CONFIG_S'), 'x "y" \\z');
});

test('mergeFragment replaces the old lines of fragment options and appends the fragment sorted', () => {
  const merged = mergeFragment(DEFCONFIG, { CONFIG_UNSUPPORTED: 'y', CONFIG_HYPFS_CONFIG: 'n', CONFIG_NR_CPUS: 64, CONFIG_CMDLINE: 'loglvl=all' });
  assert.not.match(merged, /CONFIG_NR_CPUS=256/);
  assert.not.match(merged, /# CONFIG_UNSUPPORTED is not set/);
  assert.not.match(merged, /^CONFIG_HYPFS_CONFIG=y$/m);
  assert.match(merged, /^CONFIG_HYPFS=y$/m); // a prefix of a fragment option stays
  const tail = merged.split('# xsforge: recipe fragment\n')[1];
  assert.is(tail, 'CONFIG_CMDLINE="loglvl=all"\n# CONFIG_HYPFS_CONFIG is not set\nCONFIG_NR_CPUS=64\nCONFIG_UNSUPPORTED=y\n');
  // key order in the recipe does not change the text
  assert.is(mergeFragment(DEFCONFIG, { CONFIG_NR_CPUS: 64, CONFIG_UNSUPPORTED: 'y', CONFIG_CMDLINE: 'loglvl=all', CONFIG_HYPFS_CONFIG: 'n' }), merged);
  assert.is(mergeFragment(DEFCONFIG, {}), DEFCONFIG);
});

test('droppedSettings names each fragment setting the final .config does not hold', () => {
  const final = `${DEFCONFIG}CONFIG_XSM=y\n`;
  assert.equal(droppedSettings(final, { CONFIG_NR_CPUS: 256, CONFIG_XSM: 'y', CONFIG_SCHED_DEFAULT: 'credit2' }), []);
  // "n" is kept both by "is not set" and by an option absent because its menu is off
  assert.equal(droppedSettings(final, { CONFIG_UNSUPPORTED: 'n', CONFIG_ARGO: 'n' }), []);
  assert.equal(droppedSettings(final, { CONFIG_ARGO: 'y', CONFIG_NR_CPUS: 64, CONFIG_HYPFS: 'n' }), [
    { option: 'CONFIG_ARGO', wanted: 'y', got: 'unset' },
    { option: 'CONFIG_HYPFS', wanted: 'n', got: 'y' },
    { option: 'CONFIG_NR_CPUS', wanted: '64', got: '256' },
  ]);
  assert.is(describeDropped(droppedSettings(final, { CONFIG_CMDLINE: 'x', CONFIG_ARGO: 'y' })),
    'CONFIG_ARGO: wanted y, Kconfig left unset\nCONFIG_CMDLINE: wanted x, Kconfig left ""');
});

test('fragmentErrors rejects bad option names, fractions and multi-line strings', () => {
  assert.equal(fragmentErrors({ CONFIG_OK: 'y', CONFIG_N: 3 }), []);
  const errs = fragmentErrors({ XSM: 'y', CONFIG_F: 1.5, CONFIG_S: 'a\nb' });
  assert.is(errs.length, 3);
  assert.match(errs[0], /^XSM: /);
});

test('build date and time follow `LC_ALL=C date -u` for SOURCE_DATE_EPOCH', () => {
  assert.is(cDateUtc(0), 'Thu Jan  1 00:00:00 UTC 1970');
  assert.is(cDateUtc(1700000000), 'Tue Nov 14 22:13:20 UTC 2023');
  assert.is(timeUtc(1700000000), '22:13:20');
  assert.is(cDateUtc(1514764799), 'Sun Dec 31 23:59:59 UTC 2017');
});

test('reproducibleMakeVars pins date, time, host, user and the Debian maintainer identity', () => {
  const v = reproducibleMakeVars(1700000000, { domain: 'example.org', distribution: 'XCP', systemVersion: '4.17.5-1' });
  assert.equal(v, {
    XEN_BUILD_DATE: 'Tue Nov 14 22:13:20 UTC 2023', XEN_BUILD_TIME: '22:13:20', XEN_BUILD_HOST: 'xsforge', XEN_WHOAMI: 'xsforge',
    XEN_DOMAIN: 'example.org', XEN_COMPILE_DISTRIBUTION: 'XCP', DEB_MAINTAINER: 'xsforge <xsforge@example.org>', DEB_VERSION: '4.17.5-1',
  });
});

test('pinDistribution replaces the lsb_release call of Debian\'s compile.h rule and leaves other trees alone', () => {
  const rule = `\t    -e 's/@@system_distribution@@/$(shell lsb_release -is)/g' \\\n`;
  assert.is(pinDistribution(rule), `\t    -e 's/@@system_distribution@@/$(XEN_COMPILE_DISTRIBUTION)/g' \\\n`);
  assert.is(pinDistribution('no such rule\n'), 'no such rule\n');
});

const COMPILE_H = `#define XEN_COMPILE_DATE\t"Tue Nov 14 22:13:20 UTC 2023"
#define XEN_COMPILE_TIME\t"22:13:20"
#define XEN_COMPILE_SYSTEM_DISTRIBUTION\t\t"xsforge"
#define XEN_COMPILE_SYSTEM_MAINTAINER_DOMAIN\t"xsforge"
#define XEN_COMPILE_SYSTEM_MAINTAINER_LOCAL\t"xsforge"
#define XEN_COMPILE_SYSTEM_VERSION\t\t"4.17.5+72-g01140da4e8-1"
#define XEN_COMPILER\t\t"gcc (Debian 12.2.0-14+deb12u1) 12.2.0"

#define XEN_VERSION\t\t4
#define XEN_SUBVERSION\t\t17
#define XEN_VERSION_STRING\t"4.17"
#define XEN_EXTRAVERSION\t".5"
`;

test('the banner regex matches this build\'s console line and not the Debian package\'s', () => {
  const b = parseCompileH(COMPILE_H);
  assert.is(b.by, 'xsforge@xsforge');
  assert.is(bannerText(b), 'Xen version 4.17.5 (xsforge 4.17.5+72-g01140da4e8-1) (xsforge@xsforge) (gcc (Debian 12.2.0-14+deb12u1) 12.2.0)');
  const re = bannerRegex(b);
  assert.match('(XEN) Xen version 4.17.5 (xsforge 4.17.5+72-g01140da4e8-1) (xsforge@xsforge) (gcc (Debian 12.2.0-14+deb12u1) 12.2.0) debug=n Tue Nov 14 22:13:20 UTC 2023', re);
  assert.not.match('(XEN) Xen version 4.17.5 (Debian 4.17.5+72-g01140da4e8-1) (pkg-xen-devel@lists.alioth.debian.org) (gcc (Debian 12.2.0-14+deb12u1) 12.2.0) debug=n Sat Jun  1 00:00:00 UTC 2024', re);
});

const SHOWSRC = `Package: xen
Binary: xen-doc, xen-hypervisor-4.17-amd64
Version: 4.17.3+10-deb12u1
Checksums-Sha256:
 aaaa 4357 xen_4.17.3+10-deb12u1.dsc
 bbbb 4735560 xen_4.17.3+10.orig.tar.xz

Package: xen
Version: 4.17.5+72-g01140da4e8-1
Checksums-Sha256:
 1111 139916 xen_4.17.5+72-g01140da4e8-1.debian.tar.xz
 2222 4357 xen_4.17.5+72-g01140da4e8-1.dsc
 3333 4735560 xen_4.17.5+72-g01140da4e8.orig.tar.xz
Directory: pool/main/x/xen
`;

test('parseSourceRecords takes each record\'s sha256 file list and its .dsc digest', () => {
  const recs = parseSourceRecords(SHOWSRC);
  assert.is(recs.length, 2);
  assert.equal(recs[1], {
    name: 'xen', version: '4.17.5+72-g01140da4e8-1', dscSha256: '2222',
    files: [
      { name: 'xen_4.17.5+72-g01140da4e8-1.debian.tar.xz', sha256: '1111', size: 139916 },
      { name: 'xen_4.17.5+72-g01140da4e8-1.dsc', sha256: '2222', size: 4357 },
      { name: 'xen_4.17.5+72-g01140da4e8.orig.tar.xz', sha256: '3333', size: 4735560 },
    ],
  });
});

test('compareDebianVersions orders like dpkg (checked against dpkg --compare-versions)', () => {
  const sorted = ['1:0.1', '4.17.5+72-g01140da4e8-1', '4.17.3+10-deb12u1', '4.17.5~rc1-1', '4.17.5-1', '4.17.5-1+b1', '4.17.10-1', '4.17.5a-1'];
  sorted.sort(compareDebianVersions);
  assert.equal(sorted, ['4.17.3+10-deb12u1', '4.17.5~rc1-1', '4.17.5-1', '4.17.5-1+b1', '4.17.5a-1', '4.17.5+72-g01140da4e8-1', '4.17.10-1', '1:0.1']);
  assert.is(compareDebianVersions('1.0', '1.0-0'), 0);
});

test('banner identity words cannot break Xen\'s sed-built compile.h', () => {
  assert.equal(identityErrors({ domain: 'example.com', distribution: 'XCP-ng' }), []);
  assert.is(identityErrors({ domain: 'a/b', distribution: 'x&y' }).length, 2);
});

test('the hypervisor schema takes the Debian sources, checks fragment names and types, and the section check flags source-only fields', () => {
  const validate = new Ajv({ allErrors: true, strict: true }).compile(HypervisorSchema);
  const source = { source: 'debian-source', package: 'xen', config: { CONFIG_XSM: 'n', CONFIG_NR_CPUS: 64, CONFIG_CMDLINE: 'loglvl=all' },
    patches: ['patches/xen/0001-banner.patch'], make: { XEN_VENDORVERSION: '-xsf' }, domain: 'example.com' };
  assert.ok(validate(source), JSON.stringify(validate.errors));
  assert.ok(validate({ source: 'debian-package', package: 'xen-hypervisor-4.17-amd64' }));
  assert.not.ok(validate({ ...source, config: { XSM: 'n' } }));
  assert.not.ok(validate({ ...source, config: { CONFIG_XSM: true } }));
  assert.not.ok(validate({ ...source, patches: ['/abs/path.patch'] }));
  assert.not.ok(validate({ ...source, make: { 'A B': 'x' } }));
  assert.not.ok(validate({ ...source, compiler: 'clang' }));
  assert.equal(hypervisorSectionErrors(source as any), []);
  assert.equal(hypervisorSectionErrors({ source: 'debian-package', package: 'xen-hypervisor-4.17-amd64', config: { CONFIG_XSM: 'n' } }),
    [{ path: 'hypervisor.config', message: "'config' applies to source: debian-source, tarball or directory only (this recipe has source: debian-package)" }]);
});

const SHA = 'a'.repeat(64);

test('the schema takes tarball and directory sources; the section check names fields a source does not read and fields it needs', () => {
  const validate = new Ajv({ allErrors: true, strict: true }).compile(HypervisorSchema);
  const tarball = { source: 'tarball', path: 'sources/xen-4.17.5.tar.gz', sha256: SHA, config: { CONFIG_XSM: 'n' }, patches: ['p/0001.patch'], make: { XEN_VENDORVERSION: '-x' } };
  assert.ok(validate(tarball), JSON.stringify(validate.errors));
  assert.ok(validate({ source: 'directory', path: '../xen' }));
  assert.not.ok(validate({ ...tarball, sha256: 'A'.repeat(64) }), 'upper-case hex');
  assert.not.ok(validate({ ...tarball, sha256: 'a'.repeat(63) }));
  assert.not.ok(validate({ ...tarball, path: '/abs/xen.tar.gz' }));
  assert.equal(hypervisorSectionErrors(tarball as any), []);
  assert.equal(hypervisorSectionErrors({ source: 'directory', path: '../xen', domain: 'example.com' }), []);
  assert.equal(hypervisorSectionErrors({ source: 'tarball', path: 'x.tar.gz', package: 'xen', version: '4.17.5-1' } as any), [
    { path: 'hypervisor.package', message: "'package' applies to source: debian-package or debian-source only (this recipe has source: tarball)" },
    { path: 'hypervisor.version', message: "'version' applies to source: debian-source only (this recipe has source: tarball)" },
    { path: 'hypervisor.sha256', message: "source: tarball needs 'sha256' (the build refuses a tarball with another digest (sha256sum prints it))" },
  ]);
  assert.equal(hypervisorSectionErrors({ source: 'directory', sha256: SHA } as any), [
    { path: 'hypervisor.sha256', message: "'sha256' applies to source: tarball only (this recipe has source: directory; the tree digest names a directory source)" },
    { path: 'hypervisor.path', message: "source: directory needs 'path'" },
  ]);
  assert.equal(hypervisorSectionErrors({ source: 'debian-source', path: 'x' } as any), [
    { path: 'hypervisor.path', message: "'path' applies to source: tarball or directory only (this recipe has source: debian-source)" },
    { path: 'hypervisor.package', message: "source: debian-source needs 'package'" },
  ]);
});

// upstream 4.17's compile.h.in as its Makefile fills it with reproducibleMakeVars (no Debian patch series)
const UPSTREAM_COMPILE_H = `#define XEN_COMPILE_DATE\t"Wed Aug  1 00:00:00 UTC 2018"
#define XEN_COMPILE_TIME\t"00:00:00"
#define XEN_COMPILE_BY\t\t"xsforge"
#define XEN_COMPILE_DOMAIN\t"example.com"
#define XEN_COMPILE_HOST\t"xsforge"
#define XEN_COMPILER\t\t"gcc (Debian 12.2.0-14+deb12u1) 12.2.0"

#define XEN_VERSION\t\t4
#define XEN_SUBVERSION\t\t17
#define XEN_VERSION_STRING\t"4.17"
#define XEN_EXTRAVERSION\t".5"
`;

test('an upstream compile.h gives a banner without the distribution part', () => {
  const b = parseCompileH(UPSTREAM_COMPILE_H);
  assert.equal(b, { version: '4.17.5', distribution: '', systemVersion: '', by: 'xsforge@example.com', compiler: 'gcc (Debian 12.2.0-14+deb12u1) 12.2.0', date: 'Wed Aug  1 00:00:00 UTC 2018' });
  assert.is(bannerText(b), 'Xen version 4.17.5 (xsforge@example.com) (gcc (Debian 12.2.0-14+deb12u1) 12.2.0)');
  assert.match('(XEN) Xen version 4.17.5 (xsforge@example.com) (gcc (Debian 12.2.0-14+deb12u1) 12.2.0) debug=n Wed Aug  1 00:00:00 UTC 2018', bannerRegex(b));
  assert.not.match('(XEN) Xen version 4.17.5 (root@example.com) (gcc (Debian 12.2.0-14+deb12u1) 12.2.0) debug=n Wed Aug  1 00:00:00 UTC 2018', bannerRegex(b));
});

test('an upstream tree gets only the upstream banner variables; Debian\'s build.mk is told apart by its DEB_ variables', () => {
  const v = reproducibleMakeVars(1700000000, { domain: 'example.org', distribution: 'XCP' });
  assert.equal(v, { XEN_BUILD_DATE: 'Tue Nov 14 22:13:20 UTC 2023', XEN_BUILD_TIME: '22:13:20', XEN_BUILD_HOST: 'xsforge', XEN_WHOAMI: 'xsforge', XEN_DOMAIN: 'example.org' });
  assert.ok(isDebianBuildMk(`\t    -e 's/@@system_version@@/$(shell echo "\${DEB_VERSION}")/g' \\\n`));
  assert.not.ok(isDebianBuildMk(`\t    -e 's/@@whoami@@/$(XEN_WHOAMI)/g' \\\n`));
});

test('xenMakefileVersion reads the release of a xen/Makefile without the vendor suffix', () => {
  const mk = 'export XEN_VERSION       = 4\nexport XEN_SUBVERSION    = 17\nexport XEN_EXTRAVERSION ?= .5$(XEN_VENDORVERSION)\nexport XEN_FULLVERSION   = $(XEN_VERSION)\n';
  assert.is(xenMakefileVersion(mk), '4.17.5');
  assert.is(xenMakefileVersion(mk.replace('.5$(XEN_VENDORVERSION)', '-rc$(XEN_VENDORVERSION)')), '4.17-rc');
  assert.is(xenMakefileVersion(mk.replace('= 17', '= $(X)')), undefined);
  assert.is(xenMakefileVersion('all:\n'), undefined);
});

test.run();

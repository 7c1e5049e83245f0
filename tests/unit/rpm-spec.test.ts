// The spec writer (packages/spec.ts), the model's validation, the recipe form
// and the product package set: pure, no rpmbuild (the integration test feeds
// the same text to rpmbuild and reads the result back).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, statSync } from 'node:fs';
import { Ajv } from 'ajv';
import { normalizeDependency, rpmSpecProblems, rpmVersionFromDebian, RpmSpecError, type RpmSpecInput } from '../../packages/model.ts';
import { changelogDate, escapeMacros, formatRpmSpec } from '../../packages/spec.ts';
import { brandSlug, kernelUnameRVersion, productRpmSpecs, rpmReleaseFromBuild } from '../../packages/product.ts';
import { packageFromRecipe, RpmPackageRecipeSchema } from '../../packages/schema.ts';

const EPOCH = 1700000000; // Tue Nov 14 2023 22:13:20 UTC

function pkg(over: Partial<RpmSpecInput> = {}): RpmSpecInput {
  return {
    name: 'xsf-tools', version: '1.2', release: '3', summary: 'Tools', license: 'MIT', arch: 'x86_64',
    description: 'Some tools.', provides: [], requires: [], conflicts: [], obsoletes: [],
    files: [], dirs: [], scriptlets: {}, ...over,
  };
}

/** The lines rpmbuild would take as section or directive starts. */
function directiveLines(spec: string): string[] {
  return spec.split('\n').filter((l) => /^\s*%(?!%)/.test(l)).map((l) => l.trim().split(/\s/)[0]);
}

test('the preamble, dependencies, files and changelog of a full model', () => {
  const text = formatRpmSpec(pkg({
    url: 'https://example.com/x', group: 'System Environment/Base',
    provides: ['xsf-cap = 1.0', 'kernel-uname-r=6.1.0_28_amd64'], requires: ['/bin/sh', 'glibc>=2.17'],
    conflicts: ['old-tools < 1.0'], obsoletes: ['xsf-legacy'],
    files: [
      { from: '/src/b', to: '/usr/bin/xsf', mode: 0o755 },
      { from: { text: 'x=1\n' }, to: '/etc/xsf/xsf.conf', mode: 0o640, config: true },
      { from: '/src/a', to: '/usr/share/xsf/data' },
    ],
    dirs: ['/etc/xsf'],
    scriptlets: { post: 'echo post', pre: 'echo pre' },
  }), { sourceDateEpoch: EPOCH });
  const lines = text.split('\n');
  for (const l of ['Name: xsf-tools', 'Version: 1.2', 'Release: 3', 'Summary: Tools', 'License: MIT', 'URL: https://example.com/x',
    'Group: System Environment/Base', 'BuildArch: x86_64', 'AutoReqProv: no', 'Provides: xsf-cap = 1.0', 'Provides: kernel-uname-r = 6.1.0_28_amd64',
    'Requires: /bin/sh', 'Requires: glibc >= 2.17', 'Conflicts: old-tools < 1.0', 'Obsoletes: xsf-legacy']) {
    assert.ok(lines.includes(l), `missing line: ${l}\n${text}`);
  }
  const files = text.slice(text.indexOf('%files\n') + 7).split('\n\n')[0].split('\n');
  assert.equal(files, [
    '%dir %attr(0755,root,root) /etc/xsf',
    '%config(noreplace) %attr(0640,root,root) /etc/xsf/xsf.conf',
    '%attr(0755,root,root) /usr/bin/xsf',
    '%attr(0644,root,root) /usr/share/xsf/data',
  ]);
  assert.equal(directiveLines(text), ['%description', '%install', '%files', '%dir', '%config(noreplace)', '%attr(0755,root,root)', '%attr(0644,root,root)', '%pre', '%post', '%changelog']);
  assert.ok(text.includes('%changelog\n* Tue Nov 14 2023 xsforge <xsforge@localhost> - 1.2-3\n- Built by xsforge.\n'));
  assert.ok(text.includes('cp -pR "%{_sourcedir}/tree/." "%{buildroot}/"'));
  assert.is(formatRpmSpec(pkg(), { sourceDateEpoch: EPOCH }), formatRpmSpec(pkg(), { sourceDateEpoch: EPOCH }), 'same model, same text');
});

test('changelog dates are UTC days; an epoch on 1970-01-01 is refused (rpm reads it as no date)', () => {
  assert.is(changelogDate(0), 'Thu Jan 01 1970');
  assert.is(changelogDate(1000000000), 'Sun Sep 09 2001');
  assert.is(changelogDate(EPOCH), 'Tue Nov 14 2023');
  assert.throws(() => formatRpmSpec(pkg(), { sourceDateEpoch: 0 }), /before 1970-01-02/);
});

test('% in free text is doubled so macros cannot expand: %{name}, %(cmd), %define', () => {
  const text = formatRpmSpec(pkg({
    summary: '100% safe %{name} %(rm -rf /)', license: 'GPL%{?x}', url: 'https://x/%41',
    description: 'First line with %{_topdir} and 50%\n  and %(id) here\nplain %define evil 1',
    scriptlets: { post: 'date +%s\n# comment is fine in shell\necho "%{buildroot}"' },
  }), { sourceDateEpoch: EPOCH });
  assert.ok(text.includes('Summary: 100%% safe %%{name} %%(rm -rf /)\n'));
  assert.ok(text.includes('License: GPL%%{?x}\n'));
  assert.ok(text.includes('URL: https://x/%%41\n'));
  assert.ok(text.includes('%description\nFirst line with %%{_topdir} and 50%%\n  and %%(id) here\nplain %%define evil 1\n'));
  assert.ok(text.includes('%post\ndate +%%s\n# comment is fine in shell\necho "%%{buildroot}"\n'));
  assert.equal(directiveLines(text).filter((d) => !d.startsWith('%attr') && !d.startsWith('%dir') && !d.startsWith('%config')), ['%description', '%install', '%files', '%post', '%changelog']);
  assert.is(escapeMacros('%%'), '%%%%');
});

test('a newline in a one-line field cannot start a new spec line', () => {
  for (const [field, value] of [['summary', 'ok\n%files\n/etc/shadow'], ['license', 'MIT\r\nRequires: evil'], ['url', 'x\n%post'], ['group', 'a\nb']] as const) {
    const err = (() => { try { formatRpmSpec(pkg({ [field]: value }), { sourceDateEpoch: EPOCH }); } catch (e) { return e; } })();
    assert.instance(err, RpmSpecError, field);
    assert.match((err as Error).message, new RegExp(`${field} must be one line`));
  }
});

test('description and scriptlet lines that rpmbuild would read as directives or comments are refused', () => {
  const cases: [Partial<RpmSpecInput>, RegExp][] = [
    [{ description: 'text\n%files\n/etc/shadow' }, /description line 2 starts with "%"/],
    [{ description: 'text\n   %endif' }, /description line 2 starts with "%"/],
    [{ description: '%%install' }, /description line 1 starts with "%"/],
    [{ description: 'intro\n# heading' }, /description line 2 starts with "#", which rpmbuild drops/],
    [{ scriptlets: { post: 'echo hi\n%files' } }, /%post scriptlet line 2 starts with "%"/],
    [{ scriptlets: { preun: '  %if 1' } }, /%preun scriptlet line 1 starts with "%"/],
    [{ description: 'bell\x07' }, /control character/],
    [{ description: '  \n ' }, /description is empty/],
  ];
  for (const [over, re] of cases) {
    assert.throws(() => formatRpmSpec(pkg(over), { sourceDateEpoch: EPOCH }), re, JSON.stringify(over));
  }
  assert.not.throws(() => formatRpmSpec(pkg({ scriptlets: { post: '# a shell comment\n:' } }), { sourceDateEpoch: EPOCH }));
});

test('names, versions, dependencies and paths outside what rpm reads literally are refused', () => {
  const bad: [Partial<RpmSpecInput>, RegExp][] = [
    [{ name: 'x y' }, /name "x y"/],
    [{ name: '-x' }, /name "-x"/],
    [{ version: '1.0-1' }, /version "1.0-1"/],
    [{ release: '1%{?dist}' }, /release "1%\{\?dist\}"/],
    [{ version: '1.0^git' }, /version "1.0\^git"/],
    [{ arch: 'aarch64' as 'noarch' }, /arch "aarch64"/],
    [{ requires: ['a, b'] }, /requires: dependency "a, b"/],
    [{ requires: ['(a or b)'] }, /requires: dependency "\(a or b\)"/],
    [{ provides: ['x = %{version}'] }, /provides: dependency/],
    [{ conflicts: ['x = 1-2-3'] }, /conflicts: dependency/],
    [{ files: [{ from: '/a', to: '/usr/share/a b' }] }, /file "\/usr\/share\/a b"/],
    [{ files: [{ from: '/a', to: '/usr/share/*' }] }, /file "\/usr\/share\/\*"/],
    [{ files: [{ from: '/a', to: 'relative/x' }] }, /file "relative\/x"/],
    [{ files: [{ from: '/a', to: '/usr/../etc/shadow' }] }, /has a "\." or "\.\." component/],
    [{ files: [{ from: '/a', to: '/x', mode: 0o10000 }] }, /mode 4096/],
    [{ files: [{ from: '/a', to: '/x' }, { from: '/b', to: '/x' }] }, /listed twice/],
    [{ dirs: ['/x'], files: [{ from: '/a', to: '/x' }] }, /listed twice/],
    [{ scriptlets: { install: 'x' } as RpmSpecInput['scriptlets'] }, /scriptlet "install"/],
  ];
  for (const [over, re] of bad) {
    const problems = rpmSpecProblems(pkg(over));
    assert.ok(problems.some((p) => re.test(p)), `${JSON.stringify(over)} -> ${problems.join(' | ') || 'no problem found'}`);
  }
  assert.equal(rpmSpecProblems(pkg({ version: '4.17.5+72~rc1', release: '1~deb12u1', requires: ['rpmlib(FileDigests) <= 4.6.0-1', 'python(abi) = 2.7', 'foo >= 1:2.3-4'] })), []);
  assert.is(normalizeDependency('  foo>=1.0 '), 'foo >= 1.0');
  assert.is(normalizeDependency('/usr/bin/env'), '/usr/bin/env');
});

test('Debian versions become RPM version and release', () => {
  assert.equal(rpmVersionFromDebian('6.1.119-1'), { version: '6.1.119', release: '1' });
  assert.equal(rpmVersionFromDebian('1:4.17.3-1~deb12u1'), { version: '4.17.3', release: '1~deb12u1' });
  assert.equal(rpmVersionFromDebian('4.17.5+72-g01140da4e8-1'), { version: '4.17.5+72-g01140da4e8'.replace('-', '_'), release: '1' });
  assert.equal(rpmVersionFromDebian('2.38'), { version: '2.38', release: '0' });
});

test('the product package set: names, capabilities, files and sources', () => {
  const specs = productRpmSpecs({
    brand: 'XenServer', productVersion: '7.1.2', platform: { name: 'XCP', version: '2.2.0' }, buildNumber: '137272c',
    hypervisor: { version: '4.17.5', xenGz: { stage: 'hypervisor', path: 'xen.gz' } },
    kernel: { release: '6.1.0-28-amd64', version: '6.1.119', rpmRelease: '1', vmlinuz: { stage: 'kernel', path: 'vmlinuz' } },
    treeinfo: '[platform]\nname = XCP\n',
    gpgKey: { name: 'xsforge', file: '/keys/pub.asc' },
  });
  assert.equal(specs.map((s) => `${s.name}-${s.version}-${s.release}.${s.arch}`), [
    'xenserver-hypervisor-4.17.5-137272c.x86_64', 'kernel-6.1.119-1.x86_64', 'xenserver-release-7.1.2-137272c.noarch',
    'xsforge-firstboot-7.1.2-137272c.noarch', 'xsforge-update-7.1.2-137272c.noarch', 'xsforge-xen-cmdline-7.1.2-137272c.noarch', 'xenserver-gpg-keys-7.1.2-137272c.noarch',
  ]);
  const by = Object.fromEntries(specs.map((s) => [s.name, s]));
  assert.equal(by['xenserver-hypervisor'].provides, ['xen-hypervisor = 4.17.5']);
  assert.equal(by['xenserver-hypervisor'].files, [{ from: { stage: 'hypervisor', path: 'xen.gz' }, to: '/boot/xen-4.17.5.gz', mode: 0o644 }]);
  assert.equal(by.kernel.provides, ['kernel-uname-r = 6.1.0_28_amd64']);
  assert.equal(by.kernel.files.map((f) => f.to), ['/boot/vmlinuz-6.1.0-28-amd64']);
  assert.equal(by['xenserver-release'].provides, ['product-version = 7.1.2', 'platform-version = 2.2.0']);
  assert.equal(by['xenserver-release'].files.map((f) => [f.to, f.from]), [
    ['/etc/xenserver-release', { text: 'XenServer release 7.1.2-137272c (XCP 2.2.0)\n' }],
    ['/usr/share/xenserver/treeinfo', { text: '[platform]\nname = XCP\n' }],
  ]);
  assert.equal(by['xenserver-gpg-keys'].files, [{ from: '/keys/pub.asc', to: '/etc/pki/rpm-gpg/RPM-GPG-KEY-xsforge', mode: 0o644 }]);
  // first boot: the overlay's files, by path, with the modes the overlay gives them
  const fb = by['xsforge-firstboot'];
  assert.equal(fb.files.map((f) => [f.to, f.mode]), [
    ['/usr/lib/xsforge/firstboot', 0o755],
    ['/usr/lib/systemd/system/xsforge-firstboot.service', 0o644],
    ['/usr/lib/systemd/system/xsforge-ssh-hostkeys.service', 0o644],
  ]);
  for (const f of fb.files) {
    assert.type(f.from, 'string');
    assert.ok(existsSync(f.from as string), `${f.from} is in the overlay`);
    assert.is((statSync(f.from as string).mode & 0o111) !== 0, f.mode === 0o755, `${f.to}: mode follows the overlay's executable bit`);
  }
  assert.equal(fb.dirs, ['/etc/firstboot.d', '/etc/firstboot.d/data', '/etc/firstboot.d/state', '/usr/lib/xsforge']);
  assert.match(fb.scriptlets.post!, /systemctl enable xsforge-firstboot.service xsforge-ssh-hostkeys.service/);
  // the host update tool, executable, with its state directories
  const up = by['xsforge-update'];
  assert.equal(up.files.map((f) => [f.to, f.mode]), [['/usr/sbin/xsforge-update', 0o755]]);
  assert.ok(existsSync(up.files[0].from as string));
  assert.equal(up.dirs, ['/var/update', '/var/update/applied', '/var/update/staged']);
  assert.equal(up.requires, ['product-version = 7.1.2']);
  for (const s of specs) assert.not.throws(() => formatRpmSpec(s, { sourceDateEpoch: EPOCH }), s.name);

  const noKey = productRpmSpecs({
    brand: 'My Product', productVersion: '1.0.0', platform: { name: 'XCP', version: '2.2.0' }, buildNumber: 'b-7',
    hypervisor: { version: '4.17.5', xenGz: '/x/xen.gz', xenEfi: '/x/xen.efi' },
    kernel: { release: '6.1.0-28-amd64', version: '6.1.119', vmlinuz: '/x/vmlinuz', modules: [{ from: '/x/m/e1000.ko', path: 'kernel/drivers/net/e1000.ko' }] },
    treeinfo: '[platform]', firstbootOverlayDir: '/elsewhere',
  });
  assert.equal(noKey.map((s) => s.name), ['my-product-hypervisor', 'kernel', 'my-product-release', 'xsforge-firstboot', 'xsforge-update', 'xsforge-xen-cmdline']);
  assert.equal(noKey[0].files.map((f) => f.to), ['/boot/xen-4.17.5.gz', '/boot/xen-4.17.5.efi']);
  assert.equal(noKey[1].files.map((f) => f.to), ['/boot/vmlinuz-6.1.0-28-amd64', '/lib/modules/6.1.0-28-amd64/kernel/drivers/net/e1000.ko']);
  assert.equal(noKey[1].dirs, ['/lib/modules/6.1.0-28-amd64']);
  assert.is(noKey[1].release, 'b_7');
  assert.is(noKey[3].files[0].from, '/elsewhere/usr/lib/xsforge/firstboot');
});

test('brand slugs, build-number releases and kernel-uname-r versions', () => {
  assert.is(brandSlug('XenServer'), 'xenserver');
  assert.is(brandSlug(' My  Product 2 '), 'my-product-2');
  assert.throws(() => brandSlug('%%%'), /no letters or digits/);
  assert.is(rpmReleaseFromBuild('137272c'), '137272c');
  assert.is(rpmReleaseFromBuild('build-12.3'), 'build_12.3');
  assert.is(kernelUnameRVersion('4.4.0+10'), '4.4.0+10');
  assert.is(kernelUnameRVersion('6.1.0-28-amd64'), '6.1.0_28_amd64');
});

test('recipe form: the schema accepts and refuses, and conversion resolves repo paths and octal modes', () => {
  const ajv = new Ajv({ allErrors: true, strict: false });
  const validate = ajv.compile(RpmPackageRecipeSchema);
  const good = {
    name: 'site-config', version: '1.0', summary: 'Site configuration', license: 'MIT', arch: 'noarch', description: 'Files for this site.',
    requires: ['product-version = 7.1.2'],
    files: [
      { from: { repo: 'files/site.conf' }, to: '/etc/xsforge/site.conf', mode: '0640', config: true },
      { from: { stage: 'hypervisor', path: 'xen.gz' }, to: '/boot/xen-extra.gz' },
      { from: { text: 'hello\n' }, to: '/usr/share/site/hello' },
    ],
    scriptlets: { post: 'true' },
  };
  assert.ok(validate(good), JSON.stringify(validate.errors));
  for (const [bad, why] of [
    [{ ...good, files: [{ from: { repo: 'x' }, to: '/x', mode: 644 }] }, 'numeric mode (YAML reads 0644 as 644)'],
    [{ ...good, files: [{ from: { stage: 'kernel', path: '../etc/passwd' }, to: '/x' }] }, 'stage path with ..'],
    [{ ...good, files: [{ from: { repo: 'x', text: 'y' }, to: '/x' }] }, 'two sources'],
    [{ ...good, summary: 'two\nlines' }, 'multi-line summary'],
    [{ ...good, requires: ['a, b'] }, 'two deps in one'],
    [{ ...good, arch: 'i686' }, 'arch'],
    [{ ...good, scriptlets: { install: 'x' } }, 'unknown scriptlet'],
  ] as const) {
    assert.not.ok(validate(bad), why);
  }
  const def = packageFromRecipe(good as never, '/recipes');
  assert.equal(def.files, [
    { from: '/recipes/files/site.conf', to: '/etc/xsforge/site.conf', mode: 0o640, config: true },
    { from: { stage: 'hypervisor', path: 'xen.gz' }, to: '/boot/xen-extra.gz' },
    { from: { text: 'hello\n' }, to: '/usr/share/site/hello' },
  ]);
  assert.is(def.release, '1');
  assert.equal([def.provides, def.conflicts, def.dirs], [[], [], []]);
  assert.throws(() => packageFromRecipe({ ...good, files: [{ from: { repo: '../../etc/shadow' }, to: '/x' }] } as never, '/recipes'), /outside the recipe's directory/);
  assert.equal(rpmSpecProblems(def), []);
});

test.run();

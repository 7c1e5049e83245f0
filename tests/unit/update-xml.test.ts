// update.xml (SPEC section 6): generate → parse round trip, the parser's
// required-field and value rules, and the generator refusing what the parser refuses.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { checkUpdateXml, parseUpdateXml, renderUpdateXml, UpdateXmlError, type UpdateXml } from '../../updates/update-xml.ts';

const BASE: UpdateXml = {
  nameLabel: 'XS71ECU2001',
  uuid: '3fbb95ca-cf9c-5191-800c-c64fb69565b9',
  version: '1.0',
  key: 'RPM-GPG-KEY-XS-7',
  installationSize: 123456,
  afterApplyGuidance: ['restartHost', 'restartXAPI'],
  enforceHomogeneity: false,
  control: 'control-XS71ECU2001',
  description: 'Fixes to the dom0 kernel & <tools>',
  rolledUpBy: { nameLabel: 'XS71ECU3', uuid: '595fc7c1-46f8-5fbd-b29c-bb0628d2257e' },
  livepatch: false,
};

test('the text has the SPEC section 6 shape: attributes in order, comma-separated guidance, rolled-up-by', () => {
  const xml = renderUpdateXml(BASE);
  assert.is(xml, [
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<update name-label="XS71ECU2001" uuid="3fbb95ca-cf9c-5191-800c-c64fb69565b9" version="1.0" key="RPM-GPG-KEY-XS-7" installation-size="123456" after-apply-guidance="restartHost,restartXAPI" enforce-homogeneity="false" control="control-XS71ECU2001">',
    '  <name-description>Fixes to the dom0 kernel &amp; &lt;tools&gt;</name-description>',
    '  <rolled-up-by name-label="XS71ECU3" uuid="595fc7c1-46f8-5fbd-b29c-bb0628d2257e"/>',
    '</update>',
    '',
  ].join('\n'));
});

test('round trip: parse(render(x)) == x, for several shapes', () => {
  const variants: UpdateXml[] = [
    BASE,
    { ...BASE, rolledUpBy: undefined, key: undefined, afterApplyGuidance: [], livepatch: true, enforceHomogeneity: true },
    { ...BASE, description: 'quotes " and \' and\nnew line', afterApplyGuidance: ['restartHVM', 'restartPV'] },
  ];
  for (const v of variants) {
    const expected = JSON.parse(JSON.stringify(v));
    if (!v.rolledUpBy) delete expected.rolledUpBy;
    assert.equal(parseUpdateXml(renderUpdateXml(v)), expected);
  }
});

test('missing required fields: every one is reported', () => {
  const r = checkUpdateXml('<update installation-size="1"><name-description>  </name-description></update>');
  assert.equal(r.problems, [
    'missing required attribute name-label',
    'missing required attribute uuid',
    'missing required attribute version',
    '<name-description> is empty',
  ]);
  assert.is(r.update, undefined);
  const noDesc = checkUpdateXml('<update name-label="a" uuid="3fbb95ca-cf9c-5191-800c-c64fb69565b9" version="1"/>');
  assert.equal(noDesc.problems, ['missing required element <name-description>']);
});

test('values: uuid form, guidance names, installation-size, booleans, rolled-up-by', () => {
  const xml = '<update name-label="a" uuid="nope" version="1" installation-size="12k" after-apply-guidance="restartHost,reboot,restartHost" enforce-homogeneity="yes">'
    + '<name-description>d</name-description><rolled-up-by name-label="CU"/></update>';
  assert.equal(checkUpdateXml(xml).problems, [
    'uuid "nope" is not a UUID such as 3f6e4c2a-8d1b-5e7f-9a0b-1c2d3e4f5a6b',
    'installation-size "12k" is not a whole number of bytes',
    'after-apply-guidance "reboot" is not one of restartHVM, restartPV, restartHost, restartXAPI',
    'after-apply-guidance lists restartHost twice',
    'enforce-homogeneity "yes" is not true or false',
    '<rolled-up-by> lacks uuid',
  ]);
});

test('defaults when optional attributes are absent; control defaults to control-<name-label>', () => {
  const u = parseUpdateXml('<update name-label="P" uuid="3FBB95CA-CF9C-5191-800C-C64FB69565B9" version="2"><name-description>x</name-description></update>');
  assert.equal(u, { nameLabel: 'P', uuid: '3fbb95ca-cf9c-5191-800c-c64fb69565b9', version: '2', installationSize: 0, afterApplyGuidance: [], enforceHomogeneity: false, control: 'control-P', description: 'x', livepatch: false });
});

test('not XML, wrong root: one clear problem', () => {
  assert.match(checkUpdateXml('<update name-label="a"').problems[0], /not well-formed XML/);
  assert.equal(checkUpdateXml('<patch/>').problems, ['the root element must be <update> (found <patch>)']);
});

test('parseUpdateXml throws UpdateXmlError naming the file; render refuses a bad model', () => {
  try {
    parseUpdateXml('<update/>', 'X.iso:/update.xml');
    assert.unreachable();
  } catch (err) {
    assert.instance(err, UpdateXmlError);
    assert.match((err as Error).message, /^X\.iso:\/update\.xml: \n {2}- missing required attribute name-label/);
    assert.is((err as UpdateXmlError).problems.length, 4);
  }
  assert.throws(() => renderUpdateXml({ ...BASE, uuid: 'not-a-uuid' }), /uuid "not-a-uuid"/);
  assert.throws(() => renderUpdateXml({ ...BASE, description: ' ' }), /<name-description> is empty/);
});

test('overwrites: one <file> per path inside <overwrites>, read back; no element when the list is empty', () => {
  const v: UpdateXml = { ...BASE, overwrites: ['/usr/sbin/xsforge-update', '/etc/a b&c'] };
  const xml = renderUpdateXml(v);
  assert.match(xml, '  <overwrites>\n    <file path="/usr/sbin/xsforge-update"/>\n    <file path="/etc/a b&amp;c"/>\n  </overwrites>\n</update>');
  assert.equal(parseUpdateXml(xml).overwrites, ['/usr/sbin/xsforge-update', '/etc/a b&c']);
  // an empty list leaves the bytes as they were before the field existed
  assert.is(renderUpdateXml({ ...BASE, overwrites: [] }), renderUpdateXml(BASE));
  assert.not.match(renderUpdateXml({ ...BASE, overwrites: [] }), 'overwrites');
  assert.is(parseUpdateXml(renderUpdateXml(BASE)).overwrites, undefined);
});

test('overwrites: relative, ".." and repeated paths and a <file> without path are problems', () => {
  const head = renderUpdateXml(BASE).replace('</update>\n', '');
  const problems = (files: string) => checkUpdateXml(`${head}  <overwrites>${files}</overwrites>\n</update>\n`).problems;
  assert.match(problems('<file path="usr/x"/>').join('\n'), /<overwrites> file "usr\/x" is not an absolute file path/);
  assert.match(problems('<file path="/usr/../etc/shadow"/>').join('\n'), /"\/usr\/..\/etc\/shadow" is not an absolute file path without "\." or "\.\." parts/);
  assert.match(problems('<file path="/x"/><file path="/x"/>').join('\n'), /lists \/x twice/);
  assert.match(problems('<file/>').join('\n'), /<file> without path/);
  assert.equal(problems('<file path="/x"/>'), []);
  assert.throws(() => renderUpdateXml({ ...BASE, overwrites: ['relative/path'] }), (e: unknown) => e instanceof UpdateXmlError);
});

test.run();

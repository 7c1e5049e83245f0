import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseTreeinfo, formatTreeinfo, treeinfoGet, TreeinfoError, type TreeinfoSection } from '../../media/treeinfo.ts';

const SPEC_SECTIONS: TreeinfoSection[] = [
  { name: 'platform', entries: [['name', 'XCP'], ['version', '2.2.0']] },
  { name: 'branding', entries: [['name', 'XenServer'], ['version', '7.1.2']] },
  { name: 'build', entries: [['number', '137272c']] },
  { name: 'keys', entries: [['key1', 'RPM-GPG-KEY-XenServer-7.1']] },
];

test('format writes the SPEC layout, sections and keys in the given order', () => {
  assert.is(formatTreeinfo(SPEC_SECTIONS), [
    '[platform]', 'name = XCP', 'version = 2.2.0',
    '[branding]', 'name = XenServer', 'version = 7.1.2',
    '[build]', 'number = 137272c',
    '[keys]', 'key1 = RPM-GPG-KEY-XenServer-7.1', '',
  ].join('\n'));
});

test('parse(format(x)) gives x back, order included', () => {
  assert.equal(parseTreeinfo(formatTreeinfo(SPEC_SECTIONS)), SPEC_SECTIONS);
  const reversed = [...SPEC_SECTIONS].reverse();
  assert.equal(parseTreeinfo(formatTreeinfo(reversed)).map((s) => s.name), ['keys', 'build', 'branding', 'platform']);
});

test('format accepts plain objects as entries', () => {
  assert.is(formatTreeinfo([{ name: 'build', entries: { number: '42', date: '2024-01-01' } }]), '[build]\nnumber = 42\ndate = 2024-01-01\n');
});

test('parse accepts what ConfigParser accepts: colons, comments, blank lines, continuations, CRLF', () => {
  const text = '\uFEFF# made by hand\r\n[general]\r\nname: Fedora\r\n; comment\r\n\r\nfamily =  Fedora  \r\n[stage2]\r\nmainimage = images/install.img\r\nvariants = a,\r\n  b\r\n';
  const parsed = parseTreeinfo(text);
  assert.equal(parsed, [
    { name: 'general', entries: [['name', 'Fedora'], ['family', 'Fedora']] },
    { name: 'stage2', entries: [['mainimage', 'images/install.img'], ['variants', 'a,\nb']] },
  ]);
  assert.is(treeinfoGet(parsed, 'general', 'NAME'), 'Fedora');
  assert.is(treeinfoGet(parsed, 'general', 'missing'), undefined);
  assert.is(treeinfoGet(parsed, 'nosuch', 'name'), undefined);
});

test('parse errors name the line', () => {
  const cases: Array<[string, RegExp]> = [
    ['name = x\n[a]\n', /\.treeinfo:1: "name" appears before any \[section\]/],
    ['[a]\nx = 1\n[a]\n', /\.treeinfo:3: section \[a\] appears twice/],
    ['[a]\nx = 1\nX = 2\n', /\.treeinfo:3: key "X" appears twice in \[a\]/],
    ['[a]\njust words\n', /\.treeinfo:2: expected "\[section\]" or "key = value"/],
    ['  indented first\n', /\.treeinfo:1: indented line does not continue a value/],
  ];
  for (const [text, re] of cases) {
    try {
      parseTreeinfo(text);
      assert.unreachable(`no error for ${JSON.stringify(text)}`);
    } catch (err) {
      assert.instance(err, TreeinfoError);
      assert.match((err as Error).message, re);
    }
  }
});

test('format refuses names, keys and values that would not read back', () => {
  const bad: Array<Parameters<typeof formatTreeinfo>[0]> = [
    [{ name: 'a]b', entries: [] }],
    [{ name: 'a', entries: [['k=x', 'v']] }],
    [{ name: 'a', entries: [['#k', 'v']] }],
    [{ name: 'a', entries: [['k', 'two\nlines']] }],
    [{ name: 'a', entries: [['k', ' padded']] }],
    [{ name: 'a', entries: [] }, { name: 'a', entries: [] }],
    [{ name: 'a', entries: [['k', '1'], ['K', '2']] }],
  ];
  for (const sections of bad) assert.throws(() => formatTreeinfo(sections), (e: unknown) => e instanceof TreeinfoError);
});

test.run();

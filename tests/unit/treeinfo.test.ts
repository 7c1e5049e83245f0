import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseTreeinfo, formatTreeinfo, treeinfoGet, TreeinfoError, bootFromTreeinfo, bootTreeinfoSection, type TreeinfoSection } from '../../media/treeinfo.ts';
import { treeinfoText } from '../../cli/pipeline.ts';
import { DEFAULT_RECIPE } from '../../cli/shared.ts';
import { loadRecipe } from '../../recipes/load.ts';
import { DEFAULT_BOOT, type BootValues } from '../../target/boot-args.ts';

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

test('[xsforge-boot]: the media carry the recipe\'s Xen values and serial console, not boot.dom0.extra', () => {
  const recipe = loadRecipe(DEFAULT_RECIPE);
  const text = treeinfoText({ ...recipe, boot: { ...recipe.boot, dom0: { extra: ['install', 'answerfile=http://h/a.xml'] } } }, ['RPM-GPG-KEY-XS-7']);
  assert.ok(text.includes('[build]\nnumber = 137272c\n[xsforge-boot]\ndom0_mem = 1024M,max:1024M\ndom0_max_vcpus = 1-2\nserial_port = com1\nserial_baud = 115200\n[keys]\n'), text);
  assert.not.ok(text.includes('answerfile'));
  // the release package's copy leaves it out: a boot value does not rebuild the RPMs
  assert.not.ok(treeinfoText(recipe, [], { hostBoot: false }).includes('[xsforge-boot]'));
  assert.equal(bootFromTreeinfo(parseTreeinfo(text)), DEFAULT_BOOT);
  const other: BootValues = { serial: { port: 'com2', baud: 57600 }, xen: { dom0_mem: '2048M,max:4G', dom0_max_vcpus: '4', extra: ['loglvl=all', 'dma_bits=32'] } };
  const section = formatTreeinfo([bootTreeinfoSection(other)]);
  assert.is(section, '[xsforge-boot]\ndom0_mem = 2048M,max:4G\ndom0_max_vcpus = 4\nxen_extra = loglvl=all dma_bits=32\nserial_port = com2\nserial_baud = 57600\n');
  assert.equal(bootFromTreeinfo(parseTreeinfo(section)), other);
});

test('[xsforge-boot]: absent on older media; a missing or malformed value is refused, naming the file and key', () => {
  assert.is(bootFromTreeinfo(SPEC_SECTIONS), undefined);
  const good = formatTreeinfo([bootTreeinfoSection(DEFAULT_BOOT)]);
  const cases: Array<[string, RegExp]> = [
    [good.replace('dom0_mem = 1024M,max:1024M\n', ''), /^m\/\.treeinfo: \[xsforge-boot\] dom0_mem is missing$/],
    [good.replace('dom0_mem = 1024M,max:1024M', 'dom0_mem = lots'), /dom0_mem 'lots' is not a Xen dom0_mem value/],
    [good.replace('dom0_max_vcpus = 1-2', 'dom0_max_vcpus = all'), /dom0_max_vcpus 'all' is not a count N or a range N-M/],
    [good.replace('serial_port = com1', 'serial_port = ttyS0'), /serial_port 'ttyS0' is not one of com1, com2, com3, com4/],
    [good.replace('serial_baud = 115200', 'serial_baud = 100'), /serial_baud '100' is not one of 9600/],
    [good + 'xen_extra = ok=1 a;reboot\n', /xen_extra 'a;reboot' cannot go on the installed host's grub\.cfg/],
  ];
  for (const [text, re] of cases) assert.throws(() => bootFromTreeinfo(parseTreeinfo(text), 'm/.treeinfo'), re, text);
});

test.run();

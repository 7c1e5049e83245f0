// Every answer-file error, with the installer's message text verbatim, and the
// line (and column) we report for it.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseAnswerFile, validateAnswerFile, type AnswerFileError } from '../../answerfiles/parse.ts';
import { checkScriptInterpreter, unrecoverableErrorText, MESSAGES } from '../../answerfiles/model.ts';

const DISK = '<primary-disk>sda</primary-disk>';
const SRC = '<source type="local"/>';
const IFACE = '<admin-interface name="eth0" proto="dhcp"/>';

function errors(xml: string): AnswerFileError[] {
  const r = parseAnswerFile(xml);
  assert.is(r.config, undefined, 'no config when there are errors');
  assert.ok(r.errors.length > 0, 'expected errors');
  return r.errors;
}

function only(xml: string): AnswerFileError {
  const e = errors(xml);
  assert.is(e.length, 1, `expected one error, got ${JSON.stringify(e)}`);
  return e[0]!;
}

function install(inner: string, rootAttrs = ''): string {
  return `<installation${rootAttrs}>${inner}</installation>`;
}

// ---- malformed XML

test('malformed XML: "Answerfile is incorrectly formatted." with the line and the parser detail', () => {
  const e = only('<?xml version="1.0"?>\n<installation>\n<primary-disk>sda</primary-disc>\n</installation>\n');
  assert.is(e.message, 'Answerfile is incorrectly formatted.');
  assert.is(e.line, 3);
  assert.ok(e.detail?.includes("primary-disk"), e.detail);
});

test('malformed XML: empty file, text only, unclosed element, two roots, bad entity, < in attribute, duplicate attribute', () => {
  for (const [xml, line] of [
    ['', 1],
    ['just text', 1],
    ['<installation>\n<source type="local"/>', 1], // the unclosed element's own line
    ['<installation>\n<guest-disks>\n', undefined], // several unclosed: the validator gives no line
    ['<installation/>\n<restore/>', 2],
    ['<installation>\n<hostname>&nbsp;</hostname></installation>', 2],
    ['<installation>\n\n<hostname a="x<y"/></installation>', 3],
    ['<installation>\n<source type="url" type="nfs"/></installation>', 2],
    ['<installation>\n<hostname>a & b</hostname></installation>', 2],
  ] as const) {
    const e = only(xml);
    assert.is(e.message, 'Answerfile is incorrectly formatted.', xml);
    assert.is(e.line, line, `line for ${JSON.stringify(xml)}: ${JSON.stringify(e)}`);
    assert.ok(e.detail, 'a detail says what is wrong');
  }
});

test('malformed XML: several unclosed elements are named', () => {
  assert.is(only('<installation>\n<guest-disks>\n').detail, 'unclosed element(s): installation, guest-disks');
});

test('malformed XML: the seed example pasted with typographic quotes gets a hint', () => {
  const e = only('<?xml version="1.0"?>\n<installation srtype=\u201dext\u201d>\n</installation>');
  assert.is(e.message, 'Answerfile is incorrectly formatted.');
  assert.is(e.line, 2);
  assert.ok(e.detail?.includes('typographic quotes'), e.detail);
});

test('malformed generator output: "Generator script returned incorrectly formatted output."', () => {
  const e = parseAnswerFile('<installation>', { generated: true }).errors[0]!;
  assert.is(e.message, 'Generator script returned incorrectly formatted output.');
});

// ---- root

test('"Unexpected top level element" for any other root, at its line', () => {
  const e = only('<?xml version="1.0"?>\n<install>\n</install>');
  assert.equal(e, { message: 'Unexpected top level element', line: 2, column: 1 });
  assert.is(only('<Installation/>').message, 'Unexpected top level element', 'names are case-sensitive');
});

test('"Unknown mode, X"', () => {
  const e = only(`<?xml version="1.0"?>\n<installation mode="freshinstall">${DISK}${SRC}${IFACE}</installation>`);
  assert.equal(e, { message: 'Unknown mode, freshinstall', line: 2, column: 1 });
  assert.is(only(install(`${DISK}${SRC}${IFACE}`, ' mode="Fresh"')).message, 'Unknown mode, Fresh');
});

test('a bad sr-type: "Unexpected key X for attribute"', () => {
  assert.is(only(install(`${DISK}${SRC}${IFACE}`, ' sr-type="zfs"')).message, 'Unexpected key zfs for attribute');
  assert.is(only(install(`${DISK}${SRC}${IFACE}`, ' srtype="EXT"')).message, 'Unexpected key EXT for attribute');
});

// ---- mandatory elements

test('"Missing mandatory element primary-disk|admin-interface|source", all reported', () => {
  const e = errors('<?xml version="1.0"?>\n<installation mode="reinstall">\n<hostname>x</hostname>\n</installation>');
  assert.equal(e.map((x) => x.message), [
    'Missing mandatory element primary-disk',
    'Missing mandatory element admin-interface',
    'Missing mandatory element source',
  ]);
  assert.ok(e.every((x) => x.line === 2), 'missing top-level elements point at the root element');
});

test('"Missing mandatory element existing-installation" for an upgrade', () => {
  assert.is(only(install(SRC, ' mode="upgrade"')).message, 'Missing mandatory element existing-installation');
});

test('empty disk names are rejected (the installer would fail later, less clearly)', () => {
  assert.is(only(install(`<primary-disk> </primary-disk>${SRC}${IFACE}`)).message, '<primary-disk> names no disk');
  assert.is(only(install(`${DISK}<guest-disk/>${SRC}${IFACE}`)).message, '<guest-disk> names no disk');
});

// ---- attributes

test('a bad preserve-first-partition: "Unexpected key Yes for attribute" (values are case-sensitive)', () => {
  const e = only(`<installation>\n<primary-disk preserve-first-partition="Yes">sda</primary-disk>${SRC}${IFACE}</installation>`);
  assert.equal(e, { message: 'Unexpected key Yes for attribute', line: 2, column: 1 });
});

test('a bad root-password type: "Unexpected key md5 for attribute"', () => {
  assert.is(only(install(`${DISK}${SRC}${IFACE}<root-password type="md5">x</root-password>`)).message, 'Unexpected key md5 for attribute');
});

// ---- sources

test('"Invalid type for <source> media specified." at the source line; a missing type is a missing attribute', () => {
  const e = only(`<installation>\n${DISK}\n${IFACE}\n<source type="cdrom">x</source>\n</installation>`);
  assert.equal(e, { message: 'Invalid type for <source> media specified.', line: 4, column: 1 });
  assert.is(only(install(`${DISK}${IFACE}<source type="URL">http://x/</source>`)).message, 'Invalid type for <source> media specified.', 'types are case-sensitive');
  assert.is(only(install(`${DISK}${IFACE}<source>http://x/</source>`)).message, 'Missing mandatory attribute type');
  assert.is(only(install(`${DISK}${IFACE}<source type="">http://x/</source>`)).message, 'Missing mandatory attribute type', 'an empty attribute counts as absent');
});

test('a url or nfs source without an address is rejected', () => {
  assert.is(only(install(`${DISK}${IFACE}<source type="url"/>`)).message, '<source type="url"> has no address');
});

test('"Invalid type for <driver-source> media specified." (also checked on restore)', () => {
  assert.is(only(install(`${DISK}${SRC}${IFACE}<driver-source type="iso">x</driver-source>`)).message, 'Invalid type for <driver-source> media specified.');
  assert.is(only('<restore><driver-source type="iso">x</driver-source></restore>').message, 'Invalid type for <driver-source> media specified.');
});

// ---- scripts

test('script: "Missing mandatory attribute stage" and "... type"', () => {
  assert.is(only(install(`${DISK}${SRC}${IFACE}<script type="url">http://x</script>`)).message, 'Missing mandatory attribute stage');
  assert.is(only(install(`${DISK}${SRC}${IFACE}<script stage="installation-start">http://x</script>`)).message, 'Missing mandatory attribute type');
});

test('checkScriptInterpreter: "Missing interpreter in %s." and "Invalid interpreter %s in %s."', () => {
  const url = 'http://h/s.sh';
  assert.is(checkScriptInterpreter('#!/bin/sh\necho hi\n', url), undefined);
  assert.is(checkScriptInterpreter('#!/bin/bash -e\n', url), undefined);
  assert.is(checkScriptInterpreter('#!/usr/bin/python\n', url), undefined);
  assert.is(checkScriptInterpreter('#! /usr/bin/env python\n', url), undefined);
  assert.is(checkScriptInterpreter('echo hi\n', url), 'Missing interpreter in http://h/s.sh.');
  assert.is(checkScriptInterpreter('', url), 'Missing interpreter in http://h/s.sh.');
  assert.is(checkScriptInterpreter(' #!/bin/sh\n', url), 'Missing interpreter in http://h/s.sh.');
  assert.is(checkScriptInterpreter('#!/usr/bin/perl\n', url), 'Invalid interpreter /usr/bin/perl in http://h/s.sh.');
  assert.is(checkScriptInterpreter('#!/usr/bin/env python3\n', url), 'Invalid interpreter python3 in http://h/s.sh.');
  assert.is(checkScriptInterpreter('#!/usr/bin/env bash\n', url), 'Invalid interpreter bash in http://h/s.sh.');
  assert.is(checkScriptInterpreter('#!/bin/zsh', url), 'Invalid interpreter /bin/zsh in http://h/s.sh.');
  // Only the first 40 characters are read: a long path is cut and so refused.
  assert.is(checkScriptInterpreter(`#!/bin/sh${' '.repeat(40)}\n`, url), undefined);
  assert.is(checkScriptInterpreter(`#!/${'x'.repeat(50)}/bin/sh\n`, url), `Invalid interpreter /${'x'.repeat(37)} in ${url}.`);
});

// ---- admin interface

test("\"<admin-interface> tag must have one of 'name' or 'hwaddr'\" at its line", () => {
  const e = only(`<installation>\n${DISK}\n${SRC}\n\n<admin-interface proto="dhcp"/>\n</installation>`);
  assert.equal(e, { message: "<admin-interface> tag must have one of 'name' or 'hwaddr'", line: 5, column: 1 });
  assert.is(only(install(`${DISK}${SRC}<admin-interface name="" proto="dhcp"/>`)).message, "<admin-interface> tag must have one of 'name' or 'hwaddr'");
});

test('"Missing mandatory attribute proto"', () => {
  assert.is(only(install(`${DISK}${SRC}<admin-interface name="eth0"/>`)).message, 'Missing mandatory attribute proto');
});

test('static without gateway: "Missing mandatory element gateway" at the interface line', () => {
  const xml = `<?xml version="1.0"?>\n<installation>\n${DISK}\n${SRC}\n  <admin-interface name="eth0" proto="static">\n<ipaddr>10.0.0.5</ipaddr>\n<subnet>255.255.255.0</subnet>\n</admin-interface>\n</installation>`;
  const e = only(xml);
  assert.equal(e, { message: 'Missing mandatory element gateway', line: 5, column: 3 });
  // The same file as the validator reports it.
  assert.equal(validateAnswerFile(xml), { valid: false, errors: [{ message: 'Missing mandatory element gateway', line: 5, column: 3 }], warnings: [] });
});

test('static without address or netmask: the error names the first accepted tag (ip, subnet-mask)', () => {
  const e = errors(install(`${DISK}${SRC}<admin-interface name="eth0" proto="static"><gateway>10.0.0.1</gateway></admin-interface>`));
  assert.equal(e.map((x) => x.message), ['Missing mandatory element ip', 'Missing mandatory element subnet-mask']);
});

test('a <gateway> outside <admin-interface> does not count', () => {
  const e = errors(install(`${DISK}${SRC}<admin-interface name="eth0" proto="static"><ipaddr>10.0.0.5</ipaddr><subnet>255.0.0.0</subnet></admin-interface><gateway>10.0.0.1</gateway>`));
  assert.equal(e.map((x) => x.message), ['Missing mandatory element gateway']);
});

test('static with an empty address is rejected', () => {
  assert.is(only(install(`${DISK}${SRC}<admin-interface name="eth0" proto="static"><ipaddr/><subnet>255.0.0.0</subnet><gateway/></admin-interface>`)).message, '<ipaddr> in <admin-interface> is empty');
});

test('"<admin-interface> tag must have IPv4 or IPv6 defined."', () => {
  assert.is(only(install(`${DISK}${SRC}<admin-interface name="eth0" proto="none"/>`)).message, '<admin-interface> tag must have IPv4 or IPv6 defined.');
  assert.is(only(install(`${DISK}${SRC}<admin-interface name="eth0" proto="bogus" protov6="bogus"/>`)).message, '<admin-interface> tag must have IPv4 or IPv6 defined.');
});

test('protov6 static needs <ipv6> and <gatewayv6>', () => {
  assert.equal(errors(install(`${DISK}${SRC}<admin-interface name="eth0" proto="none" protov6="static"/>`)).map((e) => e.message),
    ['Missing mandatory element ipv6', 'Missing mandatory element gatewayv6']);
});

test("\"<fcoe-interface> tag must have one of 'name' or 'hwaddr'\"", () => {
  assert.is(only(install(`${DISK}${SRC}${IFACE}<fcoe-interface dcb="on"/>`)).message, "<fcoe-interface> tag must have one of 'name' or 'hwaddr'");
});

// ---- bootloader, services

test('"Unsupported bootloader \'X\'" for extlinux and grub; a bad location is an unexpected key', () => {
  assert.is(only(install(`${DISK}${SRC}${IFACE}<bootloader>extlinux</bootloader>`)).message, "Unsupported bootloader 'extlinux'");
  assert.is(only(install(`${DISK}${SRC}${IFACE}<bootloader location="mbr">grub</bootloader>`)).message, "Unsupported bootloader 'grub'");
  assert.is(only(install(`${DISK}${SRC}${IFACE}<bootloader location="usb">grub2</bootloader>`)).message, 'Unexpected key usb for attribute');
});

test('"Multiple entries for service %s" and "Invalid state for service %s: %s"', () => {
  assert.is(only(install(`${DISK}${SRC}${IFACE}<service name="sshd" state="enabled"/><service name="sshd" state="disabled"/>`)).message, 'Multiple entries for service sshd');
  assert.is(only(install(`${DISK}${SRC}${IFACE}<service name="sshd" state="on"/>`)).message, 'Invalid state for service sshd: on');
  assert.is(only(install(`${DISK}${SRC}${IFACE}<service state="on"/>`)).message, 'Missing mandatory attribute name');
  assert.is(only(install(`${DISK}${SRC}${IFACE}<service name="sshd"/>`)).message, 'Missing mandatory attribute state');
});

// ---- collection and order

test('several errors are collected in the installer order, each with its line', () => {
  const xml = [
    '<installation sr-type="xfs">', //               1
    '<script type="url">http://x</script>', //       2
    '<primary-disk>sda</primary-disk>', //          3
    '<admin-interface proto="dhcp"/>', //             4
    '<source type="dvd"/>', //                       5
    '<bootloader>lilo</bootloader>', //             6
    '</installation>',
  ].join('\n');
  assert.equal(errors(xml).map((e) => [e.message, e.line]), [
    ['Missing mandatory attribute stage', 2],
    ['Unexpected key xfs for attribute', 1],
    ["<admin-interface> tag must have one of 'name' or 'hwaddr'", 4],
    ['Invalid type for <source> media specified.', 5],
    ["Unsupported bootloader 'lilo'", 6],
  ]);
});

test('line numbers count CRLF line ends once', () => {
  const xml = ['<installation>', DISK, IFACE, '', '<source type="x"/>', '</installation>'].join('\r\n');
  assert.is(only(xml).line, 5);
});

test('the texts the installer runtime shows', () => {
  assert.is(unrecoverableErrorText('Missing mandatory element source'),
    'An unrecoverable error has occurred.  The error was:\n\nMissing mandatory element source\n\nPlease refer to your user guide, or contact a Technical Support Representative, for further details.');
  assert.is(MESSAGES.installationNotFound, 'Could not locate the installation specified to be reinstalled.');
  assert.is(MESSAGES.noBackupFound, 'Could not locate exsisting backup.');
  assert.is(MESSAGES.multipleBackups, 'Multiple backups were found. Unable to deduce which backup to restore from.');
  assert.is(MESSAGES.backupNotFound, 'Unable to find a backup to restore.');
  assert.is(MESSAGES.scriptFetchFailed('http://h/x'), 'Unable to fetch script http://h/x');
  assert.is(MESSAGES.bothAnswerfileAndGenerator, 'Both answerfile and answerfile generator passed on command line.');
});

test('validateAnswerFile on a valid file', () => {
  const v = validateAnswerFile(install(`${DISK}${SRC}${IFACE}`));
  assert.equal(v, { valid: true, errors: [], warnings: [] });
});

test.run();

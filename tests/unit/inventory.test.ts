// Host inventory loading: defaults, MAC forms, every error with its message and place, passwords.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  InventoryError, hostnameProblem, loadInventory, netmaskPrefix, normalizeMac, parseInventory, validateInventory,
  type InventoryParseOptions,
} from '../../inventory/load.ts';
import { formatIssue } from '../../recipes/load.ts';
import { sha512Crypt } from '../../installer/runtime/sha512crypt.ts';
import { hostAnswerFile } from '../../inventory/answers.ts';
import { hostBootArgs } from '../../inventory/boot-args.ts';
import { INVENTORY_SCHEMA } from '../../inventory/schema.ts';

const HASH = '$6$xsforgeexample01$QysuReLybGbYJZjDxPPFfGpkzGWMZmywThlwqwZ/IOuLrFULWzUowKUSKk1RzsdYMNofUYMgCBOw63hfseDlO/';

/** The formatted errors of an inventory given as lines (joined with newlines). */
function errorsOf(lines: string[], options: InventoryParseOptions = {}): string[] {
  return parseInventory(lines.join('\n'), 'hosts.yaml', options).errors.map(formatIssue);
}
function warningsOf(lines: string[]): string[] {
  return parseInventory(lines.join('\n'), 'hosts.yaml').warnings.map(formatIssue);
}
function load(lines: string[], options: InventoryParseOptions = {}) {
  const r = parseInventory(lines.join('\n'), 'hosts.yaml', options);
  assert.equal(r.errors.map(formatIssue), []);
  return r.inventory!;
}

// Two static hosts sharing their subnet settings through defaults; tests change single lines.
const BASE = [
  'defaults:', //                       1
  '  primary_disk: sda', //             2
  '  management:', //                   3
  '    mode: static', //                4
  '    netmask: 255.255.255.0', //      5
  '    gateway: 192.0.2.1', //          6
  'hosts:', //                          7
  '  - mac: 52:54:00:00:00:01', //      8
  '    hostname: h1', //                9
  '    management: { ip: 192.0.2.11 }', // 10
  '  - mac: 52:54:00:00:00:02', //      11
  '    hostname: h2', //                12
  '    management: { ip: 192.0.2.12 }', // 13
];
function edit(changes: Record<number, string | string[]>): string[] {
  return BASE.flatMap((l, i) => changes[i + 1] ?? l);
}

test('the base inventory is valid', () => {
  assert.is(load(BASE).hosts.length, 2);
});

// ---- defaults ----

test('defaults: mappings merge key by key with the host winning, lists and scalars are replaced', () => {
  const inv = load([
    'defaults:',
    '  primary_disk: sda',
    '  ntp: [ntp1.example.com, ntp2.example.com]',
    '  sr_type: ext',
    '  management: { mode: static, netmask: 255.255.255.0, gateway: 192.0.2.1, dns: [192.0.2.53, 192.0.2.54] }',
    'hosts:',
    '  - mac: 52:54:00:00:00:01',
    '    hostname: h1',
    '    management: { ip: 192.0.2.11, dns: [198.51.100.53] }',
    '    ntp: [ntp3.example.com]',
    '  - mac: 52:54:00:00:00:02',
    '    hostname: h2',
    '    primary_disk: nvme0n1',
    '    sr_type: lvm',
    '    management: { mode: dhcp }',
  ]);
  const [h1, h2] = inv.hosts;
  assert.equal(h1!.management, { hwaddr: '52:54:00:00:00:01', mode: 'static', ip: '192.0.2.11', netmask: '255.255.255.0', gateway: '192.0.2.1', dns: ['198.51.100.53'] });
  assert.equal(h1!.ntp, ['ntp3.example.com']);
  assert.is(h1!.sr_type, 'ext');
  assert.is(h1!.primary_disk, 'sda');
  // dhcp drops the inherited static fields; dns is still inherited
  assert.equal(h2!.management, { hwaddr: '52:54:00:00:00:02', mode: 'dhcp', dns: ['192.0.2.53', '192.0.2.54'] });
  assert.equal(h2!.ntp, ['ntp1.example.com', 'ntp2.example.com']);
  assert.is(h2!.sr_type, 'lvm');
  assert.is(h2!.primary_disk, 'nvme0n1');
});

test('defaults of the host fields that have them', () => {
  const h = load(['hosts:', '  - { mac: 52:54:00:00:00:01, hostname: h1, primary_disk: sda }']).hosts[0]!;
  assert.equal(h, {
    mac: '52:54:00:00:00:01', hostname: 'h1', management: { hwaddr: '52:54:00:00:00:01', mode: 'dhcp', dns: [] },
    primary_disk: 'sda', guest_disks: [], guest_storage: true, sr_type: 'lvm', timezone: 'Etc/UTC', ntp: [], scripts: [],
    supplemental_packs: [], console: 'serial', dom0_args: [], xen_args: [], multipath: false, use_ibft: false, index: 0, line: 2,
  });
});

test('the example inventory loads: three hosts, one static, inheriting the defaults', () => {
  const inv = loadInventory(join(import.meta.dirname, '../../examples/hosts.yaml'));
  assert.is(inv.hosts.length, 3);
  assert.equal(inv.hosts.map((h) => h.management.mode), ['dhcp', 'static', 'dhcp']);
  assert.equal(inv.hosts.map((h) => h.mac), ['52:54:00:12:34:01', '52:54:00:12:34:02', '52:54:00:12:34:03']);
  assert.ok(inv.hosts.every((h) => h.timezone === 'Europe/London' && h.keymap === 'us'));
  assert.equal(inv.warnings, []);
});

// ---- MAC addresses ----

test('MAC addresses in any common notation become lower-case colon form', () => {
  for (const m of ['00:16:3E:AA:bb:0C', '00-16-3e-aa-bb-0c', '0016.3eaa.bb0c', '00163EAABB0C']) assert.is(normalizeMac(m), '00:16:3e:aa:bb:0c', m);
  for (const m of ['00:16:3e:aa:bb', '00:16-3e:aa:bb:0c', '0016.3eaa.bb0', '00:16:3e:aa:bb:0g', '']) assert.is(normalizeMac(m), undefined, m);
  const inv = load(edit({ 8: '  - mac: "0016.3EAA.BB0C"', 11: '  - mac: 00-16-3E-AA-BB-0D' }));
  assert.equal(inv.hosts.map((h) => h.mac), ['00:16:3e:aa:bb:0c', '00:16:3e:aa:bb:0d']);
  assert.is(inv.hosts[1]!.management.hwaddr, '00:16:3e:aa:bb:0d');
});

test('the same MAC in two notations is a duplicate naming both places', () => {
  assert.equal(errorsOf(edit({ 11: '  - mac: 52-54-00-00-00-01' })), [
    'hosts.yaml:11:10: hosts[1].mac: MAC 52:54:00:00:00:01 is also used by hosts[0] (h1) at hosts.yaml:8:10',
  ]);
});

test('a management hwaddr that is another host\'s MAC is a duplicate', () => {
  assert.equal(errorsOf(edit({ 13: '    management: { ip: 192.0.2.12, hwaddr: 52:54:00:00:00:01 }' })), [
    'hosts.yaml:13:43: hosts[1].management.hwaddr: MAC 52:54:00:00:00:01 is also used by hosts[0] (h1) at hosts.yaml:8:10',
  ]);
});

test('a bad MAC, and an all-digit one that YAML reads as a number', () => {
  assert.equal(errorsOf(edit({ 8: '  - mac: 52:54:00:00:01' })), [
    'hosts.yaml:8:10: hosts[0].mac: must be a MAC address: 00:16:3e:aa:bb:cc, 00-16-3E-AA-BB-CC, 0016.3eaa.bbcc or 00163eaabbcc (got "52:54:00:00:01")',
  ]);
  assert.equal(errorsOf(edit({ 8: '  - mac: 005254000001' })), [
    'hosts.yaml:8:10: hosts[0].mac: expected a string, got the integer 5254000001; put it in quotes: "005254000001"',
  ]);
});

// ---- schema errors ----

test('YAML syntax errors and an empty file', () => {
  assert.equal(errorsOf(edit({ 9: '    hostname: [h1' })), [
    'hosts.yaml:10:5: YAML syntax error: Flow sequence in block collection must be sufficiently indented and end with a ]',
  ]);
  assert.equal(errorsOf(edit({ 9: ['    hostname: h1', '    mac: 52:54:00:00:00:09'] })), ['hosts.yaml:10:5: YAML syntax error: Map keys must be unique']);
  // the rest of the parser's message quotes the source line, which may hold a password
  const unclosed = errorsOf(edit({ 9: ['    hostname: h1', '    root_password: { plaintext: "Top-Secret-9 }'] }));
  assert.ok(unclosed.length > 0 && unclosed.every((e) => e.includes('YAML syntax error') && !e.includes('Top-Secret-9')), unclosed.join('\n'));
  assert.equal(errorsOf(['# nothing here']), ['hosts.yaml:1:1: the inventory file is empty (it needs a hosts: list)']);
  assert.equal(errorsOf(['hosts: []']), ['hosts.yaml:1:8: hosts: must list at least 1 item']);
  assert.equal(errorsOf(['defaults: {}']), ['hosts.yaml:1:1: hosts: missing required field \'hosts\' in the top level']);
});

test('unknown keys say what was meant and what is allowed', () => {
  const [e] = errorsOf(edit({ 9: '    hostnme: h1' }));
  assert.ok(e!.startsWith("hosts.yaml:9:5: hosts[0].hostnme: unknown key 'hostnme' in hosts[0]; did you mean 'hostname'? (allowed keys: mac, hostname, management,"), e);
  // the misspelt key is not also reported as a missing required field
  assert.is(errorsOf(edit({ 9: '    hostnme: h1' })).length, 1);
  const [m] = errorsOf(edit({ 5: '    netmsk: 255.255.255.0' }));
  assert.ok(m!.startsWith("hosts.yaml:5:5: defaults.management.netmsk: unknown key 'netmsk' in defaults.management; did you mean 'netmask'? (allowed keys: interface, hwaddr, mode, ip, netmask, gateway, dns, vlan)"), m);
  assert.equal(errorsOf(edit({ 1: ['defaults:', '  hostname: all'] })), [
    "hosts.yaml:2:3: defaults.hostname: 'hostname' identifies one host and cannot be in defaults; give it in each host",
  ]);
});

test('missing required fields, in the host and in defaults', () => {
  assert.equal(errorsOf(edit({ 2: [] })), [
    "hosts.yaml:7:5: hosts[0].primary_disk: missing required field 'primary_disk' in hosts[0] (nor in defaults)",
    "hosts.yaml:10:5: hosts[1].primary_disk: missing required field 'primary_disk' in hosts[1] (nor in defaults)",
  ]);
  assert.equal(errorsOf(edit({ 8: '  - hostname: h1', 9: '    primary_disk: sdb' })), [
    "hosts.yaml:8:5: hosts[0].mac: missing required field 'mac' in hosts[0]",
  ]);
});

test('enums: sr_type, mode, console, network_backend, script stage', () => {
  assert.equal(errorsOf(edit({ 2: ['  primary_disk: sda', '  sr_type: zfs', '  console: serial0'] })), [
    'hosts.yaml:3:12: defaults.sr_type: must be one of lvm, ext (got "zfs")',
    'hosts.yaml:4:12: defaults.console: must be one of serial, vga (got "serial0")',
  ]);
  assert.equal(errorsOf(edit({ 4: '    mode: manual' })), ['hosts.yaml:4:11: defaults.management.mode: must be one of dhcp, static (got "manual")']);
  assert.equal(errorsOf(edit({ 9: ['    hostname: h1', '    network_backend: openvswitch'] })), [
    'hosts.yaml:10:22: hosts[0].network_backend: must be one of bridge (got "openvswitch")',
  ]);
  assert.equal(errorsOf(edit({ 9: ['    hostname: h1', '    scripts: [{ stage: post-install, url: "ftp:/x" }]'] })), [
    'hosts.yaml:10:24: hosts[0].scripts[0].stage: must be one of installation-start, filesystem-populated, installation-complete (got "post-install")',
    'hosts.yaml:10:43: hosts[0].scripts[0].url: must be an http://, https://, ftp://, file:/// or nfs://server:/path URL (got "ftp:/x")',
  ]);
});

test('types, vlan range, interface names and kernel arguments', () => {
  assert.equal(errorsOf(edit({ 9: ['    hostname: h1', '    multipath: maybe', '    xen_args: ["a b"]'] })), [
    'hosts.yaml:10:16: hosts[0].multipath: expected true or false, got the string "maybe"',
    'hosts.yaml:11:16: hosts[0].xen_args[0]: must be a single command-line argument without spaces (e.g. loglvl=all) (got "a b")',
  ]);
  assert.equal(errorsOf(edit({ 13: '    management: { ip: 192.0.2.12, vlan: 5000, interface: eno1 }' })), [
    'hosts.yaml:13:41: hosts[1].management.vlan: must be at most 4094 (got 5000)',
    'hosts.yaml:13:58: hosts[1].management.interface: must be an installer interface name ethN (e.g. eth0) (got "eno1")',
  ]);
});

// ---- addresses ----

test('bad IPv4 addresses and netmasks', () => {
  assert.equal(errorsOf(edit({ 10: '    management: { ip: 192.0.2.256 }' })), [
    'hosts.yaml:10:23: hosts[0].management.ip: must be an IPv4 address in dotted-quad form without leading zeros (e.g. 192.0.2.10) (got "192.0.2.256")',
  ]);
  assert.equal(errorsOf(edit({ 5: '    netmask: 255.255.0.255' })), [
    'hosts.yaml:5:14: hosts[0].management.netmask: 255.255.0.255 is not a netmask: its one bits must be contiguous (e.g. 255.255.255.0) (value from defaults)',
    'hosts.yaml:5:14: hosts[1].management.netmask: 255.255.0.255 is not a netmask: its one bits must be contiguous (e.g. 255.255.255.0) (value from defaults)',
  ]);
  assert.equal(errorsOf(edit({ 13: '    management: { ip: 192.0.2.12, netmask: 255.255.255.255 }' })), [
    'hosts.yaml:13:44: hosts[1].management.netmask: netmask 255.255.255.255 (/32) leaves no subnet for the host and its gateway; use /1 to /31',
  ]);
  assert.is(netmaskPrefix('255.255.255.0'), 24);
  assert.is(netmaskPrefix('255.255.255.254'), 31);
  assert.is(netmaskPrefix('255.0.255.0'), undefined);
});

test('a gateway outside the subnet, or the host\'s own address, is an error', () => {
  assert.equal(errorsOf(edit({ 13: '    management: { ip: 192.0.2.12, gateway: 192.0.3.1 }' })), [
    'hosts.yaml:13:44: hosts[1].management.gateway: gateway 192.0.3.1 is outside the subnet 192.0.2.0/24 of ip 192.0.2.12 (netmask 255.255.255.0)',
  ]);
  // the same gateway in defaults is fine for one host and wrong for the other
  assert.equal(errorsOf(edit({ 13: '    management: { ip: 198.51.100.12 }' })), [
    'hosts.yaml:6:14: hosts[1].management.gateway: gateway 192.0.2.1 is outside the subnet 198.51.100.0/24 of ip 198.51.100.12 (netmask 255.255.255.0) (value from defaults)',
  ]);
  assert.equal(errorsOf(edit({ 10: '    management: { ip: 192.0.2.1 }' })), [
    "hosts.yaml:6:14: hosts[0].management.gateway: gateway 192.0.2.1 is the host's own address (value from defaults)",
  ]);
});

test('the network or broadcast address is not a host address', () => {
  assert.equal(errorsOf(edit({ 10: '    management: { ip: 192.0.2.0 }', 13: '    management: { ip: 192.0.2.255 }' })), [
    'hosts.yaml:10:23: hosts[0].management.ip: 192.0.2.0 is the network address of its subnet 192.0.2.0/24, not a host address',
    'hosts.yaml:13:23: hosts[1].management.ip: 192.0.2.255 is the broadcast address of its subnet 192.0.2.0/24, not a host address',
  ]);
});

test('static mode needs ip, netmask and gateway', () => {
  assert.equal(errorsOf(edit({ 5: [], 6: [] })), [
    'hosts.yaml:8:17: hosts[0].management: mode static needs ip, netmask and gateway (missing: netmask, gateway)',
    'hosts.yaml:11:17: hosts[1].management: mode static needs ip, netmask and gateway (missing: netmask, gateway)',
  ]);
  assert.equal(errorsOf(edit({ 13: '    management: { mode: static }' })), [
    'hosts.yaml:13:17: hosts[1].management: mode static needs ip, netmask and gateway (missing: ip)',
  ]);
});

test('duplicate static IPs and host names (any case) name both places', () => {
  assert.equal(errorsOf(edit({ 12: '    hostname: H1', 13: '    management: { ip: 192.0.2.11 }' })), [
    'hosts.yaml:12:15: hosts[1].hostname: host name H1 is also used by hosts[0] (h1) at hosts.yaml:9:15',
    'hosts.yaml:13:23: hosts[1].management.ip: static IP 192.0.2.11 is also used by hosts[0] (h1) at hosts.yaml:10:23',
  ]);
  // DHCP hosts have no address to clash
  assert.equal(errorsOf(edit({ 4: '    mode: dhcp', 5: [], 6: [], 10: '    management: {}', 13: '    management: {}' })), []);
});

test('interface and hwaddr together is an error', () => {
  assert.equal(errorsOf(edit({ 13: '    management: { ip: 192.0.2.12, interface: eth0, hwaddr: 52:54:00:00:00:02 }' })), [
    'hosts.yaml:13:60: hosts[1].management.hwaddr: give either management.interface or management.hwaddr, not both',
  ]);
});

// ---- host names ----

test('host names follow RFC 1123', () => {
  assert.is(hostnameProblem('xs-01.example.com'), undefined);
  assert.is(hostnameProblem('7host'), undefined); // RFC 1123 allows a leading digit
  assert.is(hostnameProblem('web_01'), "contains '_' in label 'web_01'; labels hold only letters, digits and hyphens");
  assert.is(hostnameProblem('-web'), "has label '-web' that starts with a hyphen");
  assert.is(hostnameProblem('web-.example.com'), "has label 'web-' that ends with a hyphen");
  assert.is(hostnameProblem('a..b'), 'has an empty label (a dot at either end, or two dots in a row)');
  assert.is(hostnameProblem('host.'), 'has an empty label (a dot at either end, or two dots in a row)');
  assert.is(hostnameProblem(`${'a'.repeat(64)}.com`), "has a label of 64 characters ('aaaaaaaaaaaa...'); a label has at most 63");
  assert.is(hostnameProblem(Array(64).fill('abc').join('.')), 'is 255 characters long; a host name has at most 253');
  assert.is(hostnameProblem('10.0.0.1'), 'ends in an all-numeric label, which makes it look like an IP address');
  assert.equal(errorsOf(edit({ 12: '    hostname: h_2' })), [
    "hosts.yaml:12:15: hosts[1].hostname: 'h_2' is not a valid host name: it contains '_' in label 'h_2'; labels hold only letters, digits and hyphens (RFC 1123: labels of 1 to 63 letters, digits and hyphens, not starting or ending with a hyphen)",
  ]);
});

// ---- disks, arguments ----

test('guest disks: listed twice, or the primary disk again', () => {
  assert.equal(errorsOf(edit({ 9: ['    hostname: h1', '    guest_disks: [sdb, /dev/sdb, /dev/sda]'] })), [
    'hosts.yaml:10:24: hosts[0].guest_disks[1]: /dev/sdb is listed twice (guest_disks[0] and [1])',
    'hosts.yaml:10:34: hosts[0].guest_disks[2]: /dev/sda is the primary disk, whose free space is already in the local SR (guest_storage is true); remove it from guest_disks',
  ]);
  assert.equal(errorsOf(edit({ 9: ['    hostname: h1', '    guest_storage: false', '    guest_disks: [sda]'] })), []);
  assert.equal(errorsOf(edit({ 9: ['    hostname: h1', '    guest_disks: [sdb, sdb]'] })), [
    'hosts.yaml:10:24: hosts[0].guest_disks[1]: /dev/sdb is listed twice (guest_disks[0] and [1])',
  ]);
});

test('dom0_args cannot set what the inventory sets', () => {
  assert.equal(errorsOf(edit({ 9: ['    hostname: h1', '    dom0_args: [atexit=shell, answerfile_device=eth1]'] })), [
    "hosts.yaml:10:31: hosts[0].dom0_args[1]: 'answerfile_device=' is set by xsforge from the inventory (the answer file URL and the management NIC); remove it from dom0_args",
  ]);
});

// ---- warnings ----

test('warnings: a VLAN (once when it is a default), static fields with dhcp', () => {
  const lines = edit({ 6: ['    gateway: 192.0.2.1', '    vlan: 20'] });
  assert.equal(errorsOf(lines), []);
  const w = warningsOf(lines);
  assert.is(w.length, 1);
  assert.ok(w[0]!.startsWith('hosts.yaml:7:11: defaults.management.vlan: the 7.1 installer cannot put the management interface on a VLAN'), w[0]);
  assert.equal(warningsOf(edit({ 13: '    management: { mode: dhcp, ip: 192.0.2.12 }' })), [
    'hosts.yaml:13:35: hosts[1].management.ip: management.ip is ignored with mode dhcp',
  ]);
  // inherited static fields of a dhcp host are not worth a warning
  assert.equal(warningsOf(edit({ 13: '    management: { mode: dhcp }' })), []);
});

// ---- all at once ----

test('loadInventory throws one InventoryError listing every problem in file order', () => {
  const dir = mkdtempSync(join(tmpdir(), 'xsforge-inventory-'));
  try {
    const file = join(dir, 'bad.yaml');
    writeFileSync(file, edit({ 2: '  primary_disk: sda', 9: '    hostname: -h1', 11: '  - mac: 52:54:00:00:00:01', 12: '    hostname: h2', 13: '    management: { ip: 10.0.0.5 }' }).join('\n'));
    let caught: unknown;
    try { loadInventory(file); } catch (err) { caught = err; }
    assert.instance(caught, InventoryError);
    const e = caught as InventoryError;
    assert.equal(e.errors.map((i) => `${i.line}:${i.column} ${i.path}`), [
      '6:14 hosts[1].management.gateway', '9:15 hosts[0].hostname', '11:10 hosts[1].mac',
    ]);
    assert.is(e.message.split('\n').length, 3);
    assert.ok(e.message.startsWith(`${file}:6:14: hosts[1].management.gateway: gateway 192.0.2.1 is outside the subnet 10.0.0.0/24`), e.message);
    const v = validateInventory(file);
    assert.is(v.valid, false);
    assert.is(v.hosts, 2);
    assert.equal(v.errors, e.errors);
    assert.equal(validateInventory(join(dir, 'missing.yaml')).errors.map((i) => i.message), [`inventory file not found: ${join(dir, 'missing.yaml')}`]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// ---- root passwords ----

/** Salt bytes 0,1,2,... so tests can recompute the hash. */
const countingBytes = () => {
  let next = 0;
  return (n: number) => Uint8Array.from({ length: n }, () => next++ % 256);
};

test('a plaintext password is hashed with sha512crypt and appears in no output', () => {
  const secret = 'Plain-Secret-42';
  const lines = edit({ 9: ['    hostname: h1', `    root_password: { plaintext: "${secret}" }`] });
  const inv = load(lines, { randomBytes: countingBytes() });
  const pw = inv.hosts[0]!.root_password as { hash: string };
  const salt = pw.hash.split('$')[2]!;
  assert.is(salt, './0123456789ABCD'); // bytes 0..15 through crypt's alphabet
  assert.is(pw.hash, sha512Crypt(secret, salt));
  assert.is(inv.hosts[1]!.root_password, undefined);
  const outputs = [
    JSON.stringify(inv),
    ...inv.hosts.map((h) => hostAnswerFile(h, { repoUrl: 'http://192.0.2.5/xs/' })),
    ...inv.hosts.map((h) => JSON.stringify(hostBootArgs(h, { answerfileUrl: 'http://192.0.2.5/a.xml' }))),
    JSON.stringify(parseInventory(lines.join('\n'), 'hosts.yaml')),
  ];
  for (const o of outputs) assert.not.ok(o.includes(secret), o);
  assert.ok(hostAnswerFile(inv.hosts[0]!).includes(`<root-password type="hash">${pw.hash}</root-password>`));
  // a real random salt differs from run to run
  const a = load(lines).hosts[0]!.root_password as { hash: string };
  const b = load(lines).hosts[0]!.root_password as { hash: string };
  assert.is.not(a.hash, b.hash);
});

test('a plaintext in defaults is hashed once; each host\'s own plaintext gets its own salt', () => {
  const inv = load(edit({
    2: ['  primary_disk: sda', '  root_password: { plaintext: shared-secret }'],
    12: ['    hostname: h2', '    root_password: { plaintext: own-secret }'],
    13: ['    management: { ip: 192.0.2.12 }', '  - { mac: 52:54:00:00:00:03, hostname: h3, management: { ip: 192.0.2.13 } }'],
  }));
  const hashes = inv.hosts.map((h) => (h.root_password as { hash: string }).hash);
  assert.is(hashes[0], hashes[2]);
  assert.is.not(hashes[0], hashes[1]);
  assert.is(hashes[1], sha512Crypt('own-secret', hashes[1]!.split('$')[2]!));
});

test('keep_plaintext writes the password itself, and only then', () => {
  const inv = load(edit({ 9: ['    hostname: h1', '    root_password: { plaintext: kept-secret, keep_plaintext: true }'] }));
  assert.equal(inv.hosts[0]!.root_password, { plaintext: 'kept-secret', keep_plaintext: true });
  assert.ok(hostAnswerFile(inv.hosts[0]!).includes('<root-password type="plaintext">kept-secret</root-password>'));
  const hashed = load(edit({ 9: ['    hostname: h1', `    root_password: { hash: "${HASH}" }`] }));
  assert.equal(hashed.hosts[0]!.root_password, { hash: HASH });
});

test('root password errors never echo the password', () => {
  const errs = errorsOf(edit({
    9: ['    hostname: h1', '    root_password: { plaintext: 12345678, hash: "$6$short" }'],
    12: ['    hostname: h2', '    root_password: { keep_plaintext: true }'],
  }));
  assert.equal(errs, [
    'hosts.yaml:10:20: hosts[0].root_password: give either root_password.hash or root_password.plaintext, not both',
    'hosts.yaml:10:33: hosts[0].root_password.plaintext: expected a string, got (hidden)',
    'hosts.yaml:10:49: hosts[0].root_password.hash: must be a crypt(3) hash: $6$salt$... (sha512crypt, e.g. from `mkpasswd -m sha-512`) or $5$salt$... (sha256crypt) (got (hidden))',
    'hosts.yaml:14:20: hosts[1].root_password: root_password needs hash or plaintext',
    'hosts.yaml:14:38: hosts[1].root_password.keep_plaintext: keep_plaintext goes with root_password.plaintext',
  ]);
  for (const e of errs) assert.not.ok(e.includes('12345678') || e.includes('$6$short'), e);
  assert.equal(errorsOf(edit({ 9: ['    hostname: h1', '    root_password: hunter2'] })), [
    'hosts.yaml:10:20: hosts[0].root_password: expected a mapping (key: value lines), got (hidden)',
  ]);
  assert.equal(errorsOf(edit({ 9: ['    hostname: h1', '    root_password: { plaintext: " padded", keep_plaintext: true }'] })), [
    'hosts.yaml:10:33: hosts[0].root_password.plaintext: a plaintext password kept in the answer file cannot start or end with white space (the installer strips it); drop keep_plaintext to store its hash',
  ]);
});

test('the printed schema documents every key', () => {
  const walk = (s: Record<string, unknown>, path: string, out: string[]) => {
    for (const [k, v] of Object.entries((s.properties ?? {}) as Record<string, Record<string, unknown>>)) {
      if (typeof v.description !== 'string' || v.description === '') out.push(`${path}${k}`);
      walk(v, `${path}${k}.`, out);
      if (v.items) walk(v.items as Record<string, unknown>, `${path}${k}[].`, out);
    }
  };
  const undocumented: string[] = [];
  walk(INVENTORY_SCHEMA, '', undocumented);
  assert.equal(undocumented, []);
});

test.run();

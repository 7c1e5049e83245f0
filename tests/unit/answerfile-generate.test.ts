// generateAnswerFile: the text it writes, and parse(generate(x)).config == x for every shape.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { generateAnswerFile, AnswerFileGenerateError } from '../../answerfiles/generate.ts';
import { parseAnswerFile } from '../../answerfiles/parse.ts';
import type { FreshInstallConfig, InstallConfig, RestoreConfig, UpgradeConfig } from '../../answerfiles/model.ts';

const setup = { driverSources: [], scripts: [], fcoeInterfaces: [], uiConfirmationPrompt: false };

const FRESH_DHCP: FreshInstallConfig = {
  kind: 'install', mode: 'fresh', primaryDisk: '/dev/sda', guestStorage: true, srAtEnd: true,
  preserveFirstPartition: 'if-utility', guestDisks: [], srType: 'lvm', initialPartitions: [],
  adminInterface: { name: 'eth0', proto: 'dhcp', protov6: 'none' },
  nameServers: [], timezone: 'Etc/UTC', ntpServers: [], services: {},
  sources: [{ type: 'url', address: 'http://10.0.2.2:8080/xs/' }],
  bootloader: { location: 'mbr', writeBootEntry: true }, ...setup,
};

const STATIC: FreshInstallConfig = {
  ...FRESH_DHCP,
  adminInterface: { hwaddr: '52:54:00:12:34:56', proto: 'static', ipv4: { address: '192.168.7.10', netmask: '255.255.255.0', gateway: '192.168.7.1' }, protov6: 'none' },
  nameServers: ['192.168.7.1', '9.9.9.9'], hostname: 'xs-static.lab.example', ntpServers: ['0.pool.ntp.org', '1.pool.ntp.org'],
  timezone: 'America/Los_Angeles', keymap: 'uk',
};

const EXT_GUESTS: FreshInstallConfig = {
  ...FRESH_DHCP, mode: 'reinstall', srType: 'ext', guestStorage: false, guestDisks: ['/dev/sdb', '/dev/disk/by-id/ata-XYZ'],
  preserveFirstPartition: 'false', srAtEnd: false, networkBackend: 'bridge',
  bootloader: { location: 'partition', writeBootEntry: false },
  sources: [{ type: 'local', address: '' }, { type: 'nfs', address: 'nfs.example:/packs/pv' }, { type: 'url', address: 'https://u:p@h/x?a=1&b=2' }],
  initialPartitions: [{ number: 1, size: 41943040, id: 0xde }],
};

const SCRIPTS_AND_HASH: FreshInstallConfig = {
  ...FRESH_DHCP,
  rootPassword: { type: 'hash', value: '$6$rounds=5000$s4lt$Zx9/abc.DEF' },
  scripts: [
    { stage: 'installation-start', type: 'url', url: 'http://h/start.sh' },
    { stage: 'filesystem-populated', type: 'nfs', url: 'nfs://srv:/scripts/fs.sh' },
    { stage: 'installation-complete', type: 'local', url: 'file:///scripts/done.sh' },
  ],
  driverSources: [{ type: 'url', address: 'http://h/drivers/' }],
  fcoeInterfaces: [{ name: 'eth2', dcb: false }, { hwaddr: '00:11:22:33:44:55', dcb: true }],
  uiConfirmationPrompt: true,
  services: { sshd: 'disabled', snmpd: 'enabled' },
};

const IPV6: FreshInstallConfig = {
  ...FRESH_DHCP,
  adminInterface: { name: 'eth1', proto: 'none', protov6: 'static', ipv6: { address: '2001:db8::10/64', gateway: '2001:db8::1' } },
};

const STATIC_NO_GATEWAY: FreshInstallConfig = {
  ...FRESH_DHCP,
  adminInterface: { name: 'eth0', proto: 'static', ipv4: { address: '10.1.1.1', netmask: '255.0.0.0' }, protov6: 'autoconf' },
};

const ESCAPES: FreshInstallConfig = {
  ...FRESH_DHCP, rootPassword: { type: 'plaintext', value: `p<a>s&s"w'o\u00e9rd\t\u4e2d` }, hostname: 'a&b',
};

const UPGRADE: UpgradeConfig = {
  kind: 'install', mode: 'upgrade', existingInstallation: '/dev/sda',
  sources: [{ type: 'url', address: 'http://pxehost.example.com/xenserver/' }],
  bootloader: { location: 'mbr', writeBootEntry: true }, ...setup,
  scripts: [{ stage: 'filesystem-populated', type: 'url', url: 'http://pxehost.example.com/myscripts/post-install-script' }],
};

const UPGRADE_PRIMARY: UpgradeConfig = { ...UPGRADE, primaryDisk: '/dev/sdb', networkBackend: 'bridge' };
const RESTORE: RestoreConfig = { kind: 'restore', ...setup };
const RESTORE_DISK: RestoreConfig = { kind: 'restore', backupDisk: '/dev/sdc', ...setup, scripts: [{ stage: 'installation-complete', type: 'url', url: 'http://h/r.sh' }] };

const SHAPES: Record<string, InstallConfig> = {
  'fresh DHCP': FRESH_DHCP, 'static IP with DNS and NTP': STATIC, 'ext SR, guest disks, reinstall': EXT_GUESTS,
  'scripts and hashed password': SCRIPTS_AND_HASH, 'IPv6 only': IPV6, 'static without gateway': STATIC_NO_GATEWAY,
  'characters that need escaping': ESCAPES, upgrade: UPGRADE, 'upgrade with primary disk': UPGRADE_PRIMARY,
  restore: RESTORE, 'restore from a disk': RESTORE_DISK,
};

for (const [name, shape] of Object.entries(SHAPES)) {
  test(`round trip: ${name}`, () => {
    const text = generateAnswerFile(shape);
    const r = parseAnswerFile(text);
    assert.equal(r.errors, [], text);
    assert.equal(r.warnings, [], 'generated files use current names only');
    assert.equal(r.config, shape, text);
    assert.is(generateAnswerFile(r.config!), text, 'generation is stable');
  });
}

test('the round trip notices a lost field (the test can fail)', () => {
  const text = generateAnswerFile(STATIC).replace(/<hostname>.*<\/hostname>\n/, '');
  assert.not.equal(parseAnswerFile(text).config, STATIC);
});

test('generated text: declaration, root attributes, current element names, escapes', () => {
  const text = generateAnswerFile(STATIC);
  assert.ok(text.startsWith('<?xml version="1.0" encoding="UTF-8"?>\n<installation mode="fresh" sr-type="lvm">\n'), text);
  assert.ok(text.includes('  <admin-interface hwaddr="52:54:00:12:34:56" proto="static">\n    <ipaddr>192.168.7.10</ipaddr>\n    <subnet>255.255.255.0</subnet>\n    <gateway>192.168.7.1</gateway>\n  </admin-interface>\n'), text);
  assert.ok(text.includes('<name-server>9.9.9.9</name-server>'));
  assert.ok(text.endsWith('</installation>\n'));
  const esc = generateAnswerFile(ESCAPES);
  assert.ok(esc.includes('<root-password type="plaintext">p&lt;a&gt;s&amp;s"w\'o\u00e9rd\t\u4e2d</root-password>'), esc);
  assert.ok(generateAnswerFile(EXT_GUESTS).includes('<source type="url">https://u:p@h/x?a=1&amp;b=2</source>'));
  assert.ok(generateAnswerFile(EXT_GUESTS).includes('<primary-disk guest-storage="no" sr-at-end="no" preserve-first-partition="false">/dev/sda</primary-disk>'));
  assert.is(generateAnswerFile(RESTORE), '<?xml version="1.0" encoding="UTF-8"?>\n<restore>\n</restore>\n');
});

test('generate refuses values the format cannot carry', () => {
  const bad: [string, InstallConfig][] = [
    ['white space', { ...FRESH_DHCP, rootPassword: { type: 'plaintext', value: ' pw' } }],
    ['control character', { ...FRESH_DHCP, hostname: 'a\u0001b' }],
    ['no sources', { ...FRESH_DHCP, sources: [] }],
    ['relative disk', { ...FRESH_DHCP, primaryDisk: 'sda' }],
    ['local with address', { ...FRESH_DHCP, sources: [{ type: 'local', address: '/mnt' }] }],
    ['url that is nfs', { ...FRESH_DHCP, sources: [{ type: 'url', address: 'nfs://s:/p' }] }],
    ['no interface identity', { ...FRESH_DHCP, adminInterface: { proto: 'dhcp', protov6: 'none' } }],
    ['static without ipv4', { ...FRESH_DHCP, adminInterface: { name: 'eth0', proto: 'static', protov6: 'none' } }],
    ['no IP at all', { ...FRESH_DHCP, adminInterface: { name: 'eth0', proto: 'none', protov6: 'none' } }],
    ['duplicate guest disks', { ...FRESH_DHCP, guestDisks: ['/dev/sdb', '/dev/sdb'] }],
    ['upper-case stage', { ...FRESH_DHCP, scripts: [{ stage: 'Installation-Start', type: 'url', url: 'http://h/x' }] }],
    ['nfs script without nfs://', { ...FRESH_DHCP, scripts: [{ stage: 'installation-start', type: 'nfs', url: 'srv:/x' }] }],
    ['empty hostname', { ...FRESH_DHCP, hostname: '' }],
  ];
  for (const [what, config] of bad) {
    assert.throws(() => generateAnswerFile(config), (e: unknown) => e instanceof AnswerFileGenerateError, what);
  }
});

test.run();

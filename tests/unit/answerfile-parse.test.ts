// Answer-file elements, attributes, defaults and aliases (SPEC section 3, host-installer 10.0.16).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseAnswerFile } from '../../answerfiles/parse.ts';
import {
  DEFAULTS, localSrDisks, normalizeDisk,
  type FreshInstallConfig, type InstallConfig, type RestoreConfig, type UpgradeConfig,
} from '../../answerfiles/model.ts';

interface Parts { root?: string; disk?: string; source?: string; iface?: string; extra?: string }

/** A minimal valid fresh install; each part can be replaced. */
function doc(p: Parts = {}): string {
  return [
    '<?xml version="1.0"?>',
    p.root ?? '<installation>',
    p.disk ?? '<primary-disk>sda</primary-disk>',
    p.source ?? '<source type="local"/>',
    p.iface ?? '<admin-interface name="eth0" proto="dhcp"/>',
    p.extra ?? '',
    p.root?.startsWith('<upgrade') ? '</upgrade>' : '</installation>',
  ].join('\n');
}

function config(xml: string): InstallConfig {
  const r = parseAnswerFile(xml);
  assert.equal(r.errors, [], `unexpected errors: ${JSON.stringify(r.errors)}`);
  assert.ok(r.config, 'config missing');
  return r.config!;
}

function fresh(xml: string): FreshInstallConfig {
  const c = config(xml);
  assert.is(c.kind, 'install');
  if (c.kind !== 'install' || c.mode === 'upgrade') throw new Error(`expected a fresh install, got ${JSON.stringify(c)}`);
  return c;
}

function messages(xml: string): string[] {
  const r = parseAnswerFile(xml);
  assert.is(r.config, undefined, 'config must be absent when there are errors');
  return r.errors.map((e) => e.message);
}

// ---- root element and mode

test('installation root without mode is a fresh install with every default', () => {
  const c = fresh(doc());
  assert.equal(c, {
    kind: 'install', mode: 'fresh', primaryDisk: '/dev/sda', guestStorage: true, srAtEnd: true,
    preserveFirstPartition: 'if-utility', guestDisks: [], srType: 'lvm', initialPartitions: [],
    adminInterface: { name: 'eth0', proto: 'dhcp', protov6: 'none' },
    nameServers: [], timezone: 'Etc/UTC', ntpServers: [], services: {},
    sources: [{ type: 'local', address: '' }],
    bootloader: { location: 'mbr', writeBootEntry: true },
    driverSources: [], scripts: [], fcoeInterfaces: [], uiConfirmationPrompt: false,
  });
  // Absent: no password (until first boot), hostname, keymap, network backend.
  assert.not.ok('rootPassword' in c);
  assert.not.ok('hostname' in c);
  assert.not.ok('keymap' in c);
  assert.not.ok('networkBackend' in c);
});

test('mode fresh, reinstall and an empty mode', () => {
  assert.is(fresh(doc({ root: '<installation mode="fresh">' })).mode, 'fresh');
  assert.is(fresh(doc({ root: '<installation mode="reinstall">' })).mode, 'reinstall');
  assert.is(fresh(doc({ root: '<installation mode="">' })).mode, 'fresh', 'an empty attribute counts as absent');
});

test('a bare <upgrade> root performs a fresh install, with a warning', () => {
  const r = parseAnswerFile(doc({ root: '<upgrade>' }));
  assert.equal(r.errors, []);
  assert.is(r.config?.kind, 'install');
  assert.is((r.config as FreshInstallConfig).mode, 'fresh');
  assert.ok(r.warnings.some((w) => w.includes('<upgrade> without mode="upgrade" performs a fresh install')), r.warnings.join('|'));
});

test('<upgrade mode="upgrade"> is an upgrade and gives no root warning', () => {
  const r = parseAnswerFile('<upgrade mode="upgrade"><existing-installation>sda</existing-installation><source type="local"/></upgrade>');
  assert.equal(r.errors, []);
  assert.is((r.config as UpgradeConfig).mode, 'upgrade');
  assert.not.ok(r.warnings.some((w) => w.includes('<upgrade>')));
});

test('sr-type: default lvm, ext, the old srtype alias, sr-type wins over srtype', () => {
  assert.is(fresh(doc()).srType, 'lvm');
  assert.is(fresh(doc({ root: '<installation sr-type="ext">' })).srType, 'ext');
  const old = parseAnswerFile(doc({ root: '<installation srtype="ext">' }));
  assert.is((old.config as FreshInstallConfig).srType, 'ext');
  assert.ok(old.warnings.some((w) => w.includes('srtype is an old name')));
  assert.is(fresh(doc({ root: '<installation sr-type="lvm" srtype="ext">' })).srType, 'lvm');
  assert.is(fresh(doc({ root: '<installation sr-type="" srtype="ext">' })).srType, 'ext', 'empty sr-type counts as absent');
});

// ---- primary disk, guest disks

test('primary-disk: /dev/ is prepended only when missing; iscsi specs are kept', () => {
  assert.is(fresh(doc({ disk: '<primary-disk>sdb</primary-disk>' })).primaryDisk, '/dev/sdb');
  assert.is(fresh(doc({ disk: '<primary-disk>/dev/nvme0n1</primary-disk>' })).primaryDisk, '/dev/nvme0n1');
  assert.is(fresh(doc({ disk: '<primary-disk>disk/by-id/scsi-35000</primary-disk>' })).primaryDisk, '/dev/disk/by-id/scsi-35000');
  assert.is(fresh(doc({ disk: '<primary-disk>  sda\n </primary-disk>' })).primaryDisk, '/dev/sda', 'text is stripped');
  const iscsi = 'iscsi:10.0.0.1:6:3260:0:iqn.2001-04.com.example:disk';
  assert.is(fresh(doc({ disk: `<primary-disk>${iscsi}</primary-disk>` })).primaryDisk, iscsi);
  assert.is(normalizeDisk('sdc'), '/dev/sdc');
});

test('guest-storage: default yes, only yes/true (any case) are true, old gueststorage alias', () => {
  const gs = (attr: string) => fresh(doc({ disk: `<primary-disk ${attr}>sda</primary-disk>` })).guestStorage;
  assert.is(gs(''), true);
  assert.is(gs('guest-storage="no"'), false);
  assert.is(gs('guest-storage="yes"'), true);
  assert.is(gs('guest-storage="YES"'), true);
  assert.is(gs('guest-storage="True"'), true);
  assert.is(gs('guest-storage="false"'), false);
  assert.is(gs('guest-storage="1"'), false, '1 is not yes/true');
  assert.is(gs('guest-storage="on"'), false);
  assert.is(gs('guest-storage=""'), true, 'empty counts as absent');
  assert.is(gs('gueststorage="no"'), false);
  assert.is(gs('guest-storage="yes" gueststorage="no"'), true, 'the current name wins');
  const w = parseAnswerFile(doc({ disk: '<primary-disk guest-storage="1">sda</primary-disk>' })).warnings;
  assert.ok(w.some((x) => x.includes('guest-storage="1" counts as false')), w.join('|'));
});

test('sr-at-end: default true, bool', () => {
  assert.is(fresh(doc()).srAtEnd, true);
  assert.is(fresh(doc({ disk: '<primary-disk sr-at-end="no">sda</primary-disk>' })).srAtEnd, false);
});

test('preserve-first-partition: true/yes, false/no, if-utility, default if-utility; zap-utility-partitions forces false', () => {
  const pfp = (v: string, extra = '') => fresh(doc({ disk: `<primary-disk preserve-first-partition="${v}">sda</primary-disk>`, extra })).preserveFirstPartition;
  assert.is(pfp('true'), 'true');
  assert.is(pfp('yes'), 'true');
  assert.is(pfp('false'), 'false');
  assert.is(pfp('no'), 'false');
  assert.is(pfp('if-utility'), 'if-utility');
  assert.is(pfp(''), 'if-utility');
  assert.is(fresh(doc()).preserveFirstPartition, 'if-utility');
  assert.is(pfp('true', '<zap-utility-partitions/>'), 'false');
});

test('guest-disk: repeatable, /dev/-prefixed, found inside a <guest-disks> wrapper, duplicates dropped', () => {
  const c = fresh(doc({ extra: '<guest-disks>\n<guest-disk>sdb</guest-disk>\n<guest-disk>/dev/sdc</guest-disk>\n</guest-disks>\n<guest-disk>sdb</guest-disk>' }));
  assert.equal(c.guestDisks, ['/dev/sdb', '/dev/sdc']);
  assert.equal(localSrDisks(c), ['/dev/sda', '/dev/sdb', '/dev/sdc']);
  const noPrimary = fresh(doc({ disk: '<primary-disk guest-storage="no">sda</primary-disk>', extra: '<guest-disk>sdb</guest-disk>' }));
  assert.equal(localSrDisks(noPrimary), ['/dev/sdb']);
  // Listing the primary disk as a guest disk puts it into the SR even with guest-storage="no", as the installer does.
  const listed = fresh(doc({ disk: '<primary-disk guest-storage="no">sda</primary-disk>', extra: '<guest-disk>sda</guest-disk>' }));
  assert.equal(localSrDisks(listed), ['/dev/sda']);
});

test('elements are found at any depth (the installer searches recursively)', () => {
  const c = fresh(`<installation><group><primary-disk>sdd</primary-disk><deeper><hostname>deep.example</hostname></deeper></group>
    <source type="local"/><admin-interface name="eth1" proto="dhcp"/></installation>`);
  assert.is(c.primaryDisk, '/dev/sdd');
  assert.is(c.hostname, 'deep.example');
});

test('initial-partitions: integers in any Python base; a bad partition is skipped with a warning', () => {
  const r = parseAnswerFile(doc({
    extra: '<initial-partitions><partition number="1" size="0x100000" id="0xde"/><partition number="2" size="010" id="131"/><partition number="x" size="1" id="1"/><partition number="4" size="1"/></initial-partitions>',
  }));
  assert.equal(r.errors, []);
  assert.equal((r.config as FreshInstallConfig).initialPartitions, [{ number: 1, size: 1048576, id: 0xde }, { number: 2, size: 8, id: 131 }]);
  assert.is(r.warnings.filter((w) => w.includes('installer skips it')).length, 2);
});

// ---- keymap, password, names, time

test('keymap: absent means the installer keymap= argument or us; given is kept', () => {
  assert.is(fresh(doc()).keymap, undefined);
  assert.is(DEFAULTS.keymap, 'us');
  assert.is(fresh(doc({ extra: '<keymap>de</keymap>' })).keymap, 'de');
});

test('root-password: absent = none until first boot; type defaults to plaintext; hash', () => {
  assert.is(fresh(doc()).rootPassword, undefined);
  assert.equal(fresh(doc({ extra: '<root-password>s3cr&amp;t</root-password>' })).rootPassword, { type: 'plaintext', value: 's3cr&t' });
  assert.equal(fresh(doc({ extra: '<root-password type="plaintext">pw</root-password>' })).rootPassword, { type: 'plaintext', value: 'pw' });
  assert.equal(fresh(doc({ extra: '<root-password type="hash">$6$salt$abc</root-password>' })).rootPassword, { type: 'hash', value: '$6$salt$abc' });
});

test('name-server and the old nameserver: repeatable, all of name-server first', () => {
  const r = parseAnswerFile(doc({ extra: '<nameserver>3.3.3.3</nameserver><name-server>1.1.1.1</name-server><name-server>2.2.2.2</name-server>' }));
  assert.equal((r.config as FreshInstallConfig).nameServers, ['1.1.1.1', '2.2.2.2', '3.3.3.3']);
  assert.ok(r.warnings.some((w) => w.includes('<nameserver> is an old name; write <name-server>')));
});

test('hostname: absent (localhost.localdomain) or given; first one wins', () => {
  assert.is(fresh(doc()).hostname, undefined);
  assert.is(DEFAULTS.hostname, 'localhost.localdomain');
  const r = parseAnswerFile(doc({ extra: '<hostname>xs1.example.com</hostname><hostname>other</hostname>' }));
  assert.is((r.config as FreshInstallConfig).hostname, 'xs1.example.com');
  assert.ok(r.warnings.some((w) => w.includes('<hostname> is given more than once')));
});

test('timezone: default Etc/UTC, or given', () => {
  assert.is(fresh(doc()).timezone, 'Etc/UTC');
  assert.is(fresh(doc({ extra: '<timezone>Europe/London</timezone>' })).timezone, 'Europe/London');
});

test('ntp-server and the old ntp-servers: one server per element', () => {
  assert.equal(fresh(doc({ extra: '<ntp-server>a.pool</ntp-server><ntp-servers>c.pool</ntp-servers><ntp-server>b.pool</ntp-server>' })).ntpServers, ['a.pool', 'b.pool', 'c.pool']);
});

test('service: name and state', () => {
  assert.equal(fresh(doc({ extra: '<service name="sshd" state="disabled"/><service name="snmpd" state="enabled"/>' })).services, { sshd: 'disabled', snmpd: 'enabled' });
});

// ---- sources and scripts

test('source: repeatable; local has no address; url; nfs; a url with nfs:// becomes nfs', () => {
  const c = fresh(doc({
    source: '<source type="url">http://pxe.example/xs/</source>\n<source type="local">ignored</source>\n<source type="nfs">server:/packs</source>\n<source type="url">nfs://srv:/repo</source>',
  }));
  assert.equal(c.sources, [
    { type: 'url', address: 'http://pxe.example/xs/' },
    { type: 'local', address: '' },
    { type: 'nfs', address: 'server:/packs' },
    { type: 'nfs', address: 'srv:/repo' },
  ]);
});

test('driver-source: same types, kept apart from the sources', () => {
  const c = fresh(doc({ extra: '<driver-source type="url">http://pxe.example/drivers/</driver-source><driver-source type="local"/>' }));
  assert.equal(c.driverSources, [{ type: 'url', address: 'http://pxe.example/drivers/' }, { type: 'local', address: '' }]);
  assert.is(c.sources.length, 1);
});

test('script: stage and type lower-cased, nfs gets nfs://, document order', () => {
  const c = fresh(doc({
    extra: [
      '<script stage="Installation-Start" type="URL">http://h/start.sh</script>',
      '<script stage="filesystem-populated" type="nfs">server:/scripts/fs.sh</script>',
      '<script stage="installation-complete" type="nfs">nfs://server:/scripts/done.sh</script>',
      '<script stage="installation-start" type="local">\n file:///scripts/run.sh\n</script>',
    ].join('\n'),
  }));
  assert.equal(c.scripts, [
    { stage: 'installation-start', type: 'url', url: 'http://h/start.sh' },
    { stage: 'filesystem-populated', type: 'nfs', url: 'nfs://server:/scripts/fs.sh' },
    { stage: 'installation-complete', type: 'nfs', url: 'nfs://server:/scripts/done.sh' },
    { stage: 'installation-start', type: 'local', url: 'file:///scripts/run.sh' },
  ]);
});

test('script with an unknown stage is kept but warned about (the installer never runs it)', () => {
  const r = parseAnswerFile(doc({ extra: '<script stage="post-boot" type="url">http://h/x.sh</script>' }));
  assert.equal(r.errors, []);
  assert.equal(r.config?.scripts, [{ stage: 'post-boot', type: 'url', url: 'http://h/x.sh' }]);
  assert.ok(r.warnings.some((w) => w.includes("script stage 'post-boot'") && w.includes('never runs it')));
});

test('post-install-script and install-failed-script: old single-instance forms, after <script>', () => {
  const c = fresh(doc({
    extra: '<post-install-script type="nfs">srv:/post.sh</post-install-script>\n<install-failed-script>http://h/fail.sh</install-failed-script>\n<script stage="installation-start" type="url">http://h/s.sh</script>',
  }));
  assert.equal(c.scripts, [
    { stage: 'installation-start', type: 'url', url: 'http://h/s.sh' },
    { stage: 'filesystem-populated', type: 'nfs', url: 'nfs://srv:/post.sh' },
    { stage: 'installation-complete', type: 'url', url: 'http://h/fail.sh' },
  ]);
});

test('two post-install-scripts: the installer honours neither', () => {
  const r = parseAnswerFile(doc({ extra: '<post-install-script>http://h/a</post-install-script><post-install-script>http://h/b</post-install-script>' }));
  assert.equal(r.config?.scripts, []);
  assert.ok(r.warnings.some((w) => w.includes('<post-install-script> is given 2 times')));
});

// ---- admin interface

test('admin-interface: dhcp by name, by hwaddr, both', () => {
  assert.equal(fresh(doc()).adminInterface, { name: 'eth0', proto: 'dhcp', protov6: 'none' });
  assert.equal(fresh(doc({ iface: '<admin-interface hwaddr="00:16:3e:aa:bb:cc" proto="dhcp"/>' })).adminInterface,
    { hwaddr: '00:16:3e:aa:bb:cc', proto: 'dhcp', protov6: 'none' });
  assert.equal(fresh(doc({ iface: '<admin-interface name="eth2" hwaddr="00:16:3e:aa:bb:cc" proto="dhcp"/>' })).adminInterface,
    { name: 'eth2', hwaddr: '00:16:3e:aa:bb:cc', proto: 'dhcp', protov6: 'none' });
});

test('admin-interface: a hwaddr that is not a MAC address and a bad static address are warned about', () => {
  const r = parseAnswerFile(doc({ iface: '<admin-interface hwaddr="eth0" proto="static"><ipaddr>10.0.0.256</ipaddr><subnet>255.255.255.0</subnet><gateway>10.0.0.1</gateway></admin-interface>' }));
  assert.equal(r.errors, []);
  assert.ok(r.warnings.some((w) => w.includes("hwaddr 'eth0' is not a MAC address")), r.warnings.join('|'));
  assert.ok(r.warnings.some((w) => w.includes("address '10.0.0.256' is not a dotted-quad")), r.warnings.join('|'));
});

test('admin-interface static: ipaddr, subnet, gateway', () => {
  const a = fresh(doc({ iface: '<admin-interface name="eth0" proto="static"><ipaddr>10.0.0.5</ipaddr><subnet>255.255.255.0</subnet><gateway>10.0.0.1</gateway></admin-interface>' })).adminInterface;
  assert.equal(a, { name: 'eth0', proto: 'static', ipv4: { address: '10.0.0.5', netmask: '255.255.255.0', gateway: '10.0.0.1' }, protov6: 'none' });
});

test('admin-interface static: old ip and subnet-mask names, and they win over ipaddr/subnet', () => {
  const a = fresh(doc({ iface: '<admin-interface name="eth0" proto="static"><ipaddr>10.0.0.9</ipaddr><ip>10.0.0.5</ip><subnet>255.0.0.0</subnet><subnet-mask>255.255.0.0</subnet-mask><gateway>10.0.0.1</gateway></admin-interface>' })).adminInterface;
  assert.equal(a.ipv4, { address: '10.0.0.5', netmask: '255.255.0.0', gateway: '10.0.0.1' });
});

test('admin-interface static: an empty <gateway/> is accepted as no gateway', () => {
  const a = fresh(doc({ iface: '<admin-interface name="eth0" proto="static"><ipaddr>10.0.0.5</ipaddr><subnet>255.255.255.0</subnet><gateway/></admin-interface>' })).adminInterface;
  assert.equal(a.ipv4, { address: '10.0.0.5', netmask: '255.255.255.0' });
});

test('admin-interface: IPv6 static/dhcp/autoconf, and proto none with IPv6 only', () => {
  const v6 = fresh(doc({ iface: '<admin-interface name="eth0" proto="none" protov6="static"><ipv6>2001:db8::5/64</ipv6><gatewayv6>2001:db8::1</gatewayv6></admin-interface>' })).adminInterface;
  assert.equal(v6, { name: 'eth0', proto: 'none', protov6: 'static', ipv6: { address: '2001:db8::5/64', gateway: '2001:db8::1' } });
  assert.is(fresh(doc({ iface: '<admin-interface name="eth0" proto="dhcp" protov6="dhcp"/>' })).adminInterface.protov6, 'dhcp');
  assert.is(fresh(doc({ iface: '<admin-interface name="eth0" proto="none" protov6="autoconf"/>' })).adminInterface.protov6, 'autoconf');
});

test('admin-interface: an unknown proto counts as none (warned); with IPv6 it is accepted', () => {
  const r = parseAnswerFile(doc({ iface: '<admin-interface name="eth0" proto="DHCP" protov6="dhcp"/>' }));
  assert.equal(r.errors, []);
  assert.is((r.config as FreshInstallConfig).adminInterface.proto, 'none');
  assert.ok(r.warnings.some((w) => w.includes('proto="DHCP"')));
});

// ---- network backend, bootloader, setup elements

test('admin-interface vlan: 1-4094 is the tagged management network; anything else is refused', () => {
  const withVlan = (v: string) => doc({ iface: `<admin-interface name="eth0" proto="dhcp" vlan="${v}"/>` });
  assert.is(fresh(withVlan('42')).adminInterface.vlan, 42);
  assert.is(fresh(doc({})).adminInterface.vlan, undefined);
  for (const bad of ['0', '4095', 'ten', '-1', '']) {
    const r = parseAnswerFile(withVlan(bad));
    assert.is(r.config, undefined, bad);
    assert.ok(r.errors.some((e) => e.message.includes(`vlan="${bad}"`)), JSON.stringify(r.errors));
  }
});

test('network-backend: bridge is the default; openvswitch, vswitch and anything else are refused, naming the value', () => {
  assert.is(fresh(doc({ extra: '<network-backend>bridge</network-backend>' })).networkBackend, 'bridge');
  for (const v of ['openvswitch', 'vswitch', 'linuxbridge']) {
    const r = parseAnswerFile(doc({ extra: `<network-backend>${v}</network-backend>` }));
    assert.is(r.config, undefined, v);
    assert.ok(r.errors.some((e) => e.message.includes(`'${v}' is not supported`) && e.message.includes('use bridge')), JSON.stringify(r.errors));
  }
  assert.is(DEFAULTS.networkBackend, 'bridge');
});

test('bootloader: location mbr default or partition; write-boot-entry default true; text empty or grub2', () => {
  assert.equal(fresh(doc({ extra: '<bootloader/>' })).bootloader, { location: 'mbr', writeBootEntry: true });
  assert.equal(fresh(doc({ extra: '<bootloader location="partition">grub2</bootloader>' })).bootloader, { location: 'partition', writeBootEntry: true });
  assert.equal(fresh(doc({ extra: '<bootloader write-boot-entry="false">grub2</bootloader>' })).bootloader, { location: 'mbr', writeBootEntry: false });
  assert.equal(fresh(doc({ extra: '<bootloader write-boot-entry="Yes"/>' })).bootloader, { location: 'mbr', writeBootEntry: true });
});

test('fcoe-interface: name or hwaddr, dcb on unless off/no/false/0/disable', () => {
  const c = fresh(doc({ extra: '<fcoe-interface name="eth1"/><fcoe-interface hwaddr="00:11:22:33:44:55" dcb="off"/><fcoe-interface name="eth3" dcb="disable"/><fcoe-interface name="eth4" dcb="maybe"/>' }));
  assert.equal(c.fcoeInterfaces, [
    { name: 'eth1', dcb: true }, { hwaddr: '00:11:22:33:44:55', dcb: false }, { name: 'eth3', dcb: false }, { name: 'eth4', dcb: true },
  ]);
});

test('ui-confirmation-prompt: any non-empty text asks', () => {
  assert.is(fresh(doc()).uiConfirmationPrompt, false);
  assert.is(fresh(doc({ extra: '<ui-confirmation-prompt>no</ui-confirmation-prompt>' })).uiConfirmationPrompt, true, 'bool(text): even "no" asks');
  assert.is(fresh(doc({ extra: '<ui-confirmation-prompt/>' })).uiConfirmationPrompt, false);
});

// ---- upgrade and restore

test('upgrade: existing-installation, sources and scripts; no primary disk, interface or password needed (seed example)', () => {
  const c = config(`<?xml version="1.0"?>
<installation mode="upgrade">
<existing-installation>sda</existing-installation>
<source type="url">http://pxehost.example.com/xenserver/</source>
<post-install-script type="url">
http://pxehost.example.com/myscripts/post-install-script
</post-install-script>
</installation>`);
  assert.equal(c, {
    kind: 'install', mode: 'upgrade', existingInstallation: '/dev/sda',
    sources: [{ type: 'url', address: 'http://pxehost.example.com/xenserver/' }],
    bootloader: { location: 'mbr', writeBootEntry: true },
    driverSources: [], fcoeInterfaces: [], uiConfirmationPrompt: false,
    scripts: [{ stage: 'filesystem-populated', type: 'url', url: 'http://pxehost.example.com/myscripts/post-install-script' }],
  });
});

test('upgrade: a single primary-disk is kept, two are ignored; fresh-only elements are warned about', () => {
  const one = config('<installation mode="upgrade"><existing-installation>sda</existing-installation><primary-disk>sdb</primary-disk><source type="local"/></installation>') as UpgradeConfig;
  assert.is(one.primaryDisk, '/dev/sdb');
  const r = parseAnswerFile('<installation mode="upgrade"><existing-installation>sda</existing-installation><primary-disk>sdb</primary-disk><primary-disk>sdc</primary-disk><source type="local"/><hostname>x</hostname></installation>');
  assert.is((r.config as UpgradeConfig).primaryDisk, undefined);
  assert.ok(r.warnings.some((w) => w.includes('<hostname> is not used when mode is upgrade')), r.warnings.join('|'));
});

test('restore: backup-disk optional, /dev/-prefixed; scripts and driver sources still read', () => {
  assert.equal(config('<restore/>'), { kind: 'restore', driverSources: [], fcoeInterfaces: [], uiConfirmationPrompt: false, scripts: [] });
  const c = config('<restore><backup-disk>sdb</backup-disk><script stage="installation-complete" type="url">http://h/x</script></restore>') as RestoreConfig;
  assert.is(c.backupDisk, '/dev/sdb');
  assert.equal(c.scripts, [{ stage: 'installation-complete', type: 'url', url: 'http://h/x' }]);
  const two = parseAnswerFile('<restore><backup-disk>sdb</backup-disk><backup-disk>sdc</backup-disk></restore>');
  assert.is((two.config as RestoreConfig).backupDisk, undefined);
  assert.ok(two.warnings.some((w) => w.includes('<backup-disk> is given more than once')));
});

test('restore does not need a source, primary disk or interface', () => {
  assert.equal(parseAnswerFile('<restore><source type="bogus"/></restore>').errors, [], 'restore never reads <source>');
});

// ---- text reading details

test('text: entities and character references decoded, comments split text, CDATA is not read', () => {
  assert.is(fresh(doc({ extra: '<hostname>a&#45;b&#x2d;c&lt;</hostname>' })).hostname, 'a-b-c<');
  assert.is(fresh(doc({ extra: '<hostname>xs<!-- note -->1</hostname>' })).hostname, 'xs1');
  const r = parseAnswerFile(doc({ extra: '<hostname>h<![CDATA[ost]]></hostname>' }));
  assert.is((r.config as FreshInstallConfig).hostname, 'h');
  assert.ok(r.warnings.some((w) => w.includes('CDATA in <hostname>')));
});

test('a UTF-8 byte order mark and CRLF line ends are accepted', () => {
  assert.is(fresh(`\ufeff${doc().replace(/\n/g, '\r\n')}`).primaryDisk, '/dev/sda');
});

test('unknown elements are ignored with a warning naming the line', () => {
  const r = parseAnswerFile(doc({ extra: '<primary-disc>sdb</primary-disc>' }));
  assert.equal(r.errors, []);
  assert.ok(r.warnings.includes('line 6: unknown element <primary-disc> is ignored by the installer'), r.warnings.join('|'));
});

test('the seed document example (with plain quotes) parses', () => {
  const c = fresh(`<?xml version="1.0"?>
<installation srtype="ext">
<primary-disk>sda</primary-disk>
<guest-disk>sdb</guest-disk>
<guest-disk>sdc</guest-disk>
<keymap>us</keymap>
<root-password>mypassword</root-password>
<source type="url">http://pxehost.example.com/xenserver/</source>
<post-install-script type="url">
 http://pxehost.example.com/myscripts/post-install-script
</post-install-script>
<admin-interface name="eth0" proto="dhcp" />
<timezone>Europe/London</timezone>
</installation>
<!--NeedCopy-->`);
  assert.is(c.srType, 'ext');
  assert.equal(c.guestDisks, ['/dev/sdb', '/dev/sdc']);
  assert.equal(c.rootPassword, { type: 'plaintext', value: 'mypassword' });
  assert.is(c.timezone, 'Europe/London');
  assert.is(c.keymap, 'us');
  assert.equal(c.scripts[0], { stage: 'filesystem-populated', type: 'url', url: 'http://pxehost.example.com/myscripts/post-install-script' });
});

test('messages() helper really sees errors', () => {
  assert.equal(messages('<installation/>'), ['Missing mandatory element primary-disk', 'Missing mandatory element admin-interface', 'Missing mandatory element source']);
});

test.run();

// Per-host answer files and boot arguments from the inventory.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { join } from 'node:path';
import { loadInventory, parseInventory, type Host } from '../../inventory/load.ts';
import { answerFileName, hostAnswerFile, hostInstallConfig, repoSource } from '../../inventory/answers.ts';
import { hostBootArgs } from '../../inventory/boot-args.ts';
import { DEFAULT_BOOT, consoleArgs } from '../../target/boot-args.ts';
import { parseAnswerFile } from '../../answerfiles/parse.ts';
import { XsforgeError } from '../../core/errors.ts';

const example = loadInventory(join(import.meta.dirname, '../../examples/hosts.yaml'));
const [dhcpHost, staticHost, sanHost] = example.hosts as [Host, Host, Host];
const REPO = 'http://192.0.2.5/xenserver/';

function hostFrom(yaml: string[]): Host {
  const r = parseInventory(yaml.join('\n'), 'h.yaml');
  assert.equal(r.errors, []);
  return r.inventory!.hosts[0]!;
}

test('every example host\'s answer file passes the parser, without warnings, and reads back as its config', () => {
  for (const repoUrl of [REPO, undefined]) {
    for (const host of example.hosts) {
      const options = repoUrl === undefined ? {} : { repoUrl };
      const text = hostAnswerFile(host, options);
      const parsed = parseAnswerFile(text);
      assert.equal(parsed.errors, [], host.hostname);
      assert.equal(parsed.warnings, [], host.hostname);
      assert.equal(parsed.config, hostInstallConfig(host, options), host.hostname);
    }
  }
});

test('the DHCP host: admin interface by its PXE MAC, defaults applied', () => {
  assert.is(hostAnswerFile(dhcpHost, { repoUrl: REPO }), `<?xml version="1.0" encoding="UTF-8"?>
<installation mode="fresh" sr-type="lvm">
  <primary-disk guest-storage="yes" preserve-first-partition="if-utility">/dev/sda</primary-disk>
  <keymap>us</keymap>
  <root-password type="hash">$6$xsforgeexample01$QysuReLybGbYJZjDxPPFfGpkzGWMZmywThlwqwZ/IOuLrFULWzUowKUSKk1RzsdYMNofUYMgCBOw63hfseDlO/</root-password>
  <admin-interface hwaddr="52:54:00:12:34:01" proto="dhcp"/>
  <name-server>192.0.2.53</name-server>
  <hostname>xs-rack1-01.example.com</hostname>
  <timezone>Europe/London</timezone>
  <ntp-server>0.pool.ntp.org</ntp-server>
  <ntp-server>1.pool.ntp.org</ntp-server>
  <source type="url">http://192.0.2.5/xenserver/</source>
  <bootloader location="mbr" write-boot-entry="true">grub2</bootloader>
</installation>
`);
});

test('the static host: pinned interface, static IPv4, thin SR over three disks', () => {
  const c = hostInstallConfig(staticHost, { repoUrl: REPO });
  assert.equal(c.adminInterface, { name: 'eth1', proto: 'static', ipv4: { address: '192.0.2.22', netmask: '255.255.255.0', gateway: '192.0.2.1' }, protov6: 'none' });
  assert.equal(c.nameServers, ['192.0.2.53', '192.0.2.54']);
  assert.is(c.srType, 'ext');
  assert.equal(c.guestDisks, ['/dev/sdb', '/dev/sdc']);
  const text = hostAnswerFile(staticHost, { repoUrl: REPO });
  assert.ok(text.includes('<installation mode="fresh" sr-type="ext">'), text);
  assert.ok(text.includes('  <admin-interface name="eth1" proto="static">\n    <ipaddr>192.0.2.22</ipaddr>\n    <subnet>255.255.255.0</subnet>\n    <gateway>192.0.2.1</gateway>\n  </admin-interface>'), text);
});

test('supplemental packs are <source> elements after the main repository; scripts keep their order', () => {
  const c = hostInstallConfig(sanHost, { repoUrl: REPO });
  assert.equal(c.sources, [{ type: 'url', address: REPO }, { type: 'url', address: 'http://192.0.2.5/packs/example-tools/' }]);
  assert.equal(c.scripts, [
    { stage: 'filesystem-populated', type: 'url', url: 'http://192.0.2.5/scripts/add-ssh-keys.sh' },
    { stage: 'installation-complete', type: 'url', url: 'http://192.0.2.5/scripts/report.sh' },
  ]);
  assert.is(c.primaryDisk, '/dev/disk/by-id/scsi-3600a098038303053453f463045727a71');
  assert.is(c.guestStorage, false);
  assert.is(c.networkBackend, 'bridge');
  const text = hostAnswerFile(sanHost, { repoUrl: REPO });
  assert.ok(text.includes(`  <source type="url">${REPO}</source>\n  <source type="url">http://192.0.2.5/packs/example-tools/</source>\n`), text);
  // without a repository URL the main source is the boot medium
  assert.equal(hostInstallConfig(sanHost).sources[0], { type: 'local', address: '' });
  assert.ok(hostAnswerFile(sanHost).includes('  <source type="local"/>\n  <source type="url">http://192.0.2.5/packs/example-tools/</source>\n'));
});

test('NFS repositories, packs and scripts', () => {
  const host = hostFrom([
    'hosts:',
    '  - mac: 52:54:00:00:00:09',
    '    hostname: nfs1',
    '    primary_disk: sda',
    '    network_backend: bridge',
    '    supplemental_packs: [nfs://filer:/export/packs/tools]',
    '    scripts: [{ stage: installation-start, url: "nfs://filer:/export/s/start.sh" }]',
  ]);
  const c = hostInstallConfig(host, { repoUrl: 'nfs://filer:/export/xs' });
  assert.equal(c.sources, [{ type: 'nfs', address: 'filer:/export/xs' }, { type: 'nfs', address: 'filer:/export/packs/tools' }]);
  assert.equal(c.scripts, [{ stage: 'installation-start', type: 'nfs', url: 'nfs://filer:/export/s/start.sh' }]);
  assert.is(c.networkBackend, 'bridge');
  const parsed = parseAnswerFile(hostAnswerFile(host, { repoUrl: 'nfs://filer:/export/xs' }));
  assert.equal(parsed.config, c);
});

test('repoSource: what the installer can fetch, and a clear error otherwise', () => {
  assert.equal(repoSource('https://mirror/xs/'), { type: 'url', address: 'https://mirror/xs/' });
  assert.equal(repoSource('file:///media/xs'), { type: 'url', address: 'file:///media/xs' });
  assert.equal(repoSource('nfs://srv:/xs'), { type: 'nfs', address: 'srv:/xs' });
  for (const bad of ['mirror/xs', 'nfs://srv/xs', 'http://', 'http://a b/']) {
    assert.throws(() => repoSource(bad), (e: unknown) => e instanceof XsforgeError && e.message === `'${bad}' is not a repository location the installer can use`, bad);
  }
});

test('answer file names are <mac>.xml', () => {
  assert.equal(example.hosts.map(answerFileName), ['52:54:00:12:34:01.xml', '52:54:00:12:34:02.xml', '52:54:00:12:34:03.xml']);
});

// ---- boot arguments ----

test('boot arguments: serial console, answer file fetched by the PXE NIC', () => {
  assert.equal(hostBootArgs(dhcpHost, { answerfileUrl: 'http://192.0.2.5/answers/52:54:00:12:34:01.xml' }), {
    xen: ['com1=115200,8n1', 'console=com1,vga'],
    dom0: ['xencons=hvc', 'console=hvc0', 'console=tty0', 'install', 'answerfile=http://192.0.2.5/answers/52:54:00:12:34:01.xml', 'answerfile_device=52:54:00:12:34:01'],
  });
});

test('boot arguments: a pinned interface fetches the answer file', () => {
  assert.equal(hostBootArgs(staticHost, { answerfileUrl: 'http://192.0.2.5/a.xml' }).dom0, [
    'xencons=hvc', 'console=hvc0', 'console=tty0', 'install', 'answerfile=http://192.0.2.5/a.xml', 'answerfile_device=eth1',
  ]);
});

test('boot arguments: vga console, multipath, dom0_args last', () => {
  assert.equal(hostBootArgs(sanHost, { answerfileUrl: 'http://192.0.2.5/a.xml' }), {
    xen: ['console=vga'],
    dom0: ['console=tty0', 'install', 'answerfile=http://192.0.2.5/a.xml', 'answerfile_device=52:54:00:12:34:03', 'device_mapper_multipath=enabled', 'atexit=poweroff'],
  });
});

test('boot arguments: use_ibft and xen_args', () => {
  const host = hostFrom([
    'hosts:',
    '  - { mac: 52:54:00:00:00:0a, hostname: iscsi1, primary_disk: sda, use_ibft: true, multipath: true, xen_args: [dom0_mem=4096M, dma_bits=32], dom0_args: [map_netdev=eth0:s:52:54:00:00:00:0a] }',
  ]);
  const serial = consoleArgs('installer', DEFAULT_BOOT.serial);
  assert.equal(hostBootArgs(host, { answerfileUrl: 'nfs://filer:/answers/iscsi1.xml' }), {
    xen: [...serial.xen, 'dom0_mem=4096M', 'dma_bits=32'],
    dom0: [...serial.dom0, 'install', 'answerfile=nfs://filer:/answers/iscsi1.xml', 'answerfile_device=52:54:00:00:00:0a',
      'device_mapper_multipath=enabled', 'use_ibft', 'map_netdev=eth0:s:52:54:00:00:00:0a'],
  });
});

test('boot arguments without the console settings, for a base entry that has them', () => {
  assert.equal(hostBootArgs(sanHost, { answerfileUrl: 'http://192.0.2.5/a.xml', includeConsole: false }), {
    xen: [],
    dom0: ['install', 'answerfile=http://192.0.2.5/a.xml', 'answerfile_device=52:54:00:12:34:03', 'device_mapper_multipath=enabled', 'atexit=poweroff'],
  });
});

test('boot arguments: an answer file URL that would break a boot loader line is refused', () => {
  for (const bad of ['answers/a.xml', 'http://h/a b.xml', 'http://h/$mac.xml', 'http://h/a.xml;x', 'tftp://h/a.xml', 'http://h/"a".xml']) {
    assert.throws(() => hostBootArgs(dhcpHost, { answerfileUrl: bad }), (e: unknown) => e instanceof XsforgeError && e.message.startsWith(`answer file URL '${bad}'`), bad);
  }
});

test.run();

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { describeCmdline, parseCmdline, parseMapNetdev, tokenizeCmdline } from '../../installer/runtime/cmdline.ts';
import { consoleDeviceNames } from '../../installer/runtime/console.ts';

const SPEC_LINE = 'xencons=hvc console=hvc0 console=tty0';

test('tokenizer: spaces split, double quotes keep spaces and are removed around a value', () => {
  assert.equal(tokenizeCmdline('  a  b=c\td\n'), ['a', 'b=c', 'd']);
  assert.equal(tokenizeCmdline('x="a b" "c d" e'), ['x=a b', 'c d', 'e']);
  assert.equal(tokenizeCmdline('map_netdev=eth0:s:"my nic" z'), ['map_netdev=eth0:s:"my nic"', 'z']);
  assert.equal(tokenizeCmdline(''), []);
});

test('defaults: interactive, dhcp on all NICs, reboot at exit', () => {
  const { cmdline: c, warnings, errors } = parseCmdline(SPEC_LINE);
  assert.is(c.install, false);
  assert.is(c.answerfile, undefined);
  assert.is(c.answerfileDevice, 'all');
  assert.equal(c.networkConfig, { mode: 'dhcp' });
  assert.is(c.atexit, 'reboot');
  assert.is(c.disableGpt, false);
  assert.is(c.multipath, false);
  assert.is(c.useIbft, false);
  assert.is(c.shell, false);
  assert.equal(c.consoles, ['hvc0', 'tty0']);
  assert.equal(c.unknown, ['xencons=hvc']);
  assert.equal(warnings, []);
  assert.equal(errors, []);
});

test('install with an answer file', () => {
  const { cmdline: c, errors, warnings } = parseCmdline('install answerfile=http://10.0.0.1/answers.xml');
  assert.is(c.install, true);
  assert.is(c.answerfile, 'http://10.0.0.1/answers.xml');
  assert.is(c.rtAnswerfile, false);
  assert.equal(errors, []);
  assert.equal(warnings, []);
});

test('rt_answerfile sets the answer file and marks it', () => {
  const { cmdline: c } = parseCmdline('install rt_answerfile=file:///a.xml');
  assert.is(c.answerfile, 'file:///a.xml');
  assert.is(c.rtAnswerfile, true);
});

test('answer file without install: warning, back to interactive', () => {
  const { warnings, errors } = parseCmdline('answerfile=http://h/a.xml');
  assert.equal(errors, []);
  assert.equal(warnings, ['No operation specified for answerfile - dropping back to interactive mode.']);
});

test('answerfile and answerfile_generator together are an error', () => {
  const r = parseCmdline('install answerfile=http://h/a.xml answerfile_generator=http://h/gen.sh');
  assert.is(r.cmdline.answerfileGenerator, 'http://h/gen.sh');
  assert.ok(r.errors.includes('Both answerfile and answerfile generator passed on command line.'));
  const rt = parseCmdline('install rt_answerfile=http://h/a.xml answerfile_generator=http://h/gen.sh');
  assert.ok(rt.errors.includes('Both answerfile and answerfile generator passed on command line.'));
});

test('answer file URLs: allowed schemes, NFS form, empty value', () => {
  for (const u of ['https://h/a', 'ftp://h/a', 'file:///a', 'nfs://server:/exports/a.xml']) {
    assert.equal(parseCmdline(`install answerfile=${u}`).errors, [], u);
  }
  assert.match(parseCmdline('install answerfile=tftp://h/a').errors[0], /must start with http:\/\//);
  assert.match(parseCmdline('install answerfile=nfs://server/a').errors[0], /nfs:\/\/server:\/path/);
  assert.match(parseCmdline('install answerfile=').errors[0], /answerfile= needs a URL/);
  assert.match(parseCmdline('install answerfile_generator=gopher://x').errors[0], /answerfile_generator=gopher/);
});

test('answerfile_device / network_device: lower-cased, alias, odd names warned', () => {
  assert.is(parseCmdline('answerfile_device=ETH1').cmdline.answerfileDevice, 'eth1');
  assert.is(parseCmdline('network_device=52:54:00:AB:CD:EF').cmdline.answerfileDevice, '52:54:00:ab:cd:ef');
  assert.is(parseCmdline('network_device=all').warnings.length, 0);
  const odd = parseCmdline('network_device=ens3');
  assert.is(odd.cmdline.answerfileDevice, 'ens3');
  assert.is(odd.warnings.length, 1);
});

test('network_config: dhcp and full static', () => {
  assert.equal(parseCmdline('network_config=DHCP').cmdline.networkConfig, { mode: 'dhcp' });
  const r = parseCmdline('network_config=static:ip=192.168.1.10;netmask=255.255.255.0;gateway=192.168.1.1;dns=192.168.1.2,8.8.8.8;domain=Example.COM');
  assert.equal(r.errors, []);
  assert.equal(r.cmdline.networkConfig, {
    mode: 'static', ip: '192.168.1.10', netmask: '255.255.255.0', gateway: '192.168.1.1', dns: ['192.168.1.2', '8.8.8.8'], domain: 'example.com',
  });
});

test('network_config: static without ip or netmask, bad addresses, unknown mode', () => {
  const noIp = parseCmdline('network_config=static:netmask=255.0.0.0');
  assert.equal(noIp.cmdline.networkConfig, { mode: 'dhcp' });
  assert.match(noIp.errors.join('\n'), /needs ip=/);
  assert.match(parseCmdline('network_config=static:ip=10.0.0.1').errors.join('\n'), /needs netmask=/);
  assert.match(parseCmdline('network_config=static:ip=10.0.0.256;netmask=255.0.0.0').errors.join('\n'), /ip=10.0.0.256 is not an IPv4/);
  assert.match(parseCmdline('network_config=static:ip=10.0.0.1;netmask=255.0.0.0;dns=x').errors.join('\n'), /dns server x/);
  assert.match(parseCmdline('network_config=bootp').errors.join('\n'), /must be "dhcp" or "static:/);
  const vlan = parseCmdline('network_config=static:ip=10.0.0.1;netmask=255.0.0.0;vlan=5');
  assert.equal(vlan.errors, []);
  assert.match(vlan.warnings.join('\n'), /unknown field "vlan"/);
});

test('atexit: each action, default, bad value', () => {
  for (const a of ['reboot', 'poweroff', 'shell'] as const) assert.is(parseCmdline(`atexit=${a}`).cmdline.atexit, a);
  const bad = parseCmdline('atexit=halt');
  assert.is(bad.cmdline.atexit, 'reboot');
  assert.match(bad.errors[0], /atexit=halt: must be one of reboot, poweroff, shell/);
});

test('flags: disable-gpt, use_ibft, shell, bash-shell', () => {
  const c = parseCmdline('disable-gpt use_ibft').cmdline;
  assert.is(c.disableGpt, true);
  assert.is(c.useIbft, true);
  assert.is(parseCmdline('shell').cmdline.shell, true);
  assert.is(parseCmdline('bash-shell').cmdline.shell, true);
});

test('device_mapper_multipath: every on and off spelling, bad value', () => {
  for (const v of ['enabled', 'yes', 'true', '1', 'force', 'Enabled']) assert.is(parseCmdline(`device_mapper_multipath=${v}`).cmdline.multipath, true, v);
  for (const v of ['disabled', 'no', 'false', '0']) assert.is(parseCmdline(`device_mapper_multipath=enabled device_mapper_multipath=${v}`).cmdline.multipath, false, v);
  const bad = parseCmdline('device_mapper_multipath=maybe');
  assert.is(bad.cmdline.multipath, false);
  assert.match(bad.errors[0], /device_mapper_multipath=maybe: must be one of/);
});

test('map_netdev: repeatable, every target form, bad entries become warnings', () => {
  const r = parseCmdline('map_netdev=eth0:s:52:54:00:AA:BB:CC map_netdev=eth1:d:pci(0000:04:00.0[1]) map_netdev=eth2:s:ppn(em1) map_netdev=eth3:s:"Embedded NIC 1" map_netdev=wlan0:s:00:11:22:33:44:55 map_netdev=eth4:x:00:11:22:33:44:55 map_netdev=eth5:s:zz');
  assert.equal(r.cmdline.mapNetdev.map((m) => [m.name, m.kind, m.by, m.value]), [
    ['eth0', 'static', 'mac', '52:54:00:aa:bb:cc'],
    ['eth1', 'dynamic', 'pci', '0000:04:00.0[1]'],
    ['eth2', 'static', 'ppn', 'em1'],
    ['eth3', 'static', 'label', 'Embedded NIC 1'],
  ]);
  assert.is(r.warnings.length, 3);
  assert.ok(r.warnings.every((w) => w.startsWith('map_netdev=')));
  assert.equal(r.errors, []);
  assert.is(typeof parseMapNetdev('eth0:s:pci(04:00.0)'), 'object');
});

test('console= repeats in order; keymap, boot-console, unknown kept', () => {
  const c = parseCmdline('console=ttyS0,115200n8 console=hvc0 console=tty0 keymap=de boot-console=ttyS0 quiet root=/dev/ram0 install=yes').cmdline;
  assert.equal(c.consoles, ['ttyS0,115200n8', 'hvc0', 'tty0']);
  assert.is(c.keymap, 'de');
  assert.is(c.bootConsole, 'ttyS0');
  assert.equal(c.unknown, ['quiet', 'root=/dev/ram0', 'install=yes']);
  assert.is(c.install, false);
});

test('console device names: speed stripped, duplicates and null dropped', () => {
  assert.equal(consoleDeviceNames(['hvc0', 'ttyS0,115200n8', 'tty0', 'hvc0', 'null', '/dev/x', '']), ['hvc0', 'ttyS0', 'tty0']);
});

test('describe lists every field and each warning and error', () => {
  const lines = describeCmdline(parseCmdline('install answerfile=http://h/a answerfile_generator=http://h/g atexit=poweroff map_netdev=bad'));
  const text = lines.join('\n');
  assert.match(text, /install:\s+yes/);
  assert.match(text, /at exit:\s+poweroff/);
  assert.match(text, /warning: map_netdev=bad ignored/);
  assert.match(text, /error: Both answerfile and answerfile generator passed on command line\./);
});

test.run();

// Network boot files from the boot menu model: exact pxelinux and GRUB lines for a
// DHCP host and a static host, the default menu = the ISO's entries, the DHCP
// examples, and the HTTP server's pure parts (Range, request paths).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { DEFAULT_RECIPE } from '../../cli/shared.ts';
import { buildMenu } from '../../media/menu.ts';
import { grubWord, renderMenu } from '../../media/render.ts';
import { ISO_PATHS } from '../../media/stages.ts';
import { dnsmasqExample, iscDhcpdExample } from '../../netboot/dhcp.ts';
import { grubNetImageArgs } from '../../netboot/grub-image.ts';
import { parseRange, requestPath } from '../../netboot/http-server.ts';
import {
  GRUB_NET_PATHS, PXE_PATHS, grubNetConfig, hostEntry, pxelinuxDefault, pxelinuxHost, pxelinuxHostFileName, type NetbootHost,
} from '../../netboot/pxe-config.ts';
import { answerUrl } from '../../netboot/tree.ts';
import { loadRecipe } from '../../recipes/load.ts';

const recipe = loadRecipe(DEFAULT_RECIPE);
const menu = buildMenu(recipe);
const id = { brand: 'XenServer', version: '7.1.2', build: '137272c' };
const BASE = 'http://pxehost.example.com';

const dhcpHost: NetbootHost = {
  mac: '52:54:00:12:34:56', hostname: 'xs-host1', answerfileUrl: answerUrl(BASE, '52:54:00:12:34:56'),
  xenArgs: [],
  // the inventory may list install first: the boot line still ends "answerfile=URL install" like the seed's
  dom0Args: ['install', `answerfile=${answerUrl(BASE, '52:54:00:12:34:56')}`, 'answerfile_device=eth0'],
};
const staticHost: NetbootHost = {
  mac: '52:54:00:ab:cd:ef', hostname: 'xs-host2.lab', answerfileUrl: answerUrl(BASE, '52:54:00:ab:cd:ef'),
  xenArgs: ['console=vga'],
  dom0Args: ['answerfile_device=52:54:00:ab:cd:ef', 'network_config=static:ip=192.0.2.10;netmask=255.255.255.0;gateway=192.0.2.1;dns=192.0.2.53',
    'device_mapper_multipath=enabled', 'use_ibft', 'install'],
};

const XEN = 'dom0_max_vcpus=1-2 dom0_mem=1024M,max:1024M com1=115200,8n1 console=com1,vga';
const DOM0 = 'xencons=hvc console=hvc0 console=tty0';

test('pxelinux file for a DHCP host: DEFAULT + LABEL, mboot.c32, the seed\'s argument order and --- separators', () => {
  const cfg = pxelinuxHost(menu, dhcpHost, PXE_PATHS, id);
  assert.is(pxelinuxHostFileName(dhcpHost.mac), '01-52-54-00-12-34-56');
  assert.ok(cfg.includes('\nDEFAULT xenserver-auto\nPROMPT 0\n'), cfg);
  assert.ok(cfg.includes('\nLABEL xenserver-auto\n  MENU LABEL Install XenServer on xs-host1 (unattended)\n  KERNEL mboot.c32\n'), cfg);
  const append = cfg.split('\n').find((l) => l.startsWith('  APPEND '));
  assert.is(append, `  APPEND xenserver/xen.gz ${XEN} --- xenserver/vmlinuz ${DOM0} answerfile_device=eth0 answerfile=http://pxehost.example.com/answers/52:54:00:12:34:56.xml install --- xenserver/install.img`);
  assert.is(cfg.match(/^LABEL /gm)?.length, 1);
});

test('pxelinux file for a static host: console choice after the menu\'s, network_config/multipath/use_ibft passed through', () => {
  const append = pxelinuxHost(menu, staticHost, PXE_PATHS, id).split('\n').find((l) => l.startsWith('  APPEND '));
  assert.is(append, `  APPEND xenserver/xen.gz ${XEN} console=vga --- xenserver/vmlinuz ${DOM0} answerfile_device=52:54:00:ab:cd:ef `
    + 'network_config=static:ip=192.0.2.10;netmask=255.255.255.0;gateway=192.0.2.1;dns=192.0.2.53 device_mapper_multipath=enabled use_ibft '
    + 'answerfile=http://pxehost.example.com/answers/52:54:00:ab:cd:ef.xml install --- xenserver/install.img');
});

test('GRUB netboot config: a $net_default_mac switch with multiboot2/module2 per host, the ISO menu for the rest', () => {
  const cfg = grubNetConfig(menu, [staticHost, dhcpHost], GRUB_NET_PATHS, id);
  // hosts sorted by MAC: the output does not depend on the inventory's order
  assert.ok(cfg.includes('\nif [ "$net_default_mac" = "52:54:00:12:34:56" ]; then\n  # xs-host1\n  set default=0\n  set timeout=0\n'), cfg);
  assert.ok(cfg.includes('\nelif [ "$net_default_mac" = "52:54:00:ab:cd:ef" ]; then\n  # xs-host2.lab\n'), cfg);
  assert.ok(cfg.includes([
    `  menuentry 'Install XenServer on xs-host1 (unattended)' --id xenserver-auto {`,
    `    multiboot2 /xenserver/xen.gz ${XEN}`,
    `    module2 /xenserver/vmlinuz ${DOM0} answerfile_device=eth0 answerfile=http://pxehost.example.com/answers/52:54:00:12:34:56.xml install`,
    '    module2 /xenserver/install.img',
    '  }',
  ].join('\n')), cfg);
  // ';' ends a GRUB command: the static network_config is one quoted word
  assert.ok(cfg.includes(`    module2 /xenserver/vmlinuz ${DOM0} answerfile_device=52:54:00:ab:cd:ef 'network_config=static:ip=192.0.2.10;netmask=255.255.255.0;gateway=192.0.2.1;dns=192.0.2.53' device_mapper_multipath=enabled use_ibft answerfile=http://pxehost.example.com/answers/52:54:00:ab:cd:ef.xml install\n`), cfg);
  assert.ok(cfg.includes(`    multiboot2 /xenserver/xen.gz ${XEN} console=vga\n`));
  assert.ok(/\nelse\n[\s\S]*--id install \{[\s\S]*\nfi\n$/.test(cfg), 'the interactive menu is the else branch');
  assert.equal([...cfg.matchAll(/--id (\S+) \{/g)].map((m) => m[1]), ['xenserver-auto', 'xenserver-auto', 'install', 'no-serial', 'safe', 'multipath', 'shell']);
  assert.not.ok(cfg.includes('search --no-floppy'), 'over the network $root is the TFTP server, nothing to search');
});

test('GRUB words: plain arguments as they are, special characters single-quoted', () => {
  assert.is(grubWord('dom0_mem=1024M,max:1024M'), 'dom0_mem=1024M,max:1024M');
  assert.is(grubWord('a;b'), `'a;b'`);
  assert.is(grubWord('$x'), `'$x'`);
  assert.is(grubWord(`it's`), `'it'\\''s'`);
});

test('default menus: the ISO\'s entries and arguments, only the paths differ', () => {
  const iso = renderMenu('isolinux.cfg', menu, ISO_PATHS, id);
  const pxe = pxelinuxDefault(menu, PXE_PATHS, id);
  assert.is(pxe, iso.replaceAll('/boot/xen.gz', 'xenserver/xen.gz').replaceAll('/boot/vmlinuz', 'xenserver/vmlinuz').replaceAll('/install.img', 'xenserver/install.img'));
  assert.equal([...pxe.matchAll(/^LABEL (\S+)/gm)].map((m) => m[1]), menu.entries.map((e) => e.label));
  const isoGrub = renderMenu('grub.cfg', menu, ISO_PATHS, id);
  const netGrub = grubNetConfig(menu, [], GRUB_NET_PATHS, id);
  const entries = (t: string) => t.slice(t.indexOf('\nmenuentry')).replaceAll('/boot/', '/xenserver/').replace(/ \/install\.img/g, ' /xenserver/install.img');
  assert.is(entries(netGrub), entries(isoGrub));
  assert.not.ok(netGrub.includes('net_default_mac" ='), 'no hosts, no switch');
});

test('host checks: bad MAC, duplicate MAC, blanks in an argument, answerfile= that disagrees with the URL', () => {
  assert.throws(() => hostEntry(menu, { ...dhcpHost, mac: '52:54:00:12:34' }), /not a MAC address/);
  assert.throws(() => grubNetConfig(menu, [dhcpHost, { ...staticHost, mac: dhcpHost.mac.toUpperCase() }], GRUB_NET_PATHS, id), /same MAC 52:54:00:12:34:56/);
  assert.throws(() => hostEntry(menu, { ...dhcpHost, dom0Args: ['keymap=us uk'] }), /cannot go on a boot line/);
  assert.throws(() => hostEntry(menu, { ...dhcpHost, xenArgs: ['---'] }), /cannot go on a boot line/);
  assert.throws(() => hostEntry(menu, { ...dhcpHost, dom0Args: ['answerfile=http://elsewhere/a.xml'] }), /disagrees/);
  assert.throws(() => hostEntry(menu, { ...dhcpHost, hostname: 'bad name' }), /not a host name/);
  // answerfile= and install are added when the host leaves them out
  assert.equal(hostEntry(menu, { ...dhcpHost, dom0Args: [] }).dom0Args.slice(-2), [`answerfile=${dhcpHost.answerfileUrl}`, 'install']);
});

test('DHCP examples: ISC by option 93 (00:07/00:09 -> GRUB, else pxelinux.0), dnsmasq tags', () => {
  const isc = iscDhcpdExample({ tftpServer: '192.0.2.1', tftpRoot: '/srv/pxe/tftp' });
  assert.ok(isc.includes('option arch code 93 = unsigned integer 16;\n'));
  assert.ok(isc.includes('next-server 192.0.2.1;\n'));
  const m = /if option arch = 00:07 or option arch = 00:09 \{\n {2}filename "([^"]+)";\n\} else \{\n {2}filename "([^"]+)";\n\}/.exec(isc);
  assert.ok(m, isc);
  assert.equal([m![1], m![2]], ['EFI/xenserver/grubx64.efi', 'pxelinux.0']);
  const dnsmasq = dnsmasqExample({ tftpServer: '192.0.2.1', tftpRoot: '/srv/pxe/tftp' });
  const lines = dnsmasq.split('\n').filter((l) => l && !l.startsWith('#'));
  assert.equal(lines, [
    'enable-tftp', 'tftp-root=/srv/pxe/tftp',
    'dhcp-match=set:efi-x86_64,option:client-arch,7', 'dhcp-match=set:efi-x86_64,option:client-arch,9',
    'dhcp-boot=tag:efi-x86_64,EFI/xenserver/grubx64.efi', 'dhcp-boot=tag:!efi-x86_64,pxelinux.0',
  ]);
});

test('network GRUB image: the ISO image\'s modules plus efinet/net/tftp/http, prefix without a device', () => {
  const argv = grubNetImageArgs('/m', '/o.efi');
  assert.equal(argv.slice(0, 9), ['grub-mkimage', '-O', 'x86_64-efi', '-d', '/m', '-p', '/EFI/xenserver', '-o', '/o.efi']);
  for (const mod of ['efinet', 'net', 'tftp', 'http', 'multiboot2', 'normal', 'test']) assert.ok(argv.includes(mod), mod);
  assert.not.ok(argv.includes('-c'), 'no embedded config: normal mode reads $prefix/grub.cfg');
});

test('Range: a-b, a-, -n, clipping, and what is unsatisfiable or ignored', () => {
  assert.equal(parseRange('bytes=0-99', 1000), { start: 0, end: 99 });
  assert.equal(parseRange('bytes=900-', 1000), { start: 900, end: 999 });
  assert.equal(parseRange('bytes=-100', 1000), { start: 900, end: 999 });
  assert.equal(parseRange('bytes=-5000', 1000), { start: 0, end: 999 });
  assert.equal(parseRange('bytes=990-5000', 1000), { start: 990, end: 999 });
  assert.is(parseRange('bytes=1000-', 1000), 'unsatisfiable');
  assert.is(parseRange('bytes=50-10', 1000), 'unsatisfiable');
  assert.is(parseRange('bytes=-0', 1000), 'unsatisfiable');
  assert.is(parseRange('bytes=x-y', 1000), 'unsatisfiable');
  assert.is(parseRange('bytes=-', 1000), 'unsatisfiable');
  assert.is(parseRange('bytes=0-', 0), 'unsatisfiable');
  assert.is(parseRange(undefined, 1000), undefined);
  assert.is(parseRange('items=0-1', 1000), undefined);
  assert.is(parseRange('bytes=0-1,5-6', 1000), undefined);
});

test('request paths: decoded, kept under the root; .. and %2e%2e refused', () => {
  assert.is(requestPath('/srv', '/repodata/repomd.xml?x=1'), '/srv/repodata/repomd.xml');
  assert.is(requestPath('/srv', '/answers/52%3A54%3A00%3A12%3A34%3A56.xml'), '/srv/answers/52:54:00:12:34:56.xml');
  assert.is(requestPath('/srv', '/'), '/srv');
  assert.is(requestPath('/srv', '/../etc/passwd'), 403);
  assert.is(requestPath('/srv', '/%2e%2e/etc/passwd'), 403);
  assert.is(requestPath('/srv', '/a/%2E%2E%2F%2E%2E/etc/passwd'), 403);
  assert.is(requestPath('/srv', '/a/..'), 403);
  assert.is(requestPath('/srv', '/%zz'), 400);
  assert.is(requestPath('/srv', '/a%00b'), 400);
  assert.is(requestPath('/srv', 'relative'), 400);
});

test.run();

// The Xen and dom0 command-line rule (target/boot-args.ts) and its three
// renderings: the ISO menus, the network-boot files, the installed host's grub.cfg.
// For one recipe boot section they carry the same dom0_mem, dom0_max_vcpus and
// serial console; only the dom0 console order differs, on purpose.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { join } from 'node:path';
import { DEFAULT_RECIPE, REPO_ROOT } from '../../cli/shared.ts';
import { netbootHost } from '../../cli/commands/pxe.ts';
import { hostBootArgs } from '../../inventory/boot-args.ts';
import { loadInventory } from '../../inventory/load.ts';
import { buildMenu, type MenuInput } from '../../media/menu.ts';
import { renderMenu } from '../../media/render.ts';
import { ISO_PATHS } from '../../media/stages.ts';
import { netbootConfigs } from '../../netboot/pxe-config.ts';
import { loadRecipe } from '../../recipes/load.ts';
import {
  DEFAULT_BOOT, SAFE_MODE_XEN_ARGS, consoleArgs, dom0MemMiB, hostBootLine, installerBootLine, serialUnit, type BootValues,
} from '../../target/boot-args.ts';
import { grubConfig } from '../../target/grub.ts';

const recipe = loadRecipe(DEFAULT_RECIPE);
const id = { brand: 'XenServer', version: '7.1.2', build: '137272c' };
const inventory = loadInventory(join(REPO_ROOT, 'examples/hosts.yaml'));

/** The default recipe with another serial port, speed, dom0 size and Xen extras. */
const OTHER: MenuInput = {
  ...recipe,
  boot: { ...recipe.boot, serial: { port: 'com2', baud: 57600 }, xen: { dom0_mem: '2048M,max:4G', dom0_max_vcpus: '4', extra: ['loglvl=all'] } },
};

/** The arguments of every line in `text` that starts with `prefix` (the path after it dropped). */
function argLines(text: string, prefix: RegExp): string[][] {
  return text.split('\n').map((l) => l.trim()).filter((l) => prefix.test(l)).map((l) => l.replace(prefix, '').trim().split(/\s+/).slice(1));
}

/** The words the rule owns: dom0 size, serial port and Xen console. */
const ruleWords = (args: string[]) => args.filter((a) => /^(dom0_mem|dom0_max_vcpus|console)=|^com\d=/.test(a)).sort();

/** Each rendering's Xen and dom0 arguments for a serial entry and a VGA-only one. */
function renderings(input: MenuInput) {
  const menu = buildMenu(input);
  const iso = renderMenu('isolinux.cfg', menu, ISO_PATHS, id);
  const isoGrub = renderMenu('grub.cfg', menu, ISO_PATHS, id);
  const isoXen = argLines(iso, /^APPEND /).map((a) => a.slice(0, a.indexOf('---')));
  const nb = netbootConfigs(menu, inventory.hosts.map((h) => netbootHost(h, 'http://192.0.2.5')), id);
  const pxe = (mac: string) => {
    const text = nb.pxelinuxHosts.find((f) => f.name === `01-${mac.replaceAll(':', '-')}`)!.text;
    const args = argLines(text, /^APPEND /)[0]!;
    const sep = args.indexOf('---');
    return { xen: args.slice(0, sep), dom0: args.slice(sep + 2, args.lastIndexOf('---')) };
  };
  const host = grubConfig({ brand: 'XenServer', rootLabel: 'root-abcdef', boot: { serial: input.boot.serial, xen: input.boot.xen } });
  const hostXen = argLines(host, /^multiboot2 /);
  const hostDom0 = argLines(host, /^module2 \/boot\/vmlinuz/).map((a) => a.filter((w) => w.startsWith('console=')));
  return { menu, iso, isoGrub, isoXen, nb, pxeSerial: pxe('52:54:00:12:34:01'), pxeVga: pxe('52:54:00:12:34:03'), host, hostXen, hostDom0 };
}

for (const [name, input] of [['default recipe', recipe], ['com2 at 57600, 2048M,max:4G, 4 vCPUs, an extra', OTHER]] as const) {
  test(`${name}: the ISO menus, PXE files and installed host carry the same dom0 size and serial console`, () => {
    const r = renderings(input);
    const { port, baud } = input.boot.serial;
    const serialXen = [`dom0_mem=${input.boot.xen.dom0_mem}`, `dom0_max_vcpus=${input.boot.xen.dom0_max_vcpus}`, `${port}=${baud},8n1`, `console=${port},vga`].sort();
    const vgaXen = [`dom0_mem=${input.boot.xen.dom0_mem}`, `dom0_max_vcpus=${input.boot.xen.dom0_max_vcpus}`, 'console=vga'].sort();
    const install = r.menu.entries.find((e) => e.label === 'install')!;
    const noSerial = r.menu.entries.find((e) => e.label === 'no-serial')!;
    assert.equal(ruleWords(install.xenArgs), serialXen);
    assert.equal(ruleWords(noSerial.xenArgs), vgaXen);
    // isolinux.cfg, the ISO's grub.cfg, PXE and the installed host: the same words
    assert.equal(ruleWords(r.isoXen[0]!), serialXen);
    assert.equal(ruleWords(argLines(r.isoGrub, /^multiboot2 /)[0]!), serialXen);
    assert.equal(ruleWords(r.pxeSerial.xen), serialXen);
    assert.equal(ruleWords(r.pxeVga.xen), vgaXen);
    assert.equal(ruleWords(r.hostXen[0]!), serialXen);
    assert.equal(ruleWords(r.hostXen[1]!), vgaXen);
    for (const x of input.boot.xen.extra ?? []) assert.ok(install.xenArgs.includes(x) && r.pxeSerial.xen.includes(x) && r.hostXen.every((a) => a.includes(x)), x);
    // serial units: comN is unit N-1 in every boot loader
    const unit = Number(port.slice(3)) - 1;
    assert.ok(r.iso.includes(`\nSERIAL ${unit} ${baud}\n`));
    assert.ok(r.isoGrub.includes(`\nserial --unit=${unit} --speed=${baud}\n`));
    assert.ok(r.nb.pxelinuxHosts[0]!.text.includes(`\nSERIAL ${unit} ${baud}\n`));
    assert.ok(r.nb.grubNet.includes(`\nserial --unit=${unit} --speed=${baud}\n`));
    assert.ok(r.host.includes(`\nserial --unit=${unit} --speed=${baud}\n`));
    // dom0: the installer on hvc0 and tty0 (tty0 last, as the product's installer), the installed host with hvc0 last
    assert.equal(install.dom0Args.slice(0, 3), ['xencons=hvc', 'console=hvc0', 'console=tty0']);
    assert.equal(r.pxeSerial.dom0.slice(0, 3), ['xencons=hvc', 'console=hvc0', 'console=tty0']);
    assert.equal(r.pxeVga.dom0[0], 'console=tty0');
    assert.not.ok(r.pxeVga.dom0.includes('console=hvc0'));
    assert.equal(r.hostDom0, [['console=tty0', 'console=hvc0'], ['console=tty0']]);
  });
}

test('the default recipe renders exactly the product\'s lines', () => {
  const r = renderings(recipe);
  assert.equal(r.isoXen[0], ['dom0_max_vcpus=1-2', 'dom0_mem=1024M,max:1024M', 'com1=115200,8n1', 'console=com1,vga']);
  assert.equal(r.hostXen, [['dom0_mem=1024M,max:1024M', 'dom0_max_vcpus=1-2', 'com1=115200,8n1', 'console=com1,vga'], ['dom0_mem=1024M,max:1024M', 'dom0_max_vcpus=1-2', 'console=vga']]);
  assert.equal(recipe.boot.serial, DEFAULT_BOOT.serial);
  assert.equal({ ...recipe.boot.xen, extra: recipe.boot.xen.extra ?? [] }, DEFAULT_BOOT.xen);
});

test('safe mode: the safe entry adds the whole safe-mode set after dom0\'s values, before the console', () => {
  for (const input of [recipe, OTHER]) {
    const safe = buildMenu(input).entries.find((e) => e.label === 'safe')!;
    assert.equal(safe.xenArgs.slice(2, 2 + SAFE_MODE_XEN_ARGS.length), [...SAFE_MODE_XEN_ARGS]);
    assert.ok(safe.xenArgs.includes(`console=${input.boot.serial.port},vga`));
  }
  assert.ok(SAFE_MODE_XEN_ARGS.includes('nosmp') && SAFE_MODE_XEN_ARGS.includes('iommu=off') && SAFE_MODE_XEN_ARGS.includes('no-hap'));
  // the installed host has no safe-mode entry
  assert.not.ok(grubConfig({ brand: 'X', rootLabel: 'root-abcdef', boot: DEFAULT_BOOT }).includes('nosmp'));
});

test('the rule itself: console sets, entry and recipe arguments in their places, serial units', () => {
  const b: BootValues & { dom0?: { extra?: string[] } } = { serial: { port: 'com3', baud: 9600 }, xen: { dom0_mem: '512M', dom0_max_vcpus: '2', extra: ['x=1'] }, dom0: { extra: ['d=1'] } };
  assert.equal(consoleArgs('installer', b.serial), { xen: ['com3=9600,8n1', 'console=com3,vga'], dom0: ['xencons=hvc', 'console=hvc0', 'console=tty0'] });
  assert.equal(consoleArgs('host', b.serial), { xen: ['com3=9600,8n1', 'console=com3,vga'], dom0: ['console=tty0', 'console=hvc0'] });
  assert.equal(consoleArgs('installer', undefined), { xen: ['console=vga'], dom0: ['console=tty0'] });
  assert.equal(consoleArgs('host', undefined), consoleArgs('installer', undefined));
  assert.equal(installerBootLine(b, { serial: true, xen_args: ['e=1'], dom0_args: ['f=1'] }), {
    xen: ['dom0_max_vcpus=2', 'dom0_mem=512M', 'e=1', 'com3=9600,8n1', 'console=com3,vga', 'x=1'],
    dom0: ['xencons=hvc', 'console=hvc0', 'console=tty0', 'f=1', 'd=1'],
  });
  // boot.dom0.extra holds installer arguments: never on the installed host
  assert.equal(hostBootLine(b, true), { xen: ['dom0_mem=512M', 'dom0_max_vcpus=2', 'com3=9600,8n1', 'console=com3,vga', 'x=1'], dom0: ['console=tty0', 'console=hvc0'] });
  assert.equal([serialUnit('com1'), serialUnit('com4')], [0, 3]);
  assert.throws(() => serialUnit('ttyS0'), /'ttyS0' is not a serial port/);
  // an inventory host's own console arguments follow the recipe's port
  const serialHost = inventory.hosts[0]!;
  assert.equal(hostBootArgs(serialHost, { answerfileUrl: 'http://192.0.2.5/a.xml', serial: b.serial }).xen, ['com3=9600,8n1', 'console=com3,vga']);
});

test('the installed host\'s grub.cfg refuses a Xen argument GRUB would split or expand', () => {
  for (const bad of ['a;b', '$x', `it's`, 'a{b}']) {
    assert.throws(() => grubConfig({ brand: 'X', rootLabel: 'root-abcdef', boot: { ...DEFAULT_BOOT, xen: { ...DEFAULT_BOOT.xen, extra: [bad] } } }), /cannot go on the installed host's grub\.cfg/, bad);
  }
});

test('DOM0_MEM in MiB: the max: size, else the first plain size, else the first size', () => {
  assert.is(dom0MemMiB(DEFAULT_BOOT.xen.dom0_mem), 1024);
  assert.is(dom0MemMiB('2048M'), 2048);
  assert.is(dom0MemMiB('4G'), 4096);
  assert.is(dom0MemMiB('1024M,max:2G'), 2048);
  assert.is(dom0MemMiB('min:512M,max:1T'), 1024 * 1024);
  assert.is(dom0MemMiB('min:512M,3072M'), 3072);
  assert.is(dom0MemMiB('min:768M'), 768);
  assert.is(dom0MemMiB('1572864K'), 1536);
  for (const bad of ['', '1024', '1024MB', 'max:', '1024M,', '-512M', '1024M max:2G']) assert.throws(() => dom0MemMiB(bad), /not a Xen dom0_mem value/, bad);
});

test.run();

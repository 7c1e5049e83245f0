import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { buildMenu } from '../../media/menu.ts';
import { renderMenu } from '../../media/render.ts';
import { ISO_PATHS } from '../../media/stages.ts';
import { loadRecipe } from '../../recipes/load.ts';
import { DEFAULT_RECIPE } from '../../cli/shared.ts';

const recipe = loadRecipe(DEFAULT_RECIPE);
const id = { brand: 'XenServer', version: '7.1.2', build: '137272c' };

test('default install entry renders exactly the SPEC section 1 boot line', () => {
  const cfg = renderMenu('isolinux.cfg', buildMenu(recipe), ISO_PATHS, id);
  assert.ok(cfg.includes('DEFAULT install\n'));
  assert.ok(cfg.includes('SERIAL 0 115200\n'));
  assert.ok(cfg.includes('  KERNEL mboot.c32\n  APPEND /boot/xen.gz dom0_max_vcpus=1-2 dom0_mem=1024M,max:1024M com1=115200,8n1 console=com1,vga --- /boot/vmlinuz xencons=hvc console=hvc0 console=tty0 --- /install.img\n'));
});

test('isolinux and grub menus carry the same entries with the same arguments', () => {
  const menu = buildMenu(recipe);
  const iso = renderMenu('isolinux.cfg', menu, ISO_PATHS, id);
  const grub = renderMenu('grub.cfg', menu, ISO_PATHS, id);
  assert.equal([...iso.matchAll(/^LABEL (\S+)/gm)].map((m) => m[1]), ['install', 'no-serial', 'safe', 'multipath', 'shell']);
  assert.equal([...grub.matchAll(/--id (\S+) \{/g)].map((m) => m[1]), ['install', 'no-serial', 'safe', 'multipath', 'shell']);
  for (const e of menu.entries) {
    assert.ok(iso.includes(`APPEND /boot/xen.gz ${e.xenArgs.join(' ')} --- /boot/vmlinuz ${e.dom0Args.join(' ')} --- /install.img`), e.label);
    assert.ok(grub.includes(`multiboot2 /boot/xen.gz ${e.xenArgs.join(' ')}\n  module2 /boot/vmlinuz ${e.dom0Args.join(' ')}\n  module2 /install.img`), e.label);
  }
  assert.ok(grub.includes('search --no-floppy --file --set=root /install.img'));
  assert.ok(grub.includes('set timeout=5'));
});

test('entry variants: no-serial drops the serial console, safe adds the safe-mode Xen flags, shell and multipath add dom0 flags', () => {
  const byLabel = Object.fromEntries(buildMenu(recipe).entries.map((e) => [e.label, e]));
  assert.ok(byLabel['no-serial'].xenArgs.includes('console=vga'));
  assert.not.ok(byLabel['no-serial'].xenArgs.some((a) => a.startsWith('com1=')));
  assert.equal(byLabel['no-serial'].dom0Args, ['console=tty0']);
  assert.ok(byLabel.safe.xenArgs.includes('no-hap') && byLabel.safe.xenArgs.includes('iommu=off'));
  assert.ok(byLabel.shell.dom0Args.includes('bash-shell'));
  assert.ok(byLabel.multipath.dom0Args.includes('device_mapper_multipath=enabled'));
});

test('recipe-wide settings reach every entry, and the default entry index follows boot.default', () => {
  const r = { ...recipe, boot: { ...recipe.boot, default: 'safe', serial: { port: 'com2' as const, baud: 57600 as const }, xen: { ...recipe.boot.xen, dom0_mem: '2048M', extra: ['loglvl=all'] }, dom0: { extra: ['atexit=poweroff'] } } };
  const menu = buildMenu(r);
  for (const e of menu.entries) {
    assert.ok(e.xenArgs.includes('dom0_mem=2048M') && e.xenArgs.includes('loglvl=all'));
    assert.ok(e.dom0Args.includes('atexit=poweroff'));
  }
  assert.ok(menu.entries[0].xenArgs.includes('com2=57600,8n1'));
  const grub = renderMenu('grub.cfg', menu, ISO_PATHS, id);
  assert.ok(grub.includes('set default=2'));
  assert.ok(grub.includes('serial --unit=1 --speed=57600'));
});

test.run();

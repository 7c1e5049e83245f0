// The default ISO boots to the installer in all four ways (BIOS/UEFI x CD/USB),
// the installer sees the machine and the command line, and atexit= ends QEMU.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_RECIPE } from '../../cli/shared.ts';
import { withVm, type BootAs, type Firmware } from '../../testbed/qemu.ts';
import { buildRecipe } from '../lib/build.ts';

const work = mkdtempSync(join(tmpdir(), 'xsf-e2e-'));
let iso = '';
const BOOT_TIMEOUT = 300_000;

test.before(async () => {
  iso = (await buildRecipe(DEFAULT_RECIPE, { output: join(work, 'out') })).iso;
});
test.after(() => rmSync(work, { recursive: true, force: true }));

async function bootToInstaller(bootAs: BootAs, firmware: Firmware): Promise<string> {
  const serialLog = join(work, `${firmware}-${bootAs}.log`);
  return withVm({ media: iso, bootAs, firmware, serialLog, memoryMiB: 2048 }, async (vm) => {
    // Xen's own banner proves the hypervisor from the media is the one running
    await vm.waitFor(/\(XEN\) Xen version 4\.17/, BOOT_TIMEOUT);
    await vm.waitFor(/Welcome to XenServer 7\.1\.2 \(build 137272c\) installer/, BOOT_TIMEOUT);
    const ready = await vm.waitFor(/XSFORGE-INSTALLER-READY disks=(\d+) optical=(\d+) nics=(\d+) errors=(\d+)/, BOOT_TIMEOUT);
    // the medium itself is a device the installer sees: the CD-ROM, or the USB stick as a disk
    if (bootAs === 'cd') assert.ok(Number(ready[2]) >= 1, `installer saw ${ready[2]} optical drives`);
    else assert.ok(Number(ready[1]) >= 1, `installer saw ${ready[1]} disks`);
    assert.is(ready[4], '0', 'the default command line parses without errors');
    // default entry: atexit defaults to reboot, and QEMU runs with -no-reboot
    await vm.waitFor(/XSFORGE-INSTALLER-EXIT action=reboot/, 60_000);
    const status = await vm.waitExit(120_000);
    assert.is(status, 0, 'QEMU ends by itself when the installer reboots');
    return vm.serialText();
  });
}

test('BIOS CD: ISOLINUX -> mboot.c32 -> Xen -> dom0 -> installer on the serial console', async () => {
  const log = await bootToInstaller('cd', 'bios');
  assert.match(log, /console.*hvc0/);
});

test('BIOS USB stick (ISO written raw): isohybrid MBR boots', async () => {
  await bootToInstaller('usb', 'bios');
});

test('UEFI CD: El Torito EFI image -> GRUB multiboot2 -> Xen -> installer', async () => {
  await bootToInstaller('cd', 'uefi');
});

test('UEFI USB stick: GPT EFI partition boots', async () => {
  await bootToInstaller('usb', 'uefi');
});

test('atexit=poweroff powers the machine off cleanly', async () => {
  const recipe = join(work, 'poweroff.yaml');
  writeFileSync(recipe, `extends: ${DEFAULT_RECIPE}\nname: e2e-poweroff\nboot:\n  timeout: 10\n  dom0:\n    extra: [atexit=poweroff]\n`);
  const built = await buildRecipe(recipe, { output: join(work, 'out') });
  await withVm({ media: built.iso, bootAs: 'cd', firmware: 'bios', serialLog: join(work, 'poweroff.log') }, async (vm) => {
    await vm.waitFor(/XSFORGE-INSTALLER-EXIT action=poweroff/, BOOT_TIMEOUT);
    assert.is(await vm.waitExit(120_000), 0);
    assert.not.match(vm.serialText(), /action=reboot/);
  });
});

test.run();

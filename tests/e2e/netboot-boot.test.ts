// A network-boot tree from the default build boots in QEMU with QEMU's own DHCP
// and TFTP: a machine whose MAC is in no pxelinux.cfg/01-<mac> file gets the
// interactive default menu, not someone else's answer file. Known MACs are
// pxe-install.test.ts (whole installs, BIOS and UEFI).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildMenu } from '../../media/menu.ts';
import type { NetbootHost } from '../../netboot/pxe-config.ts';
import { answerUrl, writeNetbootTree } from '../../netboot/tree.ts';
import { withVm, type Firmware } from '../../testbed/qemu.ts';
import { netbootInputs } from '../lib/netboot.ts';

const work = mkdtempSync(join(tmpdir(), 'xsf-netboot-e2e-'));
// QEMU's user network: the host is 10.0.2.2 (the guest only needs to be told the URL)
const BASE = 'http://10.0.2.2:8080';
const KNOWN = '52:54:00:e2:e0:01';
const UNKNOWN = '52:54:00:e2:e0:99';
const BOOT_TIMEOUT = 300_000;
let tftpRoot = '';

test.before(async () => {
  const inputs = await netbootInputs(work);
  // The current install.img unpacks to ~420 MiB, which does not fit the recipe's
  // dom0_mem=1024M (the kernel stops at "Initramfs unpacking failed: write error",
  // from the ISO as well); these boots test the network path, so dom0 gets 2 GiB.
  const r = inputs.recipe;
  const menu = buildMenu({ product: r.product, boot: { ...r.boot, xen: { ...r.boot.xen, dom0_mem: '2048M,max:2048M' } } });
  const hosts: NetbootHost[] = [{ mac: KNOWN, hostname: 'pxe-host', answerfileUrl: answerUrl(BASE, KNOWN), xenArgs: [], dom0Args: ['answerfile_device=eth0', 'install'] }];
  const tree = await writeNetbootTree({ menu, id: inputs.id, hosts, out: join(work, 'pxe'), sources: inputs.sources, baseUrl: BASE });
  tftpRoot = join(tree.out, 'tftp');
});
test.after(() => rmSync(work, { recursive: true, force: true }));

async function netboot(firmware: Firmware, mac: string): Promise<{ cmdline: string; serial: string; seconds: number }> {
  const t0 = Date.now();
  const serialLog = join(work, `${firmware}-${mac.replaceAll(':', '')}.log`);
  return withVm({
    firmware, serialLog, memoryMiB: 3072,
    netboot: { tftpRoot, bootfile: firmware === 'uefi' ? 'EFI/xenserver/grubx64.efi' : 'pxelinux.0' },
    // the testbed's NIC takes QEMU's default MAC; a global property gives it ours
    extraArgs: ['-global', `e1000.mac=${mac}`],
  }, async (vm) => {
    await vm.waitFor(/XSFORGE-INSTALLER-READY disks=\d+ optical=\d+ nics=1 errors=0/, BOOT_TIMEOUT);
    const line = /^Kernel command line: (.*)$/m.exec(vm.serialText().replace(/\r/g, ''));
    assert.ok(line, 'the installer prints its command line');
    return { cmdline: line![1]!.trim(), serial: vm.serialText(), seconds: (Date.now() - t0) / 1000 };
  });
}

// Known MACs (BIOS and UEFI) are pxe-install.test.ts: whole installs from the tree `xsforge pxe` writes.
test('BIOS PXE, unknown MAC: the default menu, whose first entry boots the interactive installer', async () => {
  const r = await netboot('bios', UNKNOWN);
  console.log(`BIOS PXE unknown MAC: READY after ${r.seconds.toFixed(0)} s`);
  assert.match(r.serial, /^boot: /m, 'pxelinux.cfg/default was shown');
  assert.is(r.cmdline, 'xencons=hvc console=hvc0 console=tty0');
});

// The UEFI known-MAC path is pxe-install.test.ts too: a whole install through GRUB's $net_default_mac branch.

test.run();

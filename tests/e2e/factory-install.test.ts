// Factory media end to end: the image from `xsforge build --answerfile`, written
// raw to a USB stick, installs unattended from the answer file on the stick
// itself onto the machine's disk, and the disk boots to login. No network is
// involved in the install. The target is a virtio disk (/dev/vda), so the USB
// stick's place in the sd* enumeration does not matter.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_RECIPE } from '../../cli/shared.ts';
import { withVm } from '../../testbed/qemu.ts';
import { buildRecipe } from '../lib/build.ts';
import { NIC_ARGS, freshAnswer, sparseDisk } from '../lib/install-env.ts';

const HOSTNAME = 'xsf-factory-host';
const work = mkdtempSync(join(tmpdir(), 'xsf-factory-e2e-'));
test.after(() => rmSync(work, { recursive: true, force: true }));

test('factory media install onto the disk from its own answer file; the disk boots to login', async () => {
  const answer = join(work, 'answer.xml');
  writeFileSync(answer, freshAnswer(HOSTNAME).replace('>sda</primary-disk>', '>vda</primary-disk>'));
  const { iso } = await buildRecipe(DEFAULT_RECIPE, { output: join(work, 'out'), extra: ['--answerfile', answer] });
  const disk = join(work, 'disk.img');
  sparseDisk(disk, 60e9);
  await withVm({ media: iso, bootAs: 'usb', firmware: 'bios', serialLog: join(work, 'install.log'), extraDisks: [{ path: disk, writable: true }], diskBus: 'virtio', memoryMiB: 2048 }, async (vm) => {
    await vm.waitFor(/Fetching the answer file file:\/\/\/answerfile\.xml/, 600_000);
    await vm.waitFor(/XSFORGE-INSTALL-PLAN disk=\/dev\/vda/, 300_000);
    await vm.waitFor(/XSFORGE-INSTALL-COMPLETE/, 1_200_000);
  });
  await withVm({ media: disk, bootAs: 'disk', diskBus: 'virtio', firmware: 'bios', serialLog: join(work, 'boot.log'), mediaWritable: true, extraArgs: NIC_ARGS, memoryMiB: 2048 }, async (vm) => {
    await vm.waitFor(new RegExp(`${HOSTNAME} login:`), 900_000);
    assert.ok(true);
  });
});

test.run();

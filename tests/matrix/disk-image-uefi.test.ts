// disk-image for UEFI hosts, as qcow2: OVMF finds EFI/BOOT/BOOTX64.EFI on the
// image's EFI system partition (no firmware boot entry exists on a new board)
// and the host boots to login. In test-matrix: the BIOS raw image is the e2e test.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { withVm } from '../../testbed/qemu.ts';
import { xsforge } from '../lib/build.ts';
import { NIC_ARGS, freshAnswer } from '../lib/install-env.ts';

const HOSTNAME = 'xsf-imaged-uefi';
const work = mkdtempSync(join(tmpdir(), 'xsf-disk-uefi-'));
test.after(() => rmSync(work, { recursive: true, force: true }));

test('a UEFI qcow2 disk image boots through OVMF to login', async () => {
  const answer = join(work, 'answer.xml');
  writeFileSync(answer, freshAnswer(HOSTNAME).replace(' guest-storage="yes"', ''));
  const img = join(work, 'disk.qcow2');
  const r = await xsforge(['disk-image', '--answerfile', answer, '--boot', 'uefi', '--format', 'qcow2', '--out', img, '-q']);
  assert.is(r.code, 0, r.stderr);
  // the testbed attaches disks raw: convert (sparse) for the boot
  const raw = join(work, 'disk.raw');
  const { run } = await import('../../core/exec.ts');
  await run(['qemu-img', 'convert', '-O', 'raw', img, raw]);
  await withVm({ media: raw, bootAs: 'disk', firmware: 'uefi', serialLog: join(work, 'boot.log'), extraArgs: NIC_ARGS, memoryMiB: 2048 }, async (vm) => {
    await vm.waitFor(/Xen compiled by xsforge/, 600_000);
    await vm.waitFor(new RegExp(`${HOSTNAME} login:`), 900_000);
  });
});

test.run();

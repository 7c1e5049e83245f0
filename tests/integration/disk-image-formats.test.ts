// disk-image without booting: two builds are byte-identical; the UEFI variant has an EFI system partition with
// the removable-media loader and its grub.cfg; qcow2 and VHD keep the exact disk
// size (VHD's CHS rounding would move the end of the disk away from the GPT
// backup header). A BIOS image is booted by tests/e2e/upgrade-restore.test.ts.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '../../core/exec.ts';
import { xsforge } from '../lib/build.ts';
import { freshAnswer } from '../lib/install-env.ts';

const work = mkdtempSync(join(tmpdir(), 'xsf-disk-formats-'));
test.after(() => rmSync(work, { recursive: true, force: true }));
const answer = join(work, 'answer.xml');
writeFileSync(answer, freshAnswer('xsf-formats').replace(' guest-storage="yes"', ''));
const SIZE = 60 * 2 ** 30;

async function virtualSize(path: string): Promise<{ format: string; size: number }> {
  const info = JSON.parse((await run(['qemu-img', 'info', '--output', 'json', path])).stdout);
  return { format: info.format, size: info['virtual-size'] };
}

test('UEFI qcow2: GPT with an EFI system partition holding BOOTX64.EFI and the stub grub.cfg', async () => {
  const img = join(work, 'uefi.qcow2');
  const r = await xsforge(['disk-image', '--answerfile', answer, '--boot', 'uefi', '--format', 'qcow2', '--out', img, '--json']);
  assert.is(r.code, 0, r.stderr);
  const result = JSON.parse(r.stdout.trim().split('\n').pop()!);
  assert.equal(await virtualSize(img), { format: 'qcow2', size: SIZE });
  await run(['qemu-img', 'check', img]);
  // the same inputs give the same bytes (file-system times clamped, identities derived)
  const again = join(work, 'again', 'uefi.qcow2');
  assert.is((await xsforge(['disk-image', '--answerfile', answer, '--boot', 'uefi', '--format', 'qcow2', '--out', again, '-q'])).code, 0);
  const digest = async (p: string) => (await run(['sha256sum', p])).stdout.split(' ')[0];
  assert.is(await digest(again), await digest(img), 'two builds of the UEFI qcow2 image are byte-identical');
  const raw = join(work, 'uefi.raw');
  await run(['qemu-img', 'convert', '-O', 'raw', img, raw]);
  const sg = (await run(['sgdisk', '--print', raw])).stdout;
  const esp = sg.split('\n').map((l) => l.trim().split(/\s+/)).find((x) => x[5] === 'EF00');
  assert.ok(esp, sg);
  const at = `${raw}@@${Number(esp![1]) * 512}`;
  const mtools = { env: { MTOOLS_SKIP_CHECK: '1' } };
  const boot = (await run(['mdir', '-b', '-i', at, '::/EFI/BOOT'], mtools)).stdout;
  assert.match(boot, /BOOTX64\.EFI/);
  assert.match(boot, /grub\.cfg/);
  const cfg = (await run(['mtype', '-i', at, '::/EFI/xenserver/grub.cfg'], mtools)).stdout;
  assert.match(cfg, new RegExp(`search --no-floppy --label --set=root root-${result.labels}`));
  const loader = (await run(['mdir', '-b', '-i', at, '::/EFI/xenserver'], mtools)).stdout;
  assert.match(loader, /grubx64\.efi/);
  rmSync(raw);
});

test('VHD keeps the exact size; a bad --size or --format is refused before building', async () => {
  const img = join(work, 'disk.vhd');
  const r = await xsforge(['disk-image', '--answerfile', answer, '--format', 'vhd', '--out', img, '-q']);
  assert.is(r.code, 0, r.stderr);
  assert.equal(await virtualSize(img), { format: 'vpc', size: SIZE });
  const bad = await xsforge(['disk-image', '--answerfile', answer, '--format', 'vmdk', '--out', join(work, 'x.img')]);
  assert.is.not(bad.code, 0);
  assert.match(bad.stderr, /--format vmdk is not one of raw, qcow2, vhd/);
  const badSize = await xsforge(['disk-image', '--answerfile', answer, '--size', '60Q', '--out', join(work, 'x.img')]);
  assert.match(badSize.stderr, /--size: cannot read size '60Q'/);
  const tooSmall = await xsforge(['disk-image', '--answerfile', answer, '--size', '8G', '--out', join(work, 'x.img')]);
  assert.is.not(tooSmall.code, 0);
  assert.match(tooSmall.stderr, /The disk \/dev\/sda is smaller than/);
  assert.not.match(tooSmall.stderr, /build:|\[run\]/);
});

test.run();

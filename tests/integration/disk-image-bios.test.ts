// xsforge disk-image: a preinstalled disk made without booting has
// the installer's layout (sgdisk as the oracle), the answer file's settings in
// its root file system (debugfs reads it in place), GRUB's BIOS boot code that
// points at the BIOS-boot partition. tests/e2e/upgrade-restore.test.ts boots a
// disk-image output in QEMU to the login prompt (its version A) before upgrading
// it. A raw 60 GB image is sparse: about 1.2 GB is written.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdtempSync, openSync, readSync, closeSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '../../core/exec.ts';
import { readBiosBoot } from '../../preinstall/grub-bios.ts';
import { xsforge } from '../lib/build.ts';
import { freshAnswer } from '../lib/install-env.ts';

const HOSTNAME = 'xsf-imaged-host';
const work = mkdtempSync(join(tmpdir(), 'xsf-disk-image-'));
test.after(() => rmSync(work, { recursive: true, force: true }));

function readSector(path: string, lba: number): Buffer {
  const fd = openSync(path, 'r');
  try {
    const b = Buffer.alloc(512);
    readSync(fd, b, 0, 512, lba * 512);
    return b;
  } finally {
    closeSync(fd);
  }
}

test('an answer file with scripts is refused before anything is built, and nothing is written', async () => {
  const answer = join(work, 'scripted.xml');
  writeFileSync(answer, freshAnswer(HOSTNAME, '  <script stage="filesystem-populated" type="url">http://10.0.2.2/x.sh</script>\n'));
  const out = join(work, 'refused.img');
  const r = await xsforge(['disk-image', '--answerfile', answer, '--out', out]);
  assert.is.not(r.code, 0);
  assert.match(r.stderr, /does not run answer-file scripts \(filesystem-populated: http:\/\/10\.0\.2\.2\/x\.sh\)/);
  assert.not.match(r.stderr, /\[run\]|build:/);
  assert.not.ok(existsSync(out));
});

test('a BIOS disk image has the planned layout, the answer file\'s settings and GRUB\'s boot code (upgrade-restore.test boots one to login)', async () => {
  const answer = join(work, 'answer.xml');
  // guest-storage stays on (the default): the SR partition takes the rest of the disk
  writeFileSync(answer, freshAnswer(HOSTNAME).replace(' guest-storage="yes"', ''));
  const disk = join(work, 'disk.img');
  const r = await xsforge(['disk-image', '--answerfile', answer, '--size', '60G', '--out', disk, '--json']);
  assert.is(r.code, 0, r.stderr);
  const result = JSON.parse(r.stdout.trim().split('\n').pop()!);
  assert.is(result.table, 'gpt');
  assert.is(result.boot, 'bios');
  const labels = result.labels as string;

  // the partition table as sgdisk reads it: the new layout of seed 3439-3550 on a 60 GiB disk
  const sg = (await run(['sgdisk', '--print', disk])).stdout;
  const rows = sg.split('\n').filter((l) => /^\s+\d+\s+\d+\s+\d+/.test(l)).map((l) => l.trim().split(/\s+/));
  assert.equal(rows.map((x) => x[0]), ['1', '2', '3', '4', '5', '6'], sg);
  assert.equal(rows.map((x) => x[5]), ['0700', '0700', '8E00', 'EF02', '0700', '8200'], sg);
  const start = (n: string) => Number(rows.find((x) => x[0] === n)![1]);

  // the answer file's settings, read from the root file system inside the image
  const cat = async (path: string) => (await run(['debugfs', '-R', `cat ${path}`, `${disk}?offset=${start('1') * 512}`])).stdout;
  assert.is((await cat('/etc/hostname')).trim(), HOSTNAME);
  assert.match(await cat('/etc/fstab'), new RegExp(`LABEL=root-${labels}\\s+/\\s+ext3`));
  assert.match(await cat('/etc/xensource-inventory'), new RegExp(`INSTALLATION_UUID='${result.installationUuid}'`));
  assert.match(await cat('/etc/shadow'), /^root:\$6\$xsforgetest\$/m);
  const pending = await run(['debugfs', '-R', 'stat /etc/firstboot.d/state/pending', `${disk}?offset=${start('1') * 512}`]);
  assert.match(pending.stdout, /Type: regular/);
  const label = (await run(['dumpe2fs', '-h', `${disk}?offset=${start('1') * 512}`])).stdout;
  assert.match(label, new RegExp(`Filesystem volume name:\\s+root-${labels}`));
  assert.match(label, /has_journal/); // ext3

  // sector 0 loads core.img from the BIOS-boot partition, whose block list covers the rest of it
  const boot = readBiosBoot(readSector(disk, 0), readSector(disk, start('4')));
  assert.is(boot.coreLba, start('4'));
  assert.is(boot.blockStart, start('4') + 1);
  assert.ok(boot.blockSectors > 10 && boot.blockSectors < 2048, `core.img block list: ${boot.blockSectors} sectors`);
  assert.is(boot.bootDrive, 0xff);
});

test.run();

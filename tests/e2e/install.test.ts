// Unattended install end to end: the built ISO plus an answer file served from
// loopback HTTP installs onto a blank sparse disk and powers off; then the disk
// alone boots Xen and dom0, first boot creates the SR, and the console shows the
// answer file's hostname at the login prompt. The disk's partition table is read
// back (sgdisk for GPT, sfdisk for DOS) and compared with the planner's layout.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '../../core/exec.ts';
import { withVm } from '../../testbed/qemu.ts';
import { planLayout, type Scheme } from '../../disk/layout.ts';
import { AnswerServer, NIC_ARGS, buildInstallIso, freshAnswer, sparseDisk } from '../lib/install-env.ts';

const HOSTNAME = 'xsf-e2e-host';
const ANSWER = freshAnswer(HOSTNAME);
const work = mkdtempSync(join(tmpdir(), 'xsf-install-'));
const server = new AnswerServer();
let iso = '';

test.before(async () => {
  await server.start();
  iso = await buildInstallIso(work, 'e2e-install');
});
test.after(() => {
  server.stop();
  rmSync(work, { recursive: true, force: true });
});

/** [number, first sector, last sector] of each partition on the disk image, by number. */
async function partitionsOnDisk(disk: string, scheme: Scheme): Promise<number[][]> {
  if (scheme === 'dos') {
    const dump = (await run(['sfdisk', '-d', disk])).stdout;
    assert.match(dump, /^label: dos$/m);
    return [...dump.matchAll(/^\S+?(\d+) : start=\s*(\d+), size=\s*(\d+)/gm)]
      .map((r) => [Number(r[1]), Number(r[2]), Number(r[2]) + Number(r[3]) - 1]).sort((a, b) => a[0] - b[0]);
  }
  const p = (await run(['sgdisk', '-p', disk])).stdout;
  return [...p.matchAll(/^\s+(\d+)\s+(\d+)\s+(\d+)\s/gm)].map((r) => [Number(r[1]), Number(r[2]), Number(r[3])]).sort((a, b) => a[0] - b[0]);
}

/**
 * rpm's view of the installed root (the partition at `firstSector`, `sectors`
 * long), read with the host's rpm. A loop device over just that byte range:
 * partition nodes (loopNpM) need udev, which containers often lack.
 */
async function installedRpmDatabase(disk: string, firstSector: number, sectors: number): Promise<{ all: string[]; whatprovides: string; xenLink: string }> {
  const loop = (await run(['losetup', '--find', '--show', '--offset', String(firstSector * 512), '--sizelimit', String(sectors * 512), disk])).stdout.trim();
  const mnt = mkdtempSync(join(work, 'root-'));
  try {
    await run(['mount', loop, mnt]);
    try {
      const q = async (...args: string[]) => (await run(['rpm', '--root', mnt, '--dbpath', '/var/lib/rpm', '--query', ...args])).stdout;
      return {
        all: (await q('--all', '--queryformat', '%{NAME}-%{VERSION}-%{RELEASE}\\n')).split('\n').filter(Boolean),
        whatprovides: await q('--whatprovides', 'product-version'),
        xenLink: readlinkSync(join(mnt, 'boot/xen.gz')),
      };
    } finally {
      await run(['umount', mnt]);
    }
  } finally {
    await run(['losetup', '--detach', loop]);
  }
}

interface InstallCase {
  firmware: 'bios' | 'uefi';
  variant: string;
  answer?: string;
  media?: string;
  scheme?: Scheme;
  diskBytes?: number;
  firstboot?: RegExp;
}

async function installAndBoot(c: InstallCase): Promise<void> {
  const { firmware, variant } = c;
  const scheme = c.scheme ?? 'gpt';
  const diskBytes = c.diskBytes ?? 60e9;
  server.served.set('/answer.xml', c.answer ?? ANSWER);
  const disk = join(work, `${variant}-disk.img`);
  sparseDisk(disk, diskBytes);
  let labels = '';
  const before = server.requests.length;
  await withVm({ media: c.media ?? iso, bootAs: 'cd', firmware, serialLog: join(work, `${variant}-install.log`), extraDisks: [{ path: disk, writable: true }], extraArgs: NIC_ARGS, memoryMiB: 2048 }, async (vm) => {
    const m = await vm.waitFor(new RegExp(`XSFORGE-INSTALL-PLAN disk=/dev/sda table=${scheme === 'dos' ? 'dos' : 'gpt'} boot=${firmware} labels=([a-z]{6})`), 600_000);
    labels = m[1];
    await vm.waitFor(/XSFORGE-INSTALL-COMPLETE/, 1_800_000);
    assert.is(await vm.waitExit(180_000), 0, 'atexit=poweroff ends QEMU');
  });
  assert.ok(server.requests.slice(before).includes('/answer.xml'), 'the installer fetched its answer file over HTTP');
  // the table on disk is the plan, sector for sector
  const plan = planLayout({ scheme, diskSectors: diskBytes / 512, sectorSize: 512, guestStorage: true, uefi: firmware === 'uefi', diskName: '/dev/sda' });
  const planned = plan.partitions.map((x) => [x.number, x.firstSector, x.lastSector]).sort((a, b) => a[0] - b[0]);
  assert.equal(await partitionsOnDisk(disk, scheme), planned);
  if (scheme === 'gpt') {
    assert.equal(planned.map((r) => r[0]), [1, 2, 3, 4, 5, 6]);
    const part4 = (await run(['sgdisk', '-i', '4', disk])).stdout;
    assert.match(part4, firmware === 'uefi' ? /C12A7328-F81F-11D2-BA4B-00A0C93EC93B/ : /21686148-6449-6E6F-744E-656564454649/);
  }
  // the product packages are in the installed root's rpm database
  const root = plan.partitions.find((p) => p.role === 'root')!;
  const rpmdb = await installedRpmDatabase(disk, root.firstSector, root.sectorCount);
  assert.match(rpmdb.whatprovides, /^xenserver-release-7\.1\.2-/m, 'rpm -q --whatprovides product-version');
  for (const name of ['xenserver-hypervisor', 'kernel', 'xenserver-release', 'xsforge-firstboot', 'dom0-base-debian']) {
    assert.ok(rpmdb.all.some((n) => n.startsWith(`${name}-`)), `${name} is installed (rpm -qa: ${rpmdb.all.join(' ')})`);
  }
  assert.match(rpmdb.xenLink, /^xen-4\.17\.\d+\.gz$/, '/boot/xen.gz is the hypervisor package\'s file');
  // now the disk alone: it boots the hypervisor compiled from source (our banner, our patch's line)
  await withVm({ media: disk, bootAs: 'disk', firmware, serialLog: join(work, `${variant}-firstboot.log`), mediaWritable: true, extraArgs: NIC_ARGS, memoryMiB: 2048 }, async (vm) => {
    await vm.waitFor(/\(XEN\) Xen version 4\.17\.\d+ \(xsforge [^)]*\) \(xsforge@xsforge\)/, 300_000);
    await vm.waitFor(/\(XEN\) Xen compiled by xsforge from the Debian source package/, 60_000);
    await vm.waitFor(c.firstboot ?? /XSFORGE-FIRSTBOOT-DONE sr=\S+ type=lvm mgmt=eth0 mode=dhcp/, 900_000);
    await vm.waitFor(new RegExp(`${HOSTNAME} login:`), 600_000);
    assert.match(vm.serialText(), new RegExp(`root=LABEL=root-${labels}`), 'dom0 boots the root the installer labelled');
  });
}

test('BIOS: unattended install onto a blank 60 GB disk, then the disk boots to login with the answer file hostname', async () => {
  await installAndBoot({ firmware: 'bios', variant: 'bios' });
});

test('UEFI: the same install with an EFI system partition and GRUB for x86_64-efi', async () => {
  await installAndBoot({ firmware: 'uefi', variant: 'uefi' });
});

// One install checks three things (a TCG install costs minutes): the DOS layout of
// disable-gpt on a 20 GiB disk, a static management IP, and an ext (thin) SR.
test('BIOS, disable-gpt, static IP, ext SR: a 20 GiB disk gets the DOS layout, boots, and first boot applies both', async () => {
  const answer = ANSWER
    .replace('srtype="lvm"', 'srtype="ext"')
    .replace('<admin-interface name="eth0" proto="dhcp"/>',
      '<admin-interface name="eth0" proto="static"><ip>10.0.2.15</ip><subnet-mask>255.255.255.0</subnet-mask><gateway>10.0.2.2</gateway></admin-interface>\n  <name-server>10.0.2.3</name-server>');
  assert.ok(answer.includes('proto="static"') && answer.includes('srtype="ext"'));
  const media = await buildInstallIso(work, 'e2e-install-dos', ['disable-gpt']);
  await installAndBoot({
    firmware: 'bios', variant: 'bios-dos-static-ext', media, answer, scheme: 'dos', diskBytes: 20 * 2 ** 30,
    firstboot: /XSFORGE-FIRSTBOOT-DONE sr=\S+ type=ext mgmt=eth0 mode=static/,
  });
});

test.run();

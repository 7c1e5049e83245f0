// Unattended install end to end (BIOS): the built ISO plus an answer file served
// from loopback HTTP installs onto a blank 60 GB sparse disk and powers off; then
// the disk alone boots Xen and dom0, first boot creates the SR, and the console
// shows the answer file's hostname at the login prompt. The disk's partition
// table is read back and compared with the plan the installer printed.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createServer, type Server } from 'node:http';
import { closeSync, mkdtempSync, openSync, ftruncateSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_RECIPE } from '../../cli/shared.ts';
import { run } from '../../core/exec.ts';
import { withVm } from '../../testbed/qemu.ts';
import { planLayout } from '../../disk/layout.ts';
import { buildRecipe } from '../lib/build.ts';

// fixed, so the ISO (whose menu names the URL) stays cached between runs
const PORT = 47811;
const HOSTNAME = 'xsf-e2e-host';
const work = mkdtempSync(join(tmpdir(), 'xsf-install-'));
const served = new Map<string, string>();
const fetched: string[] = [];
let server: Server;
let iso = '';

const ANSWER = `<?xml version="1.0"?>
<installation mode="fresh" srtype="lvm">
  <primary-disk guest-storage="yes">sda</primary-disk>
  <keymap>us</keymap>
  <root-password type="hash">$6$xsforgetest$Qf0fWnNf5a0d8kOZp7ZfK1m8y3mQk3mXGvK1xvA4GdPp0Kq4wqRkQqgk0eKmFQdW2l0w2bWZp4wQb6uT1eYxk.</root-password>
  <source type="local"/>
  <admin-interface name="eth0" proto="dhcp"/>
  <hostname>${HOSTNAME}</hostname>
  <timezone>Europe/London</timezone>
  <ntp-server>10.0.2.2</ntp-server>
</installation>
`;

test.before(async () => {
  server = createServer((req, res) => {
    fetched.push(req.url ?? '');
    const body = served.get(req.url ?? '');
    if (body === undefined) { res.writeHead(404).end(); return; }
    res.writeHead(200, { 'content-type': 'text/xml', 'content-length': Buffer.byteLength(body) }).end(body);
  });
  await new Promise<void>((r) => server.listen(PORT, '127.0.0.1', r));
  served.set('/answer.xml', ANSWER);
  const recipe = join(work, 'install.yaml');
  writeFileSync(recipe, `extends: ${DEFAULT_RECIPE}\nname: e2e-install\nboot:\n  timeout: 10\n  dom0:\n    extra: [install, "answerfile=http://10.0.2.2:${PORT}/answer.xml", atexit=poweroff]\n`);
  iso = (await buildRecipe(recipe, { output: join(work, 'out') })).iso;
});
test.after(() => {
  server?.close();
  rmSync(work, { recursive: true, force: true });
});

function sparseDisk(path: string, bytes: number): void {
  const fd = openSync(path, 'w');
  ftruncateSync(fd, bytes);
  closeSync(fd);
}

const NIC = ['-netdev', 'user,id=n0', '-device', 'virtio-net-pci,netdev=n0,mac=52:54:00:12:34:56'];

async function installAndBoot(firmware: 'bios' | 'uefi', variant = firmware as string, answer = ANSWER, firstboot = /XSFORGE-FIRSTBOOT-DONE sr=\S+ type=lvm mgmt=eth0 mode=dhcp/): Promise<void> {
  served.set('/answer.xml', answer);
  const disk = join(work, `${variant}-disk.img`);
  sparseDisk(disk, 60e9);
  let labels = '';
  const before = fetched.length;
  await withVm({ media: iso, bootAs: 'cd', firmware, serialLog: join(work, `${variant}-install.log`), extraDisks: [{ path: disk, writable: true }], extraArgs: NIC, memoryMiB: 2048 }, async (vm) => {
    const m = await vm.waitFor(new RegExp(`XSFORGE-INSTALL-PLAN disk=/dev/sda table=gpt boot=${firmware} labels=([a-z]{6})`), 600_000);
    labels = m[1];
    await vm.waitFor(/XSFORGE-INSTALL-COMPLETE/, 1_800_000);
    assert.is(await vm.waitExit(180_000), 0, 'atexit=poweroff ends QEMU');
  });
  assert.ok(fetched.slice(before).includes('/answer.xml'), 'the installer fetched its answer file over HTTP');
  // the table on disk is the plan, sector for sector
  const p = (await run(['sgdisk', '-p', disk])).stdout;
  const rows = [...p.matchAll(/^\s+(\d+)\s+(\d+)\s+(\d+)\s/gm)].map((r) => [Number(r[1]), Number(r[2]), Number(r[3])]);
  const plan = planLayout({ scheme: 'gpt', diskSectors: 60e9 / 512, sectorSize: 512, guestStorage: true, uefi: firmware === 'uefi', diskName: '/dev/sda' });
  const planned = plan.partitions.map((x) => [x.number, x.firstSector, x.lastSector]).sort((a, b) => a[0] - b[0]);
  assert.equal(rows.sort((a, b) => a[0] - b[0]), planned);
  assert.equal(planned.map((r) => r[0]), [1, 2, 3, 4, 5, 6]);
  const part4 = (await run(['sgdisk', '-i', '4', disk])).stdout;
  assert.match(part4, firmware === 'uefi' ? /C12A7328-F81F-11D2-BA4B-00A0C93EC93B/ : /21686148-6449-6E6F-744E-656564454649/);
  // now the disk alone
  await withVm({ media: disk, bootAs: 'disk', firmware, serialLog: join(work, `${variant}-firstboot.log`), mediaWritable: true, extraArgs: NIC, memoryMiB: 2048 }, async (vm) => {
    await vm.waitFor(/\(XEN\) Xen version 4\.17/, 300_000);
    await vm.waitFor(firstboot, 900_000);
    await vm.waitFor(new RegExp(`${HOSTNAME} login:`), 600_000);
    assert.match(vm.serialText(), new RegExp(`root=LABEL=root-${labels}`), 'dom0 boots the root the installer labelled');
  });
}

test('BIOS: unattended install onto a blank 60 GB disk, then the disk boots to login with the answer file hostname', async () => {
  await installAndBoot('bios');
});

test('UEFI: the same install with an EFI system partition and GRUB for x86_64-efi', async () => {
  await installAndBoot('uefi');
});

test('BIOS, static management IP and thin provisioning (ext SR): first boot applies both', async () => {
  const answer = ANSWER
    .replace('srtype="lvm"', 'srtype="ext"')
    .replace('<admin-interface name="eth0" proto="dhcp"/>',
      '<admin-interface name="eth0" proto="static"><ip>10.0.2.15</ip><subnet-mask>255.255.255.0</subnet-mask><gateway>10.0.2.2</gateway></admin-interface>\n  <name-server>10.0.2.3</name-server>');
  assert.ok(answer.includes('proto="static"') && answer.includes('srtype="ext"'));
  await installAndBoot('bios', 'bios-static-ext', answer, /XSFORGE-FIRSTBOOT-DONE sr=\S+ type=ext mgmt=eth0 mode=static/);
});

test.run();

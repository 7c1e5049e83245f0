// PXE installs end to end: `xsforge pxe` writes the tree for a two-host
// inventory; QEMU boots it over its own TFTP (BIOS, the host's MAC), the
// installer fetches its answer file, the dom0 image and the repository from
// `xsforge serve`'s server on loopback (10.0.2.2 in the guest), installs, powers
// off, and the disk boots to login with the inventory's hostname. BIOS (pxelinux)
// and UEFI (GRUB network image), one inventory host each.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startHttpServer, type AccessLogEntry, type RunningHttpServer } from '../../netboot/http-server.ts';
import { withVm, type Firmware } from '../../testbed/qemu.ts';
import { xsforge } from '../lib/build.ts';
import { TEST_ROOT_HASH, sparseDisk } from '../lib/install-env.ts';

const PORT = 47812;
const HOSTS = { bios: { mac: '52:54:00:e2:e0:11', hostname: 'xsf-pxe-bios' }, uefi: { mac: '52:54:00:e2:e0:12', hostname: 'xsf-pxe-uefi' } } as const;
const work = mkdtempSync(join(tmpdir(), 'xsf-pxe-install-'));
const access: AccessLogEntry[] = [];
let server: RunningHttpServer | undefined;

test.before(async () => {
  const inventory = join(work, 'hosts.yaml');
  writeFileSync(inventory, [
    'defaults:',
    '  primary_disk: sda',
    '  management: { mode: dhcp }',
    `  root_password: { hash: "${TEST_ROOT_HASH}" }`,
    '  dom0_args: [atexit=poweroff]',
    'hosts:',
    ...Object.values(HOSTS).flatMap((h) => [`  - mac: ${h.mac}`, `    hostname: ${h.hostname}`]),
    '',
  ].join('\n'));
  const r = await xsforge(['pxe', '--inventory', inventory, '--out', join(work, 'pxe'), '--base-url', `http://10.0.2.2:${PORT}`, '-q']);
  if (r.code !== 0) throw new Error(`xsforge pxe failed:\n${r.stderr.slice(-3000)}`);
  server = await startHttpServer({ root: join(work, 'pxe', 'http'), bind: '127.0.0.1', port: PORT, onAccess: (e) => { access.push(e); } });
});
test.after(async () => {
  await server?.close();
  rmSync(work, { recursive: true, force: true });
});

async function pxeInstall(firmware: Firmware): Promise<void> {
  const { mac, hostname } = HOSTS[firmware];
  const disk = join(work, `${firmware}-disk.img`);
  sparseDisk(disk, 60e9);
  const before = access.length;
  await withVm({
    firmware, serialLog: join(work, `${firmware}-install.log`), memoryMiB: 2048,
    netboot: { tftpRoot: join(work, 'pxe', 'tftp'), bootfile: firmware === 'uefi' ? 'EFI/xenserver/grubx64.efi' : 'pxelinux.0', hostAccess: true },
    extraDisks: [{ path: disk, writable: true }],
    extraArgs: ['-global', `e1000.mac=${mac}`],
  }, async (vm) => {
    await vm.waitFor(new RegExp(`XSFORGE-INSTALL-PLAN disk=/dev/sda table=gpt boot=${firmware}`), 600_000);
    await vm.waitFor(/Installation source verified: \d+ packages/, 600_000);
    await vm.waitFor(/XSFORGE-INSTALL-COMPLETE/, 1_200_000);
    assert.is(await vm.waitExit(180_000), 0, 'atexit=poweroff from the inventory');
  });
  const paths = access.slice(before).map((e) => `${e.status} ${e.path}`);
  for (const p of [`200 /answers/${mac}.xml`, '200 /dom0/root.json', '200 /dom0/root.tar.zst', '200 /repodata/repomd.xml']) {
    assert.ok(paths.includes(p), `${p} was served (got: ${paths.join(', ')})`);
  }
  assert.ok(paths.some((p) => /^200 \/Packages\/xenserver-release-.*\.rpm$/.test(p)), 'packages came over HTTP');
  await withVm({ media: disk, bootAs: 'disk', firmware, serialLog: join(work, `${firmware}-boot.log`), mediaWritable: true, memoryMiB: 2048, extraArgs: ['-netdev', 'user,id=n0', '-device', `virtio-net-pci,netdev=n0,mac=${mac}`] }, async (vm) => {
    await vm.waitFor(/\(XEN\) Xen version 4\.17/, 300_000);
    await vm.waitFor(new RegExp(`${hostname} login:`), 900_000);
  });
}

test('BIOS PXE: the inventory host installs from the HTTP repository and boots from disk to login', async () => {
  await pxeInstall('bios');
});

test('UEFI PXE (OVMF, GRUB $net_default_mac): the second host installs the same way and boots to login', async () => {
  await pxeInstall('uefi');
});

test.run();

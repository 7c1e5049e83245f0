// A PXE install end to end: `xsforge pxe` writes the tree for a one-host
// inventory; QEMU boots it over its own TFTP (BIOS, the host's MAC), the
// installer fetches its answer file, the dom0 image and the repository from
// `xsforge serve`'s server on loopback (10.0.2.2 in the guest), installs, powers
// off, and the disk boots to login with the inventory's hostname.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startHttpServer, type AccessLogEntry, type RunningHttpServer } from '../../netboot/http-server.ts';
import { withVm } from '../../testbed/qemu.ts';
import { xsforge } from '../lib/build.ts';
import { TEST_ROOT_HASH, sparseDisk } from '../lib/install-env.ts';

const PORT = 47812;
const MAC = '52:54:00:e2:e0:11';
const HOSTNAME = 'xsf-pxe-host';
const work = mkdtempSync(join(tmpdir(), 'xsf-pxe-install-'));
const access: AccessLogEntry[] = [];
let server: RunningHttpServer | undefined;

test.before(async () => {
  const inventory = join(work, 'hosts.yaml');
  writeFileSync(inventory, [
    'hosts:',
    `  - mac: ${MAC}`,
    `    hostname: ${HOSTNAME}`,
    '    primary_disk: sda',
    '    management: { mode: dhcp }',
    `    root_password: { hash: "${TEST_ROOT_HASH}" }`,
    '    dom0_args: [atexit=poweroff]',
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

test('BIOS PXE: the inventory host installs from the HTTP repository and boots from disk to login', async () => {
  const disk = join(work, 'disk.img');
  sparseDisk(disk, 60e9);
  await withVm({
    firmware: 'bios', serialLog: join(work, 'install.log'), memoryMiB: 2048,
    netboot: { tftpRoot: join(work, 'pxe', 'tftp'), bootfile: 'pxelinux.0', hostAccess: true },
    extraDisks: [{ path: disk, writable: true }],
    extraArgs: ['-global', `e1000.mac=${MAC}`],
  }, async (vm) => {
    await vm.waitFor(/XSFORGE-INSTALL-PLAN disk=\/dev\/sda table=gpt boot=bios/, 600_000);
    await vm.waitFor(/Installation source verified: \d+ packages/, 600_000);
    await vm.waitFor(/XSFORGE-INSTALL-COMPLETE/, 1_200_000);
    assert.is(await vm.waitExit(180_000), 0, 'atexit=poweroff from the inventory');
  });
  const paths = access.map((e) => `${e.status} ${e.path}`);
  for (const p of [`200 /answers/${MAC}.xml`, '200 /dom0/root.json', '200 /dom0/root.tar.zst', '200 /repodata/repomd.xml']) {
    assert.ok(paths.includes(p), `${p} was served (got: ${paths.join(', ')})`);
  }
  assert.ok(paths.some((p) => /^200 \/Packages\/xenserver-release-.*\.rpm$/.test(p)), 'packages came over HTTP');
  await withVm({ media: disk, bootAs: 'disk', firmware: 'bios', serialLog: join(work, 'boot.log'), mediaWritable: true, memoryMiB: 2048, extraArgs: ['-netdev', 'user,id=n0', '-device', `virtio-net-pci,netdev=n0,mac=${MAC}`] }, async (vm) => {
    await vm.waitFor(/\(XEN\) Xen version 4\.17/, 300_000);
    await vm.waitFor(new RegExp(`${HOSTNAME} login:`), 900_000);
  });
});

test.run();

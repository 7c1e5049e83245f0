// An RPM-based dom0 end to end: the test repository xsforge builds itself (busybox
// userland, initrd, product kernel/hypervisor/release RPMs) → dnf --installroot →
// dom0 root image on the ISO → unattended install → the disk boots Xen and the
// RPM dom0 to the login prompt with the answer file's hostname.
// test-lock: answer-port
// (tests/lib/install-env.ts ANSWER_PORT is fixed so the ISO stays cached: such files never overlap)
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from '../../cli/shared.ts';
import { withVm } from '../../testbed/qemu.ts';
import { AnswerServer, NIC_ARGS, buildInstallIso, freshAnswer, sparseDisk } from '../lib/install-env.ts';

const HOSTNAME = 'xsf-rpm-host';
const work = mkdtempSync(join(tmpdir(), 'xsf-rpmdom0-'));
const server = new AnswerServer();
let iso = '';

test.before(async () => {
  await server.start();
  const built = spawnSync(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'examples/rpm-dom0/build-repo.ts'), '--out', join(work, 'rpm-dom0-test')], { encoding: 'utf8', cwd: REPO_ROOT });
  if (built.status !== 0) throw new Error(`build-repo.ts failed:\n${built.stderr}`);
  iso = await buildInstallIso(work, 'e2e-rpm-dom0', [], {
    base: join(REPO_ROOT, 'examples/rpm-dom0/recipe.yaml'),
    yaml: 'dom0:\n  provider: rpm\n  repositories:\n    - { name: userland, path: rpm-dom0-test/repo }\n  groups: [xenserver_base, xenserver_dom0]\n',
  });
});
test.after(() => {
  server.stop();
  rmSync(work, { recursive: true, force: true });
});

test('BIOS: an RPM-assembled dom0 installs unattended and boots from disk to login', async () => {
  server.served.set('/answer.xml', freshAnswer(HOSTNAME));
  const disk = join(work, 'disk.img');
  sparseDisk(disk, 60e9);
  await withVm({ media: iso, bootAs: 'cd', firmware: 'bios', serialLog: join(work, 'install.log'), extraDisks: [{ path: disk, writable: true }], extraArgs: NIC_ARGS, memoryMiB: 2048 }, async (vm) => {
    await vm.waitFor(/XSFORGE-INSTALL-PLAN disk=\/dev\/sda table=gpt boot=bios/, 600_000);
    // the dom0 root came with the product packages (dnf installed them); the installer leaves them
    await vm.waitFor(/Already in the dom0 root: /, 900_000);
    await vm.waitFor(/XSFORGE-INSTALL-COMPLETE/, 900_000);
    assert.is(await vm.waitExit(180_000), 0);
  });
  await withVm({ media: disk, bootAs: 'disk', firmware: 'bios', serialLog: join(work, 'boot.log'), mediaWritable: true, extraArgs: NIC_ARGS, memoryMiB: 2048 }, async (vm) => {
    await vm.waitFor(/\(XEN\) Xen version 4\.17/, 300_000);
    await vm.waitFor(/xsforge-rpm-dom0: userland started/, 300_000);
    await vm.waitFor(new RegExp(`${HOSTNAME} login:`), 300_000);
  });
});

test.run();

// The interactive installer over QEMU's serial console, in one VM boot (each costs
// minutes): the ISO's default entry has no answer file, so the text UI comes up;
// the test waits for each screen and types keys, pexpect-style. It walks to the
// confirm screen and checks from the host that the target disk still has no
// allocated block; backs out with Esc to an earlier screen (nothing touched);
// walks forward again and installs; the installed disk then boots to
// `<hostname> login:` with the hostname typed on the Hostname screen.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from '../../cli/shared.ts';
import { withVm } from '../../testbed/qemu.ts';
import { buildRecipe } from '../lib/build.ts';
import { expectScreen, type } from '../lib/expect.ts';
import { NIC_ARGS, sparseDisk } from '../lib/install-env.ts';

const HOSTNAME = 'xsf-tui-host';
const PASSWORD = 'xsf-Tui-Root-1';
const work = mkdtempSync(join(tmpdir(), 'xsf-tui-e2e-'));
const timings: string[] = [];
let iso = '';

test.before(async () => {
  const t0 = Date.now();
  const recipe = join(work, 'tui.yaml');
  // the default entry without answerfile=: interactive; atexit=poweroff so QEMU ends after "Installation Complete"
  writeFileSync(recipe, `extends: ${join(REPO_ROOT, 'recipes', 'test-mini.yaml')}\nname: e2e-tui\nboot:\n  timeout: 10\n  dom0:\n    extra: [atexit=poweroff]\n`);
  iso = (await buildRecipe(recipe, { output: join(work, 'out') })).iso;
  timings.push(`ISO build ${((Date.now() - t0) / 1000).toFixed(0)} s`);
});
test.after(() => {
  console.log(`interactive-install.test timings: ${timings.join(', ')}`);
  rmSync(work, { recursive: true, force: true });
});

/** 512-byte blocks the file really has on the host's file system (a sparse blank disk has 0). */
function allocatedBlocks(path: string): number {
  return statSync(path).blocks;
}

test('interactive install over the serial console: back out of confirm untouched, then install and boot to login', async () => {
  const disk = join(work, 'disk.img');
  sparseDisk(disk, 60e9);
  assert.is(allocatedBlocks(disk), 0);
  let t0 = Date.now();
  await withVm({
    media: iso, bootAs: 'cd', serialLog: join(work, 'install.log'), serialInput: true,
    extraDisks: [{ path: disk, writable: true }], extraArgs: NIC_ARGS, memoryMiB: 2048,
  }, async (vm) => {
    const read = () => vm.serialText();
    const send = (t: string) => vm.send(t);
    let since = 0;
    const step = async (screen: RegExp, keys: string | string[], timeoutMs = 30_000) => {
      since = (await expectScreen(read, screen, timeoutMs, { since })).offset;
      await type(send, keys);
    };
    await vm.waitFor(/XSFORGE-INTERACTIVE consoles=hvc0/, 600_000);
    timings.push(`boot to the UI ${((Date.now() - t0) / 1000).toFixed(0)} s`);
    await step(/Select Keymap/, '{enter}', 60_000);
    await step(/Welcome to XenServer Setup/, '{enter}');
    // the licence is the recipe's EULA, carried inside install.img
    await step(/End User License Agreement[\s\S]*produced by xsforge/, '{enter}');
    // one disk and one NIC: the disk and NIC choice screens are passed
    await step(/Virtual Machine Storage[\s\S]*Enable thin provisioning/, '{enter}');
    await step(/Select Installation Source[\s\S]*Local media/, '{enter}');
    await step(/Verify Installation Source/, '2{enter}');
    await step(/Verification Successful/, '{enter}', 300_000);
    await step(/Set Password/, `${PASSWORD}{tab}${PASSWORD}{enter}`);
    await step(/Configuration for eth0/, '{enter}');
    await step(/Hostname and DNS/, `2{tab}${HOSTNAME}{enter}`);
    await step(/geographical area[\s\S]*Europe/, 'Europe{enter}');
    await step(/city or area/, 'London{enter}');
    await step(/System Time/, '{enter}');
    // confirm: the plan is the runtime's (formatInstallPlan), and nothing is written yet
    since = (await expectScreen(read, /NTP Configuration/, 30_000, { since })).offset;
    await type(send, '{enter}');
    let m = await expectScreen(read, /Confirm Installation[\s\S]*\/dev\/sda[\s\S]*Install/, 60_000, { since });
    since = m.offset;
    assert.match(m.screen, /Are you sure you want to continue\?/);
    assert.is(allocatedBlocks(disk), 0, 'the confirm screen has not touched the target disk');
    // Esc: back to the NTP screen; nothing written
    await type(send, '{esc}');
    m = await expectScreen(read, /NTP Configuration/, 30_000, { since });
    since = m.offset;
    await new Promise((r) => setTimeout(r, 2000));
    assert.is(allocatedBlocks(disk), 0, 'backing out of confirm leaves the disk untouched');
    // forward again, and install
    await type(send, '{enter}');
    since = (await expectScreen(read, /Confirm Installation[\s\S]*Are you sure/, 60_000, { since })).offset;
    await type(send, '{enter}');
    since = (await expectScreen(read, /Installing XenServer/, 60_000, { since })).offset;
    const installStart = Date.now();
    m = await expectScreen(read, /Installation Complete|An unrecoverable error has occurred/, 1_800_000, { since });
    assert.match(m.screen, /Installation Complete/, m.screen);
    since = m.offset;
    timings.push(`install ${((Date.now() - installStart) / 1000).toFixed(0)} s`);
    assert.ok(allocatedBlocks(disk) > 0, 'the install wrote the disk');
    await type(send, '{enter}');
    await vm.waitFor(/XSFORGE-INSTALLER-EXIT action=poweroff/, 120_000);
    assert.is(await vm.waitExit(180_000), 0, 'atexit=poweroff ends QEMU');
  });
  t0 = Date.now();
  await withVm({ media: disk, bootAs: 'disk', serialLog: join(work, 'firstboot.log'), mediaWritable: true, extraArgs: NIC_ARGS, memoryMiB: 2048 }, async (vm) => {
    await vm.waitFor(new RegExp(`${HOSTNAME} login:`), 1_200_000);
  });
  timings.push(`boot to login ${((Date.now() - t0) / 1000).toFixed(0)} s`);
});

test.run();

// installer/runtime/main.ts with no answer file on a real terminal: a pseudo-terminal
// (python3's pty module, relaying bytes both ways) stands in for hvc0 under a
// made-up /dev and /sys. The interactive installer comes up on it, reads keys from
// it in raw mode, shows the runtime's plan on the confirm screen, backs out with
// Esc, and Reboot on the welcome screen ends the runtime with the exit action.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from '../../cli/shared.ts';
import { currentScreenText, expectScreen, type } from '../lib/expect.ts';
import { runOnPty } from '../lib/pty-runtime.ts';

const work = mkdtempSync(join(tmpdir(), 'xsf-tui-rt-'));
test.after(() => rmSync(work, { recursive: true, force: true }));

function fakeSys(root: string): void {
  const w = (p: string, s: string) => {
    mkdirSync(join(root, p, '..'), { recursive: true });
    writeFileSync(join(root, p), s + '\n');
  };
  w('block/sda/size', String(60e9 / 512));
  w('block/sda/device/model', 'QEMU HARDDISK');
  w('class/net/eth0/address', '52:54:00:12:34:56');
  w('class/net/eth0/operstate', 'up');
  // a NIC needs a device link to count as physical
  mkdirSync(join(root, 'devices/pci0000:00/0000:00:03.0'), { recursive: true });
  symlinkSync('../../../devices/pci0000:00/0000:00:03.0', join(root, 'class/net/eth0/device'));
}

test('no answer file: the interactive installer runs on the console tty, backs out of confirm, Reboot exits', async () => {
  const sys = join(work, 'sys');
  const dev = join(work, 'dev');
  fakeSys(sys);
  mkdirSync(dev);
  const product = join(work, 'product.json');
  writeFileSync(product, JSON.stringify({ brand: 'XenServer', version: '7.1.2', build_number: '137272c', platform: { name: 'XCP', version: '2.2.0' } }));
  const atexit = join(work, 'run', 'atexit');
  mkdirSync(join(work, 'run'));
  const runtime = [process.execPath, '--import', 'tsx', join(REPO_ROOT, 'installer/runtime/main.ts'),
    '--cmdline', 'console=hvc0 atexit=shell', '--sys-root', sys, '--dev-root', dev, '--product', product, '--atexit-file', atexit,
    '--log-file', join(work, 'run', 'install-log'), '--work-dir', join(work, 'w'), '--target-root', join(work, 'root')];
  const rt = runOnPty(join(dev, 'hvc0'), runtime, { cwd: REPO_ROOT });
  const read = rt.read;
  const send = rt.send;
  try {
    let since = 0;
    const step = async (screen: RegExp, keys: string) => {
      since = (await expectScreen(read, screen, 15_000, { since })).offset;
      await type(send, keys);
    };
    await step(/Select Keymap/, '{enter}');
    await step(/Welcome to XenServer Setup/, '{enter}');
    await step(/End User License Agreement/, '{enter}');
    await step(/Virtual Machine Storage/, '{enter}');
    await step(/Select Installation Source/, '{enter}');
    await step(/Verify Installation Source/, '{enter}');
    await step(/Set Password/, 'secret1{tab}secret1{enter}');
    await step(/Configuration for eth0/, '{enter}');
    await step(/Hostname and DNS/, '2{tab}tui-rt{enter}');
    await step(/geographical area[\s\S]*Europe/, 'Europe{enter}');
    await step(/city or area/, 'London{enter}');
    await step(/System Time/, '{enter}');
    await step(/NTP Configuration/, '{enter}');
    // the plan is the runtime's planner on the made-up 60 GB disk
    const confirm = await expectScreen(read, /Confirm Installation[\s\S]*Are you sure/, 15_000, { since });
    assert.match(confirm.screen, /\/dev\/sda/);
    assert.match(confirm.screen, /gpt|GPT/);
    since = confirm.offset;
    // Esc goes back one screen at a time, to the welcome screen
    for (let i = 0; i < 20 && !/Welcome to XenServer Setup/.test(currentScreenText(read())); i++) {
      const before = currentScreenText(read());
      await type(send, '{esc}');
      const end = Date.now() + 5000;
      while (currentScreenText(read()) === before && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
      if (i === 0) assert.match(currentScreenText(read()), /NTP Configuration/, 'Esc on confirm goes back to the NTP screen');
    }
    await step(/Welcome to XenServer Setup/, '{tab}{tab}{enter}'); // Reboot
    assert.is(await rt.exited(15_000), 0, rt.stderr());
  } finally {
    rt.kill();
  }
  assert.match(read(), /XSFORGE-INTERACTIVE consoles=hvc0/);
  assert.match(read(), /XSFORGE-INTERACTIVE cancelled reason=reboot; no disk has been changed\./);
  assert.match(read(), /XSFORGE-INSTALLER-EXIT action=shell/);
  assert.is(readFileSync(atexit, 'utf8').trim(), 'shell');
});

test.run();

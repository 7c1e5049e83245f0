// Really boots tiny media in QEMU (TCG): BIOS CD, the hybrid ISO as a USB stick,
// UEFI CD via GRUB, PXE over QEMU's TFTP, plus the failure paths (timeout, QEMU
// dying at start) and the `xsforge vm` command.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Command } from '@commander-js/extra-typings';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { run } from '../../core/exec.ts';
import { ToolError } from '../../core/errors.ts';
import { VmError, startVm, withVm } from '../../testbed/qemu.ts';
import { register } from '../../cli/commands/vm.ts';

const SYSLINUX_BIOS = '/usr/lib/syslinux/modules/bios';
const BIOS_MARKER = 'XSF-BIOS-MARKER-4711';
const UEFI_MARKER = 'XSF-UEFI-MARKER-0815';
const PXE_MARKER = 'XSF-PXE-MARKER-2342';
const BOOT_TIMEOUT = 30_000;

let work = '';
let iso = '';
let tftpRoot = '';
const timings: string[] = [];

// ISOLINUX 6.04 prints SAY lines while parsing the config, before its serial
// console is attached, so they reach only the VGA screen. The menu (menu.c32)
// is drawn on the serial console, so the marker that tests see is the menu title.
function syslinuxConfig(marker: string): string {
  return [
    'SERIAL 0 115200',
    `SAY ${marker}`,
    'UI menu.c32',
    `MENU TITLE ${marker}`,
    'TIMEOUT 5',
    'DEFAULT off',
    'LABEL off',
    '  MENU LABEL Power off',
    '  COM32 poweroff.c32',
    '',
  ].join('\n');
}

const SYSLINUX_MODULES = ['ldlinux.c32', 'menu.c32', 'poweroff.c32', 'libcom32.c32', 'libutil.c32'];

/** One hybrid ISO like the product's: ISOLINUX for BIOS (CD and USB), GRUB in an El Torito EFI image for UEFI. */
async function makeHybridIso(): Promise<string> {
  const tree = join(work, 'iso');
  mkdirSync(join(tree, 'isolinux'), { recursive: true });
  copyFileSync('/usr/lib/ISOLINUX/isolinux.bin', join(tree, 'isolinux', 'isolinux.bin'));
  for (const m of SYSLINUX_MODULES) copyFileSync(join(SYSLINUX_BIOS, m), join(tree, 'isolinux', m));
  writeFileSync(join(tree, 'isolinux', 'isolinux.cfg'), syslinuxConfig(BIOS_MARKER));

  const grubCfg = join(work, 'grub-embedded.cfg');
  writeFileSync(grubCfg, ['serial --unit=0 --speed=115200', 'terminal_output serial', `echo ${UEFI_MARKER}`, 'halt', ''].join('\n'));
  const efi = join(work, 'BOOTX64.EFI');
  await run(['grub-mkimage', '-O', 'x86_64-efi', '-p', '/EFI/BOOT', '-o', efi, '-c', grubCfg, 'serial', 'terminal', 'echo', 'halt', 'normal']);
  const efiImg = join(tree, 'efiboot.img');
  await run(['mkfs.vfat', '-C', efiImg, '2048']);
  await run(['mmd', '-i', efiImg, '::/EFI', '::/EFI/BOOT']);
  await run(['mcopy', '-i', efiImg, efi, '::/EFI/BOOT/BOOTX64.EFI']);

  const out = join(work, 'test.iso');
  await run(['xorriso', '-as', 'mkisofs', '-quiet', '-o', out, '-V', 'XSFTEST',
    '-isohybrid-mbr', '/usr/lib/ISOLINUX/isohdpfx.bin',
    '-b', 'isolinux/isolinux.bin', '-c', 'isolinux/boot.cat', '-no-emul-boot', '-boot-load-size', '4', '-boot-info-table',
    '-eltorito-alt-boot', '-e', 'efiboot.img', '-no-emul-boot', '-isohybrid-gpt-basdat',
    tree]);
  return out;
}

function makePxeTree(): string {
  const root = join(work, 'tftp');
  mkdirSync(join(root, 'pxelinux.cfg'), { recursive: true });
  copyFileSync('/usr/lib/PXELINUX/pxelinux.0', join(root, 'pxelinux.0'));
  for (const m of SYSLINUX_MODULES) copyFileSync(join(SYSLINUX_BIOS, m), join(root, m));
  writeFileSync(join(root, 'pxelinux.cfg', 'default'), syslinuxConfig(PXE_MARKER));
  return root;
}

function sha256(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

/** A killed process counts as gone once it is dead, even before its parent reaps it (zombie). */
function isRunning(pid: number): boolean {
  try {
    const state = readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /s, '')[0];
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

/** SIGKILL lands asynchronously; allow the kernel a moment before judging. */
async function isGoneSoon(pid: number): Promise<boolean> {
  for (let i = 0; i < 40 && isRunning(pid); i++) await new Promise((r) => setTimeout(r, 50));
  return !isRunning(pid);
}

async function timed<T>(name: string, fn: () => Promise<T>): Promise<T> {
  const t0 = Date.now();
  try {
    return await fn();
  } finally {
    timings.push(`${name}: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  }
}

test.before(async () => {
  work = mkdtempSync(join(tmpdir(), 'xsforge-testbed-'));
  iso = await timed('make ISO', makeHybridIso);
  tftpRoot = makePxeTree();
});

test.after(() => {
  rmSync(work, { recursive: true, force: true });
  process.stdout.write(`testbed timings: ${timings.join(', ')}\n`);
});

test('BIOS CD: the serial console is captured and QEMU exits by itself on poweroff', async () => {
  const before = sha256(iso);
  await timed('bios cd', () => withVm({ media: iso, bootAs: 'cd', firmware: 'bios', memoryMiB: 256, serialLog: join(work, 'bios-cd.log') }, async (vm) => {
    const m = await vm.waitFor(new RegExp(BIOS_MARKER), BOOT_TIMEOUT);
    assert.is(m[0], BIOS_MARKER);
    assert.ok(m.index > 0 && vm.serialText().slice(m.index).startsWith(BIOS_MARKER), 'match index points into serialText()');
    assert.is(await vm.waitExit(BOOT_TIMEOUT), 0);
    assert.ok(vm.exited);
    assert.match(readFileSync(join(work, 'bios-cd.log'), 'latin1'), /ISOLINUX 6\.\d+/);
  }));
  assert.is(sha256(iso), before, 'the ISO is not modified by booting it');
});

test('USB: the hybrid ISO boots as a usb-storage stick (isohybrid MBR)', async () => {
  await timed('bios usb', () => withVm({ media: iso, bootAs: 'usb', firmware: 'bios', memoryMiB: 256, serialLog: join(work, 'usb.log') }, async (vm) => {
    assert.ok(vm.argv.some((a) => a.startsWith('usb-storage,')));
    await vm.waitFor(new RegExp(BIOS_MARKER), BOOT_TIMEOUT);
    assert.is(await vm.waitExit(BOOT_TIMEOUT), 0);
  }));
});

test('UEFI CD: OVMF boots GRUB from the El Torito EFI image; halt powers off', async () => {
  await timed('uefi cd', () => withVm({ media: iso, bootAs: 'cd', firmware: 'uefi', memoryMiB: 256, serialLog: join(work, 'uefi.log') }, async (vm) => {
    assert.ok(vm.argv.some((a) => a.startsWith('if=pflash')));
    await vm.waitFor(new RegExp(UEFI_MARKER), BOOT_TIMEOUT);
    assert.not.match(vm.serialText(), BIOS_MARKER, 'the BIOS path did not run');
    assert.is(await vm.waitExit(BOOT_TIMEOUT), 0);
  }));
});

test('netboot: PXE from QEMU\'s TFTP server loads pxelinux and its menu', async () => {
  await timed('bios pxe', () => withVm({ netboot: { tftpRoot, bootfile: 'pxelinux.0' }, firmware: 'bios', memoryMiB: 256, serialLog: join(work, 'pxe.log') }, async (vm) => {
    const m = await vm.waitFor(/PXELINUX 6\.\d+/, BOOT_TIMEOUT);
    await vm.waitFor(new RegExp(PXE_MARKER), BOOT_TIMEOUT, { from: m.index + m[0].length });
    assert.is(await vm.waitExit(BOOT_TIMEOUT), 0);
  }));
});

test('timeout: rejects with the serial tail and argv, and withVm leaves no QEMU behind', async () => {
  let pid = 0;
  const err = await timed('timeout', () => withVm({ media: iso, bootAs: 'cd', memoryMiB: 256, serialLog: join(work, 'timeout.log'), extraArgs: ['-no-shutdown'] }, async (vm) => {
    pid = vm.pid;
    // Wait until the menu is up so the tail has something to show, then for text that never comes.
    await vm.waitFor(new RegExp(BIOS_MARKER), BOOT_TIMEOUT);
    await vm.waitFor(/NEVER-PRINTED-9999/, 1500);
  }).then(() => undefined, (e: unknown) => e));
  assert.instance(err, VmError);
  const vmErr = err as VmError;
  assert.is(vmErr.reason, 'timeout');
  assert.match(vmErr.message, /timed out waiting for \/NEVER-PRINTED-9999\//);
  assert.match(vmErr.message, /ISOLINUX 6\.\d+/, 'serial tail in the message');
  assert.match(vmErr.message, BIOS_MARKER);
  assert.match(vmErr.message, /qemu: qemu-system-x86_64 .*-no-shutdown/);
  assert.not.match(vmErr.message, /\x1b/, 'no terminal escapes in the message');
  assert.ok(pid > 0);
  assert.not.ok(isRunning(pid), `QEMU pid ${pid} is gone`);
});

test('a silent console fails the wait as stalled, before its timeout; withVm boots once more and keeps the first log', async () => {
  const log = join(work, 'stall.log');
  let boots = 0;
  const t0 = Date.now();
  const err = await timed('stall', () => withVm({ media: iso, bootAs: 'cd', memoryMiB: 256, serialLog: log, extraArgs: ['-no-shutdown'], stallMs: 2000 }, async (vm) => {
    boots++;
    await vm.waitFor(new RegExp(BIOS_MARKER), BOOT_TIMEOUT);
    // the guest has powered off (QEMU kept alive by -no-shutdown): nothing more comes
    await vm.waitFor(/NEVER-PRINTED-9999/, 120_000);
  }).then(() => undefined, (e: unknown) => e));
  assert.instance(err, VmError);
  assert.is((err as VmError).reason, 'stalled');
  assert.match((err as VmError).message, /silent for 2\.0 s while waiting for \/NEVER-PRINTED-9999\//);
  assert.is(boots, 2, 'booted once more after the first stall');
  assert.ok(Date.now() - t0 < 100_000, 'the stall ended the waits, not the 120 s timeout');
  assert.match(readFileSync(`${log}.first-try`, 'latin1'), new RegExp(BIOS_MARKER), 'the first boot\'s log is kept');
  // retryFlakyBoot: false keeps a stall as the answer
  boots = 0;
  const once = await withVm({ media: iso, bootAs: 'cd', memoryMiB: 256, serialLog: join(work, 'stall-once.log'), extraArgs: ['-no-shutdown'], stallMs: 2000, retryFlakyBoot: false }, async (vm) => {
    boots++;
    await vm.waitFor(new RegExp(BIOS_MARKER), BOOT_TIMEOUT);
    await vm.waitFor(/NEVER-PRINTED-9999/, 120_000);
  }).then(() => undefined, (e: unknown) => e);
  assert.is((once as VmError).reason, 'stalled');
  assert.is(boots, 1);
});

test('QEMU failing at start: waitFor rejects at once with QEMU\'s own message', async () => {
  const t0 = Date.now();
  const vm = await startVm({ media: iso, serialLog: join(work, 'bad.log'), extraArgs: ['-device', 'no-such-device-xyz'] });
  try {
    const err = await vm.waitFor(/anything/, BOOT_TIMEOUT).then(() => undefined, (e: unknown) => e);
    assert.instance(err, VmError);
    assert.is((err as VmError).reason, 'exited');
    assert.match((err as VmError).message, /no-such-device-xyz/);
    assert.ok(Date.now() - t0 < 10_000, 'did not wait for the timeout');
    assert.is.not(await vm.waitExit(1000), 0);
  } finally {
    await vm.kill();
  }
});

test('a process that ends without kill() (exit or SIGTERM) takes its QEMU with it', async () => {
  const script = join(work, 'stray.mts');
  writeFileSync(script, [
    `import { startVm } from ${JSON.stringify(join(process.cwd(), 'testbed', 'qemu.ts'))};`,
    `const vm = await startVm({ media: ${JSON.stringify(iso)}, memoryMiB: 256, serialLog: ${JSON.stringify(join(work, 'stray.log'))}, extraArgs: ['-no-shutdown'] });`,
    'process.stdout.write(String(vm.pid) + "\\n");',
    'await vm.waitFor(/ISOLINUX/, 30000);',
    'if (process.argv[2] === "signal") process.kill(process.pid, "SIGTERM"); else process.exit(0);',
    'await new Promise((r) => setTimeout(r, 60000));',
  ].join('\n'));
  const byExit = await run([process.execPath, '--import', 'tsx', script, 'exit']);
  const exitPid = Number(byExit.stdout.trim());
  assert.ok(exitPid > 0);
  assert.ok(await isGoneSoon(exitPid), 'QEMU killed by the exit hook');

  const bySignal = await run([process.execPath, '--import', 'tsx', script, 'signal']).then(() => undefined, (e: unknown) => e);
  assert.match(String((bySignal as Error)?.message), /killed by SIGTERM/, 'the signal was re-raised after cleanup');
  const signalPid = Number(/^(\d+)$/m.exec((bySignal as ToolError).outputTail)?.[1]);
  assert.ok(signalPid > 0);
  assert.ok(await isGoneSoon(signalPid), 'QEMU killed by the signal hook');
});

/** A BIOS ISO whose ISOLINUX waits at `boot:` forever; only the typed label powers the VM off. */
async function makePromptIso(): Promise<string> {
  const tree = join(work, 'prompt-iso');
  mkdirSync(join(tree, 'isolinux'), { recursive: true });
  copyFileSync('/usr/lib/ISOLINUX/isolinux.bin', join(tree, 'isolinux', 'isolinux.bin'));
  for (const m of SYSLINUX_MODULES) copyFileSync(join(SYSLINUX_BIOS, m), join(tree, 'isolinux', m));
  writeFileSync(join(tree, 'isolinux', 'isolinux.cfg'), [
    'SERIAL 0 115200', 'PROMPT 1', 'TIMEOUT 0', 'DEFAULT not-this-one',
    'LABEL xsf-typed-label-31337', '  COM32 poweroff.c32', '',
  ].join('\n'));
  const out = join(work, 'prompt.iso');
  await run(['xorriso', '-as', 'mkisofs', '-quiet', '-o', out, '-V', 'XSFPROMPT',
    '-b', 'isolinux/isolinux.bin', '-c', 'isolinux/boot.cat', '-no-emul-boot', '-boot-load-size', '4', '-boot-info-table', tree]);
  return out;
}

test('serial input: send() types at ISOLINUX\'s boot: prompt, the typed label powers off, the log keeps both sides', async () => {
  const prompt = await makePromptIso();
  const log = join(work, 'typed.log');
  await timed('serial input', () => withVm({ media: prompt, bootAs: 'cd', memoryMiB: 256, serialLog: log, serialInput: true }, async (vm) => {
    assert.ok(vm.argv.some((a) => a.startsWith('stdio,id=com1,signal=off,logfile=')));
    const m = await vm.waitFor(/boot: /, BOOT_TIMEOUT);
    // nothing happens until something is typed: TIMEOUT 0 waits for ever
    await new Promise((r) => setTimeout(r, 1500));
    assert.not.ok(vm.exited, 'ISOLINUX waits at the prompt');
    await vm.sendLine('xsf-typed-label-31337');
    // ISOLINUX echoes what it reads, so the typed text is on the console (and in the log file)
    await vm.waitFor(/xsf-typed-label-31337/, BOOT_TIMEOUT, { from: m.index });
    assert.is(await vm.waitExit(BOOT_TIMEOUT), 0, 'poweroff.c32 ran: the label was typed correctly');
  }));
  assert.match(readFileSync(log, 'latin1'), /ISOLINUX 6\.\d+[\s\S]*boot: xsf-typed-label-31337/, 'the log file is complete from power-on');
  const plain = await startVm({ media: prompt, memoryMiB: 256, serialLog: join(work, 'no-input.log') });
  try {
    const err = await plain.send('x').then(() => undefined, (e: unknown) => e);
    assert.match(String((err as Error)?.message), /takes no serial input/);
  } finally {
    await plain.kill();
  }
});

/** Runs `xsforge vm ...` in-process, capturing what it writes to stdout. */
async function runVmCommand(args: string[]): Promise<{ stdout: string; exitCode: number | undefined }> {
  const program = new Command('xsforge').exitOverride();
  register(program);
  const chunks: string[] = [];
  const realWrite = process.stdout.write;
  const savedExitCode = process.exitCode;
  process.exitCode = undefined;
  process.stdout.write = ((chunk: string | Uint8Array) => {
    chunks.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('latin1'));
    return true;
  }) as typeof process.stdout.write;
  try {
    await program.parseAsync(['node', 'xsforge', 'vm', ...args]);
    return { stdout: chunks.join(''), exitCode: typeof process.exitCode === 'number' ? process.exitCode : undefined };
  } finally {
    process.stdout.write = realWrite;
    process.exitCode = savedExitCode;
  }
}

test('xsforge vm: streams the console and stops at --wait; --json summarises; times out with an error', async () => {
  const streamed = await timed('cli wait', () => runVmCommand([iso, '--memory', '256', '--wait', BIOS_MARKER, '--timeout', '30']));
  assert.match(streamed.stdout, /ISOLINUX 6\.\d+/);
  assert.match(streamed.stdout, BIOS_MARKER);
  assert.is(streamed.exitCode, undefined);

  const json = await timed('cli json exit', () => runVmCommand([iso, '--as', 'usb', '--memory', '256', '--timeout', '30', '--json']));
  const summary = JSON.parse(json.stdout);
  assert.is(summary.result, 'exited');
  assert.is(summary.exitStatus, 0);
  assert.is(summary.accel, 'tcg');
  assert.ok(summary.argv.includes('-nodefaults'));

  const err = await timed('cli timeout', () => runVmCommand([iso, '--uefi', '--memory', '256', '--wait', 'NEVER-PRINTED', '--timeout', '1']).then(() => undefined, (e: unknown) => e));
  assert.match(String((err as Error)?.message), /timed out after 1 s waiting for \/NEVER-PRINTED\//);
});

test.run();

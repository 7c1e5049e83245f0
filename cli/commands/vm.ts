// `xsforge vm`: boot an ISO or disk image in QEMU (the testbed) and stream its
// serial console, optionally stopping once some text appears.
import { Command, InvalidArgumentError, Option } from '@commander-js/extra-typings';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { XsforgeError } from '../../core/errors.ts';
import { VmError, withVm, type VmOptions } from '../../testbed/qemu.ts';

function positiveInt(what: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError(`${what} must be a positive whole number`);
    return n;
  };
}

function positiveSeconds(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('seconds must be a positive number');
  return n;
}

function regex(value: string): RegExp {
  try {
    return new RegExp(value);
  } catch (err) {
    throw new InvalidArgumentError(`not a regular expression: ${(err as Error).message}`);
  }
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

export interface VmRunSummary {
  result: 'matched' | 'exited' | 'timeout';
  /** QEMU's exit status when it exited by itself */
  exitStatus?: number;
  match?: string;
  /** QEMU exited before the --wait pattern appeared */
  waitFailed?: boolean;
  seconds: number;
  accel: string;
  /** what QEMU itself printed, when it exited with a nonzero status */
  qemuOutput?: string;
  serialLog?: string;
  argv: string[];
}

export function register(program: Command): void {
  program
    .command('vm')
    .summary('boot media in QEMU and stream its serial console')
    .description(
      'Boot an ISO or disk image in QEMU (software emulation unless --kvm) and copy the guest\'s ' +
      'serial console (COM1, 115200) to stdout. Ends when QEMU exits (status: QEMU\'s), when the ' +
      '--wait pattern appears (QEMU is then killed; status 0), or on --timeout (status 1). ' +
      'The media file is never modified: CDs and USB sticks are read-only, disks are snapshots.')
    .argument('[media]', 'ISO or raw disk image to boot (optional with --tftp)')
    .addOption(new Option('--as <kind>', 'attach the media as a CD, a USB stick (hybrid ISO) or a hard disk').choices(['cd', 'usb', 'disk'] as const).default('cd' as const))
    .option('--uefi', 'boot with OVMF (UEFI) instead of SeaBIOS')
    .option('--memory <MiB>', 'guest memory', positiveInt('memory'), 2048)
    .option('--cpus <n>', 'guest CPUs', positiveInt('cpus'), 2)
    .option('--kvm', 'use KVM when /dev/kvm opens (default: TCG software emulation)')
    .option('--disk <image>', 'add a raw hard disk (repeatable); guest writes are discarded unless --writable-disks', collect, [] as string[])
    .option('--writable-disks', 'let the guest write to the --disk images')
    .option('--tftp <dir>', 'network boot first: serve this directory by TFTP (needs --bootfile)')
    .option('--bootfile <file>', 'boot file offered by DHCP, relative to --tftp (pxelinux.0, bootx64.efi)')
    .option('--serial-log <file>', 'keep the serial console in this file (default: a temporary file, removed)')
    .option('--wait <regex>', 'stop once this pattern appears on the serial console, and kill QEMU', regex)
    .option('--timeout <sec>', 'give up after this many seconds (exit status 1)', positiveSeconds)
    .option('--json', 'print a JSON summary instead of streaming the console')
    .addHelpText('after', [
      '',
      'Examples:',
      '  xsforge vm output/xs/xsforge.iso --wait "login:" --timeout 600',
      '  xsforge vm output/xs/xsforge.iso --as usb --uefi --disk /tmp/target.raw --writable-disks',
      '  xsforge vm --tftp output/xs/pxe --bootfile pxelinux.0 --disk /tmp/target.raw',
    ].join('\n'))
    .action(async (media, o) => {
      if (!media && !o.tftp) throw new XsforgeError('nothing to boot', 'give a MEDIA file, or --tftp DIR with --bootfile FILE');
      if (Boolean(o.tftp) !== Boolean(o.bootfile)) throw new XsforgeError('--tftp and --bootfile go together');
      const tempDir = o.serialLog ? undefined : mkdtempSync(join(tmpdir(), 'xsforge-vm-log-'));
      const serialLog = o.serialLog ? resolve(o.serialLog) : join(tempDir!, 'serial.log');
      const vmOptions: VmOptions = {
        media: media ? resolve(media) : undefined,
        bootAs: o.as,
        firmware: o.uefi ? 'uefi' : 'bios',
        memoryMiB: o.memory,
        cpus: o.cpus,
        accel: o.kvm ? 'kvm' : 'tcg',
        serialLog,
        extraDisks: o.disk.map((path) => ({ path: resolve(path), writable: o.writableDisks })),
        netboot: o.tftp && o.bootfile ? { tftpRoot: resolve(o.tftp), bootfile: o.bootfile } : undefined,
      };
      const timeoutMs = o.timeout ? o.timeout * 1000 : Infinity;
      const started = Date.now();
      try {
        const summary = await withVm(vmOptions, async (vm): Promise<VmRunSummary> => {
          if (vm.accelNote) process.stderr.write(`xsforge: warning: ${vm.accelNote}\n`);
          const stopStreaming = o.json ? () => {} : vm.onSerial((chunk) => process.stdout.write(chunk), { replay: true });
          const base = { accel: vm.accel, serialLog: o.serialLog ? serialLog : undefined, argv: vm.argv };
          const seconds = () => (Date.now() - started) / 1000;
          try {
            if (o.wait) {
              const m = await vm.waitFor(o.wait, timeoutMs);
              return { result: 'matched', match: m[0], seconds: seconds(), ...base };
            }
            const status = await vm.waitExit(timeoutMs);
            const qemuOutput = status !== 0 ? vm.qemuOutput().trim() || undefined : undefined;
            if (qemuOutput && !o.json) process.stderr.write(`xsforge: QEMU exited with status ${status}:\n${qemuOutput}\n`);
            return { result: 'exited', exitStatus: status, qemuOutput, seconds: seconds(), ...base };
          } catch (err) {
            if (err instanceof VmError && err.reason === 'timeout') return { result: 'timeout', seconds: seconds(), ...base };
            // QEMU ended before the --wait pattern: a failure; the JSON summary still says how it ended.
            if (err instanceof VmError && o.json) return { result: 'exited', exitStatus: vm.exitStatus, waitFailed: true, seconds: seconds(), ...base };
            throw err;
          } finally {
            stopStreaming();
          }
        });
        if (o.json) process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
        if (summary.result === 'timeout') {
          const what = o.wait ? `waiting for ${o.wait}` : 'waiting for QEMU to exit';
          if (o.json) process.exitCode = 1;
          else throw new XsforgeError(`timed out after ${o.timeout} s ${what}`, 'raise --timeout, or keep the console with --serial-log FILE');
        } else if (summary.result === 'exited') {
          process.exitCode = summary.waitFailed ? summary.exitStatus || 1 : summary.exitStatus;
        }
      } finally {
        if (tempDir) rmSync(tempDir, { recursive: true, force: true });
      }
    });
}

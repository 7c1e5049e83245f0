// The installed host's GRUB configuration: /boot/grub/grub.cfg on its root file
// system and the ESP's stub that finds it (UEFI). Written by a fresh install and
// by an upgrade; a restore keeps the restored root's own. Pure: values in, text out.
import { XsforgeError } from '../core/errors.ts';
import { HOST_ARG_PATTERN, hostBootLine, serialUnit, type BootValues } from './boot-args.ts';
import { applyCmdlineEdits, type CmdlineEdit } from './xen-cmdline.ts';

export interface GrubConfigOptions {
  brand: string;
  rootLabel: string;
  /** the recipe's serial console and Xen values, as the install medium names them */
  boot: BootValues;
  /** what the administrator changed with xen-cmdline on the old host (an upgrade keeps it) */
  edits?: readonly CmdlineEdit[];
  timeoutSeconds?: number;
}

const HOST_ARG = new RegExp(HOST_ARG_PATTERN);

/**
 * /boot/grub/grub.cfg on the root file system. The default entry sends Xen's and
 * dom0's consoles to the serial port too (so a headless host shows its boot and
 * login prompt there); the second entry is for hosts without a serial port.
 */
export function grubConfig(o: GrubConfigOptions): string {
  const dom0Common = [`root=LABEL=${o.rootLabel}`, 'ro', 'net.ifnames=0'];
  const entry = (title: string, serial: boolean) => {
    const line = hostBootLine(o.boot, serial);
    const xen = applyCmdlineEdits(line.xen, o.edits ?? [], 'xen');
    // the tool edits the whole module2 line, root= included
    const dom0 = applyCmdlineEdits([...dom0Common, ...line.dom0], o.edits ?? [], 'dom0');
    // host-tools/xen-cmdline edits these lines word by word: no quoting here
    for (const a of line.xen) if (!HOST_ARG.test(a)) throw new XsforgeError(`Xen argument '${a}' cannot go on the installed host's grub.cfg (${HOST_ARG_PATTERN})`);
    return [
      `menuentry '${title.replace(/'/g, '')}' {`,
      '\tinsmod part_gpt',
      '\tinsmod part_msdos',
      '\tinsmod ext2',
      `\tsearch --no-floppy --label --set=root ${o.rootLabel}`,
      `\tmultiboot2 /boot/xen.gz ${xen.join(' ')}`.trimEnd(),
      `\tmodule2 /boot/vmlinuz ${dom0.join(' ')}`.trimEnd(),
      '\tmodule2 /boot/initrd.img',
      '}',
    ];
  };
  return [
    '# written by the installer',
    `serial --unit=${serialUnit(o.boot.serial.port)} --speed=${o.boot.serial.baud}`,
    'terminal_input serial console',
    'terminal_output serial console',
    'set default=0',
    `set timeout=${o.timeoutSeconds ?? 5}`,
    '',
    ...entry(o.brand, true),
    '',
    ...entry(`${o.brand} (no serial console)`, false),
    '',
  ].join('\n');
}

/** EFI/xenserver/grub.cfg on the ESP: find the root file system by label and read its grub.cfg. */
export function efiStubGrubConfig(rootLabel: string): string {
  return [
    `search --no-floppy --label --set=root ${rootLabel}`,
    'set prefix=($root)/boot/grub',
    'configfile $prefix/grub.cfg',
    '',
  ].join('\n');
}

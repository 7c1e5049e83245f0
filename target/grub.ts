// The installed host's GRUB configuration: /boot/grub/grub.cfg on its root file
// system and the ESP's stub that finds it (UEFI). Written by a fresh install and
// by an upgrade; a restore keeps the restored root's own. Pure: values in, text out.

export interface GrubConfigOptions {
  brand: string;
  rootLabel: string;
  /** Xen's dom0_mem and vcpu arguments */
  dom0Mem: string;
  dom0MaxVcpus: string;
  timeoutSeconds?: number;
}

export const XEN_SERIAL_ARGS = 'com1=115200,8n1 console=com1,vga';

/**
 * /boot/grub/grub.cfg on the root file system. The default entry sends Xen's and
 * dom0's consoles to the serial port too (so a headless host shows its boot and
 * login prompt there); the second entry is for hosts without a serial port.
 */
export function grubConfig(o: GrubConfigOptions): string {
  const xenCommon = `dom0_mem=${o.dom0Mem} dom0_max_vcpus=${o.dom0MaxVcpus}`;
  const dom0Common = `root=LABEL=${o.rootLabel} ro net.ifnames=0`;
  const entry = (title: string, xenArgs: string, dom0Args: string) => [
    `menuentry '${title.replace(/'/g, '')}' {`,
    '\tinsmod part_gpt',
    '\tinsmod part_msdos',
    '\tinsmod ext2',
    `\tsearch --no-floppy --label --set=root ${o.rootLabel}`,
    `\tmultiboot2 /boot/xen.gz ${xenArgs}`,
    `\tmodule2 /boot/vmlinuz ${dom0Args}`,
    '\tmodule2 /boot/initrd.img',
    '}',
  ];
  return [
    '# written by the installer',
    'serial --unit=0 --speed=115200',
    'terminal_input serial console',
    'terminal_output serial console',
    'set default=0',
    `set timeout=${o.timeoutSeconds ?? 5}`,
    '',
    // hvc0 last: it becomes /dev/console, so systemd's status lines and the
    // first-boot summary reach the serial line of a headless host, not only VGA
    ...entry(o.brand, `${xenCommon} ${XEN_SERIAL_ARGS}`, `${dom0Common} console=tty0 console=hvc0`),
    '',
    ...entry(`${o.brand} (no serial console)`, `${xenCommon} console=vga`, `${dom0Common} console=tty0`),
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


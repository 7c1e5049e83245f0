// QEMU command lines for the testbed, as pure data: options in, argv out. Kept
// apart from the process handling in qemu.ts so every flag combination is
// unit-tested without booting anything.

export type BootAs = 'cd' | 'usb' | 'disk';
export type Firmware = 'bios' | 'uefi';
export type Accel = 'tcg' | 'kvm';
/** How hard disks are attached: SATA (AHCI on q35) is what XenServer-era dom0 kernels see on real servers. */
export type DiskBus = 'sata' | 'virtio' | 'nvme';

export interface DiskSpec {
  path: string;
  /** true: guest writes go to the file; false (default): writes are discarded when QEMU exits (snapshot=on) */
  writable?: boolean;
  format?: 'raw' | 'qcow2';
}

export interface NetbootOptions {
  /** directory served by QEMU's built-in TFTP server */
  tftpRoot: string;
  /** file named in the DHCP offer, relative to tftpRoot (pxelinux.0, bootx64.efi, ...) */
  bootfile: string;
  /** NIC model; e1000 carries an iPXE option ROM for both BIOS and UEFI */
  nic?: 'e1000' | 'virtio-net-pci';
  /**
   * let the guest reach the host's loopback as 10.0.2.2 (an HTTP server of the
   * test holding answer files and the repository); default false: QEMU's own
   * DHCP/TFTP only (restrict=on)
   */
  hostAccess?: boolean;
}

export interface VmOptions {
  /** ISO or disk image to boot; may be left out when netboot is given */
  media?: string;
  /** cd = AHCI/IDE cdrom; usb = raw image as a usb-storage stick (the hybrid ISO's USB path); disk = hard disk. Default cd. */
  bootAs?: BootAs;
  /** default bios (SeaBIOS) */
  firmware?: Firmware;
  /** default 2048 */
  memoryMiB?: number;
  /**
   * default 2. Measured under TCG: one vCPU reaches the installer as fast (62 s
   * against 59 s) but a dom0 boot to login takes 220 s instead of 100 s.
   */
  cpus?: number;
  /** default tcg; kvm is used only when asked for and /dev/kvm opens */
  accel?: Accel;
  /** default qemu64 under TCG (-cpu max crashes a Xen PV dom0 under TCG), host under KVM */
  cpu?: string;
  /** default q35 */
  machine?: 'q35' | 'pc';
  /** serial console (COM1) is written to this file, complete, from power-on */
  serialLog: string;
  /**
   * let the test type on the serial console (Vm.send): COM1 becomes QEMU's stdio
   * chardev (input from QEMU's stdin) and the log file is written by its
   * logfile= option, as complete as the file chardev writes it. Default false.
   */
  serialInput?: boolean;
  /** more hard disks; a plain string is a raw disk whose writes are discarded */
  extraDisks?: Array<string | DiskSpec>;
  /** bus for the boot disk (bootAs disk) and extra disks; default sata */
  diskBus?: DiskBus;
  /** bootAs disk only: let the guest write to the media file (default: writes discarded) */
  mediaWritable?: boolean;
  /**
   * QEMU cache mode of hard disks (boot disk and extra disks). Default unsafe:
   * a test disk need not survive a host crash, and honouring the guest's
   * flushes makes QEMU fsync the image file at each one.
   */
  diskCache?: 'unsafe' | 'writeback' | 'none' | 'directsync';
  /** boot from the network first, with QEMU's user-mode DHCP/TFTP (guest isolated: restrict=on) */
  netboot?: NetbootOptions;
  /** exit QEMU instead of rebooting (default true), so a crash or reboot ends the run */
  noReboot?: boolean;
  /** appended last, verbatim */
  extraArgs?: string[];
  /**
   * a wait fails as 'stalled' when the serial console has been silent (and
   * nothing was typed) this long; default DEFAULT_STALL_MS, Infinity turns it off
   */
  stallMs?: number;
}

export const OVMF_CODE = '/usr/share/OVMF/OVMF_CODE_4M.fd';
export const OVMF_VARS_TEMPLATE = '/usr/share/OVMF/OVMF_VARS_4M.fd';
export const QEMU_BINARY = 'qemu-system-x86_64';

/** What startVm resolved at run time: the accelerator really used and the VM's private OVMF variable store. */
export interface ResolvedVmEnv {
  accel: Accel;
  /** required when firmware is uefi */
  ovmfVars?: string;
  ovmfCode?: string;
}

/** QEMU's option syntax splits values on ',' and takes ',,' as a literal comma. */
export function qemuOptValue(value: string): string {
  return value.replaceAll(',', ',,');
}

function diskSpec(d: string | DiskSpec): DiskSpec {
  return typeof d === 'string' ? { path: d } : d;
}

function diskDevice(bus: DiskBus, driveId: string, index: number, bootindex?: number, port?: string): string {
  const boot = bootindex === undefined ? '' : `,bootindex=${bootindex}`;
  switch (bus) {
    case 'sata': return `ide-hd,drive=${driveId}${port ?? ''}${boot}`;
    case 'virtio': return `virtio-blk-pci,drive=${driveId}${boot}`;
    // NVMe controllers need a serial number; a fixed one keeps runs comparable.
    case 'nvme': return `nvme,drive=${driveId},serial=xsforge${index}${boot}`;
  }
}

/** Validates options and returns the full argv (argv[0] is the QEMU binary). */
export function buildQemuArgv(opts: VmOptions, env: ResolvedVmEnv): string[] {
  const bootAs = opts.bootAs ?? 'cd';
  const firmware = opts.firmware ?? 'bios';
  const memory = opts.memoryMiB ?? 2048;
  const cpus = opts.cpus ?? 2;
  const bus = opts.diskBus ?? 'sata';
  if (!opts.media && !opts.netboot) throw new Error('a VM needs media to boot or netboot options');
  if (!Number.isInteger(memory) || memory < 16) throw new Error(`memoryMiB must be an integer >= 16, got ${memory}`);
  if (!Number.isInteger(cpus) || cpus < 1) throw new Error(`cpus must be a positive integer, got ${cpus}`);
  if (firmware === 'uefi' && !env.ovmfVars) throw new Error('UEFI needs a private copy of the OVMF variable store');

  const argv = [
    QEMU_BINARY,
    // No default NIC (it would NAT the guest to the outside), no default drives, no user config files.
    '-nodefaults', '-no-user-config',
    '-machine', opts.machine ?? 'q35',
    '-accel', env.accel,
    '-cpu', opts.cpu ?? (env.accel === 'kvm' ? 'host' : 'qemu64'),
    '-m', String(memory),
    '-smp', String(cpus),
    '-display', 'none', '-vga', 'std', '-monitor', 'none',
    '-chardev', opts.serialInput
      // signal=off: a typed Ctrl-C goes to the guest, it does not stop QEMU
      ? `stdio,id=com1,signal=off,logfile=${qemuOptValue(opts.serialLog)},logappend=off`
      : `file,id=com1,path=${qemuOptValue(opts.serialLog)}`,
    '-serial', 'chardev:com1',
  ];
  if (opts.noReboot ?? true) argv.push('-no-reboot');
  if (firmware === 'uefi') {
    argv.push(
      '-drive', `if=pflash,format=raw,unit=0,readonly=on,file=${qemuOptValue(env.ovmfCode ?? OVMF_CODE)}`,
      '-drive', `if=pflash,format=raw,unit=1,file=${qemuOptValue(env.ovmfVars!)}`,
    );
  }

  // q35's AHCI controller has one device per port (ide.0..ide.5): name the port,
  // or a second SATA device fails with "bus supports only 1 units".
  let nextPort = 0;
  const port = () => ((opts.machine ?? 'q35') === 'q35' ? `,bus=ide.${nextPort++}` : '');

  // Network boot goes first in the boot order; the media (if any) after it.
  let nextBootIndex = 0;
  if (opts.netboot) {
    const nb = opts.netboot;
    argv.push(
      // restrict=on: the guest reaches only QEMU's own DHCP/TFTP, never the host's network
      // (slirp still maps 10.0.2.2 to the host's loopback when access is asked for).
      '-netdev', `user,id=net0,${nb.hostAccess ? '' : 'restrict=on,'}tftp=${qemuOptValue(nb.tftpRoot)},bootfile=${qemuOptValue(nb.bootfile)}`,
      '-device', `${nb.nic ?? 'e1000'},netdev=net0,bootindex=${nextBootIndex++}`,
    );
  }
  if (opts.media) {
    const file = qemuOptValue(opts.media);
    const bootindex = nextBootIndex++;
    if (bootAs === 'cd') {
      argv.push('-drive', `if=none,id=media,file=${file},format=raw,media=cdrom,readonly=on`,
        '-device', `ide-cd,drive=media${port()},bootindex=${bootindex}`);
    } else if (bootAs === 'usb') {
      // A real stick on an xHCI port, read-only so a test can never change the artifact.
      argv.push('-device', 'qemu-xhci,id=xhci',
        '-drive', `if=none,id=media,file=${file},format=raw,readonly=on`,
        '-device', `usb-storage,bus=xhci.0,drive=media,removable=on,bootindex=${bootindex}`);
    } else {
      const keep = opts.mediaWritable ? '' : ',snapshot=on';
      argv.push('-drive', `if=none,id=media,file=${file},format=raw${keep},cache=${opts.diskCache ?? 'unsafe'}`,
        '-device', diskDevice(bus, 'media', 0, bootindex, bus === 'sata' ? port() : undefined));
    }
  }
  (opts.extraDisks ?? []).map(diskSpec).forEach((d, i) => {
    const id = `disk${i + 1}`;
    const keep = d.writable ? '' : ',snapshot=on';
    argv.push('-drive', `if=none,id=${id},file=${qemuOptValue(d.path)},format=${d.format ?? 'raw'}${keep},cache=${opts.diskCache ?? 'unsafe'}`,
      '-device', diskDevice(bus, id, i + 1, undefined, bus === 'sata' ? port() : undefined));
  });
  argv.push(...(opts.extraArgs ?? []));
  return argv;
}

/**
 * The end of a serial log made fit for an error message: ANSI/VT100 escapes and
 * other control characters removed (they would repaint the reader's terminal),
 * CR-LF and lone CR turned into line breaks, blank runs squeezed, last `lines` kept.
 */
export function readableTail(text: string, lines = 60): string {
  const clean = text
    // CSI sequences (colours, cursor moves, clears), then charset/other two-byte escapes
    .replace(/\x1b\[[0-9;?=<>]*[ -/]*[@-~]/g, '')
    .replace(/\x1b[()*+%][0-9A-Za-z@]/g, '')
    .replace(/\x1b[@-Z\\-_a-z]/g, '')
    .replace(/\r\n?/g, '\n')
    .replace(/[\x00-\x08\x0b-\x1f\x7f]/g, '');
  const all = clean.split('\n').map((l) => l.trimEnd());
  const squeezed = all.filter((l, i) => l !== '' || (i > 0 && all[i - 1] !== ''));
  while (squeezed.length && squeezed[squeezed.length - 1] === '') squeezed.pop();
  return squeezed.slice(-lines).join('\n');
}

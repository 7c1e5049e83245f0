// The Xen and dom0 command-line rule, written once: the serial console
// arguments, dom0's memory and vCPUs, the safe-mode set. Three renderings use
// it: the ISO menus (media/menu.ts), the network-boot entries (netboot/ via that
// menu, inventory/boot-args.ts), and the installed host's grub.cfg (target/grub.ts,
// for a fresh install and an upgrade). Pure: values in, argument lists out.
import { XsforgeError } from '../core/errors.ts';

/** The recipe's boot.serial: Xen's comN port and its speed. */
export interface SerialConsole {
  port: string;
  baud: number;
}

/** The recipe's boot.xen: what every Xen line carries. */
export interface XenBoot {
  dom0_mem: string;
  dom0_max_vcpus: string;
  /** appended to every Xen line */
  extra?: readonly string[];
}

/** What the installed host's boot line takes from the recipe (and a medium carries to the installer). */
export interface BootValues {
  serial: SerialConsole;
  xen: XenBoot;
}

export const SERIAL_PORTS = ['com1', 'com2', 'com3', 'com4'] as const;
export const SERIAL_BAUD_RATES = [9600, 19200, 38400, 57600, 115200] as const;

/**
 * The 7.1 product's own values (com1 at 115200, dom0 1 GiB, 1-2 vCPUs), for a
 * medium that does not name its own (one made before media carried them).
 */
export const DEFAULT_BOOT: BootValues = {
  serial: { port: 'com1', baud: 115200 },
  xen: { dom0_mem: '1024M,max:1024M', dom0_max_vcpus: '1-2', extra: [] },
};

/**
 * The values the installed host boots with: those the install medium names
 * ([xsforge-boot] in its .treeinfo, media/treeinfo.ts), else DEFAULT_BOOT.
 */
export function hostBoot(medium: { boot?: BootValues }): BootValues {
  return medium.boot ?? DEFAULT_BOOT;
}

/** The recipe's boot section cut to what reaches the installed host (boot.dom0 and the menu entries do not). */
export function bootValues(b: BootValues): BootValues {
  return { serial: { port: b.serial.port, baud: b.serial.baud }, xen: { dom0_mem: b.xen.dom0_mem, dom0_max_vcpus: b.xen.dom0_max_vcpus, extra: [...(b.xen.extra ?? [])] } };
}

/** Xen's dom0_mem: sizes with K/M/G/T, each optionally min: or max: (the recipe's dom0Mem pattern). */
export const DOM0_MEM_PATTERN = '^((min|max):)?[0-9]+[KMGT](,((min|max):)?[0-9]+[KMGT])*$';
/** dom0_max_vcpus: N or N-M. */
export const VCPUS_PATTERN = '^[0-9]+(-[0-9]+)?$';
/**
 * A Xen argument that also goes on the installed host's grub.cfg: one plain
 * GRUB word (GRUB would split or expand blanks, quotes, $, ;, braces, \ and #,
 * and host-tools/xen-cmdline edits the arguments as plain words).
 */
export const HOST_ARG_PATTERN = '^[A-Za-z0-9_@%+=:,./-]+$';

/** Xen's flags for hosts that hang or crash in a normal boot (the product's "safe mode" entry). */
export const SAFE_MODE_XEN_ARGS: readonly string[] = [
  'nosmp', 'noreboot', 'noirqbalance', 'no-mce', 'no-bootscrub', 'no-numa', 'no-hap', 'no-mmcfg', 'iommu=off', 'max_cstate=0', 'nmi=ignore', 'allow_unsafe',
];

/** GRUB's and isolinux's serial unit for Xen's port: comN is unit N-1. */
export function serialUnit(port: string): number {
  const m = /^com([1-4])$/.exec(port);
  if (!m) throw new XsforgeError(`'${port}' is not a serial port (${SERIAL_PORTS.join(', ')})`);
  return Number(m[1]) - 1;
}

export interface ConsoleArgs {
  xen: string[];
  dom0: string[];
}

/**
 * The console arguments: with a serial console, Xen on comN and VGA, dom0 on
 * hvc0 (Xen's console, which carries the serial line) and tty0; without, the
 * screen only. The installer's dom0 line is the product's installer's own
 * (xencons=hvc console=hvc0 console=tty0); the installed host puts hvc0 last:
 * it becomes /dev/console, so systemd's status lines and the first-boot
 * summary reach the serial line of a headless host, not only VGA.
 */
export function consoleArgs(system: 'installer' | 'host', serial: SerialConsole | undefined): ConsoleArgs {
  if (!serial) return { xen: ['console=vga'], dom0: ['console=tty0'] };
  serialUnit(serial.port);
  return {
    xen: [`${serial.port}=${serial.baud},8n1`, `console=${serial.port},vga`],
    dom0: system === 'installer' ? ['xencons=hvc', 'console=hvc0', 'console=tty0'] : ['console=tty0', 'console=hvc0'],
  };
}

/** One boot entry's two command lines (before the root=, install and answer-file arguments the caller adds). */
export interface BootLine {
  xen: string[];
  dom0: string[];
}

/**
 * An installer boot entry (ISO menus, network boot): dom0's vCPUs and memory,
 * the entry's own Xen arguments, the console, the recipe's extras; dom0 gets
 * the console, the entry's arguments, then the recipe's boot.dom0.extra. The
 * order is the product's isolinux.cfg (dom0_max_vcpus first).
 */
export function installerBootLine(
  b: BootValues & { dom0?: { extra?: readonly string[] } },
  entry: { serial: boolean; xen_args: readonly string[]; dom0_args: readonly string[] },
): BootLine {
  const c = consoleArgs('installer', entry.serial ? b.serial : undefined);
  return {
    xen: [`dom0_max_vcpus=${b.xen.dom0_max_vcpus}`, `dom0_mem=${b.xen.dom0_mem}`, ...entry.xen_args, ...c.xen, ...(b.xen.extra ?? [])],
    dom0: [...c.dom0, ...entry.dom0_args, ...(b.dom0?.extra ?? [])],
  };
}

/**
 * The installed host's entry: dom0's memory and vCPUs, the console, the
 * recipe's Xen extras (boot.dom0.extra is not here: it holds installer
 * arguments). The order is the product's installed grub.cfg (dom0_mem first).
 */
export function hostBootLine(b: BootValues, serial: boolean): BootLine {
  const c = consoleArgs('host', serial ? b.serial : undefined);
  return {
    xen: [`dom0_mem=${b.xen.dom0_mem}`, `dom0_max_vcpus=${b.xen.dom0_max_vcpus}`, ...c.xen, ...(b.xen.extra ?? [])],
    dom0: c.dom0,
  };
}

const MIB_PER_UNIT = { K: 1 / 1024, M: 1, G: 1024, T: 1024 * 1024 } as const;

/**
 * The inventory's DOM0_MEM (MiB) for a dom0_mem value: the max: size when one
 * is given (dom0 never grows past it), else the first plain size (what dom0
 * starts with), else the first size. Whole MiB, rounded down.
 */
export function dom0MemMiB(dom0Mem: string): number {
  if (!new RegExp(DOM0_MEM_PATTERN).test(dom0Mem)) throw new XsforgeError(`'${dom0Mem}' is not a Xen dom0_mem value (e.g. 1024M,max:1024M)`);
  const items = dom0Mem.split(',').map((item) => {
    const m = /^(?:(min|max):)?([0-9]+)([KMGT])$/.exec(item)!;
    return { limit: m[1], mib: Math.floor(Number(m[2]) * MIB_PER_UNIT[m[3] as keyof typeof MIB_PER_UNIT]) };
  });
  return (items.find((i) => i.limit === 'max') ?? items.find((i) => i.limit === undefined) ?? items[0]!).mib;
}

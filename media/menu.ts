// The boot menu model: one list of entries (label, title, Xen args, dom0 args)
// from which isolinux.cfg, grub.cfg and pxelinux files are rendered. Pure. The
// arguments themselves follow the one command-line rule (target/boot-args.ts).
import type { MenuEntry, Recipe } from '../recipes/schema.ts';
import { SAFE_MODE_XEN_ARGS, installerBootLine, serialUnit } from '../target/boot-args.ts';

export interface BootEntry {
  label: string;
  title: string;
  xenArgs: string[];
  dom0Args: string[];
}

export interface BootMenu {
  defaultLabel: string;
  /** tenths of a second (isolinux); grub gets seconds */
  timeout: number;
  serial: { port: string; unit: number; baud: number };
  entries: BootEntry[];
}

export type MenuInput = Pick<Recipe, 'boot' | 'product'>;

/** The product's entries (SPEC section 1) when a recipe names none. */
export function defaultEntries(brand: string): MenuEntry[] {
  return [
    { label: 'install', title: `Install ${brand}`, xen_args: [], dom0_args: [] },
    { label: 'no-serial', title: `Install ${brand} (no serial console)`, xen_args: [], dom0_args: [], serial: false },
    { label: 'safe', title: `Install ${brand} in safe mode`, xen_args: [...SAFE_MODE_XEN_ARGS], dom0_args: [] },
    { label: 'multipath', title: `Install ${brand} with multipath root disk`, xen_args: [], dom0_args: ['device_mapper_multipath=enabled'] },
    { label: 'shell', title: 'Boot to a shell', xen_args: [], dom0_args: ['bash-shell'] },
  ];
}

export function buildMenu(r: MenuInput): BootMenu {
  const serial = r.boot.serial;
  const entries = (r.boot.entries ?? defaultEntries(r.product.brand)).map((e): BootEntry => {
    const line = installerBootLine(r.boot, { ...e, serial: e.serial !== false });
    return { label: e.label, title: e.title, xenArgs: line.xen, dom0Args: line.dom0 };
  });
  return { defaultLabel: r.boot.default, timeout: r.boot.timeout, serial: { port: serial.port, unit: serialUnit(serial.port), baud: serial.baud }, entries };
}

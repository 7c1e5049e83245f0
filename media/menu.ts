// The boot menu model: one list of entries (label, title, Xen args, dom0 args)
// from which isolinux.cfg, grub.cfg and pxelinux files are rendered. Pure.
import type { MenuEntry, Recipe } from '../recipes/schema.ts';

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

const SAFE_XEN = ['nosmp', 'noreboot', 'noirqbalance', 'no-mce', 'no-bootscrub', 'no-numa', 'no-hap', 'no-mmcfg', 'iommu=off', 'max_cstate=0', 'nmi=ignore', 'allow_unsafe'];

/** The product's entries (SPEC section 1) when a recipe names none. */
export function defaultEntries(brand: string): MenuEntry[] {
  return [
    { label: 'install', title: `Install ${brand}`, xen_args: [], dom0_args: [] },
    { label: 'no-serial', title: `Install ${brand} (no serial console)`, xen_args: [], dom0_args: [], serial: false },
    { label: 'safe', title: `Install ${brand} in safe mode`, xen_args: SAFE_XEN, dom0_args: [] },
    { label: 'multipath', title: `Install ${brand} with multipath root disk`, xen_args: [], dom0_args: ['device_mapper_multipath=enabled'] },
    { label: 'shell', title: 'Boot to a shell', xen_args: [], dom0_args: ['bash-shell'] },
  ];
}

export function buildMenu(r: MenuInput): BootMenu {
  const serial = r.boot.serial;
  const unit = Number(serial.port.slice(3)) - 1;
  const entries = (r.boot.entries ?? defaultEntries(r.product.brand)).map((e): BootEntry => {
    const useSerial = e.serial !== false;
    const xenArgs = [
      `dom0_max_vcpus=${r.boot.xen.dom0_max_vcpus}`,
      `dom0_mem=${r.boot.xen.dom0_mem}`,
      ...e.xen_args,
      ...(useSerial ? [`${serial.port}=${serial.baud},8n1`, `console=${serial.port},vga`] : ['console=vga']),
      ...(r.boot.xen.extra ?? []),
    ];
    const dom0Args = [
      ...(useSerial ? ['xencons=hvc', 'console=hvc0', 'console=tty0'] : ['console=tty0']),
      ...e.dom0_args,
      ...(r.boot.dom0?.extra ?? []),
    ];
    return { label: e.label, title: e.title, xenArgs, dom0Args };
  });
  return { defaultLabel: r.boot.default, timeout: r.boot.timeout, serial: { port: serial.port, unit, baud: serial.baud }, entries };
}

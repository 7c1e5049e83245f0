// The Xen and dom0 command-line values of the installed host. Pure.

/** The 7.1 product's own values, for a medium that does not name its own. */
export const DEFAULT_XEN_BOOT = { dom0_mem: '1024M,max:1024M', dom0_max_vcpus: '1-2' } as const;

/** Xen's dom0_mem: sizes with K/M/G/T, each optionally min: or max: (the recipe's dom0Mem pattern). */
export const DOM0_MEM_PATTERN = '^((min|max):)?[0-9]+[KMGT](,((min|max):)?[0-9]+[KMGT])*$';

const MIB_PER_UNIT = { K: 1 / 1024, M: 1, G: 1024, T: 1024 * 1024 } as const;

/**
 * The inventory's DOM0_MEM (MiB) for a dom0_mem value: the max: size when one
 * is given (dom0 never grows past it), else the first plain size (what dom0
 * starts with), else the first size. Whole MiB, rounded down.
 */
export function dom0MemMiB(dom0Mem: string): number {
  if (!new RegExp(DOM0_MEM_PATTERN).test(dom0Mem)) throw new Error(`'${dom0Mem}' is not a Xen dom0_mem value (e.g. 1024M,max:1024M)`);
  const items = dom0Mem.split(',').map((item) => {
    const m = /^(?:(min|max):)?([0-9]+)([KMGT])$/.exec(item)!;
    return { limit: m[1], mib: Math.floor(Number(m[2]) * MIB_PER_UNIT[m[3] as keyof typeof MIB_PER_UNIT]) };
  });
  return (items.find((i) => i.limit === 'max') ?? items.find((i) => i.limit === undefined) ?? items[0]!).mib;
}

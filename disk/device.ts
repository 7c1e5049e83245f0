// Device node names of partitions, as the kernel names them. Pure.

/** Device node of partition `n` of a disk: sda → sda3, nvme0n1/loop0/mmcblk0 → ...p3. */
export function partitionDevice(disk: string, n: number): string {
  return /\d$/.test(disk) ? `${disk}p${n}` : `${disk}${n}`;
}

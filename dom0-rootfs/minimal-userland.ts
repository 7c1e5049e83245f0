// Text of the smallest bootable dom0 userland (busybox) that the RPM test
// repository ships: the initrd's /init, busybox init's inittab, and the account
// files. Pure: values in, text out.
import { moduleName } from '../installer/kmod.ts';

/** Storage and file-system drivers the initrd loads to mount root=LABEL=... (ext3 via ext4). */
export const MINIMAL_INITRD_MODULES = [
  // SATA (QEMU q35's AHCI), PATA/IDE (i440fx), SCSI disks on them
  'kernel/drivers/ata/ahci.ko', 'kernel/drivers/ata/ata_piix.ko', 'kernel/drivers/ata/ata_generic.ko', 'kernel/drivers/scsi/sd_mod.ko',
  // virtio and NVMe disks; Xen's paravirtual disk for a guest-style boot
  'kernel/drivers/block/virtio_blk.ko', 'kernel/drivers/virtio/virtio_pci.ko', 'kernel/drivers/nvme/host/nvme.ko', 'kernel/drivers/block/xen-blkfront.ko',
  'kernel/fs/ext4/ext4.ko', 'kernel/crypto/crc32c_generic.ko',
];

/**
 * Modules in load order: each after the modules it depends on. `deps` maps a
 * module path to the module names it needs (kmod.ts moduleDependencies); names
 * with no file (built into the kernel) are skipped. Ties keep path order.
 */
export function moduleLoadOrder(deps: Map<string, string[]>, chosen: string[]): string[] {
  const byName = new Map<string, string>();
  for (const path of deps.keys()) byName.set(moduleName(path), path);
  const order: string[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (path: string) => {
    if (state.get(path)) return; // done, or a softdep cycle: the kernel resolves symbols at load time either way
    state.set(path, 'visiting');
    for (const d of deps.get(path) ?? []) {
      const dp = byName.get(d);
      if (dp) visit(dp);
    }
    state.set(path, 'done');
    order.push(path);
  };
  for (const p of [...chosen].sort()) visit(p);
  return order;
}

function shellWord(s: string): string {
  if (!/^[A-Za-z0-9_./:=+-]+$/.test(s)) throw new Error(`"${s}" is not a plain word for the init script`);
  return s;
}

export interface InitScriptOptions {
  /** uname -r of the kernel whose modules are under /lib/modules/<release> */
  kernelRelease: string;
  /** module paths relative to /lib/modules/<release>, in load order */
  modules: string[];
  /** seconds to wait for the root device */
  rootWaitSeconds?: number;
}

/**
 * The initrd's /init (busybox sh): mount the kernel file systems, load the
 * modules, find root= (LABEL=, UUID= or a device) with findfs, mount it
 * read-only (or rw when the command line says rw) and switch_root to
 * /sbin/init. On failure it says why and leaves a shell on the console.
 */
export function initrdInitScript(o: InitScriptOptions): string {
  const wait = o.rootWaitSeconds ?? 30;
  const release = shellWord(o.kernelRelease);
  const mods = o.modules.map((m) => `/lib/modules/${release}/${shellWord(m)}`);
  return `#!/bin/busybox sh
# xsforge minimal dom0 initrd
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev

rescue() {
  echo "xsforge-initrd: $*"
  echo "xsforge-initrd: starting a shell"
  exec sh
}

root=
mode=ro
for arg in $(cat /proc/cmdline); do
  case "$arg" in
    root=*) root="\${arg#root=}" ;;
    rw) mode=rw ;;
    ro) mode=ro ;;
  esac
done
[ -n "$root" ] || rescue "no root= on the kernel command line"

for m in ${mods.join(' \\\n  ')}; do
  insmod "$m" 2>/dev/null || true
done

dev=
i=0
while [ $i -lt ${wait * 10} ]; do
  case "$root" in
    LABEL=*|UUID=*) dev="$(findfs "$root" 2>/dev/null)" ;;
    /dev/*) [ -b "$root" ] && dev="$root" ;;
  esac
  [ -n "$dev" ] && break
  i=$((i + 1))
  sleep 0.1
done
[ -n "$dev" ] || rescue "root device $root did not appear in ${wait} s"

mkdir -p /newroot
mount -o "$mode" "$dev" /newroot || rescue "cannot mount $dev ($root) on /newroot"
[ -x /newroot/sbin/init ] || rescue "$root has no /sbin/init"
echo "xsforge-initrd: root $root is $dev, starting /sbin/init"
mount --move /dev /newroot/dev 2>/dev/null || umount /dev
umount /sys
umount /proc
exec switch_root /newroot /sbin/init
`;
}

/** busybox init's table: kernel file systems, host name, a login on the Xen console. */
export function inittabText(console = 'hvc0'): string {
  return `# xsforge minimal dom0 (busybox init)
::sysinit:/bin/busybox mount -t proc proc /proc
::sysinit:/bin/busybox mount -t sysfs sysfs /sys
::sysinit:/bin/busybox mount -o remount,rw /
::sysinit:/bin/busybox hostname -F /etc/hostname
::sysinit:/bin/busybox echo xsforge-rpm-dom0: userland started
${shellWord(console)}::respawn:/bin/busybox getty -L ${console} 115200 vt100
::ctrlaltdel:/bin/busybox reboot
::shutdown:/bin/busybox umount -a -r
`;
}

/** root only; the installer sets root's password in /etc/shadow. */
export const ACCOUNT_FILES = {
  '/etc/passwd': 'root:x:0:0:root:/root:/bin/sh\n',
  '/etc/group': 'root:x:0:\n',
  // "*": no password until the installer writes one
  '/etc/shadow': 'root:*:17744:0:99999:7:::\n',
} as const;

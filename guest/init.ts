// The test guest's userland as text: /init and udhcpc's hook script, both run by
// busybox sh. Generated here so the banner lines come from guest/banners.ts and
// nowhere else. Pure.
import { GUEST_BANNER as B, type GuestStep } from './banners.ts';

/** Where the files live in the initramfs (paths without the leading /). */
export const GUEST_PATHS = {
  init: 'init',
  busybox: 'bin/busybox',
  /** module files to insmod, in load order, relative to /lib/modules/<release>/ */
  moduleList: 'etc/xsforge-guest/modules',
  /** busybox udhcpc's default hook path; /init also passes it with -s */
  udhcpcScript: 'usr/share/udhcpc/default.script',
} as const;

/** busybox applets the scripts call (linked as bin/<name>); echo, read, [ are sh built-ins. */
export const GUEST_APPLETS = [
  'cat', 'dd', 'dmesg', 'grep', 'insmod', 'ip', 'ls', 'mkdir', 'mount', 'ping', 'poweroff', 'rm', 'sh', 'sleep', 'sync', 'tail', 'udhcpc', 'uname', 'usleep',
] as const;

const step = (s: GuestStep) => s;

/** /init: mounts, modules, disk, DHCP, ping of the gateway, then poweroff (or FAILED and stay up). */
export function guestInitScript(): string {
  return `#!/bin/sh
# /init of the xsforge test guest (made by guest/init.ts). Reports on /dev/console
# (hvc0 under Xen PV, ttyS0 under plain QEMU) and powers off; after a failure it
# stays up, so a supervisor that sees only the domain's state can still tell
# success (the domain went away) from failure (it keeps running).
PATH=/bin
export PATH

# every report line also goes to /run/report, which a successful run writes to its disk
say() { echo "$*" >/dev/console; echo "$*" >>/run/report 2>/dev/null; }
# $1: the step; $2: a log worth showing (default: the kernel's last messages)
fail() {
  if [ -n "$2" ] && [ -r "$2" ]; then tail -n 20 "$2" >/dev/console; else dmesg 2>/dev/null | tail -n 20 >/dev/console; fi
  say "${B.failed} step=$1"
  while :; do sleep 3600; done
}

mount -t proc proc /proc || fail ${step('mount')}
mount -t sysfs sysfs /sys || fail ${step('mount')}
mount -t devtmpfs devtmpfs /dev || fail ${step('mount')}
mkdir -p /run /tmp
# a late kernel message could land inside a report line: panics only from here on
echo 1 >/proc/sys/kernel/printk

release=$(uname -r)
say "${B.up} kernel=$release"

[ -d "/lib/modules/$release" ] || fail ${step('modules')}
loaded=0
failed=
while read -r m; do
  # Xen front ends refuse to load outside Xen (ENODEV): reported, not fatal
  if insmod "/lib/modules/$release/$m" 2>/dev/null; then
    loaded=$((loaded + 1))
  else
    name=\${m##*/}
    failed="\${failed:+$failed,}\${name%.ko}"
  fi
done <"/${GUEST_PATHS.moduleList}"
say "${B.modules} loaded=$loaded failed=\${failed:-none}"
[ "$loaded" -gt 0 ] || fail ${step('modules')}

# a virtio disk is there once insmod returns; blkfront connects to its backend later
first_disk() {
  for d in /sys/block/xvd* /sys/block/vd*; do
    if [ -e "$d/size" ]; then echo "\${d##*/}"; return 0; fi
  done
  return 1
}
disk_expected() {
  for v in /sys/bus/xen/devices/vbd-*; do [ -e "$v" ] && return 0; done
  for v in /sys/bus/virtio/devices/*/device; do [ "$(cat "$v" 2>/dev/null)" = 0x0002 ] && return 0; done
  return 1
}
disk=$(first_disk)
if [ -z "$disk" ] && disk_expected; then
  n=0
  while [ -z "$disk" ] && [ $n -lt 100 ]; do usleep 100000; n=$((n + 1)); disk=$(first_disk); done
fi
if [ -n "$disk" ]; then
  say "${B.disk} dev=$disk bytes=$(( $(cat /sys/block/$disk/size) * 512 ))"
else
  say "${B.disk} dev=none"
fi

ip link set lo up
n=0
while [ ! -e /sys/class/net/eth0 ] && [ $n -lt 100 ]; do usleep 100000; n=$((n + 1)); done
[ -e /sys/class/net/eth0 ] || fail ${step('network')}
ip link set eth0 up || fail ${step('network')}
rm -f /run/lease-ip /run/lease-router
# -f foreground, -q quit once leased, -n give up after -t tries of -T seconds
udhcpc -i eth0 -s /${GUEST_PATHS.udhcpcScript} -f -q -n -t 10 -T 2 >/run/udhcpc.log 2>&1 || fail ${step('dhcp')} /run/udhcpc.log
read -r router </run/lease-router || fail ${step('dhcp')} /run/udhcpc.log
[ "$router" != none ] || fail ${step('dhcp')} /run/udhcpc.log

if ping -c 3 -W 5 "$router" >/run/ping.log 2>&1; then
  say "${B.ping} ok gateway=$router"
else
  say "${B.ping} failed gateway=$router"
  fail ${step('ping')} /run/ping.log
fi

say "${B.done}"
# the report at the start of the disk, for a supervisor that cannot see the
# console (libvirt): zero-padded to 4 KiB, flushed before the power goes
if [ -n "$disk" ]; then
  dd if=/run/report of="/dev/$disk" bs=4096 count=1 conv=sync,notrunc,fsync 2>/run/dd.log || fail ${step('report')} /run/dd.log
  sync
fi
poweroff -f
fail ${step('poweroff')}
`;
}

/** udhcpc's hook: sets the address and default route, notes the lease for /init, prints LEASE. */
export function guestUdhcpcScript(): string {
  return `#!/bin/sh
# udhcpc's hook in the xsforge test guest (made by guest/init.ts): the event is
# $1, the lease is in $interface, $ip, $mask (prefix length) and $router.
case "$1" in
deconfig)
  ip -4 addr flush dev "$interface"
  ip link set "$interface" up
  ;;
bound|renew)
  ip -4 addr flush dev "$interface"
  ip -4 addr add "$ip/\${mask:-24}" dev "$interface"
  set -- $router
  gw=\${1:-none}
  [ "$gw" = none ] || ip -4 route replace default via "$gw" dev "$interface"
  echo "$ip" >/run/lease-ip
  echo "$gw" >/run/lease-router
  echo "${B.lease} ip=$ip router=$gw" >/dev/console
  # /init's report, which a successful run writes to its disk
  echo "${B.lease} ip=$ip router=$gw" >>/run/report
  ;;
esac
exit 0
`;
}

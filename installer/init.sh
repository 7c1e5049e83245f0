#!/bin/sh
# /init of install.img: PID 1 of the installer. Mounts the kernel file systems,
# starts udev so disk and NIC drivers load, runs the installer runtime as a child,
# then carries out the exit action the runtime left in /run/xsforge/atexit.
# PID 1 must never exit (the kernel would panic), so every path ends in a
# power-off, a reboot, or a shell that is started again when it exits.

PATH=/usr/sbin:/usr/bin:/sbin:/bin
export PATH
umask 022

mkdir -p /proc /sys /dev /run /tmp
mount -t proc -o nosuid,nodev,noexec proc /proc
mount -t sysfs -o nosuid,nodev,noexec sysfs /sys
mount -t devtmpfs -o mode=0755,nosuid devtmpfs /dev
mkdir -p /dev/pts /dev/shm
mount -t devpts -o gid=5,mode=0620,ptmxmode=0666 devpts /dev/pts
mount -t tmpfs -o mode=0755,nosuid,nodev tmpfs /run
ln -sf /proc/self/fd /dev/fd
ln -sf /proc/self/fd/0 /dev/stdin
ln -sf /proc/self/fd/1 /dev/stdout
ln -sf /proc/self/fd/2 /dev/stderr
mkdir -p /run/xsforge

CMDLINE=$(cat /proc/cmdline)

# Console clones, as the runtime does: every console= device that exists.
CONSOLES=
INPUT_CONSOLE=/dev/console
for arg in $CMDLINE; do
  case "$arg" in
    console=*)
      name=${arg#console=}
      name=${name%%,*}
      case " $CONSOLES " in *" /dev/$name "*) continue ;; esac
      if [ -n "$name" ] && [ -c "/dev/$name" ]; then
        CONSOLES="$CONSOLES /dev/$name"
        INPUT_CONSOLE=/dev/$name
      fi
      ;;
  esac
done
[ -n "$CONSOLES" ] || CONSOLES=/dev/console

say() {
  for c in $CONSOLES; do
    printf '%s\n' "$*" >"$c" 2>/dev/null
  done
}

arg_value() { # arg_value NAME: value of the last NAME=... on the command line
  v=
  for arg in $CMDLINE; do
    case "$arg" in "$1"=*) v=${arg#"$1"=} ;; esac
  done
  printf '%s' "$v"
}

has_arg() {
  for arg in $CMDLINE; do
    [ "$arg" = "$1" ] && return 0
  done
  return 1
}

run_shell() { # run_shell CONSOLE NOTE: an interactive shell on CONSOLE, until it exits
  shell=/bin/sh
  [ -x /bin/bash ] && shell=/bin/bash
  printf '%s\n' "Starting a shell on $1. $2" >"$1" 2>/dev/null
  setsid -w -c "$shell" -i <"$1" >"$1" 2>&1
}

do_exit_action() {
  case "$1" in
    poweroff)
      say "xsforge init: powering off"
      sync
      # reboot(2) POWER_OFF without a userspace poweroff tool; under a Xen dom0
      # the kernel's ACPI S5 path goes through the hypervisor and the host stops
      echo o >/proc/sysrq-trigger
      ;;
    reboot)
      say "xsforge init: rebooting"
      sync
      echo b >/proc/sysrq-trigger
      ;;
    *)
      # a shell on every console, so a serial-only host gets one as well
      for c in $CONSOLES; do
        ( while :; do run_shell "$c" "Exit the shell to get a new one."; sleep 1; done ) &
      done
      # PID 1 reaps orphans while it waits
      while :; do wait; sleep 1; done
      ;;
  esac
  # sysrq work runs asynchronously; PID 1 waits for it
  while :; do sleep 3600; done
}

hostname installer 2>/dev/null

say "xsforge init: starting udev"
UDEVD=/usr/lib/systemd/systemd-udevd
[ -x "$UDEVD" ] || UDEVD=/lib/systemd/systemd-udevd
if [ -x "$UDEVD" ]; then
  "$UDEVD" --daemon --resolve-names=never >/dev/null 2>&1
  udevadm trigger --type=subsystems --action=add >/dev/null 2>&1
  udevadm trigger --type=devices --action=add >/dev/null 2>&1
  udevadm settle --timeout=30 >/dev/null 2>&1 || say "xsforge init: udev did not settle within 30 s; going on"
else
  say "xsforge init: no systemd-udevd in this image; drivers will not be loaded automatically"
fi
ip link set lo up 2>/dev/null

if has_arg shell || has_arg bash-shell; then
  run_shell "$INPUT_CONSOLE" "The installer starts when you leave it."
fi

rm -f /run/xsforge/atexit
node /opt/xsforge/installer.js </dev/null >/run/xsforge/installer.log 2>&1
rc=$?
ACTION=
[ -f /run/xsforge/atexit ] && read -r ACTION </run/xsforge/atexit
case "$ACTION" in
  reboot|poweroff|shell) ;;
  *)
    say "xsforge init: the installer runtime failed (exit status $rc). Its last output:"
    tail -n 40 /run/xsforge/installer.log | while IFS= read -r line; do say "  $line"; done
    # fall back to atexit= from the command line, but never a reboot loop: shell
    ACTION=$(arg_value atexit)
    [ "$ACTION" = poweroff ] || ACTION=shell
    say "XSFORGE-INIT-FAILED status=$rc action=$ACTION"
    ;;
esac
do_exit_action "$ACTION"

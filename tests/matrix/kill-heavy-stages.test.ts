// tests/integration/kill-stages for the long stage kinds: mmdebstrap in a chroot
// (dom0-rootfs, install-img: /proc, /sys and /dev are mounted inside while it
// runs) and the hypervisor's compile. Each is killed and rebuilt: minutes each.
process.env.XSFORGE_KILL_STAGES ??= 'dom0-rootfs,install-img,hypervisor';
await import('../integration/kill-stages.test.ts');

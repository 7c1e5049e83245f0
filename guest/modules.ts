// The kernel modules of the test guest, in an order busybox insmod can load them:
// the guest has no modprobe database (the kernel stage ships no modules.dep), so
// each module comes after everything it depends on. Pure.
import { moduleClosure, moduleName } from '../installer/kmod.ts';

/** Front ends for a Xen PV domain, and their virtio twins for a plain QEMU check. */
export const TEST_GUEST_MODULES = ['xen_netfront', 'xen_blkfront', 'virtio_net', 'virtio_pci', 'virtio_blk'] as const;

export interface ModuleLoadPlan {
  /** module files relative to /lib/modules/<release>/, dependencies first */
  order: string[];
  /** requested names the kernel has no module for (built in, or not built) */
  notModules: string[];
  /** dependencies named by a module but absent (built in, usually) */
  missingDeps: string[];
}

/**
 * `all` maps each module file (relative path) to the module names it depends
 * on (installer/kmod.ts moduleDependencies). Softdeps count as dependencies, so
 * a cycle through them is cut where it closes; ties keep path order.
 */
export function moduleLoadOrder(all: Map<string, string[]>, names: readonly string[]): ModuleLoadPlan {
  const byName = new Map<string, string>();
  for (const path of all.keys()) byName.set(moduleName(path), path);
  const wanted = names.map((n) => n.replace(/-/g, '_'));
  const notModules = wanted.filter((n) => !byName.has(n));
  // exact paths as patterns: a module name is not a glob
  const { paths, missing } = moduleClosure(all, wanted.filter((n) => byName.has(n)).map((n) => byName.get(n)!));
  const order: string[] = [];
  const done = new Set<string>();
  const onPath = new Set<string>();
  const visit = (path: string) => {
    if (done.has(path) || onPath.has(path)) return;
    onPath.add(path);
    for (const dep of [...(all.get(path) ?? [])].sort()) {
      const dp = byName.get(dep);
      if (dp) visit(dp);
    }
    onPath.delete(path);
    done.add(path);
    order.push(path);
  };
  for (const p of paths) visit(p);
  return { order, notModules, missingDeps: missing };
}

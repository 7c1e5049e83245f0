// The per-host part of a network install's kernel command lines (SPEC section 2):
// what the Xen and dom0 lines carry for this host on top of the recipe's own
// (dom0_max_vcpus, dom0_mem, extras). Pure. The console arguments follow the one
// command-line rule (target/boot-args.ts).
import { XsforgeError } from '../core/errors.ts';
import { DEFAULT_BOOT, consoleArgs, type SerialConsole } from '../target/boot-args.ts';
import type { Host } from './load.ts';

export interface HostBootArgs {
  /** Xen arguments: the console choice, then the host's xen_args. */
  xen: string[];
  /** dom0 (installer) arguments: console, install, answerfile=, answerfile_device=, multipath, use_ibft, then dom0_args. */
  dom0: string[];
}

// What the installer fetches an answer file from (http, https, ftp, file, nfs://server:/path),
// minus characters that pxelinux or grub.cfg would split or expand ($ ; quotes braces backslash).
const ANSWERFILE_URL = /^((https?|ftp):\/\/[^/\s$;'"`{}\\]+(\/[^\s$;'"`{}\\]*)?|file:\/\/\/[^\s$;'"`{}\\]*|nfs:\/\/[^\s/:$;'"`{}\\]+:\/[^\s$;'"`{}\\]*)$/;

export interface HostBootArgsOptions {
  /** Where this host's answer file is served (e.g. http://server/answers/<mac>.xml). */
  answerfileUrl: string;
  /**
   * Default true: start both lists with the installer's console arguments for
   * `host.console` (consoleArgs). A renderer whose base menu entry already carries
   * them passes false and picks the base entry by `host.console` instead.
   */
  includeConsole?: boolean;
  /** the recipe's boot.serial, for a serial host's console arguments; default com1 at 115200 */
  serial?: SerialConsole;
}

/** The Xen and dom0 arguments that install `host` unattended from the answer file at `answerfileUrl`. */
export function hostBootArgs(host: Host, options: HostBootArgsOptions): HostBootArgs {
  const url = options.answerfileUrl;
  if (!ANSWERFILE_URL.test(url)) {
    throw new XsforgeError(`answer file URL '${url}' for host ${host.hostname} cannot go on a kernel command line`,
      'give an http://, https://, ftp://, file:/// or nfs://server:/path URL without spaces, quotes, $, ;, braces or backslashes');
  }
  const console = options.includeConsole === false ? { xen: [], dom0: [] }
    : consoleArgs('installer', host.console === 'serial' ? options.serial ?? DEFAULT_BOOT.serial : undefined);
  // The NIC that fetches the answer file: the pinned ethN, else the PXE NIC by MAC
  // (the default, `all`, would run DHCP on every NIC).
  const device = host.management.interface ?? host.mac;
  return {
    xen: [...console.xen, ...host.xen_args],
    dom0: [
      ...console.dom0,
      'install',
      `answerfile=${url}`,
      `answerfile_device=${device}`,
      ...(host.multipath ? ['device_mapper_multipath=enabled'] : []),
      ...(host.use_ibft ? ['use_ibft'] : []),
      ...host.dom0_args,
    ],
  };
}

// What the test guest prints on its console, in one place: guest/init.ts writes
// these lines, tests (integration under QEMU, e2e under Xen) read them back with
// parseGuestConsole. Pure.

/** Line prefixes, each followed by ` key=value` fields (see GuestReport). */
export const GUEST_BANNER = {
  /** `XSFORGE-TEST-GUEST-UP kernel=<uname -r>`: /init runs (file systems mounted) */
  up: 'XSFORGE-TEST-GUEST-UP',
  /** `XSFORGE-TEST-GUEST-MODULES loaded=<n> failed=<names|none>`: Xen modules fail under plain QEMU, virtio ones load under Xen */
  modules: 'XSFORGE-TEST-GUEST-MODULES',
  /** `XSFORGE-TEST-GUEST-DISK dev=<xvda|vda> bytes=<size>` or `dev=none` */
  disk: 'XSFORGE-TEST-GUEST-DISK',
  /** `XSFORGE-TEST-GUEST-LEASE ip=<ip> router=<router|none>`, printed by the udhcpc script */
  lease: 'XSFORGE-TEST-GUEST-LEASE',
  /** `XSFORGE-TEST-GUEST-PING ok gateway=<ip>` or `... failed gateway=<ip>` */
  ping: 'XSFORGE-TEST-GUEST-PING',
  /** every check passed; the guest powers off next (the domain goes away by itself) */
  done: 'XSFORGE-TEST-GUEST-DONE',
  /** `XSFORGE-TEST-GUEST-FAILED step=<step>`: the guest then stays up, so its domain keeps running */
  failed: 'XSFORGE-TEST-GUEST-FAILED',
} as const;

/** The steps a FAILED line can name. */
export const GUEST_STEPS = ['mount', 'modules', 'network', 'dhcp', 'ping', 'report', 'poweroff'] as const;
export type GuestStep = (typeof GUEST_STEPS)[number];

/** What a console transcript says about one boot of the guest. */
export interface GuestReport {
  kernel?: string;
  modules?: { loaded: number; failed: string[] };
  /** dev 'none' when the guest found no disk (bytes 0) */
  disk?: { dev: string; bytes: number };
  lease?: { ip: string; router: string };
  ping?: { ok: boolean; gateway: string };
  done: boolean;
  failed?: string;
}

// Unanchored: under TCG a late kernel message can share the line's start.
const B = GUEST_BANNER;

/** Patterns for waiting on a console (testbed waitFor, a Xen console reader). */
export const GUEST_PATTERNS = {
  up: new RegExp(`${B.up} kernel=(\\S+)`),
  modules: new RegExp(`${B.modules} loaded=(\\d+) failed=(\\S+)`),
  disk: new RegExp(`${B.disk} dev=(\\S+)(?: bytes=(\\d+))?`),
  lease: new RegExp(`${B.lease} ip=(\\S+) router=(\\S+)`),
  ping: new RegExp(`${B.ping} (ok|failed) gateway=(\\S+)`),
  done: new RegExp(`${B.done}(?![-\\w])`),
  failed: new RegExp(`${B.failed} step=(\\S+)`),
  /** the guest's last word: DONE or FAILED */
  end: new RegExp(`${B.done}(?![-\\w])|${B.failed} step=\\S+`),
} as const;

/** Reads the banner lines out of a console transcript (CR-LF or LF, other output around them). */
export function parseGuestConsole(text: string): GuestReport {
  const report: GuestReport = { done: false };
  for (const line of text.replace(/\r/g, '').split('\n')) {
    let m: RegExpExecArray | null;
    if ((m = GUEST_PATTERNS.up.exec(line))) report.kernel = m[1]!;
    else if ((m = GUEST_PATTERNS.modules.exec(line))) report.modules = { loaded: Number(m[1]), failed: m[2] === 'none' ? [] : m[2]!.split(',') };
    else if ((m = GUEST_PATTERNS.disk.exec(line))) report.disk = { dev: m[1]!, bytes: m[2] === undefined ? 0 : Number(m[2]) };
    else if ((m = GUEST_PATTERNS.lease.exec(line))) report.lease = { ip: m[1]!, router: m[2]! };
    else if ((m = GUEST_PATTERNS.ping.exec(line))) report.ping = { ok: m[1] === 'ok', gateway: m[2]! };
    else if ((m = GUEST_PATTERNS.failed.exec(line))) report.failed = m[1]!;
    else if (GUEST_PATTERNS.done.test(line)) report.done = true;
  }
  return report;
}

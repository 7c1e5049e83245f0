// TFTP for a network-boot tree (tftp/: pxelinux, GRUB, kernels), served by
// dnsmasq in TFTP-only mode as a child process (core/exec startProcess): DNS
// off, no DHCP, no config file, bound to one address, logging to stderr.
//
// dnsmasq's TFTP server always listens on port 69 (there is no option for
// another; PXE firmware only ever asks port 69 anyway). Several servers on one
// machine, tests included, each take their own address: all of 127.0.0.0/8 is
// loopback. dnsmasq sets SO_REUSEADDR, so a second one on a taken address would
// start and share the port silently; we try the port ourselves first.
import { createSocket } from 'node:dgram';
import { isIPv6 } from 'node:net';
import { XsforgeError } from '../core/errors.ts';
import { startProcess, type RunningProcess } from '../core/exec.ts';

/** The only port dnsmasq's TFTP server listens on. */
export const TFTP_PORT = 69;

/** Addresses that mean "every interface": dnsmasq then binds the wildcard address itself. */
const WILDCARD = new Set(['0.0.0.0', '::']);

/** dnsmasq's argv for TFTP only: `root` served read-only on `bind`:69. */
export function dnsmasqTftpArgv(o: { root: string; bind: string }): string[] {
  return [
    'dnsmasq',
    '--keep-in-foreground', // no fork, so it stays our child and ends with us
    '--log-facility=-', // log to stderr, where we read the "ready" line and the transfers
    '--conf-file=/dev/null', // nothing from /etc/dnsmasq.conf or /etc/dnsmasq.d
    '--pid-file=', // no pid file: nothing written outside the tree
    '--port=0', // DNS off; no dhcp-range, so no DHCP either
    '--no-hosts',
    '--no-resolv',
    '--enable-tftp',
    `--tftp-root=${o.root}`,
    // Run as root, dnsmasq drops to user nobody (its default --user): then --tftp-secure would
    // serve only files owned by nobody, i.e. none of a tree we wrote; without it, nobody may read
    // what is world-readable under the root (the tree is 0644/0755), nothing outside it.
    ...(WILDCARD.has(o.bind) ? [] : [`--listen-address=${o.bind}`, '--bind-interfaces']),
  ];
}

export interface TftpServeOptions {
  /** the TFTP root, e.g. the tftp/ directory of a tree made by `xsforge pxe` */
  root: string;
  /** default 127.0.0.1 */
  bind?: string;
  /** each log line of dnsmasq once it serves, without its "dnsmasq-tftp[pid]: " (transfers: "sent /x to 1.2.3.4", "file /x not found for 1.2.3.4") */
  onLog?: (line: string) => void;
  /** how long dnsmasq may take to say it serves (default 10 s) */
  startTimeoutMs?: number;
}

export interface RunningTftpServer {
  /** tftp://127.0.0.1:69 (no trailing slash) */
  url: string;
  pid: number;
  /** settles when dnsmasq has ended (by close() or on its own) */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  close(): Promise<void>;
}

const DNSMASQ_PREFIX = /^dnsmasq(-tftp)?\[\d+\]: /;

/** Rejects with EADDRINUSE/EACCES/EADDRNOTAVAIL when `bind`:69 cannot be ours (tried without SO_REUSEADDR). */
function probePort(bind: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const sock = createSocket({ type: isIPv6(bind) ? 'udp6' : 'udp4', reuseAddr: false });
    sock.once('error', (err) => { sock.close(); reject(err); });
    sock.bind({ address: bind, port, exclusive: true }, () => sock.close(() => resolve()));
  });
}

function listenError(bind: string, err: NodeJS.ErrnoException): XsforgeError {
  const where = `${bind}:${TFTP_PORT}`;
  if (err.code === 'EADDRINUSE') {
    return new XsforgeError(`cannot serve TFTP on ${where}: the port is taken (another TFTP server: in.tftpd, dnsmasq, an earlier xsforge serve?)`,
      'stop that server, or give --bind another address (any 127.x.y.z is loopback)');
  }
  if (err.code === 'EACCES') return new XsforgeError(`cannot serve TFTP on ${where}: port ${TFTP_PORT} needs root (or CAP_NET_BIND_SERVICE)`, 'run xsforge serve --tftp as root');
  if (err.code === 'EADDRNOTAVAIL') return new XsforgeError(`cannot serve TFTP on ${where}: no interface has that address`, 'give --bind an address of this machine');
  return new XsforgeError(`cannot serve TFTP on ${where}: ${err.message}`);
}

/** Starts dnsmasq serving `root` over TFTP; resolves once it has said it serves, rejects (and stops it) otherwise. */
export async function startTftpServer(o: TftpServeOptions): Promise<RunningTftpServer> {
  const bind = o.bind ?? '127.0.0.1';
  await probePort(bind, TFTP_PORT).catch((err: NodeJS.ErrnoException) => { throw listenError(bind, err); });

  let pending = '';
  // startup lines go to the readiness check, later ones to onLog
  let readyLine: ((line: string) => void) | undefined = () => {};
  const onOutput = (chunk: string) => {
    pending += chunk;
    let nl: number;
    while ((nl = pending.indexOf('\n')) >= 0) {
      const line = pending.slice(0, nl);
      pending = pending.slice(nl + 1);
      if (readyLine) readyLine(line);
      else o.onLog?.(line.replace(DNSMASQ_PREFIX, ''));
    }
  };
  const child: RunningProcess = await startProcess(dnsmasqTftpArgv({ root: o.root, bind }), { onOutput });
  const timeoutMs = o.startTimeoutMs ?? 10_000;
  // "TFTP root is ..." comes once the socket is bound and the root checked; a failure ends dnsmasq instead
  const started = await new Promise<'ready' | 'exited' | 'timeout'>((resolve) => {
    const timer = setTimeout(() => resolve('timeout'), timeoutMs);
    readyLine = (line) => {
      if (!/TFTP root is /.test(line)) return;
      readyLine = undefined;
      clearTimeout(timer);
      resolve('ready');
    };
    void child.exited.then(() => { clearTimeout(timer); resolve('exited'); });
  });
  readyLine = undefined;
  if (started !== 'ready') {
    await child.stop();
    // dnsmasq's own words: "TFTP directory /x inaccessible: Permission denied", "failed to create listening socket ..."
    const said = child.outputTail().split('\n').map((l) => l.replace(DNSMASQ_PREFIX, '').trim())
      .filter((l) => l && !/^(started|compile time options|FAILED to start up|exiting on receipt)/.test(l));
    const why = started === 'timeout' ? `dnsmasq did not report serving within ${timeoutMs / 1000} s` : said.join('; ') || 'dnsmasq ended at once';
    const hint = /inaccessible: Permission denied/.test(why)
      ? 'dnsmasq reads files as user nobody: the directory and every directory above it need o+x, the files o+r'
      : undefined;
    throw new XsforgeError(`cannot serve TFTP from ${o.root} on ${bind}:${TFTP_PORT}: ${why}`, hint);
  }
  const host = isIPv6(bind) ? `[${bind}]` : bind;
  return {
    url: `tftp://${host}:${TFTP_PORT}`,
    pid: child.pid,
    exited: child.exited,
    close: () => child.stop(),
  };
}

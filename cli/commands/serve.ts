// `xsforge serve DIR`: serve a network-install tree (the http/ half of `xsforge pxe`)
// over HTTP until interrupted, with one access log line per request on stdout;
// with --tftp, the tftp/ half too (dnsmasq in TFTP-only mode, netboot/tftp-server.ts).
import { Command, InvalidArgumentError } from '@commander-js/extra-typings';
import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { XsforgeError } from '../../core/errors.ts';
import { formatAccessLog, startHttpServer, type RunningHttpServer } from '../../netboot/http-server.ts';
import { TFTP_PORT, startTftpServer, type RunningTftpServer } from '../../netboot/tftp-server.ts';

async function directory(dir: string, what: string): Promise<string> {
  const root = resolve(dir);
  const st = await stat(root).catch(() => undefined);
  if (!st?.isDirectory()) throw new XsforgeError(`${what}: not a directory: ${dir}`);
  return root;
}

function port(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError('a port is a whole number from 0 (any free port) to 65535');
  return n;
}

export function register(program: Command): void {
  program
    .command('serve')
    .summary('serve a directory over HTTP, and optionally TFTP (network installs)')
    .description(
      'Serve DIR read-only over HTTP: GET and HEAD, single byte ranges (206/416), no path outside DIR. ' +
      'With --tftp, also serve a TFTP root (pxelinux, GRUB, kernels) on UDP port 69 of the same address, with dnsmasq in TFTP-only mode ' +
      '(no DNS, no DHCP). Prints where each service listens, then one access log line per HTTP request (method, path, status, bytes, ms) ' +
      'and dnsmasq\'s line per TFTP transfer. Runs until interrupted (Ctrl-C, SIGTERM); the TFTP server stops with it.')
    .argument('<dir>', 'directory to serve, e.g. the http/ directory of a tree made by xsforge pxe')
    .option('--bind <addr>', 'address to listen on (0.0.0.0 for every interface)', '127.0.0.1')
    .option('--port <n>', 'TCP port (0: any free port)', port, 8080)
    .option('--tftp <dir>', `also serve this directory over TFTP on port ${TFTP_PORT} (needs root and dnsmasq), e.g. the tftp/ directory of a tree made by xsforge pxe`)
    .option('--json', 'JSON lines: a "listening" line per service, then one "http" line per request and one "tftp" line per dnsmasq message')
    .addHelpText('after', [
      '',
      'Examples:',
      '  xsforge serve output/pxe/http --bind 0.0.0.0 --port 8080',
      '  xsforge serve output/pxe/http --tftp output/pxe/tftp --bind 192.0.2.10',
      '  curl -r 0-1023 http://127.0.0.1:8080/install.img -o head.bin',
      '  curl tftp://127.0.0.1/pxelinux.cfg/default',
      '',
      `PXE firmware asks for TFTP on port ${TFTP_PORT} only, and dnsmasq has no other; several servers on one machine`,
      'each need their own --bind address (every 127.x.y.z is loopback).',
    ].join('\n'))
    .action(async (dir, o) => {
      const json = Boolean(o.json);
      const root = await directory(dir, 'the HTTP root');
      const tftpRoot = o.tftp !== undefined ? await directory(o.tftp, 'the TFTP root (--tftp)') : undefined;
      const srv: RunningHttpServer = await startHttpServer({
        root, bind: o.bind, port: o.port,
        onAccess: (e) => process.stdout.write(`${formatAccessLog(e, json)}\n`),
      }).catch((err: NodeJS.ErrnoException) => {
        const hint = err.code === 'EADDRINUSE' ? 'choose another --port' : err.code === 'EACCES' ? 'ports below 1024 need root; choose --port 8080' : undefined;
        throw new XsforgeError(`cannot listen on ${o.bind}:${o.port}: ${err.message}`, hint);
      });
      let tftp: RunningTftpServer | undefined;
      if (tftpRoot !== undefined) {
        try {
          tftp = await startTftpServer({
            root: tftpRoot, bind: o.bind,
            onLog: (message) => {
              if (json) process.stdout.write(`${JSON.stringify({ type: 'tftp', time: new Date().toISOString(), message })}\n`);
              else process.stderr.write(`tftp: ${message}\n`);
            },
          });
        } catch (err) {
          await srv.close();
          throw err;
        }
      }
      if (json) {
        process.stdout.write(`${JSON.stringify({ type: 'listening', service: 'http', url: srv.url, root })}\n`);
        if (tftp) process.stdout.write(`${JSON.stringify({ type: 'listening', service: 'tftp', url: tftp.url, root: tftpRoot, pid: tftp.pid })}\n`);
      } else {
        process.stderr.write(`serving ${root} at ${srv.url}/\n`);
        if (tftp) process.stderr.write(`serving ${tftpRoot} at ${tftp.url}/ (dnsmasq, pid ${tftp.pid})\n`);
      }
      // ends on SIGINT/SIGTERM (both servers closed), or with an error when either server fails
      await new Promise<void>((done, fail) => {
        let ending = false;
        const end = (err?: Error) => {
          if (ending) return;
          ending = true;
          process.off('SIGINT', onSignal);
          process.off('SIGTERM', onSignal);
          void Promise.all([srv.close(), tftp?.close()]).then(() => (err ? fail(err) : done()));
        };
        const onSignal = () => end();
        process.on('SIGINT', onSignal);
        process.on('SIGTERM', onSignal);
        srv.server.on('error', (err) => end(new XsforgeError(`the HTTP server failed: ${err.message}`)));
        void tftp?.exited.then(({ code, signal }) => {
          end(new XsforgeError(`the TFTP server (dnsmasq) ended unexpectedly (${signal ? `signal ${signal}` : `exit status ${code}`})`));
        });
      });
    });
}

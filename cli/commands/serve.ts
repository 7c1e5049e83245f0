// `xsforge serve DIR`: serve a network-install tree (the http/ half of `xsforge pxe`)
// over HTTP until interrupted, with one access log line per request on stdout.
import { Command, InvalidArgumentError } from '@commander-js/extra-typings';
import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { XsforgeError } from '../../core/errors.ts';
import { formatAccessLog, startHttpServer } from '../../netboot/http-server.ts';

function port(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError('a port is a whole number from 0 (any free port) to 65535');
  return n;
}

export function register(program: Command): void {
  program
    .command('serve')
    .summary('serve a directory over HTTP (network installs)')
    .description(
      'Serve DIR read-only over HTTP: GET and HEAD, single byte ranges (206/416), no path outside DIR. ' +
      'Prints where it listens, then one access log line per request (method, path, status, bytes, ms). ' +
      'Runs until interrupted (Ctrl-C, SIGTERM).')
    .argument('<dir>', 'directory to serve, e.g. the http/ directory of a tree made by xsforge pxe')
    .option('--bind <addr>', 'address to listen on (0.0.0.0 for every interface)', '127.0.0.1')
    .option('--port <n>', 'TCP port (0: any free port)', port, 8080)
    .option('--json', 'JSON lines: a "listening" line, then one "http" line per request')
    .addHelpText('after', [
      '',
      'Examples:',
      '  xsforge serve output/pxe/http --bind 0.0.0.0 --port 8080',
      '  curl -r 0-1023 http://127.0.0.1:8080/install.img -o head.bin',
    ].join('\n'))
    .action(async (dir, o) => {
      const root = resolve(dir);
      const st = await stat(root).catch(() => undefined);
      if (!st?.isDirectory()) throw new XsforgeError(`not a directory: ${dir}`);
      const srv = await startHttpServer({
        root, bind: o.bind, port: o.port,
        onAccess: (e) => process.stdout.write(`${formatAccessLog(e, Boolean(o.json))}\n`),
      }).catch((err: NodeJS.ErrnoException) => {
        const hint = err.code === 'EADDRINUSE' ? 'choose another --port' : err.code === 'EACCES' ? 'ports below 1024 need root; choose --port 8080' : undefined;
        throw new XsforgeError(`cannot listen on ${o.bind}:${o.port}: ${err.message}`, hint);
      });
      if (o.json) process.stdout.write(`${JSON.stringify({ type: 'listening', url: srv.url, root })}\n`);
      else process.stderr.write(`serving ${root} at ${srv.url}/\n`);
      await new Promise<void>((done) => {
        const stop = () => {
          process.off('SIGINT', stop);
          process.off('SIGTERM', stop);
          void srv.close().then(done);
        };
        process.on('SIGINT', stop);
        process.on('SIGTERM', stop);
      });
    });
}

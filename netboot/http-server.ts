// A small static HTTP server for a network-install tree (http/: the repository
// and answer files). Read-only: GET and HEAD, one byte range per request (the
// installer and yum resume downloads with them), nothing outside the root.
import { createReadStream } from 'node:fs';
import { realpath, stat } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, sep } from 'node:path';

export type ByteRange = { start: number; end: number };

/**
 * A Range header against a file of `size` bytes (RFC 9110 section 14):
 * undefined = serve the whole file (no header, another unit, or several ranges,
 * which a server may ignore); 'unsatisfiable' = answer 416; else the inclusive range.
 */
export function parseRange(header: string | undefined, size: number): ByteRange | 'unsatisfiable' | undefined {
  if (header === undefined) return undefined;
  const m = /^\s*bytes\s*=\s*(.*)$/i.exec(header);
  if (!m) return undefined;
  const spec = m[1]!.trim();
  if (spec.includes(',')) return undefined;
  const r = /^(\d*)\s*-\s*(\d*)$/.exec(spec);
  if (!r || (r[1] === '' && r[2] === '')) return 'unsatisfiable';
  if (r[1] === '') {
    // suffix: the last n bytes
    const n = Number(r[2]);
    if (n === 0 || size === 0) return 'unsatisfiable';
    return { start: Math.max(0, size - n), end: size - 1 };
  }
  const start = Number(r[1]);
  const end = r[2] === '' ? size - 1 : Math.min(Number(r[2]), size - 1);
  if (start >= size || (r[2] !== '' && Number(r[2]) < start)) return 'unsatisfiable';
  return { start, end };
}

/**
 * The file a request path names under `root`, or an HTTP status: 400 for a path
 * that does not decode, 403 for one that climbs out ('..' also when written %2e%2e).
 */
export function requestPath(root: string, url: string): string | 400 | 403 {
  const raw = url.split(/[?#]/, 1)[0]!;
  if (!raw.startsWith('/')) return 400;
  let decoded: string;
  try {
    decoded = decodeURIComponent(raw);
  } catch {
    return 400;
  }
  if (decoded.includes('\0')) return 400;
  const parts = decoded.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.some((p) => p === '..')) return 403;
  return join(root, ...parts);
}

const CONTENT_TYPES: Record<string, string> = {
  '.xml': 'application/xml', '.gz': 'application/gzip', '.rpm': 'application/x-rpm', '.asc': 'text/plain',
  '.txt': 'text/plain', '.cfg': 'text/plain', '.json': 'application/json', '.html': 'text/html', '.iso': 'application/x-iso9660-image',
};

export function contentType(path: string): string {
  return CONTENT_TYPES[extname(path).toLowerCase()] ?? 'application/octet-stream';
}

export interface AccessLogEntry {
  time: string;
  remote: string;
  method: string;
  path: string;
  status: number;
  /** body bytes sent */
  bytes: number;
  ms: number;
  range?: string;
}

export function formatAccessLog(e: AccessLogEntry, json: boolean): string {
  if (json) return JSON.stringify({ type: 'http', ...e });
  return `${e.time} ${e.remote} ${e.method} ${e.path} ${e.status} ${e.bytes} ${e.ms}ms${e.range ? ` range=${e.range}` : ''}`;
}

export interface HttpServeOptions {
  root: string;
  /** default 127.0.0.1 */
  bind?: string;
  /** default 8080; 0 = any free port */
  port?: number;
  /** called once per request when its response has ended */
  onAccess?: (entry: AccessLogEntry) => void;
}

export interface RunningHttpServer {
  server: Server;
  /** e.g. http://127.0.0.1:8080 (no trailing slash) */
  url: string;
  port: number;
  close(): Promise<void>;
}

async function handle(root: string, realRoot: string, req: IncomingMessage, res: ServerResponse, sent: { bytes: number }): Promise<void> {
  const fail = (status: number, text: string, headers: Record<string, string> = {}) => {
    const body = `${text}\n`;
    res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': String(Buffer.byteLength(body)), ...headers });
    if (req.method === 'HEAD') res.end();
    else {
      sent.bytes += Buffer.byteLength(body);
      res.end(body);
    }
  };
  if (req.method !== 'GET' && req.method !== 'HEAD') return fail(405, 'method not allowed', { Allow: 'GET, HEAD' });
  const target = requestPath(root, req.url ?? '/');
  if (target === 400) return fail(400, 'bad request path');
  if (target === 403) return fail(403, 'forbidden');
  let file: string;
  try {
    // a symbolic link inside the tree must not lead out of it either
    file = await realpath(target);
  } catch {
    return fail(404, 'not found');
  }
  if (file !== realRoot && !file.startsWith(realRoot + sep)) return fail(403, 'forbidden');
  const st = await stat(file);
  if (!st.isFile()) return fail(404, 'not found');

  const size = st.size;
  const range = parseRange(req.headers.range, size);
  if (range === 'unsatisfiable') return fail(416, 'range not satisfiable', { 'Content-Range': `bytes */${size}` });
  const start = range?.start ?? 0;
  const end = range?.end ?? size - 1;
  const length = size === 0 ? 0 : end - start + 1;
  const headers: Record<string, string> = {
    'Content-Type': contentType(file),
    'Content-Length': String(length),
    'Accept-Ranges': 'bytes',
    'Last-Modified': st.mtime.toUTCString(),
  };
  if (range) headers['Content-Range'] = `bytes ${start}-${end}/${size}`;
  res.writeHead(range ? 206 : 200, headers);
  if (req.method === 'HEAD' || length === 0) {
    res.end();
    return;
  }
  await new Promise<void>((resolve) => {
    const stream = createReadStream(file, { start, end });
    stream.on('data', (c) => { sent.bytes += c.length; });
    stream.on('error', () => { res.destroy(); resolve(); });
    stream.on('end', resolve);
    res.on('close', () => { stream.destroy(); resolve(); });
    stream.pipe(res);
  });
}

/** Starts serving `root`; resolves once the server listens. */
export async function startHttpServer(o: HttpServeOptions): Promise<RunningHttpServer> {
  const root = o.root;
  const realRoot = await realpath(root);
  const server = createServer((req, res) => {
    const started = process.hrtime.bigint();
    const sent = { bytes: 0 };
    res.on('close', () => {
      o.onAccess?.({
        time: new Date().toISOString(),
        remote: req.socket.remoteAddress ?? '',
        method: req.method ?? '',
        path: req.url ?? '',
        status: res.statusCode,
        bytes: sent.bytes,
        ms: Number((process.hrtime.bigint() - started) / 1_000_000n),
        ...(req.headers.range ? { range: req.headers.range } : {}),
      });
    });
    handle(root, realRoot, req, res, sent).catch(() => {
      if (!res.headersSent) res.writeHead(500).end();
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port ?? 8080, o.bind ?? '127.0.0.1', () => { server.off('error', reject); resolve(); });
  });
  const addr = server.address() as AddressInfo;
  const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  return {
    server,
    port: addr.port,
    url: `http://${host}:${addr.port}`,
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}

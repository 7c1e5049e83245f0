// writeNetbootTree on the default build's real files, the tree served by our HTTP
// server and fetched with curl (ranges, HEAD, traversal), `xsforge serve`, and the
// DHCP example checked by dnsmasq itself.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { REPO_ROOT } from '../../cli/shared.ts';
import { run } from '../../core/exec.ts';
import { sha256File } from '../../core/hash.ts';
import { startHttpServer, type AccessLogEntry, type RunningHttpServer } from '../../netboot/http-server.ts';
import type { NetbootHost } from '../../netboot/pxe-config.ts';
import { answerUrl, writeNetbootTree, type NetbootTree } from '../../netboot/tree.ts';
import { netbootInputs, type NetbootInputs } from '../lib/netboot.ts';

const work = mkdtempSync(join(tmpdir(), 'xsf-netboot-'));
const BASE = 'http://192.0.2.1:8080';
const MAC1 = '52:54:00:00:00:11';
const MAC2 = '52:54:00:00:00:22';
const hosts: NetbootHost[] = [
  { mac: MAC1, hostname: 'dhcp-host', answerfileUrl: answerUrl(BASE, MAC1), xenArgs: [], dom0Args: [`answerfile=${answerUrl(BASE, MAC1)}`, 'install'] },
  { mac: MAC2, hostname: 'static-host', answerfileUrl: answerUrl(BASE, MAC2), xenArgs: [], dom0Args: ['answerfile_device=eth0', 'network_config=static:ip=192.0.2.22;netmask=255.255.255.0;gateway=192.0.2.1', 'install'] },
];
const answers = { [MAC1]: '<installation><primary-disk>sda</primary-disk></installation>\n', [MAC2]: '<installation mode="fresh"><primary-disk>sdb</primary-disk></installation>\n' };
let inputs: NetbootInputs;
let tree: NetbootTree;
let out: string;
let server: RunningHttpServer;
const accessLog: AccessLogEntry[] = [];

test.before(async () => {
  inputs = await netbootInputs(work);
  out = join(work, 'pxe');
  const t0 = Date.now();
  tree = await writeNetbootTree({ menu: inputs.menu, id: inputs.id, hosts, out, sources: inputs.sources, baseUrl: BASE, httpTree: { repoDir: inputs.isoTree, answers } });
  console.log(`writeNetbootTree: ${Date.now() - t0} ms`);
  server = await startHttpServer({ root: join(out, 'http'), port: 0, onAccess: (e) => accessLog.push(e) });
});
test.after(async () => {
  await server?.close();
  rmSync(work, { recursive: true, force: true });
});

test('the tree holds the BIOS and UEFI boot files, per-host configs, the repository and the answer files', async () => {
  const files = tree.files.map((f) => f.path);
  for (const f of ['tftp/pxelinux.0', 'tftp/ldlinux.c32', 'tftp/mboot.c32', 'tftp/menu.c32', 'tftp/libcom32.c32', 'tftp/libutil.c32',
    'tftp/xenserver/xen.gz', 'tftp/xenserver/vmlinuz', 'tftp/xenserver/install.img', 'tftp/pxelinux.cfg/default',
    'tftp/pxelinux.cfg/01-52-54-00-00-00-11', 'tftp/pxelinux.cfg/01-52-54-00-00-00-22', 'tftp/EFI/xenserver/grubx64.efi', 'tftp/EFI/xenserver/grub.cfg',
    'http/.treeinfo', 'http/repodata/repomd.xml', 'http/dom0/root.tar.zst', `http/answers/${MAC1}.xml`, `http/answers/${MAC2}.xml`,
    'dhcp/dhcpd.conf.example', 'dhcp/dnsmasq.conf.example']) {
    assert.ok(files.includes(f), f);
    assert.ok(existsSync(join(out, f)), f);
  }
  assert.ok(files.some((f) => /^http\/Packages\/.+\.rpm$/.test(f)));
  assert.is(await sha256File(join(out, 'tftp/xenserver/install.img')), await sha256File(inputs.sources.installImg));
  // same file system here: the 90 MB install.img is a hard link, not a copy
  const img = tree.files.find((f) => f.path === 'tftp/xenserver/install.img')!;
  assert.ok(img.linked);
  assert.is(statSync(join(out, img.path)).ino, statSync(inputs.sources.installImg).ino);
  assert.is(readFileSync(join(out, 'http/answers', `${MAC2}.xml`), 'utf8'), answers[MAC2]);
  const host2 = readFileSync(join(out, 'tftp/pxelinux.cfg/01-52-54-00-00-00-22'), 'utf8');
  assert.match(host2, /APPEND xenserver\/xen\.gz .* --- xenserver\/vmlinuz .* answerfile_device=eth0 network_config=static:ip=192\.0\.2\.22;netmask=255\.255\.255\.0;gateway=192\.0\.2\.1 answerfile=http:\/\/192\.0\.2\.1:8080\/answers\/52:54:00:00:00:22\.xml install --- xenserver\/install\.img\n/);
  assert.ok(readFileSync(join(out, 'tftp/EFI/xenserver/grub.cfg'), 'utf8').includes(`[ "$net_default_mac" = "${MAC2}" ]`));
  assert.equal(readdirSync(work).filter((n) => n.includes('.tmp-')), [], 'no scratch directory left');
});

test('dnsmasq accepts the example configuration', async () => {
  const conf = join(work, 'dnsmasq.conf');
  // the example leaves the address range to the admin; dnsmasq --test wants a complete file
  writeFileSync(conf, `${readFileSync(join(out, 'dhcp/dnsmasq.conf.example'), 'utf8')}dhcp-range=192.0.2.100,192.0.2.200,12h\n`);
  const r = await run(['dnsmasq', '--test', `--conf-file=${conf}`]);
  assert.match(r.outputTail, /syntax check OK/);
  const isc = readFileSync(join(out, 'dhcp/dhcpd.conf.example'), 'utf8');
  assert.ok(isc.includes('next-server 192.0.2.1;') && isc.includes('filename "pxelinux.0";') && isc.includes('filename "EFI/xenserver/grubx64.efi";'));
});

test('a failing write leaves the previous tree untouched and no scratch directory', async () => {
  const before = await sha256File(join(out, 'tftp/pxelinux.cfg/default'));
  try {
    await writeNetbootTree({ menu: inputs.menu, id: inputs.id, hosts, out, baseUrl: BASE,
      sources: { ...inputs.sources, installImg: join(work, 'missing.img') } });
    assert.unreachable('a missing source must fail');
  } catch (err) {
    assert.match((err as Error).message, /installImg not found/);
  }
  try {
    // an answer file for a MAC no host has fails after part of the tree is written
    await writeNetbootTree({ menu: inputs.menu, id: inputs.id, hosts: [hosts[0]!], out, baseUrl: BASE, sources: inputs.sources,
      httpTree: { repoDir: join(work, 'no-such-repo'), answers: { [MAC1]: '<installation/>' } } });
    assert.unreachable('a missing repository must fail');
  } catch (err) {
    assert.ok(err instanceof Error);
  }
  assert.is(await sha256File(join(out, 'tftp/pxelinux.cfg/default')), before);
  assert.ok(existsSync(join(out, 'tftp/pxelinux.cfg/01-52-54-00-00-00-22')), 'the earlier tree is still whole');
  assert.equal(readdirSync(work).filter((n) => n.includes('.tmp-')), []);
});

async function curl(args: string[]): Promise<{ status: number; headers: string; body: Buffer }> {
  const hdr = join(work, 'curl-headers');
  const r = await run(['curl', '-s', '-D', hdr, '-o', '-', '-w', '', ...args]);
  const headers = readFileSync(hdr, 'utf8');
  return { status: Number(/^HTTP\/[\d.]+ (\d+)/.exec(headers)?.[1]), headers, body: r.stdoutBytes };
}

test('HTTP: GET, Range a-b / a- / -n with 206 and Content-Range, HEAD, 416', async () => {
  const url = server.url;
  const treeinfo = await curl([`${url}/.treeinfo`]);
  assert.is(treeinfo.status, 200);
  assert.equal(treeinfo.body, readFileSync(join(inputs.isoTree, '.treeinfo')));
  assert.match(treeinfo.headers, new RegExp(`content-length: ${statSync(join(inputs.isoTree, '.treeinfo')).size}\\r?\\n`, 'i'));

  const img = readFileSync(join(out, 'http/install.img'));
  const mid = await curl(['-r', '1000-1999', `${url}/install.img`]);
  assert.is(mid.status, 206);
  assert.match(mid.headers, new RegExp(`content-range: bytes 1000-1999/${img.length}\\r?\\n`, 'i'));
  assert.equal(mid.body, img.subarray(1000, 2000));
  const tail = await curl(['-r', '-4096', `${url}/install.img`]);
  assert.is(tail.status, 206);
  assert.equal(tail.body, img.subarray(img.length - 4096));
  const from = await curl(['-r', `${img.length - 10}-`, `${url}/install.img`]);
  assert.equal(from.body, img.subarray(img.length - 10));

  const head = await curl(['-I', `${url}/install.img`]);
  assert.is(head.status, 200);
  assert.match(head.headers, new RegExp(`content-length: ${img.length}\\r?\\n`, 'i'));
  // curl -I writes the headers as its output: nothing after them means no body was sent
  assert.is(head.body.toString(), head.headers);

  const bad = await curl(['-r', `${img.length}-`, `${url}/install.img`]);
  assert.is(bad.status, 416);
  assert.match(bad.headers, new RegExp(`content-range: bytes \\*/${img.length}`, 'i'));
  assert.is((await curl([`${url}/answers/${encodeURIComponent(MAC1)}.xml`])).body.toString(), answers[MAC1]);
  assert.is((await curl([`${url}/nothing-here`])).status, 404);
  assert.is((await curl(['-X', 'POST', `${url}/.treeinfo`])).status, 405);
});

test('HTTP: no way out of the root, however the dots are written', async () => {
  for (const path of ['/../../../etc/passwd', '/%2e%2e/%2e%2e/etc/passwd', '/repodata/%2E%2E%2F%2E%2E%2Fetc%2Fpasswd', '/repodata/..%2f..%2f..%2fetc/passwd']) {
    const r = await curl(['--path-as-is', `${server.url}${path}`]);
    assert.is(r.status, 403, path);
    assert.not.ok(r.body.toString().includes('root:'), path);
  }
});

test('HTTP: one access log entry per request with method, path, status, bytes and time', () => {
  const ranged = accessLog.find((e) => e.status === 206 && e.range === 'bytes=1000-1999');
  assert.ok(ranged, JSON.stringify(accessLog));
  assert.is(ranged!.method, 'GET');
  assert.is(ranged!.path, '/install.img');
  assert.is(ranged!.bytes, 1000);
  assert.ok(ranged!.ms >= 0);
  const head = accessLog.find((e) => e.method === 'HEAD')!;
  assert.is(head.bytes, 0);
  assert.ok(accessLog.some((e) => e.status === 403 && e.path.includes('%2e%2e')));
});

test('xsforge serve: --port 0 --json prints where it listens and a JSON line per request; SIGTERM ends it', async () => {
  // the command module run on its own (tests/lib/command-main.ts): the same as `xsforge serve` once registered
  const child = spawn(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'tests/lib/command-main.ts'), join(REPO_ROOT, 'cli/commands/serve.ts'),
    'serve', join(out, 'http'), '--port', '0', '--json'], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout });
  const next = () => new Promise<any>((resolve, reject) => {
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error('xsforge serve printed nothing within 20 s')); }, 20_000);
    lines.once('line', (l) => { clearTimeout(timer); resolve(JSON.parse(l)); });
  });
  const listening = await next();
  assert.is(listening.type, 'listening');
  assert.match(listening.url, /^http:\/\/127\.0\.0\.1:\d+$/);
  const logLine = next();
  const r = await curl(['-r', '0-9', `${listening.url}/.treeinfo`]);
  assert.is(r.status, 206);
  const entry = await logLine;
  assert.equal({ type: entry.type, method: entry.method, path: entry.path, status: entry.status, bytes: entry.bytes }, { type: 'http', method: 'GET', path: '/.treeinfo', status: 206, bytes: 10 });
  const code = await new Promise<number | null>((resolve) => { child.on('close', resolve); child.kill('SIGTERM'); });
  assert.is(code, 0);
});

test.run();

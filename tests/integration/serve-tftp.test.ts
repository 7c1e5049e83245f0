// `xsforge serve --tftp`: dnsmasq in TFTP-only mode beside the HTTP server, on a
// tree from writeNetbootTree (stand-in boot files). Files fetched with curl over
// tftp:// byte for byte, a missing file is an error, a taken address is refused,
// and SIGTERM stops dnsmasq with serve. Loopback only: dnsmasq's TFTP port is
// always 69, so each run takes its own 127.x.y.z address instead of a high port.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { DEFAULT_RECIPE, REPO_ROOT } from '../../cli/shared.ts';
import { ToolError } from '../../core/errors.ts';
import { run, startProcess } from '../../core/exec.ts';
import { buildMenu } from '../../media/menu.ts';
import { dnsmasqTftpArgv } from '../../netboot/tftp-server.ts';
import { PXELINUX_FILES, answerUrl, writeNetbootTree } from '../../netboot/tree.ts';
import { loadRecipe } from '../../recipes/load.ts';

const work = mkdtempSync(join(tmpdir(), 'xsf-serve-tftp-'));
// dnsmasq reads the tree as user nobody: mkdtemp's 0700 would hide it
chmodSync(work, 0o755);
const tree = join(work, 'pxe');
const BASE = 'http://127.0.0.1:8080';
const MAC = '52:54:00:aa:00:01';
// a loopback address of this run's own, so parallel runs do not meet on port 69
const ADDR = `127.${50 + (process.pid % 150)}.${Math.floor(Math.random() * 250) + 1}.${Math.floor(Math.random() * 250) + 1}`;
const children: ChildProcess[] = [];

test.before(async () => {
  const src = join(work, 'src');
  mkdirSync(src);
  // a binary stand-in for the hypervisor: every byte value, so a text-mode transfer would show
  writeFileSync(join(src, 'xen.gz'), Buffer.from(Array.from({ length: 3000 }, (_, i) => (i * 7) % 256)));
  for (const f of ['vmlinuz', 'install.img', 'grubx64.efi', ...PXELINUX_FILES]) writeFileSync(join(src, f), `${f}\n`);
  const recipe = loadRecipe(DEFAULT_RECIPE);
  await writeNetbootTree({
    menu: buildMenu(recipe),
    id: { brand: recipe.product.brand, version: recipe.product.version, build: recipe.product.build_number },
    hosts: [{ mac: MAC, hostname: 'tftp-host', answerfileUrl: answerUrl(BASE, MAC), xenArgs: [], dom0Args: [] }],
    out: tree, baseUrl: BASE,
    sources: { xenGz: join(src, 'xen.gz'), vmlinuz: join(src, 'vmlinuz'), installImg: join(src, 'install.img'), syslinuxDir: src, grubNetImage: join(src, 'grubx64.efi') },
    httpTree: { repoDir: src, answers: { [MAC]: '<installation/>\n' } },
  });
});

test.after(async () => {
  // SIGTERM, not SIGKILL: serve must get to stop its dnsmasq
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGTERM');
  await Promise.all(children.map(exited));
  rmSync(work, { recursive: true, force: true });
});

interface Served {
  child: ChildProcess;
  /** the next JSON line on stdout (lines are queued: several can come in one chunk) */
  next(what: string): Promise<any>;
  stderr(): string;
}

function serve(args: string[]): Served {
  const child = spawn(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'tests/lib/command-main.ts'), join(REPO_ROOT, 'cli/commands/serve.ts'), 'serve', ...args],
    { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let err = '';
  child.stderr!.on('data', (c: Buffer) => { err += c.toString(); });
  const queued: string[] = [];
  let waiting: ((line: string) => void) | undefined;
  createInterface({ input: child.stdout! }).on('line', (l) => {
    if (waiting) waiting(l);
    else queued.push(l);
  });
  const next = (what: string) => new Promise<any>((resolve, reject) => {
    const line = queued.shift();
    if (line !== undefined) return resolve(JSON.parse(line));
    const timer = setTimeout(() => { waiting = undefined; reject(new Error(`no ${what} within 20 s; stderr: ${err}`)); }, 20_000);
    waiting = (l) => { waiting = undefined; clearTimeout(timer); resolve(JSON.parse(l)); };
  });
  return { child, next, stderr: () => err };
}

function exited(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve(child.exitCode);
    else child.on('close', resolve);
  });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

test('dnsmasq argv: TFTP only (DNS off, no config file), bound to the address unless it is the wildcard', () => {
  const argv = dnsmasqTftpArgv({ root: '/srv/tftp', bind: '127.0.0.1' });
  assert.is(argv[0], 'dnsmasq');
  for (const a of ['--port=0', '--enable-tftp', '--tftp-root=/srv/tftp', '--conf-file=/dev/null', '--keep-in-foreground', '--log-facility=-', '--listen-address=127.0.0.1', '--bind-interfaces']) {
    assert.ok(argv.includes(a), a);
  }
  assert.not.ok(argv.some((a) => a.startsWith('--dhcp-range')));
  const wild = dnsmasqTftpArgv({ root: '/srv/tftp', bind: '0.0.0.0' });
  assert.not.ok(wild.some((a) => a.startsWith('--listen-address') || a === '--bind-interfaces'));
});

test('startProcess: a running child is stopped by stop(); a missing command is an error', async () => {
  const p = await startProcess(['sleep', '30']);
  assert.ok(alive(p.pid));
  await p.stop(2000);
  assert.is((await p.exited).signal, 'SIGTERM');
  assert.not.ok(alive(p.pid));
  try {
    await startProcess(['xsforge-no-such-tool-here']);
    assert.unreachable('a missing command must fail');
  } catch (err) {
    assert.instance(err, ToolError);
    assert.match((err as Error).message, /cannot run/);
  }
});

test('serve --tftp: files byte for byte over tftp://, a missing file fails, a taken address is refused, SIGTERM stops dnsmasq', async () => {
  const s = serve([join(tree, 'http'), '--port', '0', '--bind', ADDR, '--tftp', join(tree, 'tftp'), '--json']);
  const http = await s.next('http listening line');
  assert.equal({ type: http.type, service: http.service }, { type: 'listening', service: 'http' });
  const tftp = await s.next('tftp listening line');
  assert.equal({ type: tftp.type, service: tftp.service, url: tftp.url }, { type: 'listening', service: 'tftp', url: `tftp://${ADDR}:69` });
  assert.ok(alive(tftp.pid), 'dnsmasq runs');

  for (const f of ['pxelinux.cfg/default', `pxelinux.cfg/01-${MAC.replaceAll(':', '-')}`, 'EFI/xenserver/grub.cfg', 'xenserver/xen.gz']) {
    const got = await run(['curl', '-s', `tftp://${ADDR}:69/${f}`]);
    assert.ok(got.stdoutBytes.equals(readFileSync(join(tree, 'tftp', f))), f);
  }
  const log = await s.next('tftp log line');
  assert.is(log.type, 'tftp');
  assert.match(log.message, /sent .*pxelinux\.cfg\/default to 127\.0\.0\.1/);

  // curl exits 68 for a TFTP "file not found"
  try {
    await run(['curl', '-s', `tftp://${ADDR}:69/no/such/file`]);
    assert.unreachable('a missing file must fail');
  } catch (err) {
    assert.instance(err, ToolError);
    assert.is((err as ToolError).exitCode, 68);
  }
  // nothing outside the root either
  await run(['curl', '-s', `tftp://${ADDR}:69/../http/answers/${MAC}.xml`]).then(
    () => assert.unreachable('a path out of the root must fail'),
    (err) => assert.instance(err, ToolError),
  );

  // a second serve on the same address: a clear error, and the first still serves
  const second = serve([join(tree, 'http'), '--port', '0', '--bind', ADDR, '--tftp', join(tree, 'tftp')]);
  assert.is(await exited(second.child), 1);
  assert.match(second.stderr(), new RegExp(`cannot serve TFTP on ${ADDR.replaceAll('.', '\\.')}:69: the port is taken`));
  assert.ok(alive(tftp.pid));
  assert.ok((await run(['curl', '-s', `tftp://${ADDR}:69/pxelinux.cfg/default`])).stdout.length > 0);

  s.child.kill('SIGTERM');
  assert.is(await exited(s.child), 0);
  assert.not.ok(alive(tftp.pid), 'dnsmasq ended with serve');
});

test('serve --tftp: a TFTP root nobody may read is refused with dnsmasq\'s reason, and the HTTP server is not left running', async () => {
  const hidden = join(work, 'hidden');
  mkdirSync(join(hidden, 'tftp'), { recursive: true });
  chmodSync(hidden, 0o700);
  const s = serve([join(tree, 'http'), '--port', '0', '--bind', ADDR, '--tftp', join(hidden, 'tftp'), '--json']);
  assert.is(await exited(s.child), 1);
  assert.match(s.stderr(), /inaccessible: Permission denied/);
  assert.match(s.stderr(), /user nobody/);
});

test.run();

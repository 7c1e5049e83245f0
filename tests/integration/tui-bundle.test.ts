// The interactive installer bundled by esbuild the way install.img bundles the
// runtime (one CommonJS file for node 18), run as its own process on real
// stdin/stdout pipes and driven with tests/lib/expect.ts.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { expectScreen, type } from '../lib/expect.ts';

const REPO = dirname(dirname(dirname(fileURLToPath(import.meta.url))));
const work = mkdtempSync(join(tmpdir(), 'xsf-tui-'));
test.after(() => rmSync(work, { recursive: true, force: true }));

// The entry stands in for installer/runtime/main.ts: hardware and callbacks made up.
const ENTRY = `
import { runInteractiveInstall, readTimezones } from './installer/tui/index.ts';
const GiB = 2 ** 30;
runInteractiveInstall({ input: process.stdin, output: process.stdout }, {
  disks: [{ name: 'sda', path: '/dev/sda', sizeBytes: 60 * GiB, model: 'QEMU HARDDISK' }],
  nics: [{ name: 'eth0', mac: '52:54:00:00:00:01' }],
  detection: { installations: [], backups: [] },
  eulaText: 'Licence.',
  timezones: readTimezones(process.env.ZONEINFO_DIR),
  productVersion: '7.1.2',
  planSummary: (c) => 'Installation plan: ' + (c.kind === 'install' ? c.mode + ' on ' + c.primaryDisk : c.kind),
  verifySource: async () => ({ ok: true }),
}, { escapeTimeoutMs: 50 }).then((r) => {
  process.stderr.write('RESULT ' + JSON.stringify(r) + '\\n');
  // the caller owns the input stream: a pipe or TTY left open keeps the process alive
  process.stdin.destroy();
});
`;

test('bundles for node 18 and installs over pipes', async () => {
  const out = join(work, 'tui.js');
  await build({
    stdin: { contents: ENTRY, resolveDir: REPO, sourcefile: 'entry.ts', loader: 'ts' },
    outfile: out, bundle: true, platform: 'node', target: 'node18', format: 'cjs', logLevel: 'silent',
  });
  assert.ok(statSync(out).size > 10_000);
  const child = spawn(process.execPath, [out], { env: { ...process.env, ZONEINFO_DIR: '/usr/share/zoneinfo' }, stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (c: string) => { stdout += c; });
  child.stderr.setEncoding('utf8').on('data', (c: string) => { stderr += c; });
  const read = () => stdout;
  const send = (t: string) => { child.stdin.write(t); };
  try {
    let since = 0;
    const steps: [RegExp, string][] = [
      [/Select Keymap/, '{enter}'],
      [/Welcome to XenServer Setup/, '{enter}'],
      [/End User License Agreement[\s\S]*Licence\./, '{enter}'],
      // one disk and one NIC: those screens are passed
      [/Virtual Machine Storage/, '{enter}'],
      [/Select Installation Source/, '{enter}'],
      [/Verify Installation Source/, '2{enter}'],
      [/Verification Successful/, '{enter}'],
      [/Set Password/, 'secret1{tab}secret1{enter}'],
      [/Configuration for eth0/, '{enter}'],
      [/Hostname and DNS/, '2{tab}bundled{enter}'],
      [/geographical area[\s\S]*Europe/, 'Europe{enter}'],
      [/city or area/, 'London{enter}'],
      [/System Time/, '{enter}'],
      [/NTP Configuration/, '{enter}'],
      [/Installation plan: fresh on \/dev\/sda/, '{enter}'],
    ];
    for (const [screen, keys] of steps) {
      since = (await expectScreen(read, screen, 5000, { since })).offset;
      await type(send, keys);
    }
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('the installer did not exit after its last screen')), 5000);
      child.on('exit', () => { clearTimeout(timer); resolve(); });
      if (child.exitCode !== null) { clearTimeout(timer); resolve(); }
    });
  } finally {
    child.kill();
  }
  const line = /RESULT (.*)/.exec(stderr);
  assert.ok(line, stderr);
  const r = JSON.parse(line![1]!);
  assert.is(r.config.hostname, 'bundled');
  assert.is(r.config.timezone, 'Europe/London');
  assert.is(r.config.primaryDisk, '/dev/sda');
  assert.equal(r.config.ntpServers, []);
  assert.is(r.setup.sourceVerified, true);
  assert.match(r.answerFile, /<hostname>bundled<\/hostname>/);
});

test.run();

// Installs that must stop before any disk is touched: a failing
// installation-start script, and answer files the installer rejects. Each boots
// the same install ISO as install.test.ts (cached), with a blank sparse disk that
// must still have no allocated block afterwards.
// test-lock: answer-port
// (tests/lib/install-env.ts ANSWER_PORT is fixed so the ISO stays cached: such files never overlap)
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { closeSync, copyFileSync, mkdtempSync, openSync, readSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { MESSAGES } from '../../answerfiles/model.ts';
import { openIsoFile } from '../../media/iso9660.ts';
import { damagedPackagesMessage } from '../../repo/verify.ts';
import { withVm } from '../../testbed/qemu.ts';
import { AnswerServer, GUEST_HOST_URL, NIC_ARGS, buildInstallIso, freshAnswer, sparseDisk } from '../lib/install-env.ts';
import { xsforge } from '../lib/build.ts';

const work = mkdtempSync(join(tmpdir(), 'xsf-refuse-'));
const server = new AnswerServer();
let iso = '';

test.before(async () => {
  await server.start();
  iso = await buildInstallIso(work, 'e2e-install');
});
test.after(() => {
  server.stop();
  rmSync(work, { recursive: true, force: true });
});

const UNRECOVERABLE = 'An unrecoverable error has occurred.  The error was:';

/** Boot the installer with `answer` served; returns the console text. The disk stays blank. */
async function refusedInstall(name: string, answer: string, planned = false): Promise<string> {
  server.served.set('/answer.xml', answer);
  const disk = join(work, `${name}.img`);
  sparseDisk(disk, 60e9);
  let console = '';
  await withVm({ media: iso, bootAs: 'cd', firmware: 'bios', serialLog: join(work, `${name}.log`), extraDisks: [{ path: disk, writable: true }], extraArgs: NIC_ARGS, memoryMiB: 2048 }, async (vm) => {
    await vm.waitFor(/XSFORGE-INSTALL-FAILED reason=/, 600_000);
    assert.is(await vm.waitExit(180_000), 0, 'atexit=poweroff still ends QEMU after a failure');
    console = vm.serialText();
  });
  assert.ok(console.includes(UNRECOVERABLE), "the product's unrecoverable-error text is on the console");
  // a valid answer file gets its plan printed; scripts of installation-start run before any write
  if (planned) assert.match(console, /XSFORGE-INSTALL-PLAN disk=\/dev\/sda/);
  else assert.not.match(console, /XSFORGE-INSTALL-PLAN/, 'no install plan was made');
  assert.is(statSync(disk).blocks, 0, 'nothing was written to the disk');
  return console;
}

test('a failing installation-start script stops the install; installation-complete scripts get 1', async () => {
  const answer = freshAnswer('xsf-refused', [
    `  <script stage="installation-start" type="url">${GUEST_HOST_URL}/start.sh</script>`,
    `  <script stage="installation-complete" type="url">${GUEST_HOST_URL}/complete.sh</script>`,
    '',
  ].join('\n'));
  server.served.set('/start.sh', `#!/bin/sh\ncurl -fsS ${GUEST_HOST_URL}/start-ran >/dev/null\nexit 3\n`);
  server.served.set('/complete.sh', `#!/bin/sh\ncurl -fsS "${GUEST_HOST_URL}/complete-ran?status=$1" >/dev/null || true\n`);
  server.served.set('/start-ran', '');
  server.served.set('/complete-ran', '');
  const before = server.requests.length;
  const console = await refusedInstall('failing-start-script', answer, true);
  assert.ok(console.includes(`Script ${GUEST_HOST_URL}/start.sh (installation-start) failed with exit status 3`), 'the cause names the script and its status');
  const requests = server.requests.slice(before);
  assert.ok(requests.includes('/start-ran'), 'the installation-start script ran');
  assert.ok(requests.includes('/complete-ran?status=1'), `installation-complete was called with 1 (requests: ${requests.join(' ')})`);
});

/** A copy of the ISO with one byte of a package flipped (found by our ISO reader); returns its file name. */
async function isoWithDamagedPackage(src: string, dest: string, match: RegExp): Promise<string> {
  copyFileSync(src, dest);
  const image = await openIsoFile(dest);
  let entry;
  try {
    entry = (await image.listFiles()).find((f) => f.type === 'file' && match.test(f.path));
    assert.ok(entry, `the ISO has a package matching ${match}`);
  } finally {
    await image.close();
  }
  const fd = openSync(dest, 'r+');
  try {
    const at = entry!.extents[0]!.lba * 2048 + Math.floor(entry!.extents[0]!.size / 2);
    const b = Buffer.alloc(1);
    readSync(fd, b, 0, 1, at);
    b[0] = b[0]! ^ 0xff;
    writeSync(fd, b, 0, 1, at);
  } finally {
    closeSync(fd);
  }
  return basename(entry!.path);
}

test('a damaged package on the media is named by the verify step, and the disk is not touched', async () => {
  const damagedIso = join(work, 'damaged.iso');
  const name = await isoWithDamagedPackage(iso, damagedIso, /^\/?Packages\/kernel-.*\.rpm$/);
  const original = iso;
  iso = damagedIso;
  try {
    const console = await refusedInstall('damaged-package', freshAnswer('xsf-damaged'), true);
    assert.ok(console.includes(damagedPackagesMessage([name])), `the console names ${name}`);
    assert.not.match(console, /Writing the GPT partition table/);
  } finally {
    iso = original;
    rmSync(damagedIso, { force: true });
  }
});

const DHCP = '<admin-interface name="eth0" proto="dhcp"/>';
const BAD_ANSWERS: Array<[string, string, string]> = [
  ['malformed-xml', freshAnswer('xsf-bad').replace('</hostname>', '</hostnme>'), MESSAGES.malformed],
  ['missing-primary-disk', freshAnswer('xsf-bad').replace(/ {2}<primary-disk.*\n/, ''), MESSAGES.missingElement('primary-disk')],
  ['bad-source-type', freshAnswer('xsf-bad').replace('<source type="local"/>', '<source type="cdrom"/>'), MESSAGES.invalidSourceType],
  ['static-without-gateway', freshAnswer('xsf-bad').replace(DHCP, '<admin-interface name="eth0" proto="static"><ip>10.0.2.15</ip><subnet-mask>255.255.255.0</subnet-mask></admin-interface>'), MESSAGES.missingElement('gateway')],
  ['unknown-root-element', freshAnswer('xsf-bad').replace('<installation mode="fresh" srtype="lvm">', '<install mode="fresh">').replace('</installation>', '</install>'), MESSAGES.unexpectedTopLevel],
  // the product's default backend: this dom0 has no Open vSwitch, so it is refused rather than ignored
  ['openvswitch-backend', freshAnswer('xsf-bad', '  <network-backend>openvswitch</network-backend>\n'), MESSAGES.unsupportedNetworkBackend('openvswitch')],
];

test('the bad answer files are rejected by `xsforge answerfile validate` with the product messages (and openvswitch with ours)', async () => {
  const files = BAD_ANSWERS.map(([name, text]) => {
    const f = join(work, `${name}.xml`);
    writeFileSync(f, text);
    return f;
  });
  const r = await xsforge(['answerfile', 'validate', '--json', ...files]);
  assert.is.not(r.code, 0);
  const results = JSON.parse(r.stdout) as Array<{ valid: boolean; errors: Array<{ message: string }> }>;
  results.forEach((res, i) => {
    assert.is(res.valid, false, BAD_ANSWERS[i][0]);
    assert.ok(res.errors.some((e) => e.message === BAD_ANSWERS[i][2]), `${BAD_ANSWERS[i][0]}: ${JSON.stringify(res.errors)}`);
  });
});

// One boot shows the booted installer refuses before touching the disk; the other
// four files reach the same parser (refused in the validate test above and in unit
// tests), so their boots run in `make test-matrix` (XSFORGE_ALL_BOOTS=1).
const BOOTED = process.env.XSFORGE_ALL_BOOTS === '1' ? BAD_ANSWERS : BAD_ANSWERS.slice(0, 1);
for (const [name, text, message] of BOOTED) {
  test(`the booted installer rejects an answer file (${name}) before touching the disk`, async () => {
    const console = await refusedInstall(name, text);
    assert.ok(console.includes(message), `the console shows "${message}"`);
  });
}

test.run();

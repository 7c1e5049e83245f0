// Upgrade and restore end to end in QEMU (issue 7, Done-when 1); the first boot
// is also the boot check of `xsforge disk-image`'s output (integration/disk-image-bios.test.ts
// checks the image's layout, files and boot code without booting it):
//  1. version A (7.1.2, the default recipe) as a preinstalled disk
//     (`xsforge disk-image`), booted once to `login:` so first boot makes the
//     local SR (LVM) as on a used host, then logged in and powered off;
//  2. the host changed without booting it again: the root file system of the
//     powered-off disk, mounted through a loop device at the partition's
//     offset, gets another hostname and a file under /root;
//  3. version B (7.1.3: recipes/test-mini.yaml with another product version and
//     build number) upgrades it unattended (mode="upgrade" answer file over HTTP):
//     the plan says the SR is untouched, the SR partition's first MiBs are
//     unchanged, the backup partition holds A (its /root file, its version);
//  4. the disk boots B to `<changed hostname> login:` with A's installation,
//     control-domain and SR UUIDs;
//  5. a <restore/> answer file on B's media brings A back: A's inventory and
//     /root file on the root partition, and it boots to login.
// Every boot of the disk keeps its writes (mediaWritable: the testbed's default
// boot media are snapshot=on, which would throw first boot's SR record away).
// test-lock: answer-port
// (tests/lib/install-env.ts ANSWER_PORT is fixed so the ISO stays cached: such files never overlap)
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '../../core/exec.ts';
import { REPO_ROOT } from '../../cli/shared.ts';
import { readTableFromImage } from '../../disk/write-table.ts';
import { withVm } from '../../testbed/qemu.ts';
import { xsforge } from '../lib/build.ts';
import { AnswerServer, NIC_ARGS, buildInstallIso, freshAnswer } from '../lib/install-env.ts';
import { loginAsRoot } from '../lib/host-shell.ts';

const HOST_A = 'xsf-upgrade-a';
const HOST_CHANGED = 'xsf-upgrade-kept';
const work = mkdtempSync(join(tmpdir(), 'xsf-upgrade-restore-'));
const server = new AnswerServer();
const timings: string[] = [];
const disk = join(work, 'disk.img');

test.before(async () => server.start());
test.after(() => {
  console.log(`upgrade-restore timings: ${timings.join(', ')}`);
  server.stop();
  rmSync(work, { recursive: true, force: true });
});

async function timed<T>(what: string, fn: () => Promise<T>): Promise<T> {
  const t0 = Date.now();
  try {
    return await fn();
  } finally {
    timings.push(`${what} ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  }
}

/** Run `fn` on partition `n` of the image mounted through a loop device at its offset (no partition nodes needed). */
async function withPartition<T>(n: number, rw: boolean, fn: (dir: string) => T | Promise<T>): Promise<T> {
  const p = (await readTableFromImage(disk)).existing.find((x) => x.number === n)!;
  const loop = (await run(['losetup', '--find', '--show', '--offset', String(p.firstSector * 512), '--sizelimit', String(p.sectorCount * 512), disk])).stdout.trim();
  const dir = mkdtempSync(join(work, `p${n}-`));
  try {
    await run(['mount', ...(rw ? [] : ['-o', 'ro']), loop, dir]);
    try {
      return await fn(dir);
    } finally {
      await run(['umount', dir]);
    }
  } finally {
    await run(['losetup', '--detach', loop]);
    rmSync(dir, { recursive: true, force: true });
  }
}

async function srFingerprint(): Promise<string> {
  const p = (await readTableFromImage(disk)).existing.find((x) => x.number === 3)!;
  const buf = Buffer.alloc(16 << 20);
  const fh = await open(disk, 'r');
  try {
    await fh.read(buf, 0, buf.length, p.firstSector * 512);
  } finally {
    await fh.close();
  }
  return createHash('sha256').update(JSON.stringify({ ...p, attributes: String(p.attributes) })).update(buf).digest('hex');
}

const inventoryValue = (inv: string, k: string) => new RegExp(`^${k}='([^']*)'$`, 'm').exec(inv)?.[1];

const ROOT_PASSWORD = 'xsf-upgrade-Root-1';

/**
 * Boot the disk to `<hostname> login:`. `shutDown`: wait for first boot's
 * summary, log in and power off, so everything first boot wrote is on the disk.
 */
async function bootToLogin(name: string, hostname: string, shutDown = false): Promise<string> {
  let serial = '';
  await timed(`${name} boot`, () => withVm({ media: disk, bootAs: 'disk', firmware: 'bios', serialLog: join(work, `${name}.log`), extraArgs: NIC_ARGS, memoryMiB: 2048, serialInput: shutDown, mediaWritable: true }, async (vm) => {
    // GRUB from the boot code `xsforge disk-image` wrote (or the installer's grub-install after it)
    await vm.waitFor(/GNU GRUB/, 300_000);
    await vm.waitFor(/Xen compiled by xsforge/, 600_000);
    if (shutDown) await vm.waitFor(/XSFORGE-FIRSTBOOT-(DONE|FAILED)[^\r\n]*/, 900_000);
    await vm.waitFor(new RegExp(`${hostname} login:`), 900_000);
    if (shutDown) {
      await loginAsRoot(vm, hostname, ROOT_PASSWORD);
      await vm.sendLine('poweroff');
      assert.is(await vm.waitExit(300_000), 0, 'poweroff ends QEMU');
    }
    serial = vm.serialText();
  }));
  return serial;
}

async function installFromIso(name: string, iso: string, answer: string, mode: string): Promise<string> {
  server.served.set('/answer.xml', answer);
  let serial = '';
  await timed(`${name} install`, () => withVm({ media: iso, bootAs: 'cd', firmware: 'bios', serialLog: join(work, `${name}.log`), extraDisks: [{ path: disk, writable: true }], extraArgs: NIC_ARGS, memoryMiB: 2048 }, async (vm) => {
    await vm.waitFor(new RegExp(`XSFORGE-INSTALL-PLAN disk=/dev/sda table=gpt boot=bios labels=[a-z]{6} mode=${mode}`), 600_000);
    await vm.waitFor(/XSFORGE-INSTALL-COMPLETE|XSFORGE-INSTALL-FAILED/, 1_800_000);
    serial = vm.serialText();
    assert.match(serial, /XSFORGE-INSTALL-COMPLETE/, serial.slice(-6000));
    assert.is(await vm.waitExit(180_000), 0, 'atexit=poweroff ends QEMU');
  }));
  return serial;
}

test('install A, change it, upgrade to B (boots, same identity and SR, backup holds A), restore A (boots)', async () => {
  // B's media build while A is made and booted (minutes each)
  const isoBuild = timed('ISO B build', () => buildInstallIso(work, 'upgrade-b', [], {
    base: join(REPO_ROOT, 'recipes', 'test-mini.yaml'),
    yaml: 'product:\n  version: 7.1.3\n  build_number: "140313c"\n',
  }));
  isoBuild.catch(() => undefined); // awaited below; a failure there is reported then

  // 1. A, booted once
  const answer = join(work, 'answer-a.xml');
  writeFileSync(answer, freshAnswer(HOST_A).replace(/<root-password type="hash">[^<]*<\/root-password>/, `<root-password type="plaintext">${ROOT_PASSWORD}</root-password>`));
  const made = await timed('disk-image A', () => xsforge(['disk-image', '--answerfile', answer, '--size', '60G', '--out', disk, '-q']));
  assert.is(made.code, 0, made.stderr);
  const firstBoot = await bootToLogin('a-first-boot', HOST_A, true);
  assert.match(firstBoot, /XSFORGE-FIRSTBOOT-DONE sr=[0-9a-f-]{36} type=lvm/, firstBoot.slice(-4000));

  // 2. the changes, made with the host stopped
  const invA = await withPartition(1, true, (root) => {
    writeFileSync(join(root, 'etc/hostname'), `${HOST_CHANGED}\n`);
    const hosts = readFileSync(join(root, 'etc/hosts'), 'utf8');
    writeFileSync(join(root, 'etc/hosts'), hosts.split(HOST_A).join(HOST_CHANGED));
    writeFileSync(join(root, 'root/notes.txt'), 'kept across the upgrade\n');
    assert.ok(existsSync(join(root, 'etc/xensource/local-sr.conf')), 'first boot made the SR on A');
    return readFileSync(join(root, 'etc/xensource-inventory'), 'utf8');
  });
  const srUuid = inventoryValue(invA, 'SR_UUID');
  assert.ok(srUuid, invA);
  const srBefore = await srFingerprint();

  // 3. B's media, upgrade
  const iso = await isoBuild;
  const upgradeSerial = await installFromIso('upgrade', iso, `<?xml version="1.0"?>
<installation mode="upgrade">
  <existing-installation>sda</existing-installation>
  <source type="local"/>
</installation>
`, 'upgrade');
  assert.match(upgradeSerial, /Upgrade plan: XenServer 7\.1\.2 \(build 137272c\)/);
  assert.match(upgradeSerial, /local SR:\s+untouched/);
  assert.is(await srFingerprint(), srBefore, 'the SR partition and its table entry are unchanged');
  await withPartition(2, false, (bk) => {
    assert.is(readFileSync(join(bk, 'root/notes.txt'), 'utf8'), 'kept across the upgrade\n');
    assert.ok(existsSync(join(bk, '.xen-backup-partition')));
    assert.is(JSON.parse(readFileSync(join(bk, '.xsforge-backup.json'), 'utf8')).product.version, '7.1.2');
  });
  const invB = await withPartition(1, false, (root) => {
    assert.is(readFileSync(join(root, 'etc/hostname'), 'utf8'), `${HOST_CHANGED}\n`);
    return readFileSync(join(root, 'etc/xensource-inventory'), 'utf8');
  });
  assert.is(inventoryValue(invB, 'PRODUCT_VERSION'), '7.1.3');
  for (const k of ['INSTALLATION_UUID', 'CONTROL_DOMAIN_UUID', 'SR_UUID']) assert.is(inventoryValue(invB, k), inventoryValue(invA, k), k);

  // 4. B boots with A's identity
  await bootToLogin('b-boot', HOST_CHANGED);

  // 5. restore A
  const restoreSerial = await installFromIso('restore', iso, '<?xml version="1.0"?>\n<restore/>\n', 'restore');
  assert.match(restoreSerial, /Restore plan: XenServer 7\.1\.2 \(build 137272c\)/);
  await withPartition(1, false, (root) => {
    assert.is(readFileSync(join(root, 'root/notes.txt'), 'utf8'), 'kept across the upgrade\n');
    assert.is(inventoryValue(readFileSync(join(root, 'etc/xensource-inventory'), 'utf8'), 'PRODUCT_VERSION'), '7.1.2');
  });
  await bootToLogin('a-restored-boot', HOST_CHANGED);
});

test.run();

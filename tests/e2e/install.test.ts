// Unattended install end to end: the built ISO plus an answer file served from
// loopback HTTP installs onto a blank sparse disk and powers off; then the disk
// alone boots Xen and dom0, first boot creates the SR, and the console shows the
// answer file's hostname at the login prompt. The disk's partition table is read
// back (sgdisk for GPT, sfdisk for DOS) and compared with the planner's layout.
//
// The BIOS install also carries updates (one QEMU install costs minutes, so they
// ride along): a driver disk (the dom0 kernel's dummy module repackaged) loaded by
// the installer and installed into dom0, and a signed supplemental pack installed
// after the product packages, both served over HTTP. On the booted host the test
// logs in on the serial console and drives xsforge-update: the pack is listed, a
// signed hotfix applies, applying it again says UPDATE_ALREADY_APPLIED, and a
// hotfix whose prerequisite CU is missing is refused with PREREQUISITE_MISSING.
//
// The second install is from the CU base-install ISO that `xsforge update rollup`
// makes (XS71ECU3 over CU1 and CU2, rolling up XS71ECU2001/2002): the same
// install.img installs 7.1.3 (the release comes from the medium's .treeinfo),
// and on the booted host the rolled-up hotfix's precheck says it is applied.
// It also carries the DOS layout (disable-gpt), a static IP and an ext SR.
// The UEFI CD install runs in make test-matrix (XSFORGE_INSTALL_CASES=uefi).
// test-lock: answer-port
// (tests/lib/install-env.ts ANSWER_PORT is fixed so the ISO stays cached: such files never overlap)
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '../../core/exec.ts';
import { withVm } from '../../testbed/qemu.ts';
import { planLayout, type Scheme } from '../../disk/layout.ts';
import { AnswerServer, E2E_DOM0_MEM, GUEST_HOST_URL, NIC_ARGS, buildInstallIso, freshAnswer, sparseDisk, TEST_ROOT_HASH, writeInstallRecipe } from '../lib/install-env.ts';
import { E2E_HOST_CPU, authorizeSsh, checkHypervisorHost, freePort, nicArgsWithSsh, type HostSsh } from '../lib/hypervisor-host.ts';
import { buildTestGuest, type TestGuestFiles } from '../lib/test-guest.ts';
import { REPO_ROOT } from '../../cli/shared.ts';
import { xsforge } from '../lib/build.ts';
import { buildE2eUpdates, type E2eUpdates } from '../lib/e2e-updates.ts';
import type { Vm } from '../../testbed/qemu.ts';
import { hostShell, loginAsRoot } from '../lib/host-shell.ts';

const HOSTNAME = 'xsf-e2e-host';
const ANSWER = freshAnswer(HOSTNAME);
const work = mkdtempSync(join(tmpdir(), 'xsf-install-'));
const server = new AnswerServer();
let iso = '';
let updates: E2eUpdates;
let guest: TestGuestFiles;
const timings: string[] = [];

test.before(async () => {
  await server.start();
  let t0 = Date.now();
  iso = await buildInstallIso(work, 'e2e-install', [], { dom0Mem: E2E_DOM0_MEM });
  timings.push(`ISO build ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  t0 = Date.now();
  guest = await buildTestGuest(work);
  timings.push(`test guest ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  t0 = Date.now();
  updates = await buildE2eUpdates(iso, work);
  timings.push(`update media ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  server.servedDirs.set('/updates/', join(work, 'updates', 'media'));
});
test.after(() => {
  console.log(`install.test timings: ${timings.join(', ')}`);
  server.stop();
  rmSync(work, { recursive: true, force: true });
});

/** [number, first sector, last sector] of each partition on the disk image, by number. */
async function partitionsOnDisk(disk: string, scheme: Scheme): Promise<number[][]> {
  if (scheme === 'dos') {
    const dump = (await run(['sfdisk', '-d', disk])).stdout;
    assert.match(dump, /^label: dos$/m);
    return [...dump.matchAll(/^\S+?(\d+) : start=\s*(\d+), size=\s*(\d+)/gm)]
      .map((r) => [Number(r[1]), Number(r[2]), Number(r[2]) + Number(r[3]) - 1]).sort((a, b) => a[0] - b[0]);
  }
  const p = (await run(['sgdisk', '-p', disk])).stdout;
  return [...p.matchAll(/^\s+(\d+)\s+(\d+)\s+(\d+)\s/gm)].map((r) => [Number(r[1]), Number(r[2]), Number(r[3])]).sort((a, b) => a[0] - b[0]);
}

/**
 * rpm's view of the installed root (the partition at `firstSector`, `sectors`
 * long), read with the host's rpm. A loop device over just that byte range:
 * partition nodes (loopNpM) need udev, which containers often lack.
 */
async function installedRpmDatabase(disk: string, firstSector: number, sectors: number, filesToCheck: string[] = []): Promise<{ all: string[]; whatprovides: string; xenLink: string; applied: string[]; files: Record<string, string | undefined> }> {
  const loop = (await run(['losetup', '--find', '--show', '--offset', String(firstSector * 512), '--sizelimit', String(sectors * 512), disk])).stdout.trim();
  const mnt = mkdtempSync(join(work, 'root-'));
  try {
    await run(['mount', loop, mnt]);
    try {
      const q = async (...args: string[]) => (await run(['rpm', '--root', mnt, '--dbpath', '/var/lib/rpm', '--query', ...args])).stdout;
      return {
        all: (await q('--all', '--queryformat', '%{NAME}-%{VERSION}-%{RELEASE}\\n')).split('\n').filter(Boolean),
        whatprovides: await q('--whatprovides', 'product-version'),
        xenLink: readlinkSync(join(mnt, 'boot/xen.gz')),
        applied: existsSync(join(mnt, 'var/update/applied')) ? readdirSync(join(mnt, 'var/update/applied')).sort() : [],
        files: Object.fromEntries(filesToCheck.map((f) => [f, existsSync(join(mnt, f)) ? readFileSync(join(mnt, f), 'latin1') : undefined])),
      };
    } finally {
      await run(['umount', mnt]);
    }
  } finally {
    await run(['losetup', '--detach', loop]);
  }
}

interface InstallCase {
  firmware: 'bios' | 'uefi';
  variant: string;
  answer?: string;
  media?: string;
  scheme?: Scheme;
  diskBytes?: number;
  firstboot?: RegExp;
  /** the release the installed host must report (default 7.1.2) */
  productVersion?: string;
  /** more disks for the booted host (e.g. update media) */
  bootDisks?: string[];
  /** checks of the installed root's rpm database and files right after the install */
  afterInstall?: (db: Awaited<ReturnType<typeof installedRpmDatabase>>, serial: string) => void;
  filesToCheck?: string[];
  /**
   * runs on the booted host once `<hostname> login:` is shown (serial input is on,
   * dom0's SSH is forwarded to 127.0.0.1:sshPort); then the disk is read again
   */
  onHost?: (vm: Vm, sshPort: number) => Promise<void>;
  /** the booted host may reboot (QEMU restarts it instead of exiting) */
  hostReboots?: boolean;
  /** the management address QEMU forwards dom0's SSH to (default: QEMU's first DHCP address) */
  staticIp?: string;
  afterHost?: (db: Awaited<ReturnType<typeof installedRpmDatabase>>) => void;
}

async function installAndBoot(c: InstallCase): Promise<void> {
  const { firmware, variant } = c;
  const scheme = c.scheme ?? 'gpt';
  const diskBytes = c.diskBytes ?? 60e9;
  server.served.set('/answer.xml', c.answer ?? ANSWER);
  const disk = join(work, `${variant}-disk.img`);
  sparseDisk(disk, diskBytes);
  let labels = '';
  const before = server.requests.length;
  let installSerial = '';
  let t0 = Date.now();
  await withVm({ media: c.media ?? iso, bootAs: 'cd', firmware, serialLog: join(work, `${variant}-install.log`), extraDisks: [{ path: disk, writable: true }], extraArgs: NIC_ARGS, memoryMiB: 2048 }, async (vm) => {
    const m = await vm.waitFor(new RegExp(`XSFORGE-INSTALL-PLAN disk=/dev/sda table=${scheme === 'dos' ? 'dos' : 'gpt'} boot=${firmware} labels=([a-z]{6})`), 600_000);
    labels = m[1];
    await vm.waitFor(/XSFORGE-INSTALL-COMPLETE/, 1_800_000);
    assert.is(await vm.waitExit(180_000), 0, 'atexit=poweroff ends QEMU');
    installSerial = vm.serialText();
  });
  timings.push(`${variant} install ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  assert.ok(server.requests.slice(before).includes('/answer.xml'), 'the installer fetched its answer file over HTTP');
  // the table on disk is the plan, sector for sector
  const plan = planLayout({ scheme, diskSectors: diskBytes / 512, sectorSize: 512, guestStorage: true, uefi: firmware === 'uefi', diskName: '/dev/sda' });
  const planned = plan.partitions.map((x) => [x.number, x.firstSector, x.lastSector]).sort((a, b) => a[0] - b[0]);
  assert.equal(await partitionsOnDisk(disk, scheme), planned);
  if (scheme === 'gpt') {
    assert.equal(planned.map((r) => r[0]), [1, 2, 3, 4, 5, 6]);
    const part4 = (await run(['sgdisk', '-i', '4', disk])).stdout;
    assert.match(part4, firmware === 'uefi' ? /C12A7328-F81F-11D2-BA4B-00A0C93EC93B/ : /21686148-6449-6E6F-744E-656564454649/);
  }
  // the product packages are in the installed root's rpm database
  const root = plan.partitions.find((p) => p.role === 'root')!;
  const rpmdb = await installedRpmDatabase(disk, root.firstSector, root.sectorCount, c.filesToCheck);
  c.afterInstall?.(rpmdb, installSerial);
  assert.match(rpmdb.whatprovides, new RegExp(`^xenserver-release-${(c.productVersion ?? '7.1.2').replace(/\./g, '\\.')}-`, 'm'), 'rpm -q --whatprovides product-version');
  for (const name of ['xenserver-hypervisor', 'kernel', 'xenserver-release', 'xsforge-firstboot', 'dom0-base-debian']) {
    assert.ok(rpmdb.all.some((n) => n.startsWith(`${name}-`)), `${name} is installed (rpm -qa: ${rpmdb.all.join(' ')})`);
  }
  assert.match(rpmdb.xenLink, /^xen-4\.17\.\d+\.gz$/, '/boot/xen.gz is the hypervisor package\'s file');
  // now the disk alone: it boots the hypervisor compiled from source (our banner, our patch's line)
  t0 = Date.now();
  const sshPort = await freePort();
  await withVm({
    media: disk, bootAs: 'disk', firmware, serialLog: join(work, `${variant}-firstboot.log`), mediaWritable: true, extraArgs: nicArgsWithSsh(sshPort, c.staticIp), memoryMiB: 2048,
    extraDisks: c.bootDisks ?? [], serialInput: !!c.onHost, noReboot: !c.hostReboots,
    // libvirt's libxl driver needs a CPU its CPU map can name (E2E_HOST_CPU says why)
    cpu: E2E_HOST_CPU,
  }, async (vm) => {
    await vm.waitFor(/\(XEN\) Xen version 4\.17\.\d+ \(xsforge [^)]*\) \(xsforge@xsforge\)/, 300_000);
    await vm.waitFor(/\(XEN\) Xen compiled by xsforge from the Debian source package/, 60_000);
    await vm.waitFor(c.firstboot ?? /XSFORGE-FIRSTBOOT-DONE sr=\S+ type=lvm mgmt=eth0 mode=dhcp/, 900_000);
    await vm.waitFor(new RegExp(`${HOSTNAME} login:`), 600_000);
    assert.match(vm.serialText(), new RegExp(`root=LABEL=root-${labels}`), 'dom0 boots the root the installer labelled');
    timings.push(`${variant} boot to login ${((Date.now() - t0) / 1000).toFixed(0)} s`);
    if (c.onHost) {
      const t1 = Date.now();
      await c.onHost(vm, sshPort);
      timings.push(`${variant} on the host ${((Date.now() - t1) / 1000).toFixed(0)} s`);
    }
  });
  if (c.afterHost) c.afterHost(await installedRpmDatabase(disk, root.firstSector, root.sectorCount, c.filesToCheck));
}

const ROOT_PASSWORD = 'xsf-e2e-Root-1';
const CU_STATIC_IP = '10.0.2.20';

/**
 * The seed's way to change a boot option on a host (xen-cmdline --set-xen):
 * both GRUB entries change, and the next boot's Xen runs with the new dom0_mem
 * (its own "Command line:"); the host is stopped there.
 */
async function changeDom0MemAndReboot(vm: Vm, ssh: HostSsh): Promise<void> {
  const before = await ssh.ssh('/opt/xensource/libexec/xen-cmdline --get-xen dom0_mem');
  assert.is(before.trim(), `dom0_mem=${E2E_DOM0_MEM}`);
  await ssh.ssh('/opt/xensource/libexec/xen-cmdline --set-xen dom0_mem=1280M,max:1280M');
  const cfg = await ssh.ssh('grep multiboot2 /boot/grub/grub.cfg');
  assert.is(cfg.match(/dom0_mem=1280M,max:1280M/g)?.length, 2, cfg);
  const from = vm.serialText().length;
  const t0 = Date.now();
  await vm.sendLine('reboot');
  const line = await vm.waitFor(/\(XEN\) Command line: ([^\r\n]*)/, 300_000, { from });
  assert.ok(line[1].split(' ').includes('dom0_mem=1280M,max:1280M'), line[1]);
  // Xen's own view of its command line: the next boot runs with the change (the
  // first boot's xl info showed that dom0_mem on this line is dom0's memory)
  timings.push(`bios reboot to Xen with the new dom0_mem ${((Date.now() - t0) / 1000).toFixed(0)} s`);
}

const login = (vm: Vm) => loginAsRoot(vm, HOSTNAME, ROOT_PASSWORD);
const sh = hostShell;

/** The BIOS host's updates: driver disk + pack at install time, hotfixes with xsforge-update once booted. */
function bios(): InstallCase {
  const u = updates;
  const answer = freshAnswer(HOSTNAME, [
    `  <source type="url">${GUEST_HOST_URL}/updates/${u.pack.update.nameLabel}</source>`,
    `  <driver-source type="url">${GUEST_HOST_URL}/updates/${u.driver.update.nameLabel}/</driver-source>`,
    '  <network-backend>bridge</network-backend>',
    '',
  ].join('\n')).replace(`<root-password type="hash">${TEST_ROOT_HASH}</root-password>`, `<root-password type="plaintext">${ROOT_PASSWORD}</root-password>`);
  assert.ok(answer.includes('type="plaintext"'));
  const modulePath = `lib/modules/${u.kernelRelease}/updates/${u.moduleFile}`;
  return {
    firmware: 'bios', variant: 'bios', answer, bootDisks: [u.hotfixDisk], hostReboots: true,
    filesToCheck: [modulePath, 'etc/pki/rpm-gpg/RPM-GPG-KEY-XS-7', 'boot/grub/grub.cfg', 'etc/xensource/xen-cmdline.conf'],
    afterInstall: (db, serial) => {
      // the recipe's boot.xen reached the installed host's GRUB entries (through the medium's .treeinfo)
      const xenLines = [...(db.files['boot/grub/grub.cfg'] ?? '').matchAll(/^\s*multiboot2 \/boot\/xen\.gz (.*)$/gm)].map((m) => m[1]!);
      assert.is(xenLines.length, 2, db.files['boot/grub/grub.cfg']);
      for (const l of xenLines) assert.ok(l.split(' ').includes(`dom0_mem=${E2E_DOM0_MEM}`), l);
      // the plan listed both, the driver's module really loaded into the installer's kernel
      assert.match(serial, new RegExp(`driver disk 1: ${GUEST_HOST_URL}/updates/${u.driver.update.nameLabel}`));
      assert.match(serial, new RegExp(`supp\\. pack 1: ${GUEST_HOST_URL}/updates/${u.pack.update.nameLabel}`));
      assert.match(serial, new RegExp(`Loaded module ${u.moduleFile.replace(/\.ko.*$/, '')} from the driver disk ${u.driver.update.nameLabel}`));
      assert.match(serial, /Installed the supplemental pack xsforge-snmp-agent \(\S+\) 1\.0: /);
      assert.not.match(serial, /not installed yet|not loaded yet/);
      for (const n of ['xsforge-snmp-agent-1.0.3-1', 'control-xsforge-snmp-agent-1.0-1', 'xsf-e2e-dummy-driver-1.0-1', 'control-xsf-e2e-dummy-driver-1.0-1']) {
        assert.ok(db.all.includes(n), `${n} is in the installed rpm database`);
      }
      assert.equal(db.applied, [u.pack.update.uuid, u.driver.update.uuid].sort(), '/var/update/applied holds the records of the control packages');
      assert.ok(db.files[modulePath], `/${modulePath} is on the installed root`);
      assert.ok(db.files['etc/pki/rpm-gpg/RPM-GPG-KEY-XS-7'], 'the media key is installed for xsforge-update');
      assert.ok(server.requests.includes(`/updates/${u.pack.update.nameLabel}/update.xml`) && server.requests.includes(`/updates/${u.driver.update.nameLabel}/update.xml`));
    },
    onHost: async (vm, sshPort) => {
      const t0 = Date.now();
      await login(vm);
      const list = await sh(vm, 'xsforge-update list');
      assert.is(list.rc, 0, list.out);
      assert.match(list.out, /name-label: xsforge-snmp-agent/);
      assert.match(list.out, /name-label: xsf-e2e-dummy-driver/);
      // the driver package's %post ran depmod in the target: modprobe finds the module under updates/
      const mod = await sh(vm, `modinfo -F filename ${u.moduleFile.replace(/\.ko.*$/, '')}`);
      assert.is(mod.rc, 0, mod.out);
      assert.match(mod.out, new RegExp(`/lib/modules/${u.kernelRelease}/updates/${u.moduleFile.replace(/\./g, '\\.')}`));
      const mnt = await sh(vm, 'mkdir -p /mnt/hotfixes && mount -o ro /dev/sdb /mnt/hotfixes && ls /mnt/hotfixes');
      assert.is(mnt.rc, 0, mnt.out);
      const hf = `/mnt/hotfixes/${u.hotfix.update.nameLabel}.iso`;
      const apply = await sh(vm, `xsforge-update apply ${hf}`);
      assert.is(apply.rc, 0, apply.out);
      assert.match(apply.out, new RegExp(`APPLIED: update ${u.hotfix.update.nameLabel} 1\\.0 \\(${u.hotfix.update.uuid}\\)`));
      assert.match(apply.out, /after-apply-guidance: restartXAPI/);
      const again = await sh(vm, `xsforge-update apply ${hf}`);
      assert.is(again.rc, 6, again.out);
      assert.match(again.out, /UPDATE_ALREADY_APPLIED/);
      const refused = await sh(vm, `xsforge-update apply /mnt/hotfixes/${u.needsCu2.update.nameLabel}.iso`);
      assert.is(refused.rc, 9, refused.out);
      assert.match(refused.out, /PREREQUISITE_MISSING/);
      const after = await sh(vm, 'xsforge-update list; /usr/bin/xsforge-snmp-agent');
      assert.is(after.rc, 0, after.out);
      assert.match(after.out, new RegExp(`name-label: ${u.hotfix.update.nameLabel}`));
      assert.not.match(after.out, new RegExp(`name-label: ${u.needsCu2.update.nameLabel}`));
      assert.match(after.out, /xsforge-snmp-agent 1\.0\.3-2 \(XSFE2E001\)/, 'the hotfixed agent runs');
      const sync = await sh(vm, 'umount /mnt/hotfixes; sync');
      assert.is(sync.rc, 0, sync.out);
      timings.push(`bios login and updates on the host ${((Date.now() - t0) / 1000).toFixed(0)} s`);
      // a working hypervisor: xl info, the bridge, the test guest under xl and under libvirt over SSH
      const ssh = await authorizeSsh(vm, work, sshPort);
      timings.push(...(await checkHypervisorHost(vm, ssh, {
        dom0Mem: E2E_DOM0_MEM, managementCidr: '10.0.2.15/24', bridge: 'xenbr0', guest, diskOnSr: true, libvirt: true,
      })).map((x) => `bios ${x}`));
      await changeDom0MemAndReboot(vm, ssh);
    },
    afterHost: (db) => {
      assert.match(db.files['etc/xensource/xen-cmdline.conf'] ?? '', /^xen set dom0_mem=1280M,max:1280M$/m, 'xen-cmdline recorded the change for upgrades');
      assert.ok(db.all.includes('xsforge-snmp-agent-1.0.3-2'), `the hotfix updated the pack's package (rpm -qa: ${db.all.join(' ')})`);
      assert.not.ok(db.all.includes('xsforge-snmp-agent-1.0.3-1'));
      assert.ok(db.all.includes('control-XSFE2E001-1.0-1'));
      assert.not.ok(db.all.some((n) => n.startsWith('control-XS71ECU2001-')), 'the refused hotfix left nothing');
      assert.equal(db.applied, [u.pack.update.uuid, u.driver.update.uuid, u.hotfix.update.uuid].sort());
    },
  };
}

// make test: the BIOS install with updates and the CU base-install ISO's install;
// the UEFI CD install runs in make test-matrix (pxe-install covers UEFI installs).
const CASES = (process.env.XSFORGE_INSTALL_CASES ?? 'bios,cu-dos').split(',');
const caseTest = (name: string, title: string, fn: () => Promise<void>) => (CASES.includes(name) ? test(title, fn) : test.skip(title, fn));

caseTest('bios', 'BIOS: unattended install onto a blank 60 GB disk with a driver disk and a signed supplemental pack; the disk boots to login, and the host applies a signed hotfix', async () => {
  await installAndBoot(bios());
});

caseTest('uefi', 'UEFI: the same install with an EFI system partition and GRUB for x86_64-efi', async () => {
  await installAndBoot({ firmware: 'uefi', variant: 'uefi' });
});

const EXAMPLES = join(REPO_ROOT, 'examples', 'updates');

/**
 * `xsforge update rollup` of the example hotfixes into XS71ECU3 (after CU1 and
 * CU2), signed with the e2e key, with the base-install ISO built from a recipe
 * whose boot lines install unattended with disable-gpt.
 */
async function buildCuBaseIso(): Promise<{ iso: string; version: string; cuUuid: string }> {
  const recipe = writeInstallRecipe(work, 'e2e-install-cu', ['disable-gpt']);
  const out = join(work, 'rollup');
  const r = await xsforge(['update', 'rollup', join(EXAMPLES, 'XS71ECU2001.yaml'), join(EXAMPLES, 'XS71ECU2002.yaml'),
    '--cu', join(EXAMPLES, 'XS71ECU3.yaml'), '--previous', join(EXAMPLES, 'XS71ECU1.yaml'), join(EXAMPLES, 'XS71ECU2.yaml'),
    '--base-recipe', recipe, '--out', out, '--sign-key', updates.fingerprint, '--gnupg-home', updates.gnupg, '--json']);
  await run(['gpgconf', '--kill', 'gpg-agent'], { env: { GNUPGHOME: updates.gnupg } }).catch(() => undefined);
  if (r.code !== 0) throw new Error(`xsforge update rollup failed (${r.code}):\n${r.stderr.slice(-4000)}`);
  const j = JSON.parse(r.stdout) as { baseIso: string; baseProductVersion: string; cu: { control: { nevra: string } } } & Record<string, any>;
  return { iso: j.baseIso, version: j.baseProductVersion, cuUuid: String(j.plan?.cu?.uuid ?? '') };
}

// One install checks several things (a TCG install costs minutes): the CU
// base-install ISO of a rollup installs a host that reports the CU's release and
// counts the rolled-up hotfixes as applied; and, from its boot line and answer
// file, the DOS layout of disable-gpt on a 20 GiB disk, a static management IP,
// and an ext (thin) SR.
caseTest('cu-dos', 'CU base-install ISO (XS71ECU3 rollup), disable-gpt, static IP, ext SR: the host reports 7.1.3 and needs no rolled-up hotfix; DOS layout on 20 GiB; first boot applies the static IP and the ext SR', async () => {
  const t0 = Date.now();
  const cu = await buildCuBaseIso();
  timings.push(`rollup + CU base-install ISO ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  assert.is(cu.version, '7.1.3', 'XS71ECU3.yaml names base_install_product_version 7.1.3');
  const answer = ANSWER
    .replace('srtype="lvm"', 'srtype="ext"')
    .replace('<admin-interface name="eth0" proto="dhcp"/>',
      // not .15: QEMU's DHCP server hands that to the first client, the test guest here
      `<admin-interface name="eth0" proto="static"><ip>${CU_STATIC_IP}</ip><subnet-mask>255.255.255.0</subnet-mask><gateway>10.0.2.2</gateway></admin-interface>\n  <name-server>10.0.2.3</name-server>`)
    .replace(`<root-password type="hash">${TEST_ROOT_HASH}</root-password>`, `<root-password type="plaintext">${ROOT_PASSWORD}</root-password>`);
  assert.ok(answer.includes('proto="static"') && answer.includes('srtype="ext"') && answer.includes('type="plaintext"'));
  await installAndBoot({
    firmware: 'bios', variant: 'cu-dos-static-ext', media: cu.iso, answer, scheme: 'dos', diskBytes: 20 * 2 ** 30,
    productVersion: '7.1.3', staticIp: CU_STATIC_IP,
    firstboot: /XSFORGE-FIRSTBOOT-DONE sr=\S+ type=ext mgmt=eth0 mode=static/,
    bootDisks: [updates.hotfixDisk],
    filesToCheck: ['etc/xensource-inventory', 'etc/xenserver-release'],
    afterInstall: (db, serial) => {
      // the installer is the same install.img: the release came from the medium's .treeinfo
      assert.match(serial, /Installation source \S+: XenServer 7\.1\.3 \(build /);
      assert.match(db.files['etc/xensource-inventory'] ?? '', /^PRODUCT_VERSION='7\.1\.3'$/m);
      assert.match(db.files['etc/xenserver-release'] ?? '', /7\.1\.3/);
      for (const n of ['control-XS71ECU1', 'control-XS71ECU2', 'control-XS71ECU3']) assert.ok(db.all.some((x) => x.startsWith(`${n}-`)), `${n} is installed (rpm -qa: ${db.all.join(' ')})`);
    },
    onHost: async (vm, sshPort) => {
      // /etc/issue above the login prompt: the installer wrote the medium's release over the dom0 image's
      assert.match(vm.serialText(), /XenServer 7\.1\.3 \(build \S+\) \S+ hvc0/);
      await login(vm);
      const release = await sh(vm, 'cat /etc/xenserver-release; grep PRODUCT_VERSION /etc/xensource-inventory; xsforge-update list');
      assert.is(release.rc, 0, release.out);
      assert.match(release.out, /7\.1\.3/);
      assert.match(release.out, /PRODUCT_VERSION='7\.1\.3'/);
      assert.match(release.out, /name-label: XS71ECU3/);
      // XS71ECU2001 as hosts got it (not the rolled-up rebuild): the CU's control package provides it
      const mnt = await sh(vm, 'mkdir -p /mnt/hotfixes && mount -o ro /dev/sdb /mnt/hotfixes');
      assert.is(mnt.rc, 0, mnt.out);
      const pre = await sh(vm, `xsforge-update precheck /mnt/hotfixes/${updates.needsCu2.update.nameLabel}.iso`);
      assert.is(pre.rc, 6, pre.out);
      assert.match(pre.out, /UPDATE_ALREADY_APPLIED/);
      assert.match(pre.out, /rolled up in XS71ECU3/);
      const sync = await sh(vm, 'umount /mnt/hotfixes; sync');
      assert.is(sync.rc, 0, sync.out);
      // the static address on the bridge, and a guest on it (no disk: this host's SR is ext)
      const ssh = await authorizeSsh(vm, work, sshPort);
      timings.push(...(await checkHypervisorHost(vm, ssh, {
        dom0Mem: '1024M,max:1024M', managementCidr: `${CU_STATIC_IP}/24`, bridge: 'xenbr0', guest, diskOnSr: false, libvirt: false,
      })).map((x) => `cu-dos ${x}`));
    },
  });
});

test.run();

// The dom0 root booted for real, without the installer: the stage's tar.zst is
// unpacked, given what the installer would write (hostname, fstab, first-boot
// data, the pending flag), made into an ext3 disk labelled root-e2e, and booted
// under Xen in QEMU (TCG): QEMU loads the hypervisor as a multiboot kernel with
// dom0's kernel and initrd as modules. First boot must build an ext SR on a
// second disk, configure DHCP on eth0 and end before a branded login prompt
// on hvc0; the disks are then read back.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, readSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { run } from '../../core/exec.ts';
import { FIRSTBOOT } from '../../dom0-rootfs/rootfs.ts';
import { buildDom0 } from '../lib/dom0.ts';

const work = mkdtempSync(join(tmpdir(), 'xsf-dom0-boot-'));
const HOSTNAME = 'xsf-dom0-e2e';
const BOOT_TIMEOUT = 600_000;
test.after(() => rmSync(work, { recursive: true, force: true }));

/** A file's contents inside an ext2/3/4 image, without mounting it. */
async function fileInImage(image: string, path: string): Promise<string> {
  return (await run(['debugfs', '-R', `cat ${path}`, image])).stdout;
}

test('Xen + dom0 from the root image: first boot makes an ext SR and DHCP config, then a login prompt on hvc0', async () => {
  const dom0 = await buildDom0();
  const tree = join(work, 'tree');
  mkdirSync(tree);
  await run(['tar', '--zstd', '-x', '--numeric-owner', '-f', dom0.archive, '-C', tree]);

  // what the installer writes into the target
  const put = (rel: string, text: string) => { mkdirSync(join(tree, rel, '..'), { recursive: true }); writeFileSync(join(tree, rel), text); };
  put('etc/hostname', `${HOSTNAME}\n`);
  put('etc/fstab', 'LABEL=root-e2e / ext3 errors=remount-ro 0 1\n');
  put('etc/xensource-inventory', "PRODUCT_BRAND='XenServer'\nPRODUCT_VERSION='7.1.2'\n");
  put(FIRSTBOOT.managementConf, "LABEL='eth0'\nMODE='dhcp'\n");
  // the guest disk by its stable name, as the installer writes it
  put(FIRSTBOOT.storageConf, "XSPARTITIONS='/dev/disk/by-id/ata-QEMU_HARDDISK_XSFGUEST1'\nXSTYPE='ext'\n");
  put(FIRSTBOOT.pendingFlag, '');

  const rootImg = join(work, 'root.img');
  const srImg = join(work, 'sr.img');
  await run(['mkfs.ext3', '-q', '-F', '-L', 'root-e2e', '-d', tree, rootImg, '3G']);
  writeFileSync(srImg, '');
  await run(['truncate', '-s', '2G', srImg]);
  const xen = join(work, 'xen');
  writeFileSync(xen, gunzipSync(readFileSync(join(tree, 'boot/xen.gz'))));

  const serialLog = join(work, 'serial.log');
  writeFileSync(serialLog, '');
  // QEMU's -initrd list is comma separated: a comma inside dom0's arguments would be doubled
  const dom0Args = 'root=LABEL=root-e2e ro console=hvc0 net.ifnames=0';
  // QEMU is started here rather than by the testbed: -kernel claims boot index 0,
  // which the testbed gives to its boot medium
  const abort = new AbortController();
  const qemu = run(['qemu-system-x86_64', '-nodefaults', '-no-user-config', '-machine', 'q35', '-accel', 'tcg', '-cpu', 'qemu64',
    '-m', '2048', '-smp', '2', '-display', 'none', '-monitor', 'none', '-no-reboot',
    '-chardev', `file,id=com1,path=${serialLog}`, '-serial', 'chardev:com1',
    // SATA: the root disk on port 0, the guest disk on port 1 with a fixed serial (its by-id name)
    '-drive', `if=none,id=root,file=${rootImg},format=raw`, '-device', 'ide-hd,drive=root,bus=ide.0',
    '-drive', `if=none,id=guest,file=${srImg},format=raw`, '-device', 'ide-hd,drive=guest,bus=ide.1,serial=XSFGUEST1',
    '-netdev', 'user,id=n0,restrict=on', '-device', 'e1000,netdev=n0',
    // qemu64 has no RDRAND: without an entropy source ssh-keygen may wait minutes for the kernel's RNG
    '-device', 'virtio-rng-pci',
    '-kernel', xen, '-append', 'dom0_mem=1024M,max:1024M com1=115200,8n1 console=com1',
    '-initrd', `${join(tree, 'boot/vmlinuz')} ${dom0Args},${join(tree, 'boot/initrd.img')}`,
  ], { signal: abort.signal });
  let exited: unknown;
  qemu.then(() => { exited = 'QEMU exited'; }, (e) => { exited = e; });
  const waitFor = async (re: RegExp, from = 0): Promise<RegExpExecArray> => {
    const deadline = Date.now() + BOOT_TIMEOUT;
    for (;;) {
      const text = readFileSync(serialLog, 'latin1');
      re.lastIndex = 0;
      const m = re.exec(text.slice(from));
      if (m) { m.index += from; return m; }
      if (exited !== undefined && !abort.signal.aborted) throw new Error(`QEMU ended before ${re}: ${String(exited)}\n${text.slice(-3000)}`);
      if (Date.now() > deadline) throw new Error(`${re} did not appear in ${BOOT_TIMEOUT / 1000} s:\n${text.slice(-3000)}`);
      await new Promise((r) => setTimeout(r, 1000));
    }
  };
  let text: string;
  try {
    await waitFor(/\(XEN\) Xen version 4\.17/);
    const done = await waitFor(/XSFORGE-FIRSTBOOT-(DONE|FAILED)[^\r\n]*/);
    assert.is(done[1], 'DONE', done[0]);
    const login = await waitFor(new RegExp(`${HOSTNAME} login:`), done.index);
    assert.ok(login.index > done.index, 'first boot ends before the login prompt');
    // host keys are made before sshd starts (RSA takes a minute or more under TCG)
    await waitFor(/Finished .*xsforge-ssh-hostk/);
    // QEMU is stopped, not shut down: dirty pages reach the disk within 30 s
    // (vm.dirty_expire_centisecs) plus a 5 s journal commit
    await new Promise((r) => setTimeout(r, 40_000));
    text = readFileSync(serialLog, 'latin1');
  } finally {
    abort.abort();
    await qemu.catch(() => undefined);
  }

  const m = /XSFORGE-FIRSTBOOT-DONE sr=([0-9a-f-]{36}) type=ext mgmt=eth0 mode=dhcp/.exec(text);
  assert.ok(m, 'summary line names the SR');
  const uuid = m![1];
  assert.match(text, /XenServer 7\.1\.2 \(build 137272c\)/, '/etc/issue branding above the prompt');

  // what first boot left on the root disk
  assert.match(await fileInImage(rootImg, FIRSTBOOT.localSrConf), new RegExp(`^SR_UUID='${uuid}'\nSR_TYPE='ext'\n`));
  assert.match(await fileInImage(rootImg, '/etc/xensource-inventory'), new RegExp(`^SR_UUID='${uuid}'$`, 'm'));
  assert.match(await fileInImage(rootImg, '/etc/fstab'), new RegExp(`^/dev/XSLocalEXT-${uuid}/${uuid} /var/run/sr-mount/${uuid} ext4 defaults,nofail 0 2$`, 'm'));
  // eth0 is a port of the bridge xenbr0, which takes the DHCP address
  assert.match(await fileInImage(rootImg, '/etc/systemd/network/10-xsforge-eth0.network'), /^Name=eth0$[\s\S]*^Bridge=xenbr0$/m);
  assert.match(await fileInImage(rootImg, '/etc/systemd/network/10-xsforge-xenbr0.network'), /^Name=xenbr0$[\s\S]*^DHCP=ipv4$/m);
  assert.match(await fileInImage(rootImg, FIRSTBOOT.doneFile), /XSFORGE-FIRSTBOOT-DONE/);
  // debugfs reports a missing file on stderr and still exits 0
  const stat = await run(['debugfs', '-R', `stat ${FIRSTBOOT.pendingFlag}`, rootImg]);
  assert.match(stat.outputTail, /File not found/, 'pending flag removed');
  // made on this host at first start of sshd
  const sshDir = (await run(['debugfs', '-R', 'ls -l /etc/ssh', rootImg])).stdout;
  assert.match(await fileInImage(rootImg, '/etc/ssh/ssh_host_ed25519_key.pub'), /^ssh-ed25519 /, sshDir);

  // the guest disk is an LVM PV of the SR's volume group
  const sr = Buffer.alloc(1 << 20);
  const fd = openSync(srImg, 'r');
  readSync(fd, sr, 0, sr.length, 0);
  closeSync(fd);
  assert.ok(sr.includes('LABELONE'), 'LVM label on the guest disk');
  assert.ok(sr.includes(`XSLocalEXT-${uuid}`), 'VG metadata names the SR');
});

test.run();

// On-host checks that an installed host is a working hypervisor: the compiled
// Xen and the recipe's dom0 memory in `xl info`, the management address on the
// bridge, the test guest booted with xl (its disk a volume of the local SR, its
// vif on the bridge, a DHCP lease from QEMU's network through the bridge, a ping
// of its gateway), and libvirt driven from this machine over SSH
// (virsh -c xen+ssh://root@127.0.0.1:PORT/system). One booted host serves them
// all: the e2e install tests call these from their onHost step.
import * as assert from 'uvu/assert';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { run } from '../../core/exec.ts';
import type { Vm } from '../../testbed/qemu.ts';
import { parseGuestConsole } from '../../guest/banners.ts';
import { libvirtGuestXml, xlGuestConfig } from '../../guest/config.ts';
import { hostShell } from './host-shell.ts';
import { NIC_DEVICE } from './install-env.ts';

/** A free TCP port on loopback for QEMU's hostfwd to dom0's SSH. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/**
 * QEMU user network with dom0's SSH forwarded to 127.0.0.1:sshPort (the e2e
 * NIC's MAC); `hostIp`: a static management address (else QEMU's first DHCP address).
 */
export function nicArgsWithSsh(sshPort: number, hostIp = ''): string[] {
  return ['-netdev', `user,id=n0,hostfwd=tcp:127.0.0.1:${sshPort}-${hostIp}:22`, '-device', NIC_DEVICE];
}

export interface HostSsh {
  port: number;
  /** this test's scratch directory on this machine */
  work: string;
  /** runs `command` on the host as root; rejects on a non-zero exit */
  ssh(command: string, opts?: { input?: string; timeoutMs?: number }): Promise<string>;
  /** copies local files to a directory on the host */
  copy(files: string[], remoteDir: string): Promise<void>;
  /** the libvirt URI of the host, as an administrator types it, plus this test's SSH settings */
  libvirtUri: string;
  virsh(...args: string[]): Promise<string>;
}

const SSH_OPTIONS = ['-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'BatchMode=yes', '-o', 'LogLevel=ERROR', '-o', 'ConnectTimeout=30'];

/**
 * A key pair made for this run, authorized for root through the serial shell
 * (logged in already), and the ssh/scp/virsh helpers that use it. The key and
 * a wrapper that keeps host keys out of ~/.ssh/known_hosts live in `work`.
 */
export async function authorizeSsh(vm: Vm, work: string, port: number): Promise<HostSsh> {
  const key = join(work, 'id_ed25519');
  await run(['rm', '-f', key, `${key}.pub`]);
  await run(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-C', 'xsforge-e2e', '-f', key]);
  const pub = readFileSync(`${key}.pub`, 'utf8').trim();
  const auth = await hostShell(vm, `mkdir -p -m 700 /root/.ssh && echo '${pub}' > /root/.ssh/authorized_keys && chmod 600 /root/.ssh/authorized_keys`);
  assert.is(auth.rc, 0, auth.out);
  // libvirt runs `<command> -p PORT ... root@127.0.0.1 sh -c ...`: the wrapper adds the key and the options
  const wrapper = join(work, 'ssh-for-virsh');
  writeFileSync(wrapper, `#!/bin/sh\nexec ssh -i '${key}' ${SSH_OPTIONS.join(' ')} "$@"\n`);
  chmodSync(wrapper, 0o755);
  const base = ['-i', key, ...SSH_OPTIONS];
  const libvirtUri = `xen+ssh://root@127.0.0.1:${port}/system?command=${wrapper}&no_tty=1`;
  return {
    port,
    work,
    libvirtUri,
    async ssh(command, opts = {}) {
      const r = await run(['ssh', ...base, '-p', String(port), 'root@127.0.0.1', command], { input: opts.input, timeoutMs: opts.timeoutMs ?? 300_000 });
      return r.stdout;
    },
    async copy(files, remoteDir) {
      await run(['scp', ...base, '-q', '-P', String(port), ...files, `root@127.0.0.1:${remoteDir}/`], { timeoutMs: 300_000 });
    },
    async virsh(...args) {
      return (await run(['virsh', '-c', libvirtUri, ...args], { timeoutMs: 300_000 })).stdout;
    },
  };
}

export interface HypervisorChecks {
  /** the dom0_mem string the recipe gave (e.g. 1536M,max:1536M) */
  dom0Mem: string;
  /** management address the bridge must carry, e.g. 10.0.2.15/24 */
  managementCidr: string;
  /** the bridge's name (xenbr0) */
  bridge: string;
  /** vmlinuz and initrd.img of the test guest, on this machine */
  guest: { kernel: string; initrd: string };
  /** put the xl guest's disk on the local SR (an LVM SR: a volume of the libvirt pool local-sr) */
  diskOnSr: boolean;
  /** also define, list and start the guest through libvirt from this machine */
  libvirt: boolean;
}

const GUEST_DIR = '/var/lib/xsforge/test-guest';

/**
 * The CPU the installed hosts get under TCG. libvirtd's libxl driver names the
 * host CPU with a model of libvirt's CPU map; every x86 model there needs VME
 * or SEP. QEMU's TCG cannot emulate VME (QEMU 7.2: "TCG doesn't support
 * requested feature: CPUID.01H:EDX.vme"), and Xen hides SEP on AMD CPUs
 * (SYSENTER does not work in long mode there), and qemu64 says AuthenticAMD:
 * with it the daemon exits with "Cannot find suitable CPU model for given
 * data". As an Intel CPU (what most hosts are, and which all have both) qemu64
 * keeps SEP, and libvirt starts.
 */
export const E2E_HOST_CPU = 'qemu64,vendor=GenuineIntel';

/** virsh, and on failure libvirtd's own log in the error (why the daemon would not start). */
async function virshOrJournal(host: HostSsh, ...args: string[]): Promise<string> {
  try {
    return await host.virsh(...args);
  } catch (e) {
    const journal = await host.ssh('journalctl -u libvirtd --no-pager -n 30; xl info | grep hw_caps').catch(() => '');
    throw new Error(`virsh ${args.join(' ')} over xen+ssh failed: ${(e as Error).message}\nlibvirtd's log:\n${journal}`);
  }
}

/** The checks, on a host whose serial console is logged in as root. Returns timings. */
export async function checkHypervisorHost(vm: Vm, host: HostSsh, c: HypervisorChecks): Promise<string[]> {
  const timings: string[] = [];
  let t = Date.now();
  const lap = (what: string) => { timings.push(`${what} ${((Date.now() - t) / 1000).toFixed(0)} s`); t = Date.now(); };

  // what the toolstack costs at boot is in the timings (libvirtd itself starts on demand)
  const analyze = await host.ssh('systemd-analyze; systemd-analyze blame --no-pager | head -n 6; systemctl is-active libvirtd.socket libvirtd.service || true');
  timings.push(`boot: ${analyze.replace(/\s+/g, ' ').trim()}`);
  // the hypervisor compiled from source, and the recipe's dom0 memory on its command line and in dom0
  const info = await host.ssh('xl info; xl list 0');
  assert.match(info, /^cc_compile_by\s*:\s*xsforge$/m, 'xl info: the Xen the build compiled');
  assert.match(info, /^xen_version\s*:\s*4\.17\.\d+/m);
  const cmdline = /^xen_commandline\s*:\s*(.*)$/m.exec(info)?.[1] ?? '';
  assert.ok(cmdline.split(/\s+/).includes(`dom0_mem=${c.dom0Mem}`), `xen_commandline has dom0_mem=${c.dom0Mem}: ${cmdline}`);
  const mib = Number(/(\d+)M/.exec(c.dom0Mem.split(',').find((p) => p.startsWith('max:')) ?? c.dom0Mem)![1]);
  const dom0Row = /^Domain-0\s+0\s+(\d+)\s/m.exec(info);
  assert.ok(dom0Row, info);
  // xl list rounds down; dom0 may give a few MiB back to Xen's own allocations
  assert.ok(Math.abs(Number(dom0Row[1]) - mib) <= 8, `dom0 has ${dom0Row[1]} MiB, the recipe says ${mib}`);

  // the management address is on the bridge, the NIC is its port
  const links = await host.ssh('ip -br link');
  assert.match(links, new RegExp(`^${c.bridge}\\s+UP\\s`, 'm'), `ip -br link:\n${links}`);
  const addr = await host.ssh(`ip -br -4 addr show dev ${c.bridge}`);
  assert.match(addr, new RegExp(`^${c.bridge}\\s+UP\\s+${c.managementCidr.replace(/\./g, '\\.')}\\b`, 'm'), `${c.bridge} carries ${c.managementCidr}: ${addr}`);
  const eth0 = await host.ssh('ip -br -4 addr show dev eth0');
  assert.not.match(eth0, /\d+\.\d+\.\d+\.\d+\//, `the NIC itself has no address: ${eth0}`);
  const ports = await host.ssh(`ip -br link show master ${c.bridge}`);
  assert.match(ports, /^eth0\s+UP\s/m, `eth0 is a port of ${c.bridge}: ${ports}`);
  const conf = await host.ssh('cat /etc/xensource/network.conf; grep MANAGEMENT_INTERFACE /etc/xensource-inventory');
  assert.match(conf, /^bridge$/m, 'network.conf');
  assert.match(conf, new RegExp(`^MANAGEMENT_INTERFACE='${c.bridge}'$`, 'm'));
  lap('xl info and bridge');

  await host.ssh(`mkdir -p ${GUEST_DIR}`);
  await host.copy([c.guest.kernel, c.guest.initrd], GUEST_DIR);
  lap('guest files copied over SSH');

  // first boot registered the local SR and the bridge with libvirt
  const srUuid = /^SR_UUID='([0-9a-f-]{36})'$/m.exec(await host.ssh('cat /etc/xensource/local-sr.conf'))?.[1];
  const registered = await host.ssh('cat /etc/libvirt/qemu/networks/default.xml /etc/libvirt/storage/local-sr.xml 2>/dev/null; readlink /etc/libvirt/qemu/networks/autostart/default.xml /etc/libvirt/storage/autostart/local-sr.xml 2>/dev/null; true');
  assert.match(registered, new RegExp(`<forward mode='bridge'/>\\s*<bridge name='${c.bridge}'/>`), registered);
  if (c.diskOnSr) assert.match(registered, new RegExp(`<pool type='logical'>[^]*<uuid>${srUuid}</uuid>[^]*<name>VG_XenStorage-${srUuid}</name>`), registered);
  assert.match(registered, /^\/etc\/libvirt\/qemu\/networks\/default\.xml$/m);

  // the guest's disk: a volume of the local SR, through libvirt's pool local-sr from this machine
  let disk: string | undefined;
  if (c.diskOnSr) {
    assert.ok(srUuid, 'first boot recorded the local SR');
    disk = `/dev/VG_XenStorage-${srUuid}/xsf-test-guest`;
    if (c.libvirt) {
      const pools = await virshOrJournal(host, 'pool-list', '--all');
      assert.match(pools, /local-sr\s+active\s+yes/, `libvirt's pool list:\n${pools}`);
      await host.virsh('vol-create-as', 'local-sr', 'xsf-test-guest', '64M');
      assert.is((await host.virsh('vol-path', '--pool', 'local-sr', 'xsf-test-guest')).trim(), disk);
    } else {
      await host.ssh(`lvcreate -y -n xsf-test-guest -L 64M VG_XenStorage-${srUuid}`);
    }
    const lvs = await host.ssh('lvs --noheadings -o lv_name,vg_name,lv_size --units b');
    assert.match(lvs, /xsf-test-guest\s+VG_XenStorage-[0-9a-f-]{36}\s+67108864B/, lvs);
    lap('volume on the local SR');
  }

  // xl, on the serial console: `xl create -c` shows the guest's console until it powers off
  const cfg = xlGuestConfig({ name: 'xsf-xl-guest', kernel: `${GUEST_DIR}/vmlinuz`, ramdisk: `${GUEST_DIR}/initrd.img`, bridge: c.bridge, ...(disk && { disk: `phy:${disk}` }) });
  await host.ssh(`cat > ${GUEST_DIR}/xl-guest.cfg`, { input: cfg });
  const xl = await hostShell(vm, `xl create -c ${GUEST_DIR}/xl-guest.cfg`, 600_000);
  assert.is(xl.rc, 0, xl.out);
  const report = parseGuestConsole(xl.out);
  assert.ok(report.done, `the xl guest finished its checks:\n${xl.out.slice(-3000)}`);
  assert.is(report.disk?.dev, disk ? 'xvda' : 'none');
  if (disk) assert.is(report.disk?.bytes, 64 * 2 ** 20);
  assert.match(report.lease?.ip ?? '', /^10\.0\.2\.\d+$/, 'a lease from QEMU\'s DHCP server, through the bridge');
  assert.is.not(`${report.lease?.ip}/24`, c.managementCidr, 'the guest has its own address');
  assert.equal(report.ping, { ok: true, gateway: '10.0.2.2' });
  if (disk) assert.ok(parseGuestConsole((await host.ssh(`head -c 4096 ${disk} | tr -d '\\000'`))).done, 'the report on the SR volume');
  // xl's console ends when the guest shuts down; the toolstack then destroys the domain
  let list = '';
  for (let i = 0; i < 30; i++) {
    list = await host.ssh('xl list');
    if (!/xsf-xl-guest/.test(list)) break;
    await new Promise((r) => setTimeout(r, 1000));
  }
  assert.not.match(list, /xsf-xl-guest/, `the guest powered itself off and was destroyed:\n${list}`);
  lap('xl guest boot, lease, ping, power-off');

  if (c.libvirt) {
    // remote management: define, list and start the guest through libvirt over SSH
    const xml = libvirtGuestXml({ name: 'xsf-virsh-guest', kernel: `${GUEST_DIR}/vmlinuz`, ramdisk: `${GUEST_DIR}/initrd.img`, bridge: c.bridge, ...(disk && { disk }) });
    const xmlFile = join(host.work, 'xsf-virsh-guest.xml');
    writeFileSync(xmlFile, xml);
    await host.virsh('define', xmlFile);
    const list = await host.virsh('list', '--all');
    assert.match(list, /xsf-virsh-guest\s+shut off/, list);
    const nets = await host.virsh('net-dumpxml', 'default');
    assert.match(nets, new RegExp(`<bridge name='${c.bridge}'/>`), nets);
    // the xl guest left its report on the volume: clear it, so what is read later is this run's
    if (disk) await host.ssh(`dd if=/dev/zero of=${disk} bs=4096 count=1 conv=fsync status=none`);
    await host.virsh('start', 'xsf-virsh-guest');
    // a guest that fails a check stays up (a crash is preserved); one that passed them all powers off
    const deadline = Date.now() + 300_000;
    let state = '';
    while (Date.now() < deadline) {
      state = (await host.virsh('domstate', 'xsf-virsh-guest')).trim();
      if (state === 'shut off') break;
      await new Promise((r) => setTimeout(r, 3000));
    }
    assert.is(state, 'shut off', 'the libvirt guest ran its checks and powered off');
    if (disk) {
      // what it printed on its console, from its disk
      const head = (await host.ssh(`head -c 4096 ${disk} | tr -d '\\000'`)).trim();
      const r = parseGuestConsole(head);
      assert.ok(r.done, `the libvirt guest's report:\n${head}`);
      assert.is(r.disk?.dev, 'xvda');
      assert.match(r.lease?.ip ?? '', /^10\.0\.2\.\d+$/);
      assert.equal(r.ping, { ok: true, gateway: '10.0.2.2' });
    }
    lap('libvirt guest over xen+ssh');
  }
  return timings;
}

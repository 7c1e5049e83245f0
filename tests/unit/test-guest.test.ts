// The test guest's pure parts: the xl.cfg and libvirt XML generators (and what
// they refuse), the console banners and their parser, the /init text, and the
// module load order.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { XsforgeError } from '../../core/errors.ts';
import { GUEST_BANNER, GUEST_PATTERNS, GUEST_STEPS, parseGuestConsole } from '../../guest/banners.ts';
import { libvirtGuestXml, xlGuestConfig, xmlEscape, type GuestConfigInput } from '../../guest/config.ts';
import { GUEST_APPLETS, GUEST_PATHS, guestInitScript, guestUdhcpcScript } from '../../guest/init.ts';
import { TEST_GUEST_MODULES, moduleLoadOrder } from '../../guest/modules.ts';

const base: GuestConfigInput = { name: 'xsf-guest-1', kernel: '/var/lib/xsforge/guest/vmlinuz', ramdisk: '/var/lib/xsforge/guest/initrd.img' };

test('xl.cfg: a PV domain with kernel, ramdisk, console=hvc0, bridge, phy disk, destroy on poweroff', () => {
  const cfg = xlGuestConfig({ ...base, memoryMiB: 96, disk: 'phy:/dev/VG_XenStorage-1/test-lv', mac: '00:16:3E:AA:bb:01' });
  const body = cfg.split('\n').filter((l) => l && !l.startsWith('#'));
  assert.equal(body, [
    'name = "xsf-guest-1"',
    'type = "pv"',
    'kernel = "/var/lib/xsforge/guest/vmlinuz"',
    'ramdisk = "/var/lib/xsforge/guest/initrd.img"',
    'extra = "console=hvc0"',
    'memory = 96',
    'vcpus = 1',
    "vif = [ 'bridge=xenbr0,mac=00:16:3e:aa:bb:01' ]",
    "disk = [ 'phy:/dev/VG_XenStorage-1/test-lv,xvda,w' ]",
    'on_poweroff = "destroy"',
    // a reboot or crash must not look like success (domain gone) to a supervisor
    'on_reboot = "preserve"',
    'on_crash = "preserve"',
  ]);
  assert.ok(cfg.endsWith('\n'));
});

test('xl.cfg: no disk line without a disk; default memory and bridge; bare paths pick phy (under /dev) or a raw file', () => {
  const none = xlGuestConfig(base);
  assert.not.match(none, /^disk/m);
  assert.match(none, /^memory = 128$/m);
  assert.match(none, /^vif = \[ 'bridge=xenbr0' \]$/m);
  assert.match(xlGuestConfig({ ...base, disk: '/dev/sdb' }), /^disk = \[ 'phy:\/dev\/sdb,xvda,w' \]$/m);
  assert.match(xlGuestConfig({ ...base, disk: '/srv/guest.img' }), /^disk = \[ 'format=raw,vdev=xvda,access=rw,target=\/srv\/guest.img' \]$/m);
  assert.match(xlGuestConfig({ ...base, disk: 'file:/dev/shm/x.img' }), /target=\/dev\/shm\/x.img/);
  const other = xlGuestConfig({ ...base, bridge: 'xapi1', vcpus: 2 });
  assert.match(other, /^vif = \[ 'bridge=xapi1' \]$/m);
  assert.match(other, /^vcpus = 2$/m);
});

test('libvirt XML: well-formed, type xen, direct kernel boot with console=hvc0, block disk on xvda (bus xen), bridge, destroy on poweroff', () => {
  const xml = libvirtGuestXml({ ...base, disk: 'phy:/dev/VG/LV', bridge: 'xenbr1', mac: '00:16:3e:00:00:07' });
  assert.equal(XMLValidator.validate(xml), true);
  const d = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '@' }).parse(xml).domain;
  assert.equal(d['@type'], 'xen');
  assert.equal(d.name, 'xsf-guest-1');
  assert.equal(d.memory, { '#text': 128, '@unit': 'MiB' });
  assert.equal(d.os.type['#text'], 'linux');
  assert.equal(d.os.kernel, '/var/lib/xsforge/guest/vmlinuz');
  assert.equal(d.os.initrd, '/var/lib/xsforge/guest/initrd.img');
  assert.equal(d.os.cmdline, 'console=hvc0');
  assert.equal(d.on_poweroff, 'destroy');
  assert.equal(d.on_reboot, 'preserve');
  assert.equal(d.devices.disk['@type'], 'block');
  assert.equal(d.devices.disk.source['@dev'], '/dev/VG/LV');
  assert.equal(d.devices.disk.target, { '@dev': 'xvda', '@bus': 'xen' });
  assert.equal(d.devices.interface['@type'], 'bridge');
  assert.equal(d.devices.interface.source['@bridge'], 'xenbr1');
  assert.equal(d.devices.interface.mac['@address'], '00:16:3e:00:00:07');
  const file = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '@' }).parse(libvirtGuestXml({ ...base, disk: '/srv/g.img' })).domain;
  assert.equal(file.devices.disk['@type'], 'file');
  assert.equal(file.devices.disk.source['@file'], '/srv/g.img');
  assert.not.ok(new XMLParser().parse(libvirtGuestXml(base)).domain.devices.disk, 'no disk element without a disk');
});

test('odd names, paths, bridges, MACs and sizes are refused by both generators, naming the value and what is allowed', () => {
  const bad: Array<[Partial<GuestConfigInput>, RegExp]> = [
    [{ name: 'my guest' }, /domain name "my guest"/],
    [{ name: 'a"b' }, /domain name "a\\"b"/],
    [{ name: "a'b" }, /domain name/],
    [{ name: 'x\ny' }, /domain name "x\\ny"/],
    [{ name: '-leading-dash' }, /domain name/],
    [{ name: '' }, /domain name/],
    [{ name: 'n'.repeat(65) }, /domain name/],
    [{ name: '<script>' }, /domain name/],
    [{ kernel: 'vmlinuz' }, /kernel "vmlinuz"/],
    [{ kernel: '/boot/vm linuz' }, /kernel/],
    [{ ramdisk: '/boot/initrd.img,xvdb,w' }, /ramdisk/],
    [{ ramdisk: "/boot/it's" }, /ramdisk/],
    [{ kernel: '/boot/../etc/shadow' }, /kernel/],
    [{ disk: 'phy:/dev/VG/LV,xvdb' }, /disk "\/dev\/VG\/LV,xvdb"/],
    [{ disk: 'phy:dev/VG/LV' }, /disk/],
    [{ disk: 'target=/dev/sdb' }, /disk/],
    [{ disk: 'nbd:host:1234' }, /disk/],
    [{ bridge: 'xenbr0,script=/tmp/x' }, /bridge/],
    [{ bridge: 'a-very-long-bridge-name' }, /bridge/],
    [{ mac: '01:00:5e:00:00:01' }, /unicast/],
    [{ mac: '00:16:3e:zz:00:01' }, /MAC address/],
    [{ mac: '00-16-3e-00-00-01' }, /MAC address/],
    [{ memoryMiB: 16 }, /memory/],
    [{ memoryMiB: 100.5 }, /memory/],
    [{ vcpus: 0 }, /vcpus/],
  ];
  for (const [change, msg] of bad) {
    for (const gen of [xlGuestConfig, libvirtGuestXml]) {
      try {
        gen({ ...base, ...change });
        assert.unreachable(`${JSON.stringify(change)} was accepted by ${gen.name}`);
      } catch (e) {
        assert.instance(e, XsforgeError, JSON.stringify(change));
        const { message, hint } = e as XsforgeError;
        assert.ok(hint, `a hint for ${JSON.stringify(change)}`);
        assert.match(`${message}\n${hint}`, msg);
      }
    }
  }
});

test('xmlEscape: markup characters become entities', () => {
  assert.is(xmlEscape(`a&b<c>d'e"f`), 'a&amp;b&lt;c&gt;d&apos;e&quot;f');
  assert.is(xmlEscape('/dev/VG/LV'), '/dev/VG/LV');
});

test('console parser: every banner, CR-LF, kernel noise around and before the lines', () => {
  const text = [
    '[    2.976815] Run /init as init process',
    `${GUEST_BANNER.up} kernel=6.1.0-50-amd64`,
    `${GUEST_BANNER.modules} loaded=9 failed=xen-blkfront,xen-netfront`,
    `[    3.1] virtio_blk virtio1: [vda] 16384 512-byte logical blocks${GUEST_BANNER.disk} dev=vda bytes=8388608`,
    `${GUEST_BANNER.lease} ip=10.0.2.15 router=10.0.2.2`,
    `${GUEST_BANNER.ping} ok gateway=10.0.2.2`,
    GUEST_BANNER.done,
    '[    6.245939] reboot: Power down',
  ].join('\r\n');
  assert.equal(parseGuestConsole(text), {
    kernel: '6.1.0-50-amd64',
    modules: { loaded: 9, failed: ['xen-blkfront', 'xen-netfront'] },
    disk: { dev: 'vda', bytes: 8388608 },
    lease: { ip: '10.0.2.15', router: '10.0.2.2' },
    ping: { ok: true, gateway: '10.0.2.2' },
    done: true,
  });
  const failed = parseGuestConsole([`${GUEST_BANNER.up} kernel=x`, `${GUEST_BANNER.modules} loaded=9 failed=none`, `${GUEST_BANNER.disk} dev=none`,
    `${GUEST_BANNER.ping} failed gateway=192.168.1.1`, `${GUEST_BANNER.failed} step=ping`].join('\n'));
  assert.equal(failed.modules, { loaded: 9, failed: [] });
  assert.equal(failed.disk, { dev: 'none', bytes: 0 });
  assert.equal(failed.ping, { ok: false, gateway: '192.168.1.1' });
  assert.is(failed.failed, 'ping');
  assert.is(failed.done, false);
  // DONE is a whole word: FAILED lines and longer names do not count
  assert.not.ok(GUEST_PATTERNS.done.test(`${GUEST_BANNER.done}-NOT`));
  assert.ok(GUEST_PATTERNS.end.test(`${GUEST_BANNER.failed} step=dhcp`));
  assert.ok(GUEST_PATTERNS.end.test(GUEST_BANNER.done));
});

test('/init and the udhcpc hook: every banner and step comes from banners.ts, both parse as POSIX sh', () => {
  const init = guestInitScript();
  const hook = guestUdhcpcScript();
  assert.ok(init.startsWith('#!/bin/sh\n') && hook.startsWith('#!/bin/sh\n'));
  for (const k of ['up', 'modules', 'disk', 'ping', 'done', 'failed'] as const) assert.ok(init.includes(GUEST_BANNER[k]), k);
  assert.ok(hook.includes(`${GUEST_BANNER.lease} ip=$ip router=$gw`));
  const steps = [...init.matchAll(/\bfail (\w+)/g)].map((m) => m[1]);
  assert.equal([...new Set(steps)].sort(), [...GUEST_STEPS].sort());
  // the report goes to /dev/console (ttyS0 under QEMU, hvc0 under Xen), and the guest stays up after a failure
  assert.ok(init.includes('>/dev/console'));
  assert.match(init, /while :; do sleep 3600; done/);
  assert.match(init, /say "XSFORGE-TEST-GUEST-DONE"\n/);
  // the report reaches the disk (when there is one) before the power goes
  assert.match(init, /dd if=\/run\/report of="\/dev\/\$disk" [^\n]*conv=sync,notrunc,fsync[^\n]*\n  sync\nfi\npoweroff -f\n/);
  assert.ok(init.includes(`<"/${GUEST_PATHS.moduleList}"`));
  assert.ok(init.includes(`-s /${GUEST_PATHS.udhcpcScript}`));
  // the commands the scripts run are linked (or are sh built-ins)
  for (const cmd of ['mount', 'insmod', 'uname', 'udhcpc', 'ping', 'poweroff', 'usleep', 'ip', 'dmesg', 'tail']) {
    assert.ok((GUEST_APPLETS as readonly string[]).includes(cmd), cmd);
  }
  const dir = mkdtempSync(join(tmpdir(), 'xsf-guest-sh-'));
  try {
    for (const [n, text] of [['init', init], ['default.script', hook]]) {
      writeFileSync(join(dir, n), text);
      const r = spawnSync('sh', ['-n', join(dir, n)], { encoding: 'utf8' });
      assert.is(r.status, 0, `${n}: ${r.stderr}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('module load order: dependencies first, hyphen and underscore names alike, softdep cycles cut, absent names reported', () => {
  const all = new Map<string, string[]>([
    ['kernel/drivers/net/virtio_net.ko', ['net_failover', 'virtio', 'virtio_ring']],
    ['kernel/drivers/net/net_failover.ko', ['failover']],
    ['kernel/net/core/failover.ko', []],
    ['kernel/drivers/virtio/virtio.ko', []],
    ['kernel/drivers/virtio/virtio_ring.ko', []],
    ['kernel/drivers/virtio/virtio_pci.ko', ['virtio', 'virtio_pci_legacy_dev', 'virtio_pci_modern_dev', 'virtio_ring']],
    ['kernel/drivers/virtio/virtio_pci_legacy_dev.ko', []],
    ['kernel/drivers/virtio/virtio_pci_modern_dev.ko', []],
    ['kernel/drivers/block/virtio_blk.ko', ['virtio', 'virtio_ring']],
    ['kernel/drivers/net/xen-netfront.ko', []],
    ['kernel/drivers/block/xen-blkfront.ko', ['crc_x']],
    ['kernel/drivers/misc/unrelated.ko', []],
    ['kernel/lib/a.ko', ['b']],
    ['kernel/lib/b.ko', ['a']],
  ]);
  const plan = moduleLoadOrder(all, TEST_GUEST_MODULES);
  assert.equal(plan.notModules, []);
  assert.equal(plan.missingDeps, ['crc_x']);
  assert.is(plan.order.length, 11);
  assert.not.ok(plan.order.includes('kernel/drivers/misc/unrelated.ko'));
  const at = (p: string) => plan.order.indexOf(p);
  for (const [p, deps] of all) {
    if (!plan.order.includes(p)) continue;
    for (const d of deps) {
      const dp = [...all.keys()].find((k) => k.endsWith(`/${d}.ko`));
      if (dp) assert.ok(at(dp) < at(p), `${dp} before ${p}`);
    }
  }
  const cyc = moduleLoadOrder(all, ['a', 'no-such-module']);
  assert.equal(cyc.order, ['kernel/lib/b.ko', 'kernel/lib/a.ko']);
  assert.equal(cyc.notModules, ['no_such_module']);
});

test.run();

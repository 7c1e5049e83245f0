// Domain definitions for booting the test guest on a host: an xl.cfg and a
// libvirt domain XML, both a PV domain with kernel + initrd given directly (no
// bootloader in the guest). Values a config language could misread (quotes,
// commas, newlines, XML markup) are refused, not escaped, except that the XML is
// escaped as well. Pure.
import { XsforgeError } from '../core/errors.ts';

export interface GuestConfigInput {
  /** domain name: letters, digits, '.', '_', '-', 1-64 characters, starting with a letter or digit */
  name: string;
  /** absolute path of vmlinuz on the host */
  kernel: string;
  /** absolute path of initrd.img on the host */
  ramdisk: string;
  /** default 128 */
  memoryMiB?: number;
  /** default 1 */
  vcpus?: number;
  /** `phy:/dev/VG/LV`, `file:/path/disk.img`, or an absolute path (under /dev/: phy, else file); seen as xvda */
  disk?: string;
  /** bridge of the guest's one NIC; default xenbr0 */
  bridge?: string;
  /** unicast MAC, e.g. 00:16:3e:xx:xx:xx (Xen's OUI); default: chosen by the toolstack */
  mac?: string;
}

/** The guest kernel's command line under Xen: its console is the PV console, hvc0. */
export const GUEST_CMDLINE = 'console=hvc0';
export const DEFAULT_GUEST_MEMORY_MIB = 128;
export const DEFAULT_GUEST_BRIDGE = 'xenbr0';

interface CheckedGuest {
  name: string;
  kernel: string;
  ramdisk: string;
  memoryMiB: number;
  vcpus: number;
  disk?: { kind: 'phy' | 'file'; path: string };
  bridge: string;
  mac?: string;
}

const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
// Linux interface names: at most 15 bytes, no '/', ':' or white space
const BRIDGE_RE = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,14}$/;
const MAC_RE = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/;
// safe in an xl string ('..' or ".."), an xl disk spec (comma-separated, key=value) and XML
const PATH_RE = /^\/[A-Za-z0-9._+@%\/-]*$/;

function refuse(what: string, value: string, allowed: string): never {
  throw new XsforgeError(`test guest: ${what} ${JSON.stringify(value)} is not allowed`, allowed);
}

function checkPath(what: string, p: string): string {
  if (!PATH_RE.test(p) || p.split('/').includes('..')) {
    refuse(what, p, 'an absolute path of letters, digits and . _ + @ % / - (no quotes, commas, "=", spaces or "..")');
  }
  return p;
}

function checkGuest(i: GuestConfigInput): CheckedGuest {
  if (!NAME_RE.test(i.name)) refuse('domain name', i.name, '1-64 letters, digits, ".", "_" or "-", starting with a letter or digit');
  const memoryMiB = i.memoryMiB ?? DEFAULT_GUEST_MEMORY_MIB;
  // the guest kernel with its initramfs needs about 64 MiB to unpack and run
  if (!Number.isInteger(memoryMiB) || memoryMiB < 64 || memoryMiB > 1 << 20) refuse('memory (MiB)', String(i.memoryMiB), 'a whole number of MiB from 64 to 1048576');
  const vcpus = i.vcpus ?? 1;
  if (!Number.isInteger(vcpus) || vcpus < 1 || vcpus > 128) refuse('vcpus', String(i.vcpus), 'a whole number from 1 to 128');
  const bridge = i.bridge ?? DEFAULT_GUEST_BRIDGE;
  if (!BRIDGE_RE.test(bridge)) refuse('bridge', bridge, 'a Linux interface name: 1-15 letters, digits, ".", "_" or "-"');
  let mac: string | undefined;
  if (i.mac !== undefined) {
    mac = i.mac.toLowerCase();
    if (!MAC_RE.test(mac)) refuse('MAC address', i.mac, 'six hex pairs separated by ":", e.g. 00:16:3e:12:34:56');
    if (parseInt(mac.slice(0, 2), 16) & 1) refuse('MAC address', i.mac, 'a unicast address (the first octet even), e.g. 00:16:3e:12:34:56');
  }
  let disk: CheckedGuest['disk'];
  if (i.disk !== undefined) {
    const m = /^(phy|file):(.*)$/.exec(i.disk);
    const path = checkPath('disk', m ? m[2]! : i.disk);
    const kind = m ? (m[1] as 'phy' | 'file') : path.startsWith('/dev/') ? 'phy' : 'file';
    disk = { kind, path };
  }
  return {
    name: i.name, kernel: checkPath('kernel', i.kernel), ramdisk: checkPath('ramdisk', i.ramdisk),
    memoryMiB, vcpus, bridge, ...(mac ? { mac } : {}), ...(disk ? { disk } : {}),
  };
}

// a block device in the form XenServer-era configs use (xl still reads the phy:
// prefix); an image file in the keyword form, target last as xl requires
function xlDiskSpec(d: NonNullable<CheckedGuest['disk']>): string {
  return d.kind === 'phy' ? `phy:${d.path},xvda,w` : `format=raw,vdev=xvda,access=rw,target=${d.path}`;
}

/**
 * An xl.cfg (xl create FILE). on_poweroff destroys the domain: the guest powers
 * off only after DONE, so "domain gone" means success. A reboot or crash keeps
 * the domain (preserve) so that neither looks like success to a supervisor.
 */
export function xlGuestConfig(input: GuestConfigInput): string {
  const g = checkGuest(input);
  const lines = [
    '# xsforge test guest: a PV domain booting vmlinuz + initrd.img directly; it reports on',
    '# its console (xl console NAME) and powers off on success, or stays up after a failure',
    `name = "${g.name}"`,
    'type = "pv"',
    `kernel = "${g.kernel}"`,
    `ramdisk = "${g.ramdisk}"`,
    `extra = "${GUEST_CMDLINE}"`,
    `memory = ${g.memoryMiB}`,
    `vcpus = ${g.vcpus}`,
    `vif = [ 'bridge=${g.bridge}${g.mac ? `,mac=${g.mac}` : ''}' ]`,
    ...(g.disk ? [`disk = [ '${xlDiskSpec(g.disk)}' ]`] : []),
    'on_poweroff = "destroy"',
    'on_reboot = "preserve"',
    'on_crash = "preserve"',
  ];
  return `${lines.join('\n')}\n`;
}

/** Text or attribute value for XML (checkGuest already keeps markup out: this is the second fence). */
export const xmlEscape = (s: string): string => s.replace(/[&<>'"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', "'": '&apos;', '"': '&quot;' })[c]!);

/** The same domain for libvirt's libxl driver (virsh define FILE). */
export function libvirtGuestXml(input: GuestConfigInput): string {
  const g = checkGuest(input);
  const e = xmlEscape;
  const disk = !g.disk ? [] : g.disk.kind === 'phy'
    ? [
      "    <disk type='block' device='disk'>",
      "      <driver name='phy'/>",
      `      <source dev='${e(g.disk.path)}'/>`,
      "      <target dev='xvda' bus='xen'/>",
      '    </disk>',
    ]
    : [
      "    <disk type='file' device='disk'>",
      "      <driver name='qemu' type='raw'/>",
      `      <source file='${e(g.disk.path)}'/>`,
      "      <target dev='xvda' bus='xen'/>",
      '    </disk>',
    ];
  return [
    "<domain type='xen'>",
    '  <!-- xsforge test guest: reports on its console and powers off on success, stays up after a failure -->',
    `  <name>${e(g.name)}</name>`,
    `  <memory unit='MiB'>${g.memoryMiB}</memory>`,
    `  <vcpu>${g.vcpus}</vcpu>`,
    '  <os>',
    "    <type arch='x86_64' machine='xenpv'>linux</type>",
    `    <kernel>${e(g.kernel)}</kernel>`,
    `    <initrd>${e(g.ramdisk)}</initrd>`,
    `    <cmdline>${e(GUEST_CMDLINE)}</cmdline>`,
    '  </os>',
    '  <on_poweroff>destroy</on_poweroff>',
    '  <on_reboot>preserve</on_reboot>',
    '  <on_crash>preserve</on_crash>',
    '  <devices>',
    ...disk,
    "    <interface type='bridge'>",
    `      <source bridge='${e(g.bridge)}'/>`,
    ...(g.mac ? [`      <mac address='${e(g.mac)}'/>`] : []),
    '    </interface>',
    "    <console type='pty'>",
    "      <target type='xen' port='0'/>",
    '    </console>',
    '  </devices>',
    '</domain>',
    '',
  ].join('\n');
}

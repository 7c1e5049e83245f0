// The host inventory format, written once: the TypeBox definitions below are the
// JSON Schema the loader validates with (and `xsforge inventory schema` prints).
// The schema checks shapes, types and single-value formats; what needs more than
// one value (subnets, duplicates, static mode's fields) is checked in load.ts.
// Pure: no I/O here.
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { SCRIPT_STAGES } from '../answerfiles/model.ts';

/**
 * Every pattern the schema uses, with the format said in words, so an error says
 * what was expected rather than "must match pattern ^...$".
 */
export const INVENTORY_PATTERNS = {
  mac: {
    regex: '^([0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){5}|[0-9A-Fa-f]{2}(-[0-9A-Fa-f]{2}){5}|[0-9A-Fa-f]{4}\\.[0-9A-Fa-f]{4}\\.[0-9A-Fa-f]{4}|[0-9A-Fa-f]{12})$',
    words: 'a MAC address: 00:16:3e:aa:bb:cc, 00-16-3E-AA-BB-CC, 0016.3eaa.bbcc or 00163eaabbcc',
  },
  ipv4: {
    regex: '^((25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])\\.){3}(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])$',
    words: 'an IPv4 address in dotted-quad form without leading zeros (e.g. 192.0.2.10)',
  },
  // The 7.1 installer names the management bridge xenbrN after ethN and asserts the name starts with "eth".
  interfaceName: { regex: '^eth[0-9]+$', words: 'an installer interface name ethN (e.g. eth0)' },
  disk: { regex: '^[^\\s<>&"\']+$', words: 'a disk name without spaces (e.g. sda, /dev/sda, disk/by-id/scsi-3600..., or an iscsi: spec)' },
  timezone: { regex: '^[A-Za-z][A-Za-z0-9._+-]*(/[A-Za-z0-9._+-]+)*$', words: 'a time zone name from the tz database (e.g. Europe/London, Etc/UTC)' },
  keymap: { regex: '^[A-Za-z0-9][A-Za-z0-9._-]*$', words: 'a console keymap name (e.g. us, uk, de-latin1)' },
  serverName: { regex: '^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$', words: 'a host name or IPv4 address (e.g. ntp1.example.com)' },
  kernelArg: { regex: '^[^\\s]+$', words: 'a single command-line argument without spaces (e.g. loglvl=all)' },
  // What the installer can fetch: http(s), ftp and file URLs, and nfs://server:/path.
  fetchUrl: {
    regex: '^((https?|ftp)://[^\\s/]+(/[^\\s]*)?|file:///[^\\s]*|nfs://[^\\s/:]+:/[^\\s]*)$',
    words: 'an http://, https://, ftp://, file:/// or nfs://server:/path URL',
  },
  passwordHash: {
    regex: '^(\\$6\\$(rounds=[0-9]+\\$)?[^$:\\s]{1,16}\\$[./0-9A-Za-z]{86}|\\$5\\$(rounds=[0-9]+\\$)?[^$:\\s]{1,16}\\$[./0-9A-Za-z]{43})$',
    words: 'a crypt(3) hash: $6$salt$... (sha512crypt, e.g. from `mkpasswd -m sha-512`) or $5$salt$... (sha256crypt)',
  },
} as const;

export const MANAGEMENT_MODES = ['dhcp', 'static'] as const;
export const SR_TYPES = ['lvm', 'ext'] as const;
export const CONSOLES = ['serial', 'vga'] as const;
/** Only bridge: the product's openvswitch is refused (answerfiles/model.ts NetworkBackend says why). */
export const NETWORK_BACKENDS = ['bridge'] as const;
export { SCRIPT_STAGES };

/** Keys that identify one host: allowed in a host, not in `defaults`. */
export const PER_HOST_KEYS = ['mac', 'hostname'] as const;

const Pat = (p: keyof typeof INVENTORY_PATTERNS, description: string, extra: Record<string, unknown> = {}) =>
  Type.String({ pattern: INVENTORY_PATTERNS[p].regex, description, ...extra });

// A plain `enum` keyword rather than a union of literals, so ajv reports one
// "must be one of" error instead of one per value.
function StringEnum<const T extends readonly string[]>(values: T, description: string) {
  return Type.Unsafe<T[number]>({ type: 'string', enum: [...values], description });
}

const Strict = { additionalProperties: false } as const;

const ManagementSchema = Type.Object({
  interface: Type.Optional(Pat('interfaceName', 'management NIC by installer name (ethN); give this or hwaddr, not both. Also used as answerfile_device=')),
  hwaddr: Type.Optional(Pat('mac', 'management NIC by MAC address; give this or interface, not both. Default: the host\'s mac')),
  mode: Type.Optional(StringEnum(MANAGEMENT_MODES, 'IPv4 configuration of the management interface; default dhcp')),
  ip: Type.Optional(Pat('ipv4', 'static IPv4 address (mode static; unique among the inventory\'s static hosts)')),
  netmask: Type.Optional(Pat('ipv4', 'static IPv4 netmask, dotted quad with contiguous one bits (e.g. 255.255.255.0)')),
  gateway: Type.Optional(Pat('ipv4', 'static IPv4 default gateway; must be inside the subnet given by ip and netmask')),
  dns: Type.Optional(Type.Array(Pat('ipv4', 'name server address'), { uniqueItems: true, description: 'name servers, in order (<name-server>)' })),
  vlan: Type.Optional(Type.Integer({ minimum: 1, maximum: 4094, description: '802.1Q VLAN of the management network. The 7.1 installer cannot tag the management interface (answer-file vlan= arrived in 7.2), so the answer file does not carry it: the install network must reach the host untagged; the value is kept on the Host for tooling that sets the VLAN after install' })),
}, { ...Strict, description: 'the management interface: <admin-interface> in the answer file' });

const RootPasswordSchema = Type.Object({
  hash: Type.Optional(Pat('passwordHash', 'crypt(3) hash written as <root-password type="hash">')),
  plaintext: Type.Optional(Type.String({ minLength: 1, description: 'a password in clear; hashed with sha512crypt and a random salt when the inventory is loaded, and written nowhere in clear unless keep_plaintext is true' })),
  keep_plaintext: Type.Optional(Type.Boolean({ description: 'write the plaintext into the answer file (<root-password type="plaintext">) instead of its hash; default false' })),
}, { ...Strict, description: 'root password: exactly one of hash and plaintext. Absent: no password until first boot' });

const ScriptSchema = Type.Object({
  stage: StringEnum(SCRIPT_STAGES, 'when the installer runs the script'),
  url: Pat('fetchUrl', 'where the installer fetches the script; its first line must be #!/bin/sh, #!/bin/bash, #!/usr/bin/python or #!/usr/bin/env python'),
}, { ...Strict, description: 'a <script stage= type=> element' });

/** Every host field. `required` is what a host must have after `defaults` are merged in. */
const hostProperties = {
  mac: Pat('mac', 'MAC address of the NIC the host PXE-boots from, in any common notation; normalised to lower-case colon form. Names the answer file (<mac>.xml) and the per-host pxelinux file'),
  hostname: Type.String({ minLength: 1, description: 'host name, optionally fully qualified (RFC 1123 labels: letters, digits, hyphens inside, 1-63 characters each); unique in the inventory' }),
  management: Type.Optional(ManagementSchema),
  primary_disk: Pat('disk', 'disk to install on (<primary-disk>; /dev/ is added when missing)'),
  // Duplicates are found by load.ts after /dev/ is added (sdb and /dev/sdb are one disk).
  guest_disks: Type.Optional(Type.Array(Pat('disk', 'disk name'), { description: 'extra disks for the local SR (<guest-disk>), each once; default none' })),
  guest_storage: Type.Optional(Type.Boolean({ description: 'put the rest of the primary disk into the local SR (guest-storage=); default true' })),
  sr_type: Type.Optional(StringEnum(SR_TYPES, 'local SR type: lvm, or ext for thin provisioning (sr-type=); default lvm')),
  timezone: Type.Optional(Pat('timezone', 'time zone (<timezone>); default Etc/UTC')),
  ntp: Type.Optional(Type.Array(Pat('serverName', 'NTP server'), { uniqueItems: true, description: 'NTP servers (<ntp-server>); default: ntp.conf\'s own servers' })),
  root_password: Type.Optional(RootPasswordSchema),
  scripts: Type.Optional(Type.Array(ScriptSchema, { description: 'scripts the installer runs (<script>), in order' })),
  supplemental_packs: Type.Optional(Type.Array(Pat('fetchUrl', 'URL of an unpacked supplemental pack (a directory with its own repodata)'), { uniqueItems: true, description: 'supplemental packs to install with the product: extra <source> elements after the main repository' })),
  console: Type.Optional(StringEnum(CONSOLES, 'installer console: serial (Xen com1=115200,8n1 console=com1,vga; dom0 console=hvc0 and tty0) or vga (Xen console=vga; dom0 console=tty0); default serial')),
  dom0_args: Type.Optional(Type.Array(Pat('kernelArg', 'one dom0 argument'), { description: 'extra dom0/installer kernel arguments, after the ones xsforge sets' })),
  xen_args: Type.Optional(Type.Array(Pat('kernelArg', 'one Xen argument'), { description: 'extra Xen arguments, after the console settings' })),
  multipath: Type.Optional(Type.Boolean({ description: 'install to a multipath root disk (dom0 device_mapper_multipath=enabled); default false' })),
  use_ibft: Type.Optional(Type.Boolean({ description: 'log into the iSCSI targets in the iBFT (dom0 use_ibft), for boot from iSCSI; default false' })),
  keymap: Type.Optional(Pat('keymap', 'console keymap (<keymap>); default: the installer\'s keymap= argument, else us')),
  network_backend: Type.Optional(StringEnum(NETWORK_BACKENDS, 'network stack (<network-backend>): bridge, the default and the only one (this dom0 has no Open vSwitch)')),
};

/** What a host must have once `defaults` are merged in (the fields not marked optional above). */
export const HOST_REQUIRED = ['mac', 'hostname', 'primary_disk'] as const;

/** One host as written (before `defaults` are merged in: nothing required). */
const HostEntrySchema = Type.Partial(Type.Object(hostProperties), { ...Strict, description: 'one host; fields missing here come from defaults' });

/** `defaults`: any host field but the ones that identify a host. */
const { mac: _mac, hostname: _hostname, ...defaultProperties } = hostProperties;
const DefaultsSchema = Type.Partial(Type.Object(defaultProperties), { ...Strict, description: 'fields every host inherits: mappings are merged key by key (the host wins), lists and scalars are replaced whole' });

export const InventoryFileSchema = Type.Object({
  defaults: Type.Optional(DefaultsSchema),
  hosts: Type.Array(HostEntrySchema, { minItems: 1, description: `the hosts; each needs ${HOST_REQUIRED.join(', ')} (here or, but for mac and hostname, in defaults)` }),
}, { ...Strict, title: 'xsforge host inventory', description: 'hosts to provision over PXE/UEFI network boot, each with its own answer file' });

/** A host after `defaults` are merged in: the required fields must be there. */
export const MergedHostSchema = Type.Object(hostProperties, Strict);

export type InventoryFile = Static<typeof InventoryFileSchema>;
export type HostEntry = Static<typeof HostEntrySchema>;
/** A host with defaults merged in and checked: the required fields are there. */
export type MergedHostFields = Static<typeof MergedHostSchema>;

/** The inventory file schema as plain JSON Schema (TypeBox's symbol keys dropped), for ajv and for printing. */
export const INVENTORY_SCHEMA: Record<string, unknown> = toPlainJson(InventoryFileSchema);
export const MERGED_HOST_SCHEMA: Record<string, unknown> = toPlainJson(MergedHostSchema);

function toPlainJson(schema: TSchema): Record<string, unknown> {
  return { $schema: 'http://json-schema.org/draft-07/schema#', ...JSON.parse(JSON.stringify(schema)) };
}

// ---- CSV: which columns exist and what they hold ----

/** Columns whose cell is a list: items separated by white space (no item of these lists can contain a space). */
export const CSV_LIST_COLUMNS = ['guest_disks', 'ntp', 'supplemental_packs', 'dom0_args', 'xen_args', 'management.dns', 'scripts'] as const;
export const CSV_BOOLEAN_COLUMNS = ['guest_storage', 'multipath', 'use_ibft', 'root_password.keep_plaintext'] as const;
export const CSV_INTEGER_COLUMNS = ['management.vlan'] as const;

/**
 * The CSV header names: every host key, nested keys with a dot (`management.ip`,
 * `root_password.hash`). `scripts` holds `stage:url` items.
 */
export const CSV_COLUMNS: readonly string[] = [
  'mac', 'hostname',
  ...Object.keys(ManagementSchema.properties).map((k) => `management.${k}`),
  'primary_disk', 'guest_disks', 'guest_storage', 'sr_type', 'timezone', 'ntp',
  ...Object.keys(RootPasswordSchema.properties).map((k) => `root_password.${k}`),
  'scripts', 'supplemental_packs', 'console', 'dom0_args', 'xen_args', 'multipath', 'use_ibft', 'keymap', 'network_backend',
];

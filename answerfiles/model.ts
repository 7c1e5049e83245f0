// The answer-file model: what an XenServer 7.1 answer file asks the installer to do,
// as typed values. Pure data; the parser (parse.ts) fills it with the installer's
// defaults applied, the generator (generate.ts) writes it back as XML.
//
// The shapes follow the installer (host-installer 10.0.16, answerfile.py): an upgrade
// reads far fewer elements than a fresh install, and a restore fewer still, so each
// operation has its own type. Fields whose absence means something other than a
// fixed default (the installer's command line or DHCP decides) are optional.

export type InstallMode = 'fresh' | 'reinstall' | 'upgrade';
export type SrType = 'lvm' | 'ext';
/** `preserve-first-partition`: yes/no map to 'true'/'false'. */
export type PreserveFirstPartition = 'true' | 'false' | 'if-utility';
export type RepoType = 'url' | 'nfs' | 'local';
export type Ipv4Proto = 'dhcp' | 'static' | 'none';
export type Ipv6Proto = 'dhcp' | 'static' | 'autoconf' | 'none';
/**
 * The management network stack on the installed host. The product's default is
 * Open vSwitch; this dom0 has none (Debian's openvswitch-switch would add Python
 * and a second switch to keep in step with Xen's vif scripts), so `openvswitch`
 * and `vswitch` are refused (MESSAGES.unsupportedNetworkBackend) and bridge is
 * the default: a Linux bridge xenbrN over the NIC, made by first boot.
 */
export type NetworkBackend = 'bridge';
export type BootloaderLocation = 'mbr' | 'partition';
export type ServiceState = 'enabled' | 'disabled';

/** The stages the installer runs scripts at; any other stage value is accepted but never runs. */
export const SCRIPT_STAGES = ['installation-start', 'filesystem-populated', 'installation-complete'] as const;
export type ScriptStage = (typeof SCRIPT_STAGES)[number];

/** A repository: `<source>` (main repo or supplemental pack) or `<driver-source>`. */
export interface RepoSource {
  type: RepoType;
  /** url: http(s)/ftp/file URL; nfs: `server:/path` (an `nfs://` url is stored as nfs); local: '' (the install medium). */
  address: string;
}

/** `<script stage= type=>url</script>` (and the old `post-install-script`/`install-failed-script`). */
export interface ScriptSpec {
  /** Lower-cased as the installer does; normally one of SCRIPT_STAGES. */
  stage: string;
  /** Lower-cased `type`; only 'nfs' changes anything (the url gets `nfs://`). */
  type: string;
  /** What the installer fetches: http(s)://, ftp://, file:// or nfs://server:/path. */
  url: string;
}

export interface AdminInterface {
  /** At least one of name (e.g. eth0) and hwaddr (MAC) is set. */
  name?: string;
  hwaddr?: string;
  /** Any `proto` other than static/dhcp counts as none. */
  proto: Ipv4Proto;
  /** Present exactly when proto is 'static'. gateway is undefined for an empty `<gateway/>`. */
  ipv4?: { address: string; netmask: string; gateway?: string };
  protov6: Ipv6Proto;
  /** Present exactly when protov6 is 'static'; address is `addr/prefix`. */
  ipv6?: { address: string; gateway?: string };
  /** `vlan="N"` (1-4094): the management network is tagged; the host's address goes on xenbrN.<vlan> */
  vlan?: number;
}

export interface RootPassword {
  /** 'hash' is applied with `chpasswd -e`, 'plaintext' with `passwd --stdin`. */
  type: 'plaintext' | 'hash';
  value: string;
}

export interface Bootloader {
  location: BootloaderLocation;
  /** Whether a UEFI install writes a firmware boot entry (new in 7.1). */
  writeBootEntry: boolean;
}

export interface FcoeInterface {
  name?: string;
  hwaddr?: string;
  /** Software Data Center Bridging; off only for off/no/false/0/disable. */
  dcb: boolean;
}

/** `<initial-partitions><partition number= size= id=/>`: DOS partitions made before installing (size in bytes). */
export interface InitialPartition {
  number: number;
  size: number;
  id: number;
}

/** Read by the installer for every operation, before anything else. */
interface SetupElements {
  /** Driver disks, loaded before the rest of the file is processed. */
  driverSources: RepoSource[];
  /** In document order: all `<script>` elements, then the old single-instance forms. */
  scripts: ScriptSpec[];
  fcoeInterfaces: FcoeInterface[];
  /** `<ui-confirmation-prompt>`: any non-empty text asks for confirmation. */
  uiConfirmationPrompt: boolean;
}

/** Read for fresh, reinstall and upgrade. */
interface CommonInstallElements extends SetupElements {
  /** At least one; the first is the main repository, the others supplemental packs. */
  sources: RepoSource[];
  /** Absent: bridge (the product's default, openvswitch, is refused: see NetworkBackend). */
  networkBackend?: NetworkBackend;
  bootloader: Bootloader;
}

export interface FreshInstallConfig extends CommonInstallElements {
  kind: 'install';
  /** reinstall = fresh install that first backs up the existing installation. */
  mode: 'fresh' | 'reinstall';
  /** Always starts with `/dev/` (or is an `iscsi:` RFC 4173 spec, resolved at install time). */
  primaryDisk: string;
  /** Put the rest of the primary disk into the local SR. */
  guestStorage: boolean;
  /** SR partition at the end of the disk (XenRT only). */
  srAtEnd: boolean;
  preserveFirstPartition: PreserveFirstPartition;
  /** Extra disks for the local SR, `/dev/`-prefixed, without duplicates. */
  guestDisks: string[];
  srType: SrType;
  initialPartitions: InitialPartition[];
  adminInterface: AdminInterface;
  /** Absent: no password until first boot (the installer stores hash `!!`). */
  rootPassword?: RootPassword;
  nameServers: string[];
  /** Absent: localhost.localdomain and no search domain. */
  hostname?: string;
  timezone: string;
  /** Empty: ntp.conf keeps its default servers. */
  ntpServers: string[];
  /** Absent: the installer's keymap= argument, otherwise 'us'. */
  keymap?: string;
  /** Empty: the product's default service states. */
  services: Record<string, ServiceState>;
}

export interface UpgradeConfig extends CommonInstallElements {
  kind: 'install';
  mode: 'upgrade';
  /** Disk holding the installation to upgrade, `/dev/`-prefixed. */
  existingInstallation: string;
  /** Obsolete (5.6 flash migration); kept only when given exactly once. */
  primaryDisk?: string;
}

export interface RestoreConfig extends SetupElements {
  kind: 'restore';
  /** Disk holding the backup; absent: the only backup found. */
  backupDisk?: string;
}

export type InstallConfig = FreshInstallConfig | UpgradeConfig | RestoreConfig;

export const DEFAULTS = {
  mode: 'fresh' as InstallMode,
  srType: 'lvm' as SrType,
  guestStorage: true,
  srAtEnd: true,
  preserveFirstPartition: 'if-utility' as PreserveFirstPartition,
  timezone: 'Etc/UTC',
  keymap: 'us',
  hostname: 'localhost.localdomain',
  networkBackend: 'bridge' as NetworkBackend,
  bootloader: { location: 'mbr', writeBootEntry: true } as Bootloader,
  rootPasswordType: 'plaintext' as RootPassword['type'],
  /** Stored when there is no `<root-password>`: a locked account until first boot. */
  lockedPasswordHash: '!!',
} as const;

/** The product's own texts, for the parser and for the installer runtime. */
export const MESSAGES = {
  badVlan: (v: string) => `<admin-interface vlan="${v}">: a VLAN ID is a number from 1 to 4094`,
  unsupportedNetworkBackend: (v: string) => `<network-backend> '${v}' is not supported: this product's dom0 has no Open vSwitch; use bridge (the default), which puts the management interface and the guests on the Linux bridge xenbrN`,
  malformed: 'Answerfile is incorrectly formatted.',
  generatorMalformed: 'Generator script returned incorrectly formatted output.',
  generatorFailed: (stderr: string) => `Generator script failed:\n\n${stderr}`,
  bothAnswerfileAndGenerator: 'Both answerfile and answerfile generator passed on command line.',
  unexpectedTopLevel: 'Unexpected top level element',
  unknownMode: (mode: string) => `Unknown mode, ${mode}`,
  missingElement: (name: string) => `Missing mandatory element ${name}`,
  missingAttribute: (name: string) => `Missing mandatory attribute ${name}`,
  unexpectedKey: (key: string) => `Unexpected key ${key} for attribute`,
  invalidInteger: (name: string) => `Invalid integer value for ${name}`,
  invalidSourceType: 'Invalid type for <source> media specified.',
  invalidDriverSourceType: 'Invalid type for <driver-source> media specified.',
  adminInterfaceNeedsName: "<admin-interface> tag must have one of 'name' or 'hwaddr'",
  adminInterfaceNeedsIp: '<admin-interface> tag must have IPv4 or IPv6 defined.',
  fcoeInterfaceNeedsName: "<fcoe-interface> tag must have one of 'name' or 'hwaddr'",
  unsupportedBootloader: (name: string) => `Unsupported bootloader '${name}'`,
  multipleServiceEntries: (name: string) => `Multiple entries for service ${name}`,
  invalidServiceState: (name: string, state: string) => `Invalid state for service ${name}: ${state}`,
  // Raised by the installer against the detected disks, not by the parser:
  installationNotFound: 'Could not locate the installation specified to be reinstalled.',
  noBackupFound: 'Could not locate exsisting backup.', // sic, the product's spelling
  multipleBackups: 'Multiple backups were found. Unable to deduce which backup to restore from.',
  backupNotFound: 'Unable to find a backup to restore.',
  nonLocalGuestDisk: (disk: string) => `Non-local disk ${disk} specified to be added to Local SR`,
  // Raised when a script is fetched and checked:
  scriptFetchFailed: (url: string) => `Unable to fetch script ${url}`,
  missingInterpreter: (url: string) => `Missing interpreter in ${url}.`,
  invalidInterpreter: (interp: string, url: string) => `Invalid interpreter ${interp} in ${url}.`,
} as const;

/** How the installer reports any error it stops on (constants.error_string, known error). */
export function unrecoverableErrorText(cause: string): string {
  return `An unrecoverable error has occurred.  The error was:\n\n${cause}\n\nPlease refer to your user guide, or contact a Technical Support Representative, for further details.`;
}

/** The disks of the local SR, as the installer computes them: the primary disk when
 * guest storage is on (or when it is also listed as a guest disk), then the guest disks. */
export function localSrDisks(config: FreshInstallConfig): string[] {
  const disks = config.guestStorage ? [config.primaryDisk] : [];
  for (const d of config.guestDisks) if (!disks.includes(d)) disks.push(d);
  return disks;
}

/** `/dev/` is prepended unless present; `iscsi:` specs are left for the installer to resolve. */
export function normalizeDisk(disk: string): string {
  if (disk.startsWith('iscsi:') || disk.startsWith('/dev/')) return disk;
  return `/dev/${disk}`;
}

/** The installer's interpreter check on a fetched script: only the first 40 characters of
 * its first line are read. Returns the product's error message, or undefined when allowed. */
export function checkScriptInterpreter(text: string, url: string): string | undefined {
  const nl = text.indexOf('\n');
  const line = (nl < 0 ? text : text.slice(0, nl + 1)).slice(0, 40);
  if (!line.startsWith('#!')) return MESSAGES.missingInterpreter(url);
  const interp = line.slice(2).split(/\s+/).filter(Boolean);
  // The product crashes on an empty `#!` or a bare `#!/usr/bin/env`; we report them as invalid.
  if (interp[0] === '/usr/bin/env') {
    if (interp[1] !== 'python') return MESSAGES.invalidInterpreter(interp[1] ?? '', url);
    return undefined;
  }
  if (!['/bin/sh', '/bin/bash', '/usr/bin/python'].includes(interp[0] ?? '')) {
    return MESSAGES.invalidInterpreter(interp[0] ?? '', url);
  }
  return undefined;
}

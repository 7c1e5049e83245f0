// xsforge answerfile validate|new: check answer files the way the 7.1 installer
// does, and write new ones from command-line flags.
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, basename, join } from 'node:path';
import { Command, Option } from '@commander-js/extra-typings';
import { XsforgeError } from '../../core/errors.ts';
import { validateAnswerFile, parseAnswerFile, type ValidationResult } from '../../answerfiles/parse.ts';
import { generateAnswerFile, AnswerFileGenerateError } from '../../answerfiles/generate.ts';
import {
  DEFAULTS, SCRIPT_STAGES, normalizeDisk,
  type AdminInterface, type InstallConfig, type RepoSource, type RootPassword, type ScriptSpec, type ServiceState,
} from '../../answerfiles/model.ts';

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

export interface FileValidation extends ValidationResult {
  file: string;
}

/** Validate files; unreadable files are invalid with the read error as their message. */
export function validateFiles(files: string[]): FileValidation[] {
  return files.map((file) => {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      return { file, valid: false, errors: [{ message: `cannot read ${file}: ${(err as Error).message}` }], warnings: [] };
    }
    return { file, ...validateAnswerFile(text) };
  });
}

export function formatValidation(r: FileValidation): string {
  const lines: string[] = [];
  if (r.valid) lines.push(`${r.file}: valid`);
  for (const e of r.errors) {
    const where = e.line !== undefined ? `${r.file}:${e.line}${e.column !== undefined ? `:${e.column}` : ''}` : r.file;
    lines.push(`${where}: error: ${e.message}${e.detail ? ` (${e.detail})` : ''}`);
  }
  for (const w of r.warnings) lines.push(`${r.file}: warning: ${w}`);
  return `${lines.join('\n')}\n`;
}

/** `local`, `url:URL`, `nfs:server:/path`, or a bare http(s)/ftp/file/nfs:// URL. */
export function parseRepoSpec(spec: string): RepoSource {
  if (spec === 'local') return { type: 'local', address: '' };
  if (spec.startsWith('nfs://')) return { type: 'nfs', address: spec.slice(6) };
  if (spec.startsWith('nfs:')) return { type: 'nfs', address: spec.slice(4) };
  const url = spec.startsWith('url:') ? spec.slice(4) : spec;
  if (/^(https?|ftp|file):\/\/./.test(url)) return { type: 'url', address: url };
  if (url.startsWith('nfs://')) return { type: 'nfs', address: url.slice(6) };
  throw new XsforgeError(`bad repository '${spec}'`, "use 'local', 'url:http://host/path', 'nfs:server:/path' or an http(s)://, ftp://, file:// or nfs:// URL");
}

/** `stage:url`, e.g. `installation-start:http://host/s.sh` or `filesystem-populated:nfs://server:/s.sh`. */
export function parseScriptSpec(spec: string): ScriptSpec {
  const colon = spec.indexOf(':');
  const stage = colon < 0 ? '' : spec.slice(0, colon);
  let url = colon < 0 ? '' : spec.slice(colon + 1);
  if (!(SCRIPT_STAGES as readonly string[]).includes(stage)) {
    throw new XsforgeError(`bad script '${spec}'`, `write STAGE:URL with STAGE one of ${SCRIPT_STAGES.join(', ')}`);
  }
  if (url.startsWith('nfs:') && !url.startsWith('nfs://')) url = `nfs://${url.slice(4)}`;
  if (url.startsWith('nfs://')) return { stage, type: 'nfs', url };
  if (!/^(https?|ftp|file):\/\/./.test(url)) {
    throw new XsforgeError(`bad script location '${url}'`, 'the installer fetches http://, https://, ftp://, file:///path or nfs://server:/path');
  }
  return { stage, type: 'url', url };
}

export interface NewOptions {
  mode: 'fresh' | 'reinstall' | 'upgrade' | 'restore';
  primaryDisk: string;
  guestDisk: string[];
  guestStorage: boolean;
  srType: 'lvm' | 'ext';
  preserveFirstPartition?: 'true' | 'false' | 'if-utility';
  existingInstallation?: string;
  backupDisk?: string;
  source: string[];
  driverSource: string[];
  interface?: string;
  hwaddr?: string;
  dhcp?: boolean;
  static?: boolean;
  ip?: string;
  netmask?: string;
  gateway?: string;
  protov6?: 'dhcp' | 'autoconf' | 'static' | 'none';
  ipv6?: string;
  gateway6?: string;
  dns: string[];
  hostname?: string;
  timezone: string;
  ntp: string[];
  keymap?: string;
  networkBackend?: 'bridge';
  bootloaderLocation: 'mbr' | 'partition';
  bootEntry: boolean;
  script: string[];
  service: string[];
}

function adminInterfaceFrom(o: NewOptions): AdminInterface {
  const staticIp = o.static === true || o.ip !== undefined || o.netmask !== undefined || o.gateway !== undefined;
  if (staticIp && o.dhcp) throw new XsforgeError('--dhcp conflicts with --static/--ip/--netmask/--gateway');
  if (o.interface !== undefined && o.hwaddr !== undefined) throw new XsforgeError('give either --interface or --hwaddr, not both');
  const who = o.hwaddr !== undefined ? { hwaddr: o.hwaddr } : { name: o.interface ?? 'eth0' };
  const protov6 = o.protov6 ?? (o.ipv6 !== undefined ? 'static' : 'none');
  let ipv6: AdminInterface['ipv6'];
  if (protov6 === 'static') {
    if (!o.ipv6) throw new XsforgeError('--protov6 static needs --ipv6 ADDR/PREFIX');
    ipv6 = { address: o.ipv6, ...(o.gateway6 !== undefined && { gateway: o.gateway6 }) };
  } else if (o.ipv6 !== undefined || o.gateway6 !== undefined) {
    throw new XsforgeError('--ipv6/--gateway6 go with --protov6 static');
  }
  if (!staticIp) return { ...who, proto: 'dhcp', protov6, ...(ipv6 && { ipv6 }) };
  if (!o.ip || !o.netmask || !o.gateway) {
    throw new XsforgeError('a static management interface needs --ip, --netmask and --gateway', 'the installer requires <ipaddr>, <subnet> and <gateway> for proto="static"');
  }
  return { ...who, proto: 'static', ipv4: { address: o.ip, netmask: o.netmask, gateway: o.gateway }, protov6, ...(ipv6 && { ipv6 }) };
}

/** The InstallConfig `answerfile new` writes for these options. */
export function configFromOptions(o: NewOptions, rootPassword?: RootPassword): InstallConfig {
  const scripts = o.script.map(parseScriptSpec);
  const driverSources = o.driverSource.map(parseRepoSpec);
  const setup = { driverSources, scripts, fcoeInterfaces: [], uiConfirmationPrompt: false };
  if (o.mode === 'restore') {
    return { kind: 'restore', ...(o.backupDisk !== undefined && { backupDisk: normalizeDisk(o.backupDisk) }), ...setup };
  }
  const common = {
    sources: (o.source.length ? o.source : ['local']).map(parseRepoSpec),
    ...(o.networkBackend && { networkBackend: o.networkBackend }),
    bootloader: { location: o.bootloaderLocation, writeBootEntry: o.bootEntry },
  };
  if (o.mode === 'upgrade') {
    return { kind: 'install', mode: 'upgrade', existingInstallation: normalizeDisk(o.existingInstallation ?? o.primaryDisk), ...common, ...setup };
  }
  const services: Record<string, ServiceState> = {};
  for (const s of o.service) {
    const m = /^([^=]+)=(enabled|disabled)$/.exec(s);
    if (!m) throw new XsforgeError(`bad service '${s}'`, 'write NAME=enabled or NAME=disabled');
    if (m[1]! in services) throw new XsforgeError(`service ${m[1]} is given twice`);
    services[m[1]!] = m[2] as ServiceState;
  }
  const primaryDisk = normalizeDisk(o.primaryDisk);
  return {
    kind: 'install', mode: o.mode, primaryDisk, guestStorage: o.guestStorage, srAtEnd: DEFAULTS.srAtEnd,
    preserveFirstPartition: o.preserveFirstPartition ?? DEFAULTS.preserveFirstPartition,
    guestDisks: [...new Set(o.guestDisk.map(normalizeDisk))].filter((d) => d !== primaryDisk || !o.guestStorage),
    srType: o.srType, initialPartitions: [], adminInterface: adminInterfaceFrom(o),
    ...(rootPassword && { rootPassword }), nameServers: o.dns, ...(o.hostname !== undefined && { hostname: o.hostname }),
    timezone: o.timezone, ntpServers: o.ntp, ...(o.keymap !== undefined && { keymap: o.keymap }), services,
    ...common, ...setup,
  };
}

/** Generate, then check the text with the parser before anyone installs from it. */
export function answerFileText(config: InstallConfig): { text: string; warnings: string[] } {
  let text: string;
  try {
    text = generateAnswerFile(config);
  } catch (err) {
    if (err instanceof AnswerFileGenerateError) throw new XsforgeError(err.message);
    throw err;
  }
  const parsed = parseAnswerFile(text);
  if (parsed.errors.length) throw new XsforgeError(`the generated answer file is not valid: ${parsed.errors.map((e) => e.message).join('; ')}`);
  return { text, warnings: parsed.warnings };
}

function readPasswordFile(file: string): string {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new XsforgeError(`cannot read the root password file: ${(err as Error).message}`);
  }
  const pw = text.replace(/\r?\n$/, '');
  if (pw === '' || pw.includes('\n')) throw new XsforgeError(`${file} must hold the password on one line`);
  return pw;
}

export function register(program: Command): void {
  const af = program.command('answerfile').description('Check and write answer files for unattended installs');

  af.command('validate')
    .description("Check answer files with the installer's rules and messages; exit 0 only if all are valid")
    .argument('<files...>', 'answer files (XML)')
    .option('--json', 'print a JSON array, one {file, valid, errors[{message, line?, column?, detail?}], warnings[]} per file')
    .action((files, o) => {
      const results = validateFiles(files);
      if (o.json) process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
      else for (const r of results) process.stdout.write(formatValidation(r));
      if (results.some((r) => !r.valid)) process.exitCode = 1;
    });

  af.command('new')
    .description('Write an answer file from flags (checked by the parser before it is written)')
    .addOption(new Option('--mode <mode>', 'installation mode, or a restore from the backup partition').choices(['fresh', 'reinstall', 'upgrade', 'restore'] as const).default('fresh' as const))
    .option('--primary-disk <disk>', 'disk to install on (/dev/ is added)', 'sda')
    .option('--guest-disk <disk>', 'extra disk for the local SR (repeatable)', collect, [] as string[])
    .option('--no-guest-storage', 'keep the rest of the primary disk out of the local SR')
    .addOption(new Option('--sr-type <type>', 'local SR type; ext = thin provisioning').choices(['lvm', 'ext'] as const).default('lvm' as const))
    .addOption(new Option('--preserve-first-partition <when>', 'keep a non-XenServer first partition').choices(['true', 'false', 'if-utility'] as const))
    .option('--existing-installation <disk>', 'upgrade: disk holding the installation (default: --primary-disk)')
    .option('--backup-disk <disk>', 'restore: disk holding the backup')
    .option('--source <repo>', "install repository (repeatable; the first is the main one): local, url:URL, nfs:server:/path (default: local)", collect, [] as string[])
    .option('--driver-source <repo>', 'driver disk repository, same forms as --source (repeatable)', collect, [] as string[])
    .option('--root-password-hash <hash>', 'root password as a crypt(3) hash')
    .option('--root-password-file <file>', 'read the plaintext root password from this file (first line)')
    .option('--root-password <password>', 'plaintext root password (visible in the process list and shell history; prefer --root-password-file)')
    .option('--interface <name>', 'management interface by name (default eth0)')
    .option('--hwaddr <mac>', 'management interface by MAC address')
    .option('--dhcp', 'configure the management interface by DHCP (the default)')
    .option('--static', 'static IPv4 management interface (needs --ip, --netmask, --gateway)')
    .option('--ip <address>', 'static IPv4 address')
    .option('--netmask <mask>', 'static IPv4 netmask')
    .option('--gateway <address>', 'static IPv4 gateway')
    .addOption(new Option('--protov6 <proto>', 'IPv6 on the management interface').choices(['dhcp', 'autoconf', 'static', 'none'] as const))
    .option('--ipv6 <addr/prefix>', 'static IPv6 address (implies --protov6 static)')
    .option('--gateway6 <address>', 'static IPv6 gateway')
    .option('--dns <address>', 'name server (repeatable)', collect, [] as string[])
    .option('--hostname <name>', 'host name (default localhost.localdomain)')
    .option('--timezone <zone>', 'time zone, e.g. Europe/London', DEFAULTS.timezone)
    .option('--ntp <server>', 'NTP server (repeatable)', collect, [] as string[])
    .option('--keymap <map>', "console keymap (default: the installer's keymap= argument, else us)")
    .addOption(new Option('--network-backend <backend>', 'network stack: bridge (the default; this dom0 has no Open vSwitch)').choices(['bridge'] as const))
    .addOption(new Option('--bootloader-location <where>', 'where GRUB goes').choices(['mbr', 'partition'] as const).default('mbr' as const))
    .option('--no-boot-entry', 'UEFI: do not write a firmware boot entry')
    .option('--script <stage:url>', `script to run (repeatable); stage: ${SCRIPT_STAGES.join(', ')}`, collect, [] as string[])
    .option('--service <name=state>', 'enable or disable a dom0 service (repeatable): NAME=enabled|disabled', collect, [] as string[])
    .option('-o, --output <file>', 'write here instead of standard output')
    .action((o) => {
      const given = [o.rootPasswordHash, o.rootPasswordFile, o.rootPassword].filter((v) => v !== undefined).length;
      if (given > 1) throw new XsforgeError('give only one of --root-password-hash, --root-password-file, --root-password');
      let rootPassword: RootPassword | undefined;
      if (o.rootPasswordHash !== undefined) rootPassword = { type: 'hash', value: o.rootPasswordHash };
      else if (o.rootPasswordFile !== undefined) rootPassword = { type: 'plaintext', value: readPasswordFile(o.rootPasswordFile) };
      else if (o.rootPassword !== undefined) {
        process.stderr.write('xsforge: warning: --root-password is visible to other users and kept in shell history; prefer --root-password-file or --root-password-hash\n');
        rootPassword = { type: 'plaintext', value: o.rootPassword };
      }
      const config = configFromOptions(o, rootPassword);
      const { text, warnings } = answerFileText(config);
      for (const w of warnings) process.stderr.write(`xsforge: warning: ${w}\n`);
      if (config.kind === 'install' && config.mode !== 'upgrade' && !config.rootPassword) {
        process.stderr.write('xsforge: note: no root password: the host asks for one at first boot\n');
      }
      if (!o.output) {
        process.stdout.write(text);
        return;
      }
      // Write beside the target, then rename, so a reader never sees half a file.
      const tmp = join(dirname(o.output), `.${basename(o.output)}.${process.pid}.tmp`);
      writeFileSync(tmp, text, { mode: rootPassword ? 0o600 : 0o644 });
      renameSync(tmp, o.output);
    });
}

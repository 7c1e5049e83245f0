// Host → InstallConfig (answerfiles/model.ts) → answer file text, through the
// project's one generator. Pure.
import { XsforgeError } from '../core/errors.ts';
import { AnswerFileGenerateError, generateAnswerFile } from '../answerfiles/generate.ts';
import { parseAnswerFile } from '../answerfiles/parse.ts';
import { DEFAULTS, normalizeDisk, type AdminInterface, type FreshInstallConfig, type RepoSource, type ScriptSpec } from '../answerfiles/model.ts';
import type { Host } from './load.ts';

export interface HostAnswerOptions {
  /**
   * The main install repository (a copy of the ISO with .treeinfo), written as
   * `<source type="url">` (http(s)://, ftp://, file:///) or `<source type="nfs">`
   * (nfs://server:/path). Absent: `<source type="local"/>`, the medium the installer booted from.
   */
  repoUrl?: string;
}

/** The answer file's name in a served directory: `<mac>.xml`, lower-case colon form. */
export function answerFileName(host: Pick<Host, 'mac'>): string {
  return `${host.mac}.xml`;
}

/** A repository URL as an answer-file source; throws XsforgeError for what the installer cannot fetch. */
export function repoSource(url: string): RepoSource {
  const nfs = /^nfs:\/\/([^\s/:]+:\/[^\s]*)$/.exec(url);
  if (nfs) return { type: 'nfs', address: nfs[1]! };
  if (/^((https?|ftp):\/\/[^\s/]+(\/[^\s]*)?|file:\/\/\/[^\s]*)$/.test(url)) return { type: 'url', address: url };
  throw new XsforgeError(`'${url}' is not a repository location the installer can use`, 'give an http://, https://, ftp://, file:/// or nfs://server:/path URL');
}

function scriptSpec(s: Host['scripts'][number]): ScriptSpec {
  return { stage: s.stage, type: s.url.startsWith('nfs://') ? 'nfs' : 'url', url: s.url };
}

function adminInterface(host: Host): AdminInterface {
  const m = host.management;
  const who = m.interface !== undefined ? { name: m.interface } : { hwaddr: m.hwaddr ?? host.mac };
  if (m.mode === 'static') {
    return { ...who, proto: 'static', ipv4: { address: m.ip!, netmask: m.netmask!, gateway: m.gateway! }, protov6: 'none' };
  }
  return { ...who, proto: 'dhcp', protov6: 'none' };
}

/** The fresh install this host's answer file asks for. */
export function hostInstallConfig(host: Host, options: HostAnswerOptions = {}): FreshInstallConfig {
  const main: RepoSource = options.repoUrl !== undefined ? repoSource(options.repoUrl) : { type: 'local', address: '' };
  const pw = host.root_password;
  return {
    kind: 'install',
    mode: 'fresh',
    primaryDisk: normalizeDisk(host.primary_disk),
    guestStorage: host.guest_storage,
    srAtEnd: DEFAULTS.srAtEnd,
    preserveFirstPartition: DEFAULTS.preserveFirstPartition,
    guestDisks: host.guest_disks.map(normalizeDisk),
    srType: host.sr_type,
    initialPartitions: [],
    adminInterface: adminInterface(host),
    ...(pw && { rootPassword: 'hash' in pw ? { type: 'hash' as const, value: pw.hash } : { type: 'plaintext' as const, value: pw.plaintext } }),
    nameServers: host.management.dns,
    hostname: host.hostname,
    timezone: host.timezone,
    ntpServers: host.ntp,
    ...(host.keymap !== undefined && { keymap: host.keymap }),
    services: {},
    // The main repository first; each supplemental pack is one more <source>.
    sources: [main, ...host.supplemental_packs.map(repoSource)],
    ...(host.network_backend !== undefined && { networkBackend: host.network_backend }),
    bootloader: { ...DEFAULTS.bootloader },
    driverSources: [],
    scripts: host.scripts.map(scriptSpec),
    fcoeInterfaces: [],
    uiConfirmationPrompt: false,
  };
}

/** The host's answer file text. Throws XsforgeError naming the host when a value cannot be written. */
export function hostAnswerFile(host: Host, options: HostAnswerOptions = {}): string {
  try {
    return generateAnswerFile(hostInstallConfig(host, options));
  } catch (err) {
    if (err instanceof AnswerFileGenerateError) throw new XsforgeError(`host ${host.hostname} (${host.mac}): ${err.message}`);
    throw err;
  }
}

/**
 * Reads an answer file generated for `host` back through the installer's rules
 * (answerfiles/parse.ts): one it would refuse is never handed out. Throws
 * XsforgeError naming the host and every error.
 */
export function checkHostAnswerFile(host: Pick<Host, 'hostname' | 'mac'>, text: string): void {
  const parsed = parseAnswerFile(text);
  if (parsed.errors.length) {
    throw new XsforgeError(`the answer file generated for ${host.hostname} (${host.mac}) is not valid: ${parsed.errors.map((e) => e.message).join('; ')}`);
  }
}

// The screens' answers -> the same InstallConfig the answer-file parser makes
// (answerfiles/parse.ts, defaults applied the same way), plus the settings an
// answer file cannot hold (InteractiveSetup), and the answer file to save.
import { generateAnswerFile } from '../../answerfiles/generate.ts';
import {
  DEFAULTS, normalizeDisk,
  type AdminInterface, type FreshInstallConfig, type InstallConfig, type RepoSource, type RestoreConfig, type UpgradeConfig,
} from '../../answerfiles/model.ts';
import { sha512Crypt } from '../runtime/sha512crypt.ts';
import type { NetworkConfig } from '../runtime/cmdline.ts';
import type { InteractiveSetup } from './context.ts';
import {
  actionOf, chosen, flag, keymapItems, managementIsStatic, nicItems, primaryDiskOf, sourceTypeOf, text, timeMethodOf,
  timezoneOf, verifyChosen, type TuiState,
} from './flow.ts';
import { urlWithCredentials } from './values.ts';

/** Elements the interactive installer never sets: as the parser leaves them for an answer file without them. */
function setupDefaults() {
  return { driverSources: [] as RepoSource[], scripts: [], fcoeInterfaces: [], uiConfirmationPrompt: false };
}

function sourceOf(s: TuiState): RepoSource {
  const type = sourceTypeOf(s);
  if (type === 'local') return { type: 'local', address: '' };
  if (type === 'nfs') return { type: 'nfs', address: text(s, 'source-nfs', 'path') };
  return {
    type: 'url',
    address: urlWithCredentials(text(s, 'source-url', 'url'), text(s, 'source-url', 'username'), String(s.forms['source-url']?.values.password ?? '')),
  };
}

function installerNetwork(s: TuiState): InteractiveSetup['installerNetwork'] {
  if (sourceTypeOf(s) === 'local') return undefined;
  const name = chosen(s, 'source-nic', 'nic', nicItems(s.data));
  const nic = s.data.nics.find((n) => n.name === name);
  if (!nic) return undefined;
  let config: NetworkConfig = { mode: 'dhcp' };
  if (s.forms['source-network']?.values.mode === 'static') {
    const gateway = text(s, 'source-network', 'gateway');
    const dns = text(s, 'source-network', 'dns');
    config = {
      mode: 'static', ip: text(s, 'source-network', 'ip'), netmask: text(s, 'source-network', 'netmask'),
      ...(gateway && { gateway }), dns: dns ? [dns] : [],
    };
  }
  return { device: nic.name, mac: nic.mac, config };
}

function adminInterface(s: TuiState): AdminInterface {
  const name = chosen(s, 'management-nic', 'nic', nicItems(s.data)) ?? s.data.nics[0]?.name ?? '';
  const nic = s.data.nics.find((n) => n.name === name);
  // the screen checked the ID (1-4094) before going on
  const vlan = flag(s, 'management-network', 'vlanOn') ? { vlan: Number(text(s, 'management-network', 'vlan')) } : {};
  if (managementIsStatic(s)) {
    const gateway = text(s, 'management-network', 'gateway');
    return {
      name, ...(nic && { hwaddr: nic.mac }), proto: 'static',
      ipv4: { address: text(s, 'management-network', 'ip'), netmask: text(s, 'management-network', 'netmask'), ...(gateway && { gateway }) },
      protov6: 'none', ...vlan,
    };
  }
  return { name, ...(nic && { hwaddr: nic.mac }), proto: 'dhcp', protov6: 'none', ...vlan };
}

function common(s: TuiState) {
  return { sources: [sourceOf(s)], bootloader: { ...DEFAULTS.bootloader }, ...setupDefaults() };
}

/** The InstallConfig for what the screens hold now (call once the confirm screen is reached). */
export function buildConfig(s: TuiState): InstallConfig {
  const a = actionOf(s);
  if (a.kind === 'restore') {
    const r: RestoreConfig = { kind: 'restore', backupDisk: normalizeDisk(a.disk), ...setupDefaults() };
    return r;
  }
  if (a.kind === 'upgrade') {
    const u: UpgradeConfig = { kind: 'install', mode: 'upgrade', existingInstallation: normalizeDisk(a.disk), ...common(s) };
    return u;
  }
  const primary = primaryDiskOf(s)?.path ?? '';
  const checked = (s.forms['guest-disks']?.values.disks as string[] | undefined) ?? [];
  const hd = s.forms['hostname-dns']?.values ?? {};
  const hostname = hd.hostnameMode === 'manual' ? text(s, 'hostname-dns', 'hostname') : undefined;
  const nameServers = hd.dnsMode === 'manual' ? ['dns1', 'dns2', 'dns3'].map((id) => text(s, 'hostname-dns', id)).filter(Boolean) : [];
  const ntpServers = timeMethodOf(s) === 'ntp' && !flag(s, 'ntp', 'dhcp') ? ['ntp1', 'ntp2', 'ntp3'].map((id) => text(s, 'ntp', id)).filter(Boolean) : [];
  const f: FreshInstallConfig = {
    kind: 'install',
    mode: 'fresh',
    primaryDisk: primary,
    guestStorage: checked.includes(primary),
    srAtEnd: DEFAULTS.srAtEnd,
    preserveFirstPartition: DEFAULTS.preserveFirstPartition,
    guestDisks: checked.filter((d) => d !== primary),
    srType: flag(s, 'guest-disks', 'thin') ? 'ext' : 'lvm',
    initialPartitions: [],
    adminInterface: adminInterface(s),
    rootPassword: { type: 'plaintext', value: String(s.forms['root-password']?.values.password ?? '') },
    nameServers,
    ...(hostname !== undefined && { hostname }),
    timezone: timezoneOf(s),
    ntpServers,
    keymap: chosen(s, 'keymap', 'keymap', keymapItems(s.data)) ?? DEFAULTS.keymap,
    services: {},
    ...common(s),
  };
  return f;
}

export function buildSetup(s: TuiState): InteractiveSetup {
  const fresh = actionOf(s).kind === 'fresh';
  const vlanOn = fresh && flag(s, 'management-network', 'vlanOn');
  const net = installerNetwork(s);
  const hd = s.forms['hostname-dns']?.values ?? {};
  return {
    keymap: chosen(s, 'keymap', 'keymap', keymapItems(s.data)) ?? DEFAULTS.keymap,
    driverDiskRequested: s.driverDisk.requested,
    driverDisksLoaded: [...s.driverDisk.loaded],
    ...(net && { installerNetwork: net }),
    sourceVerified: verifyChosen(s) && s.sourceVerified,
    ...(vlanOn && { managementVlan: Number(text(s, 'management-network', 'vlan')) }),
    hostnameFromDhcp: fresh && hd.hostnameMode !== 'manual',
    dnsFromDhcp: fresh && hd.dnsMode !== 'manual',
    time: fresh && timeMethodOf(s) === 'manual'
      ? { method: 'manual', date: text(s, 'manual-time', 'date'), time: text(s, 'manual-time', 'time') }
      : { method: 'ntp', fromDhcp: fresh && flag(s, 'ntp', 'dhcp') },
  };
}

/** Where the user asked the answers to be saved (confirm screen), if anywhere. */
export function saveAsOf(s: TuiState): string | undefined {
  return text(s, 'confirm', 'saveAs') || undefined;
}

/**
 * The answer file to save: generateAnswerFile's, with a plaintext root password
 * replaced by its SHA-512 crypt hash (`salt`: 16 characters of ./0-9A-Za-z), so
 * the saved file does not carry the password itself.
 */
export function answerFileToSave(config: InstallConfig, salt: string): string {
  if (config.kind === 'install' && config.mode !== 'upgrade' && config.rootPassword?.type === 'plaintext') {
    return generateAnswerFile({ ...config, rootPassword: { type: 'hash', value: sha512Crypt(config.rootPassword.value, salt) } });
  }
  return generateAnswerFile(config);
}

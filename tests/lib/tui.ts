// Fixtures for the interactive installer's tests: made-up hardware, a small zone
// list, and a synchronous walker that feeds keys to the reducer and answers its
// effects on the spot.
import type { TuiContext, TuiData } from '../../installer/tui/context.ts';
import { buildConfig, buildSetup } from '../../installer/tui/config.ts';
import { initialState, reduce, type EffectResult, type Features, type StepId, type TuiState } from '../../installer/tui/flow.ts';
import { KeyDecoder, type Key } from '../../installer/tui/keys.ts';
import { KEY_BYTES, keyTokens } from './expect.ts';

export const GiB = 2 ** 30;

export const DISKS = [
  { name: 'sda', path: '/dev/sda', sizeBytes: 40 * GiB, vendor: 'ATA', model: 'QEMU HARDDISK' },
  { name: 'sdb', path: '/dev/sdb', sizeBytes: 100 * GiB, vendor: 'ATA', model: 'QEMU HARDDISK' },
  { name: 'nvme0n1', path: '/dev/nvme0n1', sizeBytes: 500 * GiB, model: 'QEMU NVMe Ctrl' },
];

export const NICS = [
  { name: 'eth0', mac: '52:54:00:12:34:56', driver: 'virtio_net', carrier: true },
  { name: 'eth1', mac: '52:54:00:ab:cd:ef', driver: 'e1000', carrier: false },
];

/** Regions sort as Africa, America, Asia, Etc, Europe. */
export const TIMEZONES = ['Europe/London', 'Africa/Abidjan', 'America/New_York', 'America/Argentina/Salta', 'Asia/Shanghai', 'Europe/Berlin', 'Etc/UTC'];

export const EULA = Array.from({ length: 40 }, (_, i) => `Licence paragraph ${i + 1}.`).join('\n');

export function data(over: Partial<TuiData> = {}): TuiData {
  return {
    disks: DISKS, nics: NICS, detection: { installations: [], backups: [] }, eulaText: EULA, timezones: TIMEZONES,
    productVersion: '7.1.2', brand: 'XenServer', now: '2017-06-30 12:34', ...over,
  };
}

export const NO_FEATURES: Features = { install: false, suppPacks: false, driverDisk: false };

/** Keys for a spec in tests/lib/expect.ts syntax ('secret{tab}secret{enter}'), decoded as the installer decodes bytes. */
export function keys(spec: string | string[]): Key[] {
  const out: Key[] = [];
  for (const t of keyTokens(spec)) {
    const named = /^\{([a-z0-9]+)\}$/.exec(t);
    const d = new KeyDecoder();
    out.push(...d.push(named ? KEY_BYTES[named[1]!]! : t), ...d.flush());
  }
  return out;
}

export interface Effects {
  summary?: (s: TuiState) => EffectResult;
  verify?: (s: TuiState) => EffectResult;
  install?: (s: TuiState) => EffectResult;
  'supp-pack'?: (s: TuiState) => EffectResult;
  'driver-disk'?: (s: TuiState) => EffectResult;
}

export const DEFAULT_EFFECTS: Effects = {
  summary: (s) => ({ ok: true, text: `plan for ${JSON.stringify(buildConfig(s).kind)}\nline 2` }),
  verify: () => ({ ok: true }),
  install: () => ({ ok: true }),
  'supp-pack': () => ({ ok: true, name: 'pack-1' }),
};

/** Feed keys; answer each effect at once with `effects`. Records every step shown. */
export function walk(s: TuiState, spec: string | string[], effects: Effects = DEFAULT_EFFECTS, seen: StepId[] = []): TuiState {
  const settle = (t: TuiState): TuiState => {
    while (t.effect && !t.outcome) {
      const handler = effects[t.effect.kind];
      if (!handler) throw new Error(`no handler for effect ${t.effect.kind}`);
      t = reduce(t, { type: 'effect', id: t.effect.id, result: handler(t) });
    }
    return t;
  };
  s = settle(s);
  for (const k of keys(spec)) {
    s = settle(reduce(s, { type: 'key', key: k }));
    if (seen.at(-1) !== s.step) seen.push(s.step);
  }
  return s;
}

export function start(over: Partial<TuiData> = {}, features: Features = NO_FEATURES): TuiState {
  return initialState(data(over), features);
}

/**
 * A fresh install with a static management address, every screen answered:
 * keymap us, sda primary + sdb guest, thin provisioning, local media, no verify,
 * password secret1, eth0 static 192.168.1.10/24 gw .1, hostname xs-host, DNS
 * 8.8.8.8 + 1.1.1.1, Europe/London, NTP pool.ntp.org.
 */
export const FRESH_STATIC_KEYS = [
  '{enter}', // keymap: us (preselected)
  '{enter}', // welcome
  '{enter}', // EULA: Accept
  '1{enter}', // primary disk: sda
  '2 {tab} {enter}', // guest disks: tick sdb, thin provisioning on
  '1{enter}', // source: local media
  '{enter}', // verify: skip
  'secret1{tab}secret1{enter}', // password
  '1{enter}', // management NIC: eth0
  '2{tab}192.168.1.10{tab}255.255.255.0{tab}192.168.1.1{enter}', // static
  '{tab}xs-host{tab}{tab}8.8.8.8{tab}1.1.1.1{enter}', // hostname + DNS (manual: static management)
  'e{enter}', // region: Etc preselected, 'e' jumps to Europe
  '2{enter}', // city: London
  '{enter}', // NTP
  '{tab}pool.ntp.org{enter}', // NTP servers
];

export const FRESH_STATIC_CONFIG = {
  kind: 'install',
  mode: 'fresh',
  primaryDisk: '/dev/sda',
  guestStorage: true,
  srAtEnd: true,
  preserveFirstPartition: 'if-utility',
  guestDisks: ['/dev/sdb'],
  srType: 'ext',
  initialPartitions: [],
  adminInterface: {
    name: 'eth0', hwaddr: '52:54:00:12:34:56', proto: 'static',
    ipv4: { address: '192.168.1.10', netmask: '255.255.255.0', gateway: '192.168.1.1' }, protov6: 'none',
  },
  rootPassword: { type: 'plaintext', value: 'secret1' },
  nameServers: ['8.8.8.8', '1.1.1.1'],
  hostname: 'xs-host',
  timezone: 'Europe/London',
  ntpServers: ['pool.ntp.org'],
  keymap: 'us',
  services: {},
  sources: [{ type: 'local', address: '' }],
  bootloader: { location: 'mbr', writeBootEntry: true },
  driverSources: [],
  scripts: [],
  fcoeInterfaces: [],
  uiConfirmationPrompt: false,
};

/** A context for runInteractiveInstall with recording callbacks. */
export function context(over: Partial<TuiContext> = {}): TuiContext & { calls: string[] } {
  const calls: string[] = [];
  return {
    ...data(),
    planSummary: (c) => {
      calls.push('planSummary');
      return `Installation plan: ${c.kind === 'install' ? c.mode : c.kind}\n  target disk: ${c.kind === 'install' && c.mode !== 'upgrade' ? c.primaryDisk : '-'}`;
    },
    verifySource: async () => {
      calls.push('verifySource');
      return { ok: true };
    },
    ...over,
    calls,
  };
}

export { buildConfig, buildSetup };

// The interactive installer's screens in the seed's order (seed:1454-1600) and the
// pure reducer that walks them: (state, event) -> state. Everything a screen shows
// comes from the state; anything slow or with side effects (the plan summary,
// verifying the source, installing) is asked for by putting an Effect in the state,
// which the driver (run.ts) carries out and answers with an 'effect' event.
import { DEFAULTS, unrecoverableErrorText } from '../../answerfiles/model.ts';
import { formatBytes } from '../../disk/size.ts';
import { KEYMAPS, supportsManagementVlan, type TuiData, type TuiDisk, type TuiNic } from './context.ts';
import type { Key } from './keys.ts';
import {
  MESSAGES, isDate, isHostname, isIpv4, isNetmask, isNfsPath, isTime, isUrl, MIN_PASSWORD_LENGTH,
} from './values.ts';
import {
  focusables, formKey, newForm, wrap, SCREEN_WIDTH,
  type FieldSpec, type FormState, type FormValues, type ListItem, type ScreenSpec,
} from './widgets.ts';

export type StepId =
  | 'keymap' | 'welcome' | 'eula' | 'action' | 'primary-disk' | 'guest-disks'
  | 'source' | 'source-nic' | 'source-network' | 'source-url' | 'source-nfs' | 'verify'
  | 'root-password' | 'management-nic' | 'management-network' | 'hostname-dns'
  | 'timezone-region' | 'timezone-city' | 'time-method' | 'ntp' | 'confirm' | 'manual-time'
  | 'installing' | 'supp-packs' | 'supp-pack-insert' | 'done' | 'failed';

export type EffectKind = 'summary' | 'verify' | 'install' | 'supp-pack' | 'driver-disk';
export interface Effect {
  id: number;
  kind: EffectKind;
}
export type EffectResult =
  | { ok: true; text?: string; name?: string; disks?: TuiDisk[]; nics?: TuiNic[] }
  | { ok: false; error: string };

export type TuiEvent =
  | { type: 'key'; key: Key }
  | { type: 'effect'; id: number; result: EffectResult }
  /** progress text while an effect runs (the install's log lines) */
  | { type: 'progress'; id: number; line: string }
  | { type: 'input-closed' };

export type Outcome =
  /** the answers are complete; the caller installs (no install callback) */
  | { kind: 'config' }
  /** installed through the install callback; the user pressed OK on "Installation Complete" */
  | { kind: 'installed' }
  | { kind: 'install-failed'; error: string }
  | { kind: 'cancelled'; reason: 'reboot' | 'eula-declined' | 'input-closed' };

/** Which optional callbacks exist (the reducer must not call them, only know of them). */
export interface Features {
  install: boolean;
  suppPacks: boolean;
  driverDisk: boolean;
}

export interface TuiState {
  data: TuiData;
  features: Features;
  step: StepId;
  /** screens to go back to, most recent last */
  history: StepId[];
  /** each screen's fields, kept when going back and forth */
  forms: Partial<Record<StepId, FormState>>;
  /** a message or help box over the screen; any of Enter, Esc, Space closes it */
  overlay?: { title: string; lines: string[] };
  /** asked of the driver and not yet answered */
  effect?: Effect;
  effectSeq: number;
  /** shown while an effect runs; keys are ignored meanwhile */
  busy?: string;
  summary?: { ok: true; text: string } | { ok: false; error: string };
  driverDisk: { requested: boolean; loaded: string[] };
  sourceVerified: boolean;
  /** the last lines of install progress */
  progress: string[];
  installError?: string;
  suppPacks: string[];
  outcome?: Outcome;
}

export function brandOf(data: TuiData): string {
  return data.brand ?? 'XenServer';
}

// ---- items of the list screens -------------------------------------------------

export function keymapItems(d: TuiData): ListItem[] {
  return [...(d.keymaps ?? KEYMAPS)].sort().map((k) => ({ key: k, label: k }));
}

export function actionItems(d: TuiData): ListItem[] {
  const brand = (b?: string) => b ?? brandOf(d);
  return [
    { key: 'fresh', label: 'Perform clean installation' },
    ...d.detection.installations.map((i) => ({ key: `upgrade:${i.disk}`, label: `Upgrade ${brand(i.brand)} ${i.version} on ${i.disk}` })),
    ...d.detection.backups.map((b) => ({ key: `restore:${b.disk}`, label: `Restore ${brand(b.brand)} ${b.version} from backup on ${b.disk}` })),
  ];
}

export function diskLabel(d: TuiDisk): string {
  const what = [d.vendor, d.model].filter((x) => x && x.trim()).join(' ');
  return `${d.name.padEnd(9)} ${formatBytes(d.sizeBytes).padStart(10)}  ${what}`.trimEnd();
}

export function diskItems(d: TuiData): ListItem[] {
  return d.disks.map((x) => ({ key: x.path, label: diskLabel(x) }));
}

export function nicItems(d: TuiData): ListItem[] {
  return d.nics.map((n) => {
    const link = n.carrier === true ? 'link up' : n.carrier === false ? 'no link' : '';
    return { key: n.name, label: [n.name.padEnd(8), n.mac, n.driver ?? '', link].filter(Boolean).join('  ') };
  });
}

export function sourceItems(d: TuiData): ListItem[] {
  return [
    ...(d.localMedia === false ? [] : [{ key: 'local', label: 'Local media' }]),
    { key: 'url', label: 'HTTP or FTP' },
    { key: 'nfs', label: 'NFS' },
  ];
}

const VERIFY_ITEMS: ListItem[] = [
  { key: 'skip', label: 'Skip verification' },
  { key: 'verify', label: 'Verify installation source' },
];
const TIME_ITEMS: ListItem[] = [
  { key: 'ntp', label: 'Using NTP' },
  { key: 'manual', label: 'Manual time entry' },
];
const NET_MODES: ListItem[] = [
  { key: 'dhcp', label: 'Automatic configuration (DHCP)' },
  { key: 'static', label: 'Static configuration' },
];
const DHCP_OR_MANUAL: ListItem[] = [
  { key: 'dhcp', label: 'Automatically set via DHCP' },
  { key: 'manual', label: 'Manually specify' },
];

/** Zones split into region and city; names without a region are left out. */
function zones(d: TuiData): { region: string; city: string; zone: string }[] {
  return [...new Set(d.timezones)].filter((z) => z.includes('/')).sort()
    .map((zone) => ({ zone, region: zone.slice(0, zone.indexOf('/')), city: zone.slice(zone.indexOf('/') + 1) }));
}

export function regionItems(d: TuiData): ListItem[] {
  return [...new Set(zones(d).map((z) => z.region))].map((r) => ({ key: r, label: r }));
}

export function cityItems(d: TuiData, region: string): ListItem[] {
  return zones(d).filter((z) => z.region === region).map((z) => ({ key: z.zone, label: z.city.replace(/_/g, ' ') }));
}

// ---- reading the forms -----------------------------------------------------------

export function formOf(s: TuiState, step: StepId): FormState | undefined {
  return s.forms[step];
}

export function text(s: TuiState, step: StepId, id: string): string {
  return String(s.forms[step]?.values[id] ?? '').trim();
}

function rawText(s: TuiState, step: StepId, id: string): string {
  return String(s.forms[step]?.values[id] ?? '');
}

export function flag(s: TuiState, step: StepId, id: string): boolean {
  return s.forms[step]?.values[id] === true;
}

/** The key of the item chosen in a list field. */
export function chosen(s: TuiState, step: StepId, id: string, items: ListItem[]): string | undefined {
  const i = Number(s.forms[step]?.values[id] ?? 0);
  return items[i]?.key;
}

export type Action = { kind: 'fresh' } | { kind: 'upgrade'; disk: string } | { kind: 'restore'; disk: string };

export function actionOf(s: TuiState): Action {
  const k = chosen(s, 'action', 'action', actionItems(s.data)) ?? 'fresh';
  if (k.startsWith('upgrade:')) return { kind: 'upgrade', disk: k.slice(8) };
  if (k.startsWith('restore:')) return { kind: 'restore', disk: k.slice(8) };
  return { kind: 'fresh' };
}

export function sourceTypeOf(s: TuiState): 'local' | 'url' | 'nfs' {
  return (chosen(s, 'source', 'source', sourceItems(s.data)) ?? 'url') as 'local' | 'url' | 'nfs';
}

export function primaryDiskOf(s: TuiState): TuiDisk | undefined {
  const path = chosen(s, 'primary-disk', 'disk', diskItems(s.data));
  return s.data.disks.find((d) => d.path === path);
}

function nicByName(s: TuiState, name: string | undefined): TuiNic | undefined {
  return s.data.nics.find((n) => n.name === name);
}

export function managementIsStatic(s: TuiState): boolean {
  return s.forms['management-network']?.values.mode === 'static';
}

/** The zone chosen, or the default when no zones were given. */
export function timezoneOf(s: TuiState): string {
  if (regionItems(s.data).length === 0) return DEFAULTS.timezone;
  const region = chosen(s, 'timezone-region', 'region', regionItems(s.data)) ?? '';
  return chosen(s, 'timezone-city', 'city', cityItems(s.data, region)) ?? DEFAULTS.timezone;
}

// ---- the steps ---------------------------------------------------------------------

interface StepDef {
  init(s: TuiState): FormValues;
  view(s: TuiState): ScreenSpec;
  /** a button was pressed (Enter on a field presses the first button); 'back' is handled for every step */
  submit(s: TuiState, button: string): TuiState;
  /** pass this step on the way forward (its form keeps its initial values) */
  skip?(s: TuiState): boolean;
  /** the earlier answer this step's initial values come from; the form is made again when it changes */
  dependsOn?(s: TuiState): string;
  /** keys this step handles before the form does (F9, F5) */
  onKey?(s: TuiState, k: Key): TuiState | undefined;
}

const OK = { id: 'ok', label: 'OK' };
/** where a form keeps the dependsOn value it was made for */
const DEPENDS = '.dependsOn';
const BACK = { id: 'back', label: 'Back' };

function indexOf(items: ListItem[], key: string | undefined, fallback = 0): number {
  const i = items.findIndex((x) => x.key === key);
  return i >= 0 ? i : fallback;
}

function withError(s: TuiState, message: string): TuiState {
  const f = s.forms[s.step];
  return f ? { ...s, forms: { ...s.forms, [s.step]: { ...f, error: message } } } : s;
}

function listScreen(title: string, body: string[], id: string, items: ListItem[], help: string[], opts: { label?: string; height?: number; canGoBack?: boolean } = {}): ScreenSpec {
  const field: FieldSpec = { kind: 'list', id, items, ...(opts.label && { label: opts.label }), ...(opts.height && { height: opts.height }) };
  return { title, body, fields: [field], buttons: opts.canGoBack === false ? [OK] : [OK, BACK], help, canGoBack: opts.canGoBack !== false };
}

const LIST_HELP = 'Use Up/Down (or type the number of an entry, or its first letter) to choose, then Enter.';

function networkFields(values: FormValues, extra: FieldSpec[]): FieldSpec[] {
  const fields: FieldSpec[] = [{ kind: 'choice', id: 'mode', label: 'Configuration:', options: NET_MODES }];
  if (values.mode === 'static') {
    fields.push(
      { kind: 'text', id: 'ip', label: 'IP Address: ' },
      { kind: 'text', id: 'netmask', label: 'Subnet mask:' },
      { kind: 'text', id: 'gateway', label: 'Gateway:    ' },
    );
  }
  return [...fields, ...extra];
}

/** The static address fields' error, if any. */
function staticError(s: TuiState, step: StepId): string | undefined {
  if (s.forms[step]?.values.mode !== 'static') return undefined;
  const ip = text(s, step, 'ip');
  const netmask = text(s, step, 'netmask');
  const gateway = text(s, step, 'gateway');
  if (!ip || !netmask) return MESSAGES.needIp;
  if (!isIpv4(ip)) return MESSAGES.badIp('IP address', ip);
  if (!isNetmask(netmask)) return MESSAGES.badNetmask(netmask);
  if (gateway && !isIpv4(gateway)) return MESSAGES.badIp('Gateway', gateway);
  return undefined;
}

const STEPS: Record<StepId, StepDef> = {
  keymap: {
    init: (s) => ({ keymap: indexOf(keymapItems(s.data), s.data.defaultKeymap ?? DEFAULTS.keymap) }),
    view: (s) => listScreen('Select Keymap', ['Which keymap would you like to use?'], 'keymap', keymapItems(s.data),
      ['The keyboard layout for the rest of the installation (and the installed host).', LIST_HELP], { canGoBack: false }),
    submit: (s) => forward(s),
  },

  welcome: {
    init: () => ({}),
    view: (s) => ({
      title: `Welcome to ${brandOf(s.data)} Setup`,
      body: [
        `This setup tool can be used to install or upgrade ${brandOf(s.data)} on your system or restore your server from backup. Installing ${brandOf(s.data)} will erase all data on the disks selected for use.`,
        'Please make sure you have backed up any data you wish to preserve before proceeding.',
        'To load a device driver press <F9>.',
        ...(s.driverDisk.loaded.length ? [`Driver disks loaded: ${s.driverDisk.loaded.join(', ')}`]
          : s.driverDisk.requested ? ['A driver disk has been requested.'] : []),
      ],
      fields: [],
      buttons: [OK, BACK, { id: 'reboot', label: 'Reboot' }],
      help: [`OK continues. F9 loads a driver disk (a driver that ${brandOf(s.data)} does not include). Reboot leaves the installer without changing any disk.`],
      canGoBack: true,
    }),
    submit: (s, b) => (b === 'reboot' ? { ...s, outcome: { kind: 'cancelled', reason: 'reboot' } } : forward(s)),
    onKey: (s, k) => {
      if (k.kind !== 'key' || k.name !== 'f9') return undefined;
      const driverDisk = { ...s.driverDisk, requested: true };
      if (s.features.driverDisk) return startEffect({ ...s, driverDisk }, 'driver-disk', 'Loading the driver disk...');
      return { ...s, driverDisk, overlay: { title: 'Driver disk', lines: ['The request to load a driver disk has been recorded.'] } };
    },
  },

  eula: {
    init: () => ({}),
    view: (s) => {
      const lines = s.data.eulaText.trim() ? s.data.eulaText.replace(/\r\n?/g, '\n').trimEnd().split('\n').flatMap((l) => wrap(l, SCREEN_WIDTH - 4))
        : ['(No licence text was found on the installation media.)'];
      return {
        title: 'End User License Agreement',
        body: [],
        fields: [{ kind: 'pager', id: 'eula', lines, height: 13 }],
        buttons: [{ id: 'accept', label: 'Accept EULA' }, { id: 'decline', label: 'Decline EULA' }, BACK],
        help: ['Read the licence with Page Up / Page Down (or Up/Down). Accept EULA continues; Decline EULA ends the installation without changing any disk.'],
        canGoBack: true,
      };
    },
    submit: (s, b) => (b === 'decline' ? { ...s, outcome: { kind: 'cancelled', reason: 'eula-declined' } } : forward(s)),
  },

  action: {
    skip: (s) => s.data.detection.installations.length === 0 && s.data.detection.backups.length === 0,
    init: () => ({ action: 0 }),
    view: (s) => listScreen('Welcome to ' + brandOf(s.data) + ' Setup', ['Please select an operation:'], 'action', actionItems(s.data),
      ['Clean installation erases the disks you choose. Upgrade keeps the settings of the installation found and saves it to the backup partition first. Restore brings back the installation saved in a backup partition.', LIST_HELP]),
    submit: (s) => forward(s),
  },

  'primary-disk': {
    skip: (s) => s.data.disks.length === 1,
    init: () => ({ disk: 0 }),
    view: (s) => {
      const spec = listScreen('Select Primary Disk',
        [`Please select the disk you would like to install ${brandOf(s.data)} on (disks with insufficient space are not shown).`, 'You may need to change your system settings to boot from this disk.'],
        'disk', diskItems(s.data), ['The primary disk gets the control domain, its backup partition and, if you choose so on the next screen, local storage for virtual machines.', LIST_HELP]);
      return s.data.disks.length ? spec : { ...spec, body: [MESSAGES.noDisks], fields: [], buttons: [BACK] };
    },
    submit: (s) => {
      if (!primaryDiskOf(s)) return withError(s, MESSAGES.noDisks);
      return forward(s);
    },
  },

  'guest-disks': {
    dependsOn: (s) => primaryDiskOf(s)?.path ?? '',
    init: (s) => ({ disks: primaryDiskOf(s) ? [primaryDiskOf(s)!.path] : [], 'disks.cursor': 0, thin: false }),
    view: (s) => ({
      title: 'Virtual Machine Storage',
      body: ['Which disks would you like to use for virtual machine storage?', 'One storage repository will be created that spans the selected disks. You can choose not to prepare any storage now.'],
      fields: [
        { kind: 'checklist', id: 'disks', items: diskItems(s.data).map((i) => (i.key === primaryDiskOf(s)?.path ? { ...i, label: `${i.label} (primary)` } : i)) },
        { kind: 'checkbox', id: 'thin', label: 'Enable thin provisioning (Optimized storage for XenDesktop)' },
      ],
      buttons: [OK, BACK],
      help: ['Space ticks or clears the disk under the cursor (type its number, then Space). F5 shows details of that disk.',
        'Thin provisioning makes the local storage repository file based (EXT) instead of LVM, so virtual disks use only the space they need.'],
      canGoBack: true,
    }),
    submit: (s) => forward(s),
    onKey: (s, k) => {
      if (k.kind !== 'key' || k.name !== 'f5') return undefined;
      const i = Number(s.forms['guest-disks']?.values['disks.cursor'] ?? 0);
      const d = s.data.disks[i];
      if (!d) return undefined;
      return {
        ...s, overlay: {
          title: 'Disk details',
          lines: [`Device: ${d.path}`, `Size:   ${formatBytes(d.sizeBytes)} (${d.sizeBytes} bytes)`,
            ...(d.vendor ? [`Vendor: ${d.vendor}`] : []), ...(d.model ? [`Model:  ${d.model}`] : [])],
        },
      };
    },
  },

  source: {
    init: () => ({ source: 0 }),
    view: (s) => listScreen('Select Installation Source', ['Please select the type of source you would like to use for this installation:'], 'source', sourceItems(s.data),
      ['Local media is the CD/DVD or USB stick the installer booted from. HTTP, FTP and NFS need a network connection, set up on the next screens.', LIST_HELP]),
    submit: (s) => {
      if (sourceTypeOf(s) !== 'local' && s.data.nics.length === 0) return withError(s, MESSAGES.noNics);
      return forward(s);
    },
  },

  'source-nic': {
    skip: (s) => s.data.nics.length === 1,
    init: () => ({ nic: 0 }),
    view: (s) => listScreen('Networking', ['This installation needs a network connection to reach the installation source.', 'Which network interface would you like to use?'], 'nic', nicItems(s.data),
      [LIST_HELP]),
    submit: (s) => forward(s),
  },

  'source-network': {
    init: () => ({ mode: 'dhcp', ip: '', netmask: '', gateway: '', dns: '' }),
    view: (s) => {
      const values = s.forms['source-network']?.values ?? {};
      const nic = chosen(s, 'source-nic', 'nic', nicItems(s.data));
      return {
        title: 'Networking',
        body: [`Configuration for ${nic ?? 'the network interface'}:`],
        fields: networkFields(values, values.mode === 'static' ? [{ kind: 'text', id: 'dns', label: 'DNS server: ' }] : []),
        buttons: [OK, BACK],
        help: ['Choose DHCP or a static address (Space, Left/Right, or type 1 or 2). Tab moves between fields.'],
        canGoBack: true,
      };
    },
    submit: (s) => {
      const e = staticError(s, 'source-network');
      if (e) return withError(s, e);
      const dns = text(s, 'source-network', 'dns');
      if (s.forms['source-network']?.values.mode === 'static' && dns && !isIpv4(dns)) return withError(s, MESSAGES.badIp('DNS server', dns));
      return forward(s);
    },
  },

  'source-url': {
    init: () => ({ url: '', username: '', password: '' }),
    view: () => ({
      title: 'Specify Repository',
      body: ['Please enter the URL for your HTTP or FTP repository and, optionally, a username and password.'],
      fields: [
        { kind: 'text', id: 'url', label: 'URL:     ' },
        { kind: 'text', id: 'username', label: 'Username:' },
        { kind: 'text', id: 'password', label: 'Password:', masked: true },
      ],
      buttons: [OK, BACK],
      help: ['The URL of a copy of the installation media, e.g. http://server/xenserver/. Tab moves between fields.'],
      canGoBack: true,
    }),
    submit: (s) => {
      const url = text(s, 'source-url', 'url');
      if (!isUrl(url)) return withError(s, MESSAGES.badUrl(url));
      return forward(s);
    },
  },

  'source-nfs': {
    init: () => ({ path: '' }),
    view: () => ({
      title: 'NFS Source',
      body: ['Please enter the server and path of your NFS share (for example, myserver:/my/directory).'],
      fields: [{ kind: 'text', id: 'path', label: 'NFS Path:' }],
      buttons: [OK, BACK],
      help: ['The export holding a copy of the installation media, written server:/path.'],
      canGoBack: true,
    }),
    submit: (s) => {
      const p = text(s, 'source-nfs', 'path');
      if (!isNfsPath(p)) return withError(s, MESSAGES.badNfs(p));
      return forward(s);
    },
  },

  verify: {
    init: () => ({ verify: 0 }),
    view: () => listScreen('Verify Installation Source',
      ['Would you like to test your media? Verification computes the SHA256 checksum of every package and compares it with the known value; it may take some time.'],
      'verify', VERIFY_ITEMS, ['Verifying finds a damaged or incomplete installation source before any disk is changed.', LIST_HELP]),
    submit: (s) => {
      if (chosen(s, 'verify', 'verify', VERIFY_ITEMS) === 'verify') return startEffect({ ...s, sourceVerified: false }, 'verify', 'Verifying the installation source...');
      return forward({ ...s, sourceVerified: false });
    },
  },

  'root-password': {
    init: () => ({ password: '', confirm: '' }),
    view: () => ({
      title: 'Set Password',
      body: ['Please specify a password for the root account.', `(Password must be at least ${MIN_PASSWORD_LENGTH} characters long.)`],
      fields: [
        { kind: 'text', id: 'password', label: 'Password:', masked: true },
        { kind: 'text', id: 'confirm', label: 'Confirm: ', masked: true },
      ],
      buttons: [OK, BACK],
      help: ['This is the password XenCenter and the console (user root) log in with. Type it twice; Tab moves to the second field.'],
      canGoBack: true,
    }),
    submit: (s) => {
      const pw = rawText(s, 'root-password', 'password');
      if (pw !== rawText(s, 'root-password', 'confirm')) return withError(s, MESSAGES.passwordsDiffer);
      if ([...pw].length < MIN_PASSWORD_LENGTH) return withError(s, MESSAGES.passwordTooShort);
      if (pw !== pw.trim()) return withError(s, MESSAGES.passwordWhitespace);
      return forward(s);
    },
  },

  'management-nic': {
    skip: (s) => s.data.nics.length === 1,
    init: (s) => ({ nic: indexOf(nicItems(s.data), sourceTypeOf(s) !== 'local' ? chosen(s, 'source-nic', 'nic', nicItems(s.data)) : undefined) }),
    view: (s) => {
      const spec = listScreen('Networking', ['Which network interface would you like to use for connection to the management server?'], 'nic', nicItems(s.data),
        ['The management interface is the one XenCenter connects to.', LIST_HELP]);
      return s.data.nics.length ? spec : { ...spec, body: [MESSAGES.noNics], fields: [], buttons: [BACK] };
    },
    submit: (s) => (s.data.nics.length ? forward(s) : withError(s, MESSAGES.noNics)),
  },

  'management-network': {
    init: () => ({ mode: 'dhcp', ip: '', netmask: '', gateway: '', vlanOn: false, vlan: '' }),
    view: (s) => {
      const values = s.forms['management-network']?.values ?? {};
      const nic = chosen(s, 'management-nic', 'nic', nicItems(s.data));
      const vlan: FieldSpec[] = supportsManagementVlan(s.data.productVersion)
        ? [{ kind: 'checkbox', id: 'vlanOn', label: 'Use VLAN' }, ...(values.vlanOn === true ? [{ kind: 'text' as const, id: 'vlan', label: 'VLAN ID (1-4094):' }] : [])]
        : [];
      return {
        title: 'Networking',
        body: [`Configuration for ${nic ?? 'the management interface'}:`],
        fields: networkFields(values, vlan),
        buttons: [OK, BACK],
        help: ['DHCP or a static address for the management interface. To be a member of a pool the host needs a static address (or a DHCP reservation).',
          ...(vlan.length ? ['Tick Use VLAN (Space) and give the VLAN ID to put the management interface on a tagged VLAN.'] : [])],
        canGoBack: true,
      };
    },
    submit: (s) => {
      const e = staticError(s, 'management-network');
      if (e) return withError(s, e);
      if (supportsManagementVlan(s.data.productVersion) && flag(s, 'management-network', 'vlanOn')) {
        const v = text(s, 'management-network', 'vlan');
        if (!/^\d+$/.test(v) || Number(v) < 1 || Number(v) > 4094) return withError(s, MESSAGES.badVlan(v));
      }
      return forward(s);
    },
  },

  'hostname-dns': {
    init: (s) => {
      const mode = managementIsStatic(s) ? 'manual' : 'dhcp';
      return { hostnameMode: mode, hostname: '', dnsMode: mode, dns1: '', dns2: '', dns3: '' };
    },
    view: (s) => {
      const v = s.forms['hostname-dns']?.values ?? {};
      const fields: FieldSpec[] = [{ kind: 'choice', id: 'hostnameMode', label: 'Hostname Configuration:', options: DHCP_OR_MANUAL }];
      if (v.hostnameMode === 'manual') fields.push({ kind: 'text', id: 'hostname', label: 'Hostname:' });
      fields.push({ kind: 'choice', id: 'dnsMode', label: 'DNS Configuration:', options: DHCP_OR_MANUAL });
      if (v.dnsMode === 'manual') {
        fields.push({ kind: 'text', id: 'dns1', label: 'DNS Server 1:' }, { kind: 'text', id: 'dns2', label: 'DNS Server 2:' }, { kind: 'text', id: 'dns3', label: 'DNS Server 3:' });
      }
      return {
        title: 'Hostname and DNS Configuration',
        body: [],
        fields,
        buttons: [OK, BACK],
        help: ['Enter a short host name, not a fully qualified domain name: an FQDN may make external authentication fail. The primary DNS server is required when DNS is specified manually.'],
        canGoBack: true,
      };
    },
    submit: (s) => {
      const v = s.forms['hostname-dns']?.values ?? {};
      const st = managementIsStatic(s);
      if (v.hostnameMode === 'manual') {
        const h = text(s, 'hostname-dns', 'hostname');
        if (!h) return withError(s, MESSAGES.needHostname);
        if (!isHostname(h)) return withError(s, MESSAGES.badHostname(h));
      } else if (st) return withError(s, MESSAGES.dhcpNotUsed('host name'));
      if (v.dnsMode === 'manual') {
        const servers = ['dns1', 'dns2', 'dns3'].map((id) => text(s, 'hostname-dns', id));
        if (!servers[0]) return withError(s, MESSAGES.needDns);
        for (const d of servers) if (d && !isIpv4(d)) return withError(s, MESSAGES.badIp('DNS server', d));
      } else if (st) return withError(s, MESSAGES.dhcpNotUsed('DNS servers'));
      return forward(s);
    },
  },

  'timezone-region': {
    skip: (s) => regionItems(s.data).length === 0,
    init: (s) => ({ region: indexOf(regionItems(s.data), DEFAULTS.timezone.split('/')[0]) }),
    view: (s) => listScreen('Select Time Zone', ['Please select the geographical area that your server is in:'], 'region', regionItems(s.data),
      ['Type the first letter of an area to jump to it.', LIST_HELP]),
    submit: (s) => forward(s),
  },

  'timezone-city': {
    skip: (s) => regionItems(s.data).length === 0,
    dependsOn: (s) => chosen(s, 'timezone-region', 'region', regionItems(s.data)) ?? '',
    init: (s) => {
      const region = chosen(s, 'timezone-region', 'region', regionItems(s.data)) ?? '';
      return { city: indexOf(cityItems(s.data, region), DEFAULTS.timezone) };
    },
    view: (s) => {
      const region = chosen(s, 'timezone-region', 'region', regionItems(s.data)) ?? '';
      return listScreen('Select Time Zone', [`Please select the city or area that the managed host is in (${region}):`], 'city', cityItems(s.data, region),
        ['Type the first letter of a city to jump to it.', LIST_HELP]);
    },
    submit: (s) => forward(s),
  },

  'time-method': {
    init: () => ({ method: 0 }),
    view: () => listScreen('System Time', ['How should the local time be determined?', '(Note that if you choose to enter it manually, you will be asked for it during installation.)'], 'method', TIME_ITEMS,
      [`${'The host assumes the hardware clock (BIOS) holds UTC.'}`, LIST_HELP]),
    submit: (s) => forward(s),
  },

  ntp: {
    init: (s) => ({ dhcp: !managementIsStatic(s), ntp1: '', ntp2: '', ntp3: '' }),
    view: () => ({
      title: 'NTP Configuration',
      body: ['Please specify details of the NTP servers you wish to use (e.g. pool.ntp.org)'],
      fields: [
        { kind: 'checkbox', id: 'dhcp', label: 'NTP is configured by my DHCP server' },
        { kind: 'text', id: 'ntp1', label: 'NTP Server 1:' },
        { kind: 'text', id: 'ntp2', label: 'NTP Server 2:' },
        { kind: 'text', id: 'ntp3', label: 'NTP Server 3:' },
      ],
      buttons: [OK, BACK],
      help: ['Space clears the DHCP box; then give at least one NTP server (host name or IP address).'],
      canGoBack: true,
    }),
    submit: (s) => {
      if (flag(s, 'ntp', 'dhcp')) {
        if (managementIsStatic(s)) return withError(s, MESSAGES.dhcpNotUsed('NTP servers'));
        return forward(s);
      }
      const servers = ['ntp1', 'ntp2', 'ntp3'].map((id) => text(s, 'ntp', id)).filter(Boolean);
      if (servers.length === 0) return withError(s, MESSAGES.needNtp);
      for (const n of servers) if (!isHostname(n) && !isIpv4(n)) return withError(s, MESSAGES.badNtp(n));
      return forward(s);
    },
  },

  confirm: {
    init: () => ({ saveAs: '' }),
    view: (s) => {
      const brand = brandOf(s.data);
      const a = actionOf(s);
      const body: string[] = [];
      let go = { id: 'install', label: `Install ${brand}` };
      if (a.kind === 'fresh') {
        const p = primaryDiskOf(s);
        const guests = ((s.forms['guest-disks']?.values.disks as string[] | undefined) ?? []).filter((d) => d !== p?.path);
        body.push(`If you proceed, ALL DATA WILL BE DESTROYED on the disk ${p ? `${p.path} (${formatBytes(p.sizeBytes)}${p.model ? `, ${p.model}` : ''})` : ''}${guests.length ? ` and on ${guests.join(', ')}` : ''}.`);
      } else if (a.kind === 'upgrade') {
        body.push(`The installation on ${a.disk} will be upgraded to ${brand} ${s.data.productVersion}. It is copied to the backup partition first; virtual machine storage is not touched.`);
      } else {
        go = { id: 'install', label: 'Restore' };
        body.push(`The installation on ${a.disk} will be replaced by the one saved in its backup partition.`);
      }
      const fields: FieldSpec[] = [];
      if (!s.summary) body.push('Preparing the installation plan...');
      else if (!s.summary.ok) body.push(`The installation cannot go ahead: ${s.summary.error}`);
      else {
        body.push('Are you sure you want to continue?');
        fields.push({ kind: 'pager', id: 'plan', lines: s.summary.text.trimEnd().split('\n').flatMap((l) => wrap(l, SCREEN_WIDTH - 4)), height: 9 });
      }
      fields.push({ kind: 'text', id: 'saveAs', label: 'Save answers as (optional):' });
      return {
        title: a.kind === 'restore' ? 'Confirm Restore' : 'Confirm Installation',
        body,
        fields,
        buttons: s.summary?.ok ? [go, BACK] : [BACK],
        help: ['Nothing has been written to any disk yet: Back returns to the previous screens. PgUp/PgDn scroll the plan.',
          'To keep these answers as an answer file for unattended installs, type an absolute path (written after the installation, e.g. on the installed host).'],
        canGoBack: true,
      };
    },
    submit: (s, b) => {
      if (b !== 'install' || !s.summary?.ok) return s;
      const path = text(s, 'confirm', 'saveAs');
      if (path && !path.startsWith('/')) return withError(s, MESSAGES.badSavePath(path));
      return forward(s);
    },
  },

  'manual-time': {
    init: (s) => {
      const [date, time] = (s.data.now ?? '2000-01-01 00:00').split(' ');
      return { date: date ?? '', time: (time ?? '').slice(0, 5) };
    },
    view: (s) => ({
      title: 'Set Local Time',
      body: [`Please set the current (local) date and time in ${timezoneOf(s)}.`],
      fields: [
        { kind: 'text', id: 'date', label: 'Date (YYYY-MM-DD):' },
        { kind: 'text', id: 'time', label: 'Time (HH:MM):     ' },
      ],
      buttons: [OK, BACK],
      help: ['Use Backspace to change the values shown.'],
      canGoBack: true,
    }),
    submit: (s) => {
      const d = text(s, 'manual-time', 'date');
      const t = text(s, 'manual-time', 'time');
      if (!isDate(d)) return withError(s, MESSAGES.badDate(d));
      if (!isTime(t)) return withError(s, MESSAGES.badTime(t));
      return forward(s);
    },
  },

  installing: {
    init: () => ({}),
    view: (s) => ({
      title: `Installing ${brandOf(s.data)}`,
      body: ['Please wait: the installation is in progress.'],
      fields: [],
      buttons: [],
      help: ['Nothing to do until the installation is finished.'],
      canGoBack: false,
      after: s.progress.slice(-8).map((l) => `  ${l.slice(0, SCREEN_WIDTH - 4)}`),
    }),
    submit: (s) => s,
  },

  'supp-packs': {
    init: () => ({}),
    view: (s) => ({
      title: 'Supplemental Packs',
      body: [s.suppPacks.length ? 'Would you like to install any more Supplemental Packs?' : 'Would you like to install any Supplemental Packs?',
        ...(s.suppPacks.length ? [`Installed: ${s.suppPacks.join(', ')}`] : [])],
      fields: [],
      buttons: [{ id: 'yes', label: 'Yes' }, { id: 'no', label: 'No' }],
      help: ['Supplemental packs from your hardware vendor come on their own CD. Yes asks you to insert it.'],
      canGoBack: false,
    }),
    submit: (s, b) => (b === 'yes' ? goTo(s, 'supp-pack-insert', true) : goTo({ ...s, history: [] }, 'done', false)),
  },

  'supp-pack-insert': {
    init: () => ({}),
    view: () => ({
      title: 'New Media',
      body: ['Please eject the installation CD and insert your Supplemental Pack CD now.'],
      fields: [],
      buttons: [{ id: 'use', label: 'Use media' }, BACK],
      help: ['Use media installs the pack on the CD in the drive.'],
      canGoBack: true,
    }),
    submit: (s) => startEffect(s, 'supp-pack', 'Installing the supplemental pack...'),
  },

  done: {
    init: () => ({}),
    view: (s) => ({
      title: 'Installation Complete',
      body: [`The ${brandOf(s.data)} installation has completed.`, 'Please remove any local installation media.', 'Press Enter to reboot.'],
      fields: [],
      buttons: [OK],
      help: ['OK reboots into the installed system.'],
      canGoBack: false,
    }),
    submit: (s) => ({ ...s, outcome: { kind: 'installed' } }),
  },

  failed: {
    init: () => ({}),
    view: (s) => ({
      title: 'Error',
      body: unrecoverableErrorText(s.installError ?? 'unknown error').split('\n').filter((l) => l.trim()),
      fields: [],
      buttons: [OK],
      help: ['The installation did not complete. OK leaves the installer.'],
      canGoBack: false,
    }),
    submit: (s) => ({ ...s, outcome: { kind: 'install-failed', error: s.installError ?? 'unknown error' } }),
  },
};

/** The screen after `step` on the way forward, given the answers so far. */
export function nextStep(s: TuiState, step: StepId): StepId | 'finish' {
  const a = actionOf(s);
  switch (step) {
    case 'keymap': return 'welcome';
    case 'welcome': return 'eula';
    case 'eula': return 'action';
    case 'action': return a.kind === 'fresh' ? 'primary-disk' : a.kind === 'upgrade' ? 'source' : 'confirm';
    case 'primary-disk': return 'guest-disks';
    case 'guest-disks': return 'source';
    case 'source': return sourceTypeOf(s) === 'local' ? 'verify' : 'source-nic';
    case 'source-nic': return 'source-network';
    case 'source-network': return sourceTypeOf(s) === 'nfs' ? 'source-nfs' : 'source-url';
    case 'source-url':
    case 'source-nfs': return 'verify';
    case 'verify': return a.kind === 'upgrade' ? 'confirm' : 'root-password';
    case 'root-password': return 'management-nic';
    case 'management-nic': return 'management-network';
    case 'management-network': return 'hostname-dns';
    case 'hostname-dns': return 'timezone-region';
    case 'timezone-region': return 'timezone-city';
    case 'timezone-city': return 'time-method';
    case 'time-method': return chosen(s, 'time-method', 'method', TIME_ITEMS) === 'manual' ? 'confirm' : 'ntp';
    case 'ntp': return 'confirm';
    case 'confirm': return a.kind === 'fresh' && chosen(s, 'time-method', 'method', TIME_ITEMS) === 'manual' ? 'manual-time' : 'finish';
    case 'manual-time': return 'finish';
    default: return 'finish';
  }
}

export function timeMethodOf(s: TuiState): 'ntp' | 'manual' {
  return chosen(s, 'time-method', 'method', TIME_ITEMS) === 'manual' ? 'manual' : 'ntp';
}

export function verifyChosen(s: TuiState): boolean {
  return chosen(s, 'verify', 'verify', VERIFY_ITEMS) === 'verify';
}

function startEffect(s: TuiState, kind: EffectKind, busy?: string): TuiState {
  const id = s.effectSeq + 1;
  return { ...s, effectSeq: id, effect: { id, kind }, ...(busy !== undefined && { busy }) };
}

/** Enter `step`, pushing the current screen on the history when `push`; skipped steps are passed. */
function goTo(s: TuiState, step: StepId | 'finish', push: boolean): TuiState {
  if (step === 'finish') return finish(s);
  const def = STEPS[step];
  let next: TuiState = { ...s, step, history: push ? [...s.history, s.step] : s.history, overlay: undefined };
  const old = next.forms[step];
  const dep = def.dependsOn?.(next);
  // a form made for other earlier answers (another primary disk, another region) starts afresh
  if (!old || (dep !== undefined && old.values[DEPENDS] !== dep)) {
    next = { ...next, forms: { ...next.forms, [step]: newForm({ ...def.init(next), ...(dep !== undefined && { [DEPENDS]: dep }) }) } };
  } else {
    next = { ...next, forms: { ...next.forms, [step]: { ...old, error: undefined, typed: '' } } };
  }
  if (def.skip?.(next)) return goTo(next, nextStep(next, step), false);
  if (step === 'confirm') next = startEffect({ ...next, summary: undefined }, 'summary');
  return next;
}

function forward(s: TuiState): TuiState {
  return goTo(s, nextStep(s, s.step), true);
}

function finish(s: TuiState): TuiState {
  if (!s.features.install) return { ...s, outcome: { kind: 'config' } };
  const next: TuiState = { ...s, step: 'installing', history: [], overlay: undefined, progress: [], forms: { ...s.forms, installing: newForm({}) } };
  return startEffect(next, 'install', 'Installing...');
}

export function back(s: TuiState): TuiState {
  const prev = s.history.at(-1);
  if (prev === undefined) return s;
  const form = s.forms[prev];
  return {
    ...s, step: prev, history: s.history.slice(0, -1), overlay: undefined,
    ...(form && { forms: { ...s.forms, [prev]: { ...form, error: undefined, typed: '' } } }),
  };
}

export function initialState(data: TuiData, features: Features): TuiState {
  const s: TuiState = {
    data, features, step: 'keymap', history: [], forms: {}, effectSeq: 0,
    driverDisk: { requested: false, loaded: [] }, sourceVerified: false, progress: [], suppPacks: [],
  };
  return goTo(s, 'keymap', false);
}

/** The screen as it is now (overlays and busy messages are drawn by render.ts on top). */
export function currentScreen(s: TuiState): ScreenSpec {
  return STEPS[s.step].view(s);
}

function keyIs(k: Key, name: string): boolean {
  return k.kind === 'key' && k.name === name;
}

function onEffectResult(s: TuiState, e: Effect, r: EffectResult): TuiState {
  const t: TuiState = { ...s, effect: undefined, busy: undefined };
  switch (e.kind) {
    case 'summary':
      return { ...t, summary: r.ok ? { ok: true, text: r.text ?? '' } : { ok: false, error: r.error } };
    case 'verify':
      if (!r.ok) {
        return withError({ ...t, overlay: { title: 'Problem with installation source', lines: ['The installation source could not be verified:', r.error] } }, 'Verification failed: go Back to choose another source.');
      }
      return { ...forward({ ...t, sourceVerified: true }), overlay: { title: 'Verification Successful', lines: ['The installation source was verified successfully.'] } };
    case 'driver-disk': {
      if (!r.ok) return { ...t, overlay: { title: 'Driver disk', lines: ['The driver disk could not be loaded:', r.error] } };
      const data = { ...t.data, ...(r.disks && { disks: r.disks }), ...(r.nics && { nics: r.nics }) };
      const forms = { ...t.forms };
      // indexes into the old lists mean nothing in the new ones
      if (r.disks) { delete forms['primary-disk']; delete forms['guest-disks']; }
      if (r.nics) { delete forms['source-nic']; delete forms['management-nic']; }
      const name = r.name ?? 'driver disk';
      return { ...t, data, forms, driverDisk: { ...t.driverDisk, loaded: [...t.driverDisk.loaded, name] }, overlay: { title: 'Driver disk', lines: [`Loaded ${name}.`] } };
    }
    case 'install':
      if (!r.ok) return goTo({ ...t, installError: r.error, history: [] }, 'failed', false);
      return goTo({ ...t, history: [] }, t.features.suppPacks && sourceTypeOf(t) === 'local' && actionOf(t).kind !== 'restore' ? 'supp-packs' : 'done', false);
    case 'supp-pack': {
      const u = goTo({ ...t, history: [] }, 'supp-packs', false);
      if (!r.ok) return { ...u, overlay: { title: 'Supplemental Pack', lines: ['The supplemental pack could not be installed:', r.error] } };
      return { ...u, suppPacks: [...u.suppPacks, r.name ?? 'supplemental pack'], overlay: { title: 'Supplemental Pack', lines: [`Installed ${r.name ?? 'the supplemental pack'}.`] } };
    }
  }
}

/** The reducer: one event in, the next state out. Pure. */
export function reduce(s: TuiState, ev: TuiEvent): TuiState {
  if (s.outcome) return s;
  if (ev.type === 'input-closed') return { ...s, outcome: { kind: 'cancelled', reason: 'input-closed' } };
  if (ev.type === 'effect') {
    if (!s.effect || s.effect.id !== ev.id) return s; // stale: the user went elsewhere meanwhile
    return onEffectResult(s, s.effect, ev.result);
  }
  if (ev.type === 'progress') {
    if (!s.effect || s.effect.id !== ev.id) return s;
    return { ...s, progress: [...s.progress.slice(-49), ev.line] };
  }
  const k = ev.key;
  if (s.busy) return s;
  if (s.overlay) {
    if (keyIs(k, 'enter') || keyIs(k, 'escape') || keyIs(k, 'f1') || (k.kind === 'char' && k.char === ' ')) return { ...s, overlay: undefined };
    return s;
  }
  const def = STEPS[s.step];
  const spec = def.view(s);
  if (keyIs(k, 'f1')) return { ...s, overlay: { title: `Help: ${spec.title}`, lines: [...spec.help, '', ...COMMON_HELP] } };
  if (keyIs(k, 'escape')) return spec.canGoBack ? back(s) : s;
  const special = def.onKey?.(s, k);
  if (special) return special;
  const form = s.forms[s.step] ?? newForm(def.init(s));
  // F12: straight to the next screen, as OK would (seed: "press F12 to move on quickly")
  const r = keyIs(k, 'f12') ? { form, pressed: spec.buttons[0]?.id } : formKey(spec, form, k);
  let next: TuiState = { ...s, forms: { ...s.forms, [s.step]: r.form } };
  // a field that vanished (static -> DHCP) must not leave the focus pointing past the end
  const n = focusables(def.view(next)).length;
  if (r.form.focus > n - 1) next = { ...next, forms: { ...next.forms, [s.step]: { ...r.form, focus: Math.max(0, n - 1) } } };
  if (r.pressed === undefined) return next;
  if (r.pressed === 'back') return back(next);
  return def.submit(next, r.pressed);
}

const COMMON_HELP = [
  'Keys: Tab / Shift-Tab move between fields and buttons; Up/Down move in a list; Space ticks a box or changes a choice; Enter presses OK (or the button that has the focus); Esc goes back to the previous screen; F1 shows this help.',
  'Typing the number of a list entry chooses it; a letter jumps to the next entry starting with it.',
];

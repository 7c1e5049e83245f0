// Answer file text -> InstallConfig, with the installer's rules and messages
// (host-installer 10.0.16 answerfile.py over xcp.xmlunwrap). Where the installer
// stops at its first error we go on and collect every error we can, each with the
// installer's text and the line of the element it concerns.
import {
  DEFAULTS, MESSAGES, SCRIPT_STAGES, normalizeDisk,
  type AdminInterface, type Bootloader, type FcoeInterface, type FreshInstallConfig, type InitialPartition,
  type InstallConfig, type Ipv6Proto, type NetworkBackend, type PreserveFirstPartition, type RepoSource,
  type RestoreConfig, type RootPassword, type ScriptSpec, type ServiceState, type SrType, type UpgradeConfig,
} from './model.ts';
import { allElements, attributeOf, elementsByTagName, readXml, textOf, type XmlElement } from './xml.ts';

export interface AnswerFileError {
  /** The installer's message. */
  message: string;
  line?: number;
  column?: number;
  /** What exactly is wrong, when the installer's message is generic (malformed XML). */
  detail?: string;
}

export interface ParseResult {
  /** Present exactly when there are no errors. */
  config?: InstallConfig;
  errors: AnswerFileError[];
  /** Things the installer accepts silently but that are probably mistakes. */
  warnings: string[];
}

export interface ParseOptions {
  /** The text came from an `answerfile_generator=` script (changes the malformed-XML message). */
  generated?: boolean;
}

/** Element names the installer reads somewhere; anything else is ignored by it. */
const KNOWN_ELEMENTS = new Set([
  'installation', 'upgrade', 'restore', 'primary-disk', 'guest-disks', 'guest-disk', 'keymap', 'root-password',
  'source', 'driver-source', 'script', 'post-install-script', 'install-failed-script', 'admin-interface', 'ip',
  'ipaddr', 'subnet', 'subnet-mask', 'gateway', 'ipv6', 'gatewayv6', 'timezone', 'name-server', 'nameserver',
  'hostname', 'ntp-server', 'ntp-servers', 'network-backend', 'bootloader', 'existing-installation', 'backup-disk',
  'fcoe-interface', 'ui-confirmation-prompt', 'initial-partitions', 'partition', 'zap-utility-partitions', 'service',
]);
/** Read only by fresh and reinstall. */
const FRESH_ONLY = ['guest-disks', 'guest-disk', 'keymap', 'root-password', 'admin-interface', 'timezone', 'name-server',
  'nameserver', 'hostname', 'ntp-server', 'ntp-servers', 'initial-partitions', 'zap-utility-partitions', 'service'];
/** Read by fresh, reinstall and upgrade, not by restore. */
const INSTALL_ONLY = ['source', 'network-backend', 'bootloader', 'primary-disk'];

const OLD_NAMES: Record<string, string> = {
  'post-install-script': '<script stage="filesystem-populated">',
  'install-failed-script': '<script stage="installation-complete">',
  nameserver: '<name-server>',
  'ntp-servers': '<ntp-server>',
  ip: '<ipaddr>',
  'subnet-mask': '<subnet>',
  'zap-utility-partitions': 'preserve-first-partition="false"',
};

class Reader {
  readonly errors: AnswerFileError[] = [];
  readonly warnings: string[] = [];
  constructor(readonly root: XmlElement) {}

  error(message: string, at?: XmlElement): void {
    this.errors.push(at ? { message, line: at.line, column: at.column } : { message });
  }
  warn(message: string, at?: XmlElement): void {
    this.warnings.push(at ? `line ${at.line}: ${message}` : message);
  }

  /** getElementsByTagName(..., mandatory=True): the error names the first tag. */
  mandatory(within: XmlElement, names: readonly string[]): XmlElement[] | undefined {
    const found = elementsByTagName(within, names);
    if (found.length === 0) {
      this.error(MESSAGES.missingElement(names[0]!), within);
      return undefined;
    }
    return found;
  }

  text(el: XmlElement): string {
    if (el.hasCdata) this.warn(`CDATA in <${el.name}> is not read by the installer; write the value as plain text`, el);
    return textOf(el);
  }

  /** getStrAttribute: empty counts as absent. Returns undefined (and records an error) when mandatory and missing. */
  attr(el: XmlElement, names: readonly string[], mandatory = false): string | undefined {
    const v = attributeOf(el, names);
    if (v === undefined && mandatory) this.error(MESSAGES.missingAttribute(names[0]!), el);
    return v;
  }

  /** getBoolAttribute: true only for yes/true, any case. */
  bool(el: XmlElement, names: readonly string[], fallback: boolean): boolean {
    const v = attributeOf(el, names);
    if (v === undefined) return fallback;
    const b = ['yes', 'true'].includes(v.toLowerCase());
    if (!b && !['no', 'false'].includes(v.toLowerCase())) this.warn(`${names[0]}="${v}" counts as false (only yes/true are true)`, el);
    return b;
  }

  /** getMapAttribute with a default: an unknown value is an error; undefined returned then. */
  map<T extends string>(el: XmlElement, names: readonly string[], mapping: Record<string, T>, fallback: string): T | undefined {
    const key = attributeOf(el, names) ?? fallback;
    if (!Object.prototype.hasOwnProperty.call(mapping, key)) {
      this.error(MESSAGES.unexpectedKey(key), el);
      return undefined;
    }
    return mapping[key];
  }

  /** A disk name as the installer normalises it; empty text is our own error (the installer fails later, less clearly). */
  disk(el: XmlElement): string | undefined {
    const t = this.text(el);
    if (t === '') {
      this.error(`<${el.name}> names no disk`, el);
      return undefined;
    }
    return normalizeDisk(t);
  }
}

/** Python's int(v, 0) as Python 2 has it: 0x/0o/0b prefixes, a leading 0 means octal. */
function pythonInt(v: string): number | undefined {
  const m = /^\s*([+-]?)(0[xX][0-9a-fA-F]+|0[oO][0-7]+|0[bB][01]+|0[0-7]*|[1-9][0-9]*)[lL]?\s*$/.exec(v);
  if (!m) return undefined;
  const body = m[2]!;
  let n: number;
  if (/^0[xX]/.test(body)) n = parseInt(body.slice(2), 16);
  else if (/^0[oO]/.test(body)) n = parseInt(body.slice(2), 8);
  else if (/^0[bB]/.test(body)) n = parseInt(body.slice(2), 2);
  else if (body.length > 1 && body.startsWith('0')) n = parseInt(body.slice(1), 8);
  else n = parseInt(body, 10);
  return m[1] === '-' ? -n : n;
}

function readRepo(r: Reader, el: XmlElement, invalidMessage: string): RepoSource | undefined {
  const type = r.attr(el, ['type'], true);
  if (type === undefined) return undefined;
  if (type === 'local') return { type: 'local', address: '' };
  if (type !== 'url' && type !== 'nfs') {
    r.error(invalidMessage, el);
    return undefined;
  }
  let address = r.text(el);
  if (address === '') {
    r.error(`<${el.name} type="${type}"> has no address`, el);
    return undefined;
  }
  if (type === 'url' && address.startsWith('nfs://')) return { type: 'nfs', address: address.slice(6) };
  if (type === 'url' && !/^(https?|ftp|file):\/\//.test(address)) {
    r.warn(`<${el.name}> url '${address}' is not http://, https://, ftp://, file:// or nfs://`, el);
  }
  if (type === 'nfs' && address.startsWith('nfs://')) address = address.slice(6);
  return { type, address };
}

function readScripts(r: Reader): ScriptSpec[] {
  const scripts: ScriptSpec[] = [];
  const buildUrl = (type: string, path: string) => (type === 'nfs' && !path.startsWith('nfs://') ? `nfs://${path}` : path);
  const add = (el: XmlElement, stage: string, type: string) => {
    const url = buildUrl(type, r.text(el));
    if (url === '') r.warn(`<${el.name}> has no location; the installer cannot fetch it`, el);
    if (!(SCRIPT_STAGES as readonly string[]).includes(stage)) {
      r.warn(`script stage '${stage}' is not one of ${SCRIPT_STAGES.join(', ')}; the installer never runs it`, el);
    }
    scripts.push({ stage, type, url });
  };
  for (const el of elementsByTagName(r.root, ['script'])) {
    const stage = r.attr(el, ['stage'], true);
    const type = r.attr(el, ['type'], true);
    if (stage !== undefined && type !== undefined) add(el, stage.toLowerCase(), type.toLowerCase());
  }
  for (const [name, stage] of [['post-install-script', 'filesystem-populated'], ['install-failed-script', 'installation-complete']] as const) {
    const nodes = elementsByTagName(r.root, [name]);
    if (nodes.length > 1) r.warn(`<${name}> is given ${nodes.length} times; the installer then runs none of them`, nodes[1]);
    if (nodes.length !== 1) continue;
    const el = nodes[0]!;
    const text = textOf(el);
    // The type is optional here; without one only an nfs:// url says it is NFS.
    const type = (r.attr(el, ['type']) ?? (text.startsWith('nfs://') ? 'nfs' : 'url')).toLowerCase();
    add(el, stage, type);
  }
  return scripts;
}

function readSetup(r: Reader): SetupPart {
  const driverSources: RepoSource[] = [];
  for (const el of elementsByTagName(r.root, ['driver-source'])) {
    const repo = readRepo(r, el, MESSAGES.invalidDriverSourceType);
    if (repo) driverSources.push(repo);
  }
  const fcoeInterfaces: FcoeInterface[] = [];
  for (const el of elementsByTagName(r.root, ['fcoe-interface'])) {
    const name = r.attr(el, ['name']);
    const hwaddr = r.attr(el, ['hwaddr']);
    if (name === undefined && hwaddr === undefined) {
      r.error(MESSAGES.fcoeInterfaceNeedsName, el);
      continue;
    }
    const dcb = !['off', 'no', 'false', '0', 'disable'].includes(r.attr(el, ['dcb']) ?? '');
    fcoeInterfaces.push({ ...(name !== undefined && { name }), ...(hwaddr !== undefined && { hwaddr }), dcb });
  }
  const prompt = elementsByTagName(r.root, ['ui-confirmation-prompt'])[0];
  return { driverSources, fcoeInterfaces, uiConfirmationPrompt: prompt !== undefined && r.text(prompt) !== '' };
}

function readAdminInterface(r: Reader): AdminInterface | undefined {
  const el = r.mandatory(r.root, ['admin-interface'])?.[0];
  if (!el) return undefined;
  let ok = true;
  const name = r.attr(el, ['name']);
  const hwaddr = r.attr(el, ['hwaddr']);
  if (name === undefined && hwaddr === undefined) {
    r.error(MESSAGES.adminInterfaceNeedsName, el);
    ok = false;
  }
  if (hwaddr !== undefined && !/^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$/.test(hwaddr)) r.warn(`hwaddr '${hwaddr}' is not a MAC address like 00:16:3e:aa:bb:cc`, el);
  const protoAttr = r.attr(el, ['proto'], true);
  if (protoAttr === undefined) ok = false;
  const proto = protoAttr === 'static' || protoAttr === 'dhcp' ? protoAttr : 'none';
  if (protoAttr !== undefined && protoAttr !== proto) r.warn(`proto="${protoAttr}" is not static, dhcp or none; the installer treats it as none`, el);

  /** A mandatory child's text; an empty address/netmask makes the installer assert. */
  const child = (names: string[], emptyAllowed: boolean): string | undefined => {
    const found = r.mandatory(el, names);
    if (!found) { ok = false; return undefined; }
    const t = r.text(found[0]!);
    if (t === '' && !emptyAllowed) {
      r.error(`<${found[0]!.name}> in <admin-interface> is empty`, found[0]);
      ok = false;
    }
    return t;
  };
  let ipv4: AdminInterface['ipv4'];
  if (proto === 'static') {
    const address = child(['ip', 'ipaddr'], false);
    const netmask = child(['subnet-mask', 'subnet'], false);
    const gateway = child(['gateway'], true);
    if (address && netmask && gateway !== undefined) {
      for (const [what, v] of [['address', address], ['netmask', netmask], ['gateway', gateway]] as const) {
        if (v !== '' && !isIpv4(v)) r.warn(`static IPv4 ${what} '${v}' is not a dotted-quad address`, el);
      }
      ipv4 = { address, netmask, ...(gateway !== '' && { gateway }) };
    }
  }
  const v6Attr = r.attr(el, ['protov6']);
  const protov6: Ipv6Proto = v6Attr === 'static' || v6Attr === 'dhcp' || v6Attr === 'autoconf' ? v6Attr : 'none';
  if (v6Attr !== undefined && v6Attr !== protov6) r.warn(`protov6="${v6Attr}" is not static, dhcp, autoconf or none; the installer treats it as none`, el);
  let ipv6: AdminInterface['ipv6'];
  if (protov6 === 'static') {
    const address = child(['ipv6'], false);
    const gateway = child(['gatewayv6'], true);
    if (address && gateway !== undefined) ipv6 = { address, ...(gateway !== '' && { gateway }) };
  }
  // read directly: attributeOf treats vlan="" as absent, which would drop it silently
  const vlanAttr = el.attrs['vlan'];
  let vlan: number | undefined;
  if (vlanAttr !== undefined) {
    if (/^\d{1,4}$/.test(vlanAttr) && Number(vlanAttr) >= 1 && Number(vlanAttr) <= 4094) vlan = Number(vlanAttr);
    else { r.error(MESSAGES.badVlan(vlanAttr), el); ok = false; }
  }
  if (ok && proto === 'none' && protov6 === 'none') {
    r.error(MESSAGES.adminInterfaceNeedsIp, el);
    ok = false;
  }
  if (!ok) return undefined;
  return {
    ...(name !== undefined && { name }), ...(hwaddr !== undefined && { hwaddr }),
    proto, ...(ipv4 && { ipv4 }), protov6, ...(ipv6 && { ipv6 }), ...(vlan !== undefined && { vlan }),
  };
}

function isIpv4(v: string): boolean {
  const parts = v.split('.');
  return parts.length === 4 && parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255);
}

/** The first of a single-valued element; later ones are ignored by the installer. */
function first(r: Reader, names: string[]): XmlElement | undefined {
  const found = elementsByTagName(r.root, names);
  if (found.length > 1) r.warn(`<${found[1]!.name}> is given more than once; only the first is used`, found[1]);
  return found[0];
}

type SetupPart = Pick<FreshInstallConfig, 'driverSources' | 'fcoeInterfaces' | 'uiConfirmationPrompt'>;
type CommonPart = Pick<FreshInstallConfig, 'sources' | 'networkBackend' | 'bootloader'>;
type FreshPart = Omit<FreshInstallConfig, keyof SetupPart | keyof CommonPart | 'scripts'>;
type UpgradePart = Omit<UpgradeConfig, keyof SetupPart | keyof CommonPart | 'scripts'>;

function readFresh(r: Reader, mode: 'fresh' | 'reinstall'): FreshPart | undefined {
  const before = r.errors.length;

  const initialPartitions: InitialPartition[] = [];
  const ip = elementsByTagName(r.root, ['initial-partitions'])[0];
  if (ip) {
    for (const el of elementsByTagName(ip, ['partition'])) {
      const values = (['number', 'size', 'id'] as const).map((k) => pythonInt(attributeOf(el, [k]) ?? ''));
      if (values.some((v) => v === undefined)) {
        r.warn('<partition> needs integer number, size and id attributes; the installer skips it', el);
        continue;
      }
      const [number, size, id] = values as number[];
      initialPartitions.push({ number: number!, size: size!, id: id! });
    }
  }

  // parseDisks
  const pd = r.mandatory(r.root, ['primary-disk']) && first(r, ['primary-disk']);
  let preserveFirstPartition: PreserveFirstPartition | undefined = DEFAULTS.preserveFirstPartition;
  let primaryDisk: string | undefined;
  let guestStorage: boolean = DEFAULTS.guestStorage;
  let srAtEnd: boolean = DEFAULTS.srAtEnd;
  const guestDisks: string[] = [];
  if (pd) {
    preserveFirstPartition = r.map<PreserveFirstPartition>(pd, ['preserve-first-partition'],
      { true: 'true', yes: 'true', false: 'false', no: 'false', 'if-utility': 'if-utility' }, 'if-utility');
    if (elementsByTagName(r.root, ['zap-utility-partitions']).length > 0) preserveFirstPartition = 'false';
    primaryDisk = r.disk(pd);
    guestStorage = r.bool(pd, ['guest-storage', 'gueststorage'], DEFAULTS.guestStorage);
    srAtEnd = r.bool(pd, ['sr-at-end'], DEFAULTS.srAtEnd);
  }
  for (const el of elementsByTagName(r.root, ['guest-disk'])) {
    const d = r.disk(el);
    if (d === undefined) continue;
    if (guestDisks.includes(d)) r.warn(`guest disk ${d} is listed more than once`, el);
    else guestDisks.push(d);
  }
  const srType = r.map<SrType>(r.root, ['sr-type', 'srtype'], { lvm: 'lvm', ext: 'ext' }, DEFAULTS.srType);

  const adminInterface = readAdminInterface(r);

  let rootPassword: RootPassword | undefined;
  const pw = first(r, ['root-password']);
  if (pw) {
    const type = r.map<RootPassword['type']>(pw, ['type'], { plaintext: 'plaintext', hash: 'hash' }, DEFAULTS.rootPasswordType);
    if (type) rootPassword = { type, value: r.text(pw) };
    if (type === 'plaintext' && textOf(pw) === '') r.warn('<root-password> is empty: root gets an empty password', pw);
  }

  const nameServers = elementsByTagName(r.root, ['name-server', 'nameserver']).map((el) => r.text(el));
  const hostnameEl = first(r, ['hostname']);
  const timezoneEl = first(r, ['timezone']);
  const ntpServers = elementsByTagName(r.root, ['ntp-server', 'ntp-servers']).map((el) => r.text(el));
  const keymapEl = first(r, ['keymap']);

  const services: Record<string, ServiceState> = {};
  for (const el of elementsByTagName(r.root, ['service'])) {
    const name = r.attr(el, ['name'], true);
    if (name === undefined) continue;
    if (Object.prototype.hasOwnProperty.call(services, name)) {
      r.error(MESSAGES.multipleServiceEntries(name), el);
      continue;
    }
    const state = r.attr(el, ['state'], true);
    if (state === undefined) continue;
    if (state !== 'enabled' && state !== 'disabled') {
      r.error(MESSAGES.invalidServiceState(name, state), el);
      continue;
    }
    services[name] = state;
  }

  if (r.errors.length > before || !primaryDisk || !preserveFirstPartition || !srType || !adminInterface) return undefined;
  return {
    kind: 'install', mode, primaryDisk, guestStorage, srAtEnd, preserveFirstPartition, guestDisks, srType,
    initialPartitions, adminInterface, ...(rootPassword && { rootPassword }), nameServers,
    ...(hostnameEl && { hostname: r.text(hostnameEl) }),
    timezone: timezoneEl ? r.text(timezoneEl) : DEFAULTS.timezone,
    ntpServers, ...(keymapEl && { keymap: r.text(keymapEl) }), services,
  };
}

function readUpgrade(r: Reader): UpgradePart | undefined {
  const ei = r.mandatory(r.root, ['existing-installation'])?.[0];
  const existingInstallation = ei && r.disk(ei);
  const pds = elementsByTagName(r.root, ['primary-disk']);
  if (pds.length > 1) r.warn('<primary-disk> is given more than once; an upgrade then ignores it', pds[1]);
  const primaryDisk = pds.length === 1 ? r.disk(pds[0]!) : undefined;
  if (!existingInstallation) return undefined;
  return { kind: 'install', mode: 'upgrade', existingInstallation, ...(primaryDisk && { primaryDisk }) };
}

function readCommon(r: Reader): CommonPart | undefined {
  const before = r.errors.length;
  const sources: RepoSource[] = [];
  for (const el of r.mandatory(r.root, ['source']) ?? []) {
    const repo = readRepo(r, el, MESSAGES.invalidSourceType);
    if (repo) sources.push(repo);
  }

  let networkBackend: NetworkBackend | undefined;
  const nb = first(r, ['network-backend']);
  if (nb) {
    const v = r.text(nb);
    if (v === 'bridge') networkBackend = 'bridge';
    else r.error(MESSAGES.unsupportedNetworkBackend(v), nb);
  }

  let bootloader: Bootloader = { ...DEFAULTS.bootloader };
  const bl = first(r, ['bootloader']);
  if (bl) {
    const location = r.map<Bootloader['location']>(bl, ['location'], { mbr: 'mbr', partition: 'partition' }, 'mbr');
    const writeBootEntry = r.bool(bl, ['write-boot-entry'], true);
    const name = r.text(bl);
    if (name !== '' && name !== 'grub2') r.error(MESSAGES.unsupportedBootloader(name), bl);
    if (location) bootloader = { location, writeBootEntry };
  }
  if (r.errors.length > before) return undefined;
  return { sources, ...(networkBackend && { networkBackend }), bootloader };
}

const OLD_ATTRIBUTES: [element: string, old: string, current: string][] = [
  ['installation', 'srtype', 'sr-type'], ['upgrade', 'srtype', 'sr-type'], ['primary-disk', 'gueststorage', 'guest-storage'],
];

function warnAboutNames(r: Reader, mode: 'fresh' | 'reinstall' | 'upgrade' | 'restore'): void {
  for (const el of allElements(r.root)) {
    for (const [name, old, current] of OLD_ATTRIBUTES) {
      if (el.name === name && el.attrs[old] !== undefined) r.warn(`attribute ${old} is an old name; write ${current}`, el);
    }
  }
  const unused = new Set<string>(mode === 'restore' ? [...FRESH_ONLY, ...INSTALL_ONLY, 'existing-installation']
    : mode === 'upgrade' ? [...FRESH_ONLY, 'backup-disk'] : ['existing-installation', 'backup-disk']);
  const reported = new Set<string>();
  for (const el of allElements(r.root).slice(1)) {
    if (reported.has(el.name)) continue;
    if (!KNOWN_ELEMENTS.has(el.name)) {
      r.warn(`unknown element <${el.name}> is ignored by the installer`, el);
    } else if (unused.has(el.name)) {
      r.warn(`<${el.name}> is not used ${mode === 'restore' ? 'by a restore' : `when mode is ${mode}`}`, el);
    } else if (OLD_NAMES[el.name]) {
      r.warn(`<${el.name}> is an old name; write ${OLD_NAMES[el.name]}`, el);
    } else continue;
    reported.add(el.name);
  }
}

/** Parse and check an answer file the way the 7.1 installer does. */
export function parseAnswerFile(xml: string, options: ParseOptions = {}): ParseResult {
  const read = readXml(xml);
  if (!read.root) {
    const { line, column, detail } = read.error;
    const message = options.generated ? MESSAGES.generatorMalformed : MESSAGES.malformed;
    return { errors: [{ message, ...(line !== undefined && { line }), ...(column !== undefined && { column }), detail }], warnings: [] };
  }
  const root = read.root;
  const r = new Reader(root);
  if (!['installation', 'upgrade', 'restore'].includes(root.name)) {
    r.error(MESSAGES.unexpectedTopLevel, root);
    return { errors: r.errors, warnings: r.warnings };
  }

  // The installer's order: scripts, then the setup elements, then the operation.
  const scripts = readScripts(r);
  const setup = readSetup(r);

  if (root.name === 'restore') {
    warnAboutNames(r, 'restore');
    const bds = elementsByTagName(root, ['backup-disk']);
    if (bds.length > 1) r.warn('<backup-disk> is given more than once; the installer then ignores it', bds[1]);
    const backupDisk = bds.length === 1 ? r.disk(bds[0]!) : undefined;
    if (r.errors.length) return { errors: r.errors, warnings: r.warnings };
    const config: RestoreConfig = { kind: 'restore', ...(backupDisk && { backupDisk }), ...setup, scripts };
    return { config, errors: [], warnings: r.warnings };
  }

  const mode = attributeOf(root, ['mode']) ?? DEFAULTS.mode;
  if (mode !== 'fresh' && mode !== 'reinstall' && mode !== 'upgrade') {
    r.error(MESSAGES.unknownMode(mode), root);
    return { errors: r.errors, warnings: r.warnings };
  }
  if (root.name === 'upgrade' && mode !== 'upgrade') {
    r.warn(`the root element <upgrade> without mode="upgrade" performs a ${mode} install, not an upgrade`, root);
  }
  warnAboutNames(r, mode);
  const specific = mode === 'upgrade' ? readUpgrade(r) : readFresh(r, mode);
  const common = readCommon(r);
  if (r.errors.length || !specific || !common) return { errors: r.errors, warnings: r.warnings };
  const config = { ...specific, ...common, ...setup, scripts } as InstallConfig;
  return { config, errors: [], warnings: r.warnings };
}

export interface ValidationResult {
  valid: boolean;
  errors: { message: string; line?: number; column?: number; detail?: string }[];
  warnings: string[];
}

/** Convenience for `validate`: errors and warnings, no config. */
export function validateAnswerFile(xml: string, options: ParseOptions = {}): ValidationResult {
  const { errors, warnings } = parseAnswerFile(xml, options);
  return { valid: errors.length === 0, errors, warnings };
}

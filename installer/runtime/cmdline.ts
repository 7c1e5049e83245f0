// The installer's view of the dom0 kernel command line (SPEC section 2, and the
// host-installer's `preinit`/`init` option handling it imitates). Pure: text in,
// a typed value plus warnings and errors out; nothing here throws on bad input.

export type AtExit = 'reboot' | 'poweroff' | 'shell';
export const AT_EXIT_ACTIONS: readonly AtExit[] = ['reboot', 'poweroff', 'shell'];

export type NetworkConfig =
  | { mode: 'dhcp' }
  | { mode: 'static'; ip: string; netmask: string; gateway?: string; dns: string[]; domain?: string };

/** One `map_netdev=ethN:s|d:<target>` pin. `s` = static, `d` = dynamic (host-installer netutil). */
export interface NetdevMapping {
  name: string;
  kind: 'static' | 'dynamic';
  by: 'mac' | 'pci' | 'ppn' | 'label';
  /** MAC lower-cased; pci `SBDF[index]` text; ppn name; label text without quotes */
  value: string;
  raw: string;
}

export interface InstallerCmdline {
  /** `install`: an operation was asked for; without it an answer file is ignored */
  install: boolean;
  /** `answerfile=` or `rt_answerfile=` URL */
  answerfile?: string;
  /** true when the answer file came from `rt_answerfile=` (no TUI, log to stdout) */
  rtAnswerfile: boolean;
  answerfileGenerator?: string;
  /** `answerfile_device=` / `network_device=`: ethN, a MAC or `all` (lower-cased) */
  answerfileDevice: string;
  networkConfig: NetworkConfig;
  atexit: AtExit;
  disableGpt: boolean;
  multipath: boolean;
  useIbft: boolean;
  mapNetdev: NetdevMapping[];
  /** `shell` / `bash-shell`: drop to a shell before the installer */
  shell: boolean;
  /** every `console=` value, in command-line order (the last one is the input console) */
  consoles: string[];
  keymap?: string;
  bootConsole?: string;
  /** arguments the installer does not use (kernel and Xen options, typos) */
  unknown: string[];
}

export interface CmdlineParse {
  cmdline: InstallerCmdline;
  warnings: string[];
  errors: string[];
}

/**
 * Split a kernel command line into arguments. Double quotes keep spaces together.
 * Quotes around a whole argument or a whole value (`a="b c"`) are removed, as the
 * kernel does; quotes inside a value are kept, so `map_netdev=eth0:s:"my nic"`
 * still shows that its target is a label.
 */
export function tokenizeCmdline(text: string): string[] {
  const raw: string[] = [];
  let cur = '';
  let inArg = false;
  let quoted = false;
  for (const ch of text) {
    if (ch === '"') quoted = !quoted;
    if (!quoted && /\s/.test(ch)) {
      if (inArg) raw.push(cur);
      cur = '';
      inArg = false;
    } else {
      cur += ch;
      inArg = true;
    }
  }
  if (inArg) raw.push(cur);
  return raw.map((a) => {
    const m = /^([^="]*=)?"([^"]*)"?$/.exec(a);
    return m ? (m[1] ?? '') + m[2] : a;
  });
}

const ANSWERFILE_SCHEMES = ['http://', 'https://', 'ftp://', 'file://', 'nfs://'];
const MULTIPATH_ON = ['enabled', 'yes', 'true', '1', 'force'];
const MULTIPATH_OFF = ['disabled', 'no', 'false', '0'];
const MAC_RE = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/;
const IPV4_RE = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

export function parseCmdline(text: string): CmdlineParse {
  const warnings: string[] = [];
  const errors: string[] = [];
  const c: InstallerCmdline = {
    install: false,
    rtAnswerfile: false,
    answerfileDevice: 'all',
    networkConfig: { mode: 'dhcp' },
    atexit: 'reboot',
    disableGpt: false,
    multipath: false,
    useIbft: false,
    mapNetdev: [],
    shell: false,
    consoles: [],
    unknown: [],
  };

  const needValue = (key: string, value: string | undefined, what: string): value is string => {
    if (value === undefined || value === '') {
      errors.push(`${key}= needs ${what}.`);
      return false;
    }
    return true;
  };

  for (const arg of tokenizeCmdline(text)) {
    const eq = arg.indexOf('=');
    const key = eq < 0 ? arg : arg.slice(0, eq);
    const value = eq < 0 ? undefined : arg.slice(eq + 1);
    switch (key) {
      case 'install':
        if (value !== undefined) c.unknown.push(arg);
        else c.install = true;
        break;
      case 'answerfile':
      case 'rt_answerfile':
        if (!needValue(key, value, 'a URL')) break;
        if (c.answerfile !== undefined) warnings.push(`${key}=${value} replaces the earlier answer file ${c.answerfile}.`);
        c.answerfile = value;
        c.rtAnswerfile = key === 'rt_answerfile';
        checkUrl(key, value, errors);
        break;
      case 'answerfile_generator':
        if (!needValue(key, value, 'a URL')) break;
        c.answerfileGenerator = value;
        checkUrl(key, value, errors);
        break;
      case 'answerfile_device':
      case 'network_device': {
        if (!needValue(key, value, 'ethN, a MAC address or "all"')) break;
        c.answerfileDevice = value.toLowerCase();
        if (!/^(all|eth\d+)$/.test(c.answerfileDevice) && !MAC_RE.test(c.answerfileDevice)) {
          warnings.push(`${key}=${value}: not ethN, a MAC address or "all"; it is used as an interface name.`);
        }
        break;
      }
      case 'network_config':
        if (!needValue(key, value, '"dhcp" or "static:ip=..;netmask=.."')) break;
        parseNetworkConfig(value, c, warnings, errors);
        break;
      case 'atexit':
        if (value !== undefined && (AT_EXIT_ACTIONS as string[]).includes(value)) c.atexit = value as AtExit;
        else errors.push(`atexit=${value ?? ''}: must be one of ${AT_EXIT_ACTIONS.join(', ')}; using ${c.atexit}.`);
        break;
      case 'disable-gpt':
        c.disableGpt = true;
        break;
      case 'device_mapper_multipath': {
        const v = (value ?? '').toLowerCase();
        if (MULTIPATH_ON.includes(v)) c.multipath = true;
        else if (MULTIPATH_OFF.includes(v)) c.multipath = false;
        else errors.push(`device_mapper_multipath=${value ?? ''}: must be one of ${[...MULTIPATH_ON, ...MULTIPATH_OFF].join(', ')}.`);
        break;
      }
      case 'use_ibft':
        c.useIbft = true;
        break;
      case 'map_netdev': {
        const m = parseMapNetdev(value ?? '');
        if (typeof m === 'string') warnings.push(`map_netdev=${value ?? ''} ignored: ${m}`);
        else c.mapNetdev.push(m);
        break;
      }
      case 'shell':
      case 'bash-shell':
        c.shell = true;
        break;
      case 'console':
        if (needValue(key, value, 'a device such as hvc0, tty0 or ttyS0,115200n8')) c.consoles.push(value);
        break;
      case 'keymap':
        if (needValue(key, value, 'a keymap name such as us')) c.keymap = value;
        break;
      case 'boot-console':
        if (needValue(key, value, 'a console device')) c.bootConsole = value;
        break;
      default:
        c.unknown.push(arg);
    }
  }

  if (c.answerfile !== undefined && c.answerfileGenerator !== undefined) {
    errors.push('Both answerfile and answerfile generator passed on command line.');
  }
  if ((c.answerfile !== undefined || c.answerfileGenerator !== undefined) && !c.install) {
    warnings.push('No operation specified for answerfile - dropping back to interactive mode.');
  }
  return { cmdline: c, warnings, errors };
}

function checkUrl(key: string, url: string, errors: string[]): void {
  if (!ANSWERFILE_SCHEMES.some((s) => url.toLowerCase().startsWith(s))) {
    errors.push(`${key}=${url}: the URL must start with ${ANSWERFILE_SCHEMES.join(', ')}.`);
  } else if (url.toLowerCase().startsWith('nfs://') && !/^nfs:\/\/[^/:]+:\//i.test(url)) {
    errors.push(`${key}=${url}: an NFS location is written nfs://server:/path.`);
  }
}

function parseNetworkConfig(raw: string, c: InstallerCmdline, warnings: string[], errors: string[]): void {
  // host-installer lower-cases the whole value before parsing it
  const value = raw.toLowerCase();
  if (value === 'dhcp') {
    c.networkConfig = { mode: 'dhcp' };
    return;
  }
  if (!value.startsWith('static:')) {
    errors.push(`network_config=${raw}: must be "dhcp" or "static:ip=..;netmask=..[;gateway=..][;dns=a,b][;domain=..]".`);
    return;
  }
  const fields = new Map<string, string>();
  for (const part of value.slice('static:'.length).split(';')) {
    if (!part) continue;
    const eq = part.indexOf('=');
    const k = eq < 0 ? part : part.slice(0, eq);
    const v = eq < 0 ? '' : part.slice(eq + 1);
    if (!['ip', 'netmask', 'gateway', 'dns', 'domain'].includes(k)) {
      warnings.push(`network_config: unknown field "${k}" ignored (known: ip, netmask, gateway, dns, domain).`);
      continue;
    }
    fields.set(k, v);
  }
  const before = errors.length;
  for (const k of ['ip', 'netmask']) {
    if (!fields.get(k)) errors.push(`network_config=${raw}: static configuration needs ${k}=.`);
  }
  for (const k of ['ip', 'netmask', 'gateway']) {
    const v = fields.get(k);
    if (v && !IPV4_RE.test(v)) errors.push(`network_config: ${k}=${v} is not an IPv4 address.`);
  }
  const dns = (fields.get('dns') ?? '').split(',').filter(Boolean);
  for (const d of dns) if (!IPV4_RE.test(d)) errors.push(`network_config: dns server ${d} is not an IPv4 address.`);
  if (errors.length > before) return;
  c.networkConfig = {
    mode: 'static',
    ip: fields.get('ip')!,
    netmask: fields.get('netmask')!,
    ...(fields.get('gateway') ? { gateway: fields.get('gateway') } : {}),
    dns,
    ...(fields.get('domain') ? { domain: fields.get('domain') } : {}),
  };
}

/** `ethN:s|d:<mac | pci(SBDF[index]) | ppn(name) | "label">`; a string result is the reason it is bad. */
export function parseMapNetdev(raw: string): NetdevMapping | string {
  const m = /^(eth\d+):([sd]):(.+)$/.exec(raw);
  if (!m) return 'expected ethN:s|d:<mac|pci(..)|ppn(..)|"label">';
  const [, name, sd, target] = m;
  const kind = sd === 's' ? 'static' : 'dynamic';
  const t = target.toLowerCase();
  if (MAC_RE.test(t)) return { name, kind, by: 'mac', value: t, raw };
  const pci = /^pci\(((?:[0-9a-f]{4}:)?[0-9a-f]{2}:[0-9a-f]{2}\.[0-7])(\[\d+\])?\)$/.exec(t);
  if (pci) return { name, kind, by: 'pci', value: pci[1] + (pci[2] ?? ''), raw };
  const ppn = /^ppn\((em\d+|pci\d+p\d+)\)$/.exec(t);
  if (ppn) return { name, kind, by: 'ppn', value: ppn[1], raw };
  const label = /^"(.+)"$/.exec(target);
  if (label) return { name, kind, by: 'label', value: label[1], raw };
  return `"${target}" is not a MAC address, pci(SBDF[index]), ppn(emN|pciNpM) or a quoted label`;
}

/** Human-readable lines describing what was understood, for the console. */
export function describeCmdline(p: CmdlineParse): string[] {
  const c = p.cmdline;
  const net = c.networkConfig.mode === 'dhcp'
    ? 'dhcp'
    : `static ip=${c.networkConfig.ip} netmask=${c.networkConfig.netmask}` +
      (c.networkConfig.gateway ? ` gateway=${c.networkConfig.gateway}` : '') +
      (c.networkConfig.dns.length ? ` dns=${c.networkConfig.dns.join(',')}` : '') +
      (c.networkConfig.domain ? ` domain=${c.networkConfig.domain}` : '');
  const lines = [
    `  install:              ${c.install ? 'yes' : 'no'}`,
    `  answer file:          ${c.answerfile ?? '-'}${c.rtAnswerfile ? ' (rt_answerfile)' : ''}`,
    `  answer file generator:${c.answerfileGenerator ? ' ' + c.answerfileGenerator : ' -'}`,
    `  answer file device:   ${c.answerfileDevice}`,
    `  network config:       ${net}`,
    `  at exit:              ${c.atexit}`,
    `  disable GPT:          ${c.disableGpt ? 'yes' : 'no'}`,
    `  multipath:            ${c.multipath ? 'enabled' : 'disabled'}`,
    `  use iBFT:             ${c.useIbft ? 'yes' : 'no'}`,
    `  map_netdev:           ${c.mapNetdev.length ? c.mapNetdev.map((m) => `${m.name}=${m.kind}:${m.by}:${m.value}`).join(' ') : '-'}`,
    `  shell:                ${c.shell ? 'yes' : 'no'}`,
    `  consoles:             ${c.consoles.length ? c.consoles.join(' ') : '-'}`,
    `  keymap:               ${c.keymap ?? '-'}`,
    `  boot console:         ${c.bootConsole ?? '-'}`,
    `  other arguments:      ${c.unknown.length ? c.unknown.join(' ') : '-'}`,
  ];
  for (const w of p.warnings) lines.push(`  warning: ${w}`);
  for (const e of p.errors) lines.push(`  error: ${e}`);
  return lines;
}

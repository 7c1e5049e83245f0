// InstallConfig -> answer file text, using the current element names, so that
// parseAnswerFile(generateAnswerFile(c)).config deep-equals c.
import type { AdminInterface, FreshInstallConfig, InstallConfig, RepoSource, UpgradeConfig } from './model.ts';

/** A value the answer-file format cannot carry (the installer strips text, XML forbids control characters). */
export class AnswerFileGenerateError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AnswerFileGenerateError';
  }
}

// XML 1.0 Char production, minus what cannot survive a round trip (a lone CR becomes LF).
const FORBIDDEN = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\r\ufffe\uffff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

function checkChars(what: string, v: string): void {
  if (FORBIDDEN.test(v)) throw new AnswerFileGenerateError(`${what} contains a character an answer file cannot hold`);
}

function escapeText(what: string, v: string): string {
  checkChars(what, v);
  // The installer strips leading and trailing white space from element text.
  if (/^[ \t\n\r\v\f]|[ \t\n\r\v\f]$/.test(v)) throw new AnswerFileGenerateError(`${what} '${v}' starts or ends with white space, which the installer strips`);
  return v.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function escapeAttr(what: string, v: string): string {
  checkChars(what, v);
  // Parsers normalise white space in attribute values, so keep it as references.
  return v.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;')
    .replace(/\t/g, '&#9;').replace(/\n/g, '&#10;');
}

type Attrs = [name: string, value: string | undefined][];

function attributes(name: string, attrs: Attrs): string {
  return attrs.filter(([, v]) => v !== undefined).map(([k, v]) => ` ${k}="${escapeAttr(`${name} ${k}`, v!)}"`).join('');
}

function openTag(name: string, attrs: Attrs, indent = '  '): string {
  return `${indent}<${name}${attributes(name, attrs)}>`;
}

function element(name: string, attrs: Attrs, text?: string, indent = '  '): string {
  if (text === undefined || text === '') return `${indent}<${name}${attributes(name, attrs)}/>`;
  return `${openTag(name, attrs, indent)}${escapeText(`<${name}>`, text)}</${name}>`;
}

function nonEmpty(what: string, v: string): string {
  if (v === '') throw new AnswerFileGenerateError(`${what} must not be empty`);
  return v;
}

function repo(name: string, r: RepoSource): string {
  if (r.type === 'local') {
    if (r.address !== '') throw new AnswerFileGenerateError(`a local <${name}> has no address (got '${r.address}')`);
    return element(name, [['type', 'local']]);
  }
  nonEmpty(`<${name} type="${r.type}"> address`, r.address);
  // A url that is really nfs:// would come back as nfs; say so instead of writing a lie.
  if (r.type === 'url' && r.address.startsWith('nfs://')) throw new AnswerFileGenerateError(`source url '${r.address}' is an NFS location; use type nfs with 'server:/path'`);
  if (r.type === 'nfs' && r.address.startsWith('nfs://')) throw new AnswerFileGenerateError(`nfs address '${r.address}' must be 'server:/path', without nfs://`);
  return element(name, [['type', r.type]], r.address);
}

function adminInterface(a: AdminInterface): string[] {
  if (a.name === undefined && a.hwaddr === undefined) throw new AnswerFileGenerateError("the admin interface needs a name or a hwaddr");
  if (a.proto === 'none' && a.protov6 === 'none') throw new AnswerFileGenerateError('the admin interface needs IPv4 or IPv6');
  if ((a.proto === 'static') !== (a.ipv4 !== undefined)) throw new AnswerFileGenerateError('ipv4 settings go with proto static, and only with it');
  if ((a.protov6 === 'static') !== (a.ipv6 !== undefined)) throw new AnswerFileGenerateError('ipv6 settings go with protov6 static, and only with it');
  if (a.ipv4?.gateway === '' || a.ipv6?.gateway === '') throw new AnswerFileGenerateError('an absent gateway is undefined, not empty');
  if (a.vlan !== undefined && !(Number.isInteger(a.vlan) && a.vlan >= 1 && a.vlan <= 4094)) throw new AnswerFileGenerateError(`VLAN ${a.vlan} is not 1-4094`);
  const attrs: Attrs = [['name', a.name], ['hwaddr', a.hwaddr], ['proto', a.proto], ['protov6', a.protov6 === 'none' ? undefined : a.protov6],
    ['vlan', a.vlan === undefined ? undefined : String(a.vlan)]];
  const children: string[] = [];
  if (a.ipv4) {
    children.push(element('ipaddr', [], nonEmpty('ipv4 address', a.ipv4.address), '    '));
    children.push(element('subnet', [], nonEmpty('ipv4 netmask', a.ipv4.netmask), '    '));
    children.push(element('gateway', [], a.ipv4.gateway ?? '', '    '));
  }
  if (a.ipv6) {
    children.push(element('ipv6', [], nonEmpty('ipv6 address', a.ipv6.address), '    '));
    children.push(element('gatewayv6', [], a.ipv6.gateway ?? '', '    '));
  }
  if (children.length === 0) return [element('admin-interface', attrs)];
  return [openTag('admin-interface', attrs), ...children, '  </admin-interface>'];
}

function setupAndScripts(c: InstallConfig): string[] {
  const lines: string[] = [];
  for (const d of c.driverSources) lines.push(repo('driver-source', d));
  for (const f of c.fcoeInterfaces) {
    if (f.name === undefined && f.hwaddr === undefined) throw new AnswerFileGenerateError('an FCoE interface needs a name or a hwaddr');
    lines.push(element('fcoe-interface', [['name', f.name], ['hwaddr', f.hwaddr], ['dcb', f.dcb ? 'on' : 'off']]));
  }
  if (c.uiConfirmationPrompt) lines.push(element('ui-confirmation-prompt', [], 'yes'));
  for (const s of c.scripts) {
    if (s.stage !== s.stage.toLowerCase() || s.type !== s.type.toLowerCase()) throw new AnswerFileGenerateError(`script stage and type are lower case (got '${s.stage}', '${s.type}')`);
    nonEmpty('script stage', s.stage);
    nonEmpty('script type', s.type);
    if (s.type === 'nfs' && !s.url.startsWith('nfs://')) throw new AnswerFileGenerateError(`an nfs script url starts with nfs:// (got '${s.url}')`);
    lines.push(element('script', [['stage', s.stage], ['type', s.type]], s.url));
  }
  return lines;
}

function common(c: FreshInstallConfig | UpgradeConfig): string[] {
  if (c.sources.length === 0) throw new AnswerFileGenerateError('an installation needs at least one source');
  const lines = c.sources.map((s) => repo('source', s));
  if (c.networkBackend) lines.push(element('network-backend', [], c.networkBackend));
  const b = c.bootloader;
  lines.push(element('bootloader', [['location', b.location], ['write-boot-entry', b.writeBootEntry ? 'true' : 'false']], 'grub2'));
  return lines;
}

function diskName(what: string, d: string): string {
  if (!d.startsWith('/dev/') && !d.startsWith('iscsi:')) throw new AnswerFileGenerateError(`${what} '${d}' must start with /dev/ (the parser adds it)`);
  return d;
}

function fresh(c: FreshInstallConfig): string[] {
  const lines: string[] = [];
  if (c.initialPartitions.length) {
    lines.push('  <initial-partitions>');
    for (const p of c.initialPartitions) {
      for (const v of [p.number, p.size, p.id]) if (!Number.isSafeInteger(v)) throw new AnswerFileGenerateError(`initial partition values are integers (got ${v})`);
      lines.push(element('partition', [['number', String(p.number)], ['size', String(p.size)], ['id', String(p.id)]], undefined, '    '));
    }
    lines.push('  </initial-partitions>');
  }
  lines.push(element('primary-disk', [
    ['guest-storage', c.guestStorage ? 'yes' : 'no'],
    ['sr-at-end', c.srAtEnd ? undefined : 'no'],
    ['preserve-first-partition', c.preserveFirstPartition],
  ], diskName('primary disk', c.primaryDisk)));
  if (new Set(c.guestDisks).size !== c.guestDisks.length) throw new AnswerFileGenerateError('guest disks are listed more than once');
  for (const d of c.guestDisks) lines.push(element('guest-disk', [], diskName('guest disk', d)));
  if (c.keymap !== undefined) lines.push(element('keymap', [], nonEmpty('keymap', c.keymap)));
  if (c.rootPassword) {
    lines.push(element('root-password', [['type', c.rootPassword.type]], c.rootPassword.value));
  }
  lines.push(...adminInterface(c.adminInterface));
  for (const n of c.nameServers) lines.push(element('name-server', [], n));
  if (c.hostname !== undefined) lines.push(element('hostname', [], nonEmpty('hostname', c.hostname)));
  lines.push(element('timezone', [], nonEmpty('timezone', c.timezone)));
  for (const n of c.ntpServers) lines.push(element('ntp-server', [], n));
  for (const [name, state] of Object.entries(c.services)) lines.push(element('service', [['name', nonEmpty('service name', name)], ['state', state]]));
  return lines;
}

/** Write an answer file for `config`. Throws AnswerFileGenerateError for values the format cannot carry. */
export function generateAnswerFile(config: InstallConfig): string {
  const lines = ['<?xml version="1.0" encoding="UTF-8"?>'];
  if (config.kind === 'restore') {
    lines.push('<restore>');
    lines.push(...setupAndScripts(config));
    if (config.backupDisk !== undefined) lines.push(element('backup-disk', [], diskName('backup disk', config.backupDisk)));
    lines.push('</restore>');
    return `${lines.join('\n')}\n`;
  }
  const rootAttrs: Attrs = [['mode', config.mode]];
  if (config.mode !== 'upgrade') rootAttrs.push(['sr-type', config.srType]);
  lines.push(openTag('installation', rootAttrs, ''));
  if (config.mode === 'upgrade') {
    lines.push(element('existing-installation', [], diskName('existing installation', config.existingInstallation)));
    if (config.primaryDisk !== undefined) lines.push(element('primary-disk', [], diskName('primary disk', config.primaryDisk)));
  } else {
    lines.push(...fresh(config));
  }
  lines.push(...common(config));
  lines.push(...setupAndScripts(config));
  lines.push('</installation>');
  return `${lines.join('\n')}\n`;
}

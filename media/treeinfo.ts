// `.treeinfo`: the INI file that names an install repository (SPEC §1). The
// 7.1 installer reads it with Python's ConfigParser, so we accept what that
// accepts (`key = value` or `key: value`, `#`/`;` comment lines, indented
// continuation lines) and write the plain `key = value` form. Pure text code.
import { XsforgeError } from '../core/errors.ts';
import {
  DOM0_MEM_PATTERN, HOST_ARG_PATTERN, SERIAL_BAUD_RATES, SERIAL_PORTS, VCPUS_PATTERN, type BootValues,
} from '../target/boot-args.ts';

export interface TreeinfoSection {
  name: string;
  /** in file order; keys keep their spelling (lookups ignore case, as ConfigParser does) */
  entries: Array<[key: string, value: string]>;
}

/** What formatTreeinfo accepts: entries as ordered pairs or a plain object. */
export interface TreeinfoSectionInput {
  name: string;
  entries: Array<[string, string]> | Record<string, string>;
}

export class TreeinfoError extends XsforgeError {
  constructor(message: string, readonly line?: number, source = '.treeinfo') {
    super(line ? `${source}:${line}: ${message}` : `${source}: ${message}`,
      'a .treeinfo is INI: [section] lines followed by "key = value" lines');
    this.name = 'TreeinfoError';
  }
}

/** Parses `.treeinfo` text; `source` names the file in error messages. */
export function parseTreeinfo(text: string, source = '.treeinfo'): TreeinfoSection[] {
  const sections: TreeinfoSection[] = [];
  let current: TreeinfoSection | undefined;
  let lastEntry: [string, string] | undefined;
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  lines.forEach((raw, i) => {
    const lineNo = i + 1;
    if (/^\s*$/.test(raw)) { lastEntry = undefined; return; }
    if (/^[#;]/.test(raw)) return;
    // An indented line continues the previous value (ConfigParser's rule).
    if (/^\s/.test(raw)) {
      if (!lastEntry) throw new TreeinfoError(`indented line does not continue a value: ${JSON.stringify(raw.trim())}`, lineNo, source);
      lastEntry[1] = lastEntry[1] ? `${lastEntry[1]}\n${raw.trim()}` : raw.trim();
      return;
    }
    const header = /^\[([^\]]+)\]\s*$/.exec(raw);
    if (header) {
      const name = header[1];
      if (sections.some((s) => s.name === name)) throw new TreeinfoError(`section [${name}] appears twice`, lineNo, source);
      current = { name, entries: [] };
      sections.push(current);
      lastEntry = undefined;
      return;
    }
    const kv = /^([^=:]+?)\s*[=:]\s*(.*?)\s*$/.exec(raw);
    if (!kv) throw new TreeinfoError(`expected "[section]" or "key = value", found ${JSON.stringify(raw)}`, lineNo, source);
    if (!current) throw new TreeinfoError(`"${kv[1]}" appears before any [section]`, lineNo, source);
    const key = kv[1];
    if (current.entries.some(([k]) => k.toLowerCase() === key.toLowerCase())) {
      throw new TreeinfoError(`key "${key}" appears twice in [${current.name}]`, lineNo, source);
    }
    lastEntry = [key, kv[2]];
    current.entries.push(lastEntry);
  });
  return sections;
}

/** Writes sections in the given order, one `key = value` per line (SPEC §1 layout). */
export function formatTreeinfo(sections: TreeinfoSectionInput[]): string {
  const names = new Set<string>();
  let out = '';
  for (const section of sections) {
    if (!/^[^\]\r\n]+$/.test(section.name) || section.name !== section.name.trim()) {
      throw new TreeinfoError(`invalid section name ${JSON.stringify(section.name)}`);
    }
    if (names.has(section.name)) throw new TreeinfoError(`section [${section.name}] given twice`);
    names.add(section.name);
    out += `[${section.name}]\n`;
    const entries = Array.isArray(section.entries) ? section.entries : Object.entries(section.entries);
    const keys = new Set<string>();
    for (const [key, value] of entries) {
      if (!/^[^=:\s#;[][^=:\r\n]*$/.test(key) || key !== key.trim()) {
        throw new TreeinfoError(`invalid key ${JSON.stringify(key)} in [${section.name}]`);
      }
      if (keys.has(key.toLowerCase())) throw new TreeinfoError(`key "${key}" given twice in [${section.name}]`);
      keys.add(key.toLowerCase());
      const v = String(value);
      if (/[\r\n]/.test(v) || v !== v.trim()) {
        throw new TreeinfoError(`value of ${section.name}.${key} has a line break or surrounding spaces: ${JSON.stringify(v)}`);
      }
      out += `${key} = ${v}\n`;
    }
  }
  return out;
}

/** A value by section and key (key case-insensitive, like ConfigParser), or undefined. */
export function treeinfoGet(sections: TreeinfoSection[], section: string, key: string): string | undefined {
  const s = sections.find((x) => x.name === section);
  return s?.entries.find(([k]) => k.toLowerCase() === key.toLowerCase())?.[1];
}

/**
 * [xsforge-boot]: what the installed host boots with, from the recipe (xsforge's
 * own section; the product's installer, reading with ConfigParser, ignores it):
 *
 *   [xsforge-boot]
 *   dom0_mem = 1024M,max:1024M      boot.xen.dom0_mem (grub.cfg; the inventory's DOM0_MEM)
 *   dom0_max_vcpus = 1-2            boot.xen.dom0_max_vcpus
 *   xen_extra = loglvl=all          boot.xen.extra, space separated; the key is absent when there are none
 *   serial_port = com1              boot.serial.port (Xen's comN, GRUB's unit N-1)
 *   serial_baud = 115200            boot.serial.baud
 *
 * boot.dom0.extra is not carried: it holds installer arguments (install,
 * answerfile=...). A medium without the section (made before media carried it)
 * gets target/boot-args.ts DEFAULT_BOOT.
 */
export const BOOT_SECTION = 'xsforge-boot';

/** The [xsforge-boot] section of a medium made from a recipe with these boot values. */
export function bootTreeinfoSection(b: BootValues): TreeinfoSectionInput {
  const extra = b.xen.extra ?? [];
  return {
    name: BOOT_SECTION,
    entries: [
      ['dom0_mem', b.xen.dom0_mem],
      ['dom0_max_vcpus', b.xen.dom0_max_vcpus],
      ...(extra.length ? [['xen_extra', extra.join(' ')] as [string, string]] : []),
      ['serial_port', b.serial.port],
      ['serial_baud', String(b.serial.baud)],
    ],
  };
}

/**
 * The boot values a medium names, or undefined when it has no [xsforge-boot].
 * A section with a missing or malformed value throws: it would go onto the
 * installed host's boot line.
 */
export function bootFromTreeinfo(sections: TreeinfoSection[], source = '.treeinfo'): BootValues | undefined {
  if (!sections.some((s) => s.name === BOOT_SECTION)) return undefined;
  const refuse = (what: string) => {
    throw new XsforgeError(`${source}: [${BOOT_SECTION}] ${what}`,
      'the medium is damaged or was not made by xsforge: rebuild it, or remove the section to boot with the defaults');
  };
  const value = (key: string, pattern: string, words: string): string => {
    const v = treeinfoGet(sections, BOOT_SECTION, key);
    if (v === undefined) return refuse(`${key} is missing`);
    if (!new RegExp(pattern).test(v)) refuse(`${key} '${v}' is not ${words}`);
    return v;
  };
  const dom0Mem = value('dom0_mem', DOM0_MEM_PATTERN, 'a Xen dom0_mem value (e.g. 1024M,max:1024M)');
  const vcpus = value('dom0_max_vcpus', VCPUS_PATTERN, 'a count N or a range N-M');
  const extra = (treeinfoGet(sections, BOOT_SECTION, 'xen_extra') ?? '').split(/\s+/).filter(Boolean);
  for (const a of extra) if (!new RegExp(HOST_ARG_PATTERN).test(a)) refuse(`xen_extra '${a}' cannot go on the installed host's grub.cfg (${HOST_ARG_PATTERN})`);
  const port = value('serial_port', `^(${SERIAL_PORTS.join('|')})$`, `one of ${SERIAL_PORTS.join(', ')}`);
  const baud = Number(value('serial_baud', `^(${SERIAL_BAUD_RATES.join('|')})$`, `one of ${SERIAL_BAUD_RATES.join(', ')}`));
  return { serial: { port, baud }, xen: { dom0_mem: dom0Mem, dom0_max_vcpus: vcpus, extra } };
}

// The boot-argument changes an administrator made on a host with xen-cmdline
// (host-tools/xen-cmdline, the product's /opt/xensource/libexec/xen-cmdline):
// the tool edits the installed GRUB entries and records each change in
// XEN_CMDLINE_CONF, one line per key; an upgrade reads that file and applies
// the same edits to the new version's entries, so the change survives. Pure:
// this file and the shell tool implement one rule, and
// tests/integration/xen-cmdline.test.ts checks that they agree.
import { HOST_ARG_PATTERN } from './boot-args.ts';

/** Where xen-cmdline records its changes on a host. */
export const XEN_CMDLINE_CONF = '/etc/xensource/xen-cmdline.conf';

export type CmdlineTarget = 'xen' | 'dom0';

export interface CmdlineEdit {
  target: CmdlineTarget;
  op: 'set' | 'delete';
  /** KEY or KEY=VALUE (set); KEY (delete) */
  arg: string;
}

export class XenCmdlineConfError extends Error {
  constructor(message: string, readonly line: number) {
    super(`${XEN_CMDLINE_CONF} line ${line}: ${message}`);
  }
}

// a plain GRUB word (the installer's rule for the host's arguments; the tool
// checks the same set) that names a key
const ARG = new RegExp(HOST_ARG_PATTERN);
const isArg = (a: string) => ARG.test(a) && !a.startsWith('=');

/** The edits in the file, in order; comments and blank lines skipped. Throws on a line the tool never writes. */
export function parseXenCmdlineConf(text: string): CmdlineEdit[] {
  const edits: CmdlineEdit[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const words = line.split(/\s+/);
    const [target, op, arg] = words;
    if (words.length !== 3 || (target !== 'xen' && target !== 'dom0') || (op !== 'set' && op !== 'delete') || !isArg(arg!)) {
      throw new XenCmdlineConfError(`expected "<xen|dom0> <set|delete> KEY[=VALUE]", found ${JSON.stringify(line)}`, i + 1);
    }
    if (op === 'delete' && arg!.includes('=')) throw new XenCmdlineConfError(`delete takes KEY, not ${JSON.stringify(arg)}`, i + 1);
    edits.push({ target, op, arg: arg! });
  });
  return edits;
}

const keyOf = (word: string) => word.replace(/=.*$/, '');

/**
 * One command line after the edits for `target`: a set replaces the first word
 * with its key in place (dropping later ones) or appends; a delete drops every
 * word with its key.
 */
export function applyCmdlineEdits(args: readonly string[], edits: readonly CmdlineEdit[], target: CmdlineTarget): string[] {
  let out = [...args];
  for (const e of edits) {
    if (e.target !== target) continue;
    const key = keyOf(e.arg);
    let placed = false;
    const next: string[] = [];
    for (const w of out) {
      if (keyOf(w) !== key) { next.push(w); continue; }
      if (e.op === 'set' && !placed) { next.push(e.arg); placed = true; }
    }
    if (e.op === 'set' && !placed) next.push(e.arg);
    out = next;
  }
  return out;
}

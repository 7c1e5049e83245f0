// Kernel module metadata without modinfo/depmod on the build host: the
// `.modinfo` section of a module's ELF file lists `depends=` and `softdep=`,
// which is all we need to copy a module together with the modules it loads.
// Pure: bytes in, values out.

/** The `.modinfo` strings of an ELF64 little-endian kernel module, key → values. */
export function parseModinfo(elf: Buffer): Map<string, string[]> {
  if (elf.length < 64 || elf.readUInt32BE(0) !== 0x7f454c46) throw new Error('not an ELF file');
  if (elf[4] !== 2 || elf[5] !== 1) throw new Error('only 64-bit little-endian ELF modules are supported');
  const shoff = Number(elf.readBigUInt64LE(0x28));
  const shentsize = elf.readUInt16LE(0x3a);
  const shnum = elf.readUInt16LE(0x3c);
  const shstrndx = elf.readUInt16LE(0x3e);
  if (shoff + shnum * shentsize > elf.length || shstrndx >= shnum) throw new Error('ELF section table runs past the end of the file');
  const section = (i: number) => {
    const h = shoff + i * shentsize;
    return { name: elf.readUInt32LE(h), offset: Number(elf.readBigUInt64LE(h + 0x18)), size: Number(elf.readBigUInt64LE(h + 0x20)) };
  };
  const strtab = section(shstrndx);
  const out = new Map<string, string[]>();
  for (let i = 0; i < shnum; i++) {
    const s = section(i);
    const nameStart = strtab.offset + s.name;
    const nameEnd = elf.indexOf(0, nameStart);
    if (elf.toString('latin1', nameStart, nameEnd) !== '.modinfo') continue;
    if (s.offset + s.size > elf.length) throw new Error('.modinfo runs past the end of the file');
    for (const entry of elf.toString('utf8', s.offset, s.offset + s.size).split('\0')) {
      const eq = entry.indexOf('=');
      if (eq <= 0) continue;
      const k = entry.slice(0, eq);
      out.set(k, [...(out.get(k) ?? []), entry.slice(eq + 1)]);
    }
    return out;
  }
  return out;
}

/** Module names as the kernel compares them: `-` and `_` are the same. */
export function moduleName(path: string): string {
  const base = path.slice(path.lastIndexOf('/') + 1);
  return base.replace(/\.ko(\.(xz|zst|gz))?$/, '').replace(/-/g, '_');
}

/** Module names a module needs: `depends=` plus `softdep=` pre/post lists. */
export function moduleDependencies(info: Map<string, string[]>): string[] {
  const deps = new Set<string>();
  for (const d of info.get('depends') ?? []) for (const n of d.split(',')) if (n) deps.add(n.replace(/-/g, '_'));
  for (const s of info.get('softdep') ?? []) {
    for (const w of s.split(/\s+/)) if (w && !w.endsWith(':')) deps.add(w.replace(/-/g, '_'));
  }
  return [...deps].sort();
}

/**
 * Glob under /lib/modules/<release>/ to a matcher: `*` and `?` stay inside one
 * path component, `**` crosses them, `[...]` is a character class; a pattern
 * that names a directory matches everything below it.
 */
export function moduleGlob(pattern: string): (path: string) => boolean {
  let re = '';
  const p = pattern.replace(/\/+$/, '');
  for (let i = 0; i < p.length; i++) {
    const ch = p[i];
    if (ch === '*' && p[i + 1] === '*') {
      re += '.*';
      i++;
    } else if (ch === '*') re += '[^/]*';
    else if (ch === '?') re += '[^/]';
    else if (ch === '[') {
      const end = p.indexOf(']', i + 1);
      if (end < 0) re += '\\[';
      else {
        re += '[' + p.slice(i + 1, end).replace(/\\/g, '\\\\') + ']';
        i = end;
      }
    } else re += ch.replace(/[.+^${}()|\\]/g, '\\$&');
  }
  const rx = new RegExp(`^${re}(/.*)?$`);
  return (path) => rx.test(path);
}

/**
 * The modules to copy: those matching any pattern, plus everything they depend
 * on, transitively. `all` maps each module file (relative path) to its
 * dependency names. Returns sorted relative paths and the patterns that matched
 * nothing (so a caller can call a typo a typo). Pure.
 */
export function moduleClosure(all: Map<string, string[]>, patterns: string[]): { paths: string[]; unmatched: string[]; missing: string[] } {
  const byName = new Map<string, string>();
  for (const path of all.keys()) byName.set(moduleName(path), path);
  const chosen = new Set<string>();
  const unmatched: string[] = [];
  const missing = new Set<string>();
  for (const pat of patterns) {
    const m = moduleGlob(pat);
    let hit = false;
    for (const path of all.keys()) {
      if (m(path)) {
        chosen.add(path);
        hit = true;
      }
    }
    if (!hit) unmatched.push(pat);
  }
  const queue = [...chosen];
  while (queue.length) {
    const path = queue.pop()!;
    for (const dep of all.get(path) ?? []) {
      const dp = byName.get(dep);
      if (!dp) missing.add(dep); // built in, or a softdep on a module this kernel does not have
      else if (!chosen.has(dp)) {
        chosen.add(dp);
        queue.push(dp);
      }
    }
  }
  return { paths: [...chosen].sort(), unmatched, missing: [...missing].sort() };
}

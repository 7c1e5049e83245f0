// rpm's version order, in TypeScript: rpmvercmp() of rpm 4.18 (rpmio/rpmvercmp.c)
// and the epoch:version-release comparison built on it. Pure.
//
// rpmvercmp splits each string into runs of digits or of letters (anything
// else only separates), compares the runs pairwise (numbers numerically, a
// number beats letters, letters by byte order), sorts "~" before everything,
// even the end of the string (1.0~rc1 < 1.0), and "^" after the end of the
// string but before anything else (1.0 < 1.0^git1 < 1.0.1).

const isDigit = (c: string) => c >= '0' && c <= '9';
// rpm's risalpha/risalnum are ASCII-only
const isAlpha = (c: string) => (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
const isAlnum = (c: string) => isDigit(c) || isAlpha(c);

/** -1, 0 or 1 as `a` sorts before, with or after `b` in rpm's version order. */
export function rpmvercmp(a: string, b: string): -1 | 0 | 1 {
  if (a === b) return 0;
  let i = 0;
  let j = 0;
  // '' marks the end of a string, as NUL does in C
  const at = (s: string, k: number) => (k < s.length ? s[k] : '');
  while (i < a.length || j < b.length) {
    while (i < a.length && !isAlnum(a[i]) && a[i] !== '~' && a[i] !== '^') i++;
    while (j < b.length && !isAlnum(b[j]) && b[j] !== '~' && b[j] !== '^') j++;
    const c1 = at(a, i);
    const c2 = at(b, j);
    if (c1 === '~' || c2 === '~') {
      if (c1 !== '~') return 1;
      if (c2 !== '~') return -1;
      i++; j++;
      continue;
    }
    if (c1 === '^' || c2 === '^') {
      if (c1 === '') return -1;
      if (c2 === '') return 1;
      if (c1 !== '^') return 1;
      if (c2 !== '^') return -1;
      i++; j++;
      continue;
    }
    if (c1 === '' || c2 === '') break;
    let e1 = i;
    let e2 = j;
    const numeric = isDigit(c1);
    const inRun = numeric ? isDigit : isAlpha;
    while (e1 < a.length && inRun(a[e1])) e1++;
    while (e2 < b.length && inRun(b[e2])) e2++;
    // a run of the other kind in b: numbers are newer than letters
    if (e2 === j) return numeric ? 1 : -1;
    let s1 = a.slice(i, e1);
    let s2 = b.slice(j, e2);
    if (numeric) {
      s1 = s1.replace(/^0+/, '');
      s2 = s2.replace(/^0+/, '');
      if (s1.length !== s2.length) return s1.length > s2.length ? 1 : -1;
    }
    if (s1 !== s2) return s1 < s2 ? -1 : 1;
    i = e1;
    j = e2;
  }
  if (i >= a.length && j >= b.length) return 0;
  return i >= a.length ? -1 : 1;
}

export interface Evr {
  /** absent: 0 */
  epoch?: number;
  version: string;
  release: string;
}

/** Compares epoch (missing = 0), then version, then release, as rpm orders packages of one name. */
export function compareEvr(a: Evr, b: Evr): -1 | 0 | 1 {
  const ea = a.epoch ?? 0;
  const eb = b.epoch ?? 0;
  if (ea !== eb) return ea < eb ? -1 : 1;
  return rpmvercmp(a.version, b.version) || rpmvercmp(a.release, b.release);
}

/** "[epoch:]version-release" (epoch written only when it is not 0). */
export function formatEvr(e: Evr): string {
  return `${e.epoch ? `${e.epoch}:` : ''}${e.version}-${e.release}`;
}

/** Parses "[epoch:]version-release" (the release is what follows the last "-"). */
export function parseEvr(text: string): Evr {
  const m = /^(?:(\d+):)?(.+)-([^-]+)$/.exec(text);
  if (!m) throw new Error(`"${text}" is not [epoch:]version-release`);
  return { ...(m[1] !== undefined ? { epoch: Number(m[1]) } : {}), version: m[2], release: m[3] };
}

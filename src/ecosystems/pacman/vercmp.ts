/**
 * pacman's version comparison, a port of libalpm's `alpm_pkg_vercmp` (lib/libalpm/version.c,
 * itself adapted from rpm 4.8.1's `rpmvercmp` and `parseEVR`). Versions are
 * `[epoch:]pkgver[-pkgrel]`; there is no tilde rule in alpm (`~` is an ordinary separator; only
 * MSYS2's fork treats it as the epoch mark).
 */

/**
 * Compares two pacman versions: 1 when `a` is newer, -1 when `b` is newer, 0 when equal.
 * Epochs compare first (absent means 0), then pkgver, then pkgrel only when both have one, so
 * `1.5` equals `1.5-1`. Character classes are ASCII (the C locale), so any other byte separates.
 * Pure and total: every string is a version.
 */
export function vercmp(a: string, b: string): -1 | 0 | 1 {
  if (a === b) return 0;
  const x = parseEvr(a);
  const y = parseEvr(b);
  let ret = rpmvercmp(x.epoch, y.epoch);
  if (ret === 0) {
    ret = rpmvercmp(x.version, y.version);
    if (ret === 0 && x.release !== undefined && y.release !== undefined) ret = rpmvercmp(x.release, y.release);
  }
  return ret;
}

type Evr = { epoch: string; version: string; release: string | undefined };

/** `parseEVR`: leading digits then `:` are the epoch; the text after the last `-` is the release. */
function parseEvr(evr: string): Evr {
  let s = 0;
  while (s < evr.length && isDigit(evr.charCodeAt(s))) s++;
  const dash = evr.lastIndexOf('-');
  const se = dash >= s ? dash : -1;
  const end = se < 0 ? evr.length : se;
  const release = se < 0 ? undefined : evr.slice(se + 1);
  if (evr[s] === ':') return { epoch: evr.slice(0, s) || '0', version: evr.slice(s + 1, end), release };
  // Unlike rpm, a missing epoch is always 0.
  return { epoch: '0', version: evr.slice(0, end), release };
}

/**
 * rpm's segment comparison: runs of digits compare numerically (leading zeros ignored), runs of
 * letters compare bytewise, a numeric segment beats an alpha one, different separator lengths
 * decide, and when one string runs out a remaining alpha segment is older (`1.0a < 1.0`) while
 * anything else left over is newer (`1.0.a > 1.0`, `1.0.1 > 1.0`).
 */
function rpmvercmp(a: string, b: string): -1 | 0 | 1 {
  if (a === b) return 0;
  // The C code walks bytes; UTF-8 keeps every non-ASCII byte a separator, as in the C locale.
  const s1 = Buffer.from(a, 'utf8');
  const s2 = Buffer.from(b, 'utf8');
  let one = 0;
  let two = 0;
  let ptr1 = 0;
  let ptr2 = 0;
  while (one < s1.length && two < s2.length) {
    while (one < s1.length && !isAlnum(s1[one])) one++;
    while (two < s2.length && !isAlnum(s2[two])) two++;
    if (one >= s1.length || two >= s2.length) break;
    // Different separator lengths decide (`2___a` > `2_a`).
    if (one - ptr1 !== two - ptr2) return one - ptr1 < two - ptr2 ? -1 : 1;
    ptr1 = one;
    ptr2 = two;
    const isnum = isDigit(s1[ptr1]);
    const inSegment = isnum ? isDigit : isAlpha;
    while (ptr1 < s1.length && inSegment(s1[ptr1])) ptr1++;
    while (ptr2 < s2.length && inSegment(s2[ptr2])) ptr2++;
    // Segments of different types: numeric is newer than alpha.
    if (two === ptr2) return isnum ? 1 : -1;
    if (isnum) {
      while (one < ptr1 && s1[one] === 0x30) one++;
      while (two < ptr2 && s2[two] === 0x30) two++;
      if (ptr1 - one !== ptr2 - two) return ptr1 - one > ptr2 - two ? 1 : -1;
    }
    const rc = Buffer.compare(s1.subarray(one, ptr1), s2.subarray(two, ptr2));
    if (rc !== 0) return rc < 0 ? -1 : 1;
    one = ptr1;
    two = ptr2;
  }
  if (one >= s1.length && two >= s2.length) return 0;
  // "We never want a remaining alpha string to beat an empty string."
  return (one >= s1.length && !isAlpha(s2[two])) || isAlpha(s1[one]) ? -1 : 1;
}

function isDigit(c: number | undefined): boolean {
  return c !== undefined && c >= 0x30 && c <= 0x39;
}

function isAlpha(c: number | undefined): boolean {
  return c !== undefined && ((c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a));
}

function isAlnum(c: number | undefined): boolean {
  return isDigit(c) || isAlpha(c);
}

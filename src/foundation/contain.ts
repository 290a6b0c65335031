/**
 * The one containment rule for every path built from outside input — an upstream's metadata, a
 * lockfile, a URL, a request path. A name is first validated by what its ecosystem allows (npm
 * package names, PEP 503 names and distribution filenames, pacman filenames, OCI names and
 * digests: each ecosystem's `names.ts`); then each segment is checked here to be a plain name —
 * no separator, no `.` or `..`, no NUL or control character, nothing a decoder could still undo —
 * and the joined path is checked to resolve inside the mirror's root. Anything else is an
 * `UnsafeInputError` naming the value, never a file.
 */
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import { UnsafeInputError } from './errors.ts';

// `%` is refused so that no segment can be decoded again into something else (`%2e%2e`, `%2F`).
// eslint-disable-next-line no-control-regex
const UNSAFE = /[/\\\0-\x1f\x7f%]/;

/**
 * True when `segment` is a plain file or directory name: not empty, not `.` or `..`, no `/`,
 * `\`, `%`, NUL or control character, at most 255 bytes. Pure.
 */
export function isSafeSegment(segment: string): boolean {
  return segment !== '' && segment !== '.' && segment !== '..' && !UNSAFE.test(segment) && Buffer.byteLength(segment) <= 255;
}

/**
 * `join(root, ...segments)`, after checking each segment with `isSafeSegment` and the result to
 * lie inside `root`. `what` names the value in the error ("npm package name", "wheel filename").
 * @throws UnsafeInputError naming the offending segment.
 */
export function containedPath(root: string, what: string, ...segments: string[]): string {
  for (const segment of segments) {
    if (!isSafeSegment(segment)) throw new UnsafeInputError(what, segment, 'not a plain file name (separators, "..", "%" and control characters are refused)');
  }
  const path = join(root, ...segments);
  if (!isInside(root, path)) throw new UnsafeInputError(what, segments.join('/'), `leads outside ${root}`);
  return path;
}

/** True when `path` resolves to `root` itself or below it. Pure. */
export function isInside(root: string, path: string): boolean {
  const rel = relative(resolve(root), resolve(path));
  return rel === '' || (!rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel));
}

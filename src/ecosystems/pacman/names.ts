/**
 * What a sync database may name as a path: a package file name (`%FILENAME%`), its entry directory
 * and its `%SHA256SUM%`, checked before they become a pool path (see engine/contain.ts).
 */
import { UnsafeInputError } from '../../foundation/errors.ts';
import { isSafeSegment } from '../../foundation/contain.ts';
import type { PkgDesc } from './types.ts';

// `name-[epoch:]pkgver-pkgrel-arch.pkg.tar[.ext]`: alpm's name characters plus `:` for epochs.
const FILENAME = /^[A-Za-z0-9@_+][A-Za-z0-9@._+:-]*\.pkg\.tar(\.[a-z0-9]+)?$/;
const SHA256 = /^[0-9a-f]{64}$/;

/**
 * The pool segments of a package, `[sha256, filename]`, once its file name, entry directory and
 * digest are what alpm writes: `../../x`, `a/b.pkg.tar.zst`, a hidden file or a digest that is not
 * 64 lowercase hex digits are refused. @throws UnsafeInputError naming the value.
 */
export function poolSegments(pkg: Pick<PkgDesc, 'sha256' | 'filename' | 'entry'>): [string, string] {
  if (!isSafeSegment(pkg.entry) || pkg.entry.startsWith('.')) throw new UnsafeInputError('database entry', pkg.entry, 'not a plain name-version directory');
  if (!isSafeSegment(pkg.filename) || !FILENAME.test(pkg.filename)) throw new UnsafeInputError('%FILENAME%', pkg.filename, 'not a package file name (name-version-release-arch.pkg.tar.*)');
  const sha256 = (pkg.sha256 ?? '').toLowerCase();
  if (!SHA256.test(sha256)) throw new UnsafeInputError('%SHA256SUM%', pkg.sha256 ?? '', 'not 64 hex digits');
  return [sha256, pkg.filename];
}

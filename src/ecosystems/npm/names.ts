/**
 * What npm allows as a package name and a tarball file name, checked before any name from a
 * lockfile, a spec or an upstream packument becomes a path (see engine/contain.ts).
 */
import validate from 'validate-npm-package-name';
import { UnsafeInputError } from '../../foundation/errors.ts';
import { isSafeSegment } from '../../foundation/contain.ts';

/**
 * Refuse a name npm itself would refuse, as npm validates it (`validate-npm-package-name`, old
 * packages' capitals and long names allowed): `a/../../victim`, `..`, `@s/../x`, a name with
 * `%` or a backslash. Returns the name's path segments: `['@s', 'a']` or `['a']`.
 * @throws UnsafeInputError naming the value and npm's reason.
 */
export function packageNameSegments(name: string): string[] {
  const result = validate(name);
  if (!result.validForOldPackages) throw new UnsafeInputError('npm package name', name, result.errors.join('; '));
  const segments = name.split('/');
  if (segments.length > 2 || (segments.length === 2 && !name.startsWith('@')) || !segments.every(isSafeSegment)) {
    throw new UnsafeInputError('npm package name', name, 'not a package name or @scope/name');
  }
  return segments;
}

/**
 * A tarball file name as a registry names it: a plain name ending in `.tgz`, not hidden. The
 * packument beside it is `package.json`, which this never matches.
 * @throws UnsafeInputError naming the value.
 */
export function checkTarballFilename(filename: string, name: string): string {
  if (!isSafeSegment(filename) || filename.startsWith('.') || !filename.endsWith('.tgz')) {
    throw new UnsafeInputError(`tarball file name of ${name}`, filename, 'not a plain file name ending in .tgz');
  }
  return filename;
}

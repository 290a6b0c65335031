/**
 * Project and extra names: PEP 508 validity and PEP 503 normalization; names and file names as
 * path segments (see engine/contain.ts).
 */
import { UnsafeInputError } from '../../foundation/errors.ts';
import { isSafeSegment } from '../../foundation/contain.ts';

// PEP 508 names: letters, digits, `.`, `_`, `-`; starting and ending with a letter or digit.
const NAME = /^([A-Z0-9]|[A-Z0-9][A-Z0-9._-]*[A-Z0-9])$/i;

/** PEP 503: `re.sub(r"[-_.]+", "-", name).lower()`. Pure; any string is accepted. */
export function normalizeName(name: string): string {
  return name.replace(/[-_.]+/g, '-').toLowerCase();
}

/** True when `name` is a valid PEP 508 project (or extra) name. */
export function isValidName(name: string): boolean {
  return NAME.test(name);
}

// A PEP 503 normalized name of a valid PEP 508 name: lowercase letters and digits in runs joined
// by single hyphens.
const NORMALIZED = /^[a-z0-9]+(-[a-z0-9]+)*$/;

/**
 * The normalized name as a path segment: refused unless it is the normalized form of a valid
 * project name (`..`, `a/b`, `-x` are not). @throws UnsafeInputError.
 */
export function projectSegment(normalized: string): string {
  if (!NORMALIZED.test(normalized)) throw new UnsafeInputError('PyPI project name', normalized, 'not a PEP 503 normalized project name');
  return normalized;
}

/**
 * A distribution file name from an index (a wheel, an sdist, or anything else a project ever
 * uploaded) as a path segment: a plain, visible file name. What pip would not install is ignored
 * elsewhere; what could name another path is refused here. @throws UnsafeInputError.
 */
export function distFilename(filename: string): string {
  if (!isSafeSegment(filename) || filename.startsWith('.') || filename.endsWith('.metadata') || filename.endsWith('.partial')) {
    throw new UnsafeInputError('distribution file name', filename, 'not a plain distribution file name');
  }
  return filename;
}

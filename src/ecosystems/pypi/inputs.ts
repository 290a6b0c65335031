/**
 * Reads a Python lockfile (poetry.lock, uv.lock, Pipfile.lock) into the packages it pins. Any other
 * input file is a pip requirements file (`readRequirements`); `isLockfileName` tells them apart.
 */
import { readInput } from '../../foundation/read-input.ts';
import { basename } from 'node:path';
import { InputError } from '../../foundation/errors.ts';
import { parsePipfileLock } from './lockfile-pipfile.ts';
import { parsePoetryLock } from './lockfile-poetry.ts';
import { parseUvLock } from './lockfile-uv.ts';
import type { LockedContents, LockedPackage } from './types.ts';

type Parser = (file: string, text: string) => LockedContents;

const PARSERS = new Map<string, Parser>([
  ['poetry.lock', parsePoetryLock],
  ['uv.lock', parseUvLock],
  ['Pipfile.lock', parsePipfileLock],
]);

/** True when the base name of `file` is a lockfile `readLockedFile` reads. */
export function isLockfileName(file: string): boolean {
  return PARSERS.has(basename(file));
}

/**
 * Parses lockfile text, choosing the format by the base name of `file`, which is used as written in
 * messages and sources. Packages are merged by normalized name and version: files are united, and
 * the package is installed when any of its markers holds (none when one entry has none). Pure.
 * @throws InputError for a file name that is not a known lockfile, or as the format's parser.
 */
export function parseLockedFile(file: string, text: string): LockedContents {
  const parsed = parserFor(file)(file, text);
  return { packages: merge(parsed.packages), notes: parsed.notes };
}

/**
 * Reads and parses a lockfile from disk; see `parseLockedFile`.
 * @throws InputError when the file is missing or unreadable (with the reason), or as `parseLockedFile`.
 */
export async function readLockedFile(file: string): Promise<LockedContents> {
  parserFor(file);
  return parseLockedFile(file, await readInput(file, 'lockfile'));
}

function parserFor(file: string): Parser {
  const parse = PARSERS.get(basename(file));
  if (parse) return parse;
  throw new InputError(file, undefined, 'not a lockfile offline knows: expected poetry.lock, uv.lock or Pipfile.lock');
}

function merge(packages: LockedPackage[]): LockedPackage[] {
  const byKey = new Map<string, LockedPackage>();
  for (const pkg of packages) {
    const key = `${pkg.normalized}@${pkg.version}`;
    const seen = byKey.get(key);
    if (!seen) {
      byKey.set(key, pkg);
      continue;
    }
    const known = new Set(seen.files.map((f) => f.sha256));
    const files = [...seen.files, ...pkg.files.filter((f) => !known.has(f.sha256))];
    const { marker: _dropped, ...rest } = seen;
    const marker = seen.marker && pkg.marker ? joinMarkers(seen.marker, pkg.marker) : undefined;
    byKey.set(key, { ...rest, files, ...(marker ? { marker } : {}) });
  }
  return [...byKey.values()];
}

function joinMarkers(a: string, b: string): string {
  return a === b ? a : `(${a}) or (${b})`;
}

/**
 * Pipfile.lock (pipfile-spec 6): JSON with `_meta` and one object per package category —
 * `default`, `develop`, and any custom category pipenv was asked for — mapping each name to
 * `{version: "==1.2.3", hashes: ["sha256:…"], markers, index}`. Hashes carry no file names.
 */
import { InputError } from '../../foundation/errors.ts';
import { parseMarker } from './markers.ts';
import { normalizeName } from './names.ts';
import type { LockedContents, LockedPackage } from './types.ts';

type Json = Record<string, unknown>;

// Keys that make an entry a VCS checkout, a local path or a direct file/URL: no index serves it.
const NOT_INDEXED = ['git', 'hg', 'svn', 'bzr', 'path', 'file'] as const;

/**
 * Lists the packages a Pipfile.lock pins, from every category. git, path and file entries are
 * reported in `notes` and skipped. Pure.
 * @throws InputError naming the file (and the entry, `default["requests"]`) for invalid JSON or a
 *   malformed entry.
 */
export function parsePipfileLock(file: string, text: string): LockedContents {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new InputError(file, undefined, `invalid JSON: ${(err as Error).message}`, { cause: err });
  }
  if (!isObject(doc)) throw new InputError(file, undefined, 'not a Pipfile.lock: the top level is not an object');
  if (!isObject(doc.default) && !isObject(doc.develop)) {
    throw new InputError(file, undefined, 'not a Pipfile.lock: no "default" or "develop" section');
  }
  const out: LockedContents = { packages: [], notes: [] };
  for (const [category, entries] of Object.entries(doc)) {
    if (category === '_meta') continue;
    if (!isObject(entries)) throw new InputError(file, category, 'not an object');
    for (const [name, entry] of Object.entries(entries)) readEntry(file, category, name, entry, out);
  }
  return out;
}

function readEntry(file: string, category: string, name: string, entry: unknown, out: LockedContents): void {
  const label = `${category}[${JSON.stringify(name)}]`;
  if (!isObject(entry)) throw new InputError(file, label, 'not an object');
  const kind = NOT_INDEXED.find((k) => entry[k] !== undefined);
  if (kind !== undefined) {
    out.notes.push(`${file}: ${label}: a ${kind} entry (${String(entry[kind])}) is not on an index; skipped`);
    return;
  }
  const version = entry.version;
  if (typeof version !== 'string') throw new InputError(file, label, 'no version');
  const pinned = /^===?\s*(\S+)$/.exec(version.trim());
  if (!pinned) throw new InputError(file, label, `version "${version}" is not pinned with ==`);
  const files = readHashes(file, label, entry.hashes, out.notes);
  const marker = entry.markers;
  if (marker !== undefined && typeof marker !== 'string') throw new InputError(file, label, 'markers is not a string');
  if (marker) parseMarker(marker, file, label);
  const locked: LockedPackage = { name, normalized: normalizeName(name), version: pinned[1]!, files, source: `${file}: ${label}` };
  out.packages.push(marker ? { ...locked, marker } : locked);
}

function readHashes(file: string, label: string, hashes: unknown, notes: string[]): LockedPackage['files'] {
  if (hashes === undefined) return [];
  if (!Array.isArray(hashes)) throw new InputError(file, label, 'hashes is not an array');
  const files: LockedPackage['files'] = [];
  for (const hash of hashes) {
    if (typeof hash !== 'string') throw new InputError(file, label, 'a hash is not a string');
    const [algorithm, digest = ''] = hash.split(':', 2);
    if (algorithm !== 'sha256') {
      notes.push(`${file}: ${label}: ${algorithm} hash ignored; offline verifies sha256`);
      continue;
    }
    if (!/^[0-9a-f]{64}$/i.test(digest)) throw new InputError(file, label, `"${hash}" is not a sha256 digest`);
    files.push({ sha256: digest.toLowerCase() });
  }
  return files;
}

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

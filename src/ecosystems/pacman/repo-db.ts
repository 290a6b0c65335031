/**
 * pacman sync databases (alpm-repo-db): a tar archive, usually gzip or zstd compressed, holding a
 * directory `name-ver-rel/` per package with a `desc` file of `%FIELD%` sections (and, in the older
 * format repo-add wrote before pacman 5, a `depends` file; `.files` databases add `files`).
 *
 * The tar itself is read and written by node-tar through foundation/tar.ts (ADR 10); this file
 * knows the database's layout and its `%FIELD%`s.
 */
import { gzipSync } from 'node:zlib';
import { InputError, TooLargeError, describeError } from '../../foundation/errors.ts';
import { decompressSync, detectCompression, readTar, writeTar, type TarMember } from '../../foundation/tar.ts';
import type { PkgDesc, RepoDb } from './types.ts';

/** The default bound on a decompressed database (`limits.unpacked`): Arch's `extra` is ~50 MB. */
export const DEFAULT_UNPACKED_LIMIT = 128 * 1024 * 1024;

/**
 * Reads a sync database: every `name-ver-rel/` directory becomes a {@link PkgDesc} carrying its files
 * byte for byte, in archive order. Unknown `%FIELD%`s are ignored, an unparsable `%CSIZE%` is left out,
 * a missing `%ARCH%` reads as `''`. Nothing past `limit` bytes is decompressed. Pure.
 * @param repo the repository name recorded on each package.
 * @param source where the bytes came from (a URL or path), named in every error.
 * @throws InputError naming `source` for unsupported compression (xz, bzip2), corrupt compressed
 *   data, data that is not a tar archive or is truncated, and (naming the entry too) a package
 *   without `%FILENAME%`, `%NAME%` or `%VERSION%`; TooLargeError past `limit` (`limits.unpacked`).
 */
export function parseRepoDb(bytes: Buffer, repo: string, source: string, limit = DEFAULT_UNPACKED_LIMIT): RepoDb {
  const what = detectCompression(bytes);
  if (what === 'xz' || what === 'bzip2') {
    throw new InputError(source, undefined, `cannot read the pacman database: it is ${what}-compressed; only gzip and zstd databases are supported (rebuild it with repo-add as NAME.db.tar.gz or NAME.db.tar.zst)`);
  }
  const bound = { limit, limitKey: 'limits.unpacked', what: what === 'none' ? 'the pacman database' : 'the decompressed pacman database' };
  let tar: Buffer;
  try {
    tar = decompressSync(bytes, what, bound);
  } catch (err) {
    if (err instanceof TooLargeError) throw err;
    throw new InputError(source, undefined, `cannot read the pacman database: ${describeError(err)}`, { cause: err });
  }
  const members = readTar(tar, { ...bound, name: source, keep: (path, type) => dbPlace(path, type) !== undefined });
  const packages = [...byEntry(members)].map(([entry, files]) => toPkgDesc(repo, entry, files, source));
  return { repo, packages };
}

/**
 * Builds a gzip-compressed database holding exactly `packages`: each `entry/` directory and its
 * `files` byte for byte, as `repo-add` would for that subset. Deterministic (entries sorted by name,
 * mtime 0, uid/gid 0 as root, mode 0644 files and 0755 directories, headers encoded by node-tar,
 * gzip level 9), so equal input gives equal bytes. Pure.
 * @throws Error when two packages share an entry name or a package has no `desc` file.
 */
export function writeRepoDb(packages: PkgDesc[]): Buffer {
  const items: Array<{ path: string; data?: Buffer }> = [];
  const seen = new Set<string>();
  for (const pkg of packages) {
    if (seen.has(pkg.entry)) throw new Error(`writeRepoDb: duplicate database entry ${pkg.entry}`);
    if (!pkg.files['desc']) throw new Error(`writeRepoDb: ${pkg.entry} has no desc file`);
    seen.add(pkg.entry);
    items.push({ path: `${pkg.entry}/` });
    for (const [name, data] of Object.entries(pkg.files)) items.push({ path: `${pkg.entry}/${name}`, data });
  }
  items.sort((a, b) => Buffer.compare(Buffer.from(a.path), Buffer.from(b.path)));
  return gzipSync(writeTar(items), { level: 9 });
}

// --- layout ---------------------------------------------------------------------------------

/** Where a member sits: `entry/` (a directory) or `entry/file` (a file); undefined for anything else. */
function dbPlace(path: string, type: TarMember['type']): [entry: string, file?: string] | undefined {
  const parts = path.replace(/^(\.?\/)+/, '').split('/').filter((p) => p !== '');
  const [entry, file] = parts;
  if (entry === undefined || parts.length > 2) return undefined;
  if (file === undefined) return type === 'directory' ? [entry] : undefined;
  return type === 'file' ? [entry, file] : undefined;
}

/** Every `entry/` directory and the files directly inside it, in archive order. */
function byEntry(members: TarMember[]): Map<string, Record<string, Buffer>> {
  const entries = new Map<string, Record<string, Buffer>>();
  for (const member of members) {
    const [entry, file] = dbPlace(member.path, member.type) ?? [];
    if (entry === undefined) continue;
    const files = entries.get(entry) ?? {};
    entries.set(entry, files);
    if (file !== undefined) files[file] = member.data;
  }
  return entries;
}

// --- desc -----------------------------------------------------------------------------------

function toPkgDesc(repo: string, entry: string, files: Record<string, Buffer>, source: string): PkgDesc {
  // Older databases keep the relations in `depends`; alpm reads both files the same way.
  const fields = new Map<string, string[]>();
  for (const name of ['desc', 'depends']) {
    const data = files[name];
    if (data) parseSections(data.toString('utf8'), fields);
  }
  const first = (key: string): string | undefined => fields.get(key)?.[0];
  const required = (key: string): string => {
    const value = first(key);
    if (!value) throw new InputError(source, entry, `database entry has no %${key}%`);
    return value;
  };
  const csize = first('CSIZE');
  const pkg: PkgDesc = {
    repo,
    filename: required('FILENAME'),
    name: required('NAME'),
    version: required('VERSION'),
    arch: first('ARCH') ?? '',
    depends: fields.get('DEPENDS') ?? [],
    provides: fields.get('PROVIDES') ?? [],
    groups: fields.get('GROUPS') ?? [],
    entry,
    files,
  };
  const base = first('BASE');
  if (base) pkg.base = base;
  if (csize && /^\d+$/.test(csize)) pkg.csize = Number(csize);
  const sha256 = first('SHA256SUM');
  if (sha256) pkg.sha256 = sha256;
  const pgpsig = first('PGPSIG');
  if (pgpsig) pkg.pgpsig = pgpsig;
  return pkg;
}

/**
 * alpm's reading of `desc` (be_sync.c `sync_db_read`): a `%KEY%` line starts a section whose
 * values are the following lines up to a blank one; anything outside a section is skipped.
 */
function parseSections(text: string, into: Map<string, string[]>): void {
  let values: string[] | undefined;
  for (const raw of text.split('\n')) {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (values) {
      if (line === '') values = undefined;
      else values.push(line);
      continue;
    }
    const key = /^%([A-Z0-9_]+)%$/.exec(line)?.[1];
    if (key === undefined) continue;
    values = into.get(key) ?? [];
    into.set(key, values);
  }
}

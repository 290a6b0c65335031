/**
 * pacman sync databases (alpm-repo-db): a tar archive, usually gzip or zstd compressed, holding a
 * directory `name-ver-rel/` per package with a `desc` file of `%FIELD%` sections (and, in the older
 * format repo-add wrote before pacman 5, a `depends` file; `.files` databases add `files`).
 *
 * The tar code is our own and small on purpose: the `tar` package is a dev dependency only, and a
 * database needs just ustar, GNU long names and pax paths to be read, and plain ustar to be written.
 */
import { gunzipSync, gzipSync, zstdDecompressSync } from 'node:zlib';
import { InputError, TooLargeError, describeError } from '../../foundation/errors.ts';
import type { PkgDesc, RepoDb } from './types.ts';

export type Compression = 'gzip' | 'zstd' | 'xz' | 'bzip2' | 'none';

/** The compression of `bytes` by its magic number; anything unrecognised is `none`. Pure. */
export function detectCompression(bytes: Buffer): Compression {
  if (startsWith(bytes, [0x1f, 0x8b])) return 'gzip';
  if (startsWith(bytes, [0x28, 0xb5, 0x2f, 0xfd])) return 'zstd';
  if (startsWith(bytes, [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00])) return 'xz';
  // `BZh` and the block size, 1 to 9.
  if (startsWith(bytes, [0x42, 0x5a, 0x68]) && (bytes[3] ?? 0) >= 0x31 && (bytes[3] ?? 0) <= 0x39) return 'bzip2';
  return 'none';
}

/** The default bound on a decompressed database (`limits.unpacked`): Arch's `extra` is ~50 MB. */
export const DEFAULT_UNPACKED_LIMIT = 128 * 1024 * 1024;

/**
 * Decompresses `bytes` compressed as `what` (`none` returns them as they are), never past `limit`
 * bytes of output, so a small bomb cannot exhaust memory. Pure.
 * @throws TooLargeError past the limit; Error for xz and bzip2, which are not supported, and for
 *   corrupt or truncated input.
 */
export function decompress(bytes: Buffer, what: Compression, limit = DEFAULT_UNPACKED_LIMIT): Buffer {
  try {
    switch (what) {
      case 'gzip': return gunzipSync(bytes, { maxOutputLength: limit });
      case 'zstd': return zstdDecompressSync(bytes, { maxOutputLength: limit });
      case 'none':
        if (bytes.length > limit) throw new TooLargeError('the pacman database', limit, 'limits.unpacked');
        return bytes;
      default:
        throw new Error(`the database is ${what}-compressed; only gzip and zstd databases are supported (rebuild it with repo-add as NAME.db.tar.gz or NAME.db.tar.zst)`);
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') throw new TooLargeError('the decompressed pacman database', limit, 'limits.unpacked');
    throw err;
  }
}

/**
 * Reads a sync database: every `name-ver-rel/` directory becomes a {@link PkgDesc} carrying its files
 * byte for byte, in archive order. Unknown `%FIELD%`s are ignored, an unparsable `%CSIZE%` is left out,
 * a missing `%ARCH%` reads as `''`. Pure.
 * @param repo the repository name recorded on each package.
 * @param source where the bytes came from (a URL or path), named in every error.
 * @throws InputError naming `source` for unsupported compression, data that is not a tar archive or
 *   is truncated, and (naming the entry too) a package without `%FILENAME%`, `%NAME%` or `%VERSION%`.
 */
export function parseRepoDb(bytes: Buffer, repo: string, source: string, limit = DEFAULT_UNPACKED_LIMIT): RepoDb {
  const what = detectCompression(bytes);
  let tar: Buffer;
  try {
    tar = decompress(bytes, what, limit);
  } catch (err) {
    if (err instanceof TooLargeError) throw err;
    throw new InputError(source, undefined, `cannot read the pacman database: ${describeError(err)}`, { cause: err });
  }
  const entries = readTar(tar, source);
  const packages = [...entries].map(([entry, files]) => toPkgDesc(repo, entry, files, source));
  return { repo, packages };
}

/**
 * Builds a gzip-compressed database holding exactly `packages`: each `entry/` directory and its
 * `files` byte for byte, as `repo-add` would for that subset. Deterministic (ustar, entries sorted
 * by name, mtime 0, uid/gid 0 as root, mode 0644 files and 0755 directories), so equal input gives
 * equal bytes. Pure.
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
  const blocks = items.flatMap((item) => tarEntry(item.path, item.data));
  // The end of the archive: two zero blocks.
  blocks.push(Buffer.alloc(1024));
  return gzipSync(Buffer.concat(blocks), { level: 9 });
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

// --- tar ------------------------------------------------------------------------------------

const BLOCK = 512;

/** Every `entry/` directory of the archive and the regular files directly inside it. */
function readTar(tar: Buffer, source: string): Map<string, Record<string, Buffer>> {
  const fail = (message: string): never => {
    throw new InputError(source, undefined, `${message}; the pacman database is damaged or not a database at all`);
  };
  const entries = new Map<string, Record<string, Buffer>>();
  let longName: string | undefined;
  let pax: Record<string, string> = {};
  let off = 0;
  // Even an empty database (repo-add's `-T /dev/null`) is two zero blocks, never zero bytes.
  if (tar.length < BLOCK) fail(`not a tar archive (${tar.length} bytes)`);
  while (off < tar.length) {
    if (off + BLOCK > tar.length) fail(`truncated tar archive: ${tar.length - off} stray bytes at offset ${off}`);
    const header = tar.subarray(off, off + BLOCK);
    if (header.every((b) => b === 0)) break;
    if (!checksumOk(header)) fail(off === 0 ? 'not a tar archive' : `corrupt tar header at offset ${off}`);
    const size = pax['size'] !== undefined ? Number(pax['size']) : readNumber(header.subarray(124, 136));
    if (!Number.isSafeInteger(size) || size < 0) fail(`corrupt tar header at offset ${off}: bad size`);
    const start = off + BLOCK;
    if (start + size > tar.length) fail(`truncated tar archive: ${start + size - tar.length} bytes missing at the end`);
    const data = tar.subarray(start, start + size);
    off = start + Math.ceil(size / BLOCK) * BLOCK;
    const type = String.fromCharCode(header[156] ?? 0);
    if (type === 'L') longName = cString(data);
    else if (type === 'x') pax = parsePax(data);
    else if (type === 'g' || type === 'K') continue;
    else {
      addMember(entries, pax['path'] ?? longName ?? headerName(header), type, data);
      longName = undefined;
      pax = {};
    }
  }
  return entries;
}

function addMember(entries: Map<string, Record<string, Buffer>>, path: string, type: string, data: Buffer): void {
  const parts = path.replace(/^(\.?\/)+/, '').split('/').filter((p) => p !== '');
  const [entry, file] = parts;
  if (entry === undefined || parts.length > 2) return;
  const isFile = type === '0' || type === '\0' || type === '7';
  if (file === undefined ? type !== '5' : !isFile) return;
  const files = entries.get(entry) ?? {};
  entries.set(entry, files);
  if (file !== undefined) files[file] = Buffer.from(data);
}

function headerName(header: Buffer): string {
  const name = cString(header.subarray(0, 100));
  // POSIX ustar splits long paths into prefix and name; old GNU headers use that space otherwise.
  const posix = header.subarray(257, 263).equals(Buffer.from('ustar\0', 'latin1'));
  const prefix = posix ? cString(header.subarray(345, 500)) : '';
  return prefix ? `${prefix}/${name}` : name;
}

function checksumOk(header: Buffer): boolean {
  const stored = readNumber(header.subarray(148, 156));
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < BLOCK; i++) {
    const b = i >= 148 && i < 156 ? 0x20 : (header[i] ?? 0);
    unsigned += b;
    signed += b > 127 ? b - 256 : b;
  }
  return stored === unsigned || stored === signed;
}

/** An octal field, or GNU's base-256 form when the high bit of the first byte is set. */
function readNumber(field: Buffer): number {
  if (((field[0] ?? 0) & 0x80) !== 0) {
    return field.subarray(1).reduce((n, b) => n * 256 + b, (field[0] ?? 0) & 0x7f);
  }
  const text = field.toString('latin1').replace(/[\0 ]+$/, '').replace(/^ +/, '');
  return /^[0-7]*$/.test(text) ? parseInt(text || '0', 8) : NaN;
}

function cString(bytes: Buffer): string {
  const nul = bytes.indexOf(0);
  return bytes.subarray(0, nul < 0 ? bytes.length : nul).toString('utf8');
}

/** pax extended header records: `LEN key=value\n`, LEN counting the whole record. */
function parsePax(data: Buffer): Record<string, string> {
  const out: Record<string, string> = {};
  let off = 0;
  while (off < data.length) {
    const space = data.indexOf(0x20, off);
    const len = space < 0 ? NaN : Number(data.subarray(off, space).toString('latin1'));
    if (!Number.isSafeInteger(len) || len <= 0) break;
    const record = data.subarray(space + 1, off + len - 1).toString('utf8');
    const eq = record.indexOf('=');
    if (eq > 0) out[record.slice(0, eq)] = record.slice(eq + 1);
    off += len;
  }
  return out;
}

/** One member: a pax header first when the path does not fit ustar's 100-byte name field. */
function tarEntry(path: string, data: Buffer | undefined): Buffer[] {
  const blocks: Buffer[] = [];
  const name = Buffer.from(path, 'utf8');
  if (name.length > 100) {
    const record = paxRecord('path', path);
    blocks.push(tarHeader(Buffer.from('PaxHeader'), 'x', record.length), pad(record));
  }
  // With a pax path, the ustar name is only a fallback for old readers: its first 100 bytes.
  blocks.push(tarHeader(name.subarray(0, 100), data ? '0' : '5', data?.length ?? 0));
  if (data) blocks.push(pad(data));
  return blocks;
}

function tarHeader(name: Buffer, type: '0' | '5' | 'x', size: number): Buffer {
  const h = Buffer.alloc(BLOCK);
  const put = (at: number, text: string): void => {
    h.write(text, at, 'latin1');
  };
  const octal = (at: number, len: number, n: number): void => put(at, `${n.toString(8).padStart(len - 1, '0')}\0`);
  name.copy(h, 0);
  octal(100, 8, type === '5' ? 0o755 : 0o644);
  octal(108, 8, 0);
  octal(116, 8, 0);
  octal(124, 12, size);
  octal(136, 12, 0);
  put(156, type);
  put(257, 'ustar\x0000');
  put(265, 'root');
  put(297, 'root');
  octal(329, 8, 0);
  octal(337, 8, 0);
  h.fill(0x20, 148, 156);
  const sum = h.reduce((n, b) => n + b, 0);
  put(148, `${sum.toString(8).padStart(6, '0')}\0 `);
  return h;
}

function paxRecord(key: string, value: string): Buffer {
  const body = ` ${key}=${value}\n`;
  const bodyLen = Buffer.byteLength(body);
  let len = bodyLen + 1;
  while (String(len).length + bodyLen !== len) len = String(len).length + bodyLen;
  return Buffer.from(`${len}${body}`);
}

function pad(data: Buffer): Buffer {
  const rest = data.length % BLOCK;
  return rest === 0 ? data : Buffer.concat([data, Buffer.alloc(BLOCK - rest)]);
}

function startsWith(bytes: Buffer, magic: number[]): boolean {
  return bytes.length >= magic.length && magic.every((b, i) => bytes[i] === b);
}

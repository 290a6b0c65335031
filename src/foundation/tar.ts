/**
 * Tar archives through node-tar (`tar`): its `Parser` reads ustar, GNU long names and pax
 * headers, its `Header` and `Pax` encode them. What is ours is the bound and the errors: every
 * reader here stops at `limit` bytes of tar, keeps only the members asked for, and throws only
 * `InputError` (naming the archive) or `TooLargeError`. Decompression is node:zlib's, bounded the
 * same way, not the Parser's: the Parser's own bound is a ratio, and it buffers whatever follows
 * the end of the archive.
 */
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip, gunzipSync, zstdDecompressSync } from 'node:zlib';
import { Header, Parser, Pax, type ReadEntry } from 'tar';
import { InputError, TooLargeError, describeError, isOfflineError } from './errors.ts';

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

/** How far an archive may unpack: `limit` bytes; `what` and `limitKey` name it in `TooLargeError`. */
export type UnpackLimit = { limit: number; limitKey: string; what: string };

/**
 * `bytes` decompressed (`none`: as they are), never past `limit` bytes of output, so a small bomb
 * cannot exhaust memory. Pure.
 * @throws TooLargeError past the limit; zlib's Error for corrupt or truncated data.
 */
export function decompressSync(bytes: Buffer, what: 'gzip' | 'zstd' | 'none', bound: UnpackLimit): Buffer {
  const tooLarge = (): TooLargeError => new TooLargeError(bound.what, bound.limit, bound.limitKey);
  if (what === 'none') {
    if (bytes.length > bound.limit) throw tooLarge();
    return bytes;
  }
  try {
    return what === 'gzip' ? gunzipSync(bytes, { maxOutputLength: bound.limit }) : zstdDecompressSync(bytes, { maxOutputLength: bound.limit });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') throw tooLarge();
    throw err;
  }
}

/** A regular file (its bytes) or a directory (no bytes) read from a tar archive. */
export type TarMember = { path: string; type: 'file' | 'directory'; data: Buffer };

export type TarReadOptions = UnpackLimit & {
  /** The archive (a path or URL), named in every `InputError`. */
  name: string;
  /** Which members to keep; the others are skipped as they stream by, never held. */
  keep(path: string, type: TarMember['type']): boolean;
  /** Stop reading at the first member kept. */
  first?: boolean;
};

/**
 * The members `keep` selects from an uncompressed tar archive, byte for byte, in archive order.
 * Pure. An archive of nothing but its end (two zero blocks) has no members.
 * @throws InputError naming `opts.name` for data that is not tar, a corrupt header or a truncated
 *   archive; TooLargeError when its headers or bytes pass `opts.limit`.
 */
export function readTar(tar: Buffer, opts: TarReadOptions): TarMember[] {
  const reader = tarReader(opts);
  reader.write(tar);
  reader.end();
  return reader.members;
}

/**
 * The members `keep` selects from a gzip'd tar read as a stream: the gunzipped bytes go to the
 * parser as they come, never more than `opts.limit` of them, and with `opts.first` reading stops
 * (and `body` is destroyed) at the first member kept.
 * @throws as {@link readTar}, plus InputError for data that is not gzip; errors of `body` itself
 *   (a reset connection) as they are.
 */
export async function readTarGz(body: Readable, opts: TarReadOptions): Promise<TarMember[]> {
  const reader = tarReader(opts);
  try {
    await pipeline(body, createGunzip(), async (tar: AsyncIterable<Buffer>) => {
      for await (const chunk of tar) {
        reader.write(chunk);
        if (reader.done) return;
      }
      reader.end();
    });
  } catch (err) {
    // Returning early from the last stage aborts the pipeline: that is how reading stops.
    if (reader.done) return reader.members;
    if (isOfflineError(err) || !/^Z_/.test(String((err as NodeJS.ErrnoException).code))) throw err;
    throw new InputError(opts.name, undefined, `not a readable gzip stream: ${describeError(err)}`, { cause: err });
  }
  return reader.members;
}

/** `done` once the first member asked for is read, or the archive's end is: the rest is not read. */
type TarReader = { write(chunk: Buffer): void; end(): void; readonly members: TarMember[]; readonly done: boolean };

const MEMBER_TYPES: Partial<Record<string, TarMember['type']>> = { File: 'file', OldFile: 'file', ContiguousFile: 'file', Directory: 'directory' };

/**
 * node-tar's Parser fed chunk by chunk. Everything it does happens inside `write` and `end`, and
 * its errors (strict: every warning is one) are thrown from there as ours.
 */
function tarReader(opts: TarReadOptions): TarReader {
  const members: TarMember[] = [];
  const fail = (message: string, cause?: unknown): never => {
    throw new InputError(opts.name, undefined, message, cause === undefined ? undefined : { cause });
  };
  const tooLarge = (): TooLargeError => new TooLargeError(opts.what, opts.limit, opts.limitKey);
  let written = 0;
  let declared = 0;
  let head = Buffer.alloc(0);
  let sniffed = false;
  let headerSeen = false;
  let endSeen = false;
  let stopped = false;
  let last: string | undefined;

  // zstd and brotli sniffing off; gzip sniffing cannot be, so write() refuses gzip'd "tar" below.
  const parser = new Parser({ strict: true, zstd: false, brotli: false, onReadEntry });
  parser.on('meta', () => { headerSeen = true; });
  parser.on('ignoredEntry', () => { headerSeen = true; });
  parser.on('eof', () => { endSeen = true; });
  parser.on('error', (err: Error & { tarCode?: string }) => {
    if (stopped) return;
    const message = err.message.replace(/^TAR_[A-Z_]+: /, '');
    const bad = err.tarCode === 'TAR_BAD_ARCHIVE';
    if (bad && /^Truncated input/.test(message)) fail(`truncated tar archive: ${message.replace(/^Truncated input /, '')}`, err);
    // An archive of two zero blocks and nothing else is empty, not "unrecognized".
    if (bad && endSeen && !headerSeen) return;
    if (!headerSeen && (bad || err.tarCode === 'TAR_ENTRY_INVALID')) fail('not a tar archive', err);
    if (err.tarCode === 'TAR_ENTRY_INVALID') fail(`corrupt tar header after ${last ?? 'the first headers'}: ${message}`, err);
    fail(`cannot read the tar archive: ${message}`, err);
  });

  function onReadEntry(entry: ReadEntry): void {
    if (stopped) return void entry.resume();
    headerSeen = true;
    last = entry.path;
    declared += 512 + entry.size;
    if (declared > opts.limit) throw tooLarge();
    const type = MEMBER_TYPES[entry.type];
    if (!type || !opts.keep(entry.path, type)) return void entry.resume();
    const chunks: Buffer[] = [];
    entry.on('data', (chunk: Buffer) => chunks.push(chunk));
    entry.on('end', () => {
      members.push({ path: entry.path, type, data: Buffer.concat(chunks) });
      if (opts.first) stopped = true;
    });
  }

  function feed(chunk: Buffer): void {
    if (!sniffed) {
      head = Buffer.concat([head, chunk]);
      if (head.length < 2) return;
      chunk = head;
      sniffed = true;
      if (detectCompression(chunk) === 'gzip') fail('not a tar archive (gzip-compressed data inside)');
    }
    parser.write(chunk);
  }

  return {
    write(chunk) {
      // Past the end the Parser would only buffer what follows (it copies it on every write).
      if (stopped || endSeen) return;
      written += chunk.length;
      if (written > opts.limit) throw tooLarge();
      feed(chunk);
    },
    end() {
      if (stopped) return;
      if (!sniffed) parser.write(head);
      parser.end();
      // The Parser leaves a partial last block unread; alpm (libarchive) calls that truncated.
      if (!endSeen && written % 512 !== 0) fail(`truncated tar archive: ${written % 512} stray bytes at the end`);
    },
    members,
    get done() {
      return stopped || endSeen;
    },
  };
}

/** A member to write: a directory when it has no `data` (its path ends with `/`). */
export type TarEntry = { path: string; data?: Buffer };

const EPOCH = new Date(0);

/**
 * An uncompressed tar archive of `entries` in the order given, ending with two zero blocks. The
 * same input gives the same bytes: mtime 0, owner root (0/0), mode 0644 for files and 0755 for
 * directories; ustar headers, with a pax header first for a path ustar cannot hold (both encoded by
 * node-tar). Pure.
 */
export function writeTar(entries: TarEntry[]): Buffer {
  const blocks: Buffer[] = [];
  for (const { path, data } of entries) {
    const header = new Header({
      path, type: data ? 'File' : 'Directory', size: data?.length ?? 0, mode: data ? 0o644 : 0o755,
      uid: 0, gid: 0, uname: 'root', gname: 'root', mtime: EPOCH,
    });
    const block = Buffer.alloc(512);
    if (header.encode(block, 0)) blocks.push(new Pax({ path }).encode());
    blocks.push(block);
    if (data) blocks.push(data, Buffer.alloc((512 - (data.length % 512)) % 512));
  }
  blocks.push(Buffer.alloc(1024));
  return Buffer.concat(blocks);
}

function startsWith(bytes: Buffer, magic: number[]): boolean {
  return bytes.length >= magic.length && magic.every((b, i) => bytes[i] === b);
}

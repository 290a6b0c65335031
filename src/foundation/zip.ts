/**
 * Zip archives through yauzl, read by ranges: the end of central directory, the central
 * directory, one local header and one member's data, nothing else. The same code reads a file on
 * disk, a buffer, or a remote file by HTTP range requests (pip's "lazy wheel" trick). What is ours
 * is the bound (a member's stored and inflated size, `limit`) and the errors: only `InputError`
 * (naming the archive) and `TooLargeError` are thrown, besides the source's own errors.
 */
import { open } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { RandomAccessReader, fromRandomAccessReaderPromise, getFileNameLowLevel, type Entry, type ZipFile } from 'yauzl';
import { InputError, TooLargeError, describeError, isOfflineError } from './errors.ts';

/**
 * Bytes by range. `read(start, end)` gives the bytes from `start` up to `end` (exclusive), fewer
 * only past `size`.
 */
export type ByteSource = { size: number; read(start: number, end: number): Promise<Buffer> };

export function bufferSource(buffer: Buffer): ByteSource {
  return { size: buffer.length, read: async (start, end) => buffer.subarray(start, end) };
}

/** A file on disk as a ByteSource; `close()` it when done. */
export async function fileSource(path: string): Promise<ByteSource & { close(): Promise<void> }> {
  const handle = await open(path);
  try {
    const { size } = await handle.stat();
    return {
      size,
      read: async (start, end) => {
        const buf = Buffer.alloc(Math.max(0, Math.min(end, size) - start));
        const { bytesRead } = await handle.read(buf, 0, buf.length, start);
        return buf.subarray(0, bytesRead);
      },
      close: () => handle.close(),
    };
  } catch (err) {
    await handle.close();
    throw err;
  }
}

export type ZipReadOptions = {
  /** The archive (a path or URL), named in every `InputError` and `TooLargeError`. */
  name: string;
  /** The largest member read, stored or inflated, and the config key that raises it. */
  limit: number;
  limitKey: string;
};

/**
 * The first member, in central directory order, whose name `match` accepts: its bytes inflated,
 * byte for byte; undefined when none matches. Reading stops there.
 * @throws InputError for data that is not a zip archive, a corrupt one, or a member that is
 *   encrypted or compressed other than stored or deflated; TooLargeError for a member whose stored
 *   or inflated size passes `opts.limit` (told before anything is inflated: yauzl holds the data to
 *   the size the central directory gives); and the source's own errors as they are.
 */
export async function readZipMember(source: ByteSource, match: (name: string) => boolean, opts: ZipReadOptions): Promise<Buffer | undefined> {
  const zip = await openZip(source, opts);
  let reading: string | undefined;
  try {
    for await (const entry of zip.eachEntry()) {
      // Names are compared, never used as paths, so yauzl's check of them for extraction is off
      // (decodeStrings: false) and one odd name elsewhere does not make the archive unreadable.
      const name = getFileNameLowLevel(entry.generalPurposeBitFlag, entry.fileNameRaw, entry.extraFields, false);
      if (!match(name)) continue;
      reading = name;
      return await readMember(zip, entry, name, opts);
    }
    return undefined;
  } catch (err) {
    if (isOfflineError(err)) throw err;
    throw new InputError(opts.name, reading, `corrupt zip archive: ${describeError(err)}`, { cause: err });
  } finally {
    zip.close();
  }
}

async function openZip(source: ByteSource, opts: ZipReadOptions): Promise<ZipFile> {
  try {
    return await fromRandomAccessReaderPromise(new SourceReader(source), source.size, { decodeStrings: false, validateEntrySizes: true });
  } catch (err) {
    if (isOfflineError(err)) throw err;
    throw new InputError(opts.name, undefined, `not a zip archive: ${describeError(err)}`, { cause: err });
  }
}

async function readMember(zip: ZipFile, entry: Entry, name: string, opts: ZipReadOptions): Promise<Buffer> {
  const tooLarge = (): TooLargeError => new TooLargeError(`${opts.name}: ${name}`, opts.limit, opts.limitKey);
  if (entry.compressedSize > opts.limit || entry.uncompressedSize > opts.limit) throw tooLarge();
  if (!entry.canDecodeFileData()) {
    const why = entry.isEncrypted() ? 'it is encrypted' : `compression method ${entry.compressionMethod} is not supported`;
    throw new InputError(opts.name, name, `cannot read the zip member: ${why}`);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of await zip.openReadStreamPromise(entry)) {
    size += (chunk as Buffer).length;
    // yauzl already fails a member that inflates past its declared size; this is the last word.
    if (size > opts.limit) throw tooLarge();
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/** Reads ahead this much on a small read: a central directory is read record by record. */
const WINDOW = 256 * 1024;
/** A member's data is read in pieces of this size. */
const PIECE = 1024 * 1024;

/** yauzl's view of a ByteSource, with one read-ahead window so small reads cost one range each. */
class SourceReader extends RandomAccessReader {
  readonly #source: ByteSource;
  #window: { start: number; bytes: Buffer } | undefined;

  constructor(source: ByteSource) {
    super();
    this.#source = source;
  }

  override _readStreamForRange(start: number, end: number): Readable {
    return Readable.from(this.#pieces(start, end), { objectMode: false });
  }

  async *#pieces(start: number, end: number): AsyncGenerator<Buffer> {
    for (let at = start; at < end;) {
      const piece = await this.#read(at, Math.min(end, at + PIECE));
      // Short of `end`: yauzl counts the bytes and reports the archive as truncated.
      if (piece.length === 0) return;
      yield piece;
      at += piece.length;
    }
  }

  async #read(start: number, until: number): Promise<Buffer> {
    // An offset from a corrupt directory may point anywhere; nothing past the end is asked for.
    const end = Math.min(until, this.#source.size);
    if (start >= end) return Buffer.alloc(0);
    const w = this.#window;
    if (w && start >= w.start && end <= w.start + w.bytes.length) return w.bytes.subarray(start - w.start, end - w.start);
    if (end - start >= WINDOW) return (await this.#source.read(start, end)).subarray(0, end - start);
    const bytes = await this.#source.read(start, Math.min(this.#source.size, start + WINDOW));
    this.#window = { start, bytes };
    return bytes.subarray(0, end - start);
  }
}

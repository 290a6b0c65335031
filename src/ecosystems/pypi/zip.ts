import { inflateRawSync } from 'node:zlib';
import { TooLargeError } from '../../foundation/errors.ts';

/** The default bound on one decompressed member (`limits.unpacked`). */
export const DEFAULT_MEMBER_LIMIT = 128 * 1024 * 1024;

/**
 * Just enough of the zip format to pull one member out of a wheel without unpacking it: the end of
 * central directory record, the central directory, one local header. Reads through `read(start,
 * end)` so the same code works on a file on disk, a buffer, or HTTP range requests (pip's "lazy
 * wheel" trick, for indexes without PEP 658 metadata). No zip64: wheels over 4 GiB are refused.
 */
export type ByteSource = { size: number; read(start: number, end: number): Promise<Buffer> };

type Entry = { name: string; method: number; compressedSize: number; localOffset: number };

const EOCD = 0x06054b50;
const CENTRAL = 0x02014b50;
const LOCAL = 0x04034b50;

export async function listZip(source: ByteSource): Promise<Entry[]> {
  const tailStart = Math.max(0, source.size - 65_557);
  const tail = await source.read(tailStart, source.size);
  let at = -1;
  for (let i = tail.length - 22; i >= 0; i--) {
    if (tail.readUInt32LE(i) === EOCD) {
      at = i;
      break;
    }
  }
  if (at < 0) throw new Error('not a zip archive (no end of central directory)');
  const count = tail.readUInt16LE(at + 10);
  const cdSize = tail.readUInt32LE(at + 12);
  const cdOffset = tail.readUInt32LE(at + 16);
  if (cdOffset === 0xffffffff) throw new Error('zip64 archives are not supported');
  const cd = cdOffset >= tailStart ? tail.subarray(cdOffset - tailStart, cdOffset - tailStart + cdSize) : await source.read(cdOffset, cdOffset + cdSize);
  const entries: Entry[] = [];
  let p = 0;
  for (let i = 0; i < count && p + 46 <= cd.length; i++) {
    if (cd.readUInt32LE(p) !== CENTRAL) throw new Error('corrupt zip central directory');
    const nameLength = cd.readUInt16LE(p + 28);
    const extraLength = cd.readUInt16LE(p + 30);
    const commentLength = cd.readUInt16LE(p + 32);
    entries.push({
      name: cd.toString('utf8', p + 46, p + 46 + nameLength),
      method: cd.readUInt16LE(p + 10),
      compressedSize: cd.readUInt32LE(p + 20),
      localOffset: cd.readUInt32LE(p + 42),
    });
    p += 46 + nameLength + extraLength + commentLength;
  }
  return entries;
}

/**
 * One member's bytes, inflated. Neither the stored nor the inflated size may pass `limit`: a small
 * entry that inflates to gigabytes fails with `TooLargeError` instead of exhausting memory.
 */
export async function readZipEntry(source: ByteSource, entry: Entry, limit = DEFAULT_MEMBER_LIMIT): Promise<Buffer> {
  const tooLarge = () => new TooLargeError(`the zip member ${entry.name}`, limit, 'limits.unpacked');
  if (entry.compressedSize > limit) throw tooLarge();
  const header = await source.read(entry.localOffset, Math.min(source.size, entry.localOffset + 30 + 1024));
  if (header.length < 30 || header.readUInt32LE(0) !== LOCAL) throw new Error(`corrupt zip local header for ${entry.name}`);
  const start = entry.localOffset + 30 + header.readUInt16LE(26) + header.readUInt16LE(28);
  if (start + entry.compressedSize > source.size) throw new Error(`truncated zip member ${entry.name}`);
  const data = await source.read(start, start + entry.compressedSize);
  if (entry.method === 0) return data;
  if (entry.method !== 8) throw new Error(`zip compression method ${entry.method} is not supported`);
  try {
    return inflateRawSync(data, { maxOutputLength: limit });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') throw tooLarge();
    throw err;
  }
}

/** The `*.dist-info/METADATA` of a wheel, byte for byte (PEP 658 requires the same bytes). */
export async function wheelMetadata(source: ByteSource, limit = DEFAULT_MEMBER_LIMIT): Promise<Buffer> {
  const entries = await listZip(source);
  const entry = entries.find((e) => /^[^/]+\.dist-info\/METADATA$/.test(e.name));
  if (!entry) throw new Error('the wheel has no .dist-info/METADATA');
  return readZipEntry(source, entry, limit);
}

export function bufferSource(buffer: Buffer): ByteSource {
  return { size: buffer.length, read: async (start, end) => buffer.subarray(start, end) };
}

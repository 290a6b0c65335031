import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { InputError, IntegrityError } from '../../foundation/errors.ts';
import { readTarGz } from '../../foundation/tar.ts';
import { bufferSource, readZipMember, type ByteSource } from '../../foundation/zip.ts';
import type { Http } from '../../engine/http.ts';
import type { IndexFile } from './upstream.ts';

/** The fields of core metadata (METADATA / PKG-INFO) that resolution needs. */
export type CoreMetadata = {
  metadataVersion: string;
  name: string;
  version: string;
  requiresDist: string[];
  requiresPython?: string;
  providesExtra: string[];
};

/** Parse RFC 822-style core metadata headers (the body, after the first blank line, is ignored). */
export function parseMetadata(text: string): CoreMetadata {
  const headers = new Map<string, string[]>();
  let last: string | undefined;
  for (const line of text.split(/\r?\n/)) {
    if (line === '') break;
    if (/^[ \t]/.test(line) && last) {
      const values = headers.get(last)!;
      values[values.length - 1] += `\n${line.trim()}`;
      continue;
    }
    const colon = line.indexOf(':');
    if (colon < 0) continue;
    last = line.slice(0, colon).trim().toLowerCase();
    headers.set(last, [...(headers.get(last) ?? []), line.slice(colon + 1).trim()]);
  }
  const one = (k: string): string | undefined => headers.get(k)?.[0];
  return {
    metadataVersion: one('metadata-version') ?? '1.0',
    name: one('name') ?? '',
    version: one('version') ?? '',
    requiresDist: headers.get('requires-dist') ?? [],
    requiresPython: one('requires-python') || undefined,
    providesExtra: headers.get('provides-extra') ?? [],
  };
}

/**
 * The core metadata of an index file, fetched as cheaply as the index allows: the PEP 658
 * `.metadata` file (verified against its advertised sha256), else the wheel's METADATA read with
 * HTTP range requests, else an sdist's PKG-INFO (a zip by ranges, a tar.gz as a stream that stops
 * once PKG-INFO is read). Nothing decompressed is held past `limit` bytes (`limits.unpacked`).
 */
export async function fetchMetadata(http: Http, file: IndexFile, limit: number): Promise<Buffer> {
  if (file.coreMetadata) {
    const bytes = await http.getBytes(`${file.url}.metadata`);
    if (bytes) {
      if (typeof file.coreMetadata === 'string') {
        const actual = createHash('sha256').update(bytes).digest('hex');
        if (actual !== file.coreMetadata) throw new IntegrityError(`${file.url}.metadata`, `sha256:${file.coreMetadata}`, `sha256:${actual}`);
      }
      return bytes;
    }
  }
  if (file.filename.endsWith('.whl')) return wheelMetadata(await remoteSource(http, file.url), file.url, limit);
  if (file.filename.endsWith('.zip')) return zipPkgInfo(await remoteSource(http, file.url), file.url, limit);
  if (/\.(tar\.gz|tgz)$/.test(file.filename)) {
    return http.request(file.url, { what: 'cannot read metadata' }, (res) => tarPkgInfo(res.body, file.filename, limit));
  }
  throw new Error(`${file.filename}: only wheels and .tar.gz or .zip sdists are read for metadata`);
}

const METADATA = /^[^/]+\.dist-info\/METADATA$/;
const PKG_INFO = /^[^/]+\/PKG-INFO$/;

/**
 * The `*.dist-info/METADATA` of a wheel, byte for byte (PEP 658 requires the same bytes), read by
 * ranges from `source`; `name` (its path or URL) is named in errors.
 * @throws InputError for a file that is not a wheel (not a zip, or no METADATA); TooLargeError
 *   for a METADATA past `limit` (`limits.unpacked`).
 */
export async function wheelMetadata(source: ByteSource, name: string, limit: number): Promise<Buffer> {
  const bytes = await readZipMember(source, (member) => METADATA.test(member), { name, limit, limitKey: 'limits.unpacked' });
  if (!bytes) throw new InputError(name, undefined, 'the wheel has no .dist-info/METADATA');
  return bytes;
}

async function zipPkgInfo(source: ByteSource, name: string, limit: number): Promise<Buffer> {
  const bytes = await readZipMember(source, (member) => PKG_INFO.test(member), { name, limit, limitKey: 'limits.unpacked' });
  if (!bytes) throw new InputError(name, undefined, 'the sdist has no PKG-INFO');
  return bytes;
}

/**
 * `name-version/PKG-INFO` of a gzip'd tar read as a stream: entries before it are skipped without
 * being kept, and reading stops at it. Past `limit` bytes of archive without finding it — a bomb,
 * or no sdist at all — it fails with `TooLargeError`.
 * @throws InputError for a file that is not a gzip'd tar or has no PKG-INFO.
 */
export async function tarPkgInfo(body: Readable, filename: string, limit: number): Promise<Buffer> {
  const [member] = await readTarGz(body, {
    name: filename, what: `${filename} (looking for PKG-INFO)`, limit, limitKey: 'limits.unpacked',
    keep: (path, type) => type === 'file' && PKG_INFO.test(path), first: true,
  });
  if (!member) throw new InputError(filename, undefined, 'the sdist has no PKG-INFO');
  return member.data;
}

/**
 * The first request's tail: yauzl looks for the end of central directory in the last 65,577 bytes
 * (the record, a zip64 locator and the longest comment), and a wheel's central directory is
 * usually within the rest.
 */
const TAIL = 128 * 1024;

/**
 * A remote file read by ranges. The first request asks for the tail; an upstream that ignores
 * Range answers 200 with the whole file, which then serves every read.
 */
async function remoteSource(http: Http, url: string): Promise<ByteSource> {
  const first = await getRange(http, url, `bytes=-${TAIL}`);
  if (first.status === 200) return bufferSource(first.body);
  const total = Number(/\/(\d+)$/.exec(first.contentRange ?? '')?.[1]);
  if (!Number.isFinite(total)) return bufferSource(first.body);
  const tailStart = total - first.body.length;
  return {
    size: total,
    read: async (start, end) => {
      if (start >= tailStart) return first.body.subarray(start - tailStart, end - tailStart);
      const part = await getRange(http, url, `bytes=${start}-${end - 1}`);
      return part.status === 206 ? part.body : part.body.subarray(start, end);
    },
  };
}

async function getRange(http: Http, url: string, range: string | undefined): Promise<{ status: number; body: Buffer; contentRange?: string }> {
  const res = await http.fetch(url, range ? { range } : {}, { statuses: [200, 206], what: 'cannot read metadata' });
  const contentRange = res.headers['content-range'];
  return { status: res.status, body: res.body, contentRange: Array.isArray(contentRange) ? contentRange[0] : contentRange };
}

import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
import { gunzipSync } from 'node:zlib';
import { request } from 'undici';
import { IntegrityError, UpstreamError } from '../../core/errors.ts';
import type { Http } from '../../engine/http.ts';
import { RetryableStatus } from '../../engine/http.ts';
import { isRetryableStatus } from '../../engine/retry.ts';
import type { IndexFile } from './upstream.ts';
import { bufferSource, listZip, readZipEntry, wheelMetadata, type ByteSource } from './zip.ts';

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
 * HTTP range requests, else the whole file (an sdist's PKG-INFO).
 */
export async function fetchMetadata(http: Http, file: IndexFile): Promise<Buffer> {
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
  if (file.filename.endsWith('.whl')) return wheelMetadata(await remoteSource(http, file.url));
  const whole = await remoteSource(http, file.url, true);
  return sdistMetadata(file.filename, await whole.read(0, whole.size));
}

/** PKG-INFO at the top of an sdist (`name-version/PKG-INFO`), from .tar.gz or .zip. */
export async function sdistMetadata(filename: string, bytes: Buffer): Promise<Buffer> {
  if (filename.endsWith('.zip')) {
    const source = bufferSource(bytes);
    const entry = (await listZip(source)).find((e) => /^[^/]+\/PKG-INFO$/.test(e.name));
    if (!entry) throw new Error(`${filename} has no PKG-INFO`);
    return readZipEntry(source, entry);
  }
  const tar = filename.endsWith('.gz') || filename.endsWith('.tgz') ? gunzipSync(bytes) : bytes;
  for (let p = 0; p + 512 <= tar.length;) {
    const name = tar.toString('utf8', p, p + 100).replace(/\0.*$/s, '');
    const prefix = tar.toString('utf8', p + 345, p + 500).replace(/\0.*$/s, '');
    const size = parseInt(tar.toString('utf8', p + 124, p + 136).replace(/\0.*$/s, '').trim() || '0', 8);
    const full = prefix ? `${prefix}/${name}` : name;
    if (/^[^/]+\/PKG-INFO$/.test(full)) return tar.subarray(p + 512, p + 512 + size);
    if (!name) break;
    p += 512 + Math.ceil(size / 512) * 512;
  }
  throw new Error(`${filename} has no PKG-INFO`);
}

/** A file on disk as a ByteSource. */
export async function fileSource(path: string): Promise<ByteSource & { close(): Promise<void> }> {
  const handle = await open(path);
  const { size } = await handle.stat();
  return {
    size,
    read: async (start, end) => {
      const buf = Buffer.alloc(end - start);
      await handle.read(buf, 0, buf.length, start);
      return buf;
    },
    close: () => handle.close(),
  };
}

/**
 * A remote file read by ranges. The first request asks for the tail; an upstream that ignores
 * Range answers 200 with the whole file, which then serves every read.
 */
async function remoteSource(http: Http, url: string, whole = false): Promise<ByteSource> {
  const first = await getRange(http, url, whole ? undefined : 'bytes=-65536');
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
  return http.withRetries(url, async (signal) => {
    const res = await request(url, { dispatcher: http.dispatcher, signal, headers: { 'user-agent': http.options.userAgent, ...(range ? { range } : {}) } });
    if (isRetryableStatus(res.statusCode)) {
      await res.body.dump();
      throw new RetryableStatus(res.statusCode, res.headers['retry-after']);
    }
    if (res.statusCode !== 200 && res.statusCode !== 206) {
      await res.body.dump();
      throw new UpstreamError(url, res.statusCode, 'cannot read metadata');
    }
    const contentRange = res.headers['content-range'];
    return { status: res.statusCode, body: Buffer.from(await res.body.arrayBuffer()), contentRange: Array.isArray(contentRange) ? contentRange[0] : contentRange };
  });
}

import { createReadStream } from 'node:fs';
import { mkdir, open, rename, rm, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { request } from 'undici';
import { IntegrityError, UpstreamError } from '../foundation/errors.ts';
import { createVerifier, fileMatches, type Verifier } from './digest.ts';
import { RetryableStatus, type Http } from './http.ts';
import { isRetryableStatus } from './retry.ts';

/** One file to fetch: where from, where to, and the digest it must have. */
export type DownloadItem = {
  url: string;
  /** Absolute destination path. It appears only once verified. */
  dest: string;
  /**
   * SRI string the bytes must match (see `createVerifier`). Absent only for files that no index
   * gives a digest for and that the client verifies itself (a package's detached `.sig`).
   */
  integrity?: string;
  /** A 404 is an answer, not a failure: the file is simply not there (an upstream without `.sig`s). */
  optional?: boolean;
  /** Human name for progress and reports: `lodash@4.17.21`. */
  label: string;
  /** Expected size in bytes, when the index says. */
  size?: number;
  headers?: Record<string, string>;
  /**
   * Headers that authorize the GET (a registry's bearer token), asked for on every attempt; after
   * a 401 it is asked again with `refresh` so an expired token is replaced once.
   */
  authorize?: (refresh: boolean) => Promise<Record<string, string>>;
};

export type DownloadResult = { status: 'downloaded' | 'present' | 'absent'; bytes: number };

/** Suffix of the file a download writes to before it is verified and renamed into place. */
export const PARTIAL_SUFFIX = '.partial';

/**
 * Fetch one item to its destination. The bytes go to `<dest>.partial`, are verified, then renamed
 * into place, so a reader never sees a half-written or unverified file. A partial file left by an
 * interrupted run is resumed with a Range request. A present destination is not fetched again:
 * only verified files are ever renamed there, and one that no longer matches its digest (truncated
 * or altered since) is fetched again. A digest mismatch is retried once from scratch.
 * Throws `IntegrityError` (nothing stored), `UpstreamError`, or `TimeLimitError` when the file
 * is not complete within the per-file time limit.
 */
export async function download(http: Http, item: DownloadItem, onBytes: (n: number) => void): Promise<DownloadResult> {
  const present = await stat(item.dest).catch(() => undefined);
  if (present?.isFile()) {
    if (await fileMatches(item.dest, item.integrity)) return { status: 'present', bytes: present.size };
    // Truncated or altered on disk since it was verified: fetch it again.
    await rm(item.dest, { force: true });
  }
  await mkdir(dirname(item.dest), { recursive: true });
  const partial = item.dest + PARTIAL_SUFFIX;
  const auth = { refresh: false, refreshed: false };
  // One time limit for the file, whatever the attempts: `--timeout` is per file.
  const deadline = http.deadline();
  let bytes: number;
  try {
    bytes = await http.withRetries(item.url, async (signal) => {
      return fetchInto(http, item, partial, await resumePrefix(partial, item.integrity), signal, onBytes, auth);
    }, deadline);
  } catch (err) {
    if (item.optional && err instanceof UpstreamError && err.status === 404) return { status: 'absent', bytes: 0 };
    if (!(err instanceof IntegrityError)) throw err;
    // One bad transfer (or a resumed file mixing two versions of a changed upstream file) is not
    // yet a verdict: start over once from nothing before reporting the mismatch.
    bytes = await http.withRetries(item.url, (signal) =>
      fetchInto(http, item, partial, { bytes: 0, verifier: createVerifier(item.integrity) }, signal, onBytes, auth), deadline);
  }
  await rename(partial, item.dest);
  return { status: 'downloaded', bytes };
}

type Prefix = { bytes: number; verifier: Verifier };

async function resumePrefix(partial: string, integrity: string | undefined): Promise<Prefix> {
  const verifier = createVerifier(integrity);
  const info = await stat(partial).catch(() => undefined);
  if (!info || info.size === 0) return { bytes: 0, verifier };
  for await (const chunk of createReadStream(partial)) verifier.update(chunk as Buffer);
  return { bytes: info.size, verifier };
}

type AuthState = { refresh: boolean; refreshed: boolean };

async function fetchInto(
  http: Http, item: DownloadItem, partial: string, prefix: Prefix, signal: AbortSignal, onBytes: (n: number) => void, auth: AuthState,
): Promise<number> {
  const authorization = item.authorize ? await item.authorize(auth.refresh) : {};
  auth.refresh = false;
  const headers: Record<string, string> = { 'user-agent': http.options.userAgent, ...item.headers, ...authorization };
  if (prefix.bytes > 0) headers.range = `bytes=${prefix.bytes}-`;
  const res = await request(item.url, { dispatcher: http.dispatcher, signal, headers });
  if (res.statusCode === 401 && item.authorize && !auth.refreshed) {
    await res.body.dump();
    auth.refresh = auth.refreshed = true;
    throw new RetryableStatus(401, '0');
  }
  if (res.statusCode === 416 && prefix.bytes > 0) {
    await res.body.dump();
    await rm(partial, { force: true });
    throw new RetryableStatus(416, '0');
  }
  if (isRetryableStatus(res.statusCode)) {
    await res.body.dump();
    throw new RetryableStatus(res.statusCode, res.headers['retry-after']);
  }
  if (res.statusCode !== 200 && res.statusCode !== 206) {
    await res.body.dump();
    throw new UpstreamError(item.url, res.statusCode, `cannot download ${item.label}`);
  }
  const append = res.statusCode === 206 && prefix.bytes > 0;
  const verifier = append ? prefix.verifier : createVerifier(item.integrity);
  let total = append ? prefix.bytes : 0;
  const file = await open(partial, append ? 'a' : 'w');
  try {
    for await (const chunk of res.body) {
      const buf = chunk as Buffer;
      verifier.update(buf);
      await file.write(buf);
      total += buf.length;
      onBytes(buf.length);
    }
    await file.sync();
  } finally {
    await file.close();
  }
  if (!verifier.matches()) {
    await rm(partial, { force: true });
    throw new IntegrityError(item.url, verifier.expected, verifier.actual());
  }
  return total;
}

import { createReadStream } from 'node:fs';
import { mkdir, open, rename, rm, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { IntegrityError, UpstreamError } from '../foundation/errors.ts';
import { createVerifier, fileMatches, type Verifier } from './digest.ts';
import { RetryableStatus, type Authorizer, type Http, type HttpResponse } from './http.ts';

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
  /** What authorizes the GET (a registry's bearer token); told about a 401 so it can refresh once. */
  authorizer?: Authorizer;
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
  // One time limit for the file, whatever the attempts: `--timeout` is per file.
  const deadline = http.deadline();
  let bytes: number;
  try {
    bytes = await fetchInto(http, item, partial, { resume: true, deadline, onBytes });
  } catch (err) {
    if (item.optional && err instanceof UpstreamError && err.status === 404) return { status: 'absent', bytes: 0 };
    if (!(err instanceof IntegrityError)) throw err;
    // One bad transfer (or a resumed file mixing two versions of a changed upstream file) is not
    // yet a verdict: start over once from nothing before reporting the mismatch.
    bytes = await fetchInto(http, item, partial, { resume: false, deadline, onBytes });
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

type Transfer = { resume: boolean; deadline: AbortSignal; onBytes: (n: number) => void };

/**
 * One request (its attempts retried by `http`) writing the body to `partial`. With `resume`, each
 * attempt first reads what `partial` already holds and asks for the rest with a Range; a 416 to
 * that Range drops the partial file and tries again from nothing.
 */
function fetchInto(http: Http, item: DownloadItem, partial: string, transfer: Transfer): Promise<number> {
  let prefix: Prefix = { bytes: 0, verifier: createVerifier(item.integrity) };
  const headers = async (): Promise<Record<string, string>> => {
    prefix = transfer.resume ? await resumePrefix(partial, item.integrity) : { bytes: 0, verifier: createVerifier(item.integrity) };
    return prefix.bytes > 0 ? { ...item.headers, range: `bytes=${prefix.bytes}-` } : { ...item.headers };
  };
  const statuses = (status: number) => status === 200 || status === 206 || (status === 416 && prefix.bytes > 0);
  return http.request(item.url, { headers, statuses, authorizer: item.authorizer, deadline: transfer.deadline, what: `cannot download ${item.label}` }, async (res) => {
    if (res.statusCode === 416) {
      await res.body.dump();
      await rm(partial, { force: true });
      throw new RetryableStatus(416, '0');
    }
    return writePartial(res, item, partial, prefix, transfer.onBytes);
  });
}

/** Stream a 200 (from the start) or 206 (after `prefix`) into `partial`, verifying as it goes. */
async function writePartial(res: HttpResponse, item: DownloadItem, partial: string, prefix: Prefix, onBytes: (n: number) => void): Promise<number> {
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

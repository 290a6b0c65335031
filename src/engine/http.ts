import { Agent, interceptors, request, type Dispatcher } from 'undici';
import { TimeLimitError, TooLargeError, UpstreamError, describeError } from '../foundation/errors.ts';
import { isRetryableError, isRetryableStatus, retryDelayMs, sleep } from './retry.ts';

export type HttpOptions = {
  /** Connections kept open to one upstream host (keep-alive); further requests queue. */
  perHost: number;
  /** Attempts after the first for 429/5xx/resets/stalls. */
  retries: number;
  /** A stall: no headers, or no body bytes, for this long fails the attempt (it may be retried). */
  idleTimeoutMs: number;
  /** Bound on one item — one file, one document — over all its attempts and the waits between. */
  itemTimeoutMs: number;
  /** The largest metadata document read into memory (`limits.document`). */
  maxDocumentBytes: number;
  userAgent: string;
  signal?: AbortSignal;
};

export const DEFAULT_HTTP_OPTIONS: HttpOptions = {
  perHost: 16,
  retries: 4,
  idleTimeoutMs: 30_000,
  itemTimeoutMs: 10 * 60_000,
  maxDocumentBytes: 128 * 1024 * 1024,
  userAgent: 'offline-mirror/0.1 (+https://github.com/offline)',
};

export type TextResponse = { contentType: string; text: string };

/** A complete answer: any status but a retryable one, its headers, and its body (bounded). */
export type FetchedResponse = { status: number; headers: Dispatcher.ResponseData['headers']; body: Buffer };

export type Http = {
  readonly options: HttpOptions;
  readonly dispatcher: Dispatcher;
  /** GET a JSON document; `undefined` for 404/410. Throws `UpstreamError` after retries. */
  getJson(url: string, headers?: Record<string, string>): Promise<unknown>;
  /** GET a binary document; `undefined` for 404/410. */
  getBytes(url: string, headers?: Record<string, string>): Promise<Buffer | undefined>;
  /** GET a text document with its content type; `undefined` for 404/410. */
  getText(url: string, headers?: Record<string, string>): Promise<TextResponse | undefined>;
  /**
   * GET with retries on 429/5xx/resets; every other status is returned with its body, read whole
   * but never past `maxDocumentBytes` (`TooLargeError`). For registry APIs and range reads.
   */
  fetch(url: string, headers?: Record<string, string>): Promise<FetchedResponse>;
  /**
   * GET with retries on 429/5xx/resets, handing every other response to `consume` inside the
   * attempt (a reset mid-body is retried); for bodies read as a stream.
   */
  stream<T>(url: string, headers: Record<string, string>, consume: (res: Dispatcher.ResponseData) => Promise<T>): Promise<T>;
  /**
   * Run attempts with retries, all within one item's time limit (`itemTimeoutMs`, or `deadline`
   * when the caller spans several calls); the callback consumes the response.
   * @throws UpstreamError, or TimeLimitError when the item's time is up.
   */
  withRetries<T>(url: string, attempt: (signal: AbortSignal) => Promise<T>, deadline?: AbortSignal): Promise<T>;
  /** A deadline of `itemTimeoutMs` from now, for work that spans several `withRetries` calls. */
  deadline(): AbortSignal;
  close(): Promise<void>;
};

/** Thrown inside an attempt to report a status that may be retried. */
export class RetryableStatus extends Error {
  readonly status: number;
  readonly retryAfter: string | string[] | undefined;
  constructor(status: number, retryAfter: string | string[] | undefined) {
    super(`HTTP ${status}`);
    this.status = status;
    this.retryAfter = retryAfter;
  }
}

/**
 * Read a response body whole, refusing past `limit` bytes (as announced by Content-Length, or as
 * counted): the rest is never read, so a giant document costs at most `limit` bytes of memory.
 * @throws TooLargeError naming `what`.
 */
export async function readBody(res: Dispatcher.ResponseData, limit: number, what: string): Promise<Buffer> {
  const announced = Number(res.headers['content-length']);
  const tooLarge = () => new TooLargeError(what, limit, 'limits.document');
  if (Number.isFinite(announced) && announced > limit) {
    res.body.destroy();
    throw tooLarge();
  }
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of res.body) {
    total += (chunk as Buffer).length;
    if (total > limit) {
      res.body.destroy();
      throw tooLarge();
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks, total);
}

/**
 * One HTTP client per sync: keep-alive connections pooled per origin (undici), a cap on
 * connections per host, retries with backoff, a stall bound per attempt and a time limit per item.
 */
export function createHttp(options: Partial<HttpOptions> = {}): Http {
  const opts: HttpOptions = { ...DEFAULT_HTTP_OPTIONS, ...options };
  const dispatcher = new Agent({
    connections: opts.perHost,
    keepAliveTimeout: 30_000,
    headersTimeout: opts.idleTimeoutMs,
    bodyTimeout: opts.idleTimeoutMs,
    connect: { timeout: Math.min(opts.idleTimeoutMs, 15_000) },
  }).compose(interceptors.redirect({ maxRedirections: 5 }));

  const deadline = () => AbortSignal.timeout(opts.itemTimeoutMs);

  async function withRetries<T>(url: string, attempt: (signal: AbortSignal) => Promise<T>, limit = deadline()): Promise<T> {
    const signal = opts.signal ? AbortSignal.any([limit, opts.signal]) : limit;
    for (let n = 0; ; n++) {
      try {
        return await attempt(signal);
      } catch (err) {
        if (opts.signal?.aborted) throw err;
        if (limit.aborted) throw timedOut(url, opts.itemTimeoutMs, err);
        const retryable = err instanceof RetryableStatus || isRetryableError(err);
        if (!retryable || n >= opts.retries) throw toUpstreamError(url, err);
        const retryAfter = err instanceof RetryableStatus ? err.retryAfter : undefined;
        try {
          await sleep(retryDelayMs(n, retryAfter), signal);
        } catch (slept) {
          if (limit.aborted) throw timedOut(url, opts.itemTimeoutMs, err);
          throw slept;
        }
      }
    }
  }

  function stream<T>(url: string, headers: Record<string, string>, consume: (res: Dispatcher.ResponseData) => Promise<T>): Promise<T> {
    return withRetries(url, async (signal) => {
      const res = await request(url, { dispatcher, signal, headers: { 'user-agent': opts.userAgent, ...headers } });
      if (isRetryableStatus(res.statusCode)) {
        await res.body.dump();
        throw new RetryableStatus(res.statusCode, res.headers['retry-after']);
      }
      return consume(res);
    });
  }

  function fetch(url: string, headers: Record<string, string> = {}): Promise<FetchedResponse> {
    return stream(url, headers, async (res) => ({ status: res.statusCode, headers: res.headers, body: await readBody(res, opts.maxDocumentBytes, url) }));
  }

  /** One GET; the 200 body (a reset mid-body is retried); undefined for 404/410. */
  async function get(url: string, headers: Record<string, string>): Promise<FetchedResponse | undefined> {
    const res = await fetch(url, headers);
    if (res.status === 404 || res.status === 410) return undefined;
    if (res.status !== 200) throw new UpstreamError(url, res.status, 'unexpected answer');
    return res;
  }

  async function getBytes(url: string, headers: Record<string, string> = {}): Promise<Buffer | undefined> {
    return (await get(url, headers))?.body;
  }

  async function getText(url: string, headers: Record<string, string> = {}): Promise<TextResponse | undefined> {
    const res = await get(url, headers);
    if (!res) return undefined;
    const type = res.headers['content-type'];
    return { contentType: (Array.isArray(type) ? type[0] : type) ?? '', text: res.body.toString('utf8') };
  }

  async function getJson(url: string, headers: Record<string, string> = {}): Promise<unknown> {
    const res = await getText(url, { accept: 'application/json', ...headers });
    if (!res) return undefined;
    try {
      return JSON.parse(res.text);
    } catch (err) {
      throw new UpstreamError(url, 200, `not valid JSON: ${describeError(err)}`);
    }
  }

  return { options: opts, dispatcher, getJson, getText, getBytes, fetch, stream, withRetries, deadline, close: () => dispatcher.close() };
}

function timedOut(url: string, ms: number, cause: unknown): TimeLimitError {
  return new TimeLimitError(`no complete answer from ${url} within ${ms / 1000} s, retries included (--timeout)`, { cause });
}

function toUpstreamError(url: string, err: unknown): Error {
  if (err instanceof UpstreamError) return err;
  if (err instanceof RetryableStatus) return new UpstreamError(url, err.status, 'upstream kept failing after retries');
  if (err instanceof Error && 'code' in err && typeof err.code === 'string' && err.code.startsWith('OFFLINE_ERR')) return err;
  return new UpstreamError(url, undefined, `cannot fetch: ${describeError(err)}`, { cause: err });
}

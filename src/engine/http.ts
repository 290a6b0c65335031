import { Agent, interceptors, request, type Dispatcher } from 'undici';
import { UpstreamError, describeError } from '../core/errors.ts';
import { isRetryableError, isRetryableStatus, retryDelayMs, sleep } from './retry.ts';

export type HttpOptions = {
  /** Connections kept open to one upstream host (keep-alive); further requests queue. */
  perHost: number;
  /** Attempts after the first for 429/5xx/resets/timeouts. */
  retries: number;
  /** Bound on one attempt: no headers or no body bytes for this long fails the attempt. */
  idleTimeoutMs: number;
  /** Bound on one item's whole attempt, body included. */
  itemTimeoutMs: number;
  userAgent: string;
  signal?: AbortSignal;
};

export const DEFAULT_HTTP_OPTIONS: HttpOptions = {
  perHost: 16,
  retries: 4,
  idleTimeoutMs: 30_000,
  itemTimeoutMs: 10 * 60_000,
  userAgent: 'offline-mirror/0.1 (+https://github.com/offline)',
};

export type TextResponse = { contentType: string; text: string };

export type Http = {
  readonly options: HttpOptions;
  readonly dispatcher: Dispatcher;
  /** GET a JSON document; `undefined` for 404/410. Throws `UpstreamError` after retries. */
  getJson(url: string, headers?: Record<string, string>): Promise<unknown>;
  /** GET a binary document; `undefined` for 404/410. */
  getBytes(url: string, headers?: Record<string, string>): Promise<Buffer | undefined>;
  /** GET a text document with its content type; `undefined` for 404/410. */
  getText(url: string, headers?: Record<string, string>): Promise<TextResponse | undefined>;
  /** Run one attempt-scoped request with retries; the callback consumes the response. */
  withRetries<T>(url: string, attempt: (signal: AbortSignal) => Promise<T>): Promise<T>;
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
 * One HTTP client per sync: keep-alive connections pooled per origin (undici), a cap on
 * connections per host, retries with backoff, and bounded time per attempt.
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

  async function withRetries<T>(url: string, attempt: (signal: AbortSignal) => Promise<T>): Promise<T> {
    for (let n = 0; ; n++) {
      const signals = [AbortSignal.timeout(opts.itemTimeoutMs)];
      if (opts.signal) signals.push(opts.signal);
      try {
        return await attempt(AbortSignal.any(signals));
      } catch (err) {
        if (opts.signal?.aborted) throw err;
        const retryable = err instanceof RetryableStatus || isRetryableError(err);
        if (!retryable || n >= opts.retries) throw toUpstreamError(url, err);
        const retryAfter = err instanceof RetryableStatus ? err.retryAfter : undefined;
        await sleep(retryDelayMs(n, retryAfter), opts.signal);
      }
    }
  }

  function getBytes(url: string, headers: Record<string, string> = {}): Promise<Buffer | undefined> {
    return getBody(url, headers, async (res) => Buffer.from(await res.body.arrayBuffer()));
  }

  function getText(url: string, headers: Record<string, string> = {}): Promise<TextResponse | undefined> {
    return getBody(url, headers, async (res) => {
      const type = res.headers['content-type'];
      return { contentType: (Array.isArray(type) ? type[0] : type) ?? '', text: await res.body.text() };
    });
  }

  /** One GET with retries, the 200 body consumed inside the attempt (a reset mid-body is retried); undefined for 404/410. */
  function getBody<T>(url: string, headers: Record<string, string>, consume: (res: Dispatcher.ResponseData) => Promise<T>): Promise<T | undefined> {
    return withRetries(url, async (signal) => {
      const res = await request(url, {
        dispatcher,
        signal,
        headers: { 'user-agent': opts.userAgent, ...headers },
      });
      if (res.statusCode === 404 || res.statusCode === 410) {
        await res.body.dump();
        return undefined;
      }
      if (isRetryableStatus(res.statusCode)) {
        await res.body.dump();
        throw new RetryableStatus(res.statusCode, res.headers['retry-after']);
      }
      if (res.statusCode !== 200) {
        await res.body.dump();
        throw new UpstreamError(url, res.statusCode, 'unexpected answer');
      }
      return consume(res);
    });
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

  return { options: opts, dispatcher, getJson, getText, getBytes, withRetries, close: () => dispatcher.close() };
}

function toUpstreamError(url: string, err: unknown): Error {
  if (err instanceof UpstreamError) return err;
  if (err instanceof RetryableStatus) return new UpstreamError(url, err.status, 'upstream kept failing after retries');
  if (err instanceof Error && 'code' in err && typeof err.code === 'string' && err.code.startsWith('OFFLINE_ERR')) return err;
  return new UpstreamError(url, undefined, `cannot fetch: ${describeError(err)}`, { cause: err });
}

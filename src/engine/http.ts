import { Agent, interceptors, request as send, type Dispatcher } from 'undici';
import { TimeLimitError, TooLargeError, UpstreamError, describeError, isOfflineError } from '../foundation/errors.ts';
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

/**
 * What authorizes requests to one upstream (a token, a user's credentials). `headers` is asked
 * before every attempt. When an attempt is answered 401, `challenged` gets the response's
 * `WWW-Authenticate` once per request; if it resolves true the request is tried again at once (not
 * counted as a retry). A 401 after that, or `false`, ends the request with an `UpstreamError` of
 * status 401 that carries `advice`. An `OfflineError` thrown by either method ends the request.
 */
export type Authorizer = {
  headers(url: string): Promise<Record<string, string>>;
  challenged(url: string, challenge: string | undefined): Promise<boolean>;
  /** What the user can do when the upstream refuses even fresh authorization. */
  readonly advice?: string;
};

/** A response as undici gives it: `statusCode`, `headers`, and `body` as a stream. */
export type HttpResponse = Dispatcher.ResponseData;

export type RequestOptions = {
  /** Headers of every attempt, or a function asked before each one (a Range that follows what is on disk). */
  headers?: Record<string, string> | (() => Promise<Record<string, string>>);
  /** Statuses handed to the caller (default: 200). Any other is an `UpstreamError`. */
  statuses?: readonly number[] | ((status: number) => boolean);
  authorizer?: Authorizer;
  /** The item's time limit when one item spans several requests (`Http.deadline()`); default one from now. */
  deadline?: AbortSignal;
  /** What the request is for, in the error for a refused status: `cannot download lodash@4.17.21`. */
  what?: string;
  /** Describe a refused status from the start of its body (an API's error document). */
  explain?: (body: Buffer) => string | undefined;
};

export type TextResponse = { contentType: string; text: string };

/** A complete answer: its status, its headers, and its body (bounded). */
export type FetchedResponse = { status: number; headers: HttpResponse['headers']; body: Buffer };

export type Http = {
  readonly options: HttpOptions;
  /**
   * The one way to an upstream. A GET, retried with backoff (Retry-After honoured) on 429/5xx,
   * resets and stalls, all within one item's time limit, authorized by `options.authorizer`. A
   * response of an accepted status is handed to `consume` inside the attempt, so a reset mid-body
   * is retried too; `consume` may throw `RetryableStatus` to ask for another attempt.
   * @throws UpstreamError (status and URL) for a refused status or when retries run out;
   *   TimeLimitError when the item's time is up; any `OfflineError` `consume` throws.
   */
  request<T>(url: string, options: RequestOptions, consume: (res: HttpResponse) => Promise<T>): Promise<T>;
  /**
   * `request` with the body read whole, never past `maxDocumentBytes` (`TooLargeError`). Without
   * `options.statuses` every status not retried is returned. For registry APIs and range reads.
   */
  fetch(url: string, headers?: Record<string, string>, options?: Omit<RequestOptions, 'headers'>): Promise<FetchedResponse>;
  /** GET a JSON document; `undefined` for 404/410. Throws `UpstreamError` after retries. */
  getJson(url: string, headers?: Record<string, string>): Promise<unknown>;
  /** GET a binary document; `undefined` for 404/410. */
  getBytes(url: string, headers?: Record<string, string>): Promise<Buffer | undefined>;
  /** GET a text document with its content type; `undefined` for 404/410. */
  getText(url: string, headers?: Record<string, string>): Promise<TextResponse | undefined>;
  /** A deadline of `itemTimeoutMs` from now, for an item that spans several requests. */
  deadline(): AbortSignal;
  close(): Promise<void>;
};

/** Thrown inside an attempt (by the engine, or by a consumer) to ask for another attempt. */
export class RetryableStatus extends Error {
  readonly status: number;
  readonly retryAfter: string | string[] | undefined;
  constructor(status: number, retryAfter: string | string[] | undefined) {
    super(`HTTP ${status}`);
    this.status = status;
    this.retryAfter = retryAfter;
  }
}

/** The authorizer has fresh headers after a 401: try again at once. */
class Reauthorized extends Error {}

/** How much of a refused response's body `explain` sees. */
const EXPLAIN_BYTES = 64 * 1024;

const EVERY_STATUS = () => true;

/**
 * Read a response body whole, refusing past `limit` bytes (as announced by Content-Length, or as
 * counted): the rest is never read, so a giant document costs at most `limit` bytes of memory.
 * @throws TooLargeError naming `what`.
 */
export async function readBody(res: HttpResponse, limit: number, what: string): Promise<Buffer> {
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

/** The first value of a header undici may give as a list. */
export function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
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

  /** Attempts until one succeeds, fails for good, runs out of retries or of the item's time. */
  async function withRetries<T>(url: string, attempt: (signal: AbortSignal) => Promise<T>, limit: AbortSignal): Promise<T> {
    const signal = opts.signal ? AbortSignal.any([limit, opts.signal]) : limit;
    for (let retried = 0; ;) {
      try {
        return await attempt(signal);
      } catch (err) {
        if (opts.signal?.aborted) throw err;
        if (limit.aborted) throw timedOut(url, opts.itemTimeoutMs, err);
        // Fresh authorization is not a fault: again at once, not counted.
        if (err instanceof Reauthorized) continue;
        // An OfflineError is a verdict (a refused status, a digest, a limit), whatever its cause.
        const retryable = !isOfflineError(err) && (err instanceof RetryableStatus || isRetryableError(err));
        if (!retryable || retried >= opts.retries) throw toUpstreamError(url, err);
        const retryAfter = err instanceof RetryableStatus ? err.retryAfter : undefined;
        try {
          await sleep(retryDelayMs(retried++, retryAfter), signal);
        } catch (slept) {
          if (limit.aborted) throw timedOut(url, opts.itemTimeoutMs, err);
          throw slept;
        }
      }
    }
  }

  function request<T>(url: string, options: RequestOptions, consume: (res: HttpResponse) => Promise<T>): Promise<T> {
    const { authorizer, statuses = [200] } = options;
    const accepted = typeof statuses === 'function' ? statuses : (status: number) => statuses.includes(status);
    let challenged = false;
    return withRetries(url, async (signal) => {
      const extra = typeof options.headers === 'function' ? await options.headers() : options.headers;
      const auth = authorizer ? await authorizer.headers(url) : {};
      const res = await send(url, { dispatcher, signal, headers: { 'user-agent': opts.userAgent, ...extra, ...auth } });
      const status = res.statusCode;
      if (status === 401 && authorizer && !challenged) {
        challenged = true;
        await res.body.dump();
        if (await authorizer.challenged(url, headerValue(res.headers['www-authenticate']))) throw new Reauthorized();
        throw new UpstreamError(url, status, refusal(status, options, undefined));
      }
      if (isRetryableStatus(status)) {
        await res.body.dump();
        throw new RetryableStatus(status, res.headers['retry-after']);
      }
      if (!accepted(status)) throw await refused(url, res, options);
      try {
        return await consume(res);
      } finally {
        // A consumer that stopped early (or threw) must not hold the connection.
        if (!res.body.readableEnded) res.body.destroy();
      }
    }, options.deadline ?? deadline());
  }

  function fetch(url: string, headers: Record<string, string> = {}, options: Omit<RequestOptions, 'headers'> = {}): Promise<FetchedResponse> {
    return request(url, { statuses: EVERY_STATUS, ...options, headers }, async (res) => (
      { status: res.statusCode, headers: res.headers, body: await readBody(res, opts.maxDocumentBytes, url) }
    ));
  }

  /** One GET; the 200 body; undefined for 404/410. */
  async function get(url: string, headers: Record<string, string>): Promise<FetchedResponse | undefined> {
    const res = await fetch(url, headers, { statuses: [200, 404, 410] });
    return res.status === 200 ? res : undefined;
  }

  async function getBytes(url: string, headers: Record<string, string> = {}): Promise<Buffer | undefined> {
    return (await get(url, headers))?.body;
  }

  async function getText(url: string, headers: Record<string, string> = {}): Promise<TextResponse | undefined> {
    const res = await get(url, headers);
    if (!res) return undefined;
    return { contentType: headerValue(res.headers['content-type']) ?? '', text: res.body.toString('utf8') };
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

  return { options: opts, request, fetch, getJson, getText, getBytes, deadline, close: () => dispatcher.close() };
}

/** The error for a status the caller does not take, with what the body says when asked. */
async function refused(url: string, res: HttpResponse, options: RequestOptions): Promise<UpstreamError> {
  let detail: string | undefined;
  if (options.explain) detail = options.explain(await readBody(res, EXPLAIN_BYTES, url).catch(() => Buffer.alloc(0)));
  else await res.body.dump();
  return new UpstreamError(url, res.statusCode, refusal(res.statusCode, options, detail));
}

function refusal(status: number, options: RequestOptions, detail: string | undefined): string {
  const advice = status === 401 ? options.authorizer?.advice : undefined;
  return [options.what ?? (status === 401 ? 'unauthorized' : 'unexpected answer'), detail, advice].filter(Boolean).join(': ');
}

function timedOut(url: string, ms: number, cause: unknown): TimeLimitError {
  return new TimeLimitError(`no complete answer from ${url} within ${ms / 1000} s, retries included (--timeout)`, { cause });
}

function toUpstreamError(url: string, err: unknown): Error {
  if (isOfflineError(err)) return err;
  if (err instanceof RetryableStatus) return new UpstreamError(url, err.status, 'upstream kept failing after retries');
  return new UpstreamError(url, undefined, `cannot fetch: ${describeError(err)}`, { cause: err });
}

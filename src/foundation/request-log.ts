import type { IncomingMessage, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import { createBatchStream, type BatchOptions, type LogSink } from './log-batch.ts';
import { createLogger, log as defaultLog, type Logger } from './log.ts';

/** What one answered request was; written as `{"msg":"request", …}`, handed as is to listeners. */
export type RequestRecord = {
  /** The mirror that answered (`npm`); `front` for a name the https listener does not answer. */
  mirror: string;
  method: string;
  /** As requested, query included: control and format characters removed, at most 512 characters. */
  path: string;
  status: number;
  /** Body bytes handed to the connection (0 for HEAD, 204 and 304). */
  bytes: number;
  /** From the request's arrival to the end of its response. */
  ms: number;
  ua?: string;
  /** The `Host` name, for requests to the https listener for outside names. */
  host?: string;
  remote?: string;
  /** The connection ended before the response was complete (a client that gave up, or resumes later). */
  aborted?: true;
};

/** Called as each response ends; must return at once (queue and persist on its own schedule). */
export type RecordListener = (record: RequestRecord) => void;

export interface RequestLog {
  /**
   * Record this request once, when its response ends ('close'). Call as it arrives, before any
   * handler writes. A response already observed (a request handed on to another server) is not
   * recorded twice; the first observer's mirror and host stand.
   */
  observe(mirror: string, req: IncomingMessage, res: ServerResponse, host?: string): void;
  /** Subscribe to every record (the misses ledger); returns the unsubscribe function. */
  onRecord(listener: RecordListener): () => void;
  /** A record observed in another process (a serve worker's), written and heard as if observed here. */
  replay(record: RequestRecord): void;
  /** Records the sink could not take, dropped. */
  readonly dropped: number;
  /** Hand what is queued to the sink; settles when the sink does (bound the wait). */
  flush(): Promise<void>;
}

export type RequestLogOptions = BatchOptions & {
  /** Where the JSON lines go, in batches; none: records reach the listeners only. */
  sink?: LogSink;
  /** Where a failing listener is reported. */
  log?: Logger;
};

const PATH_MAX = 512;
const HEADER_MAX = 256;

/** A request log: one record per response, lines batched to `sink` off the request's path. */
export function createRequestLog(options: RequestLogOptions = {}): RequestLog {
  const stream = options.sink ? createBatchStream(options.sink, options) : undefined;
  const lines = stream ? createLogger({ stream }) : undefined;
  const ops = options.log ?? defaultLog;
  const listeners = new Set<RecordListener>();
  const seen = new WeakSet<ServerResponse>();

  function emit(record: RequestRecord): void {
    for (const listener of listeners) {
      try {
        listener(record);
      } catch (err) {
        ops.error('request listener failed', { error: err });
      }
    }
    lines?.info('request', record);
  }

  return {
    observe(mirror, req, res, host) {
      if (seen.has(res)) return;
      seen.add(res);
      const start = performance.now();
      const remote = req.socket.remoteAddress;
      const body = countBody(res);
      res.once('close', () => {
        const ua = req.headers['user-agent'];
        const empty = req.method === 'HEAD' || res.statusCode === 204 || res.statusCode === 304;
        emit({
          mirror,
          method: req.method ?? '',
          path: printable(req.url ?? '', PATH_MAX),
          status: res.statusCode,
          bytes: empty ? 0 : body.bytes,
          ms: Math.round((performance.now() - start) * 10) / 10,
          ...(ua ? { ua: printable(ua, HEADER_MAX) } : {}),
          ...(host !== undefined ? { host: printable(host, HEADER_MAX) } : {}),
          ...(remote ? { remote } : {}),
          ...(complete(res, body.bytes) ? {} : { aborted: true as const }),
        });
      });
    },
    onRecord(listener) {
      listeners.add(listener);
      return () => void listeners.delete(listener);
    },
    replay: emit,
    get dropped() {
      return stream?.dropped ?? 0;
    },
    flush: () => stream?.flush() ?? Promise.resolve(),
  };
}

/**
 * Text from a request, fit for a log: control characters (C0, DEL, C1), format characters (bidi
 * overrides, zero-width) and line separators removed, cut to `max` characters with `…`.
 */
export function printable(text: string, max: number): string {
  const clean = text.replace(/[\p{Cc}\p{Cf}\u2028\u2029]/gu, '');
  return clean.length <= max ? clean : `${clean.slice(0, max - 1)}…`;
}

/**
 * Count the body bytes handed to `res`, whoever writes them (koa, a piped stream, verdaccio's
 * express): `write` and `end` are wrapped, passing every argument and result through unchanged.
 */
function countBody(res: ServerResponse): { bytes: number } {
  const counted = { bytes: 0 };
  const write = res.write;
  const end = res.end;
  res.write = function (this: ServerResponse, ...args: unknown[]) {
    counted.bytes += sizeOf(args[0], args[1]);
    return (write as (...a: unknown[]) => boolean).apply(this, args);
  } as ServerResponse['write'];
  res.end = function (this: ServerResponse, ...args: unknown[]) {
    counted.bytes += sizeOf(args[0], args[1]);
    return (end as (...a: unknown[]) => ServerResponse).apply(this, args);
  } as ServerResponse['end'];
  return counted;
}

/**
 * Whether the whole response was handed over: ended, or every byte its Content-Length declares
 * written. Not `writableFinished`: a client that closes on the last byte can beat the write's
 * callback, or the handler's `end()` (verdaccio ends a piped tarball a tick after its last chunk).
 */
function complete(res: ServerResponse, bytes: number): boolean {
  if (res.writableEnded) return true;
  const length = Number(res.getHeader('content-length'));
  return Number.isFinite(length) && bytes >= length;
}

function sizeOf(chunk: unknown, encoding: unknown): number {
  if (typeof chunk === 'string') return Buffer.byteLength(chunk, typeof encoding === 'string' ? (encoding as BufferEncoding) : 'utf8');
  if (chunk instanceof Uint8Array) return chunk.byteLength;
  return 0;
}

import { write } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { formatLine, type LogStream } from './log.ts';

/** Writes a batch of whole lines; settles once written. A rejection counts them as dropped. */
export type LogSink = (text: string) => Promise<void>;

export type BatchOptions = {
  /** A line waits at most this long before its batch is handed to the sink (default 100 ms). */
  flushMs?: number;
  /** A batch is handed over at once when this many bytes wait (default 64 KiB). */
  batchBytes?: number;
  /** While the sink is behind, lines beyond this many waiting bytes are dropped (default 1 MiB). */
  maxPendingBytes?: number;
};

/** A `LogStream` whose `write` never waits: it queues the line or drops it. */
export type BatchStream = LogStream & {
  /** Lines dropped so far because the sink was behind or failed. */
  readonly dropped: number;
  /**
   * Hand every queued line to the sink and wait for it to settle (then the count of lines dropped
   * since the last notice, if any, once). Does not settle while the sink does not: bound the wait.
   */
  flush(): Promise<void>;
};

/**
 * Lines queued in memory and handed to `sink` in batches, one batch at a time, off the caller's
 * path. While a batch is being written the next one gathers; past `maxPendingBytes` lines are
 * dropped and counted, and the next batch that is written starts with a `log records dropped`
 * warning carrying that count, where the gap is.
 */
export function createBatchStream(sink: LogSink, options: BatchOptions = {}): BatchStream {
  const flushMs = options.flushMs ?? 100;
  const batchBytes = options.batchBytes ?? 64 * 1024;
  const maxPendingBytes = options.maxPendingBytes ?? 1024 * 1024;
  let pending: string[] = [];
  let pendingBytes = 0;
  let inFlight: Promise<void> | undefined;
  let timer: NodeJS.Timeout | undefined;
  let dropped = 0;
  let unreported = 0;

  function schedule(): void {
    if (inFlight || pending.length === 0) return;
    if (pendingBytes >= batchBytes) send();
    else timer ??= setTimeout(send, flushMs).unref();
  }

  function send(): void {
    if (timer) clearTimeout(timer);
    timer = undefined;
    if (inFlight || (pending.length === 0 && unreported === 0)) return;
    const lines = pending;
    const notice = unreported;
    pending = [];
    pendingBytes = 0;
    unreported = 0;
    const text = (notice > 0 ? formatLine('warn', 'log records dropped', { dropped: notice }) : '') + lines.join('');
    inFlight = Promise.resolve()
      .then(() => sink(text))
      .catch(() => {
        dropped += lines.length;
        unreported += notice + lines.length;
      })
      .finally(() => {
        inFlight = undefined;
        schedule();
      });
  }

  return {
    get dropped() {
      return dropped;
    },
    write(line: string) {
      const size = Buffer.byteLength(line);
      if (pendingBytes + size > maxPendingBytes) {
        dropped++;
        unreported++;
        return;
      }
      pending.push(line);
      pendingBytes += size;
      schedule();
    },
    async flush() {
      while (inFlight || pending.length > 0) {
        send();
        await inFlight;
      }
      if (unreported > 0) {
        send();
        await inFlight;
      }
    },
  };
}

/** `PIPE_BUF` on Linux: a write to a pipe up to this size is never interleaved with another. */
const ATOMIC = 4096;

/**
 * A sink writing to a file descriptor (2: stderr) through libuv's thread pool, so a full pipe or
 * a slow disk holds a pool thread, never the event loop (`process.stderr` writes synchronously to
 * files and pipes). Lines go out in pieces of at most 4 KiB, so another writer of the same pipe
 * (the operations log) cannot land inside one.
 */
export function fdSink(fd: number): LogSink {
  return async (text) => {
    const bytes = Buffer.from(text);
    for (let start = 0; start < bytes.length;) {
      const end = pieceEnd(bytes, start);
      let piece = bytes.subarray(start, end);
      while (piece.length > 0) {
        try {
          piece = piece.subarray(await writeSome(fd, piece));
        } catch (err) {
          // A descriptor someone set non-blocking: wait for room rather than fail the batch.
          if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') throw err;
          await sleep(10);
        }
      }
      start = end;
    }
  };
}

/** The end of the longest run of whole lines from `start` within `ATOMIC` bytes (or one long line). */
function pieceEnd(bytes: Buffer, start: number): number {
  if (bytes.length - start <= ATOMIC) return bytes.length;
  const lastNewline = bytes.lastIndexOf(0x0a, start + ATOMIC - 1);
  if (lastNewline >= start) return lastNewline + 1;
  const next = bytes.indexOf(0x0a, start + ATOMIC);
  return next === -1 ? bytes.length : next + 1;
}

function writeSome(fd: number, bytes: Buffer): Promise<number> {
  return new Promise((resolve, reject) => {
    write(fd, bytes, 0, bytes.length, null, (err, written) => (err ? reject(err) : resolve(written)));
  });
}

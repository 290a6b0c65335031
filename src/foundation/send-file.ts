import { open, type FileHandle } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type Koa from 'koa';

/**
 * Chunk size. Each response streams through two buffers of its own, reused: one being read while
 * the other is being written, and a buffer is refilled only once the kernel has taken its bytes.
 * So a stalled client costs 2 × CHUNK, however long it stalls, and fast ones leave no garbage
 * behind (a fresh buffer per read made 200 stalled readers cost ~100 MiB of uncollected chunks).
 * 128 KiB, not 64: every chunk is a trip through libuv's thread pool and a socket write, and at
 * 64 KiB those trips bounded throughput (+22% at 128 KiB, +36% at 256 KiB; docs/benchmarks.md).
 * Not 256: 200 stalled clients then held 283 of the 300 MiB test/integration/memory-bounds allows.
 */
const CHUNK = 128 * 1024;

/**
 * Files of at most this size that a caller names by their content (`content` below) are kept in
 * memory once read, at most SMALL_BUDGET bytes of them, the least recently served dropped first.
 * npm tarballs, wheels and most pacman packages are this small, and then most of a request's cost
 * was four trips through libuv's thread pool (open, fstat, read, close) for a few kB
 * (docs/benchmarks.md).
 */
const SMALL = 64 * 1024;
const SMALL_BUDGET = 16 * 1024 * 1024;
const held = new Map<string, Buffer>();
let heldBytes = 0;

function recall(key: string): Buffer | undefined {
  const bytes = held.get(key);
  if (bytes) {
    held.delete(key);
    held.set(key, bytes);
  }
  return bytes;
}

function hold(key: string, bytes: Buffer): void {
  held.set(key, bytes);
  heldBytes += bytes.length;
  for (const [oldest, old] of held) {
    if (heldBytes <= SMALL_BUDGET) break;
    held.delete(oldest);
    heldBytes -= old.length;
  }
}

/**
 * Answer with a file from disk, on node's own request and response (the hot path of every mirror
 * bypasses koa): Content-Length, `Accept-Ranges`, and a single `Range: bytes=a-b` (206) so
 * interrupted client downloads resume (pacman's curl, docker). Headers already set on `res` are
 * kept. Returns false when the file is not there, having written nothing. HEAD gets the headers
 * only. The file is opened once, so a file replaced by rename mid-request is served whole, old or
 * new. `content` names what the file holds (its digest as the published listing gives it, or a
 * path that is itself content-addressed): given, a small file is answered from memory after its
 * first read, for as long as the same path is asked for with the same `content`.
 */
export async function sendFileTo(req: IncomingMessage, res: ServerResponse, path: string, type: string, content?: string): Promise<boolean> {
  const key = content === undefined ? undefined : `${path}\0${content}`;
  const bytes = key === undefined ? undefined : recall(key);
  if (bytes) {
    const span = answerHead(req, res, bytes.length, type);
    if (span) res.end(bytes.subarray(span.start, span.end + 1));
    return true;
  }
  const handle = await open(path, 'r').catch(() => undefined);
  if (!handle) return false;
  let streaming = false;
  try {
    const info = await handle.stat();
    if (!info.isFile()) return false;
    if (key !== undefined && info.size <= SMALL) {
      const whole = Buffer.allocUnsafe(info.size);
      const { bytesRead } = await handle.read(whole, 0, info.size, 0);
      if (bytesRead < info.size) return false;
      hold(key, whole);
      const span = answerHead(req, res, whole.length, type);
      if (span) res.end(whole.subarray(span.start, span.end + 1));
      return true;
    }
    const span = answerHead(req, res, info.size, type);
    if (!span) return true;
    streaming = true;
    void pump(res, handle, span.start, span.end);
    return true;
  } finally {
    if (!streaming) await handle.close();
  }
}

/**
 * The status and headers for a file of `size` bytes: 200, a 206 for a satisfiable single range,
 * a whole 416 answer for an unsatisfiable one, headers only for HEAD. Returns the bytes to send,
 * or undefined when the answer is complete.
 */
function answerHead(req: IncomingMessage, res: ServerResponse, size: number, type: string): { start: number; end: number } | undefined {
  res.setHeader('Accept-Ranges', 'bytes');
  res.setHeader('Content-Type', type);
  const span = byteRange(req.headers.range, size);
  if (span === 'unsatisfiable') {
    // As koa answered it before this bypassed koa: the status text as the body.
    const body = 'Range Not Satisfiable';
    res.writeHead(416, { 'Content-Range': `bytes */${size}`, 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': body.length }).end(body);
    return undefined;
  }
  const { start, end } = span ?? { start: 0, end: size - 1 };
  if (span) res.setHeader('Content-Range', `bytes ${start}-${end}/${size}`);
  res.writeHead(span ? 206 : 200, { 'Content-Length': end - start + 1 });
  if (req.method === 'HEAD' || end < start) {
    res.end();
    return undefined;
  }
  return { start, end };
}

/** The same, for a koa handler: the response is then written outside koa (`ctx.respond = false`). */
export async function sendFile(ctx: Koa.Context, path: string, type: string): Promise<boolean> {
  const sent = await sendFileTo(ctx.req, ctx.res, path, type);
  if (sent) ctx.respond = false;
  return sent;
}

/** A single `bytes=a-b`, `bytes=a-` or `bytes=-n` range; undefined for none (or any other form). */
function byteRange(header: string | undefined, size: number): { start: number; end: number } | 'unsatisfiable' | undefined {
  const range = header ? /^bytes=(\d*)-(\d*)$/.exec(header) : null;
  if (!range || !(range[1] || range[2])) return undefined;
  const start = range[1] ? Number(range[1]) : Math.max(0, size - Number(range[2]));
  const end = range[1] && range[2] ? Math.min(Number(range[2]), size - 1) : size - 1;
  if (start >= size || start > end) return 'unsatisfiable';
  return { start, end };
}

/**
 * Write bytes `start`..`end` of `handle` to `res`, then end it. A file that fits one chunk goes
 * out in one `end` (one buffer of its size); a larger one through two reused buffers.
 */
async function pump(res: ServerResponse, handle: FileHandle, start: number, end: number): Promise<void> {
  const length = end - start + 1;
  if (length <= CHUNK) return pumpOnce(res, handle, start, length);
  const buffers = [Buffer.allocUnsafe(CHUNK), Buffer.allocUnsafe(CHUNK)];
  let gone = false;
  res.once('close', () => { gone = true; });
  // Settles, never rejects, once the kernel has the bytes (or the client is gone): a rejection
  // while the next chunk is being read would be unhandled.
  let writing: Promise<void> = Promise.resolve();
  const write = (chunk: Buffer) => new Promise<void>((resolve) => res.write(chunk, (err) => {
    if (err) gone = true;
    resolve();
  }));
  try {
    for (let pos = start, i = 0; pos <= end && !gone; i++) {
      const buf = buffers[i % 2]!;
      const { bytesRead } = await handle.read(buf, 0, Math.min(CHUNK, end - pos + 1), pos);
      if (bytesRead === 0) throw new Error('the file became shorter while it was served');
      await writing;
      if (gone) break;
      writing = write(buf.subarray(0, bytesRead));
      pos += bytesRead;
    }
    await writing;
    if (gone) res.destroy();
    else res.end();
  } catch {
    // A file that changed under us: end this response, quietly.
    res.destroy();
  } finally {
    await handle.close();
  }
}

/** A response of one chunk: read it whole, hand it over with `end`. */
async function pumpOnce(res: ServerResponse, handle: FileHandle, start: number, length: number): Promise<void> {
  try {
    const buf = Buffer.allocUnsafe(length);
    const { bytesRead } = await handle.read(buf, 0, length, start);
    if (bytesRead < length) res.destroy();
    else res.end(buf);
  } catch {
    res.destroy();
  } finally {
    await handle.close();
  }
}

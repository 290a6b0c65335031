import { open, type FileHandle } from 'node:fs/promises';
import type { ServerResponse } from 'node:http';
import type Koa from 'koa';

/**
 * Chunk size for large files. Each response streams through two buffers of its own, reused:
 * one being read while the other is being written, and a buffer is refilled only once the kernel
 * has taken its bytes. So a stalled client costs 128 KiB, however long it stalls, and fast ones
 * leave no garbage behind (a fresh buffer per read made 200 stalled readers cost ~100 MiB of
 * uncollected chunks; with 1 MiB reads, ~400 MiB).
 */
const CHUNK = 64 * 1024;

/**
 * Answer with a file from disk: Content-Length, `Accept-Ranges`, and a single `Range: bytes=a-b`
 * (206) so interrupted client downloads resume (pacman's curl, docker). Returns false when the
 * file is not there, leaving the response to the caller. HEAD gets the headers only. The file is
 * opened once, so a file replaced by rename mid-request is served whole, old or new.
 */
export async function sendFile(ctx: Koa.Context, path: string, type: string): Promise<boolean> {
  const handle = await open(path, 'r').catch(() => undefined);
  if (!handle) return false;
  let streaming = false;
  try {
    const info = await handle.stat();
    if (!info.isFile()) return false;
    ctx.set('Accept-Ranges', 'bytes');
    ctx.type = type;
    let start = 0;
    let end = info.size - 1;
    const range = /^bytes=(\d*)-(\d*)$/.exec(ctx.get('range'));
    if (range && (range[1] || range[2])) {
      start = range[1] ? Number(range[1]) : Math.max(0, info.size - Number(range[2]));
      end = range[1] && range[2] ? Math.min(Number(range[2]), info.size - 1) : info.size - 1;
      if (start >= info.size || start > end) {
        ctx.status = 416;
        ctx.set('Content-Range', `bytes */${info.size}`);
        return true;
      }
      ctx.status = 206;
      ctx.set('Content-Range', `bytes ${start}-${end}/${info.size}`);
    } else {
      ctx.status = 200;
    }
    const length = end - start + 1;
    ctx.length = length;
    if (ctx.method === 'HEAD') return true;
    if (length <= CHUNK) {
      const buf = Buffer.allocUnsafe(length);
      const { bytesRead } = await handle.read(buf, 0, length, start);
      ctx.body = buf.subarray(0, bytesRead);
      return true;
    }
    ctx.respond = false;
    streaming = true;
    void pump(ctx.res, handle, start, end);
    return true;
  } finally {
    if (!streaming) await handle.close();
  }
}

/** Write bytes `start`..`end` of `handle` to `res` through two reused buffers, then end it. */
async function pump(res: ServerResponse, handle: FileHandle, start: number, end: number): Promise<void> {
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

import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type Koa from 'koa';

/**
 * Read size for served files: large reads cut syscalls and stream callbacks for big files, but a
 * buffer is allocated per read, so a small file gets a read of its own size.
 */
function chunkFor(size: number): number {
  return Math.min(1024 * 1024, Math.max(16 * 1024, size));
}

/**
 * Answer with a file from disk: Content-Length, `Accept-Ranges`, and a single `Range: bytes=a-b`
 * (206) so interrupted client downloads resume (pacman's curl, docker). Returns false when the
 * file is not there, leaving the response to the caller. koa drops the body of HEAD requests.
 */
export async function sendFile(ctx: Koa.Context, path: string, type: string): Promise<boolean> {
  const info = await stat(path).catch(() => undefined);
  if (!info?.isFile()) return false;
  ctx.set('Accept-Ranges', 'bytes');
  ctx.type = type;
  const range = /^bytes=(\d*)-(\d*)$/.exec(ctx.get('range'));
  if (range && (range[1] || range[2])) {
    const start = range[1] ? Number(range[1]) : Math.max(0, info.size - Number(range[2]));
    const end = range[1] && range[2] ? Math.min(Number(range[2]), info.size - 1) : info.size - 1;
    if (start >= info.size || start > end) {
      ctx.status = 416;
      ctx.set('Content-Range', `bytes */${info.size}`);
      return true;
    }
    ctx.status = 206;
    ctx.set('Content-Range', `bytes ${start}-${end}/${info.size}`);
    ctx.length = end - start + 1;
    ctx.body = createReadStream(path, { start, end, highWaterMark: chunkFor(end - start + 1) });
    return true;
  }
  ctx.length = info.size;
  ctx.body = createReadStream(path, { highWaterMark: chunkFor(info.size) });
  return true;
}

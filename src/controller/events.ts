/**
 * A sync's events as a server-sent event stream (text/event-stream, the HTML standard's
 * EventSource): `progress` with the progress snapshot, first the current one and then every half
 * second and on each phase change, and one `done` with the report, after which the stream ends.
 * A sync that has already ended gets its `done` at once.
 */
import { PassThrough } from 'node:stream';
import type Koa from 'koa';
import type { SyncEvent, SyncJob } from './syncs.ts';

function frame(event: SyncEvent): string {
  // JSON has no raw newline, so each event's data is one `data:` line.
  return `event: ${event.event}\ndata: ${JSON.stringify(event.data)}\n\n`;
}

export function streamSync(ctx: Koa.Context, job: SyncJob): void {
  const stream = new PassThrough();
  ctx.req.socket.setTimeout(0);
  ctx.req.socket.setNoDelay(true);
  ctx.set('Cache-Control', 'no-store');
  ctx.type = 'text/event-stream; charset=utf-8';
  ctx.status = 200;
  ctx.body = stream;
  if (job.outcome) {
    stream.end(frame({ event: 'done', data: job.outcome }));
    return;
  }
  stream.write(frame({ event: 'progress', data: job.progress.snapshot() }));
  const stop = job.follow((event) => {
    if (stream.destroyed || stream.writableEnded) return; // the client has gone: `close` unsubscribes
    stream.write(frame(event));
    if (event.event === 'done') stream.end();
  });
  ctx.res.once('close', stop);
}

import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import type Koa from 'koa';

/**
 * A mirror's hot path, outside koa: answers the request and resolves true, or resolves false
 * having written nothing, and the koa app answers instead (a 404, a redirect, an odd path). It
 * handles only what it can answer exactly as the app would.
 */
export type FastPath = (req: IncomingMessage, res: ServerResponse, path: string, query: URLSearchParams) => Promise<boolean>;

/**
 * The request listener of a mirror: GET and HEAD of plain paths (no percent-escapes, which koa's
 * router would decode) try `fast` first; everything else, and whatever `fast` declines, goes to
 * `app`. Serving a file through koa cost a context, a router match and a middleware chain per
 * request; the files are most of the requests (docs/benchmarks.md). The request log, a listener
 * before this one (foundation/http-server.ts), sees every request either way.
 */
export function withFastPath(app: Koa, fast: FastPath): RequestListener {
  // The app's error listener reports a failure once, as for any request.
  return fastBefore(app.callback(), fast, (err) => app.emit('error', err));
}

/**
 * The same in front of any request listener (verdaccio's): `fast` first for plain GET and HEAD
 * paths, `slow` for the rest and for whatever `fast` declines; `onError` hears what `fast` throws
 * (the client gets a 500, or its connection ends if the answer had started).
 */
export function fastBefore(slow: RequestListener, fast: FastPath, onError: (err: unknown) => void): RequestListener {
  return (req, res) => {
    const url = req.url ?? '/';
    if ((req.method !== 'GET' && req.method !== 'HEAD') || url.includes('%')) return void slow(req, res);
    const q = url.indexOf('?');
    const path = q < 0 ? url : url.slice(0, q);
    const query = new URLSearchParams(q < 0 ? '' : url.slice(q + 1));
    fast(req, res, path, query).then((done) => {
      if (!done) void slow(req, res);
    }, (err: unknown) => {
      onError(err);
      if (!res.headersSent) res.writeHead(500).end();
      else res.destroy();
    });
  };
}

import { createServer, type RequestListener, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import Koa from 'koa';
import type { AddressInfo } from 'node:net';
import { listenOn } from './listen.ts';
import { log, type Logger } from './log.ts';
import { printable, type RequestLog } from './request-log.ts';

/** A server listening for one mirror: its URL, and `close` that also ends keep-alive connections. */
export type RunningServer<N extends string = string> = { name: N; url: string; close(): Promise<void> };

/** Where a server listens, and the request log that records what it answers (none: nothing). */
export type Listening = { host: string; port: number; requests?: RequestLog };

/**
 * Listen with a request handler (a koa app's `callback()`, verdaccio's server) and describe it as
 * a running mirror: `url` is `http://host:port` + `path`; `close` stops accepting and ends
 * open keep-alive connections. Every request it answers is recorded in `at.requests` under `name`,
 * by a listener that runs before the handler and only counts: the handler sees the same request.
 */
export async function startMirrorServer<N extends string>(
  name: N, at: Listening, handler: RequestListener | Server, path: string,
): Promise<RunningServer<N>> {
  const { host, port, requests } = at;
  const server = typeof handler === 'function' ? createServer(handler) : handler;
  if (requests) server.prependListener('request', (req, res) => requests.observe(name, req, res));
  server.keepAliveTimeout = 60_000;
  await listenOn(server, host, port, name);
  const bound = (server.address() as AddressInfo).port;
  return {
    name,
    url: `http://${host.includes(':') ? `[${host}]` : host}:${bound}${path}`,
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}

/** What a client ending its own download looks like: nothing went wrong on our side. */
const CLIENT_GONE: ReadonlySet<string> = new Set(['ECONNRESET', 'EPIPE', 'ECANCELED', 'ERR_STREAM_PREMATURE_CLOSE', 'ERR_STREAM_DESTROYED']);

/**
 * A koa app for a mirror: a client that disconnects mid-download is not an error, and any other
 * error is one `request failed` line in the operations log, never a stack trace per request.
 */
export function createMirrorApp(name: string, logger: Logger = log): Koa {
  const app = new Koa();
  const mirrorLog = logger.child({ mirror: name });
  app.on('error', (err: NodeJS.ErrnoException, ctx?: Koa.Context) => {
    if (err.code && CLIENT_GONE.has(err.code)) return;
    mirrorLog.error('request failed', { method: ctx?.method, path: ctx ? printable(ctx.path, 512) : undefined, code: err.code, error: err.message });
  });
  return app;
}

/** The HTTPS listener that answers outside names (docs/adr/0009), and the names it answers. */
export type RunningFront = { url: string; names: string[]; close(): Promise<void> };

/** A mirror's handler for an outside name. */
export type NamedHandler = { mirror: string; handler: RequestListener };

/**
 * Listen with TLS on `host:port` and hand each request to the mirror answering its `Host` name;
 * any other name is a 421 (misdirected), so nothing but the listed names is ever answered. Each
 * request is recorded in `at.requests` under its mirror (`front` for a 421) with its `host`.
 */
export async function startNamedFront(
  at: Listening, tls: { cert: string; key: string }, handlers: Map<string, NamedHandler>,
): Promise<RunningFront> {
  const { host, port, requests } = at;
  const server = createHttpsServer({ cert: tls.cert, key: tls.key }, (req, res) => {
    const name = (req.headers.host ?? '').replace(/:443$/, '').toLowerCase();
    const named = handlers.get(name);
    requests?.observe(named?.mirror ?? 'front', req, res, name);
    if (named) return named.handler(req, res);
    res.writeHead(421, { 'content-type': 'text/plain' }).end(`offline answers only ${[...handlers.keys()].join(', ')} here\n`);
  });
  server.keepAliveTimeout = 60_000;
  await listenOn(server, host, port, 'https for outside names');
  const bound = (server.address() as AddressInfo).port;
  return {
    url: `https://${host.includes(':') ? `[${host}]` : host}:${bound}/`,
    names: [...handlers.keys()],
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}

import { createServer, type RequestListener, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import Koa from 'koa';
import type { AddressInfo } from 'node:net';
import { listenOn } from './listen.ts';

/** A server listening for one mirror: its URL, and `close` that also ends keep-alive connections. */
export type RunningServer<N extends string = string> = { name: N; url: string; close(): Promise<void> };

/**
 * Listen with a request handler (a koa app's `callback()`, verdaccio's server) and describe it as
 * a running mirror: `url` is `http://host:port` + `path`; `close` stops accepting and ends
 * open keep-alive connections.
 */
export async function startMirrorServer<N extends string>(
  name: N, host: string, port: number, handler: RequestListener | Server, path: string,
): Promise<RunningServer<N>> {
  const server = typeof handler === 'function' ? createServer(handler) : handler;
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
 * error is one JSON line on stderr (a fixed message and fields), never a stack trace per request.
 */
export function createMirrorApp(name: string): Koa {
  const app = new Koa();
  app.on('error', (err: NodeJS.ErrnoException, ctx?: Koa.Context) => {
    if (err.code && CLIENT_GONE.has(err.code)) return;
    process.stderr.write(`${JSON.stringify({ level: 'error', msg: 'request failed', mirror: name, method: ctx?.method, path: ctx?.path, code: err.code, error: err.message })}\n`);
  });
  return app;
}

/** The HTTPS listener that answers outside names (docs/adr/0009), and the names it answers. */
export type RunningFront = { url: string; names: string[]; close(): Promise<void> };

/**
 * Listen with TLS on `host:port` and hand each request to the mirror answering its `Host` name;
 * any other name is a 421 (misdirected), so nothing but the listed names is ever answered.
 */
export async function startNamedFront(
  host: string, port: number, tls: { cert: string; key: string }, handlers: Map<string, RequestListener>,
): Promise<RunningFront> {
  const server = createHttpsServer({ cert: tls.cert, key: tls.key }, (req, res) => {
    const name = (req.headers.host ?? '').replace(/:443$/, '').toLowerCase();
    const handler = handlers.get(name);
    if (handler) return handler(req, res);
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

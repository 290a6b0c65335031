import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { EcosystemName, RunningMirror } from '../ecosystems/types.ts';
import { listenOn } from './listen.ts';

/**
 * Listen with a request handler (a koa app's `callback()`, verdaccio's server) and describe it as
 * a running mirror: `url` is `http://host:port` + `path`; `close` stops accepting and ends
 * open keep-alive connections.
 */
export async function startMirrorServer(
  name: EcosystemName, host: string, port: number, handler: RequestListener | Server, path: string,
): Promise<RunningMirror> {
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

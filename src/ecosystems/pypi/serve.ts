import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { listenOn } from '../../core/listen.ts';
import type { RunningMirror, ServeContext } from '../types.ts';
import { createPypiApp } from './app.ts';

/** Serve the PyPI mirror's simple index and files from disk on `host:port`. */
export async function servePypi(ctx: ServeContext): Promise<RunningMirror> {
  const server: Server = createServer(createPypiApp(ctx.dir).callback());
  server.keepAliveTimeout = 60_000;
  await listenOn(server, ctx.host, ctx.port, 'pypi');
  const { port } = server.address() as AddressInfo;
  return {
    name: 'pypi',
    url: `http://${ctx.host.includes(':') ? `[${ctx.host}]` : ctx.host}:${port}/simple/`,
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}

import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { listenOn } from '../../core/listen.ts';
import type { RunningMirror, ServeContext } from '../types.ts';
import { createPacmanApp } from './app.ts';

/** Serve the current pacman generation on `host:port` under `/$repo/os/$arch/`. */
export async function servePacman(ctx: ServeContext): Promise<RunningMirror> {
  const server: Server = createServer(createPacmanApp(ctx.dir).callback());
  server.keepAliveTimeout = 60_000;
  await listenOn(server, ctx.host, ctx.port, 'pacman');
  const { port } = server.address() as AddressInfo;
  return {
    name: 'pacman',
    url: `http://${ctx.host.includes(':') ? `[${ctx.host}]` : ctx.host}:${port}/$repo/os/$arch`,
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}

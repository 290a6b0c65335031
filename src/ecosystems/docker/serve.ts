import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { listenOn } from '../../core/listen.ts';
import type { RunningMirror, ServeContext } from '../types.ts';
import { createDockerApp } from './app.ts';

/** Serve the Docker/OCI mirror's registry API from the store on `host:port`. */
export async function serveDocker(ctx: ServeContext): Promise<RunningMirror> {
  const server: Server = createServer(createDockerApp(ctx.dir).callback());
  server.keepAliveTimeout = 60_000;
  await listenOn(server, ctx.host, ctx.port, 'docker');
  const { port } = server.address() as AddressInfo;
  return {
    name: 'docker',
    url: `http://${ctx.host.includes(':') ? `[${ctx.host}]` : ctx.host}:${port}/v2/`,
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}

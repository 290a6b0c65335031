import { startMirrorServer } from '../../foundation/http-server.ts';
import type { RunningMirror, ServeContext } from '../types.ts';
import { createDockerHandler } from './app.ts';

/** Serve the Docker/OCI mirror's registry API from the store on `host:port`. */
export function serveDocker(ctx: ServeContext): Promise<RunningMirror> {
  return startMirrorServer('docker', ctx, createDockerHandler(ctx.dir), '/v2/');
}

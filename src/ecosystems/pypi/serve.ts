import { startMirrorServer } from '../../foundation/http-server.ts';
import type { RunningMirror, ServeContext } from '../types.ts';
import { createPypiHandler } from './app.ts';

/** Serve the PyPI mirror's simple index and files from disk on `host:port`. */
export function servePypi(ctx: ServeContext): Promise<RunningMirror> {
  return startMirrorServer('pypi', ctx, createPypiHandler(ctx.dir), '/simple/');
}

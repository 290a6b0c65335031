import { startMirrorServer } from '../../foundation/http-server.ts';
import type { RunningMirror, ServeContext } from '../types.ts';
import { createPacmanHandler } from './app.ts';

/** Serve the current pacman generation on `host:port` under `/$repo/os/$arch/`. */
export function servePacman(ctx: ServeContext): Promise<RunningMirror> {
  return startMirrorServer('pacman', ctx, createPacmanHandler(ctx.dir), '/$repo/os/$arch');
}

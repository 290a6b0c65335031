import { startMirrorServer } from '../../foundation/http-server.ts';
import type { RunningMirror, ServeContext } from '../types.ts';
import { createPacmanApp } from './app.ts';

/** Serve the current pacman generation on `host:port` under `/$repo/os/$arch/`. */
export function servePacman(ctx: ServeContext): Promise<RunningMirror> {
  return startMirrorServer('pacman', ctx, createPacmanApp(ctx.dir).callback(), '/$repo/os/$arch');
}

import { checkPacman } from './check.ts';
import type { Mirror } from '../types.ts';
import { pacmanMiss, PACMAN_MISSES } from './misses.ts';
import { pacmanClients } from './clients.ts';
import { pacmanInputs } from './scan.ts';
import { planPacman } from './plan.ts';
import { statusPacman } from './status.ts';

/** The pacman mirror: packages resolved against the sync dbs, served as one consistent generation. */
export const pacmanMirror: Mirror = {
  name: 'pacman',
  port: (config) => config.pacman.port,
  wanted: (config) => config.pacman.packages.length > 0,
  plan: planPacman,
  // Loaded when serving: a sync never needs koa or verdaccio (start-up time, docs/benchmarks.md).
  serve: async (ctx) => (await import('./serve.ts')).servePacman(ctx),
  miss: pacmanMiss,
  missesUnseen: PACMAN_MISSES,
  status: (_config, dir) => statusPacman(dir),
  inputs: pacmanInputs,
  clients: pacmanClients,
  check: (ctx) => checkPacman(pacmanMirror, ctx),
};

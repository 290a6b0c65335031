import type { Mirror } from '../types.ts';
import { npmMiss } from './misses.ts';
import { checkNpm } from './check.ts';
import { npmClients } from './clients.ts';
import { npmInputs } from './scan.ts';
import { planNpm } from './plan.ts';
import { CODELOAD_HOST } from './github.ts';
import { statusNpm } from './status.ts';
import { REGISTRY_HOSTS } from './upstream.ts';

/** The npm mirror: lockfiles and specs in, verdaccio's storage layout out, verdaccio serving it. */
export const npmMirror: Mirror = {
  name: 'npm',
  port: (config) => config.npm.port,
  names: () => [...REGISTRY_HOSTS, CODELOAD_HOST],
  wanted: (config) => config.npm.lockfiles.length > 0 || config.npm.packages.length > 0,
  plan: planNpm,
  // Loaded when serving: a sync never needs koa or verdaccio (start-up time, docs/benchmarks.md).
  serve: async (ctx) => (await import('./serve.ts')).serveNpm(ctx),
  miss: npmMiss,
  status: (_config, dir) => statusNpm(dir),
  inputs: npmInputs,
  clients: npmClients,
  check: (ctx) => checkNpm(npmMirror, ctx),
};

import { checkPypi } from './check.ts';
import type { Mirror } from '../types.ts';
import { pypiMiss } from './misses.ts';
import { pypiClients } from './clients.ts';
import { pypiInputs } from './scan.ts';
import { planPypi } from './plan.ts';
import { statusPypi } from './status.ts';

/** The PyPI mirror: requirements, lockfiles and specs resolved per target; a PEP 503/691 index served. */
export const pypiMirror: Mirror = {
  name: 'pypi',
  port: (config) => config.pypi.port,
  wanted: (config) => config.pypi.requirements.length > 0 || config.pypi.packages.length > 0,
  plan: planPypi,
  // Loaded when serving: a sync never needs koa or verdaccio (start-up time, docs/benchmarks.md).
  serve: async (ctx) => (await import('./serve.ts')).servePypi(ctx),
  miss: pypiMiss,
  status: (_config, dir) => statusPypi(dir),
  inputs: pypiInputs,
  clients: pypiClients,
  check: (ctx) => checkPypi(pypiMirror, ctx),
};

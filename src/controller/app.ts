/**
 * The controller (docs/adr/0016): the status page and the JSON API over the same verbs as the
 * command line. Built, not started: the caller listens (`start.ts`, or a test on port 0).
 */
import type Koa from 'koa';
import { sync } from '../core/sync.ts';
import type { Config } from '../ecosystems/config.ts';
import { NotFoundError } from '../foundation/errors.ts';
import { createMirrorApp } from '../foundation/http-server.ts';
import { printable } from '../foundation/request-log.ts';
import { apiRoutes } from './api.ts';
import { requireToken } from './auth.ts';
import { errorAnswers } from './errors.ts';
import { OPEN_PATHS, pageRoutes } from './page.ts';
import { createSyncs, type SyncRunner } from './syncs.ts';

export type ControllerDeps = {
  config: Config;
  /** The token every API request and the page need (`ensureControllerToken`). */
  token: string;
  /** Runs a sync (default: core/sync.ts's `sync`, the CLI's verb). */
  syncRunner?: SyncRunner;
};

/** The koa app, and `close`, which interrupts a running sync and waits for it to commit and end. */
export type ControllerApp = Koa & { close(): Promise<void> };

/**
 * The page (CSP `default-src 'self'`: its own files only, no inline script or style) and the API
 * are same-origin; no response may be framed, sniffed as another type, or leak a referrer.
 */
async function securityHeaders(ctx: Koa.Context, next: Koa.Next): Promise<void> {
  ctx.set({
    'Content-Security-Policy': "default-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
    'X-Content-Type-Options': 'nosniff',
    'Referrer-Policy': 'no-referrer',
    'X-Frame-Options': 'DENY',
  });
  await next();
}

export function createApp(deps: ControllerDeps): ControllerApp {
  const syncs = createSyncs(deps.config, deps.syncRunner ?? sync);
  const app = createMirrorApp('controller');
  const api = apiRoutes(deps.config, syncs);
  const page = pageRoutes(deps.token);
  app.use(securityHeaders);
  app.use(errorAnswers);
  app.use(requireToken(deps.token, OPEN_PATHS));
  app.use(api.routes());
  app.use(page.routes());
  app.use(async (ctx) => {
    throw new NotFoundError(`no ${ctx.method} ${printable(ctx.path, 200)} here: the page is at /, the API at GET /api/status, GET /api/misses, GET /api/sync, POST /api/sync, GET /api/sync/<id>/events`);
  });
  return Object.assign(app, { close: () => syncs.close() });
}

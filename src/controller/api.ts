/**
 * The controller's API: the same verbs as the command line, answered as JSON (`status` is what
 * `offline status --json` prints, `misses` what `offline misses --json` prints), and syncs started
 * in the background and followed as server-sent events.
 */
import Router from '@koa/router';
import type Koa from 'koa';
import { z } from 'zod';
import { listMisses } from '../core/misses.ts';
import { status } from '../core/status.ts';
import type { Config } from '../ecosystems/config.ts';
import { NotFoundError, RequestError } from '../foundation/errors.ts';
import { streamSync } from './events.ts';
import type { Syncs } from './syncs.ts';

/** What `POST /api/sync` takes: nothing, or `{"misses": true}` (`offline sync --misses`). */
const syncBody = z.strictObject({ misses: z.boolean().optional() });
/** A request body larger than this is refused unread. */
const MAX_BODY = 4096;

export function apiRoutes(config: Config, syncs: Syncs): Router {
  const router = new Router({ prefix: '/api', sensitive: true, strict: true });
  router.use(async (ctx, next) => {
    ctx.set('Cache-Control', 'no-store');
    await next();
  });
  router.get('/status', async (ctx) => {
    ctx.body = await status(config);
  });
  router.get('/misses', async (ctx) => {
    ctx.body = await listMisses(config);
  });
  router.get('/sync', (ctx) => {
    ctx.body = { syncs: syncs.list() };
  });
  router.post('/sync', async (ctx) => {
    const body = syncBody.safeParse(await readJson(ctx));
    if (!body.success) throw new RequestError(`POST /api/sync takes {} or {"misses": true}: ${body.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; ')}`);
    const job = await syncs.start({ misses: body.data.misses ?? false });
    ctx.status = 202;
    ctx.set('Location', `/api/sync/${job.id}/events`);
    ctx.body = { id: job.id };
  });
  router.get('/sync/:id/events', (ctx) => {
    const job = syncs.get(ctx.params.id ?? '');
    if (!job) throw new NotFoundError('no such sync here: the controller keeps the running one and the last 10 (GET /api/sync lists them)');
    streamSync(ctx, job);
  });
  return router;
}

/** The JSON body (an empty one is `{}`), read up to MAX_BODY bytes. @throws RequestError */
async function readJson(ctx: Koa.Context): Promise<unknown> {
  const declared = Number(ctx.get('Content-Length') || 0);
  if (declared > MAX_BODY) throw new RequestError(`the body is larger than ${MAX_BODY} bytes`);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of ctx.req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY) throw new RequestError(`the body is larger than ${MAX_BODY} bytes`);
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString('utf8').trim();
  if (text === '') return {};
  if (!ctx.is('application/json')) throw new RequestError('send the body as JSON (Content-Type: application/json)');
  try {
    return JSON.parse(text);
  } catch {
    throw new RequestError('the body is not JSON');
  }
}

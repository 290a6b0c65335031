/**
 * The status page: plain files in services/controller/page/ (HTML, CSS, a script, an icon; no build step),
 * read from disk on each request, from the checkout's src/ and dist/ runs alike. The first visit
 * brings the token in the URL (`/?token=…`, as `offline status` prints it): it is traded for the
 * session cookie and the browser is sent to `/`, so the token leaves the address bar and history.
 */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import Router from '@koa/router';
import type Koa from 'koa';
import { credential, setSessionCookie, tokenMatches } from './auth.ts';

/** src/controller or dist/controller: the repository's services/ is two levels up from both. */
const PAGE_DIR = new URL('../../services/controller/page/', import.meta.url);

/** The files served, by URL path: nothing from a request reaches the file system. */
const FILES: Record<string, { file: string; type: string }> = {
  '/page.js': { file: 'page.js', type: 'text/javascript; charset=utf-8' },
  '/page.css': { file: 'page.css', type: 'text/css; charset=utf-8' },
  '/favicon.svg': { file: 'favicon.svg', type: 'image/svg+xml' },
};

/** The paths anyone may ask for: the page's files hold no data, and `/` checks the token itself. */
export const OPEN_PATHS: ReadonlySet<string> = new Set(['/', ...Object.keys(FILES)]);

async function send(ctx: Koa.Context, file: string, type: string, status = 200): Promise<void> {
  ctx.status = status;
  ctx.type = type;
  ctx.set('Cache-Control', 'no-store');
  ctx.body = await readFile(fileURLToPath(new URL(file, PAGE_DIR)));
}

export function pageRoutes(token: string): Router {
  const router = new Router({ sensitive: true, strict: true });
  router.get('/', async (ctx) => {
    const offered = typeof ctx.query.token === 'string' ? ctx.query.token : undefined;
    if (offered !== undefined && tokenMatches(offered, token)) {
      setSessionCookie(ctx, token);
      ctx.status = 303;
      ctx.redirect('/');
      return;
    }
    if (offered === undefined && tokenMatches(credential(ctx), token)) return send(ctx, 'index.html', 'text/html; charset=utf-8');
    // Without the token, or with another one: how to get the page's URL, and nothing else.
    await send(ctx, 'welcome.html', 'text/html; charset=utf-8', 401);
  });
  for (const [path, { file, type }] of Object.entries(FILES)) router.get(path, (ctx) => send(ctx, file, type));
  return router;
}

/**
 * Who may use the controller: whoever has its token (docs/adr/0016), as `Authorization: Bearer
 * <token>` (scripts, curl) or as the cookie the status page's first visit sets (`/?token=…`, a
 * browser). Compared in constant time; anything else is refused before any route runs.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type Koa from 'koa';
import { UnauthorizedError } from '../foundation/errors.ts';

/** The browser's session cookie: HttpOnly (page scripts never see it), SameSite=Strict (no other site's page sends it). */
export const COOKIE = 'offline_controller';

/** Whether `given` is the token, in time that does not depend on where they differ (or their lengths). */
export function tokenMatches(given: string | undefined, token: string): boolean {
  if (given === undefined) return false;
  const digest = (text: string) => createHash('sha256').update(text).digest();
  return timingSafeEqual(digest(given), digest(token));
}

/** The credential a request carries: the bearer token, else the cookie. */
export function credential(ctx: Koa.Context): string | undefined {
  const bearer = /^Bearer +(\S+) *$/i.exec(ctx.get('Authorization'));
  return bearer?.[1] ?? ctx.cookies.get(COOKIE);
}

/**
 * Every request but those for `open` paths (the page's own files, and `/`, which checks the token
 * itself) needs the token: refused by default, so no spelling of a path (`/API/status`, an escape)
 * reaches a route without it. @throws UnauthorizedError
 */
export function requireToken(token: string, open: ReadonlySet<string>): Koa.Middleware {
  return async (ctx, next) => {
    if (!open.has(ctx.path) && !tokenMatches(credential(ctx), token)) {
      throw new UnauthorizedError('this needs the controller\'s token: send "Authorization: Bearer <token>" (the token is in <data>/controller.token; `offline status` prints the page\'s URL with it)');
    }
    await next();
  };
}

/** Give the browser the token as its session cookie. */
export function setSessionCookie(ctx: Koa.Context, token: string): void {
  ctx.cookies.set(COOKIE, token, { httpOnly: true, sameSite: 'strict', path: '/', overwrite: true });
}

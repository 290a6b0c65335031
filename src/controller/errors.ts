/**
 * One middleware maps every error to an HTTP answer from one table: the error's stable code to a
 * status, the body `{"error":{"code","message"}}`. What is not an `OfflineError` is a bug: a 500
 * whose body says only that (the stack goes to the log, never to the client).
 */
import type Koa from 'koa';
import { isOfflineError, type ErrorCode } from '../foundation/errors.ts';
import { log } from '../foundation/log.ts';
import { printable } from '../foundation/request-log.ts';

/** Every code has its status: adding a code without one does not compile. */
export const HTTP_STATUS: Readonly<Record<ErrorCode, number>> = {
  OFFLINE_ERR_CONFIG: 400,
  OFFLINE_ERR_INPUT: 400,
  OFFLINE_ERR_REQUEST: 400,
  OFFLINE_ERR_UNSAFE: 400,
  OFFLINE_ERR_UNAUTHORIZED: 401,
  OFFLINE_ERR_FORBIDDEN: 403,
  OFFLINE_ERR_MISSING: 404,
  OFFLINE_ERR_NOT_FOUND: 404,
  OFFLINE_ERR_LOCKED: 409,
  OFFLINE_ERR_TOO_LARGE: 413,
  OFFLINE_ERR_RESOLVE: 422,
  OFFLINE_ERR_UPSTREAM: 502,
  OFFLINE_ERR_INTEGRITY: 502,
  OFFLINE_ERR_TIMEOUT: 504,
  OFFLINE_ERR_COMMAND: 500,
  OFFLINE_ERR_SERVE: 500,
  OFFLINE_ERR_NETWORK: 500,
};

export async function errorAnswers(ctx: Koa.Context, next: Koa.Next): Promise<void> {
  try {
    await next();
  } catch (err) {
    if (isOfflineError(err)) {
      ctx.status = HTTP_STATUS[err.code];
      ctx.body = { error: { code: err.code, message: err.message } };
      if (err.code === 'OFFLINE_ERR_UNAUTHORIZED') ctx.set('WWW-Authenticate', 'Bearer realm="offline"');
      return;
    }
    log.error('controller request failed', { method: ctx.method, path: printable(ctx.path, 512), error: err instanceof Error ? err.stack : String(err) });
    ctx.status = 500;
    ctx.body = { error: { code: 'OFFLINE_ERR_INTERNAL', message: 'internal error in the controller; its log (the stderr of offline serve or offline controller) has the details' } };
  }
}

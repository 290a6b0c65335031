import { join } from 'node:path';
import Router from '@koa/router';
import type Koa from 'koa';
import { createMirrorApp } from '../../foundation/http-server.ts';
import { sendFile } from '../../foundation/send-file.ts';
import { isInside } from '../../foundation/contain.ts';
import { currentManifest, dbPath } from './generation.ts';

/**
 * The pacman mirror's HTTP app (built, not started): `/$repo/os/$arch/` of the current
 * generation. Each request reads the generation pointer once, so a switch mid-request cannot mix
 * two generations. Anything not in the generation is a 404 at once.
 */
export function createPacmanApp(dir: string): Koa {
  const app = createMirrorApp('pacman');
  const router = new Router();
  router.get('/:repo/os/:arch/:file', async (ctx) => {
    const { repo, arch, file } = ctx.params as { repo: string; arch: string; file: string };
    const manifest = await currentManifest(dir);
    // Own properties only: `__proto__`, `constructor` and `toString` are names, not entries.
    const served = manifest && Object.hasOwn(manifest.repos, `${repo}/${arch}`) ? manifest.repos[`${repo}/${arch}`] : undefined;
    if (!manifest || !served) return notFound(ctx, 'not mirrored');
    if (file === `${repo}.db` || file === `${repo}.db.tar.gz`) {
      if (await sendFile(ctx, dbPath(dir, manifest.id, served.repo, served.arch), 'application/octet-stream')) return;
      return notFound(ctx, `${file} is missing from generation ${manifest.id}`);
    }
    const entry = Object.hasOwn(served.files, file) ? served.files[file] : undefined;
    if (entry && isInside(dir, join(dir, entry.pool)) && (await sendFile(ctx, join(dir, entry.pool), 'application/octet-stream'))) return;
    notFound(ctx, 'not mirrored');
  });
  app.use(router.routes());
  app.use(router.allowedMethods());
  return app;
}

function notFound(ctx: Koa.Context, message: string): void {
  ctx.status = 404;
  ctx.body = `${message}\n`;
}

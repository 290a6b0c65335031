import { join } from 'node:path';
import Router from '@koa/router';
import Koa from 'koa';
import { sendFile } from '../../core/send-file.ts';
import { currentManifest, dbPath } from './generation.ts';

/**
 * The pacman mirror's HTTP app (built, not started): `/$repo/os/$arch/` of the current
 * generation. Each request reads the generation pointer once, so a switch mid-request cannot mix
 * two generations. Anything not in the generation is a 404 at once.
 */
export function createPacmanApp(dir: string): Koa {
  const app = new Koa();
  const router = new Router();
  router.get('/:repo/os/:arch/:file', async (ctx) => {
    const { repo, arch, file } = ctx.params as { repo: string; arch: string; file: string };
    const manifest = await currentManifest(dir);
    const served = manifest?.repos[`${repo}/${arch}`];
    if (!manifest || !served) return notFound(ctx, `${repo}/${arch} is not mirrored`);
    if (file === `${repo}.db` || file === `${repo}.db.tar.gz`) {
      if (await sendFile(ctx, dbPath(dir, manifest.id, repo, arch), 'application/octet-stream')) return;
      return notFound(ctx, `${file} is missing from generation ${manifest.id}`);
    }
    const entry = served.files[file];
    if (entry && (await sendFile(ctx, join(dir, entry.pool), 'application/octet-stream'))) return;
    notFound(ctx, `${file} is not mirrored in ${repo}/${arch}`);
  });
  app.use(router.routes());
  app.use(router.allowedMethods());
  return app;
}

function notFound(ctx: Koa.Context, message: string): void {
  ctx.status = 404;
  ctx.body = `${message}\n`;
}

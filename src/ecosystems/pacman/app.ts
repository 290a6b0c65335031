import type { RequestListener } from 'node:http';
import { join } from 'node:path';
import Router from '@koa/router';
import type Koa from 'koa';
import { withFastPath, type FastPath } from '../../foundation/fast-path.ts';
import { createMirrorApp } from '../../foundation/http-server.ts';
import { sendFile, sendFileTo } from '../../foundation/send-file.ts';
import { isInside } from '../../foundation/contain.ts';
import { currentManifest, dbPath, type Manifest } from './generation.ts';

const FILE_ROUTE = /^\/([^/]+)\/os\/([^/]+)\/([^/]+)$/;

/** The request listener `serve` runs: packages and databases on the fast path, the app for the rest. */
export function createPacmanHandler(dir: string): RequestListener {
  return withFastPath(createPacmanApp(dir), pacmanFastPath(dir));
}

/** What the app's file route answers with a file; anything else (a 404) is left to the app. */
function pacmanFastPath(dir: string): FastPath {
  return async (req, res, path) => {
    const m = FILE_ROUTE.exec(path);
    if (!m) return false;
    const [, repo, arch, file] = m as unknown as [string, string, string, string];
    const manifest = await currentManifest(dir);
    const served = manifest ? servedFile(dir, manifest, repo, arch, file) : undefined;
    // Both are content-addressed: a pool path holds its sha256, a database its generation's id.
    return served ? sendFileTo(req, res, served, 'application/octet-stream', served) : false;
  };
}

/**
 * The path on disk of `file` in `repo/arch` of this generation: its database, or a file its
 * manifest lists (own properties only: `__proto__`, `constructor` and `toString` are names, not
 * entries), inside the mirror. Undefined for anything else.
 */
function servedFile(dir: string, manifest: Manifest, repo: string, arch: string, file: string): string | undefined {
  const served = Object.hasOwn(manifest.repos, `${repo}/${arch}`) ? manifest.repos[`${repo}/${arch}`] : undefined;
  if (!served) return undefined;
  if (file === `${repo}.db` || file === `${repo}.db.tar.gz`) return dbPath(dir, manifest.id, served.repo, served.arch);
  const entry = Object.hasOwn(served.files, file) ? served.files[file] : undefined;
  return entry && isInside(dir, join(dir, entry.pool)) ? join(dir, entry.pool) : undefined;
}

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
    const path = manifest ? servedFile(dir, manifest, repo, arch, file) : undefined;
    if (path && (await sendFile(ctx, path, 'application/octet-stream'))) return;
    const isDb = file === `${repo}.db` || file === `${repo}.db.tar.gz`;
    if (manifest && path && isDb) return notFound(ctx, `${file} is missing from generation ${manifest.id}`);
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

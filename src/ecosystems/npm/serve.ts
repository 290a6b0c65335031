import { mkdir } from 'node:fs/promises';
import type { RequestListener, Server } from 'node:http';
import { join } from 'node:path';
import { createMirrorApp, startMirrorServer } from '../../foundation/http-server.ts';
import { sendFile } from '../../foundation/send-file.ts';
import { CODELOAD_HOST, publishedPath, readGitHubIndex } from './github.ts';
import type { RunningMirror, ServeContext } from '../types.ts';
import { storageRoot } from './storage.ts';

/**
 * The verdaccio configuration that serves the mirror from disk only. No `uplinks` and no `proxy`
 * under `packages`: verdaccio never contacts an upstream, so a package that was not mirrored is a
 * 404 at once instead of a wait on a dead network (see docs/adr/0002). The mirror is read-only.
 */
export function verdaccioConfig(dir: string): Record<string, unknown> {
  return {
    self_path: join(dir, 'verdaccio.yaml'),
    storage: storageRoot(dir),
    uplinks: {},
    packages: {
      '@*/*': { access: '$all', publish: '$nobody', unpublish: '$nobody' },
      '**': { access: '$all', publish: '$nobody', unpublish: '$nobody' },
    },
    auth: { htpasswd: { file: join(dir, 'htpasswd'), max_users: -1 } },
    web: { enable: false },
    security: { api: { legacy: true } },
    server: { keepAliveTimeout: 60 },
    // Silent: the request log records every answer in offline's own format (docs/adr/0012); at
    // `error` verdaccio wrote a second format, to stdout.
    log: { type: 'stdout', format: 'json', level: 'silent' },
    max_body_size: '1mb',
  };
}

/** The registry hosts yarn 1 (and npm with `replace-registry-host=never`) fetch lockfile URLs from as written. */
export const REGISTRY_HOSTS = ['registry.npmjs.org', 'registry.yarnpkg.com'];

/**
 * Run verdaccio in this process on `host:port`, answering from `dir` only; for the outside names,
 * the same verdaccio for the registry hosts and the published GitHub tarballs for codeload.
 */
export async function serveNpm(ctx: ServeContext): Promise<RunningMirror> {
  await mkdir(storageRoot(ctx.dir), { recursive: true });
  // Loaded here, not at the top: verdaccio takes half a second to import, and sync never needs it.
  const { runServer } = await import('verdaccio');
  const server = (await runServer(verdaccioConfig(ctx.dir) as never)) as Server;
  const running = await startMirrorServer('npm', ctx, server, '/');
  const registry: RequestListener = (req, res) => server.emit('request', req, res);
  return { ...running, named: { ...Object.fromEntries(REGISTRY_HOSTS.map((h) => [h, registry])), [CODELOAD_HOST]: codeloadApp(ctx.dir).callback() } };
}

/** GitHub's tarball paths (`/o/r/tar.gz/<sha>`), answered only for tarballs the index publishes. */
function codeloadApp(dir: string) {
  const app = createMirrorApp('npm');
  app.use(async (ctx) => {
    if (ctx.method !== 'GET' && ctx.method !== 'HEAD') {
      ctx.status = 405;
      return;
    }
    const path = publishedPath(dir, await readGitHubIndex(dir), ctx.path);
    if (path && (await sendFile(ctx, path, 'application/x-gzip'))) return;
    ctx.status = 404;
    ctx.body = { error: 'not mirrored: offline sync mirrors the GitHub commits lockfiles pin' };
  });
  return app;
}

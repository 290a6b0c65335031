import { mkdir, readFile } from 'node:fs/promises';
import type { RequestListener, Server } from 'node:http';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { ServeError } from '../../foundation/errors.ts';
import { createMirrorApp, startMirrorServer } from '../../foundation/http-server.ts';
import { sendFile } from '../../foundation/send-file.ts';
import { CODELOAD_HOST, publishedPath, readGitHubIndex } from './github.ts';
import type { RunningMirror, ServeContext } from '../types.ts';
import { storageRoot } from './storage.ts';
import { REGISTRY_HOSTS } from './upstream.ts';

/** verdaccio's settings, kept where a user of the compose stack looks for them. */
const SETTINGS = fileURLToPath(new URL('../../../services/npm/verdaccio.yaml', import.meta.url));

/**
 * The verdaccio configuration that serves the mirror in `dir` from disk only: the settings of
 * services/npm/verdaccio.yaml (no uplinks, no proxy, nobody publishes: docs/adr/0002) with the
 * paths under `dir`. @throws ServeError when the settings are unreadable or would reach upstream.
 */
export async function verdaccioConfig(dir: string): Promise<Record<string, unknown>> {
  let settings: Record<string, unknown>;
  try {
    settings = parse(await readFile(SETTINGS, 'utf8')) as Record<string, unknown>;
  } catch (err) {
    throw new ServeError(`${SETTINGS}: cannot read verdaccio's settings: ${(err as Error).message}`, { cause: err });
  }
  // The settings are part of offline, but an edit must never make the mirror reach the network.
  const uplinks = settings.uplinks as Record<string, unknown> | undefined;
  const proxied = Object.values((settings.packages ?? {}) as Record<string, { proxy?: unknown }>).some((p) => p?.proxy !== undefined);
  if ((uplinks && Object.keys(uplinks).length > 0) || proxied) {
    throw new ServeError(`${SETTINGS}: the npm mirror serves from disk only; remove \`uplinks\` and every \`proxy\``);
  }
  return {
    ...settings,
    self_path: join(dir, 'verdaccio.yaml'),
    storage: storageRoot(dir),
    auth: { htpasswd: { file: join(dir, 'htpasswd'), max_users: -1 } },
  };
}


/**
 * Run verdaccio in this process on `host:port`, answering from `dir` only; for the outside names,
 * the same verdaccio for the registry hosts and the published GitHub tarballs for codeload.
 */
export async function serveNpm(ctx: ServeContext): Promise<RunningMirror> {
  // Present after a sync; on a read-only data directory that never synced npm, verdaccio answers 404.
  await mkdir(storageRoot(ctx.dir), { recursive: true }).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== 'EROFS' && err.code !== 'EACCES') throw err;
  });
  // Loaded here, not at the top: verdaccio takes half a second to import, and sync never needs it.
  const { runServer } = await import('verdaccio');
  const server = (await runServer((await verdaccioConfig(ctx.dir)) as never)) as Server;
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

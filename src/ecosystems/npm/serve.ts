import { mkdir, readFile } from 'node:fs/promises';
import type { RequestListener, Server } from 'node:http';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { describeError, ServeError } from '../../foundation/errors.ts';
import { createMirrorApp, startMirrorServer } from '../../foundation/http-server.ts';
import { sendFile, sendFileTo } from '../../foundation/send-file.ts';
import { fastBefore, type FastPath } from '../../foundation/fast-path.ts';
import { log } from '../../foundation/log.ts';
import { CODELOAD_HOST, publishedPath, readGitHubIndex } from './github.ts';
import type { RunningMirror, ServeContext } from '../types.ts';
import { packageDir, servedPackument, storageRoot, tarballFilename } from './storage.ts';
import type { Packument } from './packument.ts';
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
  // verdaccio's express app, with the tarballs (most of an install's requests) answered before it.
  const verdaccio = server.listeners('request')[0] as RequestListener;
  server.removeAllListeners('request');
  server.on('request', fastBefore(verdaccio, tarballFastPath(ctx.dir), (err) => log.error('request failed', { mirror: 'npm', error: describeError(err) })));
  const running = await startMirrorServer('npm', ctx, server, '/');
  const registry: RequestListener = (req, res) => server.emit('request', req, res);
  return { ...running, named: { ...Object.fromEntries(REGISTRY_HOSTS.map((h) => [h, registry])), [CODELOAD_HOST]: codeloadApp(ctx.dir).callback() } };
}

const TARBALL = /^\/((?:@[^/]+\/)?[^/@][^/]*)\/-\/([^/]+\.tgz)$/;

/**
 * A tarball that the stored packument lists (a version whose `dist.tarball` names this file),
 * sent from disk as verdaccio would send it, without verdaccio's middleware: npm, yarn and pnpm
 * fetch each tarball once per install, so these are most of the requests (docs/benchmarks.md).
 * Anything else — a name npm would refuse, a file no version lists, a packument — is verdaccio's.
 */
function tarballFastPath(dir: string): FastPath {
  // Each listed file with what names its content: the version's integrity (or shasum).
  const listed = new WeakMap<Packument, Map<string, string>>();
  const filesOf = (name: string, packument: Packument): Map<string, string> => {
    let files = listed.get(packument);
    if (!files) {
      files = new Map();
      for (const manifest of Object.values(packument.versions ?? {})) {
        try {
          files.set(tarballFilename(name, manifest), manifest.dist?.integrity ?? manifest.dist?.shasum ?? manifest.version);
        } catch {
          // a version whose file name is unsafe is never served
        }
      }
      listed.set(packument, files);
    }
    return files;
  };
  return async (req, res, path, query) => {
    const m = TARBALL.exec(path);
    if (!m || query.size > 0) return false;
    const [, name, file] = m as unknown as [string, string, string];
    const packument = await servedPackument(dir, name);
    // The name was checked by servedPackument, the file is one the packument lists (checked names).
    const content = packument ? filesOf(name, packument).get(file) : undefined;
    if (content === undefined) return false;
    return sendFileTo(req, res, join(packageDir(dir, name), file), 'application/octet-stream', content);
  };
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

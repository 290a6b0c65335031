import { mkdir } from 'node:fs/promises';
import type { Server } from 'node:http';
import { join } from 'node:path';
import { startMirrorServer } from '../../core/http-server.ts';
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
    log: { type: 'stdout', format: 'json', level: 'error' },
    max_body_size: '1mb',
  };
}

/** Run verdaccio in this process on `host:port`, answering from `dir` only. */
export async function serveNpm(ctx: ServeContext): Promise<RunningMirror> {
  await mkdir(storageRoot(ctx.dir), { recursive: true });
  // Loaded here, not at the top: verdaccio takes half a second to import, and sync never needs it.
  const { runServer } = await import('verdaccio');
  const server = (await runServer(verdaccioConfig(ctx.dir) as never)) as Server;
  return startMirrorServer('npm', ctx.host, ctx.port, server, '/');
}

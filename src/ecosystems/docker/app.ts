import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { RequestListener } from 'node:http';
import type Koa from 'koa';
import { withFastPath, type FastPath } from '../../foundation/fast-path.ts';
import { createMirrorApp } from '../../foundation/http-server.ts';
import { sendFile, sendFileTo } from '../../foundation/send-file.ts';
import { isManifestType } from './media.ts';
import { isDigest } from './names.ts';
import { blobPath, repositoryBlobs, servedManifest, servedRepository } from './store.ts';
import type { RepositoryIndex } from './types.ts';

const ROUTE = /^\/v2\/(.+)\/(manifests|blobs|tags)\/([^/]+)$/;
const API_VERSION = ['Docker-Distribution-API-Version', 'registry/2.0'] as const;

/** The request listener `serve` runs: blobs on the fast path, the app for everything else. */
export function createDockerHandler(dir: string): RequestListener {
  return withFastPath(createDockerApp(dir), dockerFastPath(dir));
}

/** A blob the repository names, answered as the app's `blob` would; anything else is the app's. */
function dockerFastPath(dir: string): FastPath {
  return async (req, res, path, query) => {
    const m = ROUTE.exec(path);
    if (!m || m[2] !== 'blobs' || !isDigest(m[3]!) || query.getAll('ns').length > 1) return false;
    const [, name, , digest] = m as unknown as [string, string, string, string];
    const repo = await resolveRepository(dir, name, query.get('ns') ?? undefined);
    if (!repo || !(await repositoryBlobs(dir, repo)).has(digest)) return false;
    res.setHeader(...API_VERSION);
    res.setHeader('Docker-Content-Digest', digest);
    if (await sendFileTo(req, res, blobPath(dir, digest), 'application/octet-stream', digest)) return true;
    res.removeHeader('Docker-Content-Digest');
    return false;
  };
}

/**
 * The read side of the OCI distribution API over the store, built and not started: `/v2/`,
 * manifests and blobs by tag or digest with GET and HEAD (`Docker-Content-Digest`, exact
 * `Content-Type` and `Content-Length`, Range on blobs), `tags/list`. Names are registry-qualified
 * (`ghcr.io/org/app`) or plain Docker Hub names (`library/node`, or `node`), so the mirror works as
 * a dockerd `registry-mirrors` entry; containerd's `?ns=<registry>` is honoured. Anything not
 * mirrored — an image, a tag, an unselected platform's manifest — is a 404 at once.
 */
export function createDockerApp(dir: string): Koa {
  const app = createMirrorApp('docker');
  app.use(async (ctx, next) => {
    ctx.set(...API_VERSION);
    if (ctx.method !== 'GET' && ctx.method !== 'HEAD') return error(ctx, 405, 'UNSUPPORTED', 'this mirror is read-only');
    await next();
  });
  app.use(async (ctx) => {
    if (ctx.path === '/v2/' || ctx.path === '/v2') {
      ctx.type = 'application/json';
      ctx.body = '{}';
      return;
    }
    const m = ROUTE.exec(ctx.path);
    if (!m) return error(ctx, 404, 'NOT_FOUND', 'not a distribution API path');
    const [, name, kind, ref] = m as unknown as [string, string, string, string];
    const repo = await resolveRepository(dir, name, typeof ctx.query.ns === 'string' ? ctx.query.ns : undefined);
    if (!repo) return error(ctx, 404, 'NAME_UNKNOWN', `${name} is not mirrored`);
    if (kind === 'tags' && ref === 'list') {
      ctx.type = 'application/json';
      ctx.body = { name, tags: Object.keys(repo.tags).sort() };
      return;
    }
    if (kind === 'manifests') return manifest(ctx, dir, repo, ref);
    if (kind === 'blobs') return blob(ctx, dir, repo, ref);
    error(ctx, 404, 'NOT_FOUND', 'not a distribution API path');
  });
  return app;
}

/**
 * `ghcr.io/org/app` → that registry; `library/node` and `node` → Docker Hub (`?ns=` wins). The
 * index as served: shared, never to be changed.
 */
export async function resolveRepository(dir: string, name: string, ns: string | undefined): Promise<RepositoryIndex | undefined> {
  const parts = name.split('/');
  if (ns) return servedRepository(dir, ns === 'index.docker.io' ? 'docker.io' : ns, name);
  if (parts.length > 1 && (/[.:]/.test(parts[0]!) || parts[0] === 'localhost')) {
    const registry = parts.shift()!;
    const qualified = await servedRepository(dir, registry, parts.join('/'));
    if (qualified) return qualified;
    if (registry !== 'docker.io' || parts.length > 1) return undefined;
    return servedRepository(dir, 'docker.io', `library/${parts[0]}`);
  }
  return servedRepository(dir, 'docker.io', parts.length === 1 ? `library/${name}` : name);
}

async function manifest(ctx: Koa.Context, dir: string, repo: RepositoryIndex, ref: string): Promise<void> {
  const served = servedManifest(repo, ref);
  if (!served || !isManifestType(served.mediaType)) {
    return error(ctx, 404, 'MANIFEST_UNKNOWN', `${repo.registry}/${repo.repository}: this reference is not mirrored (for an index: only the selected platforms are)`);
  }
  const path = blobPath(dir, served.digest);
  const info = await stat(path).catch(() => undefined);
  if (!info) return error(ctx, 404, 'MANIFEST_UNKNOWN', `${served.digest} is missing from the store`);
  ctx.set('Docker-Content-Digest', served.digest);
  ctx.type = served.mediaType;
  ctx.length = info.size;
  ctx.body = createReadStream(path);
}

/** A blob is served only in a repository whose manifests name it, as a registry scopes blobs. */
async function blob(ctx: Koa.Context, dir: string, repo: RepositoryIndex, digest: string): Promise<void> {
  if (!isDigest(digest)) return error(ctx, 400, 'DIGEST_INVALID', 'not a sha256 digest');
  if (!(await repositoryBlobs(dir, repo)).has(digest)) return error(ctx, 404, 'BLOB_UNKNOWN', `${digest} is not mirrored in this repository`);
  ctx.set('Docker-Content-Digest', digest);
  if (!(await sendFile(ctx, blobPath(dir, digest), 'application/octet-stream'))) {
    ctx.remove('Docker-Content-Digest');
    error(ctx, 404, 'BLOB_UNKNOWN', `${digest} is not mirrored`);
  }
}

function error(ctx: Koa.Context, status: number, code: string, message: string): void {
  ctx.status = status;
  ctx.type = 'application/json';
  ctx.body = { errors: [{ code, message }] };
}

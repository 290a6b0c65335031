import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../../foundation/atomic.ts';
import { containedPath } from '../../foundation/contain.ts';
import { createJsonCache } from '../../foundation/json-cache.ts';
import { parseManifest } from './media.ts';
import { digestHex, isDigest, repositorySegments } from './names.ts';
import type { RepositoryIndex } from './types.ts';

/**
 * The Docker mirror's content-addressed store (docs/adr/0006):
 *   blobs/sha256/<hex>                      every manifest, config and layer, once, verified
 *   repositories/<registry>/<repo>/index.json  the repository's tags and the manifests it serves
 * A blob is shared by every image that uses it. A repository lists a manifest only once the
 * manifest and everything it references are in the store.
 */

/** Where a blob lives. @throws UnsafeInputError unless `digest` is `sha256:<64 lowercase hex>`. */
export function blobPath(dir: string, digest: string): string {
  return containedPath(dir, 'blob digest', 'blobs', 'sha256', digestHex(digest));
}

/** A repository's index file. @throws UnsafeInputError for a host or name outside the grammar. */
export function repositoryFile(dir: string, registry: string, repository: string): string {
  return containedPath(dir, 'repository', 'repositories', ...repositorySegments(registry, repository), 'index.json');
}

/** The repository's index, or undefined when it is not mirrored (or is not a repository name). */
export async function readRepository(dir: string, registry: string, repository: string): Promise<RepositoryIndex | undefined> {
  try {
    return JSON.parse(await readFile(repositoryFile(dir, registry, repository), 'utf8')) as RepositoryIndex;
  } catch {
    return undefined;
  }
}

const servedIndexes = createJsonCache<RepositoryIndex>();

/**
 * The repository's index as the mirror serves it: parsed once and kept while `index.json` is
 * unchanged (a sync replaces it by rename, seen by the next request). Shared between requests:
 * callers must not change it. Undefined when not mirrored, or not a repository name.
 */
export function servedRepository(dir: string, registry: string, repository: string): Promise<RepositoryIndex | undefined> {
  return servedIndexes(() => repositoryFile(dir, registry, repository));
}

export async function writeRepository(dir: string, index: RepositoryIndex): Promise<void> {
  await writeFileAtomic(repositoryFile(dir, index.registry, index.repository), JSON.stringify(index, null, 1));
}

export async function hasBlob(dir: string, digest: string): Promise<boolean> {
  if (!isDigest(digest)) return false;
  return (await stat(blobPath(dir, digest)).catch(() => undefined))?.isFile() ?? false;
}

/** The manifest a repository serves under a tag or digest, own entries only (`__proto__` is a name). */
export function servedManifest(repo: RepositoryIndex, ref: string): { digest: string; mediaType: string } | undefined {
  const digest = isDigest(ref) ? ref : Object.hasOwn(repo.tags, ref) ? repo.tags[ref] : undefined;
  if (!digest || !Object.hasOwn(repo.manifests, digest)) return undefined;
  return { digest, mediaType: repo.manifests[digest]!.mediaType };
}

const referenced = new Map<string, Promise<string[] | undefined>>();
const blobSets = new WeakMap<RepositoryIndex, Set<string>>();

/**
 * Every digest a repository may serve as a blob: its manifests and the configs and layers they
 * name. Manifests are content-addressed and never change, so each is read once per process, and
 * the set of an index (a `servedRepository` value, kept while the file is unchanged) is built once.
 */
export async function repositoryBlobs(dir: string, repo: RepositoryIndex): Promise<Set<string>> {
  const known = blobSets.get(repo);
  if (known) return known;
  const out = new Set<string>();
  let complete = true;
  for (const [digest, entry] of Object.entries(repo.manifests)) {
    if (!isDigest(digest)) continue;
    out.add(digest);
    const key = `${dir}\0${digest}`;
    let blobs = referenced.get(key);
    if (!blobs) {
      blobs = readFile(blobPath(dir, digest)).then((bytes) => {
        const parsed = parseManifest(bytes, entry.mediaType);
        return parsed.kind === 'image' ? [parsed.config.digest, ...parsed.layers.map((l) => l.digest)] : [];
      }).catch(() => {
        referenced.delete(key);
        return undefined;
      });
      referenced.set(key, blobs);
    }
    const list = await blobs;
    if (!list) complete = false;
    for (const b of list ?? []) out.add(b);
  }
  // A manifest that could not be read is tried again by the next request.
  if (complete) blobSets.set(repo, out);
  return out;
}

/** Every repository index in the store. */
export async function listRepositories(dir: string): Promise<RepositoryIndex[]> {
  const root = join(dir, 'repositories');
  const entries = await readdir(root, { recursive: true, withFileTypes: true }).catch(() => []);
  const out: RepositoryIndex[] = [];
  for (const e of entries) {
    if (!e.isFile() || e.name !== 'index.json') continue;
    const index = JSON.parse(await readFile(join(e.parentPath, e.name), 'utf8')) as RepositoryIndex;
    out.push(index);
  }
  return out;
}

import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../../engine/atomic.ts';

/**
 * The Docker mirror's content-addressed store (docs/adr/0006):
 *   blobs/sha256/<hex>                      every manifest, config and layer, once, verified
 *   repositories/<registry>/<repo>/index.json  the repository's tags and the manifests it serves
 * A blob is shared by every image that uses it. A repository lists a manifest only once the
 * manifest and everything it references are in the store.
 */
export type RepositoryIndex = {
  registry: string;
  repository: string;
  tags: Record<string, string>;
  manifests: Record<string, { mediaType: string; size: number; platform?: string }>;
};

export function blobPath(dir: string, digest: string): string {
  const [algorithm, hex] = digest.split(':');
  return join(dir, 'blobs', algorithm!, hex!);
}

export function repositoryFile(dir: string, registry: string, repository: string): string {
  return join(dir, 'repositories', registry, ...repository.split('/'), 'index.json');
}

export async function readRepository(dir: string, registry: string, repository: string): Promise<RepositoryIndex | undefined> {
  try {
    return JSON.parse(await readFile(repositoryFile(dir, registry, repository), 'utf8')) as RepositoryIndex;
  } catch {
    return undefined;
  }
}

export async function writeRepository(dir: string, index: RepositoryIndex): Promise<void> {
  await writeFileAtomic(repositoryFile(dir, index.registry, index.repository), JSON.stringify(index, null, 1));
}

export async function hasBlob(dir: string, digest: string): Promise<boolean> {
  return (await stat(blobPath(dir, digest)).catch(() => undefined))?.isFile() ?? false;
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

import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { MirrorStatus } from '../types.ts';
import { listRepositories } from './store.ts';

/** Images (tags), repositories, platforms, blobs and bytes in the store. */
export async function statusDocker(dir: string): Promise<MirrorStatus & { images: string[]; platforms: string[] }> {
  const repos = await listRepositories(dir);
  const images = repos.flatMap((r) => Object.keys(r.tags).map((t) => `${r.registry}/${r.repository}:${t}`)).sort();
  const platforms = [...new Set(repos.flatMap((r) => Object.values(r.manifests).map((m) => m.platform).filter((p): p is string => Boolean(p))))].sort();
  let blobs = 0;
  let bytes = 0;
  const root = join(dir, 'blobs', 'sha256');
  for (const name of await readdir(root).catch(() => [] as string[])) {
    if (name.includes('.')) continue;
    blobs++;
    bytes += (await stat(join(root, name)).catch(() => undefined))?.size ?? 0;
  }
  return { name: 'docker', counts: { images: images.length, repositories: repos.length, blobs, bytes }, images, platforms };
}

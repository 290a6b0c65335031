import { randomBytes } from 'node:crypto';
import { readFile, readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../../foundation/atomic.ts';
import { poolSegments } from './names.ts';
import { writeRepoDb } from './repo-db.ts';
import type { PkgDesc } from './types.ts';

/**
 * Generations: each sync that completes publishes a new, self-contained set of databases under
 * `generations/<id>/`, and switches `current.json` to it with one atomic rename. Packages live
 * once in `pool/<sha256>/<filename>`; a generation's manifest maps each served file name to its
 * pool path. A sync that fails or is interrupted never touches `current.json`, so the previous
 * generation — databases and every package they name — stays served as it was.
 */
export type ManifestFile = { pool: string; size?: number };

export type RepoManifest = { repo: string; arch: string; packages: number; files: Record<string, ManifestFile> };

export type Manifest = { id: string; created: string; repos: Record<string, RepoManifest> };

export const CURRENT = 'current.json';

/** A package's place in the pool, relative to the mirror: `pool/<sha256>/<filename>`. @throws UnsafeInputError. */
export function poolPath(pkg: Pick<PkgDesc, 'sha256' | 'filename' | 'entry'>): string {
  return join('pool', ...poolSegments(pkg));
}

export function generationDir(dir: string, id: string): string {
  return join(dir, 'generations', id);
}

export function dbPath(dir: string, id: string, repo: string, arch: string): string {
  return join(generationDir(dir, id), repo, 'os', arch, `${repo}.db`);
}

const manifests = new Map<string, Manifest>();

/**
 * The generation being served, or undefined before the first complete sync. The pointer is read
 * every time; a generation's manifest never changes once written, so it is read once per process.
 */
export async function currentManifest(dir: string): Promise<Manifest | undefined> {
  try {
    const generation = await currentGeneration(dir);
    const path = join(generationDir(dir, generation), 'manifest.json');
    const cached = manifests.get(path);
    if (cached) return cached;
    const manifest = JSON.parse(await readFile(path, 'utf8')) as Manifest;
    manifests.set(path, manifest);
    return manifest;
  } catch {
    return undefined;
  }
}

const pointers = new Map<string, { mtimeMs: number; ino: number; generation: string }>();

/**
 * The id in `current.json`. A switch replaces the file by rename (new inode), so a stat that shows
 * the same inode and mtime means the same generation: the file is read only when it changed.
 */
async function currentGeneration(dir: string): Promise<string> {
  const path = join(dir, CURRENT);
  const info = await stat(path);
  const cached = pointers.get(path);
  if (cached && cached.ino === info.ino && cached.mtimeMs === info.mtimeMs) return cached.generation;
  const { generation } = JSON.parse(await readFile(path, 'utf8')) as { generation: string };
  pointers.set(path, { mtimeMs: info.mtimeMs, ino: info.ino, generation });
  return generation;
}

export type RepoContent = { repo: string; arch: string; packages: PkgDesc[]; signatures: Set<string> };

/** Write a new generation and make it current. Keeps the one before it; older ones are removed. */
export async function publishGeneration(dir: string, content: RepoContent[]): Promise<Manifest> {
  const id = `${new Date().toISOString().replace(/[-:.]/g, '')}-${randomBytes(3).toString('hex')}`;
  const manifest: Manifest = { id, created: new Date().toISOString(), repos: {} };
  for (const { repo, arch, packages, signatures } of content) {
    await writeFileAtomic(dbPath(dir, id, repo, arch), writeRepoDb(packages));
    const files: Record<string, ManifestFile> = {};
    for (const pkg of packages) {
      files[pkg.filename] = { pool: poolPath(pkg), size: pkg.csize };
      if (signatures.has(pkg.filename)) files[`${pkg.filename}.sig`] = { pool: `${poolPath(pkg)}.sig` };
    }
    manifest.repos[`${repo}/${arch}`] = { repo, arch, packages: packages.length, files };
  }
  await writeFileAtomic(join(generationDir(dir, id), 'manifest.json'), JSON.stringify(manifest, null, 1));
  const previous = await currentManifest(dir);
  await writeFileAtomic(join(dir, CURRENT), JSON.stringify({ generation: id }));
  await prune(dir, new Set([id, previous?.id].filter((g): g is string => Boolean(g))));
  return manifest;
}

async function prune(dir: string, keep: Set<string>): Promise<void> {
  for (const name of await readdir(join(dir, 'generations')).catch(() => [] as string[])) {
    if (!keep.has(name)) await rm(generationDir(dir, name), { recursive: true, force: true });
  }
}

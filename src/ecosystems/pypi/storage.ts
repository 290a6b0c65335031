import { createHash } from 'node:crypto';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../../foundation/atomic.ts';
import { containedPath } from '../../foundation/contain.ts';
import { createJsonCache } from '../../foundation/json-cache.ts';
import { fileSource } from '../../foundation/zip.ts';
import { distFilename, projectSegment } from './names.ts';
import { wheelMetadata } from './metadata.ts';

/**
 * The PyPI mirror's layout under `mirrors/pypi`:
 *   files/<project>/<filename>            distribution files, byte-identical to upstream
 *   files/<project>/<filename>.metadata   PEP 658 core metadata, extracted from the wheel
 *   projects/<project>.json               the served project page: only files present on disk
 */
export type StoredFile = {
  filename: string;
  sha256: string;
  size: number;
  requiresPython?: string;
  yanked: boolean | string;
  uploadTime?: string;
  /** sha256 of `<filename>.metadata` when the mirror serves one. */
  metadataSha256?: string;
};

export type StoredProject = { name: string; files: StoredFile[] };

/** Where a distribution file (or its `.metadata`, with `suffix`) lives. @throws UnsafeInputError. */
export function distPath(dir: string, normalized: string, filename: string, suffix = ''): string {
  return containedPath(dir, 'PyPI file', 'files', projectSegment(normalized), `${distFilename(filename)}${suffix}`);
}

/** The served project page. @throws UnsafeInputError for a name that is not a normalized name. */
export function projectFile(dir: string, normalized: string): string {
  return containedPath(dir, 'PyPI project name', 'projects', `${projectSegment(normalized)}.json`);
}

/** The stored page of a project, or undefined when it is not mirrored (or the name is not a name). */
export async function readStoredProject(dir: string, normalized: string): Promise<StoredProject | undefined> {
  try {
    return JSON.parse(await readFile(projectFile(dir, normalized), 'utf8')) as StoredProject;
  } catch {
    return undefined;
  }
}

const servedPages = createJsonCache<StoredProject>();

/**
 * The stored page of a project as the mirror serves it: parsed once and kept while the file is
 * unchanged (a sync replaces it by rename, seen by the next request). Shared between requests:
 * callers must not change it. Undefined when not mirrored, or the name is not a name.
 */
export function servedProject(dir: string, normalized: string): Promise<StoredProject | undefined> {
  return servedPages(() => projectFile(dir, normalized));
}

export async function writeStoredProject(dir: string, normalized: string, project: StoredProject): Promise<void> {
  await writeFileAtomic(projectFile(dir, normalized), JSON.stringify(project, null, 1));
}

export async function listProjects(dir: string): Promise<string[]> {
  const names = await readdir(join(dir, 'projects')).catch(() => [] as string[]);
  return names.filter((n) => n.endsWith('.json')).map((n) => n.slice(0, -5)).sort();
}

/**
 * Make sure a wheel on disk has its PEP 658 metadata file beside it, byte-identical to the
 * wheel's METADATA, and return its sha256. Idempotent; a wheel without METADATA gets none.
 */
export async function ensureWheelMetadata(path: string, limit: number): Promise<string | undefined> {
  const target = `${path}.metadata`;
  const existing = await readFile(target).catch(() => undefined);
  if (existing) return createHash('sha256').update(existing).digest('hex');
  const source = await fileSource(path);
  try {
    const bytes = await wheelMetadata(source, path, limit);
    await writeFileAtomic(target, bytes);
    return createHash('sha256').update(bytes).digest('hex');
  } catch {
    return undefined;
  } finally {
    await source.close();
  }
}

export async function sizeOf(path: string): Promise<number | undefined> {
  const info = await stat(path).catch(() => undefined);
  return info?.isFile() ? info.size : undefined;
}

import { readdir } from 'node:fs/promises';
import { join, relative } from 'node:path';

/** Every file below `dir`, as paths relative to it. */
export async function filesBelow(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries.filter((e) => e.isFile()).map((e) => relative(dir, join(e.parentPath, e.name))).sort();
}

/** The tarballs in an npm mirror directory, as `storage/<name>/<file>.tgz` paths. */
export async function tarballs(npmDir: string): Promise<string[]> {
  return (await filesBelow(npmDir)).filter((f) => f.endsWith('.tgz'));
}

import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { MirrorStatus } from '../types.ts';
import { listPackages, packageDir, readStoredPackument } from './storage.ts';

/** Counts of what the npm mirror holds: packages, versions, tarballs and their bytes. */
export async function statusNpm(dir: string): Promise<MirrorStatus> {
  let versions = 0;
  let tarballs = 0;
  let bytes = 0;
  const names = await listPackages(dir);
  for (const name of names) {
    const packument = await readStoredPackument(dir, name);
    versions += Object.keys(packument?.versions ?? {}).length;
    const pkgDir = packageDir(dir, name);
    for (const file of await readdir(pkgDir).catch(() => [] as string[])) {
      if (!file.endsWith('.tgz')) continue;
      tarballs++;
      bytes += (await stat(join(pkgDir, file)).catch(() => undefined))?.size ?? 0;
    }
  }
  return { name: 'npm', counts: { packages: names.length, versions, tarballs, bytes } };
}

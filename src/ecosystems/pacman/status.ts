import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { MirrorStatus } from '../types.ts';
import { currentManifest } from './generation.ts';

/** Repos, packages and bytes of the generation being served, and its id. */
export async function statusPacman(dir: string): Promise<MirrorStatus & { generation?: string; repos: string[] }> {
  const manifest = await currentManifest(dir);
  let packages = 0;
  let bytes = 0;
  for (const repo of Object.values(manifest?.repos ?? {})) {
    packages += repo.packages;
    for (const [name, file] of Object.entries(repo.files)) {
      if (name.endsWith('.sig')) continue;
      bytes += file.size ?? (await stat(join(dir, file.pool)).catch(() => undefined))?.size ?? 0;
    }
  }
  return {
    name: 'pacman',
    counts: { repos: Object.keys(manifest?.repos ?? {}).length, packages, bytes },
    generation: manifest?.id,
    repos: Object.keys(manifest?.repos ?? {}),
  };
}

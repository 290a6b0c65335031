import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { MirrorStatus } from '../types.ts';
import { currentManifest } from './generation.ts';
import { STATE_FILE, type PacmanState } from './plan.ts';

/** Repos, packages and bytes of the generation being served, its id, and the last sync. */
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
  const state = await readFile(join(dir, STATE_FILE), 'utf8').then((t) => JSON.parse(t) as PacmanState).catch(() => undefined);
  return {
    name: 'pacman',
    counts: { repos: Object.keys(manifest?.repos ?? {}).length, packages, bytes },
    lastSync: state?.lastSync,
    generation: manifest?.id,
    repos: Object.keys(manifest?.repos ?? {}),
  };
}

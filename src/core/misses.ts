/**
 * `offline misses`: what clients asked the serving mirrors for and did not get (docs/adr/0015),
 * newest first, for the mirrors the config names; `sync --misses` fetches them.
 */
import { servedMirrors } from '../ecosystems/index.ts';
import type { Config } from '../ecosystems/config.ts';
import { readLedger, updateLedger, type Miss } from '../engine/misses.ts';

export type MissesReport = {
  misses: Miss[];
  /** Mirrors that cannot see their misses, and why (pacman). */
  unseen: Array<{ mirror: string; why: string }>;
};

export async function listMisses(config: Config): Promise<MissesReport> {
  const served = servedMirrors(config);
  return {
    misses: await readLedger(config.data, served.map((m) => m.name)),
    unseen: served.flatMap((m) => (m.missesUnseen ? [{ mirror: m.name, why: m.missesUnseen }] : [])),
  };
}

/** Empty the ledger of the mirrors the config names; returns how many entries were removed. */
export async function clearMisses(config: Config): Promise<number> {
  let removed = 0;
  for (const mirror of servedMirrors(config)) {
    await updateLedger(config.data, mirror.name, (entries) => {
      removed += entries.length;
      return [];
    });
  }
  return removed;
}

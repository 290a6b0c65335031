import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../foundation/atomic.ts';

/**
 * What the engine records of a mirror's last sync, in `<data>/<mirror>/sync.json`, whatever the
 * ecosystem: when it was committed, whether it had failures, what it fetched. `status` reads it.
 */
export type SyncRecord = { lastSync: string; ok: boolean; downloaded: number; bytes: number; failed: number };

const FILE = 'sync.json';

/** Replace the record atomically (a crash leaves the previous one). */
export async function writeSyncRecord(dir: string, record: SyncRecord): Promise<void> {
  await writeFileAtomic(join(dir, FILE), `${JSON.stringify(record, null, 2)}\n`);
}

/** The record, or undefined when the mirror was never synced (or the file is not one we wrote). */
export async function readSyncRecord(dir: string): Promise<SyncRecord | undefined> {
  const text = await readFile(join(dir, FILE), 'utf8').catch(() => undefined);
  if (text === undefined) return undefined;
  try {
    const record = JSON.parse(text) as Partial<SyncRecord>;
    return typeof record.lastSync === 'string' ? record as SyncRecord : undefined;
  } catch {
    return undefined;
  }
}

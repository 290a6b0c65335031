import { hostname } from 'node:os';
import { mkdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { LockedError } from '../foundation/errors.ts';
import { writeFileAtomic } from '../foundation/atomic.ts';

/** Who holds the lock, for the message another sync prints. Informational: the lock is the db's. */
export const LOCK_FILE = '.offline.lock';
/** The file whose kernel lock (SQLite's POSIX advisory lock) is the data directory's lock. */
export const LOCK_DB = '.offline.lock.db';

type LockInfo = { pid: number; host: string; started: string; command: string };

// Held databases, so a lock lives until it is released even if the caller drops the release
// function: a collected DatabaseSync closes its file, and with it the kernel lock.
const held = new Set<DatabaseSync>();

/**
 * Take the data directory's lock so two syncs never write the same files. The lock is an exclusive
 * transaction on a small SQLite file (`node:sqlite`): the kernel grants it to one process at a
 * time and drops it when that process ends, however it ends — so a sync killed with -9 never
 * leaves a stale lock, and there is no stale-lock steal for two processes to win at once (see
 * docs/adr/0007). Throws `LockedError` naming the holder. Returns the release function;
 * releasing twice is harmless.
 */
export async function acquireLock(dir: string, command: string): Promise<() => Promise<void>> {
  await mkdir(dir, { recursive: true });
  const db = new DatabaseSync(join(dir, LOCK_DB), { timeout: 0 });
  try {
    db.exec('BEGIN EXCLUSIVE');
  } catch (err) {
    db.close();
    if (!/locked|busy/i.test((err as Error).message)) throw err;
    const holder = await readHolder(join(dir, LOCK_FILE));
    throw new LockedError(
      `${dir} is in use${holder ? ` by "${holder.command}" (pid ${holder.pid} on ${holder.host}, started ${holder.started})` : ' by another offline process'}; ` +
        'wait for it to finish or stop it, then run again',
    );
  }
  held.add(db);
  const info: LockInfo = { pid: process.pid, host: hostname(), started: new Date().toISOString(), command };
  await writeFileAtomic(join(dir, LOCK_FILE), JSON.stringify(info));
  let released = false;
  return async () => {
    if (released) return;
    released = true;
    await rm(join(dir, LOCK_FILE), { force: true });
    db.exec('ROLLBACK');
    db.close();
    held.delete(db);
  };
}

async function readHolder(path: string): Promise<LockInfo | undefined> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as LockInfo;
  } catch {
    return undefined;
  }
}

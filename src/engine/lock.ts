import { hostname } from 'node:os';
import { mkdir, open, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { LockedError } from '../core/errors.ts';

export const LOCK_FILE = '.offline.lock';

type LockInfo = { pid: number; host: string; started: string; command: string };

/**
 * Take the data directory's lock so two syncs never write the same files. The lock is a file
 * holding the owner's pid; a lock whose process is gone (a sync killed with -9) is taken over at
 * once, so a crash never needs manual clean-up. Throws `LockedError` naming the live holder.
 * Returns the release function; releasing twice is harmless.
 */
export async function acquireLock(dir: string, command: string): Promise<() => Promise<void>> {
  await mkdir(dir, { recursive: true });
  const path = join(dir, LOCK_FILE);
  const info: LockInfo = { pid: process.pid, host: hostname(), started: new Date().toISOString(), command };
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const handle = await open(path, 'wx');
      await handle.writeFile(JSON.stringify(info));
      await handle.close();
      let released = false;
      return async () => {
        if (released) return;
        released = true;
        await rm(path, { force: true });
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const holder = await readHolder(path);
    if (holder && isAlive(holder)) {
      throw new LockedError(
        `${dir} is in use by "${holder.command}" (pid ${holder.pid}, started ${holder.started}); ` +
          'wait for it to finish or stop it, then run again',
      );
    }
    await rm(path, { force: true });
  }
  throw new LockedError(`could not take the lock ${path}; remove it if no offline process is running`);
}

async function readHolder(path: string): Promise<LockInfo | undefined> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as LockInfo;
  } catch {
    return undefined; // torn or empty: the writer died before finishing, so it is stale
  }
}

function isAlive(holder: LockInfo): boolean {
  if (holder.host !== hostname()) return true; // another machine sharing the directory: never steal
  try {
    process.kill(holder.pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * The misses ledger (docs/adr/0015): what clients asked a serving mirror for and did not get, as
 * items a sync can fetch (`lodash@4.17.21`, `flask==3.0.0`, `docker.io/library/node:24`). One file
 * per mirror, `<data>/misses/<mirror>.json`, so each serving process (the embedded one, or one
 * stack service per mirror) writes only its own; written whole and renamed into place, so `kill -9`
 * at any moment leaves the previous version or the next, never a torn one. Deduplicated by item
 * with the first and last time and a count; bounded, the least recently missed dropped first.
 */
import { chown, mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { writeFileAtomic } from '../foundation/atomic.ts';
import { log } from '../foundation/log.ts';

export type Miss = {
  mirror: string;
  /** What to fetch, as the mirror's input key takes it (`npm.packages`, `pypi.packages`, `docker.images`). */
  item: string;
  first: string;
  last: string;
  count: number;
  /** Why the last `sync --misses` could not fetch it. */
  reason?: string;
};

/** Items kept per mirror: a client looping on one thing is one entry, not a flood. */
export const MAX_MISSES = 1000;
const LEDGER_DIR = 'misses';
/** How long new misses wait in memory before they are written (several become one write). */
const FLUSH_MS = 500;

const entrySchema = z.object({
  item: z.string().min(1).max(512),
  first: z.string(),
  last: z.string(),
  count: z.number().int().positive(),
  reason: z.string().max(2000).optional(),
});
const fileSchema = z.object({ version: z.literal(1), misses: z.array(entrySchema) });

export function ledgerDir(data: string): string {
  return join(data, LEDGER_DIR);
}

function ledgerFile(data: string, mirror: string): string {
  return join(ledgerDir(data), `${mirror}.json`);
}

/**
 * Make the ledger's directory, owned by `owner` when given (root serving as another user makes it
 * before dropping privileges). Only this directory of the data is writable by the serving user.
 */
export async function ensureLedgerDir(data: string, owner?: { uid: number; gid: number }): Promise<void> {
  const dir = ledgerDir(data);
  await mkdir(dir, { recursive: true, mode: 0o755 });
  if (owner) await chown(dir, owner.uid, owner.gid);
}

/** One mirror's entries; an absent or unreadable file is an empty ledger (it is rewritten whole). */
async function readMirror(data: string, mirror: string): Promise<Miss[]> {
  const text = await readFile(ledgerFile(data, mirror), 'utf8').catch(() => undefined);
  if (text === undefined) return [];
  try {
    return fileSchema.parse(JSON.parse(text)).misses.map((e) => ({ mirror, ...e }));
  } catch {
    log.warn('misses ledger unreadable, starting it again', { mirror, file: ledgerFile(data, mirror) });
    return [];
  }
}

/** Every mirror's misses (or those of `mirrors`), the most recent first. */
export async function readLedger(data: string, mirrors?: readonly string[]): Promise<Miss[]> {
  const names = mirrors ?? (await readdir(ledgerDir(data)).catch(() => [] as string[]))
    .filter((f) => f.endsWith('.json')).map((f) => f.slice(0, -'.json'.length));
  const all = (await Promise.all(names.map((m) => readMirror(data, m)))).flat();
  return all.sort((a, b) => b.last.localeCompare(a.last) || a.item.localeCompare(b.item));
}

/**
 * Read one mirror's entries, change them, write them back whole (bounded, most recent kept).
 * Writers are one serving process per mirror and `sync --misses`; a miss recorded in the
 * instant between another writer's read and rename can be lost, never the file.
 */
export async function updateLedger(data: string, mirror: string, change: (entries: Miss[]) => Miss[]): Promise<void> {
  const entries = change(await readMirror(data, mirror))
    .sort((a, b) => b.last.localeCompare(a.last))
    .slice(0, MAX_MISSES)
    .map(({ mirror: _, ...rest }) => rest);
  await writeFileAtomic(ledgerFile(data, mirror), `${JSON.stringify({ version: 1, misses: entries }, null, 1)}\n`);
}

/** Merge misses seen (item → count, first, last) into entries. */
function merge(entries: Miss[], mirror: string, seen: Map<string, { count: number; first: string; last: string }>): Miss[] {
  const byItem = new Map(entries.map((e) => [e.item, e]));
  for (const [item, s] of seen) {
    const old = byItem.get(item);
    byItem.set(item, old ? { ...old, count: old.count + s.count, last: s.last } : { mirror, item, first: s.first, last: s.last, count: s.count });
  }
  return [...byItem.values()];
}

export type LedgerWriter = {
  /** Note a miss; written within a moment, off the request's path. */
  record(item: string): void;
  /** Write what is pending now (on stop). */
  flush(): Promise<void>;
};

/**
 * A serving mirror's writer: misses are kept in memory and written every half second at most,
 * one write at a time. A ledger that cannot be written (a read-only data directory without the
 * misses directory) is one warning in the log, and serving goes on.
 */
export function createLedgerWriter(data: string, mirror: string, now: () => Date = () => new Date()): LedgerWriter {
  let pending = new Map<string, { count: number; first: string; last: string }>();
  let timer: NodeJS.Timeout | undefined;
  let writing: Promise<void> = Promise.resolve();
  let warned = false;

  // Temporary files a killed writer of this mirror left behind (a crash mid-write leaves one).
  let swept = false;
  const sweep = async (): Promise<void> => {
    if (swept) return;
    swept = true;
    const prefix = `${mirror}.json.tmp-`;
    const mine = `${prefix}${process.pid}-`;
    const names = await readdir(ledgerDir(data)).catch(() => [] as string[]);
    await Promise.all(names.filter((n) => n.startsWith(prefix) && !n.startsWith(mine)).map((n) => rm(join(ledgerDir(data), n), { force: true })));
  };

  const write = (): Promise<void> => {
    timer = undefined;
    if (pending.size === 0) return writing;
    const batch = pending;
    pending = new Map();
    writing = writing.then(sweep).then(() => updateLedger(data, mirror, (entries) => merge(entries, mirror, batch))).catch((err: NodeJS.ErrnoException) => {
      if (!warned) log.warn('misses not recorded', { mirror, dir: ledgerDir(data), code: err.code, error: err.message });
      warned = true;
    });
    return writing;
  };

  return {
    record(item) {
      const at = now().toISOString();
      const s = pending.get(item);
      pending.set(item, s ? { ...s, count: s.count + 1, last: at } : { count: 1, first: at, last: at });
      timer ??= setTimeout(write, FLUSH_MS).unref();
    },
    async flush() {
      if (timer) clearTimeout(timer);
      await write();
    },
  };
}

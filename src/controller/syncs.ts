/**
 * The syncs the controller runs: `sync()` from core/sync.ts, the CLI's own verb, in the background,
 * one at a time, each followed by whoever listens (the progress every half second and on each
 * phase change, then the report once). The last few finished syncs are kept, so a client that
 * connects after the end still gets the report.
 */
import { randomUUID } from 'node:crypto';
import { access, constants } from 'node:fs/promises';
import { sync, type SyncOptions, type SyncReport } from '../core/sync.ts';
import type { Config } from '../ecosystems/config.ts';
import { createProgress, type Progress, type ProgressSnapshot } from '../engine/progress.ts';
import { ForbiddenError, LockedError, isOfflineError } from '../foundation/errors.ts';
import { log } from '../foundation/log.ts';

/** Runs one sync; `sync` itself unless a test injects another. */
export type SyncRunner = (options: SyncOptions) => Promise<SyncReport>;

/** How a sync ended: its report, or the error that stopped it before it could make one. */
export type SyncOutcome = SyncReport | { ok: false; error: { code: string; message: string } };

export type SyncEvent = { event: 'progress'; data: ProgressSnapshot } | { event: 'done'; data: SyncOutcome };

export type SyncJob = {
  id: string;
  misses: boolean;
  startedAt: string;
  progress: Progress;
  /** Set once the sync has ended. */
  outcome?: SyncOutcome;
  /** Hear each event from now on; returns the function that stops it. */
  follow(listener: (event: SyncEvent) => void): () => void;
};

export type SyncSummary = { id: string; misses: boolean; startedAt: string; running: boolean; ok?: boolean };

export type Syncs = {
  /**
   * Start a sync and resolve with its id once it holds the data directory's lock.
   * @throws LockedError when this controller already runs one or another process holds the lock;
   * ForbiddenError when this process cannot write the data directory.
   */
  start(options: { misses: boolean }): Promise<SyncJob>;
  get(id: string): SyncJob | undefined;
  /** The running sync (if any) and the kept ones, newest first. */
  list(): SyncSummary[];
  /** Interrupt a running sync (it commits what is verified) and wait for it to end. */
  close(): Promise<void>;
};

/** Finished syncs kept for late listeners. */
const KEEP = 10;
/** How often a running sync's progress is sent to its listeners. */
const TICK_MS = 500;

export function createSyncs(config: Config, run: SyncRunner = sync): Syncs {
  const jobs: SyncJob[] = [];
  let running: { job: SyncJob; abort: AbortController; ended: Promise<void> } | undefined;

  async function start(options: { misses: boolean }): Promise<SyncJob> {
    if (running) throw new LockedError(`this controller is already running sync ${running.job.id}: follow it at /api/sync/${running.job.id}/events`);
    const abort = new AbortController();
    const listeners = new Set<(event: SyncEvent) => void>();
    const emit = (event: SyncEvent): void => listeners.forEach((listener) => listener(event));
    const progress = observed(createProgress(), () => emit({ event: 'progress', data: progress.snapshot() }));
    const job: SyncJob = {
      id: randomUUID(), misses: options.misses, startedAt: new Date().toISOString(), progress,
      follow(listener) {
        listeners.add(listener);
        return () => listeners.delete(listener);
      },
    };
    let locked!: () => void;
    const held = new Promise<void>((resolve) => (locked = resolve));
    const claim = { job, abort, ended: Promise.resolve() };
    running = claim; // before the first await: two requests at once cannot both start one
    try {
      await writable(config.data);
      const report = run({ config, progress, misses: options.misses, signal: abort.signal, onLocked: () => locked() });
      // The lock is the truth: a sync that fails before it holds the lock (held by another
      // process: LockedError) is refused, not started.
      const first = await Promise.race([held.then(() => undefined), report.then(() => undefined, (err: unknown) => ({ err }))]);
      if (first) throw first.err;
      const ticker = setInterval(() => emit({ event: 'progress', data: progress.snapshot() }), TICK_MS).unref();
      claim.ended = report.then((r): SyncOutcome => r, failed).then((outcome) => {
        clearInterval(ticker);
        job.outcome = outcome;
        emit({ event: 'done', data: outcome });
        listeners.clear();
        running = undefined;
      });
    } catch (err) {
      running = undefined;
      throw err;
    }
    jobs.unshift(job);
    // Keep the running one and the last KEEP finished.
    for (let i = jobs.length - 1; i > KEEP; i--) if (jobs[i]!.outcome) jobs.splice(i, 1);
    return job;
  }

  return {
    start,
    get: (id) => jobs.find((j) => j.id === id),
    list: () => jobs.map((j) => ({ id: j.id, misses: j.misses, startedAt: j.startedAt, running: !j.outcome, ...(j.outcome ? { ok: j.outcome.ok } : {}) })),
    async close() {
      running?.abort.abort(new Error('the controller is stopping'));
      await running?.ended;
    },
  };
}

/** A progress whose phase changes are also told to `onPhase` (the listeners hear them at once). */
function observed(inner: Progress, onPhase: () => void): Progress {
  return {
    ...inner,
    phase(name, total) {
      inner.phase(name, total);
      onPhase();
    },
  };
}

/** A sync that threw instead of reporting: its error, as the report's `ok: false`. */
function failed(err: unknown): SyncOutcome {
  if (!isOfflineError(err)) log.error('controller sync failed', { error: err instanceof Error ? err.stack : String(err) });
  return { ok: false, error: { code: isOfflineError(err) ? err.code : 'OFFLINE_ERR_INTERNAL', message: err instanceof Error ? err.message : String(err) } };
}

/** A sync writes the data directory: say so plainly when this process cannot. */
async function writable(data: string): Promise<void> {
  try {
    await access(data, constants.W_OK | constants.X_OK);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return; // the first sync makes it
    const uid = process.getuid?.();
    throw new ForbiddenError(`the controller runs as uid ${uid}, who cannot write ${data}: run \`offline sync\` as the data's owner, or set user: in the config to its owner so the controller runs as them`);
  }
}

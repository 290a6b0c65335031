import { join } from 'node:path';
import pLimit from 'p-limit';
import { MIRRORS } from '../ecosystems/index.ts';
import type { DownloadOutcome, EcosystemName, Failure, Mirror, MirrorPlan, Note } from '../ecosystems/types.ts';
import { download, type DownloadItem, type DownloadResult } from '../engine/download.ts';
import { createHttp, type HttpOptions } from '../engine/http.ts';
import { acquireLock } from '../engine/lock.ts';
import { readLedger, updateLedger, type Miss } from '../engine/misses.ts';
import { writeSyncRecord } from '../engine/sync-record.ts';
import { createProgress, type Progress } from '../engine/progress.ts';
import type { Config } from '../ecosystems/config.ts';
import { IntegrityError, describeError, isOfflineError } from '../foundation/errors.ts';
import { systemRunner, type Runner } from '../net/runner.ts';
import { buildStackImage, type StackImageReport } from './stack.ts';

export type SyncOptions = {
  config: Config;
  /** Downloads in flight at once, across all hosts. */
  concurrency?: number;
  http?: Partial<HttpOptions>;
  progress?: Progress;
  signal?: AbortSignal;
  /** Runs docker for the stack's image (tests inject one). */
  run?: Runner;
  /** Also fetch what the misses ledger lists (docs/adr/0015); what is mirrored leaves it. */
  misses?: boolean;
  /** Called once the data directory's lock is held (the controller answers "started" then). */
  onLocked?: () => void;
};

export type EcosystemReport = {
  name: EcosystemName;
  /** What the inputs named (packages, versions …). */
  summary: Record<string, number>;
  /** Files this sync needed to fetch. */
  planned: number;
  downloaded: number;
  /** Files already mirrored and verified by an earlier sync. */
  present: number;
  failed: number;
  bytes: number;
};

export type SyncReport = {
  ok: boolean;
  startedAt: string;
  durationMs: number;
  ecosystems: EcosystemReport[];
  failures: Failure[];
  notes: Note[];
  /** True when the sync was interrupted (SIGINT/SIGTERM); what finished is committed. */
  interrupted: boolean;
  /** The compose runtime's image, when the config has a `stack:` section (built when absent). */
  stack?: StackImageReport | { image?: string; error: string };
  /** With `misses`: the ledger's items this sync took, those mirrored and those that still fail. */
  misses?: { taken: number; mirrored: string[]; remaining: Array<{ mirror: string; item: string; reason: string }> };
};

/**
 * Sync every mirror the config names: plan (resolve inputs against upstreams), fetch (parallel,
 * retried, each file verified before it is renamed into place), commit (publish metadata that
 * references only verified files). Holds the data directory's lock throughout. Never throws for a
 * failed item: failures are collected in the report, whose `ok` is false when there are any.
 * Throws `LockedError` when another sync holds the data directory.
 */
export async function sync(options: SyncOptions): Promise<SyncReport> {
  const started = Date.now();
  const missed = options.misses ? await readLedger(options.config.data, options.config.mirrors) : [];
  const config = withMissedInputs(options.config, missed);
  const progress = options.progress ?? createProgress();
  const concurrency = options.concurrency ?? 32;
  const release = await acquireLock(config.data, 'offline sync');
  options.onLocked?.();
  const http = createHttp({ maxDocumentBytes: config.limits.document, ...options.http, signal: options.signal });
  const report: SyncReport = {
    ok: true, startedAt: new Date(started).toISOString(), durationMs: 0, ecosystems: [], failures: [], notes: [], interrupted: false,
  };
  try {
    const mirrors = MIRRORS.filter((m) => m.wanted(config));
    const fetcher = createFetcher({ http, progress, concurrency, signal: options.signal });
    const plans: Array<{ mirror: Mirror; plan: MirrorPlan }> = [];
    for (const mirror of mirrors) {
      const ctx = { config, dir: join(config.data, mirror.name), http, progress, concurrency, signal: options.signal, start: fetcher.start };
      plans.push({ mirror, plan: await mirror.plan(ctx).catch((err: unknown) => failedPlan(mirror.name, err)) });
    }
    const items = plans.flatMap(({ mirror, plan }) => plan.downloads.map((item) => ({ ecosystem: mirror.name, item })));
    const outcomes = await fetcher.collect(items);
    for (const { mirror, plan } of plans) {
      const mine = outcomes.filter((o) => o.ecosystem === mirror.name);
      const failures = [...plan.failures, ...mine.flatMap((o) => (o.status === 'failed' ? [o.failure] : []))];
      const committed = !options.signal?.aborted || mine.some((o) => o.status === 'downloaded');
      if (committed) failures.push(...(await plan.commit(mine).catch((err: unknown) => [internalFailure(mirror.name, 'commit', err)])));
      report.failures.push(...failures);
      report.notes.push(...plan.notes);
      const summary = summarize(mirror.name, plan, mine, failures.length);
      report.ecosystems.push(summary);
      // The engine's record of the sync, the same for every mirror (status reads it).
      if (committed) {
        await writeSyncRecord(join(config.data, mirror.name), {
          lastSync: new Date().toISOString(), ok: failures.length === 0, downloaded: summary.downloaded, bytes: summary.bytes, failed: failures.length,
        }).catch(() => undefined);
      }
    }
  } finally {
    await http.close().catch(() => undefined);
    await release();
  }
  report.interrupted = Boolean(options.signal?.aborted);
  if (options.misses && !report.interrupted) report.misses = await settleMisses(config, missed, report.failures);
  if (config.buildStack && !report.interrupted) {
    progress.phase('building the stack image', 1);
    report.stack = await buildStackImage(config, options.run ?? systemRunner).catch((err: unknown) => ({ error: describeError(err) }));
  }
  report.ok = report.failures.length === 0 && !report.interrupted && !(report.stack && 'error' in report.stack);
  report.durationMs = Date.now() - started;
  return report;
}

/** The config with each missed item added to its mirror's package input (`npm.packages` …). */
function withMissedInputs(config: Config, missed: Miss[]): Config {
  if (missed.length === 0) return config;
  const copy = structuredClone(config) as Config & Record<string, Record<string, unknown>>;
  for (const mirror of MIRRORS) {
    const items = missed.filter((m) => m.mirror === mirror.name).map((m) => m.item);
    if (items.length === 0) continue;
    const [section, key] = mirror.inputs.packages.key.split('.') as [string, string];
    const list = copy[section]![key] as string[];
    copy[section]![key] = [...list, ...items.filter((item) => !list.includes(item))];
  }
  return copy;
}

/**
 * After `sync --misses`: the items that were mirrored leave the ledger; those a failure names (by
 * the spec as the input lists it, or the package's name) stay with its message as the reason.
 */
async function settleMisses(config: Config, missed: Miss[], failures: Failure[]): Promise<NonNullable<SyncReport['misses']>> {
  const result: NonNullable<SyncReport['misses']> = { taken: missed.length, mirrored: [], remaining: [] };
  for (const mirror of MIRRORS) {
    const mine = missed.filter((m) => m.mirror === mirror.name);
    if (mine.length === 0) continue;
    const theirs = failures.filter((f) => f.ecosystem === mirror.name);
    const reason = (item: string): string | undefined => {
      const name = mirror.inputs.packages.name(item);
      const word = new RegExp(`(^|[^A-Za-z0-9@/._-])${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}([^A-Za-z0-9/_-]|$)`);
      return theirs.find((f) => f.item.includes(`"${item}"`) || f.item === `${mirror.name} plan` || word.test(f.item))?.message;
    };
    const outcome = new Map(mine.map((m) => [m.item, reason(m.item)]));
    for (const [item, why] of outcome) {
      if (why === undefined) result.mirrored.push(item);
      else result.remaining.push({ mirror: mirror.name, item, reason: why });
    }
    await updateLedger(config.data, mirror.name, (entries) => entries.flatMap((e) => {
      if (!outcome.has(e.item)) return [e];
      const why = outcome.get(e.item);
      return why === undefined ? [] : [{ ...e, reason: why }];
    }));
  }
  return result;
}

/** A plan that could not be made at all (a bug, or a failure the planner did not catch): one failure. */
function failedPlan(name: EcosystemName, err: unknown): MirrorPlan {
  return {
    downloads: [], present: 0, failures: [internalFailure(name, 'plan', err)], notes: [], summary: {},
    commit: async () => [],
  };
}

function internalFailure(ecosystem: EcosystemName, step: string, err: unknown): Failure {
  return { ecosystem, item: `${ecosystem} ${step}`, code: isOfflineError(err) ? err.code : 'OFFLINE_ERR_INTERNAL', message: describeError(err) };
}

type Tagged = { ecosystem: EcosystemName; item: DownloadItem };
type TaggedOutcome = DownloadOutcome & { ecosystem: EcosystemName };

type Fetched = DownloadResult | { failed: unknown };

/**
 * Downloads, `concurrency` at once, each destination fetched once: items with one destination (a
 * pacman `any` package listed for two architectures, a blob two images share) get that one
 * outcome; two that want one file with different digests are a failure, not a race. A plan may
 * `start` a download the moment it knows it (an npm tarball as its packument arrives: the plan and
 * the downloads overlap, docs/benchmarks.md); `collect` then waits for everything the plans list.
 */
function createFetcher(opts: { http: ReturnType<typeof createHttp>; progress: Progress; concurrency: number; signal?: AbortSignal }) {
  const byDest = new Map<string, { integrity: string | undefined; result: Promise<Fetched> }>();
  const limit = pLimit(opts.concurrency);
  // Until the downloading phase begins, finished items are counted here, not in the planning
  // phase's progress; the phase then starts with them done.
  let downloading = false;
  let doneEarly = 0;
  let failedEarly = 0;
  const fetchOnce = (item: DownloadItem) => limit(async (): Promise<Fetched> => {
    if (opts.signal?.aborted) return { failed: new Error('interrupted') };
    try {
      const result = await download(opts.http, item, (n) => opts.progress.bytes(n));
      if (downloading) opts.progress.itemDone();
      else doneEarly++;
      return result;
    } catch (err) {
      if (downloading) opts.progress.itemFailed();
      else failedEarly++;
      return { failed: err };
    }
  });
  const start = (item: DownloadItem): Promise<Fetched> => {
    const seen = byDest.get(item.dest);
    if (seen && seen.integrity !== item.integrity) {
      return Promise.resolve({ failed: new IntegrityError(item.url, item.integrity ?? 'none', `${seen.integrity ?? 'none'} (another item wants the same file)`) });
    }
    if (seen) return seen.result;
    const result = fetchOnce(item);
    byDest.set(item.dest, { integrity: item.integrity, result });
    return result;
  };
  return {
    start: (item: DownloadItem): Promise<boolean> => start(item).then((r) => !('failed' in r)),
    async collect(items: Tagged[]): Promise<TaggedOutcome[]> {
      opts.progress.phase('downloading', new Set(items.map(({ item }) => item.dest)).size);
      downloading = true;
      for (let i = 0; i < doneEarly; i++) opts.progress.itemDone();
      for (let i = 0; i < failedEarly; i++) opts.progress.itemFailed();
      return Promise.all(items.map(async ({ ecosystem, item }): Promise<TaggedOutcome> => {
        const r = await start(item);
        return 'failed' in r ? { ecosystem, item, status: 'failed', failure: failureOf(ecosystem, item, r.failed) } : { ecosystem, item, ...r };
      }));
    },
  };
}

function failureOf(ecosystem: EcosystemName, item: DownloadItem, err: unknown): Failure {
  const failure: Failure = {
    ecosystem,
    item: item.label,
    code: isOfflineError(err) ? err.code : 'OFFLINE_ERR_INTERNAL',
    message: describeError(err),
    url: item.url,
  };
  if (err instanceof IntegrityError) {
    failure.expected = err.expected;
    failure.actual = err.actual;
    failure.message = `integrity mismatch: expected ${err.expected}, got ${err.actual}; not stored`;
  }
  return failure;
}

/** Per-mirror counts; a file several items share counts once. */
function summarize(name: EcosystemName, plan: MirrorPlan, outcomes: DownloadOutcome[], failed: number): EcosystemReport {
  let downloaded = 0;
  let present = plan.present;
  let bytes = 0;
  const counted = new Set<string>();
  for (const o of outcomes) {
    if (counted.has(o.item.dest)) continue;
    counted.add(o.item.dest);
    if (o.status === 'downloaded') {
      downloaded++;
      bytes += o.bytes;
    } else if (o.status === 'present') present++;
  }
  return { name, summary: plan.summary, planned: counted.size, downloaded, present, failed, bytes };
}

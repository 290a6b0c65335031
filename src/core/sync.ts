import { join } from 'node:path';
import pLimit from 'p-limit';
import { MIRRORS } from '../ecosystems/index.ts';
import type { DownloadOutcome, EcosystemName, Failure, Mirror, MirrorPlan, Note } from '../ecosystems/types.ts';
import { download, type DownloadItem } from '../engine/download.ts';
import { createHttp, type HttpOptions } from '../engine/http.ts';
import { acquireLock } from '../engine/lock.ts';
import { createProgress, type Progress } from '../engine/progress.ts';
import type { Config } from './config.ts';
import { IntegrityError, describeError, isOfflineError } from './errors.ts';

export type SyncOptions = {
  config: Config;
  /** Downloads in flight at once, across all hosts. */
  concurrency?: number;
  http?: Partial<HttpOptions>;
  progress?: Progress;
  signal?: AbortSignal;
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
};

/**
 * Sync every mirror the config names: plan (resolve inputs against upstreams), fetch (parallel,
 * retried, each file verified before it is renamed into place), commit (publish metadata that
 * references only verified files). Holds the data directory's lock throughout. Never throws for a
 * failed item: failures are collected in the report, whose `ok` is false when there are any.
 * Throws `LockedError` when another sync holds the data directory.
 */
export async function sync(options: SyncOptions): Promise<SyncReport> {
  const { config } = options;
  const started = Date.now();
  const progress = options.progress ?? createProgress();
  const concurrency = options.concurrency ?? 32;
  const release = await acquireLock(config.data, 'offline sync');
  const http = createHttp({ ...options.http, signal: options.signal });
  const report: SyncReport = {
    ok: true, startedAt: new Date(started).toISOString(), durationMs: 0, ecosystems: [], failures: [], notes: [], interrupted: false,
  };
  try {
    const mirrors = MIRRORS.filter((m) => m.wanted(config));
    const plans: Array<{ mirror: Mirror; plan: MirrorPlan }> = [];
    for (const mirror of mirrors) {
      const ctx = { config, dir: join(config.data, mirror.name), http, progress, concurrency, signal: options.signal };
      plans.push({ mirror, plan: await mirror.plan(ctx) });
    }
    const items = plans.flatMap(({ mirror, plan }) => plan.downloads.map((item) => ({ ecosystem: mirror.name, item })));
    const outcomes = await fetchAll(items, { http, progress, concurrency, signal: options.signal });
    for (const { mirror, plan } of plans) {
      const mine = outcomes.filter((o) => o.ecosystem === mirror.name);
      const failures = [...plan.failures, ...mine.flatMap((o) => (o.status === 'failed' ? [o.failure] : []))];
      if (!options.signal?.aborted || mine.some((o) => o.status === 'downloaded')) failures.push(...(await plan.commit(mine)));
      report.failures.push(...failures);
      report.notes.push(...plan.notes);
      report.ecosystems.push(summarize(mirror.name, plan, mine, failures.length));
    }
  } finally {
    await http.close().catch(() => undefined);
    await release();
  }
  report.interrupted = Boolean(options.signal?.aborted);
  report.ok = report.failures.length === 0 && !report.interrupted;
  report.durationMs = Date.now() - started;
  return report;
}

type Tagged = { ecosystem: EcosystemName; item: DownloadItem };
type TaggedOutcome = DownloadOutcome & { ecosystem: EcosystemName };

async function fetchAll(
  items: Tagged[], opts: { http: ReturnType<typeof createHttp>; progress: Progress; concurrency: number; signal?: AbortSignal },
): Promise<TaggedOutcome[]> {
  opts.progress.phase('downloading', items.length);
  const limit = pLimit(opts.concurrency);
  return Promise.all(items.map(({ ecosystem, item }) => limit(async (): Promise<TaggedOutcome> => {
    if (opts.signal?.aborted) return { ecosystem, item, status: 'failed', failure: failureOf(ecosystem, item, new Error('interrupted')) };
    try {
      const result = await download(opts.http, item, (n) => opts.progress.bytes(n));
      opts.progress.itemDone();
      return { ecosystem, item, ...result };
    } catch (err) {
      opts.progress.itemFailed();
      return { ecosystem, item, status: 'failed', failure: failureOf(ecosystem, item, err) };
    }
  })));
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

function summarize(name: EcosystemName, plan: MirrorPlan, outcomes: DownloadOutcome[], failed: number): EcosystemReport {
  let downloaded = 0;
  let present = plan.present;
  let bytes = 0;
  for (const o of outcomes) {
    if (o.status === 'downloaded') {
      downloaded++;
      bytes += o.bytes;
    } else if (o.status === 'present') present++;
  }
  return { name, summary: plan.summary, planned: plan.downloads.length, downloaded, present, failed, bytes };
}

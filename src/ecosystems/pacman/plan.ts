import { join } from 'node:path';
import { describeError, isOfflineError } from '../../foundation/errors.ts';
import { writeFileAtomic } from '../../foundation/atomic.ts';
import { sriFromHex } from '../../engine/digest.ts';
import type { DownloadItem } from '../../engine/download.ts';
import type { DownloadOutcome, Failure, MirrorPlan, Note, SyncContext } from '../types.ts';
import { containedPath } from '../../foundation/contain.ts';
import { poolPath, publishGeneration, type RepoContent } from './generation.ts';
import { poolSegments } from './names.ts';
import { parseRepoDb } from './repo-db.ts';
import { resolvePacman } from './resolve.ts';
import type { PkgDesc, RepoDb } from './types.ts';
import { dbUrl, repoBase } from './upstream.ts';

export const STATE_FILE = 'state.json';

/** The upstream and the generation the last sync published. */
export type PacmanState = { upstream: string; generation: string };

/**
 * Plan a pacman sync: fetch each repo's sync database for each architecture, resolve
 * `pacman.packages` to their closure, and list the packages (and `.sig` files, where the database
 * does not carry the signature) not yet in the pool. The commit publishes a new generation only
 * when every package of the closure is verified on disk.
 */
export async function planPacman(ctx: SyncContext): Promise<MirrorPlan> {
  const { pacman } = ctx.config;
  const failures: Failure[] = [];
  const notes: Note[] = [];
  const downloads: DownloadItem[] = [];
  const content: RepoContent[] = [];
  ctx.progress.phase('pacman: reading databases', pacman.arch.length * pacman.repos.length);
  for (const arch of pacman.arch) {
    const dbs = await fetchDbs(ctx, arch, failures);
    // Nothing to resolve against: the databases' failures above say why.
    if (dbs.length === 0) continue;
    const { packages, problems } = resolvePacman(pacman.packages, dbs);
    for (const p of problems) failures.push({ ecosystem: 'pacman', item: `${p.item} (${arch})`, code: 'OFFLINE_ERR_RESOLVE', message: p.message });
    for (const db of dbs) {
      const mine = packages.filter((p) => p.repo === db.repo);
      content.push({ repo: db.repo, arch, packages: mine, signatures: new Set() });
      for (const pkg of mine) {
        const item = packageDownload(ctx, pkg, arch, failures);
        if (!item) continue;
        downloads.push(item);
        if (!pkg.pgpsig) downloads.push({ url: `${item.url}.sig`, dest: `${item.dest}.sig`, label: `${pkg.filename}.sig`, optional: true });
      }
    }
  }
  const planFailed = failures.length > 0;
  const count = content.reduce((n, c) => n + c.packages.length, 0);
  return {
    downloads,
    present: 0,
    failures,
    notes,
    summary: { packages: count, repos: pacman.repos.length, architectures: pacman.arch.length },
    commit: (outcomes) => commitPacman(ctx, content, outcomes, planFailed, notes),
  };
}

async function fetchDbs(ctx: SyncContext, arch: string, failures: Failure[]): Promise<RepoDb[]> {
  const dbs: RepoDb[] = [];
  for (const repo of ctx.config.pacman.repos) {
    const url = dbUrl(ctx.config.pacman.upstream, repo, arch);
    try {
      const bytes = await ctx.http.getBytes(url);
      if (!bytes) {
        failures.push({ ecosystem: 'pacman', item: `${repo} (${arch})`, code: 'OFFLINE_ERR_UPSTREAM', message: 'the upstream has no database for this repo', url });
        continue;
      }
      dbs.push(parseRepoDb(bytes, repo, url, ctx.config.limits.unpacked));
      ctx.progress.itemDone();
    } catch (err) {
      ctx.progress.itemFailed();
      failures.push({ ecosystem: 'pacman', item: `${repo} (${arch})`, code: isOfflineError(err) ? err.code : 'OFFLINE_ERR_UPSTREAM', message: describeError(err), url });
    }
  }
  return dbs;
}

function packageDownload(ctx: SyncContext, pkg: PkgDesc, arch: string, failures: Failure[]): DownloadItem | undefined {
  const label = `${pkg.repo}/${pkg.name} ${pkg.version} (${arch})`;
  if (!pkg.sha256) {
    failures.push({ ecosystem: 'pacman', item: label, code: 'OFFLINE_ERR_INTEGRITY', message: 'the database gives no %SHA256SUM% for this package, so it cannot be verified' });
    return undefined;
  }
  try {
    const [sha256, filename] = poolSegments(pkg);
    return {
      url: `${repoBase(ctx.config.pacman.upstream, pkg.repo, arch)}/${encodeURIComponent(filename)}`,
      dest: containedPath(ctx.dir, 'pacman package', 'pool', sha256, filename),
      integrity: sriFromHex('sha256', sha256),
      label,
      size: pkg.csize,
    };
  } catch (err) {
    failures.push({ ecosystem: 'pacman', item: label, code: isOfflineError(err) ? err.code : 'OFFLINE_ERR_INTERNAL', message: describeError(err) });
    return undefined;
  }
}

async function commitPacman(ctx: SyncContext, content: RepoContent[], outcomes: DownloadOutcome[], planFailed: boolean, notes: Note[]): Promise<Failure[]> {
  const failed = outcomes.filter((o) => o.status === 'failed' && !o.item.optional);
  if (planFailed || failed.length > 0 || ctx.signal?.aborted) {
    return [{
      ecosystem: 'pacman', item: 'generation', code: 'OFFLINE_ERR_RESOLVE',
      message: 'not published: the closure is incomplete (see the failures above); the previous generation is still served as it was',
    }];
  }
  const done = new Map(outcomes.map((o) => [o.item.dest, o.status]));
  for (const repo of content) {
    for (const pkg of repo.packages) {
      const sig = join(ctx.dir, `${poolPath(pkg)}.sig`);
      if (pkg.pgpsig) {
        await writeFileAtomic(sig, Buffer.from(pkg.pgpsig, 'base64'));
        repo.signatures.add(pkg.filename);
      } else if (done.get(sig) === 'downloaded' || done.get(sig) === 'present') {
        repo.signatures.add(pkg.filename);
      }
    }
    const unsigned = repo.packages.length - repo.signatures.size;
    if (unsigned > 0) notes.push({ ecosystem: 'pacman', message: `${repo.repo} (${repo.arch}): ${unsigned} package(s) have no signature upstream` });
  }
  const manifest = await publishGeneration(ctx.dir, content);
  const state: PacmanState = { upstream: ctx.config.pacman.upstream, generation: manifest.id };
  await writeFileAtomic(join(ctx.dir, STATE_FILE), JSON.stringify(state, null, 2));
  return [];
}

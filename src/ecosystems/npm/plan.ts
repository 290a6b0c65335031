import { join } from 'node:path';
import pLimit from 'p-limit';
import { describeError, isOfflineError } from '../../foundation/errors.ts';
import { fileMatches, isValidIntegrity, sriFromHex } from '../../engine/digest.ts';
import type { DownloadItem } from '../../engine/download.ts';
import type { Failure, MirrorPlan, Note, SyncContext } from '../types.ts';
import { commitNpm, publishPackument } from './commit.ts';
import { githubCommit, isPublished, readGitHubIndex, tarballKey, tarballPath, tarballUrl, whyNotMirrorable, type Fetched } from './github.ts';
import { readLockfile } from './lockfile.ts';
import { resolveSpecs, type Wanted } from './resolve.ts';
import { readPackument, type Manifest, type Packument } from './packument.ts';
import { packageDir, presentFiles, readStoredPackument, tarballFilename } from './storage.ts';
import { packageNameSegments } from './names.ts';
import { packumentUrl, resolveUpstream } from './upstream.ts';
import type { Unmirrorable } from './types.ts';

/**
 * Plan an npm sync: read every lockfile, resolve every spec to its closure, and list the tarballs
 * not yet mirrored. A lockfile entry already mirrored is settled from disk without contacting the
 * upstream, so a second sync of the same lockfiles makes no requests at all.
 */
export async function planNpm(ctx: SyncContext): Promise<MirrorPlan> {
  const resolved = await resolveUpstream(ctx.config);
  const upstream = resolved.url;
  const failures: Failure[] = [];
  const notes: Note[] = [];
  if (resolved.why) notes.push({ ecosystem: 'npm', message: `${resolved.why}; syncing from ${upstream} (set npm.upstream to choose)` });
  const fetched = new Map<string, Packument>();
  // Versions whose manifest upstream is unusable: a failure only for the versions asked for.
  const dropped = new Map<string, string>();
  const getPackument = packumentFetcher(ctx, upstream, fetched, failures, dropped);

  const wanted: Wanted[] = [];
  const unmirrorable: Unmirrorable[] = [];
  for (const [i, file] of ctx.config.npm.lockfiles.entries()) {
    try {
      const contents = await readLockfile(file);
      wanted.push(...contents.entries);
      unmirrorable.push(...contents.unmirrorable);
    } catch (err) {
      failures.push(failure(`npm.lockfiles[${i}]`, err));
    }
  }
  ctx.progress.phase('npm: resolving', 0);
  const specs = await resolveSpecs(ctx.config.npm.packages, getPackument);
  wanted.push(...specs.wanted);
  unmirrorable.push(...specs.unmirrorable);
  const skipped: string[] = [];
  for (const p of specs.problems) {
    if (p.optional) skipped.push(`${p.item}: ${p.message}`);
    else failures.push({ ecosystem: 'npm', item: p.item, code: 'OFFLINE_ERR_RESOLVE', message: p.message });
  }
  if (skipped.length > 0) notes.push({ ecosystem: 'npm', message: `${skipped.length} optional ${skipped.length === 1 ? 'dependency' : 'dependencies'} skipped (not installable upstream; npm skips them too)`, details: skipped });
  // Workspace links and file: dependencies come with the project: counted, never a problem.
  // A GitHub dependency pinned to a commit is mirrored as the tarball its client fetches; anything
  // else a lockfile pins outside the registry would be fetched from the internet: a failure.
  const downloads: DownloadItem[] = [];
  let present = 0;
  const local: string[] = [];
  const github = await readGitHubIndex(ctx.dir);
  const gitFetches = new Map<string, Fetched>();
  const seenCommits = new Set<string>();
  let commits = 0;
  for (const u of dedupeUnmirrorable(unmirrorable)) {
    if (u.kind === 'file' || u.kind === 'link' || u.kind === 'workspace') {
      local.push(`${u.source}: ${u.name} (${u.spec})`);
      continue;
    }
    const commit = u.kind === 'git' ? githubCommit(u.spec) : undefined;
    if (!commit) {
      const why = u.kind === 'git' ? `a git dependency offline cannot mirror: ${whyNotMirrorable(u.spec)}` : `a ${u.kind === 'remote-tarball' ? 'tarball URL' : u.kind} dependency, which offline cannot mirror yet`;
      failures.push({ ecosystem: 'npm', item: `${u.name} (${u.spec})`, code: 'OFFLINE_ERR_RESOLVE', message: `${u.source}: ${why}: the install would fetch it from the internet` });
      continue;
    }
    const dest = tarballPath(ctx.dir, commit);
    if (seenCommits.has(dest)) continue;
    seenCommits.add(dest);
    commits++;
    if (await isPublished(ctx.dir, github, commit, ctx.verifyPresent !== false)) {
      present++;
      continue;
    }
    // Fetched again after damage: verified against the digest it was first published with.
    const integrity = github[tarballKey(commit)]?.integrity;
    gitFetches.set(dest, { commit, name: u.name, path: dest, ...(integrity ? { integrity } : {}) });
    downloads.push({ url: tarballUrl(ctx.config.npm.github, commit), dest, label: `${u.name} (github:${commit.owner}/${commit.repo}#${commit.commit.slice(0, 7)})`, ...(integrity ? { integrity } : {}) });
  }
  if (local.length > 0) notes.push({ ecosystem: 'npm', message: `${local.length} workspace or local file: ${local.length === 1 ? 'dependency comes' : 'dependencies come'} with the project (nothing to mirror)`, details: local });

  const unique = dedupe(wanted);
  const isMirrored = mirroredChecker(ctx.dir, ctx.verifyPresent !== false);
  const byName = Map.groupBy(unique, (w) => w.name);
  // Packages published while other downloads still run, and the failures of doing so.
  const published = new Set<string>();
  const publishing: Promise<Failure | undefined>[] = [];
  await Promise.all([...byName].map(async ([name, versions]) => {
    const started = await Promise.all(versions.map(async (w) => {
      if (await isMirrored(w)) {
        present++;
        return true;
      }
      const item = await downloadFor(w, ctx.dir, getPackument, failures, dropped);
      if (!item) return false;
      downloads.push(item);
      // Its packument is in: fetch it now, while other packuments are still on their way.
      return ctx.start?.(item) ?? false;
    }));
    // Once every version of the package is on disk, publish it: the commit is then left with
    // the packages that failed and the last to land, not all of them (docs/benchmarks.md).
    publishing.push(Promise.all(started).then(async (stored) => {
      if (!stored.every(Boolean) || !fetched.has(name)) return undefined;
      published.add(name);
      return publishPackument(ctx.dir, name, fetched.get(name));
    }));
  }));
  const names = new Set(byName.keys());
  return {
    downloads,
    present,
    failures,
    notes,
    summary: { packages: names.size, versions: unique.length, ...(commits > 0 ? { 'GitHub commits': commits } : {}) },
    commit: async (outcomes) => {
      const early = (await Promise.all(publishing)).filter((f) => f !== undefined);
      return [...early, ...(await commitNpm({ dir: ctx.dir, upstream, fetched, outcomes, github: gitFetches, published }))];
    },
  };
}

function packumentFetcher(ctx: SyncContext, upstream: string, fetched: Map<string, Packument>, failures: Failure[], dropped: Map<string, string>) {
  const limit = pLimit(ctx.concurrency);
  const cache = new Map<string, Promise<Packument | undefined>>();
  return (name: string): Promise<Packument | undefined> => {
    let pending = cache.get(name);
    if (pending) return pending;
    ctx.progress.addTotal(1);
    pending = limit(async () => {
      let url: string | undefined;
      try {
        packageNameSegments(name);
        url = packumentUrl(upstream, name);
        const read = readPackument(await ctx.http.getJson(url), name);
        if (read) fetched.set(name, read.packument);
        for (const d of read?.dropped ?? []) dropped.set(d.slice(0, d.indexOf(':')), d.slice(d.indexOf(':') + 2));
        ctx.progress.itemDone();
        return read?.packument;
      } catch (err) {
        ctx.progress.itemFailed();
        failures.push({ ...failure(name, err), ...(url ? { url } : {}) });
        return undefined;
      }
    });
    cache.set(name, pending);
    return pending;
  };
}

async function downloadFor(
  w: Wanted, dir: string, getPackument: (name: string) => Promise<Packument | undefined>, failures: Failure[], dropped: Map<string, string>,
): Promise<DownloadItem | undefined> {
  const packument = await getPackument(w.name);
  if (!packument) {
    if (!failures.some((f) => f.item === w.name)) {
      failures.push({ ecosystem: 'npm', item: `${w.name}@${w.version}`, code: 'OFFLINE_ERR_UPSTREAM', message: `${w.name} is not on the upstream registry (${w.source})` });
    }
    return undefined;
  }
  const manifest = packument.versions[w.version];
  if (!manifest) {
    const unusable = dropped.get(`${w.name}@${w.version}`);
    const why = unusable ? `the upstream's manifest for it is unusable: ${unusable}` : 'it is not on the upstream registry';
    failures.push({ ecosystem: 'npm', item: `${w.name}@${w.version}`, code: 'OFFLINE_ERR_UPSTREAM', message: `version ${w.version}: ${why} (${w.source})` });
    return undefined;
  }
  const integrity = integrityOf(w, manifest);
  if (!integrity) {
    failures.push({ ecosystem: 'npm', item: `${w.name}@${w.version}`, code: 'OFFLINE_ERR_INTEGRITY', message: 'neither the lockfile nor the upstream gives a digest to verify the tarball against' });
    return undefined;
  }
  let dest: string;
  try {
    dest = join(packageDir(dir, w.name), tarballFilename(w.name, manifest));
  } catch (err) {
    failures.push({ ...failure(`${w.name}@${w.version}`, err), url: manifest.dist.tarball });
    return undefined;
  }
  return { url: manifest.dist.tarball, dest, integrity, label: `${w.name}@${w.version}` };
}

/**
 * Whether a version is already mirrored: the stored packument lists it and its tarball is on disk
 * (and, with `verify`, matches the digest `npm ci` will check, so a truncated or altered file is
 * fetched again). Each package's packument and directory are read once, however many versions.
 */
function mirroredChecker(dir: string, verify: boolean): (w: Wanted) => Promise<boolean> {
  const local = new Map<string, Promise<{ stored: Packument | undefined; files: Set<string> }>>();
  return async (w) => {
    let entry = local.get(w.name);
    if (!entry) {
      entry = Promise.all([readStoredPackument(dir, w.name), presentFiles(dir, w.name)]).then(([stored, files]) => ({ stored, files }));
      local.set(w.name, entry);
    }
    const { stored, files } = await entry;
    const manifest = stored?.versions?.[w.version];
    if (!manifest) return false;
    let file: string;
    try {
      file = tarballFilename(w.name, manifest);
    } catch {
      return false;
    }
    if (!files.has(file)) return false;
    return !verify || fileMatches(join(packageDir(dir, w.name), file), integrityOf(w, manifest));
  };
}

/** The lockfile's digest wins (it is what `npm ci` will check); else the upstream's. */
function integrityOf(w: Wanted, manifest: Manifest): string | undefined {
  if (isValidIntegrity(w.integrity)) return w.integrity;
  if (isValidIntegrity(manifest.dist.integrity)) return manifest.dist.integrity;
  if (manifest.dist.shasum && /^[0-9a-f]{40}$/i.test(manifest.dist.shasum)) return sriFromHex('sha1', manifest.dist.shasum);
  return undefined;
}

function dedupe(wanted: Wanted[]): Wanted[] {
  const byKey = new Map<string, Wanted>();
  for (const w of wanted) {
    const key = `${w.name}@${w.version}`;
    const prev = byKey.get(key);
    if (!prev || (!prev.integrity && w.integrity)) byKey.set(key, w);
  }
  return [...byKey.values()];
}

function dedupeUnmirrorable(list: Unmirrorable[]): Unmirrorable[] {
  const seen = new Set<string>();
  return list.filter((u) => !seen.has(`${u.name} ${u.spec}`) && seen.add(`${u.name} ${u.spec}`));
}

function failure(item: string, err: unknown): Failure {
  return { ecosystem: 'npm', item, code: isOfflineError(err) ? err.code : 'OFFLINE_ERR_INTERNAL', message: describeError(err) };
}

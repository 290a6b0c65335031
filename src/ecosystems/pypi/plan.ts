import pLimit from 'p-limit';
import { describeError, isOfflineError } from '../../foundation/errors.ts';
import { sriFromHex } from '../../engine/digest.ts';
import type { DownloadItem } from '../../engine/download.ts';
import type { Failure, MirrorPlan, Note, SyncContext } from '../types.ts';
import { candidates, type Candidate } from './candidates.ts';
import { commitPypi } from './commit.ts';
import { isLockfileName, readLockedFile } from './inputs.ts';
import { evaluateMarker, markerEnvironment } from './markers.ts';
import { fetchMetadata, parseMetadata, type CoreMetadata } from './metadata.ts';
import { parseRequirement } from './pep508.ts';
import { readRequirements } from './requirements.ts';
import { describeTarget, resolveTarget, type Provider } from './resolve.ts';
import { projectSegment } from './names.ts';
import { distPath } from './storage.ts';
import { tagRanks, type Target } from './tags.ts';
import type { LockedPackage, Requirement } from './types.ts';
import { fetchProject, type IndexFile, type IndexProject } from './upstream.ts';

/** One environment to resolve: a requirements file with its constraints, or the config's specs. */
type Environment = { source: string; requirements: Requirement[]; constraints: Requirement[] };

/**
 * Plan a PyPI sync: resolve every requirements file and the `pypi.packages` specs for each target
 * (`pypi.python` × `pypi.platforms`), take lockfiles' pins as they are, and list the files each
 * target installs. Each input is its own environment: two projects may pin different versions.
 */
export async function planPypi(ctx: SyncContext): Promise<MirrorPlan> {
  const { pypi } = ctx.config;
  const failures: Failure[] = [];
  const notes: Note[] = [];
  const targets: Target[] = pypi.python.flatMap((python) => pypi.platforms.map((platform) => ({ python, platform })));
  const provider = createProvider(ctx, failures);
  const environments: Environment[] = [];
  const locked: Array<{ source: string; packages: LockedPackage[] }> = [];

  for (const [i, file] of pypi.requirements.entries()) {
    try {
      if (isLockfileName(file)) {
        const contents = await readLockedFile(file);
        locked.push({ source: file, packages: contents.packages });
        notes.push(...contents.notes.map((message) => ({ ecosystem: 'pypi' as const, message })));
      } else {
        const contents = await readRequirements(file);
        environments.push({ source: file, requirements: contents.requirements, constraints: contents.constraints });
        notes.push(...contents.notes.map((message) => ({ ecosystem: 'pypi' as const, message })));
      }
    } catch (err) {
      failures.push(failure(`pypi.requirements[${i}]`, err));
    }
  }
  const specs: Requirement[] = [];
  for (const [i, spec] of pypi.packages.entries()) {
    try {
      specs.push(parseRequirement(spec, `pypi.packages[${i}] "${spec}"`));
    } catch (err) {
      failures.push(failure(`pypi.packages[${i}]`, err));
    }
  }
  if (specs.length > 0) environments.push({ source: 'pypi.packages', requirements: specs, constraints: [] });
  for (const env of environments) {
    for (const r of env.requirements.filter((q) => q.url)) notes.push({ ecosystem: 'pypi', message: `${r.source}: ${r.name} @ ${r.url} is a direct reference; no index mirror can serve it` });
    env.requirements = env.requirements.filter((q) => !q.url);
  }

  ctx.progress.phase('pypi: resolving', 0);
  const chosen = new Map<string, { name: string; files: Map<string, IndexFile> }>();
  const choose = (c: Candidate): void => {
    const entry = chosen.get(c.name) ?? { name: c.name, files: new Map() };
    entry.files.set(c.file.filename, c.file);
    chosen.set(c.name, entry);
  };
  for (const env of environments) {
    for (const target of targets) {
      try {
        for (const pin of await resolveTarget(env.requirements, env.constraints, target, provider)) choose(pin);
      } catch (err) {
        failures.push(failure(`${env.source} for ${describeTarget(target)}`, err));
      }
    }
  }
  for (const lock of locked) {
    for (const target of targets) {
      for (const pkg of lock.packages) {
        const item = `${pkg.source} for ${describeTarget(target)}`;
        try {
          const result = await lockedCandidate(pkg, target, provider);
          if (typeof result === 'string') failures.push({ ecosystem: 'pypi', item, code: 'OFFLINE_ERR_RESOLVE', message: result });
          else if (result) choose(result);
        } catch (err) {
          failures.push(failure(item, err));
        }
      }
    }
  }

  const downloads: DownloadItem[] = [];
  for (const [normalized, entry] of chosen) {
    for (const file of entry.files.values()) {
      if (!file.sha256) {
        failures.push({ ecosystem: 'pypi', item: file.filename, code: 'OFFLINE_ERR_INTEGRITY', message: 'the upstream index gives no sha256 for this file, so it cannot be verified', url: file.url });
        continue;
      }
      try {
        downloads.push({ url: file.url, dest: distPath(ctx.dir, normalized, file.filename), integrity: sriFromHex('sha256', file.sha256), label: file.filename, size: file.size });
      } catch (err) {
        failures.push({ ...failure(file.filename, err), url: file.url });
      }
    }
  }
  return {
    downloads,
    present: 0,
    failures,
    notes,
    summary: { projects: chosen.size, files: downloads.length, targets: targets.length },
    commit: () => commitPypi({
      dir: ctx.dir,
      unpackedLimit: ctx.config.limits.unpacked,
      upstream: pypi.upstream,
      targets: targets.map((t) => `${t.python}/${t.platform}`),
      chosen: new Map([...chosen].map(([n, e]) => [n, { name: e.name, files: [...e.files.values()] }])),
    }),
  };
}

/** The file a lockfile's pin installs on a target; a message when none does; undefined when its marker excludes the target. */
async function lockedCandidate(pkg: LockedPackage, target: Target, provider: Provider): Promise<Candidate | string | undefined> {
  if (pkg.marker && !evaluateMarker(pkg.marker, { ...markerEnvironment(target.python, target.platform), extra: '' })) return undefined;
  const project = await provider.project(pkg.normalized);
  if (!project) return `${pkg.name} is not on the upstream index`;
  const hashes = pkg.files.length > 0 ? new Set(pkg.files.map((f) => f.sha256)) : undefined;
  const found = candidates(project, pkg.normalized, { specifiers: [`==${pkg.version}`], hashes, pythonFull: `${target.python}.0`, ranks: tagRanks(target) });
  return found[0] ?? `no file of ${pkg.name} ${pkg.version} that the lockfile allows installs on ${describeTarget(target)}`;
}

/**
 * Project pages and metadata, each fetched once. A name that is not a normalized project name is
 * refused before any request; files an index lists under names that could lead elsewhere are
 * reported once per project and left out.
 */
function createProvider(ctx: SyncContext, failures: Failure[]): Provider {
  const limit = pLimit(ctx.concurrency);
  const projects = new Map<string, Promise<IndexProject | undefined>>();
  const metadata = new Map<string, Promise<CoreMetadata>>();
  async function fetchChecked(normalized: string): Promise<IndexProject | undefined> {
    projectSegment(normalized);
    const project = await limit(() => fetchProject(ctx.http, ctx.config.pypi.upstream, normalized));
    for (const r of project?.refused ?? []) {
      failures.push({ ecosystem: 'pypi', item: `${normalized}: ${JSON.stringify(r.filename)}`, code: 'OFFLINE_ERR_UNSAFE', message: `the index lists a file that is not mirrored: ${r.reason}` });
    }
    return project;
  }
  return {
    project(normalized) {
      let pending = projects.get(normalized);
      if (!pending) {
        ctx.progress.addTotal(1);
        pending = fetchChecked(normalized).finally(() => ctx.progress.itemDone());
        projects.set(normalized, pending);
      }
      return pending;
    },
    metadata(file) {
      let pending = metadata.get(file.url);
      if (!pending) {
        pending = limit(() => fetchMetadata(ctx.http, file, ctx.config.limits.unpacked)).then((bytes) => parseMetadata(bytes.toString('utf8')));
        metadata.set(file.url, pending);
      }
      return pending;
    },
  };
}

function failure(item: string, err: unknown): Failure {
  return { ecosystem: 'pypi', item, code: isOfflineError(err) ? err.code : 'OFFLINE_ERR_INTERNAL', message: describeError(err) };
}

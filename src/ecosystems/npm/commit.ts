import pLimit from 'p-limit';
import { describeError } from '../../foundation/errors.ts';
import type { DownloadOutcome, Failure } from '../types.ts';
import { publishGitHub, type Fetched } from './github.ts';
import type { Packument } from './packument.ts';
import { mergePackument, presentFiles, readStoredPackument, writePackument } from './storage.ts';

export type NpmState = { lastSync: string; upstream: string };

export const STATE_FILE = 'state.json';

type CommitInput = {
  dir: string;
  upstream: string;
  fetched: Map<string, Packument>;
  outcomes: DownloadOutcome[];
  /** The GitHub tarballs this sync planned, by destination. */
  github: Map<string, Fetched>;
  /** Packages already published while the downloads ran (`publishPackument`): not written again. */
  published?: ReadonlySet<string>;
};

/** Packuments written at once while publishing. */
const COMMIT_CONCURRENCY = 16;

/**
 * Publish a sync: rewrite the packument of every package this sync touched so that it lists
 * exactly the versions whose verified tarballs are on disk. Each packument is replaced atomically,
 * so verdaccio serves the old document or the new one, and never a version without its tarball.
 */
export async function commitNpm(input: CommitInput): Promise<Failure[]> {
  const touched = new Set<string>(input.fetched.keys());
  const github: Fetched[] = [];
  for (const o of input.outcomes) {
    const git = input.github.get(o.item.dest);
    if (git) {
      if (o.status === 'downloaded' || o.status === 'present') github.push(git);
    } else if (o.status === 'downloaded') {
      touched.add(nameOfLabel(o.item.label));
    }
  }
  const failures: Failure[] = [];
  for (const refused of await publishGitHub(input.dir, github)) {
    failures.push({ ecosystem: 'npm', item: refused.name, code: 'OFFLINE_ERR_INTEGRITY', message: refused.message });
  }
  // Packuments are independent files, each written and fsynced on its own: many at once keep
  // the disk's queue full instead of waiting out one fsync after another (docs/benchmarks.md).
  const limit = pLimit(COMMIT_CONCURRENCY);
  await Promise.all([...touched].filter((name) => !input.published?.has(name)).map((name) => limit(async () => {
    const failed = await publishPackument(input.dir, name, input.fetched.get(name));
    if (failed) failures.push(failed);
  })));
  return failures;
}

/**
 * Rewrite one package's packument to list exactly the versions whose verified tarballs are on
 * disk, with what the upstream's `fetched` packument says of them; replaced atomically. The
 * commit does it for every package a sync touched, or the plan for a package as soon as all its
 * downloads have landed. Returns the failure, if any.
 */
export async function publishPackument(dir: string, name: string, fetched: Packument | undefined): Promise<Failure | undefined> {
  try {
    const stored = await readStoredPackument(dir, name);
    const merged = mergePackument(name, fetched, stored, await presentFiles(dir, name));
    if (merged) await writePackument(dir, merged);
    return undefined;
  } catch (err) {
    return { ecosystem: 'npm', item: name, code: 'OFFLINE_ERR_INTERNAL', message: `cannot write packument: ${describeError(err)}` };
  }
}

/** `@s/a@1.0.0` → `@s/a`. */
function nameOfLabel(label: string): string {
  const at = label.lastIndexOf('@');
  return at > 0 ? label.slice(0, at) : label;
}

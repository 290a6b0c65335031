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
  await Promise.all([...touched].map((name) => limit(async () => {
    try {
      const stored = await readStoredPackument(input.dir, name);
      const merged = mergePackument(name, input.fetched.get(name), stored, await presentFiles(input.dir, name));
      if (merged) await writePackument(input.dir, merged);
    } catch (err) {
      failures.push({ ecosystem: 'npm', item: name, code: 'OFFLINE_ERR_INTERNAL', message: `cannot write packument: ${describeError(err)}` });
    }
  })));
  return failures;
}

/** `@s/a@1.0.0` → `@s/a`. */
function nameOfLabel(label: string): string {
  const at = label.lastIndexOf('@');
  return at > 0 ? label.slice(0, at) : label;
}

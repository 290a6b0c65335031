import { join } from 'node:path';
import { describeError } from '../../foundation/errors.ts';
import { writeFileAtomic } from '../../foundation/atomic.ts';
import type { Failure } from '../types.ts';
import { distPath, ensureWheelMetadata, readStoredProject, sizeOf, writeStoredProject, type StoredFile } from './storage.ts';
import type { IndexFile } from './upstream.ts';

export const STATE_FILE = 'state.json';

/** What the last sync resolved for: the index and the targets (Python × platform). */
export type PypiState = { upstream: string; targets: string[] };

export type CommitInput = {
  dir: string;
  /** `limits.unpacked`: the largest METADATA extracted from a wheel. */
  unpackedLimit: number;
  upstream: string;
  targets: string[];
  /** normalized name → display name and the index files this sync chose. */
  chosen: Map<string, { name: string; files: IndexFile[] }>;
};

/**
 * Publish a sync: for every project touched, rewrite its page to list exactly the verified files
 * on disk (this sync's and earlier ones'), with PEP 658 metadata extracted from each wheel. Each
 * page is replaced atomically, so the index never lists a file that is not there.
 */
export async function commitPypi(input: CommitInput): Promise<Failure[]> {
  const failures: Failure[] = [];
  for (const [normalized, { name, files }] of input.chosen) {
    try {
      const stored = await readStoredProject(input.dir, normalized);
      const byName = new Map<string, StoredFile>((stored?.files ?? []).map((f) => [f.filename, f]));
      for (const f of files) {
        if (!f.sha256) continue;
        byName.set(f.filename, {
          filename: f.filename, sha256: f.sha256, size: 0, requiresPython: f.requiresPython, yanked: f.yanked, uploadTime: f.uploadTime,
        });
      }
      const present: StoredFile[] = [];
      for (const file of byName.values()) {
        const path = distPath(input.dir, normalized, file.filename);
        const size = await sizeOf(path);
        if (size === undefined) continue;
        const metadataSha256 = file.filename.endsWith('.whl') ? await ensureWheelMetadata(path, input.unpackedLimit) : undefined;
        present.push({ ...file, size, ...(metadataSha256 ? { metadataSha256 } : {}) });
      }
      if (present.length === 0) continue;
      present.sort((a, b) => a.filename.localeCompare(b.filename));
      await writeStoredProject(input.dir, normalized, { name: stored?.name ?? name, files: present });
    } catch (err) {
      failures.push({ ecosystem: 'pypi', item: normalized, code: 'OFFLINE_ERR_INTERNAL', message: `cannot write the project page: ${describeError(err)}` });
    }
  }
  const state: PypiState = { upstream: input.upstream, targets: input.targets };
  await writeFileAtomic(join(input.dir, STATE_FILE), JSON.stringify(state, null, 2));
  return failures;
}

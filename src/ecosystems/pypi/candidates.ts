import { compare, satisfies, valid } from '@renovatebot/pep440';
import { explain } from '@renovatebot/pep440';
import { parseWheelFilename, sdistVersion, wheelRank, type Target } from './tags.ts';
import type { IndexFile, IndexProject } from './upstream.ts';

/** A version of a project and the one file of it that the target would install. */
export type Candidate = { name: string; version: string; file: IndexFile };

export type CandidateFilter = {
  /** Every specifier the version must satisfy ('' is any). */
  specifiers: string[];
  /** When set, only files with one of these sha256 digests qualify (`--hash` pins). */
  hashes?: Set<string>;
  /** The target's full Python version for Requires-Python (`3.12.0`). */
  pythonFull: string;
  ranks: Map<string, number>;
};

/** The version a distribution file carries, from its name. */
export function fileVersion(filename: string, normalized: string): string | undefined {
  return parseWheelFilename(filename)?.version ?? sdistVersion(filename, normalized);
}

/**
 * Versions of a project that could be installed on a target, best first: highest version, and for
 * each the best-ranked wheel for the target's tags, else an sdist. Honours Requires-Python,
 * PEP 592 yanking (a yanked file only for an exact `==` pin), hash pins, and PEP 440 pre-release
 * rules (pre-releases only when asked for or when nothing else qualifies).
 */
export function candidates(project: IndexProject, normalized: string, filter: CandidateFilter): Candidate[] {
  const byVersion = new Map<string, IndexFile[]>();
  for (const file of project.files) {
    const version = fileVersion(file.filename, normalized);
    if (!version || !valid(version)) continue;
    byVersion.set(version, [...(byVersion.get(version) ?? []), file]);
  }
  const versions = [...byVersion.keys()].filter((v) => filter.specifiers.every((s) => !s || satisfies(v, s)));
  versions.sort((a, b) => compare(b, a));
  const wantsPre = filter.specifiers.some((s) => /\d(a|b|rc|\.dev)\d*/i.test(s));
  const finals = versions.filter((v) => !explain(v)?.is_prerelease);
  const pool = wantsPre || finals.length === 0 ? versions : finals;
  const out: Candidate[] = [];
  for (const version of pool) {
    const pinned = filter.specifiers.some((s) => new RegExp(`^\\s*===?\\s*${version.replace(/[.+]/g, '\\$&')}\\s*$`).test(s));
    const file = bestFile(byVersion.get(version)!, filter, pinned);
    if (file) out.push({ name: normalized, version, file });
  }
  return out;
}

function bestFile(files: IndexFile[], filter: CandidateFilter, pinned: boolean): IndexFile | undefined {
  let best: IndexFile | undefined;
  let bestRank = Infinity;
  let sdist: IndexFile | undefined;
  for (const file of files) {
    if (file.yanked && !pinned) continue;
    if (filter.hashes && (!file.sha256 || !filter.hashes.has(file.sha256))) continue;
    if (file.requiresPython && !pythonOk(filter.pythonFull, file.requiresPython)) continue;
    const wheel = parseWheelFilename(file.filename);
    if (!wheel) {
      if (!sdist || (file.filename.endsWith('.tar.gz') && !sdist.filename.endsWith('.tar.gz'))) sdist = file;
      continue;
    }
    const rank = wheelRank(wheel, filter.ranks);
    if (rank !== undefined && rank < bestRank) {
      best = file;
      bestRank = rank;
    }
  }
  return best ?? sdist;
}

/** Requires-Python as indexes write it; an unparseable one is ignored, as pip does. */
export function pythonOk(pythonFull: string, requiresPython: string): boolean {
  try {
    return satisfies(pythonFull, requiresPython.replace(/\s+/g, ''));
  } catch {
    return true;
  }
}

export type { Target };

/**
 * GitHub git dependencies, mirrored as the tarballs clients fetch for them. npm installs a GitHub
 * dependency pinned to a commit (`git+ssh://git@github.com/o/r.git#<sha>`) from
 * `https://codeload.github.com/o/r/tar.gz/<sha>` (pacote's hosted-git path; a clone only when that
 * fails), and yarn 1 and pnpm record that URL in their lockfiles. So sync fetches exactly that
 * URL, and the mirror answers it for `codeload.github.com` on the isolated network (docs/adr/0009).
 * A file is served only once it is listed in the index, with the digest it was verified against.
 */
import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createGunzip } from 'node:zlib';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Parser } from 'tar';
import { writeFileAtomic } from '../../foundation/atomic.ts';
import { containedPath } from '../../foundation/contain.ts';
import { fileMatches, isValidIntegrity, sriFromFile } from '../../engine/digest.ts';

export type GitHubCommit = { owner: string; repo: string; commit: string };

/** The name GitHub's tarballs are answered for on the isolated network. */
export const CODELOAD_HOST = 'codeload.github.com';
export const CODELOAD = `https://${CODELOAD_HOST}/`;

const OWNER = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$/;
const REPO = /^[A-Za-z0-9_.-]{1,100}$/;
const COMMIT = /^[0-9a-f]{40}$/;

/**
 * The GitHub repository and pinned commit a lockfile's git spec or resolution names, in every
 * form npm, yarn 1 and pnpm write: `git+ssh://git@github.com/o/r.git#sha`, `git+https://…`,
 * `git://…`, `git@github.com:o/r.git#sha`, `github:o/r#sha`, `o/r#sha`, and
 * `https://codeload.github.com/o/r/tar.gz/sha`. Undefined when it is not GitHub, or pins no full
 * commit (a branch or tag moves; only a commit can be mirrored), or a name is not one GitHub allows.
 */
export function githubCommit(spec: string): GitHubCommit | undefined {
  let owner: string | undefined;
  let repo: string | undefined;
  let commit: string | undefined;
  const codeload = /^https:\/\/codeload\.github\.com\/([^/]+)\/([^/]+)\/tar\.gz\/([^/?#]+)(?:#[0-9a-f]*)?$/.exec(spec);
  const url = /^(?:git\+)?(?:ssh:\/\/git@|https:\/\/|git:\/\/|git\+ssh:\/\/git@)github\.com\/([^/]+)\/([^/#]+?)(?:\.git)?#(.+)$/.exec(spec);
  const scp = /^(?:git\+ssh:\/\/)?git@github\.com:([^/]+)\/([^/#]+?)(?:\.git)?#(.+)$/.exec(spec);
  const short = /^(?:github:)?([^/:@#]+)\/([^/#]+)#(.+)$/.exec(spec);
  const m = codeload ?? url ?? scp ?? short;
  if (m) [, owner, repo, commit] = m;
  if (!owner || !repo || !commit) return undefined;
  commit = commit.replace(/^commit=/, '');
  if (!OWNER.test(owner) || !REPO.test(repo) || repo === '.' || repo === '..' || !COMMIT.test(commit)) return undefined;
  return { owner, repo, commit };
}

/** Why `githubCommit` found nothing to mirror, in words for a failure message. */
export function whyNotMirrorable(spec: string): string {
  if (!/github/.test(spec) && !/^[^/:@#]+\/[^/#]+(#.*)?$/.test(spec)) return 'only GitHub dependencies pinned to a commit are mirrored (other git hosts are cloned with git)';
  return 'it pins no full commit (a branch or tag can move; relock so the lockfile records the commit)';
}

export function tarballKey(c: GitHubCommit): string {
  return `${c.owner}/${c.repo}/${c.commit}`;
}

/** Where sync fetches a commit's tarball: codeload's path on `base` (GitHub's own by default). */
export function tarballUrl(base: string, c: GitHubCommit): string {
  return `${base.endsWith('/') ? base : `${base}/`}${c.owner}/${c.repo}/tar.gz/${c.commit}`;
}

function githubRoot(dir: string): string {
  return join(dir, 'github');
}

/** `<npm dir>/github/<owner>/<repo>/<commit>.tar.gz`, each segment checked. @throws UnsafeInputError. */
export function tarballPath(dir: string, c: GitHubCommit): string {
  return containedPath(githubRoot(dir), 'GitHub repository', c.owner, c.repo, `${c.commit}.tar.gz`);
}

/** What the mirror publishes: each tarball by key, with the digest it was verified against. */
export type GitHubIndex = Record<string, { integrity: string; size: number; name: string }>;

export async function readGitHubIndex(dir: string): Promise<GitHubIndex> {
  const text = await readFile(join(githubRoot(dir), 'index.json'), 'utf8').catch(() => undefined);
  if (text === undefined) return {};
  try {
    const doc = JSON.parse(text) as unknown;
    return typeof doc === 'object' && doc !== null && !Array.isArray(doc) ? (doc as GitHubIndex) : {};
  } catch {
    return {};
  }
}

/** True when the tarball is published and its file still matches the digest it was published with. */
export async function isPublished(dir: string, index: GitHubIndex, c: GitHubCommit, verify: boolean): Promise<boolean> {
  const entry = index[tarballKey(c)];
  if (!entry || !isValidIntegrity(entry.integrity)) return false;
  const path = tarballPath(dir, c);
  return verify ? fileMatches(path, entry.integrity) : fileMatches(path, undefined);
}

/**
 * Whether a downloaded file is a whole gzip-compressed tar archive (codeload sends nothing else);
 * a truncated or substituted body fails here rather than in the client's extraction.
 */
async function isTarGz(path: string): Promise<boolean> {
  try {
    let entries = 0;
    const parser = new Parser({ strict: true, onReadEntry: (entry) => { entries++; entry.resume(); } });
    await pipeline(createReadStream(path), createGunzip(), parser);
    return entries > 0;
  } catch {
    return false;
  }
}

export type Fetched = { commit: GitHubCommit; name: string; path: string; integrity?: string };

/**
 * Publish the tarballs this sync fetched: each must be a whole tar.gz; its digest is the
 * lockfile's when it gave one (the download was verified against it), else computed now and kept,
 * so later syncs and `check` can tell a damaged file. The index is replaced atomically.
 * Returns the keys that were not publishable.
 */
export async function publishGitHub(dir: string, fetched: Fetched[]): Promise<Array<{ key: string; name: string; message: string }>> {
  if (fetched.length === 0) return [];
  const index = await readGitHubIndex(dir);
  const refused: Array<{ key: string; name: string; message: string }> = [];
  for (const f of fetched) {
    const key = tarballKey(f.commit);
    if (!(await isTarGz(f.path))) {
      refused.push({ key, name: f.name, message: `${tarballUrl(CODELOAD, f.commit)} did not give a whole tar.gz archive; not served` });
      continue;
    }
    const computed = await sriFromFile(f.path);
    index[key] = { integrity: isValidIntegrity(f.integrity) ? f.integrity : computed.integrity, size: computed.size, name: f.name };
  }
  await writeFileAtomic(join(githubRoot(dir), 'index.json'), `${JSON.stringify(index, null, 2)}\n`);
  return refused;
}

/**
 * The published tarball a codeload path (`/o/r/tar.gz/<sha>`) asks for, or undefined: anything
 * else, or anything not in the index, is not served.
 */
export function publishedPath(dir: string, index: GitHubIndex, pathname: string): string | undefined {
  const c = githubCommit(`https://${CODELOAD_HOST}${pathname}`);
  if (!c || !index[tarballKey(c)]) return undefined;
  return tarballPath(dir, c);
}

import { readdir, readFile } from 'node:fs/promises';
import { join, posix } from 'node:path';
import semver from 'semver';
import { createJsonCache } from '../../foundation/json-cache.ts';
import { writeFileAtomic } from '../../foundation/atomic.ts';
import { containedPath } from '../../foundation/contain.ts';
import { checkTarballFilename, packageNameSegments } from './names.ts';
import type { Manifest, Packument } from './packument.ts';

/**
 * verdaccio's storage layout, written directly (see docs/adr/0002): `storage/<name>/package.json`
 * holds the packument and `<file>.tgz` sits beside it; scoped names nest as `storage/@s/n/`.
 */
export function storageRoot(dir: string): string {
  return join(dir, 'storage');
}

/**
 * A package's directory in the storage. The name is validated as npm validates it and the path
 * checked to stay inside the storage. @throws UnsafeInputError.
 */
export function packageDir(dir: string, name: string): string {
  return containedPath(storageRoot(dir), 'npm package name', ...packageNameSegments(name));
}

/**
 * The file name a version's tarball is stored under: the last segment of its upstream URL, which
 * is what verdaccio looks up when it rewrites tarball URLs to itself, decoded once and then
 * checked to be a plain `.tgz` name (`..%2F..%2Fx.tgz` is refused, not written).
 * @throws UnsafeInputError.
 */
export function tarballFilename(name: string, manifest: Pick<Manifest, 'version' | 'dist'>): string {
  let last: string | undefined;
  try {
    last = new URL(manifest.dist.tarball).pathname.split('/').pop();
  } catch {
    // not a URL: fall back to the registry's convention
  }
  if (last && /\.tgz$/i.test(last)) {
    let decoded: string;
    try {
      decoded = decodeURIComponent(last);
    } catch {
      decoded = last;
    }
    return checkTarballFilename(decoded, name);
  }
  return checkTarballFilename(`${posix.basename(name)}-${manifest.version}.tgz`, name);
}

/** `tarballFilename`, or undefined where it refuses (a stored or upstream version to leave out). */
function safeTarballFilename(name: string, manifest: Pick<Manifest, 'version' | 'dist'>): string | undefined {
  try {
    return tarballFilename(name, manifest);
  } catch {
    return undefined;
  }
}

const servedPackuments = createJsonCache<Packument>();

/**
 * The stored packument of `name` as the mirror serves it: parsed once and kept while the file is
 * unchanged (a sync replaces it by rename, seen by the next request). Shared between requests:
 * callers must not change it. Undefined when not mirrored, or not a package name.
 */
export function servedPackument(dir: string, name: string): Promise<Packument | undefined> {
  return servedPackuments(() => join(packageDir(dir, name), 'package.json'));
}

/** The stored packument, or undefined when there is none (or the name is not a package name). */
export async function readStoredPackument(dir: string, name: string): Promise<Packument | undefined> {
  try {
    return JSON.parse(await readFile(join(packageDir(dir, name), 'package.json'), 'utf8')) as Packument;
  } catch {
    return undefined;
  }
}

/** Names of the files present in a package's directory. */
export async function presentFiles(dir: string, name: string): Promise<Set<string>> {
  let files: string[];
  try {
    files = await readdir(packageDir(dir, name));
  } catch {
    files = [];
  }
  return new Set(files);
}

/**
 * The packument to serve: the versions whose verified tarball is on disk, from the fresh upstream
 * document where there is one and the stored one otherwise, so earlier syncs' versions are kept.
 * Dist-tags that point at versions not mirrored are dropped; `latest` then names the highest
 * mirrored stable version, so `npm install <name>` resolves to something that is here.
 */
export function mergePackument(name: string, upstream: Packument | undefined, stored: Packument | undefined, files: Set<string>): Packument | undefined {
  const versions: Record<string, Manifest> = {};
  const attachments: Record<string, { shasum?: string; version: string }> = {};
  for (const source of [stored, upstream]) {
    for (const [version, manifest] of Object.entries(source?.versions ?? {})) {
      const file = safeTarballFilename(name, manifest);
      if (!file || !files.has(file)) continue;
      versions[version] = manifest;
      attachments[file] = { shasum: manifest.dist.shasum, version };
    }
  }
  const kept = Object.keys(versions);
  if (kept.length === 0) return undefined;
  const tags: Record<string, string> = {};
  for (const [tag, version] of Object.entries({ ...stored?.['dist-tags'], ...upstream?.['dist-tags'] })) {
    if (versions[version]) tags[tag] = version;
  }
  if (!tags.latest) tags.latest = highestStable(kept);
  const time: Record<string, string> = {};
  for (const [key, value] of Object.entries({ ...stored?.time, ...upstream?.time })) {
    if (key === 'created' || key === 'modified' || versions[key]) time[key] = value;
  }
  const base = upstream ?? stored!;
  return {
    ...base,
    name,
    versions,
    'dist-tags': tags,
    time,
    _uplinks: {},
    _distfiles: {},
    _attachments: attachments,
    _rev: `${kept.length}-offline`,
  };
}

function highestStable(versions: string[]): string {
  const valid = versions.filter((v) => semver.valid(v));
  const stable = valid.filter((v) => !semver.prerelease(v));
  const pool = stable.length > 0 ? stable : valid.length > 0 ? valid : versions;
  return semver.rsort([...pool].filter((v) => semver.valid(v)))[0] ?? pool[0]!;
}

export async function writePackument(dir: string, packument: Packument): Promise<void> {
  await writeFileAtomic(join(packageDir(dir, packument.name), 'package.json'), JSON.stringify(packument));
}

/** Every package name in the storage, scoped ones as `@scope/name`. */
export async function listPackages(dir: string): Promise<string[]> {
  const root = storageRoot(dir);
  const names: string[] = [];
  for (const entry of await readdir(root, { withFileTypes: true }).catch(() => [])) {
    if (!entry.isDirectory() || entry.name.startsWith('.')) continue;
    if (!entry.name.startsWith('@')) {
      names.push(entry.name);
      continue;
    }
    for (const inner of await readdir(join(root, entry.name), { withFileTypes: true })) {
      if (inner.isDirectory()) names.push(`${entry.name}/${inner.name}`);
    }
  }
  return names.sort();
}

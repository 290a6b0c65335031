/**
 * Helpers the npm, yarn and pnpm lockfile parsers share: shape checks, classifying a dependency
 * spec that no registry can serve, recognising a registry tarball URL, and deduplication.
 */
import { valid } from 'semver';
import { InputError } from '../../foundation/errors.ts';
import type { LockEntry, LockfileContents, Unmirrorable, UnmirrorableKind } from './types.ts';

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** True for an exact semver version as a registry publishes it (`1.2.3`, `2.0.0-rc.1`), not `v1.2.3`. */
export function isExactVersion(version: string): boolean {
  return /^\d/.test(version) && valid(version) !== null;
}

/** `packages["node_modules/a"]`: a map key quoted the way the messages show it. */
export function keyLabel(map: string, key: string): string {
  return `${map}[${JSON.stringify(key)}]`;
}

/**
 * Reads an optional string field.
 * @throws InputError naming the file and entry when the field is present but not a string.
 */
export function optionalString(
  record: Record<string, unknown>,
  field: string,
  file: string,
  entry: string,
): string | undefined {
  const value = record[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw new InputError(file, entry, `${field} is not a string`);
  return value;
}

const GIT_PREFIX = /^(git\+|git:\/\/|git@|ssh:\/\/|github:|gitlab:|bitbucket:|gist:)/;
const GIT_HOSTED_HTTP = /^https?:\/\/(codeload\.github\.com|github\.com|gitlab\.com|bitbucket\.org)\//;
// npm's GitHub shorthand: `user/repo` or `user/repo#ref`.
const GITHUB_SHORTHAND = /^[\w.-]+\/[\w.-]+(#.*)?$/;

/**
 * Which kind of unmirrorable dependency a spec, version or resolution names, or undefined when it
 * looks like a registry range or version. Every http(s) URL that is not a git host is
 * 'remote-tarball'; callers that accept registry tarball URLs check `isRegistryTarballUrl` first.
 */
export function classifySpec(spec: string): UnmirrorableKind | undefined {
  if (GIT_PREFIX.test(spec)) return 'git';
  if (/^https?:\/\//.test(spec)) {
    if (GIT_HOSTED_HTTP.test(spec) || /\.git(#.*)?$/.test(spec) || spec.includes('#commit=')) return 'git';
    return 'remote-tarball';
  }
  if (/^(file:|portal:|\.{0,2}\/|~\/)/.test(spec)) return 'file';
  if (spec.startsWith('link:')) return 'link';
  if (spec.startsWith('workspace:')) return 'workspace';
  if (spec.startsWith('exec:')) return 'other';
  if (GITHUB_SHORTHAND.test(spec)) return 'git';
  return undefined;
}

/**
 * True when `url` is the registry tarball of `name@version`: its path ends with
 * `<name>/-/<basename>-<version>.tgz` (npmjs, yarnpkg, verdaccio, most proxies), scoped names
 * possibly written `@scope%2fname`.
 */
export function isRegistryTarballUrl(url: string, name: string, version: string): boolean {
  let pathname: string;
  try {
    const parsed = new URL(url);
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') return false;
    pathname = decodeURIComponent(parsed.pathname);
  } catch {
    return false;
  }
  const base = name.startsWith('@') ? name.slice(name.indexOf('/') + 1) : name;
  return (
    pathname.endsWith(`/${name}/-/${base}-${version}.tgz`) || pathname.endsWith(`/${name}/-/${name}-${version}.tgz`)
  );
}

/** Splits `name@rest` where name may be scoped (`@s/a@npm:1.0.0`); undefined when there is no `@`. */
export function splitAtName(text: string): { name: string; rest: string } | undefined {
  const at = text.indexOf('@', 1);
  if (at <= 0) return undefined;
  return { name: text.slice(0, at), rest: text.slice(at + 1) };
}

/**
 * Keeps one entry per name@version (the first that records an integrity, else the first) in
 * first-seen order, and one unmirrorable per name, spec and kind.
 */
export function dedupe(contents: LockfileContents): LockfileContents {
  const entries = new Map<string, LockEntry>();
  for (const entry of contents.entries) {
    const key = `${entry.name}@${entry.version}`;
    const seen = entries.get(key);
    if (!seen || (!seen.integrity && entry.integrity)) entries.set(key, entry);
  }
  const unmirrorable = new Map<string, Unmirrorable>();
  for (const item of contents.unmirrorable) {
    const key = `${item.kind} ${item.name} ${item.spec}`;
    if (!unmirrorable.has(key)) unmirrorable.set(key, item);
  }
  return { entries: [...entries.values()], unmirrorable: [...unmirrorable.values()] };
}

/** A lock entry with only the optional fields that are set. */
export function lockEntry(name: string, version: string, integrity: string | undefined, resolved: string | undefined, source: string): LockEntry {
  return { name, version, ...(integrity ? { integrity } : {}), ...(resolved ? { resolved } : {}), source };
}

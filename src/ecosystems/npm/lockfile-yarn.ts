/**
 * yarn.lock, classic (v1) and berry (v2+, recognised by its `__metadata` key). `parseSyml` reads
 * both: classic's own syntax, berry's YAML subset.
 */
import { parseSyml } from '@yarnpkg/parsers';
import { InputError } from '../../foundation/errors.ts';
import {
  classifySpec,
  isExactVersion,
  isRecord,
  isRegistryTarballUrl,
  optionalString,
  splitAtName,
  lockEntry,
} from './lockfile-common.ts';
import type { LockEntry, LockfileContents } from './types.ts';

/**
 * Lists the registry packages and the unmirrorable dependencies a yarn.lock pins. Entries are not
 * deduplicated. Pure.
 * @throws InputError naming the file (and the entry) for a syntax error or a malformed entry.
 */
export function parseYarnLockfile(file: string, text: string): LockfileContents {
  const doc = parseText(file, text);
  const out: LockfileContents = { entries: [], unmirrorable: [] };
  const berry = '__metadata' in doc;
  for (const [key, value] of Object.entries(doc)) {
    if (key === '__metadata') continue;
    const label = JSON.stringify(key);
    if (!isRecord(value)) throw new InputError(file, label, 'not an object');
    if (berry) readBerryEntry(file, label, value, out);
    else readClassicEntry(file, key, label, value, out);
  }
  return out;
}

function parseText(file: string, text: string): Record<string, unknown> {
  let doc: unknown;
  try {
    doc = parseSyml(text);
  } catch (err) {
    throw new InputError(file, undefined, `invalid yarn.lock: ${describeSyntaxError(err)}`, { cause: err });
  }
  if (!isRecord(doc)) throw new InputError(file, undefined, 'invalid yarn.lock: the top level is not a map');
  return doc;
}

/** classic errors come from a PEG parser (`location`); berry's from js-yaml (`(line:column)` in the message). */
function describeSyntaxError(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const first = err.message.split('\n')[0] ?? err.message;
  const location = (err as { location?: { start?: { line?: number; column?: number } } }).location;
  if (location?.start?.line !== undefined) return `${first} (line ${location.start.line}, column ${location.start.column})`;
  return first;
}

/**
 * classic: the key is one descriptor (`a@^1.0.0`, `alias@npm:real@^1`, `a@github:u/a`); parseSyml
 * gives each descriptor of a comma-separated key its own copy of the entry.
 */
function readClassicEntry(
  file: string,
  key: string,
  label: string,
  value: Record<string, unknown>,
  out: LockfileContents,
): void {
  const source = `${file}: ${label}`;
  const descriptor = splitAtName(key) ?? { name: key, rest: '' };
  let { name, rest: range } = descriptor;
  if (range.startsWith('npm:')) {
    const real = splitAtName(range.slice(4));
    // `alias@npm:real` with no range means any version of real.
    name = real?.name ?? range.slice(4);
    range = real?.rest ?? '';
  }
  const version = optionalString(value, 'version', file, label);
  const resolvedField = optionalString(value, 'resolved', file, label);
  const kind = classifySpec(range);
  if (kind !== undefined && !(kind === 'remote-tarball' && version && isRegistryTarballUrl(range, name, version))) {
    // What yarn fetches is `resolved` (a git dependency's pinned commit), where it records one.
    out.unmirrorable.push({ name, spec: resolvedField ?? range, kind: resolvedField ? classifySpec(resolvedField) ?? kind : kind, source });
    return;
  }
  if (version === undefined) throw new InputError(file, label, 'no version');
  if (!isExactVersion(version)) throw new InputError(file, label, `version "${version}" is not a semver version`);
  const [resolved, fragment] = splitFragment(resolvedField);
  const integrity = optionalString(value, 'integrity', file, label) ?? sha1Integrity(fragment);
  out.entries.push(lockEntry(name, version, integrity, resolved, source));
}

function splitFragment(url: string | undefined): [string | undefined, string | undefined] {
  if (url === undefined) return [undefined, undefined];
  const hash = url.indexOf('#');
  return hash < 0 ? [url, undefined] : [url.slice(0, hash), url.slice(hash + 1)];
}

/** Lockfiles from before yarn 1.10 have no `integrity`, only the tarball's sha1 after `#` in `resolved`. */
function sha1Integrity(fragment: string | undefined): string | undefined {
  if (!fragment || !/^[0-9a-f]{40}$/i.test(fragment)) return undefined;
  return `sha1-${Buffer.from(fragment, 'hex').toString('base64')}`;
}

/**
 * berry: what was resolved is the `resolution` locator (`a@npm:1.2.0`); the key only lists the
 * descriptors that led to it. `checksum` covers yarn's zip, not the tarball, so it is not kept.
 */
function readBerryEntry(file: string, label: string, value: Record<string, unknown>, out: LockfileContents): void {
  const resolution = optionalString(value, 'resolution', file, label);
  if (resolution === undefined) throw new InputError(file, label, 'no resolution');
  readBerryLocator(file, label, resolution, out);
}

function readBerryLocator(file: string, label: string, locator: string, out: LockfileContents): void {
  const source = `${file}: ${label}`;
  const parts = splitAtName(locator);
  if (!parts) throw new InputError(file, label, `cannot read the resolution "${locator}": expected name@protocol:reference`);
  const { name, rest: reference } = parts;
  if (reference.startsWith('npm:')) {
    out.entries.push(berryNpmEntry(file, label, name, reference.slice(4), source));
    return;
  }
  if (reference.startsWith('workspace:')) {
    // `workspace:.` is the project itself.
    if (reference !== 'workspace:.') out.unmirrorable.push({ name, spec: reference, kind: 'workspace', source });
    return;
  }
  if (reference.startsWith('patch:')) {
    // `patch:<url-encoded locator>#<patch>::<params>`: the patched package itself is on the registry.
    const inner = reference.slice('patch:'.length).split('#')[0] ?? '';
    let decoded: string;
    try {
      decoded = decodeURIComponent(inner);
    } catch {
      throw new InputError(file, label, `cannot read the patched package in "${locator}"`);
    }
    readBerryLocator(file, label, decoded, out);
    return;
  }
  out.unmirrorable.push({ name, spec: reference, kind: classifySpec(reference) ?? 'other', source });
}

/** `npm:1.2.3`, possibly followed by `::__archiveUrl=<url-encoded tarball URL>` for a non-standard tarball URL. */
function berryNpmEntry(file: string, label: string, name: string, reference: string, source: string): LockEntry {
  const [version = '', params] = reference.split('::');
  if (!isExactVersion(version)) throw new InputError(file, label, `version "${version}" is not a semver version`);
  const archiveUrl = params ? new URLSearchParams(params).get('__archiveUrl') : null;
  return { name, version, ...(archiveUrl ? { resolved: archiveUrl } : {}), source };
}

/**
 * package-lock.json (lockfileVersion 1, 2, 3) and npm-shrinkwrap.json. v2 and v3 list every
 * installed folder in a flat `packages` map keyed by path; v1 nests `dependencies` the way
 * node_modules is nested. v2 carries both, and its `packages` map is the one read.
 */
import { InputError } from '../../foundation/errors.ts';
import { classifySpec, isExactVersion, isRecord, isRegistryTarballUrl, keyLabel, lockEntry, optionalString } from './lockfile-common.ts';
import type { LockfileContents } from './types.ts';

const NODE_MODULES = 'node_modules/';

/**
 * Lists the registry packages and the unmirrorable dependencies a package-lock.json or
 * npm-shrinkwrap.json pins. Bundled packages are skipped: they ship inside their parent's tarball.
 * Entries are not deduplicated. Pure.
 * @throws InputError naming the file (and the entry) for invalid JSON or a malformed entry.
 */
export function parseNpmLockfile(file: string, text: string): LockfileContents {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new InputError(file, undefined, `invalid JSON: ${(err as Error).message}`, { cause: err });
  }
  if (!isRecord(doc)) throw new InputError(file, undefined, 'not a package-lock: the top level is not an object');
  const out: LockfileContents = { entries: [], unmirrorable: [] };
  if (doc.packages !== undefined) {
    if (!isRecord(doc.packages)) throw new InputError(file, 'packages', 'not an object');
    readPackages(file, doc.packages, out);
    return out;
  }
  if (doc.dependencies !== undefined) {
    if (!isRecord(doc.dependencies)) throw new InputError(file, 'dependencies', 'not an object');
    readDependencies(file, doc.dependencies, '', out);
    return out;
  }
  if (doc.lockfileVersion === undefined) {
    throw new InputError(file, undefined, 'not a package-lock: no lockfileVersion, packages or dependencies');
  }
  return out;
}

/** v2/v3: `packages` keyed by install path; `""` is the project itself. */
function readPackages(file: string, packages: Record<string, unknown>, out: LockfileContents): void {
  for (const [key, value] of Object.entries(packages)) {
    if (key === '') continue;
    const label = keyLabel('packages', key);
    if (!isRecord(value)) throw new InputError(file, label, 'not an object');
    // A path outside node_modules is a workspace's own folder; the link entry to it is reported.
    const at = key.lastIndexOf(NODE_MODULES);
    if (at < 0) continue;
    if (value.inBundle === true) continue;
    const name = optionalString(value, 'name', file, label) ?? key.slice(at + NODE_MODULES.length);
    const resolved = optionalString(value, 'resolved', file, label);
    const source = `${file}: ${label}`;
    if (value.link === true) {
      out.unmirrorable.push({ name, spec: resolved ?? key, kind: 'link', source });
      continue;
    }
    const version = optionalString(value, 'version', file, label);
    const integrity = optionalString(value, 'integrity', file, label);
    if (version === undefined) {
      const kind = resolved === undefined ? undefined : classifySpec(resolved);
      if (kind === undefined || resolved === undefined) throw new InputError(file, label, 'no version');
      out.unmirrorable.push({ name, spec: resolved, kind, source });
      continue;
    }
    addPinned(file, label, { name, version, resolved, integrity }, out);
  }
}

/** v1: `dependencies` nested like node_modules; `version` may be an alias, a git URL or `file:`. */
function readDependencies(file: string, deps: Record<string, unknown>, prefix: string, out: LockfileContents): void {
  for (const [key, value] of Object.entries(deps)) {
    const label = `${prefix}${keyLabel('dependencies', key)}`;
    if (!isRecord(value)) throw new InputError(file, label, 'not an object');
    if (value.bundled === true) continue;
    const version = optionalString(value, 'version', file, label);
    if (version === undefined) throw new InputError(file, label, 'no version');
    const resolved = optionalString(value, 'resolved', file, label);
    const integrity = optionalString(value, 'integrity', file, label);
    if (version.startsWith('npm:')) {
      const alias = parseAlias(version.slice(4));
      if (!alias) throw new InputError(file, label, `cannot read the alias "${version}": expected npm:name@version`);
      addPinned(file, label, { ...alias, resolved, integrity }, out);
    } else {
      addPinned(file, label, { name: key, version, resolved, integrity }, out);
    }
    if (value.dependencies !== undefined) {
      if (!isRecord(value.dependencies)) throw new InputError(file, `${label}.dependencies`, 'not an object');
      readDependencies(file, value.dependencies, `${label}.`, out);
    }
  }
}

function parseAlias(text: string): { name: string; version: string } | undefined {
  const at = text.lastIndexOf('@');
  if (at <= 0) return undefined;
  return { name: text.slice(0, at), version: text.slice(at + 1) };
}

type Pinned = { name: string; version: string; resolved: string | undefined; integrity: string | undefined };

/**
 * Adds a folder npm pinned: a registry entry when its version is exact semver and its `resolved`
 * (if any) is a registry tarball of that name and version; otherwise an unmirrorable classified by
 * `resolved`, or by the version's prefix when the version is not semver.
 */
function addPinned(file: string, label: string, pinned: Pinned, out: LockfileContents): void {
  const { name, version, resolved, integrity } = pinned;
  const source = `${file}: ${label}`;
  if (!isExactVersion(version)) {
    const kind = classifySpec(version) ?? (resolved === undefined ? undefined : classifySpec(resolved));
    if (kind === undefined) throw new InputError(file, label, `version "${version}" is not a semver version`);
    out.unmirrorable.push({ name, spec: version, kind, source });
    return;
  }
  if (resolved !== undefined) {
    const kind = classifySpec(resolved);
    const registry = kind === 'remote-tarball' && isRegistryTarballUrl(resolved, name, version);
    if (!registry) {
      out.unmirrorable.push({ name, spec: resolved, kind: kind ?? 'other', source });
      return;
    }
  }
  out.entries.push(lockEntry(name, version, integrity, resolved, source));
}

/**
 * pnpm-lock.yaml, lockfileVersion 5.x (pnpm 5–7), 6.x (pnpm 8) and 9.0 (pnpm 9+). Only the
 * `packages` map is read: it holds one resolution per package, keyed `/name/1.2.3_peers` (v5),
 * `/name@1.2.3(peers)` (v6) or `name@1.2.3` (v9, peers live in `snapshots`). Importers may use
 * aliases, but `packages` is keyed by real names.
 */
import { parseDocument } from 'yaml';
import { InputError } from '../../foundation/errors.ts';
import {
  classifySpec,
  isExactVersion,
  isRecord,
  isRegistryTarballUrl,
  keyLabel,
  optionalString,
} from './lockfile-common.ts';
import type { LockfileContents, Unmirrorable } from './types.ts';

type KeyStyle = 'v5' | 'v6' | 'v9';

/**
 * Lists the registry packages and the unmirrorable dependencies a pnpm-lock.yaml pins. Entries are
 * not deduplicated. Pure.
 * @throws InputError naming the file (and the entry) for invalid YAML, an unsupported
 *   lockfileVersion or a malformed entry.
 */
export function parsePnpmLockfile(file: string, text: string): LockfileContents {
  const doc = parseYaml(file, text);
  const style = keyStyle(file, doc.lockfileVersion);
  const out: LockfileContents = { entries: [], unmirrorable: [] };
  const packages = doc.packages;
  if (packages === undefined || packages === null) return out;
  if (!isRecord(packages)) throw new InputError(file, 'packages', 'not a map');
  for (const [key, value] of Object.entries(packages)) {
    readPackage(file, style, key, value, out);
  }
  return out;
}

function parseYaml(file: string, text: string): Record<string, unknown> {
  const doc = parseDocument(text);
  const [error] = doc.errors;
  if (error) {
    const first = (error.message.split('\n')[0] ?? error.message).replace(/:$/, '');
    throw new InputError(file, undefined, `invalid YAML: ${first}`, { cause: error });
  }
  const value: unknown = doc.toJS();
  if (!isRecord(value)) throw new InputError(file, undefined, 'not a pnpm lockfile: the top level is not a map');
  return value;
}

function keyStyle(file: string, lockfileVersion: unknown): KeyStyle {
  const text = typeof lockfileVersion === 'number' || typeof lockfileVersion === 'string' ? String(lockfileVersion) : '';
  const major = /^(\d+)(\.|-|$)/.exec(text)?.[1];
  if (major === '5') return 'v5';
  if (major === '6') return 'v6';
  if (major === '9') return 'v9';
  const found = lockfileVersion === undefined ? 'no lockfileVersion' : `unsupported lockfileVersion ${JSON.stringify(lockfileVersion)}`;
  throw new InputError(file, undefined, `${found}: offline reads 5.x, 6.x and 9.0; regenerate it with a newer pnpm`);
}

/** Name and version (or non-registry reference) read from a `packages` key, peer suffix stripped. */
function parseKey(style: KeyStyle, key: string): { name?: string; version?: string } {
  if (style === 'v5') {
    if (!key.startsWith('/')) return {};
    const parts = key.slice(1).split('/');
    const scoped = parts[0]?.startsWith('@') ?? false;
    const name = parts.slice(0, scoped ? 2 : 1).join('/');
    const rest = parts.slice(scoped ? 2 : 1).join('/');
    // v5 appends peers after `_`, which a semver version never contains.
    return { name, version: rest.split('_')[0] ?? '' };
  }
  if (style === 'v6' && !key.startsWith('/')) return {};
  const text = style === 'v6' ? key.slice(1) : key;
  const at = text.indexOf('@', 1);
  if (at < 0) return {};
  const rest = text.slice(at + 1);
  // v6/v9 append peers in parentheses: `1.0.0(react@18.2.0)(@types/react@18.0.0)`.
  const paren = rest.indexOf('(');
  return { name: text.slice(0, at), version: paren > 0 ? rest.slice(0, paren) : rest };
}

function readPackage(file: string, style: KeyStyle, key: string, value: unknown, out: LockfileContents): void {
  const label = keyLabel('packages', key);
  const source = `${file}: ${label}`;
  if (!isRecord(value)) throw new InputError(file, label, 'not a map');
  const resolution = value.resolution;
  if (!isRecord(resolution)) throw new InputError(file, label, 'no resolution');
  const parsed = parseKey(style, key);
  const name = optionalString(value, 'name', file, label) ?? parsed.name;
  if (!name) throw new InputError(file, label, 'cannot read a package name from the key and there is no name field');
  const unmirrorable = classifyResolution(file, label, key, resolution);
  if (unmirrorable) {
    out.unmirrorable.push({ name, ...unmirrorable, source });
    return;
  }
  const versionField = optionalString(value, 'version', file, label);
  const version = pickVersion(parsed.version, versionField);
  const integrity = optionalString(resolution, 'integrity', file, `${label}.resolution`);
  const tarball = optionalString(resolution, 'tarball', file, `${label}.resolution`);
  if (tarball !== undefined && !(version && isRegistryTarballUrl(tarball, name, version))) {
    out.unmirrorable.push({ name, spec: tarball, kind: 'remote-tarball', source });
    return;
  }
  if (!version) {
    const shown = parsed.version || versionField;
    throw new InputError(file, label, shown ? `version "${shown}" is not a semver version` : 'no version');
  }
  if (tarball === undefined && integrity === undefined) {
    throw new InputError(file, label, 'the resolution has no integrity, tarball, directory or git repo');
  }
  out.entries.push({
    name,
    version,
    ...(integrity ? { integrity } : {}),
    ...(tarball ? { resolved: tarball } : {}),
    source,
  });
}

/** The key's version when it is exact semver, else the entry's `version` field (v5/v6 non-registry keys). */
function pickVersion(fromKey: string | undefined, field: string | undefined): string | undefined {
  if (fromKey && isExactVersion(fromKey)) return fromKey;
  if (field && isExactVersion(field)) return field;
  return undefined;
}

/**
 * git (`{type: git, repo, commit}`, or a key or tarball on a git host such as codeload.github.com),
 * a local directory or a `file:` tarball; undefined for a registry or plain remote tarball.
 */
function classifyResolution(
  file: string,
  label: string,
  key: string,
  resolution: Record<string, unknown>,
): Pick<Unmirrorable, 'spec' | 'kind'> | undefined {
  const where = `${label}.resolution`;
  const repo = optionalString(resolution, 'repo', file, where);
  if (resolution.type === 'git' || repo !== undefined) {
    const commit = optionalString(resolution, 'commit', file, where);
    return { spec: commit ? `${repo ?? key}#${commit}` : (repo ?? key), kind: 'git' };
  }
  const directory = optionalString(resolution, 'directory', file, where);
  if (resolution.type === 'directory' || directory !== undefined) {
    return { spec: directory === undefined ? key : `file:${directory}`, kind: 'file' };
  }
  const tarball = optionalString(resolution, 'tarball', file, where);
  if (tarball === undefined) return undefined;
  if (tarball.startsWith('file:')) return { spec: tarball, kind: 'file' };
  if (classifySpec(tarball) === 'git' || /(^|[/@])(github\.com|gitlab\.com|bitbucket\.org)\//.test(key)) {
    return { spec: tarball, kind: 'git' };
  }
  return undefined;
}

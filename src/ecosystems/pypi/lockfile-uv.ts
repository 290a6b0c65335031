/**
 * uv.lock: one `[[package]]` table per locked package, each with a `source` table: `registry`
 * (an index) or `editable`, `virtual`, `directory`, `path`, `git`, `url`. Registry packages list
 * `sdist = {url, hash}` and `wheels = [{url, hash}]`. uv records markers on dependency edges, not
 * on packages, so packages carry none; `resolution-markers` only say which forks a version serves.
 */
import { InputError } from '../../foundation/errors.ts';
import { normalizeName } from './names.ts';
import { isTable, parseToml } from './toml.ts';
import type { LockedContents, LockedPackage } from './types.ts';

const NON_REGISTRY = ['editable', 'virtual', 'directory', 'path', 'git', 'url'] as const;

/**
 * Lists the registry packages a uv.lock pins with their files. The project itself
 * (`source = { editable = "." }` or `{ virtual = "." }`) is skipped; every other non-registry
 * package is reported in `notes` and skipped. Pure.
 * @throws InputError naming the file (and the package) for invalid TOML or a malformed package.
 */
export function parseUvLock(file: string, text: string): LockedContents {
  const doc = parseToml(file, text);
  const out: LockedContents = { packages: [], notes: [] };
  const packages = doc.package ?? [];
  if (!Array.isArray(packages)) throw new InputError(file, 'package', 'not an array of tables');
  packages.forEach((pkg, index) => {
    if (!isTable(pkg)) throw new InputError(file, `package[${index}]`, 'not a table');
    const name = pkg.name;
    if (typeof name !== 'string' || !name) throw new InputError(file, `package[${index}]`, 'no name');
    const label = `package ${JSON.stringify(name)}`;
    const source = pkg.source;
    if (!isTable(source)) throw new InputError(file, label, 'no source table');
    if (typeof source.registry !== 'string') {
      const kind = NON_REGISTRY.find((k) => typeof source[k] === 'string');
      if (kind === undefined) throw new InputError(file, label, 'the source is neither a registry nor a known local or remote kind');
      const where = source[kind] as string;
      const isProject = (kind === 'editable' || kind === 'virtual') && where === '.';
      if (!isProject) out.notes.push(`${file}: ${label}: a ${kind} source (${where}) is not on an index; skipped`);
      return;
    }
    const version = pkg.version;
    if (typeof version !== 'string' || !version) throw new InputError(file, label, 'no version');
    const files: LockedPackage['files'] = [];
    if (pkg.sdist !== undefined) readFile(file, `${label}: sdist`, pkg.sdist, files, out.notes);
    const wheels = pkg.wheels ?? [];
    if (!Array.isArray(wheels)) throw new InputError(file, label, 'wheels is not an array');
    wheels.forEach((wheel, i) => readFile(file, `${label}: wheels[${i}]`, wheel, files, out.notes));
    out.packages.push({ name, normalized: normalizeName(name), version, files, source: `${file}: ${label}` });
  });
  return out;
}

/** `{ url, hash, size }` from an index, `{ path, hash }` from a local one; `filename` when given. */
function readFile(file: string, where: string, item: unknown, files: LockedPackage['files'], notes: string[]): void {
  if (!isTable(item)) throw new InputError(file, where, 'not a table');
  const location = typeof item.url === 'string' ? item.url : typeof item.path === 'string' ? item.path : undefined;
  const filename = typeof item.filename === 'string' ? item.filename : location && lastSegment(location);
  if (!filename) throw new InputError(file, where, 'no url, path or filename');
  if (item.hash === undefined) {
    notes.push(`${file}: ${where}: ${filename} has no hash; it is not listed`);
    return;
  }
  if (typeof item.hash !== 'string') throw new InputError(file, where, 'hash is not a string');
  const [algorithm, digest = ''] = item.hash.split(':', 2);
  if (algorithm !== 'sha256') {
    notes.push(`${file}: ${where}: ${algorithm} hash of ${filename} ignored; offline verifies sha256`);
    return;
  }
  if (!/^[0-9a-f]{64}$/i.test(digest)) throw new InputError(file, where, `"${item.hash}" is not a sha256 digest`);
  files.push({ filename, sha256: digest.toLowerCase() });
}

/** The file name a URL or path ends in, percent-decoded (`…/foo-1.0-py3-none-any.whl#sha256=…`). */
function lastSegment(location: string): string | undefined {
  const path = location.split(/[?#]/, 1)[0] ?? '';
  const segment = path.split(/[/\\]/).pop();
  if (!segment) return undefined;
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

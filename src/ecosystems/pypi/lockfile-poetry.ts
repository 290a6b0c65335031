/**
 * poetry.lock: one `[[package]]` table per locked package. Lock-version 2.x (Poetry >= 1.5) lists
 * its files inline (`files = [{file, hash}]`); 1.x keeps them in `[metadata.files]`, keyed by name.
 * Poetry 2 adds `markers`, a string or one per dependency group.
 */
import { InputError } from '../../foundation/errors.ts';
import { parseMarker } from './markers.ts';
import { normalizeName } from './names.ts';
import { isTable, parseToml, type Table } from './toml.ts';
import type { LockedContents, LockedPackage } from './types.ts';

/**
 * Lists the packages a poetry.lock pins with the files and markers it records. Packages from git,
 * a directory, a file or a URL are reported in `notes` and skipped; packages from a private index
 * (`type = "legacy"`) are kept, with a note. Pure.
 * @throws InputError naming the file (and the package) for invalid TOML or a malformed package.
 */
export function parsePoetryLock(file: string, text: string): LockedContents {
  const doc = parseToml(file, text);
  const out: LockedContents = { packages: [], notes: [] };
  const packages = doc.package ?? [];
  if (!Array.isArray(packages)) throw new InputError(file, 'package', 'not an array of tables');
  const metadata = isTable(doc.metadata) ? doc.metadata : {};
  const legacyFiles = isTable(metadata.files) ? metadata.files : undefined;
  packages.forEach((pkg, index) => {
    if (!isTable(pkg)) throw new InputError(file, `package[${index}]`, 'not a table');
    const name = pkg.name;
    if (typeof name !== 'string' || !name) throw new InputError(file, `package[${index}]`, 'no name');
    const label = `package ${JSON.stringify(name)}`;
    const version = pkg.version;
    if (typeof version !== 'string' || !version) throw new InputError(file, label, 'no version');
    const source = pkg.source;
    if (source !== undefined && !isTable(source)) throw new InputError(file, label, 'source is not a table');
    const type = source?.type;
    if (source && type !== 'legacy') {
      out.notes.push(`${file}: ${label}: a ${String(type)} source (${String(source.url)}) is not on an index; skipped`);
      return;
    }
    if (source) out.notes.push(`${file}: ${label}: locked from the index ${String(source.url)}; offline fetches it from its configured upstream`);
    const listed = pkg.files ?? legacyFilesFor(legacyFiles, name);
    const files = readFiles(file, label, listed, out.notes);
    const marker = readMarker(file, label, pkg.markers);
    const locked: LockedPackage = { name, normalized: normalizeName(name), version, files, source: `${file}: ${label}` };
    out.packages.push(marker ? { ...locked, marker } : locked);
  });
  return out;
}

/** `[metadata.files]` keys are the names as Poetry wrote them; match them normalized. */
function legacyFilesFor(files: Table | undefined, name: string): unknown {
  if (!files) return undefined;
  if (name in files) return files[name];
  const normalized = normalizeName(name);
  const key = Object.keys(files).find((k) => normalizeName(k) === normalized);
  return key === undefined ? undefined : files[key];
}

function readFiles(file: string, label: string, listed: unknown, notes: string[]): LockedPackage['files'] {
  if (listed === undefined) return [];
  if (!Array.isArray(listed)) throw new InputError(file, label, 'files is not an array');
  const files: LockedPackage['files'] = [];
  for (const [i, item] of listed.entries()) {
    const where = `${label}: files[${i}]`;
    if (!isTable(item) || typeof item.file !== 'string' || typeof item.hash !== 'string') {
      throw new InputError(file, where, 'expected {file = "…", hash = "sha256:…"}');
    }
    const [algorithm, digest = ''] = item.hash.split(':', 2);
    if (algorithm !== 'sha256') {
      notes.push(`${file}: ${where}: ${algorithm} hash of ${item.file} ignored; offline verifies sha256`);
      continue;
    }
    if (!/^[0-9a-f]{64}$/i.test(digest)) throw new InputError(file, where, `"${item.hash}" is not a sha256 digest`);
    files.push({ filename: item.file, sha256: digest.toLowerCase() });
  }
  return files;
}

/** Poetry 2: `markers = "…"`, or `markers = { main = "…", dev = "…" }` (installed when any holds). */
function readMarker(file: string, label: string, markers: unknown): string | undefined {
  if (markers === undefined) return undefined;
  let list: unknown[];
  if (typeof markers === 'string') list = [markers];
  else if (isTable(markers)) list = Object.values(markers);
  else throw new InputError(file, label, 'markers is neither a string nor a table');
  const texts = [...new Set(list)].map((m) => {
    if (typeof m !== 'string') throw new InputError(file, label, 'a marker is not a string');
    parseMarker(m, file, label);
    return m;
  });
  if (texts.length === 0) return undefined;
  return texts.length === 1 ? texts[0] : texts.map((m) => `(${m})`).join(' or ');
}

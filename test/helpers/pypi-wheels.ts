/**
 * Real Python distributions made in code: pip-installable wheels (binary distribution format 1.0)
 * and setuptools sdists (sdist format, PEP 625 names, PKG-INFO 2.2). Equal arguments give equal
 * bytes: fixed zip and tar timestamps, fixed modes, sorted entries.
 */
import { createHash } from 'node:crypto';
import { gunzipSync, gzipSync } from 'node:zlib';
import { unzipSync, zipSync } from 'fflate';
import type { Zippable } from 'fflate';
import { Header } from 'tar';

export type Distribution = { filename: string; bytes: Buffer; metadata: string };

export type WheelOptions = {
  name: string;
  version: string;
  /** A compressed tag set, `{python}-{abi}-{platform}` with dot-joined parts; default `py3-none-any`. */
  tag?: string;
  requiresDist?: string[];
  requiresPython?: string;
  providesExtra?: string[];
  /** More files by path from the wheel's root; `<pkg>/__init__.py` is there unless given here. */
  files?: Record<string, string>;
};

export type SdistOptions = { name: string; version: string; requiresDist?: string[]; requiresPython?: string };

/** PEP 503: `re.sub(r"[-_.]+", "-", name).lower()`. */
export function normalizeName(name: string): string {
  return name.replace(/[-_.]+/g, '-').toLowerCase();
}

/** The name as wheel and sdist filenames spell it: normalized, then `-` → `_` (`Mixed_Case.Name` → `mixed_case_name`). */
export function escapeName(name: string): string {
  return normalizeName(name).replace(/-/g, '_');
}

export function sha256hex(bytes: Buffer | string): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Every tag a compressed tag set stands for: `py2.py3-none-any` → `py2-none-any`, `py3-none-any`. */
export function expandTags(tag: string): string[] {
  const parts = tag.split('-');
  if (parts.length !== 3) throw new Error(`${tag}: a wheel tag is {python}-{abi}-{platform}`);
  const [pys, abis, plats] = parts.map((p) => p.split('.')) as [string[], string[], string[]];
  return pys.flatMap((py) => abis.flatMap((abi) => plats.map((plat) => `${py}-${abi}-${plat}`)));
}

function coreMetadata(opts: SdistOptions & { providesExtra?: string[] }, metadataVersion: string): string {
  const lines = [`Metadata-Version: ${metadataVersion}`, `Name: ${opts.name}`, `Version: ${opts.version}`];
  lines.push(`Summary: offline test fixture ${opts.name} ${opts.version}`);
  if (opts.requiresPython) lines.push(`Requires-Python: ${opts.requiresPython}`);
  for (const extra of opts.providesExtra ?? []) lines.push(`Provides-Extra: ${extra}`);
  for (const req of opts.requiresDist ?? []) lines.push(`Requires-Dist: ${req}`);
  return `${lines.join('\n')}\n\n`;
}

// A local-time date, so the DOS timestamps fflate writes are the same in every time zone.
const ZIP_MTIME = new Date(2020, 0, 1, 0, 0, 0);

function zip(entries: Array<[string, Buffer]>): Buffer {
  const files: Zippable = {};
  for (const [path, body] of entries) files[path] = [body, { os: 3, attrs: (0o100644 << 16) >>> 0, mtime: ZIP_MTIME }];
  return Buffer.from(zipSync(files, { level: 6 }));
}

/** RECORD's digest form: `sha256=<urlsafe base64, no padding>`. */
function recordHash(body: Buffer): string {
  return `sha256=${createHash('sha256').update(body).digest('base64url')}`;
}

/**
 * A wheel pip installs: `<pkg>/__init__.py` (pkg is the escaped name) and `files`, sorted, then
 * `.dist-info/METADATA` (2.1), `WHEEL` (one `Tag:` per expanded tag; purelib only for `none-any`)
 * and a `RECORD` whose hashes are right. The METADATA text is returned as `metadata`.
 */
export async function makeWheel(opts: WheelOptions): Promise<Distribution> {
  const tag = opts.tag ?? 'py3-none-any';
  const tags = expandTags(tag);
  const dist = escapeName(opts.name);
  const distInfo = `${dist}-${opts.version}.dist-info`;
  const purelib = tags.every((t) => t.endsWith('-none-any'));
  const metadata = coreMetadata(opts, '2.1');
  const wheel = ['Wheel-Version: 1.0', 'Generator: offline-test-fixtures (1.0)', `Root-Is-Purelib: ${purelib}`];
  const sources: Record<string, string> = {
    [`${dist}/__init__.py`]: `__version__ = ${JSON.stringify(opts.version)}\n`,
    ...opts.files,
  };
  const entries: Array<[string, Buffer]> = Object.keys(sources)
    .sort()
    .map((path) => [path, Buffer.from(sources[path] ?? '')]);
  entries.push([`${distInfo}/METADATA`, Buffer.from(metadata)]);
  entries.push([`${distInfo}/WHEEL`, Buffer.from(`${[...wheel, ...tags.map((t) => `Tag: ${t}`)].join('\n')}\n`)]);
  const record = entries.map(([path, body]) => `${path},${recordHash(body)},${body.length}`);
  record.push(`${distInfo}/RECORD,,`);
  entries.push([`${distInfo}/RECORD`, Buffer.from(`${record.join('\n')}\n`)]);
  return { filename: `${dist}-${opts.version}-${tag}.whl`, bytes: zip(entries), metadata };
}

// The sdist's timestamp; npm's fixed mtime, as in npm-fixtures.ts.
const TAR_MTIME = new Date('1985-10-26T08:15:00.000Z');

function tarEntry(path: string, body: Buffer): Buffer {
  const header = new Header({ path, mode: 0o644, size: body.length, mtime: TAR_MTIME, type: 'File', uid: 0, gid: 0 });
  const block = Buffer.alloc(512);
  if (header.encode(block, 0)) throw new Error(`${path}: path too long for a plain ustar header`);
  return Buffer.concat([block, body, Buffer.alloc((512 - (body.length % 512)) % 512)]);
}

const TAR_END = Buffer.alloc(1024);

function setupCfg(opts: SdistOptions, pkg: string): string {
  const lines = ['[metadata]', `name = ${opts.name}`, `version = ${opts.version}`, '', '[options]', `packages = ${pkg}`];
  if (opts.requiresPython) lines.push(`python_requires = ${opts.requiresPython}`);
  if (opts.requiresDist?.length) lines.push('install_requires =', ...opts.requiresDist.map((r) => `    ${r}`));
  return `${lines.join('\n')}\n`;
}

// setuptools.build_meta since 40.8.0; setuptools < 70.1 also asks for `wheel` to build a wheel.
const PYPROJECT = [
  '[build-system]',
  'requires = ["setuptools>=40.8.0"]',
  'build-backend = "setuptools.build_meta"',
  '',
].join('\n');

/**
 * An sdist pip builds with setuptools from the index: `<escaped>-<version>.tar.gz` holding
 * `PKG-INFO` (Metadata-Version 2.2 with no `Dynamic`, so its Requires-Dist can be trusted),
 * `pyproject.toml`, `setup.cfg` and `<pkg>/__init__.py`. The PKG-INFO text is `metadata`.
 */
export async function makeSdist(opts: SdistOptions): Promise<Distribution> {
  const pkg = escapeName(opts.name);
  const stem = `${pkg}-${opts.version}`;
  const metadata = coreMetadata(opts, '2.2');
  const files: Array<[string, string]> = [
    ['PKG-INFO', metadata],
    ['pyproject.toml', PYPROJECT],
    ['setup.cfg', setupCfg(opts, pkg)],
    [`${pkg}/__init__.py`, `__version__ = ${JSON.stringify(opts.version)}\n`],
  ];
  const tar = Buffer.concat([...files.map(([path, body]) => tarEntry(`${stem}/${path}`, Buffer.from(body))), TAR_END]);
  // node's gzip header has mtime 0 and a fixed OS byte, so equal input gives equal bytes.
  return { filename: `${stem}.tar.gz`, bytes: gzipSync(tar, { level: 9 }), metadata };
}

/**
 * Other bytes for the same file that still open as what they claim to be: a wheel or `.tar.gz`
 * with one more member, `CORRUPTED`; anything else with bytes appended.
 */
export function corruptArchive(filename: string, bytes: Buffer): Buffer {
  const note = Buffer.from('these are not the bytes the index promises\n');
  if (filename.endsWith('.whl') || filename.endsWith('.zip')) {
    const entries = Object.entries(unzipSync(bytes)).map(([path, body]): [string, Buffer] => [path, Buffer.from(body)]);
    return zip([...entries, ['CORRUPTED', note]]);
  }
  if (filename.endsWith('.tar.gz')) {
    const tar = gunzipSync(bytes);
    const body = tar.subarray(tar.length - 1024).every((b) => b === 0) ? tar.subarray(0, tar.length - 1024) : tar;
    return gzipSync(Buffer.concat([body, tarEntry('CORRUPTED', note), TAR_END]), { level: 9 });
  }
  return Buffer.concat([bytes, note]);
}

/** A wheel's `*.dist-info/METADATA`, read from its bytes. */
export function wheelMetadata(bytes: Buffer): string {
  const found = unzipSync(bytes, { filter: (f) => /^[^/]+\.dist-info\/METADATA$/.test(f.name) });
  const body = Object.values(found)[0];
  if (!body) throw new Error('not a wheel: no .dist-info/METADATA');
  return Buffer.from(body).toString('utf8');
}

/** The values of one core metadata field (`Requires-Dist`), from the header part only. */
export function metadataField(metadata: string, field: string): string[] {
  const header = metadata.split(/\r?\n\r?\n/, 1)[0] ?? '';
  const prefix = `${field.toLowerCase()}:`;
  return header
    .split(/\r?\n/)
    .filter((line) => line.toLowerCase().startsWith(prefix))
    .map((line) => line.slice(prefix.length).trim());
}

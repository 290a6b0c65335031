import { readdir, readFile } from 'node:fs/promises';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { Document, isSeq, parse as parseYaml, parseDocument } from 'yaml';
import { writeFileAtomic } from '../engine/atomic.ts';
import { familiarName } from '../ecosystems/docker/daemon-image.ts';
import { parseReference } from '../ecosystems/docker/reference.ts';
import type { Config } from './config.ts';
import { scanDockerfile } from './dockerfile.ts';

export type Proposal = { npm: { lockfiles: string[]; packages: string[] }; pypi: { requirements: string[]; packages: string[] }; pacman: { packages: string[] }; docker: { images: string[] } };

/** A config key a park build of a Dockerfile needs an entry in, and whether the config has it. */
export type Need = { key: `${keyof Proposal}.${string}`; value: string; configured: boolean };

/** What `offline scan` found, the config keys it proposes, and what of that the config lacks. */
export type ScanReport = {
  files: Array<{ file: string; kind: 'dockerfile' | 'compose' | 'npm-lockfile' | 'pypi-input' }>;
  /** Per Dockerfile: its base images, the packages its RUN lines name, the lockfiles beside it. */
  dockerfiles: Array<{ file: string; needs: Need[] }>;
  proposal: Proposal;
  /** The proposal minus what the config already has: what `scan --write` adds. */
  missing: Proposal;
  notes: string[];
};

const SKIP = new Set(['node_modules', '.git', 'mirrors', 'dist', '.venv', 'venv', '__pycache__', '.tox', 'vendor', '.node', '.yarn']);
const NPM_LOCKFILES = new Set(['package-lock.json', 'npm-shrinkwrap.json', 'yarn.lock', 'pnpm-lock.yaml']);
const PYPI_LOCKFILES = new Set(['poetry.lock', 'uv.lock', 'Pipfile.lock']);
const COMPOSE = new Set(['compose.yaml', 'compose.yml', 'docker-compose.yaml', 'docker-compose.yml']);

function kindOf(name: string): ScanReport['files'][number]['kind'] | undefined {
  if (name === 'Dockerfile' || name === 'Containerfile' || name.endsWith('.Dockerfile') || name.startsWith('Dockerfile.')) return 'dockerfile';
  if (COMPOSE.has(name)) return 'compose';
  if (NPM_LOCKFILES.has(name)) return 'npm-lockfile';
  if (PYPI_LOCKFILES.has(name) || /^requirements.*\.txt$/.test(name)) return 'pypi-input';
  return undefined;
}

/**
 * Walk project directories for Dockerfiles, compose files and lockfiles, and propose what to
 * mirror. Paths in the proposal are relative to `base` (the config file's directory), as config
 * paths are. Reads files only; changes nothing.
 */
export async function scan(dirs: string[], base: string, config?: Config): Promise<ScanReport> {
  const empty = (): Proposal => ({ npm: { lockfiles: [], packages: [] }, pypi: { requirements: [], packages: [] }, pacman: { packages: [] }, docker: { images: [] } });
  const report: ScanReport = { files: [], dockerfiles: [], notes: [], proposal: empty(), missing: empty() };
  const has = configured(config, base);
  const files: string[] = [];
  for (const dir of dirs) await walk(dir, files, 0);
  for (const file of [...new Set(files)].sort()) {
    const kind = kindOf(basename(file))!;
    const rel = relative(base, file) || basename(file);
    report.files.push({ file: rel, kind });
    if (kind === 'npm-lockfile') report.proposal.npm.lockfiles.push(rel);
    else if (kind === 'pypi-input') report.proposal.pypi.requirements.push(rel);
    else if (kind === 'dockerfile') {
      const found = scanDockerfile(await readFile(file, 'utf8'), rel);
      const beside = files.filter((f) => dirname(f) === dirname(file)).map((f) => [kindOf(basename(f)), relative(base, f)] as const);
      const needs: Array<[Need['key'], string]> = [
        ...found.images.map((v) => ['docker.images', v] as [Need['key'], string]),
        ...found.npm.map((v) => ['npm.packages', v] as [Need['key'], string]),
        ...found.pypi.map((v) => ['pypi.packages', v] as [Need['key'], string]),
        ...found.pacman.map((v) => ['pacman.packages', v] as [Need['key'], string]),
        ...beside.flatMap(([k, v]) => (k === 'npm-lockfile' ? [['npm.lockfiles', v]] : k === 'pypi-input' ? [['pypi.requirements', v]] : []) as Array<[Need['key'], string]>),
      ];
      report.dockerfiles.push({ file: rel, needs: [...new Map(needs.map(([key, value]) => [`${key}\0${value}`, { key, value, configured: has(key, value) }])).values()] });
      report.proposal.docker.images.push(...found.images);
      report.proposal.pacman.packages.push(...found.pacman);
      report.proposal.pypi.packages.push(...found.pypi);
      report.proposal.npm.packages.push(...found.npm);
      report.notes.push(...found.notes);
    } else {
      report.proposal.docker.images.push(...composeImages(await readFile(file, 'utf8'), rel, report.notes));
    }
  }
  const p = report.proposal;
  for (const list of [p.npm.packages, p.pypi.packages, p.pacman.packages, p.docker.images]) list.splice(0, list.length, ...[...new Set(list)].sort());
  for (const [section, keys] of Object.entries(p) as Array<[keyof Proposal, Record<string, string[]>]>) {
    for (const [key, values] of Object.entries(keys)) {
      (report.missing[section] as Record<string, string[]>)[key] = values.filter((v) => !has(`${section}.${key}`, v));
    }
  }
  return report;
}

/** The name a spec is about, as the config would list it: `lodash@^4` → lodash, `core/git>=2` → git. */
function specName(key: string, value: string): string {
  if (key === 'docker.images') {
    try {
      return familiarName(parseReference(value));
    } catch {
      return value;
    }
  }
  if (key === 'npm.packages') return value.startsWith('@') ? `@${value.slice(1).split('@')[0]}` : value.split('@')[0]!;
  if (key === 'pypi.packages') return (/^[A-Za-z0-9][A-Za-z0-9._-]*/.exec(value)?.[0] ?? value).replace(/[-_.]+/g, '-').toLowerCase();
  if (key === 'pacman.packages') return value.replace(/^[^/]*\//, '').split(/[<>=]/)[0]!;
  return value;
}

/** Whether the config already has an entry for `value` under `key` (by name; files by absolute path). */
function configured(config: Config | undefined, base: string): (key: string, value: string) => boolean {
  if (!config) return () => false;
  const lists: Record<string, string[]> = {
    'npm.lockfiles': config.npm.lockfiles.map((f) => resolve(base, f)),
    'pypi.requirements': config.pypi.requirements.map((f) => resolve(base, f)),
    'npm.packages': config.npm.packages.map((v) => specName('npm.packages', v)),
    'pypi.packages': config.pypi.packages.map((v) => specName('pypi.packages', v)),
    'pacman.packages': config.pacman.packages.map((v) => specName('pacman.packages', v)),
    'docker.images': config.docker.images.map((v) => specName('docker.images', v)),
  };
  return (key, value) => {
    const wanted = key.endsWith('lockfiles') || key.endsWith('requirements') ? resolve(base, value) : specName(key, value);
    return lists[key]?.includes(wanted) ?? false;
  };
}

/**
 * Merge `missing` into the config file: each value appended to its list, the lists and sections
 * created where absent, everything else — comments, order, formatting — kept. Creates the file
 * when there is none. Returns the `key: value` entries added.
 */
export async function writeProposal(file: string, missing: Proposal): Promise<string[]> {
  const text = await readFile(file, 'utf8').catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return undefined;
    throw err;
  });
  const doc = text === undefined ? new Document({ data: './mirrors' }) : parseDocument(text);
  const added: string[] = [];
  for (const [section, keys] of Object.entries(missing)) {
    for (const [key, values] of Object.entries(keys as Record<string, string[]>)) {
      if (values.length === 0) continue;
      const seq = doc.getIn([section, key]);
      const present = isSeq(seq) ? new Set(seq.items.map((i) => String((i as { value?: unknown }).value ?? i))) : new Set<string>();
      for (const value of values) {
        if (present.has(value)) continue;
        if (isSeq(seq)) seq.add(doc.createNode(value));
        else if (!doc.hasIn([section, key])) doc.setIn([section, key], doc.createNode([value]));
        else (doc.getIn([section, key]) as { add(v: unknown): void }).add(doc.createNode(value));
        added.push(`${section}.${key}: ${value}`);
      }
    }
  }
  if (added.length > 0) await writeFileAtomic(file, doc.toString());
  return added;
}

async function walk(dir: string, out: string[], depth: number): Promise<void> {
  if (depth > 8) return;
  for (const entry of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
    if (entry.isDirectory() && !SKIP.has(entry.name)) await walk(join(dir, entry.name), out, depth + 1);
    else if (entry.isFile() && kindOf(entry.name)) out.push(join(dir, entry.name));
  }
}

function composeImages(text: string, file: string, notes: string[]): string[] {
  try {
    const doc = parseYaml(text) as { services?: Record<string, { image?: unknown; build?: unknown }> } | null;
    return Object.values(doc?.services ?? {}).flatMap((s) => {
      if (typeof s?.image !== 'string') return [];
      if (s.image.includes('$')) {
        notes.push(`${file}: image ${s.image} depends on a variable`);
        return [];
      }
      return s.build ? [] : [s.image];
    });
  } catch (err) {
    notes.push(`${file}: not valid YAML (${(err as Error).message.split('\n')[0]})`);
    return [];
  }
}

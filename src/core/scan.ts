import { readdir, readFile } from 'node:fs/promises';
import { basename, join, relative } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { scanDockerfile } from './dockerfile.ts';

/** What `offline scan` found, and the config keys it proposes. */
export type ScanReport = {
  files: Array<{ file: string; kind: 'dockerfile' | 'compose' | 'npm-lockfile' | 'pypi-input' }>;
  proposal: { npm: { lockfiles: string[]; packages: string[] }; pypi: { requirements: string[]; packages: string[] }; pacman: { packages: string[] }; docker: { images: string[] } };
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
export async function scan(dirs: string[], base: string): Promise<ScanReport> {
  const report: ScanReport = {
    files: [], notes: [],
    proposal: { npm: { lockfiles: [], packages: [] }, pypi: { requirements: [], packages: [] }, pacman: { packages: [] }, docker: { images: [] } },
  };
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
  return report;
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

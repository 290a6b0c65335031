import { readdir, readFile } from 'node:fs/promises';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { Document, isSeq, parse as parseYaml, parseDocument } from 'yaml';
import { writeFileAtomic } from '../foundation/atomic.ts';
import { MIRRORS } from '../ecosystems/index.ts';
import type { Config } from '../ecosystems/config.ts';
import { scanDockerfile } from '../park/dockerfile.ts';

/** Config lists by section and key, as offline.yaml has them: `{ npm: { lockfiles: […], packages: […] }, … }`. */
export type Proposal = Record<string, Record<string, string[]>>;

/** A config key a park build of a Dockerfile needs an entry in, and whether the config has it. */
export type Need = { key: string; value: string; configured: boolean };

/** What `offline scan` found, the config keys it proposes, and what of that the config lacks. */
export type ScanReport = {
  /** kind: `dockerfile`, `compose`, or a mirror's input kind (`npm-lockfile`, `pypi-input`). */
  files: Array<{ file: string; kind: string }>;
  /** Per Dockerfile: its base images, the packages its RUN lines name, the lockfiles beside it. */
  dockerfiles: Array<{ file: string; needs: Need[] }>;
  proposal: Proposal;
  /** The proposal minus what the config already has: what `scan --write` adds. */
  missing: Proposal;
  notes: string[];
};

const SKIP = new Set(['node_modules', '.git', 'mirrors', 'dist', '.venv', 'venv', '__pycache__', '.tox', 'vendor', '.node', '.yarn']);
const COMPOSE = new Set(['compose.yaml', 'compose.yml', 'docker-compose.yaml', 'docker-compose.yml']);
const INPUT_FILES = MIRRORS.flatMap((m) => (m.inputs.files ? [m.inputs.files] : []));
const PACKAGES = new Map(MIRRORS.map((m) => [m.inputs.packages.key, m.inputs.packages]));
/** The config key base images go to (FROM lines, compose `image:`), if a mirror holds images. */
const IMAGES = MIRRORS.find((m) => m.inputs.images)?.inputs.packages.key;

/** The file's kind and, for a mirror's input file, the config key that lists it. */
function kindOf(name: string): { kind: string; key?: string } | undefined {
  if (name === 'Dockerfile' || name === 'Containerfile' || name.endsWith('.Dockerfile') || name.startsWith('Dockerfile.')) return { kind: 'dockerfile' };
  if (COMPOSE.has(name)) return { kind: 'compose' };
  const input = INPUT_FILES.find((f) => f.matches(name));
  return input && { kind: input.kind, key: input.key };
}

/** An empty list for every key a mirror reads from a project, in the mirrors' order. */
function emptyProposal(): Proposal {
  const proposal: Proposal = {};
  for (const { files, packages } of MIRRORS.map((m) => m.inputs)) {
    for (const key of [files?.key, packages.key]) {
      const [section, field] = key?.split('.') ?? [];
      if (section && field) (proposal[section] ??= {})[field] = [];
    }
  }
  return proposal;
}

/** The proposal's list for a config key such as `pypi.requirements`. */
function listAt(proposal: Proposal, key: string): string[] {
  const [section, field] = key.split('.') as [string, string];
  return proposal[section]![field]!;
}

/**
 * Walk project directories for Dockerfiles, compose files and lockfiles, and propose what to
 * mirror. Paths in the proposal are relative to `base` (the config file's directory), as config
 * paths are. Reads files only; changes nothing.
 */
export async function scan(dirs: string[], base: string, config?: Config): Promise<ScanReport> {
  const report: ScanReport = { files: [], dockerfiles: [], notes: [], proposal: emptyProposal(), missing: emptyProposal() };
  const has = configured(config, base);
  const files: string[] = [];
  for (const dir of dirs) await walk(dir, files, 0);
  for (const file of [...new Set(files)].sort()) {
    const { kind, key } = kindOf(basename(file))!;
    const rel = relative(base, file) || basename(file);
    report.files.push({ file: rel, kind });
    if (key) listAt(report.proposal, key).push(rel);
    else if (kind === 'dockerfile') {
      const found = scanDockerfile(await readFile(file, 'utf8'), rel);
      const beside = files.filter((f) => dirname(f) === dirname(file)).flatMap((f) => {
        const inputKey = kindOf(basename(f))?.key;
        return inputKey ? [[inputKey, relative(base, f)] as const] : [];
      });
      const needs: Array<readonly [string, string]> = [
        ...(IMAGES ? found.images.map((v) => [IMAGES, v] as const) : []),
        ...found.packages.map((p) => [p.key, p.spec] as const),
        ...beside,
      ];
      report.dockerfiles.push({ file: rel, needs: [...new Map(needs.map(([k, value]) => [`${k}\0${value}`, { key: k, value, configured: has(k, value) }])).values()] });
      if (IMAGES) listAt(report.proposal, IMAGES).push(...found.images);
      for (const p of found.packages) listAt(report.proposal, p.key).push(p.spec);
      report.notes.push(...found.notes);
    } else {
      if (IMAGES) listAt(report.proposal, IMAGES).push(...composeImages(await readFile(file, 'utf8'), rel, report.notes));
    }
  }
  for (const k of PACKAGES.keys()) {
    const list = listAt(report.proposal, k);
    list.splice(0, list.length, ...[...new Set(list)].sort());
  }
  for (const [section, keys] of Object.entries(report.proposal)) {
    for (const [field, values] of Object.entries(keys as Record<string, string[]>)) {
      listAt(report.missing, `${section}.${field}`).push(...values.filter((v) => !has(`${section}.${field}`, v)));
    }
  }
  return report;
}

/** Whether the config already has an entry for `value` under `key`: files by absolute path, packages by the name the mirror says a spec is about. */
function configured(config: Config | undefined, base: string): (key: string, value: string) => boolean {
  if (!config) return () => false;
  const listed = (key: string): string[] => {
    const [section, field] = key.split('.') as [string, string];
    return ((config as unknown as Record<string, Record<string, unknown>>)[section]?.[field] as string[] | undefined) ?? [];
  };
  const wanted = new Map<string, (value: string) => string>([
    ...INPUT_FILES.map((f) => [f.key, (value: string) => resolve(base, value)] as const),
    ...[...PACKAGES].map(([k, p]) => [k, p.name] as const),
  ]);
  const lists = new Map([...wanted].map(([k, as]) => [k, new Set(listed(k).map(as))]));
  return (key, value) => lists.get(key)?.has(wanted.get(key)!(value)) ?? false;
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

import { readFile, stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { parseDocument } from 'yaml';
import { dataDirProblem } from './data-dir.ts';
import { ConfigError, type ConfigIssue } from './errors.ts';
import { configSchema, type RawConfig } from './config-schema.ts';
import type { EcosystemName } from '../ecosystems/types.ts';

export const DEFAULT_CONFIG_FILE = 'offline.yaml';

/** A validated config with every path absolute and every default filled in. */
export type Config = RawConfig & {
  /** Absolute path of the file this config was read from. */
  file: string;
  /** The address mirrors bind to: `listen`, else `network.address`. */
  listen: string;
  /**
   * The mirrors the file has a section for (`npm:`, `pypi:` …, or an environment override of one):
   * the ones `serve`, `up` and `status` act on. `--all` makes it every mirror (`withAllMirrors`).
   */
  mirrors: EcosystemName[];
};

const SECTIONS: readonly EcosystemName[] = ['npm', 'pypi', 'pacman', 'docker'];

/** The config acting on every mirror, configured or not (`--all`). */
export function withAllMirrors(config: Config): Config {
  return { ...config, mirrors: [...SECTIONS] };
}

/**
 * Environment overrides, applied after the file is read and before validation. This table is the
 * one place they are defined; `docs/configuration.md` documents it.
 */
export const ENV_OVERRIDES: ReadonlyArray<{ env: string; path: string[]; type: 'string' | 'number' }> = [
  { env: 'OFFLINE_DATA', path: ['data'], type: 'string' },
  { env: 'OFFLINE_LISTEN', path: ['listen'], type: 'string' },
  { env: 'OFFLINE_NPM_UPSTREAM', path: ['npm', 'upstream'], type: 'string' },
  { env: 'OFFLINE_NPM_PORT', path: ['npm', 'port'], type: 'number' },
  { env: 'OFFLINE_PYPI_UPSTREAM', path: ['pypi', 'upstream'], type: 'string' },
  { env: 'OFFLINE_PYPI_PORT', path: ['pypi', 'port'], type: 'number' },
  { env: 'OFFLINE_PACMAN_UPSTREAM', path: ['pacman', 'upstream'], type: 'string' },
  { env: 'OFFLINE_PACMAN_PORT', path: ['pacman', 'port'], type: 'number' },
  { env: 'OFFLINE_DOCKER_PORT', path: ['docker', 'port'], type: 'number' },
];

/** `OFFLINE_CONFIG` names the config file when `-c` is not given. */
export function defaultConfigPath(env: NodeJS.ProcessEnv = process.env): string {
  return env.OFFLINE_CONFIG || DEFAULT_CONFIG_FILE;
}

/**
 * Read, override and validate a config file. Every problem is reported at once in one
 * `ConfigError` naming the file and each key's path; input files the config lists must exist.
 */
export async function loadConfig(path: string, env: NodeJS.ProcessEnv = process.env): Promise<Config> {
  const file = resolve(path);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code === 'ENOENT'
      ? 'file not found; create it (see the README for an example) or pass -c/--config'
      : `cannot read: ${(err as Error).message}`;
    throw new ConfigError(path, [{ path: '', message: reason }]);
  }
  return parseConfig(text, file, env);
}

export async function parseConfig(text: string, file: string, env: NodeJS.ProcessEnv = process.env): Promise<Config> {
  const doc = parseDocument(text, { prettyErrors: true });
  if (doc.errors.length > 0) {
    throw new ConfigError(file, doc.errors.map((e) => ({ path: '', message: e.message.split('\n')[0] ?? e.message })));
  }
  let raw: unknown;
  try {
    // yaml refuses documents whose aliases expand past this (a "billion laughs" bomb).
    raw = doc.toJS({ maxAliasCount: 100 }) ?? {};
  } catch (err) {
    throw new ConfigError(file, [{ path: '', message: `cannot read the YAML: ${(err as Error).message}` }]);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new ConfigError(file, [{ path: '', message: 'must be a YAML mapping of keys such as data, npm, network' }]);
  }
  const issues: ConfigIssue[] = [];
  applyEnvOverrides(raw as Record<string, unknown>, env, issues);
  const parsed = configSchema.safeParse(raw);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) issues.push({ path: formatPath(issue.path), message: issue.message });
  }
  // Files are checked even when the shape is not valid, so every problem is reported at once.
  issues.push(...(await fileIssues(pathsOf(raw as Record<string, unknown>, file))));
  if (issues.length > 0 || !parsed.success) throw new ConfigError(file, issues);
  const sections = SECTIONS.filter((name) => (raw as Record<string, unknown>)[name] !== undefined);
  return resolvePaths(parsed.data, file, sections);
}

function applyEnvOverrides(raw: Record<string, unknown>, env: NodeJS.ProcessEnv, issues: ConfigIssue[]): void {
  for (const o of ENV_OVERRIDES) {
    const value = env[o.env];
    if (value === undefined || value === '') continue;
    const typed = o.type === 'number' ? Number(value) : value;
    if (o.type === 'number' && !Number.isInteger(typed)) {
      issues.push({ path: o.env, message: `must be an integer, got "${value}"` });
      continue;
    }
    let node = raw;
    for (const key of o.path.slice(0, -1)) {
      if (typeof node[key] !== 'object' || node[key] === null) node[key] = {};
      node = node[key] as Record<string, unknown>;
    }
    node[o.path.at(-1)!] = typed;
  }
}

function resolvePaths(raw: RawConfig, file: string, mirrors: EcosystemName[]): Config {
  const base = dirname(file);
  return {
    ...raw,
    file,
    mirrors,
    data: resolve(base, raw.data),
    listen: raw.listen ?? raw.network.address,
    npm: { ...raw.npm, lockfiles: raw.npm.lockfiles.map((p) => resolve(base, p)) },
    pypi: { ...raw.pypi, requirements: raw.pypi.requirements.map((p) => resolve(base, p)) },
  };
}

/** The paths a config names, resolved, from whatever of it is readable (it may not be valid). */
type NamedPaths = { data: string | undefined; inputs: Array<{ path: string; file: string }> };

function pathsOf(raw: Record<string, unknown>, file: string): NamedPaths {
  const base = dirname(file);
  const usable = (v: unknown): v is string => typeof v === 'string' && v !== '' && !v.includes('\0');
  const inputs: NamedPaths['inputs'] = [];
  for (const [section, key] of [['npm', 'lockfiles'], ['pypi', 'requirements']] as const) {
    const list = (raw[section] as Record<string, unknown> | undefined)?.[key];
    if (!Array.isArray(list)) continue;
    list.forEach((f, i) => {
      if (usable(f)) inputs.push({ path: `${section}.${key}[${i}]`, file: resolve(base, f) });
    });
  }
  const data = raw.data === undefined ? './mirrors' : raw.data;
  return { data: usable(data) ? resolve(base, data) : undefined, inputs };
}

async function fileIssues(named: NamedPaths): Promise<ConfigIssue[]> {
  const issues: ConfigIssue[] = [];
  for (const { path, file } of named.inputs) {
    const info = await stat(file).catch(() => undefined);
    if (!info) issues.push({ path, message: `file not found: ${file}` });
    else if (!info.isFile()) issues.push({ path, message: `not a file: ${file}` });
  }
  if (named.data !== undefined) {
    const problem = await dataDirProblem(named.data);
    if (problem) issues.push({ path: 'data', message: problem });
  }
  return issues;
}

function formatPath(path: ReadonlyArray<PropertyKey>): string {
  return path.reduce<string>((acc, key) => {
    if (typeof key === 'number') return `${acc}[${key}]`;
    return acc ? `${acc}.${String(key)}` : String(key);
  }, '');
}

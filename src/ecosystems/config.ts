import { dirname, resolve } from 'node:path';
import { z } from 'zod';
import { ConfigError } from '../foundation/errors.ts';
import { baseShape, DEFAULT_CONFIG_FILE, loadWith, parseWith, type Loaded } from '../foundation/config.ts';
import { dockerSection } from './docker/schema.ts';
import { npmSection } from './npm/schema.ts';
import { pacmanSection } from './pacman/schema.ts';
import { pypiSection } from './pypi/schema.ts';

export { DEFAULT_CONFIG_FILE, defaultConfigPath, type Limits, type NetworkConfig } from '../foundation/config.ts';

/**
 * Every mirror's section of `offline.yaml`, in the order they sync and serve. Each ecosystem's
 * `schema.ts` owns its keys, defaults and environment overrides; this list composes them.
 */
export const SECTIONS = [npmSection, pypiSection, pacmanSection, dockerSection] as const;

export type EcosystemName = (typeof SECTIONS)[number]['key'];

type Sections = { [S in (typeof SECTIONS)[number] as S['key']]: z.infer<S['schema']> };
type Base = z.infer<z.ZodObject<typeof baseShape>>;

/** A validated config with every path absolute and every default filled in. */
export type Config = Omit<Base, 'listen'> & Sections & {
  /** Absolute path of the file this config was read from. */
  file: string;
  /** The address mirrors bind to: `listen`, else `network.address`. */
  listen: string;
  /**
   * The mirrors the file has a section for (`npm:`, `pypi:` …, or an environment override of one):
   * the ones `serve`, `up` and `status` act on. `--all` makes it every mirror (`withAllMirrors`).
   */
  mirrors: EcosystemName[];
  /** The file has a `stack:` section: `offline sync` builds the compose runtime's image. */
  buildStack: boolean;
};

/** Options of {@link loadConfig}: `requireInputs: false` when only serving (no input file is read). */
export type ConfigOptions = { requireInputs?: boolean };

/**
 * Read, override and validate a config file. Every problem is reported at once in one
 * `ConfigError` naming the file and each key's path; input files the config lists must exist
 * unless `requireInputs` is false.
 */
export async function loadConfig(path: string, env: NodeJS.ProcessEnv = process.env, options: ConfigOptions = {}): Promise<Config> {
  return typed(await loadWith(SECTIONS, path, { env, ...options }));
}

export async function parseConfig(text: string, file: string, env: NodeJS.ProcessEnv = process.env, options: ConfigOptions = {}): Promise<Config> {
  return typed(await parseWith(SECTIONS, text, file, { env, ...options }));
}

/** The config acting on every mirror, configured or not (`--all`). */
export function withAllMirrors(config: Config): Config {
  return { ...config, mirrors: SECTIONS.map((s) => s.key) };
}

/**
 * The config acting on one mirror only (`serve --mirror <name>`: a compose stack service).
 * @throws ConfigError when `name` is not a mirror.
 */
export function withOneMirror(config: Config, name: string): Config {
  const known = SECTIONS.map((s) => s.key);
  const mirror = known.find((k) => k === name);
  if (!mirror) throw new ConfigError(config.file, [{ path: '', message: `--mirror ${JSON.stringify(name)} is not a mirror (one of ${known.join(', ')})` }]);
  return { ...config, mirrors: [mirror] };
}

/** What an offline.yaml with an empty section for every mirror gives: for help texts and defaults. */
export function defaultConfig(file = resolve(DEFAULT_CONFIG_FILE)): Config {
  const values: Record<string, unknown> = z.strictObject(baseShape).parse({});
  for (const s of SECTIONS) values[s.key] = s.schema.parse({});
  values.data = resolve(dirname(file), values.data as string);
  return typed({ file, values, present: SECTIONS.map((s) => s.key) });
}

function typed(loaded: Loaded): Config {
  const values = loaded.values as Omit<Config, 'file' | 'listen' | 'mirrors' | 'buildStack'> & { listen?: string };
  const mirrors = SECTIONS.map((s) => s.key).filter((key) => loaded.present.includes(key));
  return { ...values, file: loaded.file, listen: values.listen ?? values.network.address, mirrors, buildStack: loaded.present.includes('stack') };
}

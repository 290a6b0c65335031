import { readFile, stat } from 'node:fs/promises';
import { isIPv6 } from 'node:net';
import { dirname, resolve } from 'node:path';
import { parseDocument } from 'yaml';
import { z } from 'zod';
import { dataDirProblem } from './data-dir.ts';
import { ConfigError, type ConfigIssue } from './errors.ts';

/**
 * The keys of `offline.yaml` that belong to no mirror (data, listen, user, network, limits, stack,
 * controller), the building blocks mirrors' sections use, and the loader that composes both. Key
 * names are fixed by the product brief; the defaults are the brief's. Types are inferred from the
 * schemas.
 */

export const DEFAULT_CONFIG_FILE = 'offline.yaml';

export const port = z.number().int().min(1).max(65535);
export const url = z.string().refine((v) => /^https?:\/\/[^/]/.test(v), { message: 'must be an http:// or https:// URL' });
export const names = z.array(z.string().min(1)).default([]);
const pathString = z.string().min(1).refine((v) => !v.includes('\0'), { message: 'must not contain a NUL character' });
export const paths = z.array(pathString).default([]);

const octet = '(25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)';
const IPV4 = new RegExp(`^(${octet}\\.){3}${octet}$`);
const ipv4 = z.string().regex(IPV4, { message: 'must be an IPv4 address (four numbers 0–255)' });
const cidr = z.string().refine((v) => {
  const [address = '', prefix, ...rest] = v.split('/');
  return rest.length === 0 && IPV4.test(address) && prefix !== undefined && /^\d{1,2}$/.test(prefix) && Number(prefix) <= 32;
}, { message: 'must be an IPv4 CIDR such as 10.1.1.0/24' });

const UNITS: Record<string, number> = { '': 1, b: 1, k: 1024, kb: 1000, kib: 1024, m: 1024 ** 2, mb: 1000 ** 2, mib: 1024 ** 2, g: 1024 ** 3, gb: 1000 ** 3, gib: 1024 ** 3 };

/** A size in bytes: a number, or `64MiB`, `1.5 GiB`, `500MB`. */
const size = z.union([z.number(), z.string()]).transform((value, ctx) => {
  const m = typeof value === 'number' ? ['', String(value), ''] : /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(value);
  const factor = m ? UNITS[m[2]!.toLowerCase()] : undefined;
  const bytes = m && factor ? Math.floor(Number(m[1]) * factor) : NaN;
  if (!Number.isSafeInteger(bytes) || bytes < 1024) {
    ctx.addIssue({ code: 'custom', message: `must be a size of at least 1 KiB, such as 128MiB (got ${JSON.stringify(value)})` });
    return z.NEVER;
  }
  return bytes;
});

/**
 * What a sync is willing to hold in memory for one item. Generous for real metadata (npm's largest
 * packuments, Arch's `extra` database), small enough that a hostile one cannot exhaust memory.
 */
export const limitsSchema = z.strictObject({
  /** The largest metadata document read whole: a packument, a project page, a manifest, a pacman db. */
  document: size.default(128 * 1024 * 1024),
  /** The largest decompressed metadata: a pacman db, a wheel's METADATA, an sdist's PKG-INFO search. */
  unpacked: size.default(128 * 1024 * 1024),
});

// A Linux interface name: at most 15 bytes; letters, digits, _ . - only.
const linkName = z.string().regex(/^[A-Za-z0-9_.-]{1,15}$/, { message: 'must be an interface name: 1–15 letters, digits, _ . -' });

export const networkSchema = z.strictObject({
  interface: linkName.default('offline0'),
  address: ipv4.default('10.1.1.254'),
  docker_network: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, { message: 'must be a Docker network name (letters, digits, _ . -)' }).default('no-internet'),
  subnet: cidr.default('10.1.1.0/24'),
  bridge: linkName.default('br-offline'),
});

/**
 * The compose runtime (`offline up --compose`): the base of the mirrors' image. A `stack:` section
 * in the file (even empty) also makes `offline sync` build that image while online.
 */
export const stackSchema = z.strictObject({
  /** Any image with Node >= 22.12 at /usr/local/bin/node. */
  base: z.string().min(1).default('node:24-bookworm-slim'),
});

/**
 * The controller (docs/adr/0016): the status page and the API that `offline serve` and `offline up`
 * start. It listens on this machine only, never on the mirror address the isolated network sees.
 */
export const controllerSchema = z.strictObject({
  listen: z.string().refine((v) => IPV4.test(v) || isIPv6(v) || v === 'localhost', { message: 'must be an IP address of this machine, such as 127.0.0.1' })
    .refine((v) => v !== '0.0.0.0' && v !== '::', { message: 'must be one address, not every address: every address includes the mirror address, which containers on the isolated network reach' })
    .default('127.0.0.1'),
  port: port.default(7070),
});

export const baseShape = {
  data: pathString.default('./mirrors'),
  /** Defaults to `network.address`. */
  listen: z.string().optional(),
  /** Who the mirrors run as when root starts them; default: the data directory's owner, else nobody. */
  user: z.union([z.string().regex(/^([a-z_][a-z0-9_.-]*\$?|[1-9]\d*)$/i, { message: 'must be a user name or uid' }), z.number().int().min(1)]).optional(),
  network: networkSchema.default(networkSchema.parse({})),
  limits: limitsSchema.default(limitsSchema.parse({})),
  stack: stackSchema.default(stackSchema.parse({})),
  controller: controllerSchema.default(controllerSchema.parse({})),
};

/** Checks across root keys, after each key is valid on its own. */
function crossKeyIssues(values: z.infer<z.ZodObject<typeof baseShape>>): ConfigIssue[] {
  if (values.controller.listen !== values.network.address) return [];
  return [{ path: 'controller.listen', message: `must not be the mirror address (${values.network.address}): containers on the isolated network would reach the controller; keep the default 127.0.0.1` }];
}

/**
 * Two configured mirrors, or a mirror and the controller, on one port: caught here, in one line
 * naming both keys, rather than as "port in use" when serving starts.
 */
function portIssues(values: Record<string, unknown>, mirrors: string[]): ConfigIssue[] {
  const owners = new Map<number, string>();
  const issues: ConfigIssue[] = [];
  const claim = (key: string, port: unknown): void => {
    if (typeof port !== 'number') return;
    const other = owners.get(port);
    if (other) issues.push({ path: key, message: `${port} is also ${other}: each mirror and the controller need a port of their own` });
    else owners.set(port, key);
  };
  for (const key of mirrors) claim(`${key}.port`, (values[key] as { port?: unknown } | undefined)?.port);
  claim('controller.port', (values.controller as { port?: unknown } | undefined)?.port);
  return issues;
}

export type NetworkConfig = z.infer<typeof networkSchema>;
export type ControllerConfig = z.infer<typeof controllerSchema>;
export type Limits = z.infer<typeof limitsSchema>;

/** One environment variable that overrides one key; `path` is below the section (or the root). */
export type EnvOverride = { env: string; path: string[]; type: 'string' | 'number' };

/**
 * One mirror's part of the config: its key (`npm`), its schema (every key defaulted, so an empty
 * section is valid), the environment overrides of its keys, and the keys that list input files —
 * checked to exist when inputs are required, and resolved against the config file.
 */
export type Section<S extends z.ZodType = z.ZodType> = { key: string; schema: S; env: EnvOverride[]; inputs: string[] };

/**
 * The overrides every mirror section has: `OFFLINE_<KEY>_PORT` for `port` and, when it has an
 * upstream, `OFFLINE_<KEY>_UPSTREAM` for `upstream`.
 */
export function mirrorEnv(key: string, options: { upstream: boolean }): EnvOverride[] {
  const prefix = `OFFLINE_${key.toUpperCase()}`;
  const port: EnvOverride = { env: `${prefix}_PORT`, path: ['port'], type: 'number' };
  return options.upstream ? [{ env: `${prefix}_UPSTREAM`, path: ['upstream'], type: 'string' }, port] : [port];
}

/** The root keys' environment overrides. `docs/configuration.md` documents every override. */
export const BASE_ENV: readonly EnvOverride[] = [
  { env: 'OFFLINE_DATA', path: ['data'], type: 'string' },
  { env: 'OFFLINE_LISTEN', path: ['listen'], type: 'string' },
  { env: 'OFFLINE_USER', path: ['user'], type: 'string' },
  { env: 'OFFLINE_BASE_IMAGE', path: ['stack', 'base'], type: 'string' },
  { env: 'OFFLINE_CONTROLLER_LISTEN', path: ['controller', 'listen'], type: 'string' },
  { env: 'OFFLINE_CONTROLLER_PORT', path: ['controller', 'port'], type: 'number' },
];

/** `OFFLINE_CONFIG` names the config file when `-c` is not given. */
export function defaultConfigPath(env: NodeJS.ProcessEnv = process.env): string {
  return env.OFFLINE_CONFIG || DEFAULT_CONFIG_FILE;
}

/** What the loader gives back before the caller types it: the root keys, each section, `present`. */
export type Loaded = {
  /** Absolute path of the file this config was read from. */
  file: string;
  /** Validated, defaulted and path-resolved values, by key (root keys and each section's key). */
  values: Record<string, unknown>;
  /** The top-level keys the file (or an environment override) has: sections name the mirrors acted on. */
  present: string[];
};

export type LoadOptions = {
  env?: NodeJS.ProcessEnv;
  /**
   * `true` (the default): every input file a section lists must exist (sync, check, scan need
   * them). `false` for serving, which needs only the data directory and the ports.
   */
  requireInputs?: boolean;
};

/** Read a config file and {@link parseWith} it. A missing or unreadable file is a `ConfigError`. */
export async function loadWith(sections: readonly Section[], path: string, options: LoadOptions = {}): Promise<Loaded> {
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
  return parseWith(sections, text, file, options);
}

/**
 * Parse, override and validate a config's text against the root keys and `sections`. Every
 * problem is reported at once in one `ConfigError` naming the file and each key's path.
 */
export async function parseWith(sections: readonly Section[], text: string, file: string, options: LoadOptions = {}): Promise<Loaded> {
  const env = options.env ?? process.env;
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
    throw new ConfigError(file, [{ path: '', message: `must be a YAML mapping of keys such as data, ${sections[0]?.key ?? 'listen'}, network` }]);
  }
  const record = raw as Record<string, unknown>;
  const issues: ConfigIssue[] = [];
  applyEnvOverrides(record, env, [...BASE_ENV, ...sections.flatMap((s) => s.env.map((o) => ({ ...o, path: [s.key, ...o.path] })))], issues);
  const schema = z.strictObject({
    ...baseShape,
    ...Object.fromEntries(sections.map((s) => [s.key, s.schema.default(s.schema.parse({}))])),
  });
  const parsed = schema.safeParse(record);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) issues.push({ path: formatPath(issue.path), message: issue.message });
  } else {
    issues.push(...crossKeyIssues(parsed.data as z.infer<z.ZodObject<typeof baseShape>>));
    issues.push(...portIssues(parsed.data as Record<string, unknown>, sections.map((s) => s.key).filter((k) => record[k] !== undefined)));
  }
  // Files are checked even when the shape is not valid, so every problem is reported at once.
  const named = pathsOf(record, file, sections);
  issues.push(...(await fileIssues(named, options.requireInputs !== false)));
  if (issues.length > 0 || !parsed.success) throw new ConfigError(file, issues);
  const present = Object.keys(record).filter((k) => record[k] !== undefined);
  return { file, values: resolvePaths(parsed.data as Record<string, unknown>, file, sections), present };
}

function applyEnvOverrides(raw: Record<string, unknown>, env: NodeJS.ProcessEnv, overrides: EnvOverride[], issues: ConfigIssue[]): void {
  for (const o of overrides) {
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

function resolvePaths(values: Record<string, unknown>, file: string, sections: readonly Section[]): Record<string, unknown> {
  const base = dirname(file);
  const out: Record<string, unknown> = { ...values, data: resolve(base, values.data as string) };
  for (const s of sections) {
    const section = { ...(values[s.key] as Record<string, unknown>) };
    for (const key of s.inputs) section[key] = (section[key] as string[]).map((p) => resolve(base, p));
    out[s.key] = section;
  }
  return out;
}

/** The paths a config names, resolved, from whatever of it is readable (it may not be valid). */
type NamedPaths = { data: string | undefined; inputs: Array<{ path: string; file: string }> };

function pathsOf(raw: Record<string, unknown>, file: string, sections: readonly Section[]): NamedPaths {
  const base = dirname(file);
  const usable = (v: unknown): v is string => typeof v === 'string' && v !== '' && !v.includes('\0');
  const inputs: NamedPaths['inputs'] = [];
  for (const s of sections) {
    for (const key of s.inputs) {
      const list = (raw[s.key] as Record<string, unknown> | undefined)?.[key];
      if (!Array.isArray(list)) continue;
      list.forEach((f, i) => {
        if (usable(f)) inputs.push({ path: `${s.key}.${key}[${i}]`, file: resolve(base, f) });
      });
    }
  }
  const data = raw.data === undefined ? './mirrors' : raw.data;
  return { data: usable(data) ? resolve(base, data) : undefined, inputs };
}

async function fileIssues(named: NamedPaths, requireInputs: boolean): Promise<ConfigIssue[]> {
  const issues: ConfigIssue[] = [];
  for (const { path, file } of requireInputs ? named.inputs : []) {
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

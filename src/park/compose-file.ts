import { stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { InputError } from '../foundation/errors.ts';

/** The part of `docker compose config --format json` offline reads. */
export type ComposeModel = {
  name?: string;
  services?: Record<string, {
    image?: string;
    build?: { context?: string; dockerfile?: string; args?: Record<string, string | null> };
    network_mode?: string;
    networks?: Record<string, unknown>;
  }>;
};

/** Global `docker compose` options that take a value, as compose v2 defines them. */
const VALUE_OPTIONS = new Set(['-f', '--file', '-p', '--project-name', '--project-directory', '--profile', '--env-file', '--parallel', '--ansi', '--progress']);
const MAIN_FILES = ['compose.yaml', 'compose.yml', 'docker-compose.yaml', 'docker-compose.yml'];
const OVERRIDE_FILES = ['compose.override.yaml', 'compose.override.yml', 'docker-compose.override.yaml', 'docker-compose.override.yml'];

export type ComposeArgs = {
  /** The user's compose files, as compose would load them, absolute. */
  files: string[];
  /** Global options other than `-f` (project name, profiles, env files …), passed on as given. */
  globals: string[];
  /** The subcommand and everything after it. */
  rest: string[];
};

async function isFile(path: string): Promise<boolean> {
  return (await stat(path).catch(() => undefined))?.isFile() ?? false;
}

/**
 * Split `docker compose` arguments into the compose files, the other global options, and the
 * subcommand. The files are those compose itself would load: `-f` as given, else `COMPOSE_FILE`,
 * else the first of compose.yaml … docker-compose.yml in the project directory or its nearest
 * parent that has one, with its override file — because naming offline's override with `-f`
 * stops compose from finding them on its own.
 */
export async function splitComposeArgs(args: string[], cwd: string, env: NodeJS.ProcessEnv): Promise<ComposeArgs> {
  const files: string[] = [];
  const globals: string[] = [];
  let projectDir: string | undefined;
  let i = 0;
  for (; i < args.length; i++) {
    const arg = args[i]!;
    if (!arg.startsWith('-')) break;
    const [flag, inline] = arg.startsWith('--') && arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined];
    if (!VALUE_OPTIONS.has(flag)) {
      globals.push(arg);
      continue;
    }
    const value = inline ?? args[++i];
    if (value === undefined) throw new InputError('offline compose', flag, 'needs a value');
    if (flag === '-f' || flag === '--file') {
      if (value === '-') throw new InputError('offline compose', '-f -', 'a compose file from standard input cannot be given an override; name the file');
      files.push(resolve(cwd, value));
      continue;
    }
    if (flag === '--project-directory') projectDir = resolve(cwd, value);
    globals.push(flag, value);
  }
  const rest = args.slice(i);
  if (rest.length === 0) throw new InputError('offline compose', 'the arguments', 'name a compose command after --, e.g. `offline compose -- up --build`');
  if (files.length === 0 && env.COMPOSE_FILE) {
    files.push(...env.COMPOSE_FILE.split(env.COMPOSE_PATH_SEPARATOR ?? ':').filter(Boolean).map((f) => resolve(projectDir ?? cwd, f)));
  }
  if (files.length === 0) {
    for (let dir = projectDir ?? cwd; ; dir = dirname(dir)) {
      const main = await firstFile(dir, MAIN_FILES);
      if (main) {
        files.push(main);
        const override = await firstFile(dir, OVERRIDE_FILES);
        if (override) files.push(override);
        break;
      }
      if (dir === dirname(dir)) throw new InputError('offline compose', projectDir ?? cwd, `has no ${MAIN_FILES.join(', ')} here or above; name one with -f`);
    }
  }
  return { files, globals, rest };
}

async function firstFile(dir: string, names: string[]): Promise<string | undefined> {
  for (const name of names) if (await isFile(join(dir, name))) return join(dir, name);
  return undefined;
}

/** The network key offline's override uses for the isolated network. */
export const PARK_NETWORK_KEY = 'offline-isolated';

/** Network modes that share another container's network (already isolated with it) or have none. */
function keepsNetworkMode(mode: string | undefined): boolean {
  return mode === 'none' || Boolean(mode?.startsWith('service:')) || Boolean(mode?.startsWith('container:'));
}

/**
 * The override file: every service on the isolated network and on no other (`!override` replaces
 * the user's list instead of merging with it; a `network_mode` such as host or bridge is
 * `!reset`), and every build on it too (`build.network`, which the classic builder honours); both
 * resolve the outside names `hosts` (`name:address`) to the mirror address (docs/adr/0009).
 * Names are written as JSON strings, which YAML reads as they are.
 */
export function composeOverride(model: ComposeModel, network: string, hosts: string[] = []): string {
  const q = (s: string) => JSON.stringify(s);
  const lines = [
    '# Written by `offline compose` on each run: every service and build on the isolated network only.',
    '# Your compose files are not changed; this file may be deleted at any time.',
    'services:',
  ];
  for (const [name, service] of Object.entries(model.services ?? {})) {
    const body: string[] = [];
    if (!keepsNetworkMode(service.network_mode)) {
      if (service.network_mode !== undefined) body.push('    network_mode: !reset null');
      body.push('    networks: !override', `      ${q(PARK_NETWORK_KEY)}: {}`);
      if (hosts.length > 0) body.push('    extra_hosts:', ...hosts.map((h) => `      - ${q(h)}`));
    }
    if (service.build) {
      body.push('    build:', `      network: ${q(network)}`);
      if (hosts.length > 0) body.push('      extra_hosts:', ...hosts.map((h) => `        - ${q(h)}`));
    }
    lines.push(body.length > 0 ? `  ${q(name)}:` : `  ${q(name)}: {}`, ...body);
  }
  lines.push('networks:', `  ${q(PARK_NETWORK_KEY)}:`, `    name: ${q(network)}`, '    external: true', '');
  return lines.join('\n');
}

import { createHash } from 'node:crypto';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MIRRORS, servedMirrors } from '../ecosystems/index.ts';
import type { Config } from '../ecosystems/config.ts';
import { writeFileAtomic } from '../foundation/atomic.ts';
import { NetworkError } from '../foundation/errors.ts';
import { must, type Runner } from '../net/runner.ts';

/**
 * The compose runtime (docs/adr/0014): the mirrors as services of the repository's compose.yaml,
 * one per mirror the config names, each the image of services/mirror/Dockerfile running
 * `offline serve --mirror <name>` on the mirror address with the data mounted read-only.
 */

/** The checkout this code runs from (src/core or dist/core, two levels down). */
const REPO = fileURLToPath(new URL('../../', import.meta.url));
export const STACK_FILE = join(REPO, 'compose.yaml');
/** The compose project: `docker compose -p offline …` addresses exactly the stack offline started. */
export const STACK_PROJECT = 'offline';
const IMAGE_REPOSITORY = 'offline-mirror';
/** What the image is made of: a change in any of them is a new image (a new tag). */
const IMAGE_INPUTS = ['dist', 'services', 'package.json', 'package-lock.json', 'bin/offline.js'];

export type StackService = { service: string; state: string; health: string };

/** Where the stack's variables are written, for compose and for a user running compose by hand. */
export function stackEnvFile(config: Config): string {
  return join(config.data, 'stack.env');
}

/**
 * The image tag for this checkout: `offline-mirror:<hash of dist, services and the lockfile>`.
 * @throws NetworkError when dist/ is missing (the image copies the built CLI).
 */
export async function stackImage(): Promise<string> {
  const hash = createHash('sha256');
  for (const input of IMAGE_INPUTS) {
    const path = join(REPO, input);
    const info = await stat(path).catch(() => undefined);
    if (!info) {
      if (input === 'dist') throw new NetworkError(`${path} is missing: the stack's image copies the built CLI; run \`bash scripts/setup\` (or \`npm run build\`) first`);
      continue;
    }
    const files = info.isDirectory() ? (await readdir(path, { recursive: true })).map((f) => join(path, f)).sort() : [path];
    for (const file of files) {
      if (!(await stat(file)).isFile()) continue;
      hash.update(`${relative(REPO, file)}\0`).update(await readFile(file)).update('\0');
    }
  }
  return `${IMAGE_REPOSITORY}:${hash.digest('hex').slice(0, 16)}`;
}

/** The variables compose.yaml reads. `uid`: who the mirrors serve as (resolved on the host). */
function stackVariables(config: Config, address: string, image: string, uid: number | undefined): Record<string, string> {
  const vars: Record<string, string> = {
    OFFLINE_IMAGE: image,
    OFFLINE_BASE_IMAGE: config.stack.base,
    OFFLINE_DATA: config.data,
    OFFLINE_CONFIG_FILE: config.file,
    OFFLINE_ADDRESS: address,
  };
  for (const m of MIRRORS) vars[`OFFLINE_${m.name.toUpperCase()}_PORT`] = String(m.port(config));
  if (uid !== undefined) vars.OFFLINE_USER = String(uid);
  return vars;
}

async function writeStackEnv(config: Config, vars: Record<string, string>): Promise<string> {
  const file = stackEnvFile(config);
  const lines = Object.entries(vars).map(([k, v]) => `${k}=${JSON.stringify(v)}`);
  await writeFileAtomic(file, `# Written by offline for compose.yaml (docker compose -p ${STACK_PROJECT} --env-file ${file} …)\n${lines.join('\n')}\n`);
  return file;
}

function compose(envFile: string, args: string[]): string[] {
  return ['docker', 'compose', '-p', STACK_PROJECT, '-f', STACK_FILE, '--project-directory', REPO, '--env-file', envFile, ...args];
}

async function imageExists(run: Runner, tag: string): Promise<boolean> {
  return (await run(['docker', 'image', 'inspect', '--format', '{{.Id}}', tag])).code === 0;
}

export type StackImageReport = { image: string; built: boolean };

/**
 * Build the stack's image for this checkout unless the daemon has it, with `docker compose
 * build` and the classic builder (it uses local base images; nothing in the build is fetched but
 * the base). Online, the default base comes from Docker Hub; `stack.base` or `OFFLINE_BASE_IMAGE`
 * names a local one. @throws CommandError when the build fails.
 */
export async function buildStackImage(config: Config, run: Runner, address = config.listen): Promise<StackImageReport> {
  const image = await stackImage();
  if (await imageExists(run, image)) return { image, built: false };
  const envFile = await writeStackEnv(config, stackVariables(config, address, image, undefined));
  await must(run, ['env', 'DOCKER_BUILDKIT=0', ...compose(envFile, ['build', '--quiet', 'npm'])]);
  return { image, built: true };
}

export type StartStackOptions = { config: Config; address: string; run: Runner; uid: number };

/**
 * Start the service of every mirror the config names (`up -d`: compose leaves running ones
 * alone, so a second start changes nothing). The image must be there: built by `offline sync`
 * online, or buildable now from a local base. @throws NetworkError saying what to run online.
 */
export async function startStack(options: StartStackOptions): Promise<string[]> {
  const { config, run } = options;
  const image = await stackImage();
  if (!(await imageExists(run, image))) {
    try {
      await buildStackImage(config, run, options.address);
    } catch (err) {
      throw new NetworkError(`the stack's image ${image} is not in Docker and cannot be built here (${(err as Error).message.split('\n')[0]}): while online, run \`offline sync\` with a \`stack:\` section in ${config.file} (it builds the image), or set stack.base / OFFLINE_BASE_IMAGE to a local image with Node at /usr/local/bin/node`);
    }
  }
  const services = servedMirrors(config).map((m) => m.name);
  const envFile = await writeStackEnv(config, stackVariables(config, options.address, image, options.uid));
  await must(run, compose(envFile, ['up', '--detach', '--no-build', '--remove-orphans', ...services]));
  return services;
}

/** Stop and remove the stack's containers (only project `offline`); harmless when none run. */
export async function stopStack(config: Config, run: Runner): Promise<boolean> {
  const envFile = stackEnvFile(config);
  if (!(await stat(envFile).catch(() => undefined))) return false;
  await must(run, compose(envFile, ['down', '--remove-orphans', '--timeout', '10']));
  return true;
}

/** Each stack service's state and health (`docker compose ps`); empty when the stack never ran. */
export async function stackServices(config: Config, run: Runner): Promise<StackService[]> {
  const envFile = stackEnvFile(config);
  if (!(await stat(envFile).catch(() => undefined))) return [];
  const r = await run(compose(envFile, ['ps', '--all', '--format', 'json']));
  if (r.code !== 0) return [];
  // compose v2.21+ prints one JSON object per line; older ones a JSON array.
  const text = r.stdout.trim();
  const rows = (text.startsWith('[') ? JSON.parse(text) : text.split('\n').filter(Boolean).map((l) => JSON.parse(l))) as Array<{ Service?: string; State?: string; Health?: string }>;
  return rows.map((row) => ({ service: row.Service ?? '?', state: row.State ?? '?', health: row.Health || 'none' }));
}

/** Follow the stack's logs until the process is interrupted (foreground `up --compose`). */
export function followArgs(config: Config): string[] {
  return compose(stackEnvFile(config), ['logs', '--follow', '--tail', '20']);
}

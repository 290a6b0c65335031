import { spawn } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import type { Config } from '../ecosystems/config.ts';
import { scanDockerfile, type DockerfileFindings } from './dockerfile.ts';
import { InputError, MissingError, NetworkError } from '../foundation/errors.ts';
import { answers } from '../foundation/listen.ts';
import { familiarName, parseReference } from '../ecosystems/docker/index.ts';
import { MIRRORS } from '../ecosystems/index.ts';
import { must, systemRunner, type Runner } from '../net/runner.ts';
import { readState } from '../net/state.ts';
import { isHostName } from '../net/plan.ts';
import { installBaseImages, type BaseImagesReport } from './base-images.ts';
import { composeOverride, splitComposeArgs, type ComposeModel } from './compose-file.ts';

/** What every park build needs first: the network `up` made, the mirrors answering on it, the base images loaded. */
export type Park = {
  network: string;
  address: string;
  /** Outside names containers resolve to the mirror address (`name:address`, as `--add-host` takes it). */
  hosts: string[];
  images: BaseImagesReport;
  run: Runner;
};

/**
 * Check that `offline up` has wired the isolated network and the mirrors answer on it, and
 * (re)load the base images for it. Throws NetworkError saying to run `offline up` otherwise.
 */
export async function preparePark(config: Config, run: Runner = systemRunner): Promise<Park> {
  const state = await readState(config.data);
  const network = state?.plan?.network;
  if (!network) throw new NetworkError(`the isolated network is not up for ${config.file}: run \`sudo offline up -d\` first`);
  for (const port of state.plan.ports) {
    if (!(await answers(network.address, port))) {
      throw new NetworkError(`no mirror answers on ${network.address}:${port}: run \`sudo offline up -d\` (and \`offline status\` to see what is serving)`);
    }
  }
  const images = await installBaseImages(config, run, network.address);
  const hosts = (Array.isArray(state.plan.names) ? state.plan.names : []).filter((n) => typeof n === 'string' && isHostName(n)).map((n) => `${n}:${network.address}`);
  return { network: network.name, address: network.address, hosts, images, run };
}

/** One Dockerfile a build will read, and where it comes from (for messages). */
export type BuildInput = { dockerfile: string; what: string; args?: Record<string, string> };

/**
 * Every FROM image the builds need must be in the daemon as offline loaded it: listed in
 * `docker.images`, mirrored, and loaded for this platform; every package a RUN line names
 * (`pip install flask`, `pacman -S git`, `npm install -g tsx`) must be in its published mirror.
 * Throws a MissingError naming each Dockerfile line and the key to add, before anything is built.
 */
export async function checkBuildInputs(config: Config, park: Park, inputs: BuildInput[]): Promise<void> {
  const configured = new Map(config.docker.images.flatMap((spec) => {
    try {
      return [[familiarName(parseReference(spec)), spec] as const];
    } catch {
      return [];
    }
  }));
  const failed = new Map(park.images.problems.map((p) => [p.spec, p.message]));
  const problems: string[] = [];
  for (const input of inputs) {
    let text: string;
    try {
      text = await readFile(input.dockerfile, 'utf8');
    } catch (err) {
      problems.push(`${input.what}: cannot read ${input.dockerfile}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
      continue;
    }
    const found = scanDockerfile(text, input.dockerfile, input.args);
    for (const { image, line } of found.from) {
      let name: string;
      try {
        name = familiarName(parseReference(image, `${input.dockerfile}:${line}`));
      } catch (err) {
        problems.push(`${input.dockerfile}:${line}: FROM ${image}: ${(err as Error).message}`);
        continue;
      }
      const spec = configured.get(name);
      if (!spec) problems.push(`${input.dockerfile}:${line}: FROM ${image} is not mirrored: add "${image}" to docker.images in ${config.file}, then run \`offline sync\` online`);
      else if (failed.has(spec)) problems.push(`${input.dockerfile}:${line}: FROM ${image}: ${failed.get(spec)}`);
    }
    for (const note of found.notes) problems.push(`${note}: offline cannot tell which image to load`);
    problems.push(...(await unservedPackages(config, input.dockerfile, found.packages)));
  }
  if (problems.length > 0) throw new MissingError(inputs.map((i) => i.what).join(', '), problems);
}

/** The RUN-line packages no published mirror can satisfy, as `file:line` problems naming the key to add. */
async function unservedPackages(config: Config, dockerfile: string, packages: DockerfileFindings['packages']): Promise<string[]> {
  const problems: string[] = [];
  for (const mirror of MIRRORS) {
    const { key, name, unserved } = mirror.inputs.packages;
    const named = packages.filter((p) => p.key === key);
    if (named.length === 0 || !unserved) continue;
    const missing = new Map((await unserved(join(config.data, mirror.name), [...new Set(named.map((p) => p.spec))])).map((u) => [u.spec, u.message]));
    for (const { spec, line } of named) {
      const message = missing.get(spec);
      if (message) problems.push(`${dockerfile}:${line}: RUN installs ${spec}, but ${message}: add "${name(spec)}" to ${key} in ${config.file}, then run \`offline sync\` online`);
    }
  }
  return problems;
}

/** `docker build` options that take a value (so the context is found among the positionals). */
const BUILD_VALUE_OPTIONS = new Set([
  '-t', '--tag', '-f', '--file', '--build-arg', '--label', '--target', '--platform', '--cache-from', '--iidfile', '--add-host',
  '--cgroup-parent', '--cpu-period', '--cpu-quota', '-c', '--cpu-shares', '--cpuset-cpus', '--cpuset-mems', '-m', '--memory',
  '--memory-swap', '--shm-size', '--ulimit', '--isolation', '--security-opt', '--network',
]);

/** The context, Dockerfile and build args a `docker build` argument list names. */
export function buildTarget(args: string[], cwd: string): { context?: string; dockerfile?: string; buildArgs: Record<string, string>; network?: string } {
  const positionals: string[] = [];
  const buildArgs: Record<string, string> = {};
  let file: string | undefined;
  let network: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    const [flag, inline] = arg.startsWith('--') && arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined];
    if (BUILD_VALUE_OPTIONS.has(flag)) {
      const value = inline ?? args[++i] ?? '';
      if (flag === '-f' || flag === '--file') file = value;
      if (flag === '--network') network = value;
      if (flag === '--build-arg' && value.includes('=')) buildArgs[value.slice(0, value.indexOf('='))] = value.slice(value.indexOf('=') + 1);
    } else if (!arg.startsWith('-') || arg === '-') {
      positionals.push(arg);
    }
  }
  const context = positionals[0];
  if (!context || context === '-' || /^[a-z]+:\/\/|^git@/.test(context)) return { buildArgs, ...(network ? { network } : {}) };
  const dir = resolve(cwd, context);
  return { context: dir, dockerfile: file ? (isAbsolute(file) ? file : resolve(cwd, file)) : join(dir, 'Dockerfile'), buildArgs, ...(network ? { network } : {}) };
}

/** The environment the docker CLI runs with: the classic builder, which honours `--network`. */
function classicBuilder(): NodeJS.ProcessEnv {
  return { ...process.env, DOCKER_BUILDKIT: '0' };
}

/** Run a docker command with the terminal attached; resolves to its exit code. */
function attached(argv: string[], env: NodeJS.ProcessEnv, cwd: string): Promise<number> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), { stdio: 'inherit', env, cwd });
    const forward = (signal: NodeJS.Signals) => child.kill(signal);
    process.on('SIGINT', forward);
    process.on('SIGTERM', forward);
    child.once('error', reject);
    child.once('close', (code, signal) => {
      process.off('SIGINT', forward);
      process.off('SIGTERM', forward);
      resolvePromise(code ?? (signal === 'SIGINT' ? 130 : 1));
    });
  });
}

export type ParkOptions = { config: Config; args: string[]; cwd?: string; run?: Runner; log?: (line: string) => void };

/**
 * `offline build -- ARGS`: `docker build ARGS` with the classic builder on the isolated network,
 * after checking that the mirrors are up and the Dockerfile's base images are loaded.
 */
export async function parkBuild(options: ParkOptions): Promise<number> {
  const cwd = options.cwd ?? process.cwd();
  const target = buildTarget(options.args, cwd);
  const park = await preparePark(options.config, options.run);
  if (target.network && target.network !== park.network) {
    throw new InputError('offline build', `--network ${target.network}`, `RUN steps run on the isolated network ${park.network}; leave --network out`);
  }
  report(park, options.log);
  if (target.dockerfile) await checkBuildInputs(options.config, park, [{ dockerfile: target.dockerfile, what: 'docker build', args: target.buildArgs }]);
  const args = [...(target.network ? [] : ['--network', park.network]), ...park.hosts.flatMap((h) => ['--add-host', h]), ...options.args];
  return attached(['docker', 'build', ...args], classicBuilder(), cwd);
}

/**
 * `offline compose -- ARGS`: `docker compose ARGS` with the user's compose files and an override,
 * written next to them, that puts every service on the isolated network only and builds on it
 * with the classic builder. The user's files are never edited.
 */
export async function parkCompose(options: ParkOptions): Promise<number> {
  const cwd = options.cwd ?? process.cwd();
  const split = await splitComposeArgs(options.args, cwd, process.env);
  const park = await preparePark(options.config, options.run);
  report(park, options.log);
  const files = split.files.flatMap((f) => ['-f', f]);
  const rendered = await must(park.run, ['docker', 'compose', ...files, ...split.globals, 'config', '--format', 'json']);
  const model = JSON.parse(rendered.stdout) as ComposeModel;
  const inputs: BuildInput[] = [];
  for (const [name, service] of Object.entries(model.services ?? {})) {
    if (service.build) {
      const context = resolve(dirname(split.files[0]!), service.build.context ?? '.');
      const dockerfile = service.build.dockerfile ?? 'Dockerfile';
      inputs.push({ dockerfile: isAbsolute(dockerfile) ? dockerfile : join(context, dockerfile), what: `service ${name}`, args: stringArgs(service.build.args) });
    }
  }
  await checkBuildInputs(options.config, park, inputs);
  const override = join(dirname(split.files[0]!), '.offline.compose.yaml');
  await writeFile(override, composeOverride(model, park.network, park.hosts));
  options.log?.(`services on the isolated network ${park.network} only (override: ${override})`);
  return attached(['docker', 'compose', ...files, '-f', override, ...split.globals, ...split.rest], classicBuilder(), cwd);
}

function stringArgs(args: Record<string, string | null> | undefined): Record<string, string> {
  return Object.fromEntries(Object.entries(args ?? {}).filter((e): e is [string, string] => typeof e[1] === 'string'));
}

function report(park: Park, log: ParkOptions['log']): void {
  for (const { name, kept } of park.images.loaded) log?.(`base image ${name}: loaded from the mirror${kept ? ` (the daemon's own kept as ${kept})` : ''}`);
}

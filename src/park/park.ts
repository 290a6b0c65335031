import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Config } from '../ecosystems/config.ts';
import { scanDockerfile, type DockerfileFindings } from './dockerfile.ts';
import { MissingError, NetworkError } from '../foundation/errors.ts';
import { answers } from '../foundation/listen.ts';
import { familiarName, parseReference } from '../ecosystems/docker/index.ts';
import { MIRRORS } from '../ecosystems/index.ts';
import { systemRunner, type Runner } from '../net/runner.ts';
import { readState } from '../net/state.ts';
import { isHostName } from '../net/plan.ts';
import { installBaseImages, type BaseImagesReport } from './base-images.ts';

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

/** The environment the docker CLI runs with: the classic builder, which honours `--network`. */
export function classicBuilder(): NodeJS.ProcessEnv {
  return { ...process.env, DOCKER_BUILDKIT: '0' };
}

/** Run a docker command with the terminal attached; resolves to its exit code. */
export function attached(argv: string[], env: NodeJS.ProcessEnv, cwd: string): Promise<number> {
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

/** Say what the park did before a build: the base images loaded into the daemon. */
export function reportPark(park: Park, log: ParkOptions['log']): void {
  for (const { name, kept } of park.images.loaded) log?.(`base image ${name}: loaded from the mirror${kept ? ` (the daemon's own kept as ${kept})` : ''}`);
}

import { mirrorPorts, outsideNames, servedMirrors } from '../ecosystems/index.ts';
import { installBaseImages, type BaseImagesReport } from '../park/base-images.ts';
import { wire } from '../net/apply.ts';
import { dryRunner } from '../net/dry-run.ts';
import { kernelHasDummy } from '../net/links.ts';
import { networkPlan, validateNetwork, type NetworkPlan } from '../net/plan.ts';
import { preflight, systemChecks } from '../net/preflight.ts';
import { systemRunner, type Runner } from '../net/runner.ts';
import { fileState, memoryState, readState, statePath } from '../net/state.ts';
import type { Config } from '../ecosystems/config.ts';
import { ConfigError, NetworkError } from '../foundation/errors.ts';
import { ensureServingCertificate } from '../foundation/tls.ts';
import { serveUser, trustProblems, type ServeUser } from './serve-user.ts';
import { startEmbedded } from './up-embedded.ts';
import { startComposeRuntime } from './up-compose.ts';
import type { StackService } from './stack.ts';
import { controllerUrl } from './controller-access.ts';
import type { ControllerRun } from './up-controller.ts';

export type UpOptions = {
  config: Config;
  /** Return once every mirror answers, leaving them serving in a background process. */
  detach?: boolean;
  /**
   * Change nothing: run the same checks and `wire` against a runner that lets only read-only
   * queries through and records every change (net/dry-run.ts); write no state. The report
   * carries the commands.
   */
  dryRun?: boolean;
  run?: Runner;
  /** Who runs it (default: this process): `up` needs root; a dry run without root does not read iptables. */
  uid?: number;
  /** Dry run: whether the kernel has the dummy link type (default: `kernelHasDummy`, from its config). */
  dummy?: boolean;
  /** argv that runs this CLI (`node …/main.js`), to start the detached mirrors. */
  cli?: string[];
  readyTimeoutMs?: number;
  /** Serve every mirror, configured or not (`--all`); `config.mirrors` already says so. */
  all?: boolean;
  /** Run the mirrors as the compose stack (compose.yaml) instead of in an `offline serve` process. */
  compose?: boolean;
  /** The embedded runtime's `serve --workers` (default 1: one process). */
  workers?: number;
};

export type UpReport = {
  dryRun: boolean;
  plan: NetworkPlan;
  /** Dry run: the commands up would run that change the system, in order; none when already so. */
  commands?: string[][];
  /** Dry run: what it could not read and took as absent, and what it found (no dummy links). */
  notes?: string[];
  steps: string[];
  mirrors: Array<{ name: string; url: string }>;
  /** The base images put into the daemon (see park/base-images.ts). */
  images?: BaseImagesReport;
  pid?: number;
  /** The user the mirrors serve as (never root). */
  user?: string;
  alreadyServing?: boolean;
  /** `embedded`: an `offline serve` process; `compose`: the stack's containers (`services`). */
  runtime?: 'embedded' | 'compose';
  services?: StackService[];
  /** Foreground only: the mirrors' process, to stop on Ctrl-C; `exited` settles once it is gone. */
  foreground?: { stop(): void; exited: Promise<void> };
  /**
   * The controller (status page and API; docs/adr/0016): in the embedded runtime the mirrors'
   * process runs it, in the compose runtime an `offline controller` process beside the stack.
   */
  controller?: ControllerRun;
};

/** What the runtimes need once the network is wired; `cli` is the argv that runs this CLI. */
export type Started = { config: Config; run: Runner; plan: NetworkPlan; address: string; user: ServeUser; detach: boolean; timeoutMs: number; cli: string[] };

export function planFor(config: Config): NetworkPlan {
  const problems = validateNetwork(config.network);
  if (problems.length > 0) throw new ConfigError(config.file, problems);
  return networkPlan(config.network, mirrorPorts(config), outsideNames(config));
}

/**
 * Wire the mirror address into the isolated Docker network and start the mirrors on it, in an
 * `offline serve` process that binds and then runs as the mirrors' user, never root. Refuses
 * (`NetworkError`) when not root, Docker is down, the subnet or address collides, or the data
 * directory could be changed by anyone but root and that user. Idempotent: a second `up`
 * changes nothing and leaves the running mirrors alone.
 */
export async function up(options: UpOptions): Promise<UpReport> {
  const { config } = options;
  const run = options.run ?? systemRunner;
  const plan = planFor(config);
  const address = plan.network.address;
  if (options.dryRun) return dryRun(options, run, plan);
  await preflight(run, plan, options.uid ?? process.getuid?.());
  const user = await trustedUser(config);
  const steps = await wire(run, fileState(config.data), plan);
  // Before the base images: they carry the CA of the certificate the outside names are answered with.
  if (plan.names.length > 0) await ensureServingCertificate(config.data, plan.names);
  const images = await installBaseImages(config, run, address);
  const mirrors = mirrorUrls(config, address);
  const cli = options.cli ?? [process.execPath, process.argv[1]!];
  const started = { config, run, plan, address, user, detach: Boolean(options.detach), timeoutMs: options.readyTimeoutMs ?? 30_000, cli };
  const runtime = options.compose ? await startComposeRuntime(started) : await startEmbedded({ ...started, all: Boolean(options.all), workers: options.workers ?? 1 });
  return { dryRun: false, plan, steps, mirrors, images, user: user.name, controller: { url: controllerUrl(config) }, ...runtime };
}

/**
 * `up --dry-run`: the checks and the `wire` of `up`, against a runner that runs only read-only
 * queries and records the rest, with the state in memory, so the commands are the ones `up`
 * would run on this machine now. Refuses what `up` would, except not being root: then iptables
 * is not read, and a note says so.
 */
async function dryRun(options: UpOptions, run: Runner, plan: NetworkPlan): Promise<UpReport> {
  const { config } = options;
  const root = (options.uid ?? process.getuid?.()) === 0;
  const dry = await dryRunner(run, { root, dummy: options.dummy ?? (await kernelHasDummy()) });
  await systemChecks(dry.run, plan);
  const user = await trustedUser(config);
  await wire(dry.run, memoryState(await readState(config.data)), plan);
  return { dryRun: true, plan, commands: dry.commands, notes: dry.notes, steps: [], mirrors: mirrorUrls(config, plan.network.address), user: user.name };
}

/** The user the mirrors serve as; refuses a data directory or state file others could change. */
async function trustedUser(config: Config): Promise<ServeUser> {
  const user = await serveUser(config);
  const problems = await trustProblems(config.data, statePath(config.data), user);
  if (problems.length > 0) throw new NetworkError(`not serving ${config.data} as ${user.name}:\n  ${problems.join('\n  ')}`);
  return user;
}

function mirrorUrls(config: Config, address: string): UpReport['mirrors'] {
  return servedMirrors(config).map((m) => ({ name: m.name, url: `http://${address}:${m.port(config)}/` }));
}

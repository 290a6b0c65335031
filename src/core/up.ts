import { spawn } from 'node:child_process';
import { openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { MIRRORS } from '../ecosystems/index.ts';
import { planCommands, wire } from '../net/apply.ts';
import { networkPlan, validateNetwork, type NetworkPlan } from '../net/plan.ts';
import { preflight } from '../net/preflight.ts';
import { systemRunner, type Runner } from '../net/runner.ts';
import { isAlive, readState, writeState } from '../net/state.ts';
import type { Config } from './config.ts';
import { ConfigError, NetworkError } from './errors.ts';
import { answers } from './listen.ts';
import { serve, type Serving } from './serve.ts';

export type UpOptions = {
  config: Config;
  /** Return once every mirror answers, leaving them serving in a background process. */
  detach?: boolean;
  /** Print what would be done; change nothing. */
  dryRun?: boolean;
  run?: Runner;
  /** argv that runs this CLI (`node …/main.js`), to start the detached mirrors. */
  cli?: string[];
  readyTimeoutMs?: number;
};

export type UpReport = {
  dryRun: boolean;
  plan: NetworkPlan;
  commands?: string[][];
  steps: string[];
  mirrors: Array<{ name: string; url: string }>;
  pid?: number;
  alreadyServing?: boolean;
  /** Foreground only: the mirrors serving in this process. */
  serving?: Serving;
};

export function planFor(config: Config): NetworkPlan {
  const problems = validateNetwork(config.network);
  if (problems.length > 0) throw new ConfigError(config.file, problems);
  return networkPlan(config.network, MIRRORS.map((m) => m.port(config)));
}

/**
 * Wire the mirror address into the isolated Docker network and start the mirrors on it. Refuses
 * (`NetworkError`) when not root, Docker is down, or the subnet or address collides. Idempotent:
 * a second `up` changes nothing and leaves the running mirrors alone.
 */
export async function up(options: UpOptions): Promise<UpReport> {
  const { config } = options;
  const run = options.run ?? systemRunner;
  const plan = planFor(config);
  const address = plan.network.address;
  if (options.dryRun) return { dryRun: true, plan, commands: planCommands(plan), steps: [], mirrors: [] };
  await preflight(run, plan);
  const steps = await wire(run, config.data, plan);
  const mirrors = MIRRORS.map((m) => ({ name: m.name, url: `http://${address}:${m.port(config)}/` }));
  const state = (await readState(config.data))!;
  if (isAlive(state.mirrors?.pid)) {
    await waitForPorts(address, plan.ports, options.readyTimeoutMs ?? 30_000);
    return { dryRun: false, plan, steps, mirrors, pid: state.mirrors!.pid, alreadyServing: true };
  }
  if (!options.detach) {
    const serving = await serve({ config, host: address });
    state.mirrors = { pid: process.pid, log: '', started: new Date().toISOString() };
    await writeState(config.data, state);
    return { dryRun: false, plan, steps, mirrors: serving.mirrors.map((m) => ({ name: m.name, url: m.url })), pid: process.pid, serving };
  }
  const log = join(config.data, 'offline-up.log');
  const cli = options.cli ?? [process.execPath, process.argv[1]!];
  const out = openSync(log, 'a');
  const child = spawn(cli[0]!, [...cli.slice(1), 'serve', '-c', config.file, '--listen', address], { detached: true, stdio: ['ignore', out, out] });
  child.unref();
  state.mirrors = { pid: child.pid!, log, started: new Date().toISOString() };
  await writeState(config.data, state);
  try {
    await waitForPorts(address, plan.ports, options.readyTimeoutMs ?? 30_000, () => !isAlive(child.pid));
  } catch (err) {
    if (isAlive(child.pid)) process.kill(child.pid!, 'SIGTERM');
    const tail = readFileSync(log, 'utf8').trim().split('\n').slice(-5).join('\n');
    throw new NetworkError(`${(err as Error).message}; the mirrors' log (${log}) ends:\n${tail}`);
  }
  return { dryRun: false, plan, steps, mirrors, pid: child.pid };
}

/** Wait until every port accepts a TCP connection on `address`. */
export async function waitForPorts(address: string, ports: number[], timeoutMs: number, dead?: () => boolean): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (const port of ports) {
    while (!(await answers(address, port))) {
      if (dead?.()) throw new Error('the mirrors exited before answering');
      if (Date.now() > deadline) throw new Error(`no mirror answered on ${address}:${port} within ${timeoutMs / 1000} s`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

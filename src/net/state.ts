import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../foundation/atomic.ts';
import type { LinkKind } from './links.ts';
import type { NetworkPlan } from './plan.ts';

/**
 * What `offline up` created, written ahead of each creation, so `offline down` removes exactly
 * that — never a Docker network or interface that existed before — even after a crash half-way.
 * The file lives in the data directory, which the mirrors' user may write, so `down` trusts none
 * of it blindly: names are re-derived and validated, a link or network is removed only when it
 * carries offline's own mark, and a pid is signalled only when it is the process `up` started.
 */
export type NetworkState = {
  plan: NetworkPlan;
  created: { network?: boolean; link?: LinkKind | 'pending' };
  mirrors?: MirrorsProcess;
  /** The compose stack `up --compose` started (written before it starts); `down` stops it. */
  stack?: { project: string; started: string };
  /** The `offline controller` process `up --compose` started beside the stack; `down` stops it. */
  controller?: MirrorsProcess;
};

/** A process `up` started (`offline serve`, `offline controller`): its pid, and its start time to tell it from a reused pid. */
export type MirrorsProcess = { pid: number; log: string; started: string; startTicks?: number };

export function statePath(data: string): string {
  return join(data, 'network-state.json');
}

export async function readState(data: string): Promise<NetworkState | undefined> {
  try {
    return JSON.parse(await readFile(statePath(data), 'utf8')) as NetworkState;
  } catch {
    return undefined;
  }
}

export async function writeState(data: string, state: NetworkState): Promise<void> {
  await writeFileAtomic(statePath(data), JSON.stringify(state, null, 2));
}

/**
 * Where `wire` keeps the state it writes ahead of each creation: the state file for a real `up`,
 * memory for a dry run, which must leave no file behind.
 */
export type StateStore = { read(): Promise<NetworkState | undefined>; write(state: NetworkState): Promise<void> };

export function fileState(data: string): StateStore {
  return { read: () => readState(data), write: (state) => writeState(data, state) };
}

/** A store that starts from `initial` (a copy) and keeps what is written in memory only. */
export function memoryState(initial?: NetworkState): StateStore {
  let kept = structuredClone(initial);
  return {
    read: async () => structuredClone(kept),
    write: async (state) => { kept = structuredClone(state); },
  };
}

export async function removeState(data: string): Promise<void> {
  await rm(statePath(data), { force: true });
}

export function isAlive(pid: number | undefined): boolean {
  if (!pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** A process's start time in clock ticks since boot (`/proc/<pid>/stat`, field 22), or undefined. */
export async function startTicks(pid: number): Promise<number | undefined> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined);
  // The command name (field 2) may hold spaces and parentheses: count fields after the last ')'.
  const fields = stat?.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields?.[19]);
  return Number.isSafeInteger(ticks) ? ticks : undefined;
}

/**
 * True only when `record` is an `offline serve` process that is still the one `up` started: the
 * pid is alive, started at the recorded time, and runs `serve`. A pid reused by another program
 * after the mirrors exited is not ours.
 */
export function isOurMirrors(record: MirrorsProcess | undefined): Promise<boolean> {
  return isOurProcess(record, 'serve');
}

/** The same for the `offline controller` process `up --compose` started. */
export function isOurController(record: MirrorsProcess | undefined): Promise<boolean> {
  return isOurProcess(record, 'controller');
}

async function isOurProcess(record: MirrorsProcess | undefined, command: 'serve' | 'controller'): Promise<boolean> {
  if (!record || !Number.isSafeInteger(record.pid) || record.pid <= 1 || !isAlive(record.pid)) return false;
  if (record.startTicks === undefined || (await startTicks(record.pid)) !== record.startTicks) return false;
  const cmdline = (await readFile(`/proc/${record.pid}/cmdline`, 'utf8').catch(() => '')).split('\0');
  return cmdline.includes(command) && cmdline.some((arg) => /offline|main\.[jt]s$/.test(arg));
}

/** SIGTERM, up to five seconds to end, then SIGKILL. Only for a pid `isOur…` has vouched for. */
export async function stopProcess(pid: number): Promise<void> {
  process.kill(pid, 'SIGTERM');
  for (let i = 0; i < 50 && isAlive(pid); i++) await new Promise((r) => setTimeout(r, 100));
  if (isAlive(pid)) process.kill(pid, 'SIGKILL');
}

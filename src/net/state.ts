import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../engine/atomic.ts';
import type { LinkKind } from './links.ts';
import type { NetworkPlan } from './plan.ts';

/**
 * What `offline up` created, written ahead of each creation, so `offline down` removes exactly
 * that — never a Docker network or interface that existed before — even after a crash half-way.
 * The chain and the INPUT jump are ours by name and always removed.
 */
export type NetworkState = {
  plan: NetworkPlan;
  created: { network?: boolean; link?: LinkKind | 'pending' };
  mirrors?: { pid: number; log: string; started: string };
};

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

/**
 * The controller beside the compose stack (docs/adr/0016): an `offline controller` process on the
 * host, started detached by `up --compose` (as root; it drops to the mirrors' user) and recorded
 * in the state, so `down` stops it. The stack's containers cannot be it: a sync reads the inputs
 * the config names wherever they are on the host, writes the data directory (mounted read-only
 * there) and reaches the upstreams. The embedded runtime needs none: its `offline serve` process
 * runs the controller itself.
 */
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { isAlive, isOurController, readState, stopProcess, writeState } from '../net/state.ts';
import { logTail, spawnRecorded } from './up-process.ts';
import { controllerUrl, readControllerToken } from './controller-access.ts';
import type { Started } from './up.ts';

/** Where the controller answers; `problem` when it did not start (the mirrors serve regardless). */
export type ControllerRun = { url: string; pid?: number; problem?: string };

const READY_MS = 15_000;

/** Start the controller process unless the one `up` started still runs. Never throws for its failure. */
export async function startControllerProcess(s: Pick<Started, 'config' | 'cli'>): Promise<ControllerRun> {
  const { config } = s;
  const url = controllerUrl(config);
  const state = (await readState(config.data))!;
  if (await isOurController(state.controller)) return { url, pid: state.controller!.pid };
  const log = join(config.data, 'offline-controller.log');
  const { child, record } = await spawnRecorded(s.cli, ['controller', '-c', config.file], log);
  state.controller = record;
  await writeState(config.data, state);
  // Ready when a controller of this data directory accepts its token (not merely when the port answers).
  for (const deadline = Date.now() + READY_MS; Date.now() < deadline && child.exitCode === null && isAlive(child.pid);) {
    const token = await readControllerToken(config.data);
    if (token && (await accepts(url, token))) return { url, pid: child.pid };
    await sleep(100);
  }
  const tail = logTail(log, 3).join(' | ');
  return { url, problem: `the controller did not start; the mirrors serve without it (${log} ends: ${tail})` };
}

async function accepts(url: string, token: string): Promise<boolean> {
  const answer = await fetch(`${url}api/sync`, { headers: { authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(2000) }).catch(() => undefined);
  await answer?.body?.cancel();
  return answer?.status === 200;
}

/** Stop the controller process `up` started, if it still runs, and forget it. */
export async function stopControllerProcess(data: string): Promise<number | undefined> {
  const state = await readState(data);
  if (!state?.controller) return undefined;
  const { pid } = state.controller;
  const ours = await isOurController(state.controller);
  if (ours) await stopProcess(pid);
  delete state.controller;
  await writeState(data, state);
  return ours ? pid : undefined;
}

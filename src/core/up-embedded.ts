import { join } from 'node:path';
import { NetworkError } from '../foundation/errors.ts';
import { isAlive, isOurMirrors, readState, writeState } from '../net/state.ts';
import { logTail, spawnRecorded } from './up-process.ts';
import { waitForPorts } from '../foundation/listen.ts';
import type { Started, UpReport } from './up.ts';

type Runtime = Pick<UpReport, 'runtime' | 'pid' | 'alreadyServing' | 'foreground'>;

/**
 * The embedded runtime: the mirrors in an `offline serve` process that binds and then serves as
 * the mirrors' user. Foreground (it ends with Ctrl-C) or detached (returns once every mirror
 * answers, its output in `<data>/offline-up.log`). Leaves mirrors `up` started earlier alone.
 * @throws NetworkError when the compose stack serves instead, or the mirrors do not answer.
 */
export async function startEmbedded(s: Started & { all: boolean; workers: number }): Promise<Runtime> {
  const { config, address, plan } = s;
  const state = (await readState(config.data))!;
  if (state.stack) throw new NetworkError('the mirrors already run as the compose stack: `offline up --compose` keeps them, or `offline down` first');
  if (await isOurMirrors(state.mirrors)) {
    await waitForPorts(address, plan.ports, s.timeoutMs);
    return { runtime: 'embedded', pid: state.mirrors!.pid, alreadyServing: true };
  }
  const log = join(config.data, 'offline-up.log');
  const args = ['serve', '-c', config.file, '--listen', address, ...(s.all ? ['--all'] : []), ...(s.workers > 1 ? ['--workers', String(s.workers)] : [])];
  const { child, record } = await spawnRecorded(s.cli, args, s.detach ? log : undefined);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  state.mirrors = record;
  await writeState(config.data, state);
  if (!s.detach) {
    const cleared = exited.then(() => forgetMirrors(config.data, child.pid!));
    return { runtime: 'embedded', pid: child.pid, foreground: { stop: () => child.kill('SIGTERM'), exited: cleared } };
  }
  try {
    await waitForPorts(address, plan.ports, s.timeoutMs, () => child.exitCode !== null || !isAlive(child.pid));
  } catch (err) {
    if (isAlive(child.pid)) process.kill(child.pid!, 'SIGTERM');
    const tail = logTail(log, 5).join('\n');
    throw new NetworkError(`${(err as Error).message}; the mirrors' log (${log}) ends:\n${tail}`);
  }
  return { runtime: 'embedded', pid: child.pid };
}

/** After the foreground mirrors exit, the state no longer names their pid (it may be reused). */
async function forgetMirrors(data: string, pid: number): Promise<void> {
  const state = await readState(data);
  if (state?.mirrors?.pid !== pid) return;
  delete state.mirrors;
  await writeState(data, state);
}

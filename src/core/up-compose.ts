import { spawn } from 'node:child_process';
import { ensureLedgerDir } from '../engine/misses.ts';
import { NetworkError } from '../foundation/errors.ts';
import { isOurMirrors, readState, writeState } from '../net/state.ts';
import { followArgs, STACK_PROJECT, stackServices, startStack, stopStack } from './stack.ts';
import { waitForPorts } from '../foundation/listen.ts';
import type { Started, UpReport } from './up.ts';
import { startControllerProcess, stopControllerProcess } from './up-controller.ts';

type Runtime = Pick<UpReport, 'runtime' | 'services' | 'foreground' | 'controller'>;

/**
 * The compose runtime: the stack's service for every mirror the config names, on the mirror
 * address with the host's network (docs/adr/0014). The state records the stack before it starts,
 * so `down` stops it even after a crash. Detached, returns once every mirror port answers;
 * foreground, follows the stack's logs until Ctrl-C and then stops it. The controller runs beside
 * it as an `offline controller` process on the host (`up-controller.ts`).
 * @throws NetworkError when the embedded mirrors serve instead, or the stack does not answer.
 */
export async function startComposeRuntime(s: Started): Promise<Runtime> {
  const { config, run, address, plan } = s;
  const state = (await readState(config.data))!;
  if (await isOurMirrors(state.mirrors)) {
    throw new NetworkError(`the embedded mirrors already serve (pid ${state.mirrors!.pid}): \`offline down\` first, then \`offline up --compose\``);
  }
  state.stack = { project: STACK_PROJECT, started: new Date().toISOString() };
  await writeState(config.data, state);
  await ensureLedgerDir(config.data, s.user);
  await startStack({ config, run, address, uid: s.user.uid });
  try {
    await waitForPorts(address, plan.ports, Math.max(s.timeoutMs, 60_000));
  } catch (err) {
    const services = await stackServices(config, run);
    throw new NetworkError(`${(err as Error).message}; the stack: ${services.map((x) => `${x.service} ${x.state} (${x.health})`).join(', ') || 'no containers'}; see \`docker compose -p ${STACK_PROJECT} logs\``);
  }
  const services = await stackServices(config, run);
  const controller = await startControllerProcess(s);
  if (s.detach) return { runtime: 'compose', services, controller };
  const follower = spawn(followArgs(config)[0]!, followArgs(config).slice(1), { stdio: ['ignore', 'inherit', 'inherit'] });
  const followed = new Promise<void>((resolve) => follower.once('exit', () => resolve()));
  const exited = followed.then(async () => {
    await stopControllerProcess(config.data);
    await stopStack(config, run);
    const now = await readState(config.data);
    if (now?.stack) {
      delete now.stack;
      await writeState(config.data, now);
    }
  });
  return { runtime: 'compose', services, controller, foreground: { stop: () => follower.kill('SIGTERM'), exited } };
}

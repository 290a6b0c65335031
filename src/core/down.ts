import { unwire } from '../net/apply.ts';
import { restoreBaseImages } from '../park/base-images.ts';
import { systemRunner, type Runner } from '../net/runner.ts';
import { isAlive, isOurMirrors, readState, stopProcess } from '../net/state.ts';
import type { Config } from '../ecosystems/config.ts';
import { NetworkError } from '../foundation/errors.ts';
import { planFor } from './up.ts';
import { STACK_PROJECT, stopStack } from './stack.ts';
import { stopControllerProcess } from './up-controller.ts';

export type DownReport = { steps: string[]; stopped?: number };

/**
 * Stop the mirrors `up` started and remove exactly the wiring it created. Idempotent: a second
 * `down`, or one after a crash, removes what is left and nothing else.
 */
export async function down(options: { config: Config; run?: Runner; uid?: number }): Promise<DownReport> {
  const run = options.run ?? systemRunner;
  if ((options.uid ?? process.getuid?.()) !== 0) throw new NetworkError('offline down removes network interfaces and firewall rules: run it as root (sudo offline down)');
  const state = await readState(options.config.data);
  const pid = state?.mirrors?.pid;
  let stopped: number | undefined;
  const notes: string[] = [];
  // Only the process `up` started: a pid from the state file may since belong to anything else.
  if (pid && pid !== process.pid && (await isOurMirrors(state?.mirrors))) {
    await stopProcess(pid);
    stopped = pid;
  } else if (pid && isAlive(pid)) {
    notes.push(`left pid ${pid} alone: it is not the offline serve process that up started`);
  }
  // The stack `up --compose` started (recorded before it started): only project `offline`.
  const stack = state?.stack ? await stopStack(options.config, run) : false;
  // The controller `up --compose` started beside the stack (only that process: it is re-checked).
  const controller = await stopControllerProcess(options.config.data);
  const images = await restoreBaseImages(run);
  const steps = await unwire(run, options.config.data, planFor(options.config));
  steps.unshift(
    ...images.restored.map((n) => `put the daemon's own ${n} back`),
    ...images.removed.map((n) => `removed the base image ${n} offline had loaded`),
    ...images.problems.map((p) => `could not restore a base image: ${p}`),
  );
  if (stopped) steps.unshift(`stopped the mirrors (pid ${stopped})`);
  if (stack) steps.unshift(`stopped and removed the compose stack (project ${STACK_PROJECT})`);
  if (controller) steps.unshift(`stopped the controller (pid ${controller})`);
  steps.unshift(...notes);
  return { steps, stopped };
}

import { userInfo } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { startController, type RunningController } from '../controller/start.ts';
import { serve } from '../core/serve.ts';
import { serveUser } from '../core/serve-user.ts';
import { ensureLedgerDir } from '../engine/misses.ts';
import type { Config } from '../ecosystems/config.ts';
import { fdSink } from '../foundation/log-batch.ts';
import { log } from '../foundation/log.ts';
import { createRequestLog } from '../foundation/request-log.ts';
import { dropOrClose, EXIT, loadFromOptions, untilStopped, type CommonOptions } from './common.ts';

/**
 * `requestLog: false` (`--no-request-log`): no line per request on stderr; `controller: false`
 * (`--no-controller`): no status page and API beside the mirrors.
 */
export type ServeCliOptions = CommonOptions & { listen?: string; requestLog?: boolean; controller?: boolean };

/** How long stopping waits for the last request lines to reach stderr. */
const LAST_LINES_MS = 2000;

/**
 * Serve in the foreground until SIGINT or SIGTERM, then close every mirror and exit 0. Each
 * request answered is a JSON line on stderr (docs/adr/0012), unless `requestLog` is false. The
 * controller (docs/adr/0016) starts beside the mirrors unless `controller` is false; when it
 * cannot (its port taken, a read-only data directory), a warning says why and the mirrors serve.
 */
export async function runServe(opts: ServeCliOptions): Promise<number> {
  const config = await loadFromOptions(opts, { requireInputs: false });
  // Root binds (any port), then the mirrors run as the serve user: never as root.
  const user = process.getuid?.() === 0 ? await serveUser(config) : undefined;
  // Records go to stderr unless --no-request-log; the misses ledger hears them either way.
  const requests = createRequestLog(opts.requestLog === false ? {} : { sink: fdSink(2) });
  // The one directory of the data the serving user writes; a read-only data directory (a stack
  // service's) has it mounted writable, or records no misses.
  await ensureLedgerDir(config.data, user).catch(() => undefined);
  const serving = await serve({ config, host: opts.listen, requests, misses: true });
  // Before dropping root: the token file is made (and given to the serving user) as root.
  const controller = opts.controller === false ? undefined : await controllerBeside(config, user);
  await dropOrClose(user, config.data, async () => {
    await controller?.close();
    await serving.close();
  });
  const endpoints = serving.mirrors.map((m) => ({ name: m.name, url: m.url }));
  const as = { user: user?.name ?? currentUser(), uid: process.getuid?.() };
  if (opts.json) process.stdout.write(`${JSON.stringify({ serving: endpoints, ...as, controller: controller?.url ?? null })}\n`);
  else {
    for (const e of endpoints) process.stdout.write(`${e.name} mirror: ${e.url}\n`);
    if (controller) process.stdout.write(`controller: ${controller.url} (the status page; \`offline status\` prints its URL with the token)\n`);
    process.stdout.write(`serving from disk only as ${as.user} (uid ${as.uid}); Ctrl-C stops\n`);
  }
  await untilStopped();
  await controller?.close();
  await serving.close();
  await Promise.race([requests.flush(), sleep(LAST_LINES_MS, undefined, { ref: false })]);
  return EXIT.ok;
}

/** The controller beside the mirrors, or a warning saying why not: the mirrors matter more. */
async function controllerBeside(config: Config, owner: { uid: number; gid: number } | undefined): Promise<RunningController | undefined> {
  try {
    return await startController({ config, owner });
  } catch (err) {
    log.warn('controller not started; the mirrors serve without it (--no-controller: do not try)', { error: (err as Error).message });
    return undefined;
  }
}

function currentUser(): string {
  try {
    return userInfo().username;
  } catch {
    return String(process.getuid?.() ?? '?');
  }
}

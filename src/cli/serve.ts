import { userInfo } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { startController, type RunningController } from '../controller/start.ts';
import { recordMisses, serve, type Serving } from '../core/serve.ts';
import { forwardRecords, isServeWorker, type Endpoint, reportToPrimary, setupFromPrimary, startWorkers, untilToldToStop } from '../core/serve-workers.ts';
import { outsideNames, servedMirrors } from '../ecosystems/index.ts';
import { ensureServingCertificate } from '../foundation/tls.ts';
import { serveUser, type ServeUser } from '../core/serve-user.ts';
import { ensureLedgerDir } from '../engine/misses.ts';
import type { Config } from '../ecosystems/config.ts';
import { fdSink } from '../foundation/log-batch.ts';
import { log } from '../foundation/log.ts';
import { createRequestLog, type RequestLog } from '../foundation/request-log.ts';
import { dropOrClose, EXIT, loadFromOptions, untilStopped, type CommonOptions } from './common.ts';

/**
 * `requestLog: false` (`--no-request-log`): no line per request on stderr; `controller: false`
 * (`--no-controller`): no status page and API beside the mirrors; `workers`: serve from that many
 * processes (core/serve-workers.ts), 1 by default: this one.
 */
export type ServeCliOptions = CommonOptions & { listen?: string; requestLog?: boolean; controller?: boolean; workers?: number };

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
  if (isServeWorker()) return runWorker(config, user, opts);
  const workers = opts.workers ?? 1;
  // Records go to stderr unless --no-request-log; the misses ledger hears them either way.
  const requests = createRequestLog(opts.requestLog === false ? {} : { sink: fdSink(2) });
  // The one directory of the data the serving user writes; a read-only data directory (a stack
  // service's) has it mounted writable, or records no misses.
  await ensureLedgerDir(config.data, user).catch(() => undefined);
  const serving: { mirrors: Endpoint[]; lost?: Promise<void>; close(): Promise<void> } = workers > 1
    ? await servedByWorkers(config, workers, requests)
    : await serve({ config, host: opts.listen, requests, misses: true });
  // Before dropping root: the token file is made (and given to the serving user) as root.
  const controller = opts.controller === false ? undefined : await controllerBeside(config, user);
  await dropOrClose(user, config.data, async () => {
    await controller?.close();
    await serving.close();
  });
  const endpoints = serving.mirrors.map((m) => ({ name: m.name, url: m.url }));
  const as = { user: user?.name ?? currentUser(), uid: process.getuid?.() };
  if (opts.json) process.stdout.write(`${JSON.stringify({ serving: endpoints, ...as, controller: controller?.url ?? null, workers })}\n`);
  else {
    for (const e of endpoints) process.stdout.write(`${e.name} mirror: ${e.url}\n`);
    if (controller) process.stdout.write(`controller: ${controller.url} (the status page; \`offline status\` prints its URL with the token)\n`);
    process.stdout.write(`serving from disk only as ${as.user} (uid ${as.uid})${workers > 1 ? ` in ${workers} worker processes` : ''}; Ctrl-C stops\n`);
  }
  const lost = await Promise.race([untilStopped().then(() => false), serving.lost?.then(() => true) ?? new Promise<never>(() => {})]);
  if (lost) log.error('every serve worker has exited and none could be started again: nothing serves; stopping', { workers });
  await controller?.close();
  await serving.close();
  await Promise.race([requests.flush(), sleep(LAST_LINES_MS, undefined, { ref: false })]);
  return lost ? EXIT.failures : EXIT.ok;
}

/** The mirrors served by `count` worker processes; the misses ledger kept here, from their records. */
async function servedByWorkers(config: Config, count: number, requests: RequestLog): Promise<{ mirrors: Endpoint[]; lost: Promise<void>; close(): Promise<void> }> {
  // Read (or made) here, while this process may still be root, and handed to every worker.
  const names = outsideNames(config);
  const certificate = names.length > 0 ? await ensureServingCertificate(config.data, names).catch(() => undefined) : undefined;
  const workers = await startWorkers(count, requests, certificate);
  const ledger = recordMisses(config, servedMirrors(config), requests);
  return {
    mirrors: workers.mirrors,
    lost: workers.lost,
    close: async () => {
      await workers.close();
      await ledger.stop();
    },
  };
}

/**
 * A worker of `serve --workers`: every mirror, its records forwarded to the primary, which binds
 * the sockets; root is dropped once they listen. Ends when the primary says stop.
 */
async function runWorker(config: Config, user: ServeUser | undefined, opts: ServeCliOptions): Promise<number> {
  const requests = createRequestLog();
  const forwarding = forwardRecords(requests);
  const stopped = untilToldToStop();
  const { certificate } = await setupFromPrimary();
  let serving: Serving;
  try {
    serving = await serve({ config, host: opts.listen, requests, ...(certificate ? { certificate } : {}) });
    await dropOrClose(user, config.data, () => serving.close());
  } catch (error) {
    await reportToPrimary({ error });
    process.disconnect();
    return EXIT.failures;
  }
  await reportToPrimary({ serving });
  await stopped;
  await serving.close();
  await forwarding.flush();
  // The channel to the primary is all that keeps this process; closing it ends it.
  if (process.connected) process.disconnect();
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

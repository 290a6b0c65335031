import { userInfo } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { serve } from '../core/serve.ts';
import { dropPrivileges, serveUser } from '../core/serve-user.ts';
import { ensureLedgerDir } from '../engine/misses.ts';
import { fdSink } from '../foundation/log-batch.ts';
import { createRequestLog } from '../foundation/request-log.ts';
import { EXIT, loadFromOptions, type CommonOptions } from './common.ts';

/** `requestLog: false` (`--no-request-log`): no line per request on stderr. */
export type ServeCliOptions = CommonOptions & { listen?: string; requestLog?: boolean };

/** How long stopping waits for the last request lines to reach stderr. */
const LAST_LINES_MS = 2000;

/**
 * Serve in the foreground until SIGINT or SIGTERM, then close every mirror and exit 0. Each
 * request answered is a JSON line on stderr (docs/adr/0012), unless `requestLog` is false.
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
  if (user) {
    try {
      await dropPrivileges(user, config.data);
    } catch (err) {
      await serving.close();
      throw err;
    }
  }
  const endpoints = serving.mirrors.map((m) => ({ name: m.name, url: m.url }));
  const as = { user: user?.name ?? currentUser(), uid: process.getuid?.() };
  if (opts.json) process.stdout.write(`${JSON.stringify({ serving: endpoints, ...as })}\n`);
  else {
    for (const e of endpoints) process.stdout.write(`${e.name} mirror: ${e.url}\n`);
    process.stdout.write(`serving from disk only as ${as.user} (uid ${as.uid}); Ctrl-C stops\n`);
  }
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await serving.close();
  await Promise.race([requests.flush(), sleep(LAST_LINES_MS, undefined, { ref: false })]);
  return EXIT.ok;
}

function currentUser(): string {
  try {
    return userInfo().username;
  } catch {
    return String(process.getuid?.() ?? '?');
  }
}

/**
 * `offline serve --workers N`: the mirrors served by N processes (node:cluster) that share each
 * listening socket, for a machine whose clients one event loop cannot keep up with (a team's
 * mirror host; docs/benchmarks.md). The primary process binds the sockets (as root, when started
 * by root), writes the request log, keeps the misses ledger and runs the controller; each worker
 * runs every mirror (core/serve.ts), drops root once its servers listen, and sends its request
 * records to the primary, which writes and hears them as its own (`RequestLog.replay`).
 * docs/adr/0017-serve-workers.md.
 */
import cluster, { type Worker } from 'node:cluster';
import { setTimeout as sleep } from 'node:timers/promises';
import { describeError, ServeError } from '../foundation/errors.ts';
import { log } from '../foundation/log.ts';
import type { RequestLog, RequestRecord } from '../foundation/request-log.ts';
import type { ServingCertificate } from '../foundation/tls.ts';
import type { Serving } from './serve.ts';

export type Endpoint = { name: string; url: string };

/** What a worker tells the primary. */
type FromWorker =
  | { type: 'hello' }
  | { type: 'serving'; mirrors: Endpoint[] }
  | { type: 'failed'; message: string }
  | { type: 'requests'; records: RequestRecord[]; dropped: number };

/** How long a worker may take to close and hand over its last records once told to stop. */
const STOP_MS = 5000;
/** A worker's records wait at most this long before they are sent to the primary. */
const FORWARD_MS = 50;
/** Records a worker keeps while the primary is behind; beyond, they are dropped and counted. */
const FORWARD_MAX = 10_000;

export const isServeWorker = (): boolean => cluster.isWorker;

export type Workers = {
  mirrors: Endpoint[];
  /**
   * Settles if every worker has died and none could be started again (the data became
   * unreadable, say): nothing serves any more, and the caller should stop. Never settles otherwise.
   */
  lost: Promise<void>;
  close(): Promise<void>;
};

/** What the primary tells a worker that says hello: the certificate for the outside names, if any. */
type Setup = { type: 'setup'; certificate?: ServingCertificate };

/**
 * In the primary: start `count` workers running this same command, the first alone (it makes
 * what the data directory lacks with nobody racing it), then the others; resolves once every one
 * serves. Each is handed `certificate`, read by the primary while it could (as root: the key is
 * root's), so a worker started later, by a primary that is no longer root, answers the outside
 * names too. Their request records are replayed into `requests`. A worker that dies while serving
 * is replaced. @throws ServeError with the first worker's reason when one cannot serve (a port
 * in use), having stopped the others.
 */
export async function startWorkers(count: number, requests: RequestLog, certificate?: ServingCertificate): Promise<Workers> {
  const live = new Set<Worker>();
  let closing = false;
  let started = false;
  let mirrors: Endpoint[] | undefined;
  let allLost!: () => void;
  const lost = new Promise<void>((resolve) => (allLost = resolve));

  const fork = (): Promise<Worker> => new Promise((resolve, reject) => {
    const worker = cluster.fork();
    live.add(worker);
    let serving = false;
    // The channel to a worker that is going away (a 'stop' it can no longer read): its exit,
    // heard below, is what matters.
    worker.on('error', () => undefined);
    worker.on('message', (message: FromWorker) => {
      if (message.type === 'hello') {
        const setup: Setup = { type: 'setup', ...(certificate ? { certificate } : {}) };
        worker.send(setup);
      } else if (message.type === 'requests') {
        for (const record of message.records) requests.replay(record);
        if (message.dropped > 0) log.warn('log records dropped', { dropped: message.dropped, worker: worker.process.pid });
      } else if (message.type === 'serving') {
        serving = true;
        if (started) log.info('a new serve worker serves', { pid: worker.process.pid });
        mirrors ??= message.mirrors;
        resolve(worker);
      } else if (message.type === 'failed') {
        reject(new ServeError(message.message));
      }
    });
    worker.on('exit', (code, signal) => {
      live.delete(worker);
      if (!serving) {
        // A replacement that could not serve, and none other left: nothing serves any more.
        if (started && !closing && live.size === 0) allLost();
        return reject(new ServeError(`a serve worker exited (${signal ?? `code ${code}`}) before serving; its errors are above`));
      }
      if (closing) return;
      log.error('a serve worker exited; starting another', { pid: worker.process.pid, code, signal });
      // A replacement that cannot serve is not replaced in turn: no restart loop.
      fork().catch((err: unknown) => log.error('could not replace a serve worker', { error: describeError(err) }));
    });
  });

  const close = async () => {
    closing = true;
    await Promise.all([...live].map(async (worker) => {
      const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
      if (worker.isConnected()) worker.send({ type: 'stop' });
      const gone = await Promise.race([exited.then(() => true), sleep(STOP_MS, false, { ref: false })]);
      if (!gone) worker.process.kill('SIGKILL');
      await exited;
    }));
  };

  try {
    await fork();
    await Promise.all(Array.from({ length: count - 1 }, fork));
  } catch (err) {
    await close();
    throw err;
  }
  started = true;
  return { mirrors: mirrors!, lost, close };
}

/**
 * In a worker: forward every record `requests` hears to the primary, in batches. `flush` sends
 * what waits and settles once the primary has it.
 */
export function forwardRecords(requests: RequestLog): { flush(): Promise<void> } {
  let batch: RequestRecord[] = [];
  let dropped = 0;
  let timer: NodeJS.Timeout | undefined;
  const send = (): Promise<void> => {
    if (timer) clearTimeout(timer);
    timer = undefined;
    if (batch.length === 0 && dropped === 0) return Promise.resolve();
    const message: FromWorker = { type: 'requests', records: batch, dropped };
    batch = [];
    dropped = 0;
    return new Promise((resolve) => process.send!(message, undefined, {}, () => resolve()));
  };
  requests.onRecord((record) => {
    if (batch.length >= FORWARD_MAX) dropped++;
    else batch.push(record);
    timer ??= setTimeout(() => void send(), FORWARD_MS);
  });
  return { flush: send };
}

/** In a worker: what the primary hands it before it serves (the certificate for the outside names). */
export function setupFromPrimary(): Promise<{ certificate?: ServingCertificate }> {
  return new Promise((resolve) => {
    const heard = (message: Setup) => {
      if (message?.type !== 'setup') return;
      process.off('message', heard);
      resolve(message.certificate ? { certificate: message.certificate } : {});
    };
    process.on('message', heard);
    const hello: FromWorker = { type: 'hello' };
    process.send!(hello);
  });
}

/** In a worker: tell the primary that it serves, or why it cannot. */
export function reportToPrimary(result: { serving: Serving } | { error: unknown }): Promise<void> {
  const message: FromWorker = 'serving' in result
    ? { type: 'serving', mirrors: result.serving.mirrors.map((m) => ({ name: m.name, url: m.url })) }
    : { type: 'failed', message: describeError(result.error) };
  return new Promise((resolve) => process.send!(message, undefined, {}, () => resolve()));
}

/** In a worker: resolves when the primary says stop, goes away, or a signal comes (Ctrl-C reaches every process of the group). */
export function untilToldToStop(): Promise<void> {
  return new Promise((resolve) => {
    process.on('message', (message: { type?: string }) => {
      if (message?.type === 'stop') resolve();
    });
    process.once('disconnect', resolve);
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
}

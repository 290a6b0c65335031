import { join } from 'node:path';
import { HTTPS_PORT, MIRRORS, servedMirrors } from '../ecosystems/index.ts';
import type { Mirror, RunningMirror } from '../ecosystems/types.ts';
import { createLedgerWriter } from '../engine/misses.ts';
import type { Config } from '../ecosystems/config.ts';
import { ServeError } from '../foundation/errors.ts';
import { startNamedFront, type NamedHandler, type RunningFront } from '../foundation/http-server.ts';
import type { RequestLog } from '../foundation/request-log.ts';
import { ensureServingCertificate, type ServingCertificate } from '../foundation/tls.ts';

/** Errors of writing into a data directory that is read-only or not ours. */
const READ_ONLY: ReadonlySet<string> = new Set(['EACCES', 'EPERM', 'EROFS']);

export type ServeOptions = {
  config: Config;
  /** Overrides `listen` from the config. */
  host?: string;
  /** Overrides every mirror's port with 0 (tests) when set to 'ephemeral'. */
  ports?: 'config' | 'ephemeral';
  /** `false`: no https listener for outside names (`check`, which writes nothing). */
  outsideNames?: boolean;
  /** Records every request the mirrors and the https listener answer; none: not recorded. */
  requests?: RequestLog;
  /** Keep what the mirrors answer 404 in the misses ledger (docs/adr/0015); needs `requests`. */
  misses?: boolean;
  /**
   * The certificate for the outside names, already read (a serve worker gets it from its primary,
   * which read it as root: core/serve-workers.ts); otherwise read or made here.
   */
  certificate?: ServingCertificate;
};

export type Serving = {
  mirrors: RunningMirror[];
  /** The https listener for outside names (docs/adr/0009), when it could start. */
  front?: RunningFront;
  /** What was not started and why (outside names without root for port 443). */
  notes: string[];
  close(): Promise<void>;
};

/**
 * Start every mirror the config names (`servedMirrors`) in this process, bound to the mirror address, serving from disk only, and
 * the https listener answering the outside names the mirrors' clients fetch as written. If a
 * mirror cannot start, the ones already started are stopped and the error (a `ServeError` with
 * advice) is thrown; the https listener without the privilege for port 443 is a note (it matters
 * only on the isolated network, where `offline up` serves as root). `close` is idempotent.
 */
export async function serve(options: ServeOptions): Promise<Serving> {
  const { config } = options;
  const host = options.host ?? config.listen;
  const mirrors: RunningMirror[] = [];
  const notes: string[] = [];
  let front: RunningFront | undefined;
  const served = servedMirrors(config);
  if (served.length === 0) {
    throw new ServeError(`${config.file} names no mirror: add a section (${MIRRORS.map((m) => `${m.name}:`).join(', ')}) or serve every mirror with --all`);
  }
  try {
    for (const mirror of served) {
      const port = options.ports === 'ephemeral' ? 0 : mirror.port(config);
      mirrors.push(await mirror.serve({ config, dir: join(config.data, mirror.name), host, port, requests: options.requests }));
    }
    const handlers = new Map<string, NamedHandler>(mirrors.flatMap((m) => Object.entries(m.named ?? {}).map(([name, handler]) => [name, { mirror: m.name, handler }] as const)));
    if (handlers.size > 0 && options.outsideNames !== false) {
      const port = options.ports === 'ephemeral' ? 0 : HTTPS_PORT;
      try {
        const tls = options.certificate ?? await ensureServingCertificate(config.data, [...handlers.keys()]);
        front = await startNamedFront({ host, port, requests: options.requests }, tls, handlers);
      } catch (err) {
        const denied = err instanceof ServeError && (err.cause as NodeJS.ErrnoException | undefined)?.code === 'EACCES';
        // A read-only data directory (a stack service mounts it so) without the certificate `up` makes.
        const unreadable = READ_ONLY.has((err as NodeJS.ErrnoException).code ?? '');
        if (!denied && !unreadable) throw err;
        notes.push(`${[...handlers.keys()].join(', ')}: not answered (${denied ? `port ${port} needs root` : `cannot write ${join(config.data, 'tls')}`}); only containers on the isolated network use them, through \`sudo offline up\``);
      }
    }
  } catch (err) {
    await Promise.all([...mirrors.map((m) => m.close()), front?.close()]);
    throw err;
  }
  const ledger = options.misses && options.requests ? recordMisses(config, served, options.requests) : undefined;
  let closing: Promise<void> | undefined;
  return {
    mirrors,
    ...(front ? { front } : {}),
    notes,
    close: () => (closing ??= Promise.all([...mirrors.map((m) => m.close()), front?.close()]).then(() => ledger?.stop())),
  };
}

/** Each 404 a served mirror answers that names a client's want goes to that mirror's ledger. */
export function recordMisses(config: Config, served: Mirror[], requests: RequestLog): { stop(): Promise<void> } {
  const seeing = served.filter((m) => !m.missesUnseen);
  const writers = new Map(seeing.map((m) => [m.name as string, { mirror: m, writer: createLedgerWriter(config.data, m.name) }]));
  const unsubscribe = requests.onRecord((record) => {
    if (record.status !== 404) return;
    const entry = writers.get(record.mirror);
    const item = entry?.mirror.miss({ method: record.method, path: record.path });
    if (item) entry!.writer.record(item);
  });
  return {
    async stop() {
      unsubscribe();
      await Promise.all([...writers.values()].map(({ writer }) => writer.flush()));
    },
  };
}

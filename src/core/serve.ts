import { join } from 'node:path';
import { MIRRORS } from '../ecosystems/index.ts';
import type { RunningMirror } from '../ecosystems/types.ts';
import type { Config } from './config.ts';

export type ServeOptions = {
  config: Config;
  /** Overrides `listen` from the config. */
  host?: string;
  /** Overrides every mirror's port with 0 (tests) when set to 'ephemeral'. */
  ports?: 'config' | 'ephemeral';
};

export type Serving = { mirrors: RunningMirror[]; close(): Promise<void> };

/**
 * Start every mirror in this process, bound to the mirror address, serving from disk only. If one
 * cannot start, the ones already started are stopped and the error (a `ServeError` with advice) is
 * thrown. `close` is idempotent.
 */
export async function serve(options: ServeOptions): Promise<Serving> {
  const { config } = options;
  const host = options.host ?? config.listen;
  const mirrors: RunningMirror[] = [];
  try {
    for (const mirror of MIRRORS) {
      const port = options.ports === 'ephemeral' ? 0 : mirror.port(config);
      mirrors.push(await mirror.serve({ config, dir: join(config.data, mirror.name), host, port }));
    }
  } catch (err) {
    await Promise.all(mirrors.map((m) => m.close()));
    throw err;
  }
  let closing: Promise<void> | undefined;
  return {
    mirrors,
    close: () => (closing ??= Promise.all(mirrors.map((m) => m.close())).then(() => undefined)),
  };
}

import { loadConfig, withAllMirrors, withOneMirror, type Config, type ConfigOptions } from '../ecosystems/config.ts';
import { dropPrivileges, type ServeUser } from '../core/serve-user.ts';
import { isOfflineError } from '../foundation/errors.ts';

/**
 * `all`: act on every mirror, not only those the config has a section for (serve, up, status);
 * `mirror`: on that one only (serve).
 */
export type CommonOptions = { config: string; json?: boolean; all?: boolean; mirror?: string };

/** The config `-c` names; `requireInputs: false` for commands that read no input file (serve, up, status …). */
export async function loadFromOptions(opts: CommonOptions, options: ConfigOptions = {}): Promise<Config> {
  const config = await loadConfig(opts.config, process.env, options);
  if (opts.mirror !== undefined) return withOneMirror(config, opts.mirror);
  return opts.all ? withAllMirrors(config) : config;
}

/** Exit codes: 0 done, 1 done with failures, 2 bad config or input, 70 a bug, 130 interrupted. */
export const EXIT = { ok: 0, failures: 1, usage: 2, internal: 70, interrupted: 130 } as const;

/**
 * Print an error for a person: our own errors as their message (they say what to do next),
 * anything else with its stack, since that is a bug worth reporting.
 */
export function reportError(err: unknown, json: boolean | undefined): number {
  const known = isOfflineError(err);
  const code = known ? err.code : 'OFFLINE_ERR_INTERNAL';
  const exit = known && (code === 'OFFLINE_ERR_CONFIG' || code === 'OFFLINE_ERR_INPUT') ? EXIT.usage : known ? EXIT.failures : EXIT.internal;
  if (json) {
    process.stdout.write(`${JSON.stringify({ ok: false, error: { code, message: (err as Error).message } })}\n`);
  } else if (known) {
    process.stderr.write(`offline: ${err.message}\n`);
  } else {
    process.stderr.write(`offline: internal error (please report it): ${(err as Error)?.stack ?? String(err)}\n`);
  }
  return exit;
}

/** Resolves on the first SIGINT or SIGTERM: a foreground command's end. */
export function untilStopped(): Promise<void> {
  return new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
}

/**
 * Started by root (`user` given): become that user for good now that the ports are bound; if that
 * fails, stop what was started (`close`) and throw.
 */
export async function dropOrClose(user: ServeUser | undefined, data: string, close: () => Promise<void>): Promise<void> {
  if (!user) return;
  try {
    await dropPrivileges(user, data);
  } catch (err) {
    await close();
    throw err;
  }
}

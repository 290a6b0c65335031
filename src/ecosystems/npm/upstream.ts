import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { Config } from '../../core/config.ts';

const execFileAsync = promisify(execFile);

/** The packument URL of `name` on a registry: scoped names keep the `@` and encode the slash. */
export function packumentUrl(upstream: string, name: string): string {
  const base = upstream.endsWith('/') ? upstream : `${upstream}/`;
  return base + name.replace('/', '%2f');
}

/**
 * The npm upstream: `npm.upstream` when set, else the registry in the user's own npm config,
 * which is what their npm already reaches (a company registry, or the public one).
 */
export async function resolveUpstream(config: Config): Promise<string> {
  if (config.npm.upstream) return config.npm.upstream;
  const fromEnv = process.env.npm_config_registry ?? process.env.NPM_CONFIG_REGISTRY;
  if (fromEnv) return fromEnv;
  try {
    const { stdout } = await execFileAsync('npm', ['config', 'get', 'registry'], { timeout: 15_000 });
    const registry = stdout.trim();
    if (/^https?:\/\//.test(registry)) return registry;
  } catch {
    // npm is not installed or failed: fall through to the public registry
  }
  return 'https://registry.npmjs.org/';
}

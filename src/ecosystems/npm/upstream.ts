import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { Config } from '../config.ts';

const execFileAsync = promisify(execFile);

/** The packument URL of `name` on a registry: scoped names keep the `@` and encode the slash. */
export function packumentUrl(upstream: string, name: string): string {
  const base = upstream.endsWith('/') ? upstream : `${upstream}/`;
  return base + name.replace('/', '%2f');
}

const PUBLIC_REGISTRY = 'https://registry.npmjs.org/';
const NPM_CONFIG_TIMEOUT_MS = 15_000;

/**
 * The npm upstream: `npm.upstream` when set, else the registry in the user's own npm config,
 * which is what their npm already reaches (a company registry, or the public one). When npm
 * cannot say (not installed, failing, or past its time limit) the public registry is used, and
 * `why` says so: a sync should not quietly go elsewhere than the user's npm would.
 */
export async function resolveUpstream(config: Config): Promise<{ url: string; why?: string }> {
  if (config.npm.upstream) return { url: config.npm.upstream };
  const fromEnv = process.env.npm_config_registry ?? process.env.NPM_CONFIG_REGISTRY;
  if (fromEnv) return { url: fromEnv };
  try {
    const { stdout } = await execFileAsync('npm', ['config', 'get', 'registry'], { timeout: NPM_CONFIG_TIMEOUT_MS });
    const registry = stdout.trim();
    if (/^https?:\/\//.test(registry)) return { url: registry };
    return { url: PUBLIC_REGISTRY, why: `\`npm config get registry\` printed ${JSON.stringify(registry)}, not a URL` };
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { killed?: boolean };
    const reason = e.killed ? `did not answer within ${NPM_CONFIG_TIMEOUT_MS / 1000} s` : e.code === 'ENOENT' ? 'cannot run: npm is not installed' : `failed: ${e.message.split('\n')[0]}`;
    return { url: PUBLIC_REGISTRY, why: `\`npm config get registry\` ${reason}` };
  }
}

/** The registry hosts yarn 1 (and npm with `replace-registry-host=never`) fetch lockfile URLs from as written. */
export const REGISTRY_HOSTS = ['registry.npmjs.org', 'registry.yarnpkg.com'];

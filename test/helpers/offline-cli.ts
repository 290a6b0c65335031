/**
 * Run the offline CLI as a user would, and write the configs tests sync with. The CLI runs from
 * source (Node 24 strips the types), so a test never runs a stale build.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { run, type RunResult } from './run.ts';

export const CLI = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));

/** `offline <args>`; `env` is added to this process's environment. */
export function offline(args: string[], opts: { env?: NodeJS.ProcessEnv; cwd?: string; timeoutMs?: number } = {}): Promise<RunResult> {
  return run(process.execPath, [CLI, ...args], {
    cwd: opts.cwd,
    env: { ...process.env, ...opts.env },
    timeoutMs: opts.timeoutMs ?? 300_000,
  });
}

/** The shell command that runs the CLI, for scripts run inside a network namespace. */
export function offlineCommand(args: string): string {
  return `'${process.execPath}' '${CLI}' ${args}`;
}

export type NpmConfigInput = { upstream: string; port: number; lockfiles?: string[]; packages?: string[] };

/** Write `dir/offline.yaml` with its data in `dir/mirrors`, serving on loopback. */
export async function writeConfig(dir: string, npm: NpmConfigInput): Promise<string> {
  const file = join(dir, 'offline.yaml');
  const config = {
    data: './mirrors',
    listen: '127.0.0.1',
    npm: { port: npm.port, upstream: npm.upstream, lockfiles: npm.lockfiles ?? [], packages: npm.packages ?? [] },
  };
  await writeFile(file, stringify(config));
  return file;
}

/**
 * A shell fragment that starts `offline serve` in the background and waits until it says it is
 * serving (or fails the script with its output). The server is stopped when the script exits.
 */
export function serveInBackground(config: string, log: string): string {
  return [
    `${offlineCommand(`serve -c '${config}'`)} > '${log}' 2>&1 &`,
    'SERVE_PID=$!',
    `trap 'kill $SERVE_PID 2>/dev/null; wait $SERVE_PID 2>/dev/null' EXIT`,
    'n=0',
    `until grep -q 'serving from disk' '${log}'; do n=$((n+1)); if [ $n -gt 300 ]; then echo 'serve did not start:'; cat '${log}'; exit 99; fi; sleep 0.1; done`,
  ].join('\n');
}

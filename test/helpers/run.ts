/**
 * Running real clients from tests: a promise around `spawn` that never throws on a non-zero exit,
 * and a loopback-only network namespace (`unshare -n`) for proving that something works offline.
 */
import { spawn } from 'node:child_process';

export type RunOptions = {
  cwd?: string;
  /** The child's complete environment (not merged with `process.env`); defaults to `process.env`. */
  env?: NodeJS.ProcessEnv;
  /** Written to the child's stdin, which is then closed. */
  input?: string;
  /** Kill the child's process group and reject after this long; default 5 minutes. */
  timeoutMs?: number;
};

export type RunResult = { code: number | null; stdout: string; stderr: string };

/**
 * Runs `cmd args` and resolves with its exit code and output, whatever the code. Rejects only when
 * the program cannot be started or overruns `timeoutMs`; both messages carry the argv.
 */
export function run(cmd: string, args: string[], opts: RunOptions = {}): Promise<RunResult> {
  const argv = [cmd, ...args].join(' ');
  const timeoutMs = opts.timeoutMs ?? 300_000;
  return new Promise((resolve, reject) => {
    // Its own process group, so a timeout also ends the workers yarn and pnpm start.
    const child = spawn(cmd, args, {
      cwd: opts.cwd,
      env: opts.env ?? process.env,
      stdio: ['pipe', 'pipe', 'pipe'],
      detached: true,
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.stdin.on('error', () => {}); // the child may exit without reading its input
    child.stdin.end(opts.input ?? '');
    const timer = setTimeout(() => {
      try {
        if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
      } catch {
        child.kill('SIGKILL');
      }
      reject(new Error(`${argv}: timed out after ${timeoutMs} ms\n${Buffer.concat(err).toString()}`));
    }, timeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(new Error(`${argv}: could not start: ${e.message}`, { cause: e }));
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() });
    });
  });
}

let netnsProbe: Promise<string | undefined> | undefined;

/**
 * Whether this process may make loopback-only network namespaces: `undefined` when
 * `unshare -n` works (root, or user namespaces allowed), otherwise the reason it does not.
 */
export function hasNetns(): Promise<string | undefined> {
  netnsProbe ??= (async () => {
    try {
      const r = await run('unshare', ['-n', 'sh', '-c', 'ip link set lo up && ip -o addr show lo'], {
        timeoutMs: 10_000,
      });
      if (r.code !== 0) return `unshare -n failed (${r.code}): ${r.stderr.trim()}`;
      if (!r.stdout.includes('127.0.0.1')) return 'loopback has no 127.0.0.1 inside a new network namespace';
      return undefined;
    } catch (e) {
      return `unshare is unavailable: ${(e as Error).message}`;
    }
  })();
  return netnsProbe;
}

/** Runs `script` with `sh` in a new network namespace whose only link is loopback (up). */
export function inNetns(script: string, opts: RunOptions = {}): Promise<RunResult> {
  return run('unshare', ['-n', 'sh', '-c', `ip link set lo up; ${script}`], opts);
}

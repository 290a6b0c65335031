/**
 * Serving benchmarks: `wrk` (many keep-alive connections, each request the next path of a list,
 * through a Lua script) against the mirror and against a peer serving the same files, one after
 * the other in the same run. Loopback only.
 */
import { spawn } from 'node:child_process';
import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join, relative } from 'node:path';
import { startServe } from './common.ts';
import { run } from '../test/helpers/run.ts';
import { claimPorts } from '../test/helpers/ports.ts';

export type Load = { bytesPerSecond: number; requestsPerSecond: number };

/** The Lua script: each wrk thread walks the whole list, from its own starting point. */
function script(paths: string[]): string {
  return [
    `local paths = {${paths.map((p) => JSON.stringify(p)).join(',\n')}}`,
    'local threads, started, i = 0, 0, 0',
    'function setup(thread) threads = threads + 1; thread:set("id", threads) end',
    'function init(args) i = (id or 1) * 7919 % #paths end',
    'function request() i = i % #paths + 1; return wrk.format("GET", paths[i]) end',
    'function done(s, latency, requests)',
    '  local e = s.errors',
    '  io.write(string.format("RESULT %d %d %d %d %d\\n", s.bytes, s.duration, s.requests, e.status, e.connect + e.read + e.write + e.timeout))',
    'end',
  ].join('\n');
}

/**
 * GET `paths` from `base` with wrk for `seconds`: `connections` keep-alive connections, 2 threads.
 * Throws when any answer was not 2xx or a socket failed: a fast server that errs is no result.
 */
export async function wrk(base: string, paths: string[], work: string, opts: { connections?: number; seconds?: number } = {}): Promise<Load> {
  const file = join(work, `wrk-${Math.random().toString(36).slice(2)}.lua`);
  await writeFile(file, script(paths));
  const connections = opts.connections ?? 50;
  const r = await run('wrk', ['-t', '2', '-c', String(connections), '-d', `${opts.seconds ?? 6}s`, '-s', file, base], { timeoutMs: 120_000 });
  const m = /RESULT (\d+) (\d+) (\d+) (\d+) (\d+)/.exec(r.stdout);
  if (r.code !== 0 || !m) throw new Error(`wrk ${base} failed (${r.code}): ${r.stderr}${r.stdout}`);
  const [bytes, micros, requests, statusErrors, socketErrors] = m.slice(1).map(Number) as [number, number, number, number, number];
  if (statusErrors > 0 || socketErrors > 0) throw new Error(`wrk ${base}: ${statusErrors} non-2xx answers, ${socketErrors} socket errors`);
  return { bytesPerSecond: bytes / (micros / 1e6), requestsPerSecond: requests / (micros / 1e6) };
}

/**
 * nginx serving `root` on a free-ish port, as Debian configures it: a worker per core
 * (`worker_processes auto`), sendfile, and an access log (the mirror logs every request too).
 */
export async function startNginx(root: string, work: string): Promise<{ url: string; stop(): void }> {
  const port = await claimPorts(4);
  const conf = join(work, 'nginx.conf');
  // The work directory is private (mkdtemp), so the worker runs as this user.
  const user = process.getuid?.() === 0 ? 'user root;\n' : '';
  await writeFile(conf, `${user}daemon off;\nworker_processes auto;\npid ${join(work, 'nginx.pid')};\nerror_log ${join(work, 'nginx.err')};\n` +
    `events { worker_connections 1024; }\nhttp { access_log ${join(work, 'nginx-access.log')}; sendfile on; tcp_nopush on; keepalive_requests 100000;\n` +
    `  default_type application/octet-stream;\n  server { listen 127.0.0.1:${port}; root ${root}; } }\n`);
  const child = spawn('nginx', ['-c', conf, '-p', work], { stdio: 'ignore' });
  for (let i = 0; i < 50; i++) {
    await new Promise((r) => setTimeout(r, 100));
    if ((await fetch(`http://127.0.0.1:${port}/`).then((res) => res.status, () => 0)) !== 0) break;
  }
  return { url: `http://127.0.0.1:${port}`, stop: () => child.kill('SIGTERM') };
}

/** Resident memory of a running process now (VmRSS) and at its peak (VmHWM), in MB. */
export async function rss(pid: number): Promise<{ now: number; peak: number }> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)?.[1] ?? NaN);
  return { now: kb('VmRSS') / 1024, peak: kb('VmHWM') / 1024 };
}

/** `command -v` for each tool; the first missing one, or undefined. */
export async function missingTool(...tools: string[]): Promise<string | undefined> {
  for (const tool of tools) if ((await run('sh', ['-c', `command -v ${tool}`])).code !== 0) return tool;
  return undefined;
}

/** Every file under `root` (recursively), as a URL path below it. */
export async function filePaths(root: string, suffix: string): Promise<string[]> {
  const entries = await readdir(root, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile() && e.name.endsWith(suffix)).map((e) => `/${relative(root, join(e.parentPath, e.name))}`).sort();
}

/** The sizes of the files at `paths` below `root`, for a row's label: `1.2–3.4 kB, mean 2.0 kB`. */
export async function sizeRange(root: string, paths: string[]): Promise<string> {
  const sizes = await Promise.all(paths.map(async (p) => (await stat(join(root, p))).size / 1000));
  const kb = (n: number) => `${n < 10 ? n.toFixed(1) : n.toFixed(0)} kB`;
  return `${kb(Math.min(...sizes))}–${kb(Math.max(...sizes))}, mean ${kb(sizes.reduce((a, b) => a + b, 0) / sizes.length)}`;
}

/** `offline serve --workers` for the rows that use them: one per core (BENCH_WORKERS overrides). */
export const WORKERS = Number(process.env.BENCH_WORKERS ?? availableParallelism());

/** wrk against `offline serve --workers WORKERS` of `config`, started for it and stopped after. */
export async function wrkWorkers(config: string, base: string, paths: string[], work: string): Promise<Load> {
  const server = await startServe(config, ['--workers', String(WORKERS)]);
  try {
    return await wrk(base, paths, work);
  } finally {
    await server.stop();
  }
}

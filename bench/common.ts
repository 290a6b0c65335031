/** What every benchmark shares: timing, failing loudly, running the CLI, and the rows of the table. */
import { spawn } from 'node:child_process';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SERVING_NODE_FLAGS } from '../src/core/up-process.ts';
import { run } from '../test/helpers/run.ts';

/** The built CLI (`npm run bench` builds first), as users run it. */
export const BIN = fileURLToPath(new URL('../bin/offline.js', import.meta.url));

/**
 * One row of the summary: what offline did, what its peer did, and offline's speed relative to
 * the peer's (above 1: offline is faster; for durations, peer / offline; for rates, offline / peer).
 * Scale figures have no peer.
 */
export type Row = { benchmark: string; offline: string; peer?: string; ratio?: number };

export async function timed<T>(fn: () => Promise<T>): Promise<[number, T]> {
  const start = performance.now();
  const result = await fn();
  return [(performance.now() - start) / 1000, result];
}

export function must(r: { code: number | null; stdout: string; stderr: string }, what: string): void {
  if (r.code !== 0) throw new Error(`${what} failed (${r.code}):\n${r.stderr.slice(-3000)}\n${r.stdout.slice(-2000)}`);
}

/** A row comparing two durations. */
export function durationRow(benchmark: string, offline: number, peerName: string, peer: number): Row {
  return { benchmark, offline: `${offline.toFixed(2)} s`, peer: `${peerName} ${peer.toFixed(2)} s`, ratio: peer / offline };
}

/** A row comparing two throughputs (bytes per second). */
export function rateRow(benchmark: string, offline: number, peerName: string, peer: number): Row {
  return { benchmark, offline: `${(offline / 1e6).toFixed(0)} MB/s`, peer: `${peerName} ${(peer / 1e6).toFixed(0)} MB/s`, ratio: offline / peer };
}

/**
 * `offline serve -c config`, resolved once it says it is serving. serve drops to `nobody`, so the
 * benchmark's private work directory (the config's, holding the mirrors) is made readable first.
 */
export async function startServe(config: string, args: string[] = []): Promise<{ pid: number; stop(): Promise<void> }> {
  must(await run('chmod', ['-R', 'a+rX', dirname(config)]), 'chmod');
  // The request log goes to stderr: read and dropped (its last lines kept for a failure).
  // BENCH_PROFILE=DIR: a CPU profile of each serve too, written when it stops.
  const profile = process.env.BENCH_PROFILE ? ['--cpu-prof', '--cpu-prof-dir', process.env.BENCH_PROFILE] : [];
  // With the node flags `offline up` and the compose image serve with.
  const server = spawn(process.execPath, [...SERVING_NODE_FLAGS, ...profile, BIN, 'serve', '-c', config, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let tail = '';
  server.stderr.on('data', (c: Buffer) => { tail = (tail + c.toString()).slice(-4000); });
  const exited = new Promise<void>((resolve) => server.once('exit', () => resolve()));
  // Stopped means gone: the next benchmark's serve listens on the same https port.
  const stop = async () => {
    server.kill('SIGTERM');
    await exited;
  };
  return new Promise((resolve, reject) => {
    server.once('exit', (code) => reject(new Error(`offline serve exited with ${code}:\n${tail}`)));
    server.stdout.on('data', (c: Buffer) => {
      if (c.toString().includes('serving')) resolve({ pid: server.pid!, stop });
    });
  });
}

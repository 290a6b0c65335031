/**
 * The processes `up` starts from this CLI (`offline serve` for the embedded mirrors, `offline
 * controller` beside the compose stack): started and recorded alike, so `down` can tell them
 * from whatever later reuses their pid (`net/state.ts`).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { startTicks, type MirrorsProcess } from '../net/state.ts';

/**
 * Node's flags for the processes that serve (this module's, and the compose image's entry point,
 * services/mirror/Dockerfile): semi-spaces of at most 8 MiB. Left to itself V8 grew the young
 * generation to 67 MB while the mirrors loaded and kept it; a server allocates little per request,
 * and the cap took 26 MB off an idle `offline serve` and 37 MB off one serving 50 clients, at the
 * same throughput (docs/benchmarks.md).
 */
export const SERVING_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=8'];

/**
 * Run `cli` (node, its flags and this CLI's script) with `args` and SERVING_NODE_FLAGS: with a `log`, detached, its output appended there and not waited for;
 * without, in the foreground on this terminal. Returns the child and the record for the state.
 */
export async function spawnRecorded(cli: string[], args: string[], log: string | undefined): Promise<{ child: ChildProcess; record: MirrorsProcess }> {
  const out = log === undefined ? undefined : openSync(log, 'a');
  // Ours first: a flag this CLI was itself run with comes later and wins.
  const child = spawn(cli[0]!, [...SERVING_NODE_FLAGS, ...cli.slice(1), ...args], { detached: out !== undefined, stdio: out === undefined ? 'inherit' : ['ignore', out, out] });
  if (out !== undefined) {
    closeSync(out);
    child.unref();
  }
  return { child, record: { pid: child.pid!, log: log ?? '', started: new Date().toISOString(), startTicks: await startTicks(child.pid!) } };
}

/** The last `lines` lines of a started process's log: what an error says when it did not start. */
export function logTail(log: string, lines: number): string[] {
  return readFileSync(log, 'utf8').trim().split('\n').slice(-lines);
}

/**
 * The processes `up` starts from this CLI (`offline serve` for the embedded mirrors, `offline
 * controller` beside the compose stack): started and recorded alike, so `down` can tell them
 * from whatever later reuses their pid (`net/state.ts`).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { startTicks, type MirrorsProcess } from '../net/state.ts';

/**
 * Run `cli` with `args`: with a `log`, detached, its output appended there and not waited for;
 * without, in the foreground on this terminal. Returns the child and the record for the state.
 */
export async function spawnRecorded(cli: string[], args: string[], log: string | undefined): Promise<{ child: ChildProcess; record: MirrorsProcess }> {
  const out = log === undefined ? undefined : openSync(log, 'a');
  const child = spawn(cli[0]!, [...cli.slice(1), ...args], { detached: out !== undefined, stdio: out === undefined ? 'inherit' : ['ignore', out, out] });
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

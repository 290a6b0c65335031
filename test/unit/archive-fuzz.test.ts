/**
 * The archive readers — a pacman database (gzip, plain tar), a wheel's METADATA (zip), an sdist's
 * PKG-INFO (tar.gz) — under a few thousand seeded random mutations of small valid archives: bit
 * flips, truncations, inserted, duplicated and deleted bytes, and header fields set to huge values
 * (tar sizes in octal, base-256 and pax; zip sizes, counts, lengths, offsets, a zip64 locator).
 * Each case must return or throw InputError or TooLargeError, never hang, never ask for a buffer
 * past a few times the limit. The cases run in a worker (test/helpers/archive-fuzz-worker.ts) so a
 * hanging one can be stopped and named. ARCHIVE_FUZZ_SEED picks another seed; a failure names the
 * seed, the case and its mutations.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Worker } from 'node:worker_threads';
import type { FuzzInput, FuzzMessage } from '../helpers/archive-fuzz-worker.ts';

const SEED = Number(process.env['ARCHIVE_FUZZ_SEED'] ?? 20260710);
const CASES = 600;
const LIMIT = 1024 * 1024;
/** A case that takes this long is stuck: each takes milliseconds. */
const HANG_MS = 60_000;

type Done = Extract<FuzzMessage, { kind: 'done' }>;
type Problem = Extract<FuzzMessage, { kind: 'problem' }>;

/** Runs the worker; rejects naming the case that hung, or how the worker died. */
function fuzz(input: FuzzInput): Promise<{ done: Done; problems: Problem[] }> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL('../helpers/archive-fuzz-worker.ts', import.meta.url), { workerData: input });
    const problems: Problem[] = [];
    let last = 'no case started';
    let done: Done | undefined;
    let timer: NodeJS.Timeout | undefined;
    const watch = (): void => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        void worker.terminate();
        reject(new Error(`seed ${input.seed}: ${last} did not finish (hung?)`));
      }, HANG_MS);
    };
    watch();
    worker.on('message', (message: FuzzMessage) => {
      watch();
      if (message.kind === 'start') last = `${message.target} #${message.index}`;
      else if (message.kind === 'problem') problems.push(message);
      else done = message;
    });
    worker.on('error', (err) => {
      clearTimeout(timer);
      reject(new Error(`seed ${input.seed}: the worker died during ${last}: ${err.stack ?? err.message}`));
    });
    worker.on('exit', (code) => {
      clearTimeout(timer);
      if (done) resolve({ done, problems });
      else reject(new Error(`seed ${input.seed}: the worker exited (${code}) during ${last}`));
    });
  });
}

test(`archive readers take ${CASES} damaged archives per target without a hang, a stray error or an unbounded buffer`, async (t) => {
  const { done, problems } = await fuzz({ seed: SEED, cases: CASES, limit: LIMIT });
  for (const [target, count] of Object.entries(done.counts)) t.diagnostic(`${target}: ${JSON.stringify(count)}`);
  t.diagnostic(`largest buffer asked for: ${done.largestAlloc.bytes} bytes, by ${done.largestAlloc.where}`);

  const shown = problems.slice(0, 5).map((p) => `ARCHIVE_FUZZ_SEED=${SEED} ${p.target} #${p.index} [${p.mutations.join('; ')}]: ${p.problem}`);
  assert.deepEqual(shown, [], `${problems.length} cases broke a rule`);
  assert.equal(Object.keys(done.counts).length, 6);
  for (const [target, count] of Object.entries(done.counts)) {
    assert.equal(count.ok + count.OFFLINE_ERR_INPUT + count.OFFLINE_ERR_TOO_LARGE, CASES, target);
    // Neither vacuous nor hopeless: some damage is harmless, some is refused.
    assert.ok(count.ok > 0 && count.OFFLINE_ERR_INPUT > 0, `${target}: ${JSON.stringify(count)}`);
  }
  // Huge declared sizes are refused, not allocated: no buffer much past the limit is ever asked for.
  assert.ok(done.largestAlloc.bytes <= 4 * LIMIT, `seed ${SEED}: ${done.largestAlloc.where} asked for ${done.largestAlloc.bytes} bytes`);
});

/**
 * Counts what a long job has done so renderers (a redrawn terminal line, plain log lines, the
 * API's progress endpoint) can show items, bytes, rate and ETA. Pure bookkeeping: no output.
 */
export type ProgressSnapshot = {
  phase: string;
  itemsDone: number;
  itemsTotal: number;
  itemsFailed: number;
  bytesDone: number;
  /** Bytes per second over the last few seconds. */
  bytesPerSecond: number;
  /**
   * Seconds left at the phase's average item rate: steady (a slow file does not make it jump),
   * and undefined until a few percent of the phase is done, when there is nothing to go on.
   */
  etaSeconds: number | undefined;
  elapsedMs: number;
};

export type Progress = {
  phase(name: string, total: number): void;
  addTotal(n: number): void;
  itemDone(): void;
  itemFailed(): void;
  bytes(n: number): void;
  snapshot(): ProgressSnapshot;
};

const WINDOW_MS = 5_000;
/** The share of a phase done, and the time spent in it, before an ETA is given. */
const ETA_AFTER = { share: 0.03, ms: 2_000 };

export function createProgress(now: () => number = Date.now): Progress {
  const started = now();
  let phaseName = 'starting';
  let itemsTotal = 0;
  let itemsDone = 0;
  let itemsFailed = 0;
  let bytesDone = 0;
  let samples: Array<{ t: number; bytes: number; items: number }> = [];
  let phaseStarted = started;

  function sample(): void {
    const t = now();
    samples.push({ t, bytes: bytesDone, items: itemsDone + itemsFailed });
    samples = samples.filter((s) => t - s.t <= WINDOW_MS);
  }

  return {
    phase(name, total) {
      phaseName = name;
      itemsTotal = total;
      itemsDone = 0;
      itemsFailed = 0;
      samples = [];
      phaseStarted = now();
      sample();
    },
    addTotal(n) {
      itemsTotal += n;
    },
    itemDone() {
      itemsDone++;
      sample();
    },
    itemFailed() {
      itemsFailed++;
      sample();
    },
    bytes(n) {
      bytesDone += n;
    },
    snapshot() {
      sample();
      const first = samples[0]!;
      const last = samples.at(-1)!;
      const seconds = (last.t - first.t) / 1000;
      const bytesPerSecond = seconds > 0.2 ? (last.bytes - first.bytes) / seconds : 0;
      const finished = itemsDone + itemsFailed;
      const inPhase = last.t - phaseStarted;
      const known = itemsTotal > 0 && finished / itemsTotal >= ETA_AFTER.share && inPhase >= ETA_AFTER.ms;
      const itemRate = known ? finished / (inPhase / 1000) : 0;
      const left = itemsTotal - finished;
      return {
        phase: phaseName,
        itemsDone,
        itemsTotal,
        itemsFailed,
        bytesDone,
        bytesPerSecond,
        etaSeconds: itemRate > 0 ? Math.ceil(left / itemRate) : undefined,
        elapsedMs: now() - started,
      };
    },
  };
}

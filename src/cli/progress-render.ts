import type { Progress, ProgressSnapshot } from '../engine/progress.ts';
import { formatBytes, formatEta } from './format.ts';

/**
 * Show a progress tracker on stderr: one line redrawn in place on a terminal, a plain line every
 * few seconds otherwise (CI logs, pipes). Returns a function that stops and clears the display.
 */
export function renderProgress(progress: Progress, stream: NodeJS.WriteStream = process.stderr): () => void {
  const tty = Boolean(stream.isTTY);
  let lastPhase = '';
  const timer = setInterval(() => draw(false), tty ? 200 : 3000);
  timer.unref();

  function draw(final: boolean): void {
    const s = progress.snapshot();
    const line = describe(s);
    if (tty) {
      stream.write(`\r\x1b[K${final ? '' : line}`);
      return;
    }
    if (s.itemsTotal === 0 && s.phase === lastPhase) return;
    lastPhase = s.phase;
    if (!final) stream.write(`${line}\n`);
  }

  return () => {
    clearInterval(timer);
    draw(true);
  };
}

export function describe(s: ProgressSnapshot): string {
  const failed = s.itemsFailed > 0 ? `, ${s.itemsFailed} failed` : '';
  const rate = s.bytesPerSecond > 0 ? ` ${formatBytes(Math.round(s.bytesPerSecond))}/s` : '';
  return `${s.phase}: ${s.itemsDone}/${s.itemsTotal}${failed}, ${formatBytes(s.bytesDone)}${rate}, ETA ${formatEta(s.etaSeconds)}`;
}

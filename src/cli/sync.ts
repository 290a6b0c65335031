import { sync, type SyncReport } from '../core/sync.ts';
import { createProgress } from '../engine/progress.ts';
import { EXIT, loadFromOptions, type CommonOptions } from './common.ts';
import { formatBytes, formatDuration, plural } from './format.ts';
import { renderProgress } from './progress-render.ts';

export type SyncCliOptions = CommonOptions & { concurrency: number; perHost: number; retries: number; timeout: number; stall: number; verbose?: boolean; misses?: boolean };

export async function runSync(opts: SyncCliOptions): Promise<number> {
  const config = await loadFromOptions(opts);
  const controller = new AbortController();
  let interrupts = 0;
  const onSignal = (): void => {
    interrupts++;
    if (interrupts > 1) process.exit(EXIT.interrupted);
    process.stderr.write('\ninterrupted: finishing what is verified and committing it (Ctrl-C again to quit now)\n');
    controller.abort(new Error('interrupted'));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const progress = createProgress();
  const stop = renderProgress(progress);
  let report: SyncReport;
  try {
    report = await sync({
      config,
      progress,
      misses: opts.misses,
      signal: controller.signal,
      concurrency: opts.concurrency,
      http: { perHost: opts.perHost, retries: opts.retries, itemTimeoutMs: opts.timeout * 1000, idleTimeoutMs: opts.stall * 1000 },
    });
  } finally {
    stop();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  process.stdout.write(opts.json ? `${JSON.stringify(report, null, 2)}\n` : formatReport(report, { verbose: opts.verbose }));
  if (report.interrupted) return EXIT.interrupted;
  return report.ok ? EXIT.ok : EXIT.failures;
}

/**
 * The end-of-sync summary a person reads: per mirror, then notes, then every failure. A note that
 * counts entries lists them only with `verbose`.
 */
export function formatReport(report: SyncReport, opts: { verbose?: boolean } = {}): string {
  const lines: string[] = [];
  for (const e of report.ecosystems) {
    const named = Object.entries(e.summary).map(([k, v]) => `${v} ${v === 1 ? k.replace(/s$/, '') : k}`).join(', ');
    if (e.planned === 0 && e.failed === 0) {
      lines.push(`${e.name}: ${named}; nothing to download, all ${plural(e.present, 'file')} already mirrored`);
      continue;
    }
    lines.push(`${e.name}: ${named}; downloaded ${plural(e.downloaded, 'file')} (${formatBytes(e.bytes)}), ` +
      `${e.present} already mirrored, ${e.failed} failed`);
  }
  if (report.ecosystems.length === 0) lines.push('nothing to sync: the config names no lockfiles, packages or images');
  for (const n of report.notes) {
    const listed = opts.verbose ? (n.details ?? []) : [];
    lines.push(`note: ${n.ecosystem}: ${n.message}${n.details?.length && !opts.verbose ? ' (--verbose lists them)' : ''}`);
    for (const d of listed) lines.push(`  ${d}`);
  }
  if (report.failures.length > 0) {
    lines.push(`${plural(report.failures.length, 'failure')}:`);
    for (const f of report.failures) {
      const where = f.url && !f.message.includes(f.url) ? ` (${f.url})` : '';
      lines.push(`  ${f.ecosystem} ${f.item}: ${f.message}${where}`);
    }
  }
  if (report.misses) {
    const { taken, mirrored, remaining } = report.misses;
    lines.push(taken === 0 ? 'misses: the ledger is empty' : `misses: ${mirrored.length} of ${taken} mirrored and removed from the ledger${remaining.length ? `; ${remaining.length} still missing (offline misses shows why)` : ''}`);
  }
  if (report.stack) {
    lines.push('error' in report.stack ? `stack: the image could not be built: ${report.stack.error}`
      : `stack: image ${report.stack.image} ${report.stack.built ? 'built' : 'already built'} (offline up --compose runs it)`);
  }
  const verdict = report.interrupted ? 'interrupted; run `offline sync` again to finish'
    : report.ok ? 'done' : `finished with ${plural(report.failures.length + (report.stack && 'error' in report.stack ? 1 : 0), 'failure')}`;
  lines.push(`sync ${verdict} in ${formatDuration(report.durationMs)}`);
  return `${lines.join('\n')}\n`;
}

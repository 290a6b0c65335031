import { clearMisses, listMisses } from '../core/misses.ts';
import { EXIT, loadFromOptions, type CommonOptions } from './common.ts';

export type MissesCliOptions = CommonOptions & { clear?: boolean };

/** `offline misses`: the ledger, newest first; `--clear` empties it. */
export async function runMisses(opts: MissesCliOptions): Promise<number> {
  const config = await loadFromOptions(opts, { requireInputs: false });
  if (opts.clear) {
    const removed = await clearMisses(config);
    process.stdout.write(opts.json ? `${JSON.stringify({ cleared: removed })}\n` : `cleared ${removed} ${removed === 1 ? 'miss' : 'misses'}\n`);
    return EXIT.ok;
  }
  const report = await listMisses(config);
  if (opts.json) {
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    return EXIT.ok;
  }
  if (report.misses.length === 0) process.stdout.write('no misses: every request the mirrors could answer was answered\n');
  for (const m of report.misses) {
    const times = m.count === 1 ? `once, ${m.last}` : `${m.count} times, last ${m.last}`;
    process.stdout.write(`${m.mirror.padEnd(6)} ${m.item}  (${times})${m.reason ? `\n       still missing after the last sync --misses: ${m.reason}` : ''}\n`);
  }
  for (const u of report.unseen) process.stdout.write(`note: ${u.mirror}: ${u.why}\n`);
  if (report.misses.length > 0) process.stdout.write('online, `offline sync --misses` fetches them\n');
  return EXIT.ok;
}

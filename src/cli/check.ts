import { check } from '../core/check.ts';
import { EXIT, loadFromOptions, type CommonOptions } from './common.ts';
import { plural } from './format.ts';

/** `offline check`: 0 when every input is servable offline, 1 listing what is not. */
export async function runCheck(opts: CommonOptions): Promise<number> {
  const config = await loadFromOptions(opts);
  const report = await check(config);
  if (opts.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  else {
    for (const e of report.ecosystems) process.stdout.write(`${e.name}: ${plural(e.checked, 'item')} checked, ${e.missing} missing\n`);
    for (const m of report.missing) process.stdout.write(`  ${m.ecosystem} ${m.item}: ${m.message}\n`);
    process.stdout.write(report.ok ? 'ready: everything the config names is servable offline\n' : `not ready: ${plural(report.missing.length, 'item')} missing; run \`offline sync\` while online\n`);
  }
  return report.ok ? EXIT.ok : EXIT.failures;
}

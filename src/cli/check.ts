import { check } from '../core/check.ts';
import { EXIT, loadFromOptions, type CommonOptions } from './common.ts';
import { plural } from './format.ts';

/** `offline check`: 0 when every input is servable offline, 1 listing what is not. */
export async function runCheck(opts: CommonOptions & { quick?: boolean }): Promise<number> {
  const config = await loadFromOptions(opts);
  const report = await check(config, { quick: opts.quick });
  if (opts.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  else {
    for (const e of report.ecosystems) process.stdout.write(`${e.name}: ${plural(e.checked, 'item')} checked, ${e.missing} missing\n`);
    for (const m of report.missing) process.stdout.write(`  ${m.ecosystem} ${m.item}: ${m.message}\n`);
    for (const l of report.lockfiles) {
      const local = l.local > 0 ? ` (${l.local} workspace or local file: ${l.local === 1 ? 'dependency needs' : 'dependencies need'} no mirror)` : '';
      const where = l.host.length > 0 ? ' in park builds and containers on the isolated network' : '';
      if (l.ready) process.stdout.write(`  ${l.file} (${l.client}): ready${where}${local}\n`);
      else for (const p of l.problems) process.stdout.write(`  ${l.file} (${l.client}): not ready: ${p}\n`);
      for (const h of l.host) process.stdout.write(`  ${l.file} (${l.client}): not on this machine: ${h}\n`);
    }
    const unready = report.lockfiles.filter((l) => !l.ready).length;
    const why = [report.missing.length > 0 ? `${plural(report.missing.length, 'item')} missing (run \`offline sync\` while online)` : '', unready > 0 ? `${plural(unready, 'lockfile')} would not install as written` : ''].filter(Boolean).join('; ');
    process.stdout.write(report.ok ? 'ready: everything the config names is servable offline\n' : `not ready: ${why}\n`);
  }
  return report.ok ? EXIT.ok : EXIT.failures;
}

import { dirname } from 'node:path';
import { resolve } from 'node:path';
import { stringify } from 'yaml';
import { defaultConfigPath } from '../core/config.ts';
import { scan } from '../core/scan.ts';
import { EXIT } from './common.ts';

export type ScanCliOptions = { config: string; json?: boolean };

/** `offline scan DIR…`: propose the config keys that would mirror what the projects use. */
export async function runScan(dirs: string[], opts: ScanCliOptions): Promise<number> {
  const base = dirname(resolve(opts.config ?? defaultConfigPath()));
  const report = await scan((dirs.length > 0 ? dirs : ['.']).map((d) => resolve(d)), base);
  if (opts.json) {
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    return EXIT.ok;
  }
  process.stdout.write(`# offline scan found ${report.files.length} file(s):\n${report.files.map((f) => `#   ${f.file} (${f.kind})`).join('\n')}\n`);
  for (const note of report.notes) process.stdout.write(`# note: ${note}\n`);
  process.stdout.write(`# proposed keys for ${opts.config ?? defaultConfigPath()} (paths relative to it); merge into your config:\n`);
  process.stdout.write(stringify(prune(report.proposal)));
  return EXIT.ok;
}

/** Drop empty lists and sections, so the proposal shows only what was found. */
function prune(proposal: object): object {
  const out: Record<string, object> = {};
  for (const [section, keys] of Object.entries(proposal)) {
    const kept = Object.fromEntries(Object.entries(keys as Record<string, string[]>).filter(([, v]) => v.length > 0));
    if (Object.keys(kept).length > 0) out[section] = kept;
  }
  return out;
}

import { access } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { stringify } from 'yaml';
import { defaultConfigPath, loadConfig, type Config } from '../ecosystems/config.ts';
import { scan, writeProposal, type ScanReport } from '../core/scan.ts';
import { EXIT } from './common.ts';

export type ScanCliOptions = { config: string; json?: boolean; write?: boolean };

/**
 * `offline scan DIR…`: what each Dockerfile's park build needs and whether the config has it,
 * and the config keys that would mirror it all; `--write` merges the missing ones into the config.
 */
export async function runScan(dirs: string[], opts: ScanCliOptions): Promise<number> {
  const file = resolve(opts.config ?? defaultConfigPath());
  const base = dirname(file);
  const exists = await access(file).then(() => true, () => false);
  // A config that exists must be valid: its entries decide what is already mirrored.
  const config: Config | undefined = exists ? await loadConfig(file) : undefined;
  const report = await scan((dirs.length > 0 ? dirs : ['.']).map((d) => resolve(d)), base, config);
  const added = opts.write ? await writeProposal(file, report.missing) : undefined;
  if (opts.json) {
    process.stdout.write(`${JSON.stringify({ ...report, ...(added ? { added } : {}) }, null, 2)}\n`);
    return EXIT.ok;
  }
  process.stdout.write(`# offline scan found ${report.files.length} file(s):\n${report.files.map((f) => `#   ${f.file} (${f.kind})`).join('\n')}\n`);
  printNeeds(report, config ? file : undefined);
  for (const note of report.notes) process.stdout.write(`# note: ${note}\n`);
  if (added) {
    process.stdout.write(added.length > 0
      ? `# added to ${file}:\n${added.map((a) => `#   ${a}`).join('\n')}\n# next, online: offline sync -c ${file}\n`
      : `# ${file} already has everything found: nothing to add\n`);
    return EXIT.ok;
  }
  const missing = prune(config ? report.missing : report.proposal);
  process.stdout.write(Object.keys(missing).length === 0
    ? `# ${file} already has everything found\n`
    : `# keys to merge into ${file} (paths relative to it), or run again with --write:\n${stringify(missing)}`);
  return EXIT.ok;
}

/** Per Dockerfile: what a park build of it needs, each marked as in the config or missing. */
function printNeeds(report: ScanReport, file: string | undefined): void {
  for (const { file: dockerfile, needs } of report.dockerfiles) {
    process.stdout.write(`# ${dockerfile}: a park build needs\n`);
    for (const need of needs) process.stdout.write(`#   ${need.key}: ${need.value}  ${need.configured ? 'ok' : `missing${file ? '' : ' (no config yet)'}`}\n`);
  }
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

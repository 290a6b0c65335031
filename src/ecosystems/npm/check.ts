import { readFile } from 'node:fs/promises';
import { readInput } from '../../foundation/read-input.ts';
import { dirname, join } from 'node:path';
import { checkByPlanning } from '../check-by-planning.ts';
import type { CheckContext, CheckResult, LockfileVerdict, Mirror } from '../types.ts';
import { githubCommit } from './github.ts';
import { installView } from './install-view.ts';
import { parseLockfile } from './lockfile.ts';

/**
 * Every entry resolved against the served mirror (as for any mirror), then each lockfile read as
 * its client will install it: what it fetches as written, git and URL dependencies.
 */
export async function checkNpm(mirror: Mirror, ctx: CheckContext): Promise<CheckResult> {
  const result = await checkByPlanning(mirror, ctx, { ...ctx.config, npm: { ...ctx.config.npm, upstream: ctx.servedUrl } });
  const port = mirror.port(ctx.config);
  const hosts = [...new Set([ctx.config.listen, ctx.config.network.address, '127.0.0.1', 'localhost'])].map((h) => `${h}:${port}`);
  const lockfiles: LockfileVerdict[] = [];
  const said = new Set<string>();
  for (const file of ctx.config.npm.lockfiles) {
    const text = await readInput(file, 'lockfile').catch(() => undefined);
    if (text === undefined) continue; // the plan already reported it
    let contents;
    try {
      contents = parseLockfile(file, text);
    } catch {
      continue;
    }
    const npmrc = await readFile(join(dirname(file), '.npmrc'), 'utf8').catch(() => '');
    lockfiles.push(installView(file, text, contents, hosts, mirror.names?.(ctx.config) ?? [], npmrc));
    for (const u of contents.unmirrorable) if (!githubCommit(u.spec)) said.add(`${u.name} (${u.spec})`);
  }
  // A git or URL dependency is said once, by its lockfile's verdict, not again as a plan failure.
  return { ...result, missing: result.missing.filter((m) => !said.has(m.item)), lockfiles };
}

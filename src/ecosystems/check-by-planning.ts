import { stat } from 'node:fs/promises';
import type { Config } from './config.ts';
import { fileMatches } from '../engine/digest.ts';
import type { CheckContext, CheckResult, Failure, Mirror } from './types.ts';

/**
 * The check most mirrors need: plan against the served mirror (the config's upstream replaced by
 * `servedUrl`) and call missing whatever the plan could not resolve or would have to download: a
 * file not on disk, or on disk but not matching its digest (unless `verifyPresent` is false).
 */
export async function checkByPlanning(mirror: Mirror, ctx: CheckContext, local: Config): Promise<CheckResult> {
  const plan = await mirror.plan({ ...ctx, config: local });
  const missing: Failure[] = plan.failures.map((f) => ({ ...f, message: `not servable offline: ${f.message}` }));
  let checked = plan.present;
  for (const item of plan.downloads) {
    if (item.optional) continue;
    checked++;
    const onDisk = (await stat(item.dest).catch(() => undefined))?.isFile();
    // A file with no digest to check is planned only while unpublished (a GitHub tarball), so missing.
    if (onDisk && item.integrity !== undefined && (ctx.verifyPresent === false || (await fileMatches(item.dest, item.integrity)))) continue;
    const message = onDisk ? `${item.dest} does not match its digest (truncated or altered): run \`offline sync\` to fetch it again` : 'not in the mirror: run `offline sync`';
    missing.push({ ecosystem: mirror.name, item: item.label, code: 'OFFLINE_ERR_MISSING', message });
  }
  return { checked, missing };
}

import { checkByPlanning } from '../check-by-planning.ts';
import type { CheckContext, CheckResult, Mirror } from '../types.ts';

/**
 * Resolve every requirement, lockfile and spec against the served index for each target, as pip
 * would offline: missing is what the index cannot satisfy or a file that no longer matches.
 */
export function checkPypi(mirror: Mirror, ctx: CheckContext): Promise<CheckResult> {
  return checkByPlanning(mirror, ctx, { ...ctx.config, pypi: { ...ctx.config.pypi, upstream: ctx.servedUrl } });
}

import { checkByPlanning } from '../check-by-planning.ts';
import type { CheckContext, CheckResult, Mirror } from '../types.ts';

/**
 * Resolve every package against the served mirror's own databases, as `pacman -S` would offline:
 * missing is what the published generation cannot satisfy or a file that no longer matches.
 */
export function checkPacman(mirror: Mirror, ctx: CheckContext): Promise<CheckResult> {
  return checkByPlanning(mirror, ctx, { ...ctx.config, pacman: { ...ctx.config.pacman, upstream: ctx.servedUrl } });
}

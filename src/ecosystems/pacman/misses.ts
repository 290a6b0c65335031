/**
 * pacman cannot show what it missed on the wire (docs/adr/0015): it reads the repository database
 * first, which lists only what was mirrored, so a package that was not is "target not found" in
 * the client and never asked of the mirror. The 404s it does cause are for files the database
 * names (a damaged mirror: `offline check` finds those) or signatures, not wants. Before leaving,
 * `offline scan` proposes what the Dockerfiles' `pacman -S` lines install, and `offline check`
 * proves the config's packages are served.
 */
import type { MissRequest } from '../types.ts';

export const PACMAN_MISSES = 'pacman cannot show misses: its database lists only what is mirrored, so a missing package is "target not found" in the client; before leaving, `offline scan` proposes what your Dockerfiles\' pacman -S lines install';

export function pacmanMiss(_request: MissRequest): string | undefined {
  return undefined;
}

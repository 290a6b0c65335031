import { z } from 'zod';
import { mirrorEnv, names, port, type Section } from '../../foundation/config.ts';

// Repository and architecture names become directories of the mirror: plain names only.
const pacmanName = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._+-]*$/, { message: 'must be a plain name such as core or x86_64' });

/** `pacman:` in offline.yaml. */
export const pacmanSchema = z.strictObject({
  port: port.default(9129),
  upstream: z.string().default('https://geo.mirror.pkgbuild.com/$repo/os/$arch'),
  repos: z.array(pacmanName).default(['core', 'extra']),
  arch: z.array(pacmanName).default(['x86_64']),
  packages: names,
});

export type PacmanConfig = z.infer<typeof pacmanSchema>;

export const pacmanSection = {
  key: 'pacman',
  schema: pacmanSchema,
  env: mirrorEnv('pacman', { upstream: true }),
  inputs: [],
} as const satisfies Section;

import { z } from 'zod';
import { mirrorEnv, names, paths, port, url, type Section } from '../../foundation/config.ts';

/** `npm:` in offline.yaml. */
export const npmSchema = z.strictObject({
  port: port.default(4873),
  /** Defaults to the registry in the user's npm config (`npm config get registry`). */
  upstream: url.optional(),
  lockfiles: paths,
  packages: names,
  /** Where GitHub commit tarballs (git dependencies) are fetched from: codeload's paths. */
  github: url.default('https://codeload.github.com/'),
});

export type NpmConfig = z.infer<typeof npmSchema>;

export const npmSection = {
  key: 'npm',
  schema: npmSchema,
  env: mirrorEnv('npm', { upstream: true }),
  inputs: ['lockfiles'],
} as const satisfies Section;

import { z } from 'zod';
import { mirrorEnv, names, paths, port, url, type Section } from '../../foundation/config.ts';

/** `pypi:` in offline.yaml. */
export const pypiSchema = z.strictObject({
  port: port.default(3141),
  upstream: url.default('https://pypi.org/simple/'),
  requirements: paths,
  packages: names,
  python: z.array(z.string()).default(['3.12']),
  platforms: z.array(z.string()).default(['manylinux_2_17_x86_64']),
});

export type PypiConfig = z.infer<typeof pypiSchema>;

export const pypiSection = {
  key: 'pypi',
  schema: pypiSchema,
  env: mirrorEnv('pypi', { upstream: true }),
  inputs: ['requirements'],
} as const satisfies Section;

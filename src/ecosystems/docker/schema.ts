import { z } from 'zod';
import { mirrorEnv, names, port, url, type Section } from '../../foundation/config.ts';

/** `docker:` in offline.yaml. */
export const dockerSchema = z.strictObject({
  port: port.default(5000),
  images: names,
  platforms: z.array(z.string()).default(['linux/amd64']),
  registries: z.record(z.string(), url).default({ 'docker.io': 'https://registry-1.docker.io' }),
});

export type DockerConfig = z.infer<typeof dockerSchema>;

export const dockerSection = {
  key: 'docker',
  schema: dockerSchema,
  env: mirrorEnv('docker', { upstream: false }),
  inputs: [],
} as const satisfies Section;

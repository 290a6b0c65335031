import type { Mirror } from '../types.ts';
import { dockerMiss } from './misses.ts';
import { dockerClients } from './clients.ts';
import { dockerInputs } from './scan.ts';
import { checkDocker } from './check.ts';
import { planDocker } from './plan.ts';
import { statusDocker } from './status.ts';

/** The Docker/OCI mirror: images for the chosen platforms, served as a read-only registry. */
export const dockerMirror: Mirror = {
  name: 'docker',
  port: (config) => config.docker.port,
  wanted: (config) => config.docker.images.length > 0,
  plan: planDocker,
  // Loaded when serving: a sync never needs koa or verdaccio (start-up time, docs/benchmarks.md).
  serve: async (ctx) => (await import('./serve.ts')).serveDocker(ctx),
  miss: dockerMiss,
  status: (_config, dir) => statusDocker(dir),
  inputs: dockerInputs,
  clients: dockerClients,
  check: (ctx) => checkDocker(ctx),
};

// What park builds use to hand mirrored images to the Docker daemon under their own names.
export { BASE_LABEL, deriveImage, familiarName, MANIFEST_LABEL, mirroredImage, SETTINGS_LABEL, writeArchive } from './daemon-image.ts';
export { parsePlatform } from './media.ts';
export { parseReference } from './reference.ts';
export type { Platform } from './types.ts';

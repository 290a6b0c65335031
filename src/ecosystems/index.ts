import type { Config } from '../core/config.ts';
import { npmMirror } from './npm/index.ts';
import { pacmanMirror } from './pacman/index.ts';
import { pypiMirror } from './pypi/index.ts';
import type { EcosystemName, Mirror } from './types.ts';

/** Every mirror offline has, in the order they sync and serve. The one place ecosystems are listed. */
export const MIRRORS: readonly Mirror[] = [npmMirror, pypiMirror, pacmanMirror];

/** Ecosystems the config may name that have no mirror yet: their inputs are reported, not synced. */
export const PENDING: ReadonlyArray<{ name: EcosystemName; inputs: (config: Config) => number }> = [
  { name: 'docker', inputs: (c) => c.docker.images.length },
];

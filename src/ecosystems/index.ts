import { dockerMirror } from './docker/index.ts';
import { npmMirror } from './npm/index.ts';
import { pacmanMirror } from './pacman/index.ts';
import { pypiMirror } from './pypi/index.ts';
import type { Mirror } from './types.ts';

/** Every mirror offline has, in the order they sync and serve. The one place ecosystems are listed. */
export const MIRRORS: readonly Mirror[] = [npmMirror, pypiMirror, pacmanMirror, dockerMirror];

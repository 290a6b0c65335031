import type { MirrorInputs } from '../types.ts';
import { familiarName } from './daemon-image.ts';
import { parseReference } from './reference.ts';

/** Base images: FROM lines and compose `image:` keys (read by the Dockerfile and compose scanners). */
export const dockerInputs: MirrorInputs = {
  images: true,
  packages: {
    key: 'docker.images',
    name(spec) {
      try {
        return familiarName(parseReference(spec));
      } catch {
        return spec;
      }
    },
  },
};

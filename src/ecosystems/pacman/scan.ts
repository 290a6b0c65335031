import type { MirrorInputs } from '../types.ts';

/** `pacman -S…`/`--sync` in RUN lines name packages; `core/git>=2` is about git. */
export const pacmanInputs: MirrorInputs = {
  packages: {
    key: 'pacman.packages',
    name: (spec) => spec.replace(/^[^/]*\//, '').split(/[<>=]/)[0]!,
    installs(words) {
      const pacman = words.findIndex((w) => w === 'pacman' || w.endsWith('/pacman'));
      if (pacman < 0 || !words.slice(pacman + 1).some((w) => /^-S/.test(w) || w === '--sync')) return [];
      return words.slice(pacman + 1).filter((w) => !w.startsWith('-') && !w.includes('$') && !/[<>]/.test(w));
    },
  },
};

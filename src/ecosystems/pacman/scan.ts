import { readFile } from 'node:fs/promises';
import type { MirrorInputs } from '../types.ts';
import { currentManifest, dbPath } from './generation.ts';
import { parseRepoDb } from './repo-db.ts';
import { resolvePacman } from './resolve.ts';
import type { RepoDb } from './types.ts';

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
    /** Resolved as `pacman -S` would against the databases being served: names, groups, providers. */
    async unserved(dir, specs) {
      const manifest = await currentManifest(dir);
      const dbs: RepoDb[] = [];
      for (const { repo, arch } of Object.values(manifest?.repos ?? {})) {
        const path = dbPath(dir, manifest!.id, repo, arch);
        dbs.push(parseRepoDb(await readFile(path), repo, path));
      }
      return specs.flatMap((spec) => {
        const problem = resolvePacman([spec], dbs).problems[0];
        return problem ? [{ spec, message: `the pacman mirror cannot install it (${problem.message})` }] : [];
      });
    },
  },
};

import semver from 'semver';
import type { MirrorInputs } from '../types.ts';
import { readStoredPackument } from './storage.ts';

const LOCKFILES = new Set(['package-lock.json', 'npm-shrinkwrap.json', 'yarn.lock', 'pnpm-lock.yaml']);

/** `lodash@^4` → lodash, `@types/node@22` → @types/node. */
function specName(spec: string): string {
  return spec.startsWith('@') ? `@${spec.slice(1).split('@')[0]}` : spec.split('@')[0]!;
}

/**
 * npm's project lockfiles, and `npm install -g` in RUN lines: a project install comes from its
 * lockfile, so only global installs name packages to mirror.
 */
export const npmInputs: MirrorInputs = {
  files: { key: 'npm.lockfiles', kind: 'npm-lockfile', matches: (name) => LOCKFILES.has(name) },
  packages: {
    key: 'npm.packages',
    name: specName,
    installs(words) {
      const npm = words.findIndex((w) => w === 'npm' || w.endsWith('/npm'));
      if (npm < 0 || !/^(install|i|add)$/.test(words[npm + 1] ?? '') || !words.some((w) => w === '-g' || w === '--global')) return [];
      return words.slice(npm + 2).filter((w) => !w.startsWith('-') && !w.includes('$') && !/[<>]/.test(w)).map(unquote);
    },
    async unserved(dir, specs) {
      const problems: Array<{ spec: string; message: string }> = [];
      for (const spec of specs) {
        const name = specName(spec);
        const wanted = spec.slice(name.length + 1);
        const packument = await readStoredPackument(dir, name).catch(() => undefined);
        const versions = Object.keys(packument?.versions ?? {});
        if (versions.length === 0) problems.push({ spec, message: `${name} is not in the npm mirror` });
        else if (wanted && packument?.['dist-tags']?.[wanted] === undefined && semver.validRange(wanted) && !semver.maxSatisfying(versions, wanted)) {
          problems.push({ spec, message: `the npm mirror has ${name} ${versions.sort(semver.compare).slice(-3).join(', ')}, none matching ${wanted}` });
        }
      }
      return problems;
    },
  },
};

function unquote(value: string): string {
  return value.replace(/^(["'])(.*)\1$/, '$2');
}

import type { MirrorInputs } from '../types.ts';
import { normalizeName } from './names.ts';
import { listProjects } from './storage.ts';

const LOCKFILES = new Set(['poetry.lock', 'uv.lock', 'Pipfile.lock']);
/** pip options whose value is the next word (so it is not a requirement). */
const VALUE_OPTIONS = /^-(r|c|e|i|f)$|^--(requirement|constraint|editable|index-url|extra-index-url|find-links|target|prefix|root)$/;

/** requirements files and lockfiles; `pip install NAME…` (also `python -m pip`, `pip3`) in RUN lines. */
export const pypiInputs: MirrorInputs = {
  files: { key: 'pypi.requirements', kind: 'pypi-input', matches: (name) => LOCKFILES.has(name) || /^requirements.*\.txt$/.test(name) },
  packages: {
    key: 'pypi.packages',
    name: projectName,
    installs(words) {
      const pip = words.findIndex((w) => /^pip3?$/.test(w) || w.endsWith('/pip') || w.endsWith('/pip3'));
      const module = words.findIndex((w, i) => w === '-m' && words[i + 1] === 'pip');
      const at = pip >= 0 ? pip : module >= 0 ? module + 1 : -1;
      if (at < 0 || words[at + 1] !== 'install') return [];
      const found: string[] = [];
      const args = words.slice(at + 2);
      for (let i = 0; i < args.length; i++) {
        const arg = args[i]!;
        if (VALUE_OPTIONS.test(arg)) i++;
        else if (!arg.startsWith('-') && !arg.includes('/') && !arg.includes('$') && arg !== '.') found.push(arg.replace(/^(["'])(.*)\1$/, '$2'));
      }
      return found;
    },
    async unserved(dir, specs) {
      const projects = new Set(await listProjects(dir));
      return specs.filter((spec) => !projects.has(projectName(spec))).map((spec) => ({ spec, message: `${projectName(spec)} is not in the PyPI mirror` }));
    },
  },
};

/** PEP 503 normalised: `Requests[socks]>=2` → requests. */
function projectName(spec: string): string {
  return normalizeName(/^[A-Za-z0-9][A-Za-z0-9._-]*/.exec(spec)?.[0] ?? spec);
}

/**
 * The PyPI fixture set the integration tests share, the build tools pip needs to build its sdists
 * (real wheels found on this machine, never downloaded), and running real pip in isolation: no
 * configuration file, no PIP_* variable, only the loopback index it is given.
 */
import { readdir, readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { compare, satisfies } from '@renovatebot/pep440';
import type { FixtureFile, FixtureProject } from './pypi-index.ts';
import { makeSdist, makeWheel, metadataField, wheelMetadata } from './pypi-wheels.ts';
import type { Distribution, WheelOptions } from './pypi-wheels.ts';
import { run } from './run.ts';
import type { RunOptions, RunResult } from './run.ts';

export { filenameVersion, negotiate, startIndex } from './pypi-index.ts';
export type { FixtureFile, FixtureIndex, FixtureProject, IndexOptions } from './pypi-index.ts';
export * from './pypi-wheels.ts';

const APP_DEPS = ['lib>=1.0,<2', 'extra-dep; extra == "fast"', 'tomli-like>=1; python_version < "3.11"'];

const ONLY_SDIST = { name: 'only-sdist', version: '1.0.0', requiresDist: ['lib>=1.0'], requiresPython: '>=3.8' };

/** The platform wheels of `native` 1.0.0, each a compressed tag set. */
export const NATIVE_TAGS = [
  'cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64',
  'cp312-cp312-musllinux_1_2_aarch64',
  'cp311-cp311-manylinux_2_28_x86_64',
  'cp310-abi3-macosx_11_0_arm64',
];

function file(d: Distribution, extra: Omit<FixtureFile, keyof Distribution> = {}): FixtureFile {
  return { ...d, ...extra };
}

type WheelSpec = Omit<WheelOptions, 'name' | 'version'> & { yanked?: string | boolean };

async function wheel(name: string, version: string, spec: WheelSpec = {}): Promise<FixtureFile> {
  const { yanked, ...opts } = spec;
  const made = await makeWheel({ name, version, ...opts });
  const requiresPython = opts.requiresPython ? { requiresPython: opts.requiresPython } : {};
  return file(made, { ...requiresPython, ...(yanked === undefined ? {} : { yanked }) });
}

/**
 * The standard fixture set, the same bytes every time (plus `setuptools` and `wheel` when
 * {@link buildTools} finds them):
 * - `app` 1.0.0 (Requires-Python >=3.8) and 2.0.0 (>=3.13): `lib>=1.0,<2`, extra `fast` →
 *   `extra-dep`, `tomli-like>=1; python_version < "3.11"`;
 * - `lib` 1.0.0 (`py2.py3-none-any`), 1.4.0 (yanked: "broken"), 1.5.0 (yanked: false), 2.0.0;
 * - `native` 1.0.0: the {@link NATIVE_TAGS} wheels and an sdist;
 * - `extra-dep` 0.1.0, `tomli-like` 1.0.0, `Mixed_Case.Name` 1.0.0 (served as `mixed-case-name`);
 * - `only-sdist` 1.0.0: an sdist only, needing `lib>=1.0` and setuptools from the index to build.
 */
export async function makeFixtureIndex(): Promise<FixtureProject[]> {
  const app = (version: string, requiresPython: string) =>
    wheel('app', version, { requiresDist: APP_DEPS, requiresPython, providesExtra: ['fast'] });
  const projects: FixtureProject[] = [
    { name: 'app', files: await Promise.all([app('1.0.0', '>=3.8'), app('2.0.0', '>=3.13')]) },
    {
      name: 'lib',
      files: await Promise.all([
        wheel('lib', '1.0.0', { tag: 'py2.py3-none-any' }),
        wheel('lib', '1.4.0', { yanked: 'broken' }),
        wheel('lib', '1.5.0', { yanked: false }),
        wheel('lib', '2.0.0'),
      ]),
    },
    {
      name: 'native',
      files: [
        ...(await Promise.all(NATIVE_TAGS.map((tag) => wheel('native', '1.0.0', { tag })))),
        file(await makeSdist({ name: 'native', version: '1.0.0' })),
      ],
    },
    { name: 'extra-dep', files: [await wheel('extra-dep', '0.1.0')] },
    { name: 'tomli-like', files: [await wheel('tomli-like', '1.0.0', { requiresPython: '>=3.7' })] },
    { name: 'only-sdist', files: [file(await makeSdist(ONLY_SDIST), { requiresPython: ONLY_SDIST.requiresPython })] },
    { name: 'Mixed_Case.Name', files: [await wheel('Mixed_Case.Name', '1.0.0')] },
  ];
  return [...projects, ...(await buildTools()).projects];
}

type Python = { version: string; full: string; stdlib: string };
let pythonProbe: Promise<Python> | undefined;

function python(): Promise<Python> {
  pythonProbe ??= (async () => {
    const code = [
      'import sys, sysconfig',
      'print("%d.%d" % sys.version_info[:2], "%d.%d.%d" % sys.version_info[:3], sysconfig.get_paths()["stdlib"])',
    ].join('\n');
    const r = await run('python3', ['-c', code], { timeoutMs: 30_000 });
    const [version, full, stdlib] = r.stdout.trim().split(' ');
    if (r.code !== 0 || !version || !full || !stdlib) throw new Error(`python3 -c: exit ${r.code}: ${r.stderr.trim()}`);
    return { version, full, stdlib };
  })();
  return pythonProbe;
}

/** The local `python3`'s `X.Y`. */
export async function pythonVersion(): Promise<string> {
  return (await python()).version;
}

/**
 * Where Python's own wheels lie: the local CPython's (ensurepip's bundle, its test data), then
 * those of the other CPythons pyenv has. Debian's python3-*-whl wheels only for Debian's python:
 * their setuptools is patched for Debian's distutils (`install_layout`) and fails elsewhere.
 */
async function wheelDirs(): Promise<string[]> {
  const lib = (dir: string) => ['ensurepip/_bundled', 'test', 'test/wheeldata'].map((d) => join(dir, d));
  const { stdlib } = await python();
  const dirs = stdlib.startsWith('/usr/lib/') ? ['/usr/share/python-wheels', ...lib(stdlib)] : lib(stdlib);
  const pyenv = process.env['PYENV_ROOT'];
  if (pyenv) {
    for (const v of (await readdir(join(pyenv, 'versions')).catch(() => [])).sort()) {
      const libs = (await readdir(join(pyenv, 'versions', v, 'lib')).catch(() => [])).filter((l) => /^python3\.\d+$/.test(l));
      for (const l of libs) dirs.push(...lib(join(pyenv, 'versions', v, 'lib', l)));
    }
  }
  return dirs;
}

/** The newest usable pure wheel of `project` in the first directory that has one. */
async function localWheel(project: string): Promise<FixtureFile | undefined> {
  const py = await python();
  for (const dir of await wheelDirs()) {
    const pure = (n: string) => n.startsWith(`${project}-`) && /-py(2\.py)?3-none-any\.whl$/.test(n);
    const names = (await readdir(dir).catch(() => [])).filter(pure);
    const usable: FixtureFile[] = [];
    for (const n of names) {
      const bytes = await readFile(join(dir, n));
      const metadata = wheelMetadata(bytes);
      const requiresPython = metadataField(metadata, 'Requires-Python')[0];
      // Offline, its own dependencies could not be installed; extras are never asked for.
      if (metadataField(metadata, 'Requires-Dist').some((r) => !r.includes('extra =='))) continue;
      if (requiresPython && !satisfies(py.full, requiresPython)) continue;
      usable.push({ filename: basename(n), bytes, metadata, ...(requiresPython ? { requiresPython } : {}) });
    }
    usable.sort((a, b) => compare(a.filename.split('-')[1] ?? '', b.filename.split('-')[1] ?? ''));
    const newest = usable.at(-1);
    if (newest) return newest;
  }
  return undefined;
}

/**
 * `setuptools` (and `wheel`, which setuptools < 70.1 asks for to build a wheel) as fixture projects,
 * from wheels already on this machine; `missing` says what could not be found, so a test can skip.
 */
export async function buildTools(): Promise<{ projects: FixtureProject[]; missing?: string }> {
  const setuptools = await localWheel('setuptools');
  if (!setuptools) return { projects: [], missing: `no setuptools wheel in ${(await wheelDirs()).join(', ')}` };
  const projects = [{ name: 'setuptools', files: [setuptools] }];
  if (compare(setuptools.filename.split('-')[1] ?? '0', '70.1') >= 0) return { projects };
  const wheelWheel = await localWheel('wheel');
  if (!wheelWheel) return { projects, missing: `${setuptools.filename} needs wheel to build, and no wheel wheel was found` };
  return { projects: [...projects, { name: 'wheel', files: [wheelWheel] }] };
}

/**
 * The whole environment for running pip: PATH (and pyenv's selection), HOME, no PIP_* variable
 * but PIP_CONFIG_FILE=/dev/null (pip then reads no configuration file at all, global ones included)
 * and PIP_DISABLE_PIP_VERSION_CHECK=1 (build-isolation subprocesses are not `--isolated`).
 */
export function pipEnv(home: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    PATH: process.env['PATH'],
    HOME: home,
    PIP_CONFIG_FILE: '/dev/null',
    PIP_DISABLE_PIP_VERSION_CHECK: '1',
    PYTHONDONTWRITEBYTECODE: '1',
    LC_ALL: 'C.UTF-8',
  };
  for (const name of ['PYENV_ROOT', 'PYENV_VERSION', 'TMPDIR']) if (process.env[name]) env[name] = process.env[name];
  return env;
}

/**
 * Runs `python3 -m pip --isolated … <command> --index-url <index> <args>` with {@link pipEnv}:
 * `index` is the only index pip may use, and there is no cache.
 */
export function pip(index: string, home: string, command: string, args: string[], opts: RunOptions = {}): Promise<RunResult> {
  const base = ['-m', 'pip', '--isolated', '--disable-pip-version-check', '--no-cache-dir', '--no-input'];
  return run('python3', [...base, command, '--index-url', index, ...args], { env: pipEnv(home), timeoutMs: 180_000, ...opts });
}

import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { CoreMetadata } from '../../src/ecosystems/pypi/metadata.ts';
import { parseRequirement } from '../../src/ecosystems/pypi/pep508.ts';
import { resolveTarget, type Provider } from '../../src/ecosystems/pypi/resolve.ts';
import type { IndexFile } from '../../src/ecosystems/pypi/upstream.ts';

type Dist = { deps?: string[]; python?: string; tag?: string; yanked?: boolean };

/** An in-memory index: project → version → what its one file declares. */
function provider(projects: Record<string, Record<string, Dist>>): Provider & { asked: string[] } {
  const asked: string[] = [];
  const meta = new Map<string, CoreMetadata>();
  return {
    asked,
    async project(name) {
      asked.push(name);
      const versions = projects[name];
      if (!versions) return undefined;
      const files: IndexFile[] = Object.entries(versions).map(([version, d]) => {
        const filename = `${name.replace(/-/g, '_')}-${version}-${d.tag ?? 'py3-none-any'}.whl`;
        const url = `http://index.invalid/${filename}`;
        meta.set(url, { metadataVersion: '2.1', name, version, requiresDist: d.deps ?? [], providesExtra: [] });
        return { filename, url, sha256: 'a'.repeat(64), requiresPython: d.python, yanked: d.yanked ?? false, coreMetadata: false };
      });
      return { name, files };
    },
    async metadata(file) {
      return meta.get(file.url)!;
    },
  };
}

const target = { python: '3.12', platform: 'manylinux_2_17_x86_64' };
const reqs = (...specs: string[]) => specs.map((s, i) => parseRequirement(s, `requirements.txt:${i + 1}`));
const pins = async (p: Provider, roots: string[], t = target) =>
  (await resolveTarget(reqs(...roots), [], t, p)).map((x) => `${x.name}==${x.version}`).sort();

test('the highest version satisfying every range is chosen, honouring Requires-Python and yanks', async () => {
  const p = provider({
    app: { '1.0.0': { deps: ['lib>=1.0,<2'] }, '2.0.0': { deps: ['lib>=2'], python: '>=3.13' } },
    lib: { '1.0.0': {}, '1.4.0': { yanked: true }, '1.5.0': {}, '2.0.0': {} },
  });
  assert.deepEqual(await pins(p, ['app']), ['app==1.0.0', 'lib==1.5.0']);
  const yanked = provider({ lib: { '1.4.0': { yanked: true }, '1.3.0': {} } });
  assert.deepEqual(await pins(yanked, ['lib']), ['lib==1.3.0']);
  assert.deepEqual(await pins(yanked, ['lib==1.4.0']), ['lib==1.4.0'], 'an exact pin may take a yanked file (PEP 592)');
});

test('markers and extras are evaluated for the target', async () => {
  const p = provider({
    app: { '1.0.0': { deps: ['tomli-like>=1; python_version < "3.11"', 'extra-dep; extra == "fast"', 'winonly; sys_platform == "win32"'] } },
    'tomli-like': { '1.0.0': {} },
    'extra-dep': { '0.1.0': {} },
    winonly: { '1.0': {} },
  });
  assert.deepEqual(await pins(p, ['app']), ['app==1.0.0']);
  assert.deepEqual(await pins(p, ['app[fast]'], { python: '3.10', platform: 'manylinux_2_17_x86_64' }), ['app==1.0.0', 'extra-dep==0.1.0', 'tomli-like==1.0.0']);
  assert.deepEqual(await pins(p, ['app', 'app[fast]']), ['app==1.0.0', 'extra-dep==0.1.0'], 'an extra asked for later still adds its dependencies');
  assert.deepEqual(await pins(p, ['app; python_version >= "3.13"']), [], 'a root whose marker is false is skipped');
});

test('a conflict found late backtracks to an older version', async () => {
  const p = provider({
    a: { '2.0.0': { deps: ['c<1'] }, '1.0.0': { deps: [] } },
    c: { '0.5.0': {}, '1.2.0': {} },
  });
  assert.deepEqual(await pins(p, ['a', 'c>=1']), ['a==1.0.0', 'c==1.2.0']);
});

test('platform wheels are chosen by tag, and a target with no wheel and no sdist has no candidate', async () => {
  const p = provider({ native: { '1.0.0': { tag: 'cp312-cp312-manylinux2014_x86_64' }, '0.9.0': {} } });
  assert.deepEqual(await pins(p, ['native']), ['native==1.0.0']);
  assert.deepEqual(await pins(p, ['native'], { python: '3.11', platform: 'manylinux_2_17_x86_64' }), ['native==0.9.0']);
});

test('unsatisfiable requirements name the conflict', async () => {
  const p = provider({ app: { '1.0.0': { deps: ['lib>=2'] } }, lib: { '1.0.0': {} } });
  await assert.rejects(resolveTarget(reqs('app'), [], target, p), /cannot resolve for Python 3\.12 on manylinux_2_17_x86_64: no version of lib satisfies lib>=2 from app 1\.0\.0/);
  const q = provider({ a: { '1.0.0': { deps: ['lib<1'] } }, lib: { '0.5': {}, '1.0': {} } });
  await assert.rejects(resolveTarget(reqs('lib>=1', 'a'), [], target, q), /lib<1 from a 1\.0\.0 conflicts with lib 1\.0|no version of lib satisfies/);
  await assert.rejects(resolveTarget(reqs('missing'), [], target, q), /missing is not on the upstream index/);
});

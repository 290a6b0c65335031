import assert from 'node:assert/strict';
import { test } from 'node:test';
import { resolvePacman } from '../../src/ecosystems/pacman/resolve.ts';
import type { PkgDesc, RepoDb } from '../../src/ecosystems/pacman/types.ts';

function pkg(repo: string, name: string, version: string, more: Partial<PkgDesc> = {}): PkgDesc {
  return { repo, name, version, arch: 'x86_64', filename: `${name}-${version}-x86_64.pkg.tar.zst`, depends: [], provides: [], groups: [], entry: `${name}-${version}`, files: {}, ...more };
}

const core: RepoDb = { repo: 'core', packages: [
  pkg('core', 'libdep', '2.1-1'),
  pkg('core', 'glibc', '2.40-1', { provides: ['libc.so=6-64'] }),
] };
const extra: RepoDb = { repo: 'extra', packages: [
  pkg('extra', 'libdep', '1.0-1'),
  pkg('extra', 'app', '1.0-1', { depends: ['libdep>=2.0', 'virtual', 'libc.so=6-64', 'sh>=5'] }),
  pkg('extra', 'provider', '3.0-1', { provides: ['virtual=1.0'] }),
  pkg('extra', 'dash', '0.5-1', { provides: ['sh'] }),
  pkg('extra', 'bash', '5.2-1', { provides: ['sh=5.2'] }),
  pkg('extra', 'dt-a', '0.1-1', { groups: ['devtools'] }),
  pkg('extra', 'dt-b', '0.1-1', { groups: ['devtools'], depends: ['dt-a'] }),
  pkg('extra', 'broken', '1-1', { depends: ['>=1'] }),
] };

const names = (r: ReturnType<typeof resolvePacman>) => r.packages.map((p) => `${p.repo}/${p.name}`).sort();

test('exact names in repo order, then providers; a versioned dependency needs a versioned provision', () => {
  const r = resolvePacman(['app'], [core, extra]);
  assert.deepEqual(r.problems, []);
  assert.deepEqual(names(r), ['core/glibc', 'core/libdep', 'extra/app', 'extra/bash', 'extra/provider']);
});

test('groups expand to their members; repo/name picks the repo; missing targets are problems', () => {
  assert.deepEqual(names(resolvePacman(['devtools'], [core, extra])), ['extra/dt-a', 'extra/dt-b']);
  assert.deepEqual(names(resolvePacman(['extra/libdep'], [core, extra])), ['extra/libdep']);
  const missing = resolvePacman(['nothing', 'libdep>=3'], [core, extra]);
  assert.deepEqual(missing.problems.map((p) => p.item), ['pacman.packages[0] "nothing"', 'pacman.packages[1] "libdep>=3"']);
});

test('regression: an unreadable dependency in an upstream database is a problem, not a crash', () => {
  const r = resolvePacman(['broken'], [core, extra]);
  assert.deepEqual(names(r), ['extra/broken']);
  assert.equal(r.problems.length, 1);
  assert.match(r.problems[0]!.message, /unreadable dependency/);
});

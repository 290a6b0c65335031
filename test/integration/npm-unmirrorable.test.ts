/**
 * What a lockfile pins outside the registry and offline cannot mirror: a git dependency on a host
 * other than GitHub fails the sync (the install would clone it from the internet) while everything
 * else is still mirrored; a workspace link is counted in one note. `check` says the lockfile is not
 * ready, naming the git entry's line. (GitHub commits are mirrored: github-deps.test.ts.) The git
 * host is never contacted: nothing offline could fetch from it is planned.
 */
import assert from 'node:assert/strict';
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { stringify } from 'yaml';
import { makeTree, startRegistry, type FixtureRegistry } from '../helpers/npm-fixtures.ts';
import { offline } from '../helpers/offline-cli.ts';
import { workDir } from '../helpers/work-dir.ts';
import { claimPorts } from '../helpers/ports.ts';

let work: string;
let config: string;
let npm: FixtureRegistry;
let closed = false;
const COMMIT = 'e78663356c362d44e629cfa119d12b63ba615bc0';

before(async () => {
  work = await workDir('offline-unmirrorable-');
  npm = await startRegistry(makeTree({ packages: 30 }));
  await mkdir(join(work, 'app'));
  await writeFile(join(work, 'app', 'package-lock.json'), JSON.stringify({
    name: 'app', lockfileVersion: 3, requires: true,
    packages: {
      '': { name: 'app', workspaces: ['packages/a'] },
      'node_modules/multi-ver': { version: '1.1.0', resolved: `${npm.url}/multi-ver/-/multi-ver-1.1.0.tgz` },
      'node_modules/gitdep': { version: '0.3.0', resolved: `git+ssh://git@git.example.org/org/gitdep.git#${COMMIT}` },
      'node_modules/a': { resolved: 'packages/a', link: true },
      'packages/a': { name: 'a', version: '1.0.0' },
    },
  }, null, 2));
  const port = await claimPorts();
  config = join(work, 'offline.yaml');
  await writeFile(config, stringify({ data: './mirrors', listen: '127.0.0.1', npm: { port, upstream: npm.url, lockfiles: ['app/package-lock.json'] } }));
});

after(async () => {
  if (!closed) await npm?.close();
  if (work) await rm(work, { recursive: true, force: true });
});

test('sync fails on the git dependency, naming it and its entry, mirrors the rest, and counts the workspace link', async () => {
  const r = await offline(['sync', '-c', config]);
  assert.equal(r.code, 1, r.stdout + r.stderr);
  const out = r.stdout + r.stderr;
  assert.match(out, new RegExp(`gitdep \\(git\\+ssh://git@git\\.example\\.org/org/gitdep\\.git#${COMMIT}\\): \\S*package-lock\\.json: packages\\["node_modules/gitdep"\\]: a git dependency offline cannot mirror: only GitHub dependencies pinned to a commit are mirrored`));
  assert.match(out, /note: npm: 1 workspace or local file: dependency comes with the project \(nothing to mirror\) \(--verbose lists them\)/);
  assert.doesNotMatch(out, /packages\/a.*link/);
  // --verbose lists the entry behind the count; --json always carries it.
  const verbose = await offline(['sync', '-c', config, '--verbose']);
  assert.match(verbose.stdout, /note: npm: 1 workspace or local file: dependency comes with the project \(nothing to mirror\)\n  \S*package-lock\.json: packages\["node_modules\/a"\]: a \(packages\/a\)\n/);
  const json = JSON.parse((await offline(['sync', '-c', config, '--json'])).stdout);
  assert.equal(json.notes.find((n: { message: string }) => n.message.includes('workspace')).details.length, 1);
  const stored = await readdir(join(work, 'mirrors', 'npm'), { recursive: true });
  assert.ok(stored.some((f) => f.endsWith('multi-ver-1.1.0.tgz')), 'the registry entry is mirrored all the same');
});

test('check: not ready, the git entry named with its line', async () => {
  await npm.close();
  closed = true;
  const r = await offline(['check', '-c', config]);
  assert.equal(r.code, 1, r.stdout + r.stderr);
  assert.match(r.stdout, /app\/package-lock\.json \(npm\): not ready: \S*app\/package-lock\.json:18: gitdep \(git\+ssh:\/\/\S+\) is a git dependency offline cannot mirror: only GitHub dependencies/);
  assert.match(r.stdout, new RegExp(`not ready: 1 package is fetched from ${npm.url}/ as written \\(first: \\S*app/package-lock\\.json:14 packages\\["node_modules/multi-ver"\\]\\); npm rewrites only registry\\.npmjs\\.org`), 'the fixture registry\'s URL is not the mirror\'s');
  assert.equal(r.stdout.split('\n').filter((l) => l.includes('gitdep')).length, 1, 'the git dependency is said once');
  assert.match(r.stdout, /^not ready: 1 lockfile would not install as written$/m);
});

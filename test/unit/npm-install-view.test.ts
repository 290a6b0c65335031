/**
 * `offline check`'s view of real projects' lockfiles (test/fixtures/real-lockfiles, unchanged
 * from the public commits its README names): what each one's own client will fetch, read with no
 * registry at all.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { installView, lockfileClient } from '../../src/ecosystems/npm/install-view.ts';
import { parseLockfile } from '../../src/ecosystems/npm/lockfile.ts';

const REAL = join(import.meta.dirname, '..', 'fixtures', 'real-lockfiles');
const MIRROR = ['10.1.1.254:4873', '127.0.0.1:4873'];
const OUTSIDE = ['registry.npmjs.org', 'registry.yarnpkg.com', 'codeload.github.com'];

async function view(path: string, npmrc?: string) {
  const file = join(REAL, path);
  const text = await readFile(file, 'utf8');
  return { text, verdict: installView(path, text, parseLockfile(path, text), MIRROR, OUTSIDE, npmrc ?? (await readFile(join(file, '..', '.npmrc'), 'utf8').catch(() => ''))) };
}

test('yarn 1 (excalidraw): every resolved URL names registry.yarnpkg.com, which yarn 1 fetches as written: ready on the isolated network, not on this machine, said once with the first line', async () => {
  const { text, verdict } = await view('yarn1-excalidraw/yarn.lock');
  assert.equal(verdict.client, 'yarn 1');
  assert.deepEqual(verdict.problems, []);
  assert.equal(verdict.ready, true);
  const urls = new Set(text.match(/resolved "https:\/\/registry\.yarnpkg\.com\/[^"]+"/g));
  assert.equal(verdict.host.length, 1, verdict.host.join('\n'));
  assert.match(verdict.host[0]!, new RegExp(`^${urls.size.toLocaleString('en-US')} packages are fetched from https://registry\\.yarnpkg\\.com/ as written`));
  const firstLine = text.split('\n').findIndex((l) => l.includes('resolved "https://registry.yarnpkg.com/')) + 1;
  assert.match(verdict.host[0]!, new RegExp(`first: yarn1-excalidraw/yarn\\.lock:${firstLine} "@adobe/css-tools@\\^4\\.4\\.0"`));
  assert.match(verdict.host[0]!, /yarn 1 does not rewrite lockfile URLs: offline answers registry\.yarnpkg\.com on the isolated network only/);
  // Without outside names answered (a mirror that does not), the same lockfile is not ready.
  const bare = installView('yarn.lock', text, parseLockfile('yarn.lock', text), MIRROR, []);
  assert.equal(bare.ready, false);
  assert.match(bare.problems[0]!, /the mirror does not answer for registry\.yarnpkg\.com$/);
});

test('npm v3 (insomnia): registry.npmjs.org is rewritten by npm; the git+ssh GitHub dependency pinned to a commit is fetched from codeload (isolated network only), named with its line; workspace links are counted, not reported', async () => {
  const { text, verdict } = await view('npm-v3-git-insomnia/package-lock.json');
  assert.equal(verdict.client, 'npm');
  assert.deepEqual(verdict.problems, []);
  assert.equal(verdict.ready, true);
  const gitLine = text.split('\n').findIndex((l) => l.includes('"resolved": "git+ssh://git@github.com/jackkav/grpc-reflection-js.git#')) + 1;
  assert.deepEqual(verdict.host.map((p) => p.split(' is ')[0]), [`npm-v3-git-insomnia/package-lock.json:${gitLine}: grpc-reflection-js`]);
  assert.match(verdict.host[0]!, /fetched from codeload\.github\.com, which offline answers on the isolated network only/);
  assert.ok(verdict.local > 0, 'the workspaces are local');
  assert.ok([...verdict.problems, ...verdict.host].every((p) => !/link|file:/.test(p)));
});

test('git dependencies that cannot be served: a branch instead of a commit, another git host, yarn 1 cloning a git+https URL', () => {
  const sha = 'a'.repeat(40);
  const npmLock = (resolved: string) => JSON.stringify({ lockfileVersion: 3, packages: { '': { name: 'app' }, 'node_modules/g': { version: '1.0.0', resolved } } }, null, 2);
  const npmView = (resolved: string) => installView('package-lock.json', npmLock(resolved), parseLockfile('package-lock.json', npmLock(resolved)), MIRROR, OUTSIDE);
  assert.equal(npmView(`git+ssh://git@github.com/o/r.git#${sha}`).ready, true);
  assert.match(npmView('git+ssh://git@github.com/o/r.git#main').problems[0]!, /^package-lock\.json:9: g .* cannot mirror: it pins no full commit/);
  assert.match(npmView(`git+https://git.example.org/o/r.git#${sha}`).problems[0]!, /only GitHub dependencies pinned to a commit are mirrored/);
  const yarnLock = (resolved: string) => `# yarn lockfile v1\n\n\n"g@git+https://github.com/o/r.git":\n  version "1.0.0"\n  resolved "${resolved}"\n`;
  const yarnView = (resolved: string) => installView('yarn.lock', yarnLock(resolved), parseLockfile('yarn.lock', yarnLock(resolved)), MIRROR, OUTSIDE);
  assert.equal(yarnView(`https://codeload.github.com/o/r/tar.gz/${sha}`).ready, true);
  assert.match(yarnView(`git+https://github.com/o/r.git#${sha}`).problems[0]!, /a git dependency yarn 1 clones with git/);
});

test('npm v1 (video.js) and yarn berry (prettier): ready — npm rewrites registry.npmjs.org, berry asks its configured registry', async () => {
  for (const [path, client] of [['npm-v1-videojs/package-lock.json', 'npm'], ['berry-prettier/yarn.lock', 'yarn berry']] as const) {
    const { verdict } = await view(path);
    assert.equal(verdict.client, client);
    assert.deepEqual(verdict.problems, [], path);
    assert.equal(verdict.ready, true);
  }
});

test('npm fetches as written what is not on registry.npmjs.org, unless replace-registry-host says otherwise; the mirror\'s own URLs are fine', () => {
  const lock = (host: string) => JSON.stringify({
    lockfileVersion: 3,
    packages: {
      '': { name: 'app' },
      'node_modules/a': { version: '1.0.0', resolved: `${host}/a/-/a-1.0.0.tgz`, integrity: 'sha512-AAAA' },
    },
  }, null, 2);
  const verdict = (host: string, npmrc = '') => installView('package-lock.json', lock(host), parseLockfile('package-lock.json', lock(host)), MIRROR, OUTSIDE, npmrc);
  assert.equal(verdict('https://registry.npmjs.org').ready, true);
  assert.equal(verdict('http://127.0.0.1:4873').ready, true);
  assert.match(verdict('https://npm.corp.example').problems[0]!, /^1 package is fetched from https:\/\/npm\.corp\.example\/ as written \(first: package-lock\.json:9 packages\["node_modules\/a"\]\); npm rewrites only registry\.npmjs\.org/);
  assert.equal(verdict('https://npm.corp.example', 'replace-registry-host=always\n').ready, true);
  assert.equal(verdict('https://npm.corp.example', 'replace-registry-host=npm.corp.example\n').ready, true);
  // Not rewritten, registry.npmjs.org is fetched as written: answered on the isolated network only.
  const never = verdict('https://registry.npmjs.org', 'replace-registry-host=never\n');
  assert.equal(never.ready, true);
  assert.match(never.host[0]!, /^1 package is fetched from https:\/\/registry\.npmjs\.org\/ as written .* on the isolated network only/);
  assert.equal(lockfileClient('x/pnpm-lock.yaml', ''), 'pnpm');
});

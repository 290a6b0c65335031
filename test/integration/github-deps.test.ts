/**
 * GitHub git dependencies pinned to a commit: sync fetches each commit's tarball from the codeload
 * upstream (a local server serving `git archive` of a repository made here), publishes it with its
 * digest, and the mirror answers it over https for codeload.github.com only — with a certificate
 * whose CA is offline's — and nothing that was not published. A damaged tarball makes `check` not
 * ready and the next sync fetch it again; a git dependency that cannot be mirrored fails the sync.
 */
import assert from 'node:assert/strict';
import { readdir, readFile, rm, stat, truncate, writeFile } from 'node:fs/promises';
import tls from 'node:tls';
import { request } from 'node:https';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { stringify } from 'yaml';
import { loadConfig } from '../../src/ecosystems/config.ts';
import { serve } from '../../src/core/serve.ts';
import { makeGitRepo, startCodeload, type Codeload, type GitRepo } from '../helpers/github-fixture.ts';
import { makeTree, startRegistry, type FixtureRegistry } from '../helpers/npm-fixtures.ts';
import { offline } from '../helpers/offline-cli.ts';
import { run } from '../helpers/run.ts';
import { workDir } from '../helpers/work-dir.ts';
import { claimPorts } from '../helpers/ports.ts';

let work: string;
let config: string;
let npm: FixtureRegistry;
let codeload: Codeload;
let lib: GitRepo;
let unpublished: GitRepo;

function lockfile(entries: Record<string, string>): string {
  return JSON.stringify({
    name: 'app', version: '1.0.0', lockfileVersion: 3, requires: true,
    packages: {
      '': { name: 'app', version: '1.0.0' },
      ...Object.fromEntries(Object.entries(entries).map(([name, resolved]) => [`node_modules/${name}`, { version: '1.0.0', resolved }])),
    },
  }, null, 2);
}

before(async () => {
  work = await workDir('offline-github-');
  npm = await startRegistry(makeTree({ packages: 30 }));
  lib = await makeGitRepo(join(work, 'git/lib'), 'offline-test', 'lib', { 'package.json': '{"name":"lib","version":"1.0.0"}', 'index.js': 'module.exports = 1;\n' });
  unpublished = await makeGitRepo(join(work, 'git/other'), 'offline-test', 'other', { 'package.json': '{"name":"other","version":"1.0.0"}' });
  codeload = await startCodeload([lib, unpublished]);
  await writeFile(join(work, 'package-lock.json'), lockfile({ lib: `git+ssh://git@github.com/offline-test/lib.git#${lib.commit}` }));
  config = join(work, 'offline.yaml');
  await writeFile(config, stringify({
    data: './mirrors', listen: '127.0.0.1',
    npm: { port: await claimPorts(), upstream: npm.url, github: codeload.url, lockfiles: ['package-lock.json'] },
  }));
});

after(async () => {
  await Promise.all([npm?.close(), codeload?.close()]);
  if (work) await rm(work, { recursive: true, force: true });
});

async function readdirText(dir: string): Promise<string> {
  return (await readdir(dir)).join(' ');
}

/** GET `path` for `name` from the https listener on 127.0.0.1:`port`, trusting only `ca`. */
function get(port: number, name: string, path: string, ca: string, host = name): Promise<{ status: number; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, servername: name, headers: { host }, ca }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end();
  });
}

test('sync fetches the pinned commit from the codeload upstream and publishes it with its digest; a second sync fetches nothing', async () => {
  const synced = await offline(['sync', '-c', config]);
  assert.equal(synced.code, 0, synced.stdout + synced.stderr);
  assert.deepEqual(codeload.requests, [`/offline-test/lib/tar.gz/${lib.commit}`]);
  const index = JSON.parse(await readFile(join(work, 'mirrors/npm/github/index.json'), 'utf8'));
  assert.match(index[`offline-test/lib/${lib.commit}`].integrity, /^sha512-/);
  const again = await offline(['sync', '-c', config]);
  assert.equal(again.code, 0, again.stdout + again.stderr);
  assert.equal(codeload.requests.length, 1, 'nothing fetched again');
});

test('the mirror answers codeload.github.com over https with a certificate from offline\'s CA, only for what it published', async () => {
  const serving = await serve({ config: await loadConfig(config), host: '127.0.0.1', ports: 'ephemeral' });
  try {
    assert.ok(serving.front, serving.notes.join('\n'));
    const port = Number(new URL(serving.front.url).port);
    const ca = await readFile(join(work, 'mirrors/tls/ca.crt'), 'utf8');
    const got = await get(port, 'codeload.github.com', `/offline-test/lib/tar.gz/${lib.commit}`, ca);
    assert.equal(got.status, 200);
    assert.deepEqual(got.body, await readFile(join(work, `mirrors/npm/github/offline-test/lib/${lib.commit}.tar.gz`)));
    assert.equal((await get(port, 'codeload.github.com', `/offline-test/other/tar.gz/${unpublished.commit}`, ca)).status, 404, 'not published, not served');
    assert.equal((await get(port, 'codeload.github.com', '/offline-test/lib/tar.gz/..%2f..%2f..%2fetc%2fpasswd', ca)).status, 404);
    assert.equal((await get(port, 'registry.yarnpkg.com', '/-/ping', ca)).status, 200, 'the registry hosts are verdaccio');
    assert.equal((await get(port, 'registry.npmjs.org', '/-/ping', ca)).status, 200);
    assert.equal((await get(port, 'codeload.github.com', '/', ca, 'www.example.org')).status, 421, 'no other name is answered');
    // Trusted only through offline's CA; the certificate names exactly these hosts; the key is 0600.
    await assert.rejects(get(port, 'codeload.github.com', '/', tls.rootCertificates.join('\n')), /self-signed|unable to get|unable to verify/);
    await assert.rejects(get(port, 'www.example.org', '/', ca), /altnames|does not match/i);
    assert.deepEqual(JSON.parse(await readFile(join(work, 'mirrors/tls/names.json'), 'utf8')).sort(), ['codeload.github.com', 'registry.npmjs.org', 'registry.yarnpkg.com']);
    assert.equal((await stat(join(work, 'mirrors/tls/server.key'))).mode & 0o777, 0o600);
    assert.doesNotMatch(await readdirText(join(work, 'mirrors/tls')), /ca\.key/, 'the CA key is never written');
  } finally {
    await serving.close();
  }
});

test('a damaged tarball makes check not ready and the next sync fetch it again', async () => {
  const file = join(work, `mirrors/npm/github/offline-test/lib/${lib.commit}.tar.gz`);
  const whole = await readFile(file);
  await truncate(file, Math.floor(whole.length / 2));
  const checked = await offline(['check', '-c', config]);
  assert.equal(checked.code, 1, checked.stdout + checked.stderr);
  assert.match(checked.stdout, /npm lib \(github:offline-test\/lib#[0-9a-f]{7}\): \S+\.tar\.gz does not match its digest/);
  const synced = await offline(['sync', '-c', config]);
  assert.equal(synced.code, 0, synced.stdout + synced.stderr);
  assert.equal(codeload.requests.length, 2, 'fetched again');
  assert.deepEqual(await readFile(file), whole);
  assert.equal((await offline(['check', '-c', config])).code, 0);
});

test('a git dependency that cannot be mirrored fails the sync, naming the lockfile entry and why', async () => {
  const lock = join(work, 'bad', 'package-lock.json');
  await run('mkdir', ['-p', join(work, 'bad')]);
  await writeFile(lock, lockfile({
    branch: 'git+ssh://git@github.com/offline-test/lib.git#main',
    elsewhere: `git+https://git.example.org/offline-test/lib.git#${lib.commit}`,
    gone: `git+ssh://git@github.com/offline-test/gone.git#${'f'.repeat(40)}`,
  }));
  const bad = join(work, 'bad', 'offline.yaml');
  await writeFile(bad, stringify({ data: '../mirrors', listen: '127.0.0.1', npm: { port: 24999, upstream: npm.url, github: codeload.url, lockfiles: ['package-lock.json'] } }));
  const synced = await offline(['sync', '-c', bad]);
  assert.equal(synced.code, 1, synced.stdout + synced.stderr);
  const out = synced.stdout + synced.stderr;
  assert.match(out, /branch \(git\+ssh:\/\/git@github\.com\/offline-test\/lib\.git#main\).*it pins no full commit/);
  assert.match(out, /elsewhere .*only GitHub dependencies pinned to a commit are mirrored/);
  assert.match(out, /gone \(github:offline-test\/gone#fffffff\).*404/);
});

/**
 * What happens to the npm mirror when things go wrong: a sync killed with SIGKILL half-way, a
 * malformed lockfile, and how the served registry answers for what is and is not mirrored.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { loadConfig } from '../../src/ecosystems/config.ts';
import { serve } from '../../src/core/serve.ts';
import { makeTree, rootDependencies, startRegistry, type FixtureRegistry } from '../helpers/npm-fixtures.ts';
import { filesBelow, tarballs } from '../helpers/npm-mirror-files.ts';
import { makeProjects, type ProjectKind } from '../helpers/npm-projects.ts';
import { CLI, offline, writeConfig } from '../helpers/offline-cli.ts';

const tree = makeTree({ packages: 80 });
let registry: FixtureRegistry;
let work: string;
let projects: Record<ProjectKind, string>;

before(async () => {
  work = await mkdtemp(join(tmpdir(), 'offline-npm-res-'));
  registry = await startRegistry(tree);
  projects = await makeProjects(registry.url, join(work, 'projects'), { dependencies: rootDependencies(tree) });
});

after(async () => {
  await registry?.close();
  if (work) await rm(work, { recursive: true, force: true });
});

function sha512(bytes: Buffer): string {
  return `sha512-${createHash('sha512').update(bytes).digest('base64')}`;
}

test('a sync killed with SIGKILL mid-way and run again finishes with every file verified', async () => {
  const slow = await startRegistry(tree, { delayMs: 40 });
  try {
    const dir = join(work, 'killed');
    await mkdir(dir, { recursive: true });
    const lockfile = join(projects['npm-v3'], 'package-lock.json');
    const config = await writeConfig(dir, { upstream: slow.url, port: 4873, lockfiles: [lockfile] });
    const child = spawn(process.execPath, [CLI, 'sync', '-c', config, '--concurrency', '4', '--per-host', '2'], { stdio: 'ignore' });
    const npmDir = join(dir, 'mirrors', 'npm');
    for (let i = 0; i < 600 && (await tarballs(npmDir)).length < 10; i++) await new Promise((r) => setTimeout(r, 50));
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    const before = (await tarballs(npmDir)).length;
    assert.ok(before >= 10, `the sync was killed too late or too early (${before} tarballs)`);

    const again = await offline(['sync', '-c', config, '--json']);
    assert.equal(again.code, 0, again.stdout + again.stderr);
    const report = JSON.parse(again.stdout);
    assert.equal(report.ecosystems[0].present + report.ecosystems[0].downloaded, report.ecosystems[0].summary.versions);
    assert.ok(report.ecosystems[0].present >= before, 'what the killed sync verified was kept');

    const lock = JSON.parse(await readFile(lockfile, 'utf8')) as { packages: Record<string, { version?: string; integrity?: string; name?: string }> };
    const expected = new Map<string, string>();
    for (const [key, entry] of Object.entries(lock.packages)) {
      if (!key || !entry.version || !entry.integrity) continue;
      const name = entry.name ?? key.slice(key.lastIndexOf('node_modules/') + 'node_modules/'.length);
      expected.set(`${name}@${entry.version}`, entry.integrity);
    }
    const files = await filesBelow(npmDir);
    assert.deepEqual(files.filter((f) => /\.partial$|\.tmp-/.test(f)), [], 'no temporary file is left');
    let checked = 0;
    for (const id of expected.keys()) {
      const name = id.slice(0, id.lastIndexOf('@'));
      const packument = JSON.parse(await readFile(join(npmDir, 'storage', name, 'package.json'), 'utf8'));
      const version = id.slice(id.lastIndexOf('@') + 1);
      const file = new URL(packument.versions[version].dist.tarball).pathname.split('/').pop()!;
      const bytes = await readFile(join(npmDir, 'storage', name, file));
      const integrity = expected.get(id)!;
      if (integrity.startsWith('sha512-')) assert.equal(sha512(bytes), integrity, id);
      checked++;
    }
    assert.equal(checked, expected.size);
  } finally {
    await slow.close();
  }
});

test('a malformed lockfile gets an error naming the file and the entry, with no stack trace', async () => {
  const dir = join(work, 'malformed');
  await mkdir(dir, { recursive: true });
  const broken = join(dir, 'package-lock.json');
  await writeFile(broken, JSON.stringify({
    name: 'x', lockfileVersion: 3, packages: { '': { name: 'x' }, 'node_modules/left-pad': { integrity: 'sha512-AAAA' } },
  }));
  const badJson = join(dir, 'yarn.lock');
  await writeFile(badJson, '"a@^1":\n  version "1.0.0\n  resolved: [\n');
  const config = await writeConfig(dir, { upstream: registry.url, port: 4873, lockfiles: [broken, badJson], packages: ['@fx/core'] });
  const synced = await offline(['sync', '-c', config]);
  assert.equal(synced.code, 1, synced.stdout + synced.stderr);
  assert.match(synced.stdout, /npm\.lockfiles\[0\]: .*package-lock\.json: packages\["node_modules\/left-pad"\]: .*version/);
  assert.match(synced.stdout, /npm\.lockfiles\[1\]: .*yarn\.lock: /);
  assert.doesNotMatch(synced.stdout + synced.stderr, /\n\s+at .*\(.*:\d+:\d+\)/, 'no stack trace');
  assert.ok((await tarballs(join(dir, 'mirrors', 'npm'))).length > 0, 'the valid input was still synced');
});

test('the served registry answers from disk: scoped names, dist-tags, deprecations, abbreviated metadata, fast 404s', async () => {
  const dir = join(work, 'served');
  await mkdir(dir, { recursive: true });
  const file = await writeConfig(dir, { upstream: registry.url, port: 4873, packages: ['@fx/plugin', 'multi-ver@~1.0.0', 'old-deprecated'] });
  const synced = await offline(['sync', '-c', file]);
  assert.equal(synced.code, 0, synced.stdout + synced.stderr);
  const serving = await serve({ config: await loadConfig(file), host: '127.0.0.1', ports: 'ephemeral' });
  try {
    const base = serving.mirrors[0]!.url;
    const full = await (await fetch(`${base}multi-ver`)).json() as { 'dist-tags': Record<string, string>; versions: Record<string, unknown> };
    assert.deepEqual(Object.keys(full.versions), ['1.0.0']);
    assert.deepEqual(full['dist-tags'], { latest: '1.0.0' }, 'tags of versions not mirrored are dropped; latest is what is here');

    const abbreviated = await fetch(`${base}@fx%2fplugin`, { headers: { accept: 'application/vnd.npm.install-v1+json; q=1.0, application/json; q=0.8, */*' } });
    assert.equal(abbreviated.status, 200);
    assert.match(abbreviated.headers.get('content-type') ?? '', /application\/vnd\.npm\.install-v1\+json/);
    const doc = await abbreviated.json() as { versions: Record<string, { dist: { tarball: string }; peerDependencies?: object }> };
    const version = Object.values(doc.versions)[0]!;
    assert.ok(version.peerDependencies, 'peer dependencies are in the abbreviated document');
    assert.ok(version.dist.tarball.startsWith(base), `tarball URL ${version.dist.tarball} points at the mirror`);
    const tarball = await fetch(version.dist.tarball);
    assert.equal(tarball.status, 200);
    await tarball.arrayBuffer();

    const deprecated = await (await fetch(`${base}old-deprecated`)).json() as { versions: Record<string, { deprecated?: string }> };
    assert.match(deprecated.versions['1.0.0']!.deprecated ?? '', /no longer maintained/);

    const started = performance.now();
    const missing = await fetch(`${base}not-mirrored`);
    assert.equal(missing.status, 404);
    const missingVersion = await fetch(`${base}multi-ver/-/multi-ver-2.0.0.tgz`);
    assert.equal(missingVersion.status, 404);
    assert.ok(performance.now() - started < 5000, 'a miss never waits on an uplink');
  } finally {
    await serving.close();
  }
});

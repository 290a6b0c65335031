/**
 * The npm mirror end to end, as a user runs it: `offline sync` from a local upstream registry for
 * a project locked by each real client, then `offline serve` and the real clients inside a
 * network namespace that has loopback only, so any attempt to reach the upstream fails.
 */
import assert from 'node:assert/strict';
import { access, cp, mkdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { makeTree, rootDependencies, startRegistry, type FixtureRegistry } from '../helpers/npm-fixtures.ts';
import { nativeInstallScript, npmCiScript } from '../helpers/npm-clients.ts';
import { isolatedEnv, LOCKFILES, makeProjects, PROJECT_KINDS, type ProjectKind } from '../helpers/npm-projects.ts';
import { offline, serveInBackground, writeConfig } from '../helpers/offline-cli.ts';
import { hasNetns, inNetns } from '../helpers/run.ts';
import { tarballs } from '../helpers/npm-mirror-files.ts';
import { workDir } from '../helpers/work-dir.ts';
import { packageDir } from '../../src/ecosystems/npm/storage.ts';

const tree = makeTree({ packages: 60 });
const totalVersions = tree.reduce((n, p) => n + p.versions.length, 0);
let registry: FixtureRegistry;
let work: string;
let projects: Record<ProjectKind, string>;
const netnsMissing = await hasNetns();

before(async () => {
  work = await workDir('offline-npm-');
  registry = await startRegistry(tree);
  projects = await makeProjects(registry.url, join(work, 'projects'), { dependencies: rootDependencies(tree) });
});

after(async () => {
  await registry?.close();
  if (work && !process.env.OFFLINE_TEST_KEEP) await rm(work, { recursive: true, force: true });
});

describe('sync from each lockfile format, then install with no network', () => {
  for (const kind of PROJECT_KINDS) {
    test(kind, async (t) => {
      const dir = join(work, `sync-${kind}`);
      await mkdir(dir, { recursive: true });
      const config = await writeConfig(dir, {
        upstream: registry.url,
        port: registry.port,
        lockfiles: [join(projects[kind], LOCKFILES[kind])],
      });
      const synced = await offline(['sync', '-c', config, '--json']);
      assert.equal(synced.code, 0, synced.stderr + synced.stdout);
      const report = JSON.parse(synced.stdout);
      assert.equal(report.ok, true);
      assert.ok(report.ecosystems[0].downloaded >= 50, `only ${report.ecosystems[0].downloaded} tarballs`);
      assert.deepEqual(report.failures, []);

      if (netnsMissing) return t.skip(`no network namespace: ${netnsMissing}`);
      // Served on the upstream's own port: lockfiles that record the upstream's URLs
      // (yarn classic) then reach the mirror, as they would a registry on the same host.
      const mirror = `http://127.0.0.1:${registry.port}/`;
      const home = join(dir, 'home');
      await mkdir(join(home, 'tmp'), { recursive: true });
      // Separate copies: npm ci rewrites a yarn.lock it finds into the classic format.
      const project = join(dir, 'project');
      const nativeProject = join(dir, 'project-native');
      await cp(projects[kind], project, { recursive: true });
      await cp(projects[kind], nativeProject, { recursive: true });
      const native = nativeInstallScript(kind, nativeProject, mirror, home);
      const script = [
        serveInBackground(config, join(dir, 'serve.log')),
        `(${npmCiScript(project, mirror)}) || exit 1`,
        `test -f '${project}/node_modules/@fx/bin/package.json' || { echo '@fx/bin missing'; exit 2; }`,
        `test -f '${project}/node_modules/@fx/bin-linux-x64/package.json' || { echo 'platform package missing'; exit 3; }`,
        native ? `(${native}) || exit 4` : '',
      ].join('\n');
      const installed = await inNetns(script, { env: isolatedEnv(home, mirror.replace(/\/$/, '')), timeoutMs: 300_000 });
      assert.equal(installed.code, 0, `${installed.stdout}\n${installed.stderr}`);
    });
  }
});

test('a second sync downloads nothing, contacts nobody, and says so', async () => {
  const dir = join(work, 'sync-npm-v3');
  const config = join(dir, 'offline.yaml');
  const before = registry.requests.length;
  const again = await offline(['sync', '-c', config]);
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stdout, /nothing to download, all \d+ files already mirrored/);
  assert.equal(registry.requests.length, before, `requests: ${registry.requests.slice(before).join(' ')}`);
});

test('specs resolve to their closure and are served with dist-tags, deprecations and abbreviated metadata', async () => {
  const dir = join(work, 'specs');
  await mkdir(dir, { recursive: true });
  const config = await writeConfig(dir, {
    upstream: registry.url,
    port: 4873,
    packages: ['@fx/bin', 'multi-ver@^1', 'multi-ver@next', 'old-deprecated', 'ancient-sha1'],
  });
  const synced = await offline(['sync', '-c', config, '--json']);
  assert.equal(synced.code, 0, synced.stdout + synced.stderr);
  const report = JSON.parse(synced.stdout);
  assert.ok(report.ecosystems[0].downloaded >= 9, JSON.stringify(report.ecosystems));

  const files = await tarballs(join(dir, 'mirrors', 'npm'));
  for (const platform of ['bin-linux-x64', 'bin-linux-arm64', 'bin-darwin-arm64', 'bin-win32-x64']) {
    assert.ok(files.some((f) => f.includes(`@fx/${platform}/`)), `${platform} not mirrored: ${files.join(' ')}`);
  }
  assert.ok(files.some((f) => f.endsWith('multi-ver-1.1.0.tgz')));
  assert.ok(files.some((f) => f.endsWith('multi-ver-2.1.0-next.0.tgz')));
  assert.ok(!files.some((f) => f.endsWith('multi-ver-2.0.0.tgz')), 'multi-ver@2.0.0 was not asked for');

  const status = await offline(['status', '-c', config, '--json']);
  const counts = JSON.parse(status.stdout).mirrors[0].counts;
  assert.equal(counts.tarballs, files.length);
  assert.ok(counts.bytes > 0);
});

test('a tarball whose bytes do not match is refused, reported with both digests, and the rest completes', async () => {
  const victim = tree.find((p) => p.name === 'multi-ver')!;
  const bad = await startRegistry(tree, { corrupt: ['multi-ver@1.1.0'] });
  try {
    const dir = join(work, 'corrupt');
    await mkdir(dir, { recursive: true });
    const config = await writeConfig(dir, {
      upstream: bad.url,
      port: 4873,
      lockfiles: [join(projects['npm-v3'], 'package-lock.json')],
    });
    const synced = await offline(['sync', '-c', config]);
    assert.equal(synced.code, 1, synced.stdout + synced.stderr);
    const expected = victim.versions.find((v) => v.manifest.version === '1.1.0')!.integrity!;
    assert.ok(synced.stdout.includes(`multi-ver@1.1.0: integrity mismatch: expected ${expected}, got sha512-`), synced.stdout);
    assert.doesNotMatch(synced.stderr, /\n\s+at /, 'no stack trace');
    const files = await tarballs(join(dir, 'mirrors', 'npm'));
    assert.ok(!files.some((f) => f.endsWith('multi-ver-1.1.0.tgz')), 'the corrupt tarball was stored');
    const json = await offline(['sync', '-c', config, '--json']);
    const report = JSON.parse(json.stdout);
    assert.equal(report.ecosystems[0].failed, 1);
    assert.ok(report.ecosystems[0].present >= 50, 'the rest of the sync completed');
    assert.equal(report.failures[0].item, 'multi-ver@1.1.0');
    assert.equal(report.failures[0].expected, expected);
    assert.match(report.failures[0].actual, /^sha512-/);
  } finally {
    await bad.close();
  }
});

test('an unreachable upstream gives a clear error per package, not a hang or a crash', async () => {
  const gone = await startRegistry(tree);
  const url = gone.url;
  await gone.close();
  const dir = join(work, 'unreachable');
  await mkdir(dir, { recursive: true });
  const config = await writeConfig(dir, { upstream: url, port: 4873, packages: ['@fx/core'] });
  const synced = await offline(['sync', '-c', config, '--retries', '1']);
  assert.equal(synced.code, 1);
  assert.match(synced.stdout, /@fx\/core: cannot fetch: .*ECONNREFUSED|@fx\/core: .*connect/i);
  assert.doesNotMatch(synced.stderr, /\n\s+at /);
});

test('total fixture size is what the tests assume', () => {
  assert.ok(tree.length >= 50 && totalVersions > tree.length);
});

test('a package is published as soon as its tarballs land, while the sync still waits for another', async () => {
  let letGo!: () => void;
  const upstream = await startRegistry(tree, { holdTarball: { 'multi-ver@2.0.0': new Promise<void>((resolve) => (letGo = resolve)) } });
  const dir = join(work, 'early');
  await mkdir(dir, { recursive: true });
  try {
    const config = await writeConfig(dir, { upstream: upstream.url, port: upstream.port, packages: ['old-deprecated', 'multi-ver@^2'] });
    const syncing = offline(['sync', '-c', config, '--json']);
    const storage = join(dir, 'mirrors', 'npm');
    const early = join(packageDir(storage, 'old-deprecated'), 'package.json');
    for (let i = 0; i < 300 && !(await exists(early)); i++) await new Promise((r) => setTimeout(r, 100));
    assert.ok(await exists(early), 'old-deprecated is published while multi-ver@2.0.0 is still held');
    assert.deepEqual(Object.keys(JSON.parse(await readFile(early, 'utf8')).versions), ['1.0.0']);
    assert.equal(await exists(join(packageDir(storage, 'multi-ver'), 'package.json')), false, 'multi-ver waits for its tarball');
    letGo();
    const synced = await syncing;
    assert.equal(synced.code, 0, synced.stderr + synced.stdout);
    const multi = JSON.parse(await readFile(join(packageDir(storage, 'multi-ver'), 'package.json'), 'utf8'));
    assert.deepEqual(Object.keys(multi.versions), ['2.0.0']);
  } finally {
    letGo();
    await upstream.close();
  }
});

async function exists(path: string): Promise<boolean> {
  return access(path).then(() => true, () => false);
}

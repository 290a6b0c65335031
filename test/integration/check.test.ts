/**
 * `offline check` proves readiness from the mirrors alone: with every upstream shut down it says
 * ready, and after a file of each ecosystem is lost it names exactly what is missing.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { stringify } from 'yaml';
import { makeTree, startRegistry as startNpmRegistry } from '../helpers/npm-fixtures.ts';
import { makeFixtureImages } from '../helpers/oci-images.ts';
import { pushImages, startRegistry as startOciRegistry } from '../helpers/oci-registry.ts';
import { offline } from '../helpers/offline-cli.ts';
import { makeRepos, missingTool, startMirrorServer } from '../helpers/pacman-fixtures.ts';
import { makeFixtureIndex, startIndex } from '../helpers/pypi-fixtures.ts';
import { run } from '../helpers/run.ts';
import { claimPorts } from '../helpers/ports.ts';

const pacmanMissing = (await Promise.all(['pacman', 'repo-add', 'bsdtar'].map(missingTool))).find(Boolean);
const dockerToolsMissing = (await run('sh', ['-c', 'command -v skopeo && command -v docker-registry'])).code !== 0;
let work: string;
let config: string;

before(async () => {
  work = await mkdtemp(join(tmpdir(), 'offline-check-'));
  const npm = await startNpmRegistry(makeTree({ packages: 40 }));
  const pypi = await startIndex(await makeFixtureIndex());
  const pacman = pacmanMissing ? undefined : await startMirrorServer((await makeRepos(join(work, 'pacman'))).dir);
  const oci = dockerToolsMissing ? undefined : await startOciRegistry(join(work, 'oci'));
  if (oci) await pushImages(oci.host, await makeFixtureImages(join(work, 'images')), join(work, 'skopeo'));
  const port = await claimPorts(4);
  config = join(work, 'offline.yaml');
  await writeFile(config, stringify({
    data: './mirrors', listen: '127.0.0.1',
    npm: { port, upstream: npm.url, packages: ['@fx/bin', 'multi-ver@^1'] },
    pypi: { port: port + 1, upstream: pypi.url, packages: ['app[fast]'], python: ['3.11'], platforms: ['manylinux_2_28_x86_64'] },
    pacman: { port: port + 2, upstream: `${pacman?.url ?? 'http://127.0.0.1:9'}/$repo/os/$arch`, packages: pacman ? ['app'] : [] },
    docker: { port: port + 3, images: oci ? ['fixture.test/fixtures/multi:1.0'] : [], platforms: ['linux/amd64'], registries: { 'fixture.test': oci?.url ?? 'http://127.0.0.1:9' } },
  }));
  const synced = await offline(['sync', '-c', config]);
  assert.equal(synced.code, 0, synced.stdout + synced.stderr);
  await Promise.all([npm.close(), pypi.close(), pacman?.close(), oci?.close()]);
});

after(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

async function removeOne(dir: string, match: (name: string) => boolean): Promise<string> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  const found = entries.find((e) => e.isFile() && match(e.name));
  assert.ok(found, `a file to remove in ${dir}`);
  await rm(join(found.parentPath, found.name));
  return found.name;
}

test('with every upstream shut down, check says ready', async () => {
  const r = await offline(['check', '-c', config, '--json']);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  const report = JSON.parse(r.stdout);
  assert.equal(report.ok, true);
  assert.ok(report.ecosystems.every((e: { checked: number }) => e.checked > 0), r.stdout);
});

test('a lost file of each ecosystem is named, and the exit says not ready', async () => {
  const mirrors = join(work, 'mirrors');
  await removeOne(join(mirrors, 'npm'), (n) => n === 'multi-ver-1.1.0.tgz');
  await removeOne(join(mirrors, 'pypi', 'files'), (n) => n.startsWith('lib-1.5.0') && n.endsWith('.whl'));
  const expected = [/npm multi-ver@1\.1\.0: not in the mirror/, /pypi lib-1\.5\.0-py3-none-any\.whl: not in the mirror/];
  if (!pacmanMissing) {
    await removeOne(join(mirrors, 'pacman', 'pool'), (n) => n.startsWith('libdep-2.1-1') && n.endsWith('.zst'));
    expected.push(/pacman core\/libdep 2\.1-1 \(x86_64\): not in the mirror/);
  }
  if (!dockerToolsMissing) {
    const repo = JSON.parse(await readFile(join(mirrors, 'docker', 'repositories', 'fixture.test', 'fixtures', 'multi', 'index.json'), 'utf8'));
    const amd64 = Object.entries(repo.manifests as Record<string, { platform?: string }>).find(([, m]) => m.platform === 'linux/amd64')![0];
    const manifest = JSON.parse(await readFile(join(mirrors, 'docker', 'blobs', 'sha256', amd64.slice(7)), 'utf8'));
    const layer = manifest.layers.at(-1).digest as string;
    await rm(join(mirrors, 'docker', 'blobs', 'sha256', layer.slice(7)));
    expected.push(new RegExp(`docker docker\\.images\\[0\\] "fixture\\.test/fixtures/multi:1\\.0": .*blob ${layer} is missing`));
  }
  const r = await offline(['check', '-c', config]);
  assert.equal(r.code, 1, r.stdout + r.stderr);
  for (const e of expected) assert.match(r.stdout, e);
  assert.match(r.stdout, /not ready: \d+ items missing/);
});

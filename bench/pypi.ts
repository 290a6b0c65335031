/**
 * PyPI benchmark, two comparisons in one run:
 * - sync: `offline sync` of a requirements file whose closure is a few hundred wheels, beside
 *   `pip download` of the same requirements from the same local index, which adds `delayMs` to
 *   every response;
 * - serving: wrk against the mirror's files and against nginx serving the same files from disk.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { makeWheel, pip, pythonVersion, startIndex, type FixtureProject } from '../test/helpers/pypi-fixtures.ts';
import { run } from '../test/helpers/run.ts';
import { BIN, durationRow, must, rateRow, startServe, timed, type Row } from './common.ts';
import { filePaths, missingTool, sizeRange, startNginx, WORKERS, wrk, wrkWorkers } from './load.ts';
import { claimPorts } from '../test/helpers/ports.ts';

/** `count` projects, two versions each; project i depends on a range of i+1 and i+7. */
async function makeProjects(count: number): Promise<FixtureProject[]> {
  const projects: FixtureProject[] = [];
  for (let i = 0; i < count; i++) {
    const deps = [i + 1, i + 7].filter((j) => j < count && j % 5 !== 0).map((j) => `bench-${j}>=1.0,<3`);
    const files = await Promise.all(['1.0.0', '2.0.0'].map((version) =>
      makeWheel({ name: `bench-${i}`, version, requiresDist: deps, files: { [`bench_${i}/data.txt`]: 'x'.repeat(20_000 + i * 97) } })));
    projects.push({ name: `bench-${i}`, files });
  }
  return projects;
}

export async function benchPypi(count = 300, delayMs = 20): Promise<Row[]> {
  const work = await mkdtemp(join(tmpdir(), 'offline-bench-pypi-'));
  const projects = await makeProjects(count);
  const index = await startIndex(projects, { delayMs });
  try {
    const roots = projects.filter((_, i) => i % 5 === 0).map((p) => p.name);
    const requirements = join(work, 'requirements.txt');
    await writeFile(requirements, `${roots.join('\n')}\n`);
    const python = await pythonVersion();
    const port = await claimPorts(4);
    const config = join(work, 'offline.yaml');
    await writeFile(config, stringify({
      data: './mirrors', listen: '127.0.0.1',
      pypi: { port, upstream: index.url, requirements: [requirements], python: [python], platforms: ['manylinux_2_28_x86_64'] },
    }));
    const [syncSeconds, synced] = await timed(() => run(process.execPath, [BIN, 'sync', '-c', config, '--json'], { timeoutMs: 900_000 }));
    must(synced, 'offline sync');
    const files = JSON.parse(synced.stdout).ecosystems[0].downloaded;
    const home = join(work, 'pip-home');
    await mkdir(home);
    const [pipSeconds, downloaded] = await timed(() => pip(index.url, home, 'download', ['-d', join(work, 'pip'), '-r', requirements], { timeoutMs: 900_000 }));
    must(downloaded, 'pip download');
    console.log(`pypi: ${count} projects, ${roots.length} requirements, closure of ${files} wheels; index adds ${delayMs} ms to every response`);
    const rows = [durationRow(`PyPI: sync of ${roots.length} requirements (${files} wheels), +${delayMs} ms`, syncSeconds, '`pip download`', pipSeconds)];
    if (await missingTool('nginx', 'wrk')) return rows;
    return [...rows, ...(await serving(work, config, port))];
  } finally {
    await index.close();
    await rm(work, { recursive: true, force: true });
  }
}

/** wrk against the mirror's files, then nginx with the mirror's directory as its root. */
async function serving(work: string, config: string, port: number): Promise<Row[]> {
  const mirrorDir = join(work, 'mirrors', 'pypi');
  const paths = await filePaths(join(mirrorDir, 'files'), '.whl').then((p) => p.map((x) => `/files${x}`));
  const server = await startServe(config);
  const nginx = await startNginx(mirrorDir, work);
  try {
    const mirror = await wrk(`http://127.0.0.1:${port}`, paths, work);
    const peer = await wrk(nginx.url, paths, work);
    await server.stop();
    const workers = await wrkWorkers(config, `http://127.0.0.1:${port}`, paths, work);
    return [
      rateRow(`PyPI: serving ${paths.length} wheels (${await sizeRange(mirrorDir, paths)}), wrk 50 connections`, mirror.bytesPerSecond, 'nginx', peer.bytesPerSecond),
      rateRow(`PyPI: the same, serve --workers ${WORKERS}`, workers.bytesPerSecond, 'nginx', peer.bytesPerSecond),
    ];
  } finally {
    nginx.stop();
    await server.stop();
  }
}

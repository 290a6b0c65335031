/**
 * PyPI benchmark: `offline sync` of a requirements file whose closure is a few hundred wheels,
 * beside `pip download` of the same requirements from the same local index, which adds 20 ms to
 * every response, measured in the same run.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { makeWheel, pip, pythonVersion, startIndex, type FixtureProject } from '../test/helpers/pypi-fixtures.ts';
import { run } from '../test/helpers/run.ts';
import { must, timed, type BenchRow } from './common.ts';

const BIN = fileURLToPath(new URL('../bin/offline.js', import.meta.url));

/** `count` projects, two versions each; project i depends on a range of i+1 and i+7. */
async function makeProjects(count: number): Promise<FixtureProject[]> {
  const projects: FixtureProject[] = [];
  for (let i = 0; i < count; i++) {
    const deps = [i + 1, i + 7].filter((j) => j < count && j % 5 !== 0).map((j) => `bench-${j}>=1.0,<3`);
    const files = await Promise.all(['1.0.0', '2.0.0'].map(async (version) => {
      const w = await makeWheel({ name: `bench-${i}`, version, requiresDist: deps, files: { [`bench_${i}/data.txt`]: 'x'.repeat(20_000 + i * 97) } });
      return { ...w };
    }));
    projects.push({ name: `bench-${i}`, files });
  }
  return projects;
}

export async function benchPypi(count = 300, delayMs = 20): Promise<BenchRow[]> {
  const work = await mkdtemp(join(tmpdir(), 'offline-bench-pypi-'));
  const projects = await makeProjects(count);
  const index = await startIndex(projects, { delayMs });
  try {
    const roots = projects.filter((_, i) => i % 5 === 0).map((p) => p.name);
    const requirements = join(work, 'requirements.txt');
    await writeFile(requirements, `${roots.join('\n')}\n`);
    const python = await pythonVersion();
    await writeFile(join(work, 'offline.yaml'), stringify({
      data: './mirrors', listen: '127.0.0.1',
      pypi: { upstream: index.url, requirements: [requirements], python: [python], platforms: ['manylinux_2_28_x86_64'] },
    }));
    const [syncSeconds, synced] = await timed(() => run(process.execPath, [BIN, 'sync', '-c', join(work, 'offline.yaml'), '--json'], { timeoutMs: 900_000 }));
    must(synced, 'offline sync');
    const files = JSON.parse(synced.stdout).ecosystems[0].downloaded;
    const home = join(work, 'pip-home');
    await mkdir(home);
    const [pipSeconds, downloaded] = await timed(() => pip(index.url, home, 'download', ['-d', join(work, 'pip'), '-r', requirements], { timeoutMs: 900_000 }));
    must(downloaded, 'pip download');
    console.log(`pypi: ${count} projects, ${roots.length} requirements, closure of ${files} wheels; index adds ${delayMs} ms to every response`);
    return [
      { name: `offline sync, cold (${files} files)`, seconds: syncSeconds },
      { name: 'pip download of the same requirements', seconds: pipSeconds },
    ];
  } finally {
    await index.close();
    await rm(work, { recursive: true, force: true });
  }
}

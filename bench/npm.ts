/**
 * npm benchmark: `offline sync` of a 1,000+ package lockfile from a local upstream that adds
 * 20 ms to every response, beside a cold `npm ci` of the same lockfile through a plain verdaccio
 * proxy of the same upstream, measured in the same run on the same machine.
 */
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { makeTree, rootDependencies, startRegistry } from '../test/helpers/npm-fixtures.ts';
import { isolatedEnv } from '../test/helpers/npm-projects.ts';
import { run } from '../test/helpers/run.ts';
import { writeConfig } from '../test/helpers/offline-cli.ts';
import { BIN, durationRow, must, rateRow, startServe, timed, type Row } from './common.ts';
import { filePaths, missingTool, sizeRange, startNginx, WORKERS, wrk, wrkWorkers } from './load.ts';
import { claimPorts } from '../test/helpers/ports.ts';
const PROXY = fileURLToPath(new URL('./verdaccio-proxy.ts', import.meta.url));

async function lockProject(dir: string, deps: Record<string, string>, registry: string, home: string): Promise<void> {
  await mkdir(join(home, 'tmp'), { recursive: true });
  await writeFile(join(dir, 'package.json'), JSON.stringify({ name: 'bench', version: '1.0.0', private: true, dependencies: deps }));
  // No `resolved` URLs (as npm writes them here): both contenders then use the registry they are given.
  const env = { ...isolatedEnv(home, registry), npm_config_omit_lockfile_registry_resolved: 'true' };
  must(await run('npm', ['install', '--package-lock-only', '--ignore-scripts'], { cwd: dir, env, timeoutMs: 900_000 }), 'npm install --package-lock-only');
}

/**
 * wrk against the mirror's tarballs (verdaccio's `/<name>/-/<file>.tgz`), then nginx with the
 * same storage directory as its root (`/<name>/<file>.tgz`: the same bytes).
 */
async function serving(work: string, config: string, port: number): Promise<Row[]> {
  const storage = join(work, 'mirrors', 'npm', 'storage');
  const files = await filePaths(storage, '.tgz');
  const tarballUrl = (p: string) => p.replace(/\/([^/]+)$/, '/-/$1');
  const server = await startServe(config);
  const nginx = await startNginx(storage, work);
  try {
    const mirror = await wrk(`http://127.0.0.1:${port}`, files.map(tarballUrl), work);
    const peer = await wrk(nginx.url, files, work);
    await server.stop();
    const workers = await wrkWorkers(config, `http://127.0.0.1:${port}`, files.map(tarballUrl), work);
    return [
      rateRow(`npm: serving ${files.length} tarballs (${await sizeRange(storage, files)}), wrk 50 connections`, mirror.bytesPerSecond, 'nginx', peer.bytesPerSecond),
      rateRow(`npm: the same, serve --workers ${WORKERS}`, workers.bytesPerSecond, 'nginx', peer.bytesPerSecond),
    ];
  } finally {
    nginx.stop();
    await server.stop();
  }
}

function startProxy(upstream: string, storage: string): Promise<{ url: string; stop(): void }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [PROXY, upstream, storage, '0'], { stdio: ['ignore', 'pipe', 'inherit'] });
    child.stdout.on('data', (chunk: Buffer) => {
      const m = /ready (\d+)/.exec(chunk.toString());
      if (m) resolve({ url: `http://127.0.0.1:${m[1]}/`, stop: () => child.kill('SIGTERM') });
    });
    child.once('exit', (code) => reject(new Error(`verdaccio exited with ${code}`)));
  });
}

export async function benchNpm(packages = 1200, delayMs = 20): Promise<Row[]> {
  const work = await mkdtemp(join(tmpdir(), 'offline-bench-npm-'));
  const tree = makeTree({ packages });
  const versions = tree.reduce((n, p) => n + p.versions.length, 0);
  const project = join(work, 'project');
  await mkdir(project);
  const fast = await startRegistry(tree);
  await lockProject(project, rootDependencies(tree), fast.url, join(work, 'home-lock'));
  await fast.close();

  const upstream = await startRegistry(tree, { delayMs });
  try {
    const port = await claimPorts(4);
    const config = await writeConfig(work, { upstream: upstream.url, port, lockfiles: [join(project, 'package-lock.json')] });
    // BENCH_PROFILE=DIR: a CPU profile of the sync (open it in Chrome's DevTools, or bench/profile-top.ts).
    const profile = process.env.BENCH_PROFILE ? ['--cpu-prof', '--cpu-prof-dir', process.env.BENCH_PROFILE] : [];
    const [syncSeconds, synced] = await timed(() => run(process.execPath, [...profile, BIN, 'sync', '-c', config, '--json'], { timeoutMs: 900_000 }));
    must(synced, 'offline sync');
    const report = JSON.parse(synced.stdout);
    const [againSeconds, again] = await timed(() => run(process.execPath, [BIN, 'sync', '-c', config], { timeoutMs: 900_000 }));
    must(again, 'offline sync (again)');

    const proxy = await startProxy(upstream.url, join(work, 'verdaccio-storage'));
    const home = join(work, 'home-ci');
    await mkdir(join(home, 'tmp'), { recursive: true });
    let ciSeconds: number;
    try {
      const [seconds, ci] = await timed(() => run('npm', ['ci', '--ignore-scripts', '--registry', proxy.url], {
        cwd: project, env: isolatedEnv(home, proxy.url.replace(/\/$/, '')), timeoutMs: 900_000,
      }));
      must(ci, 'npm ci through verdaccio');
      ciSeconds = seconds;
    } finally {
      proxy.stop();
    }
    const locked = report.ecosystems[0].summary.versions;
    console.log(`npm: ${tree.length} packages, ${versions} versions in the upstream; lockfile of ${locked} versions; upstream adds ${delayMs} ms to every response`);
    const rows: Row[] = [
      durationRow(`npm: sync of a ${locked}-version lockfile, upstream +${delayMs} ms`, syncSeconds, 'cold `npm ci` through verdaccio', ciSeconds),
      { benchmark: 'npm: the same sync again (nothing to download)', offline: `${againSeconds.toFixed(2)} s` },
    ];
    if (await missingTool('nginx', 'wrk')) return rows;
    return [...rows, ...(await serving(work, config, port))];
  } finally {
    await upstream.close();
    await rm(work, { recursive: true, force: true });
  }
}

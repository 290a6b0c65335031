/**
 * pacman benchmark, two comparisons in one run, against one local upstream that adds `delayMs`
 * to every response:
 * - sync: `offline sync` of a repo's packages beside `pacman -Syw` of the same packages with
 *   `ParallelDownloads = 5` (Arch's default pacman.conf), into a fresh root;
 * - serving: wrk against the mirror and against nginx serving the same files.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { makePackage, pacman, pacmanRoot, repoAdd, startMirrorServer } from '../test/helpers/pacman-fixtures.ts';
import { run } from '../test/helpers/run.ts';
import { BIN, durationRow, must, rateRow, startServe, timed, type Row } from './common.ts';
import { missingTool, rss, startNginx, WORKERS, wrk, wrkWorkers } from './load.ts';
import { claimPorts } from '../test/helpers/ports.ts';

/** Package i of n: from 20 kB to 2 MB, spaced geometrically (most packages are small). */
function packageBytes(i: number, n: number): number {
  return Math.round(20_000 * 100 ** (i / Math.max(1, n - 1)));
}

/** `count` packages in one dependency chain, so `bench-0` pulls them all; their file names. */
async function makeRepo(repoDir: string, count: number): Promise<string[]> {
  const files: string[] = [];
  for (let i = 0; i < count; i++) {
    const depends = i + 1 < count ? [`bench-${i + 1}`] : [];
    // base64 of random bytes: zstd gets it down to about 3/4, so the package lands near the target.
    const blob = randomBytes(Math.round(packageBytes(i, count) * 0.75)).toString('base64');
    files.push(await makePackage(repoDir, { name: `bench-${i}`, version: '1.0-1', depends, files: { blob } }));
  }
  await repoAdd(join(repoDir, 'core.db.tar.gz'), files.map((f) => join(repoDir, f)));
  return files;
}

export async function benchPacman(count = 240, delayMs = 20): Promise<Row[]> {
  const missing = await missingTool('repo-add', 'bsdtar', 'pacman', 'nginx', 'wrk');
  if (missing) {
    console.log(`pacman: skipped: ${missing} is not installed (apt-get install pacman-package-manager makepkg libarchive-tools nginx-light wrk)`);
    return [];
  }
  const work = await mkdtemp(join(tmpdir(), 'offline-bench-pacman-'));
  const repoDir = join(work, 'upstream', 'core', 'os', 'x86_64');
  await mkdir(repoDir, { recursive: true });
  const files = await makeRepo(repoDir, count);
  const upstream = await startMirrorServer(join(work, 'upstream'), { delayMs });
  try {
    const config = join(work, 'offline.yaml');
    const port = await claimPorts(4);
    await writeFile(config, stringify({
      data: './mirrors', listen: '127.0.0.1', npm: { port: port + 1 }, pypi: { port: port + 2 },
      pacman: { port, upstream: `${upstream.url}/$repo/os/$arch`, repos: ['core'], arch: ['x86_64'], packages: ['bench-0'] },
    }));
    const [syncSeconds, synced] = await timed(() => run(process.execPath, [BIN, 'sync', '-c', config], { timeoutMs: 900_000 }));
    must(synced, 'offline sync');
    const root = await pacmanRoot(join(work, 'pacman'), { core: `${upstream.url}/$repo/os/$arch` }, { parallelDownloads: 5 });
    const [pacmanSeconds, fetched] = await timed(() => pacman(root, '-Syw', '--noconfirm', 'bench-0'));
    must(fetched, 'pacman -Syw');

    const server = await startServe(config);
    const nginx = await startNginx(join(work, 'upstream'), work);
    try {
      const paths = files.map((f) => `/core/os/x86_64/${f}`);
      const mirror = await wrk(`http://127.0.0.1:${port}`, paths, work);
      const peak = (await rss(server.pid)).peak;
      const peer = await wrk(nginx.url, paths, work);
      await server.stop();
      const workers = await wrkWorkers(config, `http://127.0.0.1:${port}`, paths, work);
      console.log(`pacman: ${count} packages of 20 kB–2 MB (one dependency chain); upstream adds ${delayMs} ms to every response; serving: wrk, 50 connections`);
      return [
        durationRow(`pacman: sync of ${count} packages, upstream +${delayMs} ms`, syncSeconds, '`pacman -Syw`, ParallelDownloads 5', pacmanSeconds),
        rateRow(`pacman: serving ${count} packages of 20 kB–2 MB, wrk 50 connections`, mirror.bytesPerSecond, 'nginx', peer.bytesPerSecond),
        rateRow(`pacman: the same, serve --workers ${WORKERS}`, workers.bytesPerSecond, 'nginx', peer.bytesPerSecond),
        { benchmark: 'pacman: peak RSS of serve after 50 clients', offline: `${peak.toFixed(0)} MB` },
      ];
    } finally {
      nginx.stop();
      await server.stop();
    }
  } finally {
    await upstream.close();
    await rm(work, { recursive: true, force: true });
  }
}

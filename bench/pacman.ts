/**
 * pacman benchmark, two comparisons in one run:
 * - sync: `offline sync` of a repo's packages from a local upstream that adds 20 ms to every
 *   response, beside a plain sequential download of the same files (curl, one connection);
 * - serving: the mirror's throughput beside nginx serving the same files, with the same client.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { makePackage, repoAdd, startMirrorServer } from '../test/helpers/pacman-fixtures.ts';
import { run } from '../test/helpers/run.ts';
import { throughput, timed, type BenchRow } from './common.ts';

const BIN = fileURLToPath(new URL('../bin/offline.js', import.meta.url));

/** Fetch every URL `rounds` times with 8 in flight; bytes per second. */

async function startNginx(root: string, work: string): Promise<{ url: string; stop(): void }> {
  const port = 20000 + Math.floor(Math.random() * 20000);
  const conf = join(work, 'nginx.conf');
  // The work directory is private (mkdtemp), so the worker runs as this user.
  const user = process.getuid?.() === 0 ? "user root;\n" : "";
  await writeFile(conf, `${user}daemon off;\nworker_processes 1;\npid ${join(work, 'nginx.pid')};\nerror_log ${join(work, 'nginx.err')};\n` +
    `events { worker_connections 256; }\nhttp { access_log off; sendfile on; keepalive_requests 100000;\n` +
    `  server { listen 127.0.0.1:${port}; root ${root}; } }\n`);
  const child = spawn('nginx', ['-c', conf, '-p', work], { stdio: 'ignore' });
  await new Promise((r) => setTimeout(r, 500));
  return { url: `http://127.0.0.1:${port}`, stop: () => child.kill('SIGTERM') };
}

export async function benchPacman(count = 120, delayMs = 20): Promise<BenchRow[]> {
  const missing = (await Promise.all(['repo-add', 'bsdtar', 'curl', 'nginx'].map(async (tool) =>
    (await run('sh', ['-c', `command -v ${tool}`])).code === 0 ? undefined : `${tool} is not installed (apt-get install pacman-package-manager makepkg libarchive-tools curl nginx-light)`))).find(Boolean);
  if (missing) {
    console.log(`pacman: skipped: ${missing}`);
    return [];
  }
  const work = await mkdtemp(join(tmpdir(), 'offline-bench-pacman-'));
  const repoDir = join(work, 'upstream', 'core', 'os', 'x86_64');
  await mkdir(repoDir, { recursive: true });
  const files: string[] = [];
  for (let i = 0; i < count; i++) {
    const depends = i + 1 < count ? [`bench-${i + 1}`] : [];
    files.push(await makePackage(repoDir, { name: `bench-${i}`, version: '1.0-1', depends, files: { blob: randomBytes(150_000 + i * 997).toString('base64') } }));
  }
  await repoAdd(join(repoDir, 'core.db.tar.gz'), files.map((f) => join(repoDir, f)));
  const upstream = await startMirrorServer(join(work, 'upstream'), { delayMs });
  try {
    const config = join(work, 'offline.yaml');
    const port = 20000 + Math.floor(Math.random() * 20000);
    await writeFile(config, stringify({
      data: './mirrors', listen: '127.0.0.1', npm: { port: port + 1 }, pypi: { port: port + 2 },
      pacman: { port, upstream: `${upstream.url}/$repo/os/$arch`, repos: ['core'], arch: ['x86_64'], packages: ['bench-0'] },
    }));
    const [syncSeconds, synced] = await timed(() => run(process.execPath, [BIN, 'sync', '-c', config], { timeoutMs: 900_000 }));
    if (synced.code !== 0) throw new Error(`offline sync failed: ${synced.stdout}${synced.stderr}`);
    const urls = files.map((f) => `${upstream.url}/core/os/x86_64/${f}`);
    const [curlSeconds, curl] = await timed(() => run('curl', ['-sf', ...urls.flatMap((u) => ['-o', '/dev/null', u])], { timeoutMs: 900_000 }));
    if (curl.code !== 0) throw new Error(`curl failed: ${curl.stderr}`);

    const server = spawn(process.execPath, [BIN, 'serve', '-c', config], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve) => server.stdout.on('data', (c: Buffer) => { if (c.toString().includes('serving')) resolve(); }));
    const nginx = await startNginx(join(work, 'upstream'), work);
    try {
      const paths = files.map((f) => `/core/os/x86_64/${f}`);
      const mirrorRate = await throughput(paths.map((p) => `http://127.0.0.1:${port}${p}`), 5);
      const nginxRate = await throughput(paths.map((p) => `${nginx.url}${p}`), 5);
      console.log(`pacman: ${count} packages (one dependency chain); upstream adds ${delayMs} ms to every response; serving measured over 5 rounds, 8 in flight`);
      console.log(`  serving throughput: mirror ${(mirrorRate / 1e6).toFixed(0)} MB/s, nginx ${(nginxRate / 1e6).toFixed(0)} MB/s, ratio ${(mirrorRate / nginxRate).toFixed(2)}`);
      return [
        { name: `offline sync, cold (${count} packages + signatures)`, seconds: syncSeconds },
        { name: 'sequential download of the same files (curl)', seconds: curlSeconds },
      ];
    } finally {
      nginx.stop();
      server.kill('SIGTERM');
    }
  } finally {
    await upstream.close();
    await rm(work, { recursive: true, force: true });
  }
}

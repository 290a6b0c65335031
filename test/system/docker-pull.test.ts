/**
 * dockerd (26, as users run it) pulls from the Docker mirror two ways and runs what it pulled:
 * through a `registry-mirrors` entry (a plain Docker Hub name) and through a rewritten reference
 * (`<mirror>/<registry>/<repo>:<tag>`). Docker Hub's hosts are pointed at 127.0.0.1 in /etc/hosts
 * for the duration, so a fallback to the real Hub could never leave this machine.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { stringify } from 'yaml';
import { dockerMissing } from '../helpers/docker.ts';
import { makeFixtureImages } from '../helpers/oci-images.ts';
import { pushImages, startRegistry, type Registry } from '../helpers/oci-registry.ts';
import { CLI, offline } from '../helpers/offline-cli.ts';
import { run } from '../helpers/run.ts';
import { workDir } from '../helpers/work-dir.ts';
import { claimPorts } from '../helpers/ports.ts';

const tools = (await run('sh', ['-c', 'command -v skopeo && command -v docker-registry'])).code === 0 ? undefined : 'skopeo or docker-registry is not installed';
const missing = (await dockerMissing()) ?? tools;
const HUB_HOSTS = ['registry-1.docker.io', 'index.docker.io', 'auth.docker.io', 'production.cloudflare.docker.com'];
const DAEMON_JSON = '/etc/docker/daemon.json';
const IMAGES = ['single:1.0', 'offline-fixture.test/fixtures/multi:1.0'];

let work: string;
let registry: Registry;
let server: ChildProcess | undefined;
let port: number;
let hostsBefore: string | undefined;
let daemonBefore: string | undefined;

async function reloadDockerd(): Promise<void> {
  const pid = (await run('pidof', ['dockerd'])).stdout.trim().split(' ')[0];
  assert.ok(pid, 'dockerd is running');
  process.kill(Number(pid), 'SIGHUP');
  await new Promise((r) => setTimeout(r, 1500));
}

before(async () => {
  if (missing) return;
  work = await workDir('offline-pull-');
  const fixtures = await makeFixtureImages(join(work, 'images'));
  registry = await startRegistry(join(work, 'registry'));
  await pushImages(registry.host, fixtures, join(work, 'skopeo'));
  port = await claimPorts(4);
  const config = join(work, 'offline.yaml');
  await writeFile(config, stringify({
    data: './mirrors', listen: '127.0.0.1', npm: { port: port + 1 }, pypi: { port: port + 2 }, pacman: { port: port + 3 },
    docker: { port, images: IMAGES, platforms: ['linux/amd64'], registries: { 'docker.io': registry.url, 'offline-fixture.test': registry.url } },
  }));
  const synced = await offline(['sync', '-c', config]);
  assert.equal(synced.code, 0, synced.stdout + synced.stderr);
  server = spawn(process.execPath, [CLI, 'serve', '-c', config], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve) => server!.stdout!.on('data', (c: Buffer) => { if (c.toString().includes('serving')) resolve(); }));

  hostsBefore = await readFile('/etc/hosts', 'utf8');
  await writeFile('/etc/hosts', `${hostsBefore.trimEnd()}\n# offline test guard\n${HUB_HOSTS.map((h) => `127.0.0.1 ${h}`).join('\n')}\n`);
  daemonBefore = await readFile(DAEMON_JSON, 'utf8').catch(() => undefined);
  const daemon = { ...(daemonBefore ? JSON.parse(daemonBefore) : {}), 'registry-mirrors': [`http://127.0.0.1:${port}`] };
  await mkdir('/etc/docker', { recursive: true });
  await writeFile(DAEMON_JSON, JSON.stringify(daemon, null, 2));
  await reloadDockerd();
});

after(async () => {
  if (missing) return;
  await run('docker', ['rmi', '--force', 'single:1.0', `127.0.0.1:${port}/offline-fixture.test/fixtures/multi:1.0`]);
  if (daemonBefore === undefined) await rm(DAEMON_JSON, { force: true });
  else await writeFile(DAEMON_JSON, daemonBefore);
  await reloadDockerd().catch(() => undefined);
  if (hostsBefore !== undefined) await writeFile('/etc/hosts', hostsBefore);
  server?.kill('SIGTERM');
  await registry?.close();
  if (work) await rm(work, { recursive: true, force: true });
});

test('docker pull through a registry-mirrors entry gets a Docker Hub name from the mirror, and it runs', async (t) => {
  if (missing) return t.skip(missing);
  const mirrors = await run('docker', ['info', '--format', '{{json .RegistryConfig.Mirrors}}']);
  assert.match(mirrors.stdout, new RegExp(`127\\.0\\.0\\.1:${port}`), `dockerd took the mirror: ${mirrors.stdout}`);
  const pulled = await run('docker', ['pull', 'single:1.0'], { timeoutMs: 120_000 });
  assert.equal(pulled.code, 0, pulled.stdout + pulled.stderr);
  const ran = await run('docker', ['run', '--rm', '--network', 'none', 'single:1.0'], { timeoutMs: 60_000 });
  assert.equal(ran.code, 0, ran.stderr);
  assert.equal(ran.stdout.trim(), 'single amd64');
});

test('docker pull of a rewritten reference gets another registry\'s image from the mirror, and it runs', async (t) => {
  if (missing) return t.skip(missing);
  const ref = `127.0.0.1:${port}/offline-fixture.test/fixtures/multi:1.0`;
  const pulled = await run('docker', ['pull', ref], { timeoutMs: 120_000 });
  assert.equal(pulled.code, 0, pulled.stdout + pulled.stderr);
  const ran = await run('docker', ['run', '--rm', '--network', 'none', ref], { timeoutMs: 60_000 });
  assert.equal(ran.code, 0, ran.stderr);
  assert.equal(ran.stdout.trim(), 'multi amd64');
});

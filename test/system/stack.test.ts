/**
 * The compose runtime on the real machine: `offline sync` builds the stack's image on a local base
 * (busybox and this Node at /usr/local/bin/node; nothing is pulled), `offline up --compose -d`
 * wires the network and runs one container per mirror on the mirror address, data read-only.
 * From a container on the isolated network the four mirror ports answer, a real `npm ci`
 * installs from the stack's npm mirror, and a host service is unreachable through the mirror
 * address and through the gateway. `status` lists the services; `up --compose -d` twice changes
 * nothing; `down` leaves no stack container and iptables and links as they were.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { cp, mkdir, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, test } from 'node:test';
import { stringify } from 'yaml';
import { dockerMissing, dockerRun, ensureTestImage } from '../helpers/docker.ts';
import { makeTree, rootDependencies, startRegistry, type FixtureRegistry } from '../helpers/npm-fixtures.ts';
import { makeProjects } from '../helpers/npm-projects.ts';
import { CLI, offline } from '../helpers/offline-cli.ts';
import { snapshot, type Snapshot } from '../helpers/host-network.ts';
import { run } from '../helpers/run.ts';
import { workDir } from '../helpers/work-dir.ts';

const missing = await dockerMissing();
const NET = { interface: 'offstk0', address: '10.252.8.254', docker_network: 'offline-stack-test', subnet: '10.252.8.0/24', bridge: 'br-offstk' };
const GATEWAY = '10.252.8.1';
const PORTS = { npm: 26873, pypi: 26141, pacman: 26129, docker: 26000 };

let work: string;
let config: string;
let image: string;
let registry: FixtureRegistry;
let project: string;
let hostService: Server;
let initial: Snapshot;

/** The stack's containers: `name id state`, sorted. */
async function stackContainers(): Promise<string[]> {
  const r = await run('docker', ['ps', '--all', '--filter', 'label=com.docker.compose.project=offline', '--format', '{{.Names}} {{.ID}} {{.State}}']);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout.split('\n').filter(Boolean).sort();
}

before(async () => {
  if (missing) return;
  work = await workDir('offline-stack-');
  image = await ensureTestImage();
  const tree = makeTree({ packages: 40 });
  registry = await startRegistry(tree);
  const projects = await makeProjects(registry.url, join(work, 'projects'), { dependencies: rootDependencies(tree) });
  project = join(work, 'project');
  await cp(projects['npm-v3'], project, { recursive: true });
  await cp(join(project, 'package-lock.npm.json'), join(project, 'package-lock.json'));
  config = join(work, 'offline.yaml');
  await writeFile(config, stringify({
    data: './mirrors',
    npm: { port: PORTS.npm, upstream: registry.url, lockfiles: [join(project, 'package-lock.json')] },
    pypi: { port: PORTS.pypi }, pacman: { port: PORTS.pacman }, docker: { port: PORTS.docker },
    network: NET,
    // The stack's image on a local base: this machine reaches no image registry.
    stack: { base: image },
  }));
  hostService = createServer((_, res) => res.end('host service\n'));
  await new Promise<void>((r) => hostService.listen(0, '0.0.0.0', r));
  initial = await snapshot();
});

after(async () => {
  if (missing) return;
  await offline(['down', '-c', config]).catch(() => undefined);
  hostService?.close();
  await registry?.close();
  if (work && !process.env.OFFLINE_TEST_KEEP) await rm(work, { recursive: true, force: true });
});

test('sync mirrors the lockfile and builds the stack image on the local base', async (t) => {
  if (missing) return t.skip(missing);
  const synced = await offline(['sync', '-c', config]);
  assert.equal(synced.code, 0, synced.stdout + synced.stderr);
  assert.match(synced.stdout, /stack: image offline-mirror:[0-9a-f]{16} (built|already built)/);
  const again = await offline(['sync', '-c', config, '--json']);
  assert.equal(JSON.parse(again.stdout).stack.built, false, 'a second sync finds the image and builds nothing');
  await registry.close();
});

test('up --compose in the foreground follows the stack\'s logs (each request a JSON line) and stops the stack on Ctrl-C', async (t) => {
  if (missing) return t.skip(missing);
  const child = spawn(process.execPath, [CLI, 'up', '--compose', '-c', config], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (c: Buffer) => { out += c.toString(); });
  child.stderr.on('data', (c: Buffer) => { out += c.toString(); });
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  const waitFor = async (re: RegExp, what: string): Promise<void> => {
    for (let i = 0; i < 1200 && !re.test(out); i++) {
      if (child.exitCode !== null) break;
      await sleep(100);
    }
    assert.match(out, re, `${what}: ${out}`);
  };
  try {
    await waitFor(/following its logs, Ctrl-C stops it/, 'up --compose says it follows the logs');
    // The host reaches the mirror address itself; the request is a line in the stack's log.
    const answer = await fetch(`http://${NET.address}:${PORTS.pypi}/simple/never-mirrored/`);
    assert.equal(answer.status, 404);
    await waitFor(/pypi-1\s+\| .*"msg":"request".*"path":"\/simple\/never-mirrored\/","status":404/, 'the pypi service logs the request');
  } finally {
    child.kill('SIGINT');
  }
  assert.equal(await exited, 0, out);
  assert.deepEqual(await stackContainers(), [], 'Ctrl-C stopped the stack');
  const status = JSON.parse((await offline(['status', '-c', config, '--json'])).stdout);
  assert.deepEqual(status.stack ?? [], [], 'status lists no stack once it stopped');
});

test('up --compose -d runs one container per mirror; the isolated network reaches the mirror ports and nothing else', async (t) => {
  if (missing) return t.skip(missing);
  const upped = await offline(['up', '--compose', '-d', '-c', config]);
  assert.equal(upped.code, 0, upped.stdout + upped.stderr);
  assert.match(upped.stdout, /mirrors serving as the compose stack/);
  const containers = await stackContainers();
  assert.deepEqual(containers.map((c) => c.split(' ')[0]!.replace(/^offline-(\w+)-1$/, '$1')), ['docker', 'npm', 'pacman', 'pypi']);
  assert.ok(containers.every((c) => c.endsWith(' running')), containers.join('\n'));

  // The containers serve as nobody, the data read-only.
  for (const name of ['npm', 'pypi']) {
    const inspected = await run('docker', ['inspect', '--format', '{{.State.Pid}} {{range .Mounts}}{{if eq .Destination "/data"}}{{.RW}}{{end}}{{end}}', `offline-${name}-1`]);
    const [pid, rw] = inspected.stdout.trim().split(' ');
    assert.equal(rw, 'false', 'the data directory is mounted read-only');
    const uid = (await run('sh', ['-c', `grep ^Uid: /proc/${pid}/status`])).stdout;
    assert.match(uid, /^Uid:\s+65534\s+65534\s+65534\s+65534/, `${name} serves as nobody: ${uid}`);
  }

  const status = JSON.parse((await offline(['status', '-c', config, '--json'])).stdout);
  assert.deepEqual(status.stack.map((s: { service: string }) => s.service).sort(), ['docker', 'npm', 'pacman', 'pypi']);
  assert.ok(status.stack.every((s: { state: string }) => s.state === 'running'), JSON.stringify(status.stack));
  assert.ok(status.mirrors.every((m: { serving: boolean }) => m.serving), JSON.stringify(status.mirrors));
  const text = await offline(['status', '-c', config]);
  assert.match(text.stdout, /compose stack \(project offline\): (\w+ running.*){4}/);

  const hostPort = (hostService.address() as AddressInfo).port;
  const mirrors = Object.values(PORTS).map((p) => `http://${NET.address}:${p}/`);
  const closed = [`http://${NET.address}:${hostPort}/`, `http://${GATEWAY}:${hostPort}/`, `http://${GATEWAY}:${PORTS.npm}/`];
  const script = `Promise.all(${JSON.stringify([...mirrors, ...closed])}.map((u) => fetch(u, { signal: AbortSignal.timeout(3000) })
    .then((r) => [u, String(r.status)], (e) => [u, 'failed ' + (e.cause?.code ?? e.name)])))
    .then((r) => console.log(JSON.stringify(Object.fromEntries(r))))`;
  const probed = await dockerRun(['--network', NET.docker_network, image, 'node', '-e', script], { timeoutMs: 60_000 });
  assert.equal(probed.code, 0, probed.stdout + probed.stderr);
  const seen = JSON.parse(probed.stdout.trim().split('\n').at(-1)!) as Record<string, string>;
  for (const url of mirrors) assert.match(seen[url]!, /^\d{3}$/, `${url} answers: ${seen[url]}`);
  for (const url of closed) assert.match(seen[url]!, /^failed/, `${url} must be unreachable: ${seen[url]}`);
});

test('a real npm ci in a container on the isolated network installs from the stack\'s npm mirror', async (t) => {
  if (missing) return t.skip(missing);
  const copy = join(work, 'ci-project');
  await cp(project, copy, { recursive: true });
  await rm(join(copy, 'node_modules'), { recursive: true, force: true });
  await mkdir(join(copy, '.cache'), { recursive: true });
  const r = await dockerRun([
    '--network', NET.docker_network, '-v', `${copy}:/work`, '-w', '/work', '-e', 'HOME=/work', '-e', 'npm_config_update_notifier=false', image,
    'npm', 'ci', '--registry', `http://${NET.address}:${PORTS.npm}/`, '--cache', '/work/.cache', '--ignore-scripts', '--no-audit', '--no-fund',
  ], { timeoutMs: 300_000 });
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout + r.stderr, /added \d+ packages/);

  // What the stack's npm service could not answer is in the misses ledger (its one writable mount).
  const asked = await dockerRun([
    '--network', NET.docker_network, '-v', `${copy}:/work`, '-w', '/work', '-e', 'HOME=/work', '-e', 'npm_config_update_notifier=false', image,
    'npm', 'view', 'never-mirrored', '--registry', `http://${NET.address}:${PORTS.npm}/`, '--cache', '/work/.cache', '--fetch-retries', '0',
  ], { timeoutMs: 120_000 });
  assert.notEqual(asked.code, 0, 'never-mirrored is not in the mirror');
  let items: string[] = [];
  for (let i = 0; i < 50 && !items.includes('npm never-mirrored'); i++) {
    await sleep(100);
    items = (JSON.parse((await offline(['misses', '-c', config, '--json'])).stdout) as { misses: Array<{ mirror: string; item: string }> }).misses.map((m) => `${m.mirror} ${m.item}`);
  }
  // pypi's is the foreground run's request, recorded by that stack's pypi service.
  assert.deepEqual(items.sort(), ['npm never-mirrored', 'pypi never-mirrored']);
});

test('up --compose -d twice changes nothing: the same containers, one copy of each rule', async (t) => {
  if (missing) return t.skip(missing);
  const before = { containers: await stackContainers(), net: await snapshot() };
  const again = await offline(['up', '--compose', '-d', '-c', config]);
  assert.equal(again.code, 0, again.stdout + again.stderr);
  assert.match(again.stdout, /network already up: nothing to change/);
  assert.deepEqual(await stackContainers(), before.containers);
  assert.equal((await snapshot()).filter, before.net.filter);
  const embedded = await offline(['up', '-d', '-c', config]);
  assert.equal(embedded.code, 1, 'the embedded runtime refuses while the stack serves');
  assert.match(embedded.stderr, /already run as the compose stack/);
});

test('down stops the stack and leaves iptables and links exactly as before; down twice is harmless', async (t) => {
  if (missing) return t.skip(missing);
  const downed = await offline(['down', '-c', config]);
  assert.equal(downed.code, 0, downed.stdout + downed.stderr);
  assert.match(downed.stdout, /stopped and removed the compose stack \(project offline\)/);
  assert.deepEqual(await stackContainers(), []);
  const now = await snapshot();
  assert.equal(now.filter, initial.filter);
  assert.equal(now.nat, initial.nat);
  assert.equal(now.links, initial.links);
  const twice = await offline(['down', '-c', config]);
  assert.equal(twice.code, 0, twice.stdout + twice.stderr);
  assert.deepEqual(await stackContainers(), []);
});

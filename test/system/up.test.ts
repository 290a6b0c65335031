/**
 * `offline up` and `offline down` on the real machine: Docker 26, iptables, a veth (or dummy)
 * link. From containers on the isolated network, only the mirror ports on the mirror address
 * answer: not a host service (through the mirror address or the bridge's gateway), not a
 * namespace playing the internet — even for a container that adds its own default route — and a
 * real `npm ci` against the npm mirror succeeds. `down` leaves iptables and links as they were.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmod, cp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { stringify } from 'yaml';
import { SERVING_NODE_FLAGS } from '../../src/core/up-process.ts';
import { dockerMissing, dockerRun, ensureTestImage } from '../helpers/docker.ts';
import { startInternet, type Internet } from '../helpers/internet.ts';
import { makeTree, rootDependencies, startRegistry, type FixtureRegistry } from '../helpers/npm-fixtures.ts';
import { makeProjects } from '../helpers/npm-projects.ts';
import { CLI, offline } from '../helpers/offline-cli.ts';
import { snapshot, type Snapshot } from '../helpers/host-network.ts';
import { run } from '../helpers/run.ts';
import { workDir } from '../helpers/work-dir.ts';

const missing = await dockerMissing();
const NET = { interface: 'offsys0', address: '10.252.7.254', docker_network: 'offline-system-test', subnet: '10.252.7.0/24', bridge: 'br-offsys' };
const GATEWAY = '10.252.7.1';
const PORTS = { npm: 24873, pypi: 23141, pacman: 29129, docker: 25000 };

let work: string;
let config: string;
let image: string;
let registry: FixtureRegistry;
let project: string;
let internet: Internet;
let hostService: Server;
let initial: Snapshot;

before(async () => {
  if (missing) return;
  work = await workDir('offline-up-');
  image = await ensureTestImage();
  const tree = makeTree({ packages: 60 });
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
  }));
  const synced = await offline(['sync', '-c', config]);
  assert.equal(synced.code, 0, synced.stdout + synced.stderr);
  internet = await startInternet();
  hostService = createServer((_, res) => res.end('host service\n'));
  await new Promise<void>((r) => hostService.listen(0, '0.0.0.0', r));
  initial = await snapshot();
});

after(async () => {
  if (missing) return;
  await offline(['down', '-c', config]).catch(() => undefined);
  hostService?.close();
  await internet?.close();
  await registry?.close();
  if (work && !process.env.OFFLINE_TEST_KEEP) await rm(work, { recursive: true, force: true });
});

/** Run `node -e` probes in a container on the isolated network; returns `url → status | error`. */
async function probe(urls: string[], opts: { defaultRoute?: boolean } = {}): Promise<Record<string, string>> {
  const script = `Promise.all(${JSON.stringify(urls)}.map((u) => fetch(u, { signal: AbortSignal.timeout(3000) })
    .then((r) => [u, String(r.status)], (e) => [u, 'failed ' + (e.cause?.code ?? e.name)])))
    .then((r) => console.log(JSON.stringify(Object.fromEntries(r))))`;
  const route = opts.defaultRoute ? `ip route add default via ${GATEWAY} && ` : '';
  const caps = opts.defaultRoute ? ['--cap-add', 'NET_ADMIN'] : [];
  const r = await dockerRun([...caps, '--network', NET.docker_network, image, 'sh', '-c', `${route}node -e '${script.replace(/'/g, `'"'"'`)}'`], { timeoutMs: 60_000 });
  assert.equal(r.code, 0, r.stdout + r.stderr);
  return JSON.parse(r.stdout.trim().split('\n').at(-1)!);
}

test('up -d serves every mirror port on the mirror address to the isolated network, and nothing else', async (t) => {
  if (missing) return t.skip(missing);
  const upped = await offline(['up', '-d', '-c', config]);
  assert.equal(upped.code, 0, upped.stdout + upped.stderr);
  assert.match(upped.stdout, /mirrors serving in the background as nobody/);

  // The mirrors every container on the network talks to do not run as root.
  const { network } = JSON.parse((await offline(['status', '-c', config, '--json'])).stdout) as { network: { mirrors: { pid: number; running: boolean } } };
  assert.equal(network.mirrors.running, true);
  const uids = /^Uid:\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)$/m.exec(await readFile(`/proc/${network.mirrors.pid}/status`, 'utf8'))!.slice(1).map(Number);
  assert.ok(uids.every((u) => u !== 0), `real, effective, saved and fs uids of the mirrors: ${uids.join(' ')}`);
  // With the node flags for serving (its memory: docs/benchmarks.md).
  const argv = (await readFile(`/proc/${network.mirrors.pid}/cmdline`, 'utf8')).split('\0');
  for (const flag of SERVING_NODE_FLAGS) assert.ok(argv.includes(flag), `the mirrors' command line: ${argv.join(' ')}`);

  const hostPort = (hostService.address() as AddressInfo).port;
  const mirrors = Object.values(PORTS).map((p) => `http://${NET.address}:${p}/`);
  const closed = [`http://${NET.address}:${hostPort}/`, `http://${GATEWAY}:${hostPort}/`, `http://${GATEWAY}:${PORTS.npm}/`];
  const outside = `http://${internet.address}:${internet.port}/`;
  const seen = await probe([...mirrors, ...closed, outside]);
  for (const url of mirrors) assert.match(seen[url]!, /^\d{3}$/, `${url} answers: ${seen[url]}`);
  for (const url of [...closed, outside]) assert.match(seen[url]!, /^failed/, `${url} must be unreachable: ${seen[url]}`);

  const routed = await probe([...closed, outside], { defaultRoute: true });
  for (const url of [...closed, outside]) assert.match(routed[url]!, /^failed/, `${url} must stay unreachable with a default route: ${routed[url]}`);
});

test('up -d twice leaves one copy of each rule', async (t) => {
  if (missing) return t.skip(missing);
  const first = await snapshot();
  const again = await offline(['up', '-d', '-c', config]);
  assert.equal(again.code, 0, again.stdout + again.stderr);
  assert.match(again.stdout, /network already up: nothing to change/);
  assert.equal((await snapshot()).filter, first.filter);
  const jumps = first.filter.split('\n').filter((l) => l === `-A INPUT -i ${NET.bridge} -j OFFLINE-${NET.bridge}`);
  assert.equal(jumps.length, 1);
  const status = JSON.parse((await offline(['status', '-c', config, '--json'])).stdout);
  assert.equal(status.network.up, true);
  assert.ok(status.network.interface.addresses.includes(`${NET.address}/32`));
  // established, one per mirror port, https (443) for the outside names (docs/adr/0009), drop.
  assert.equal(status.network.rules.length, 2 + Object.keys(PORTS).length + 1);
  assert.ok(status.network.rules.some((r: string) => r.includes(`-d ${NET.address}/32 -p tcp -m tcp --dport 443 -j ACCEPT`)), status.network.rules.join('\n'));
  assert.ok(status.mirrors.every((m: { serving: boolean }) => m.serving));
});

test('a real npm ci in a container on the isolated network installs from the npm mirror', async (t) => {
  if (missing) return t.skip(missing);
  const copy = join(work, 'ci-project');
  await cp(project, copy, { recursive: true });
  await rm(join(copy, 'node_modules'), { recursive: true, force: true });
  await mkdir(join(copy, '.cache'), { recursive: true });
  const r = await dockerRun([
    '--network', NET.docker_network, '-v', `${copy}:/work`, '-w', '/work', '-e', 'HOME=/work', image,
    'npm', 'ci', '--registry', `http://${NET.address}:${PORTS.npm}/`, '--cache', '/work/.cache', '--ignore-scripts', '--no-audit', '--no-fund',
  ], { timeoutMs: 300_000 });
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout + r.stderr, /added \d+ packages/);
});

test('up refuses a data directory others can write: whoever can write it could steer root', async (t) => {
  if (missing) return t.skip(missing);
  const data = join(work, 'mirrors');
  await chmod(data, 0o777);
  try {
    const refused = await offline(['up', '-d', '-c', config]);
    assert.equal(refused.code, 1, refused.stdout + refused.stderr);
    assert.match(refused.stderr, /not serving .*mirrors as nobody:\n.*is writable by others: chmod go-w/);
  } finally {
    await chmod(data, 0o755);
  }
});

test('down signals only the mirrors up started, not whatever process has that pid now', async (t) => {
  if (missing) return t.skip(missing);
  const state = join(work, 'mirrors', 'network-state.json');
  const recorded = JSON.parse(await readFile(state, 'utf8'));
  const bystander = spawn('sleep', ['60']);
  try {
    await writeFile(state, JSON.stringify({ ...recorded, mirrors: { ...recorded.mirrors, pid: bystander.pid } }));
    const downed = await offline(['down', '-c', config]);
    assert.equal(downed.code, 0, downed.stdout + downed.stderr);
    assert.match(downed.stdout, new RegExp(`left pid ${bystander.pid} alone`));
    assert.equal(bystander.exitCode, null, 'the bystander is still running');
    assert.ok(isAliveNow(bystander.pid!));
  } finally {
    bystander.kill('SIGKILL');
    // The real mirrors were left running by that down: stop them.
    if (isAliveNow(recorded.mirrors.pid)) process.kill(recorded.mirrors.pid, 'SIGTERM');
  }
  assert.equal((await offline(['up', '-d', '-c', config])).code, 0, 'up again, for the next test');
});

function isAliveNow(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

test('regression: a foreground up that stops leaves no pid behind for down to signal later (and --workers, no worker)', async (t) => {
  if (missing) return t.skip(missing);
  const state = join(work, 'mirrors', 'network-state.json');
  const before = JSON.parse(await readFile(state, 'utf8'));
  process.kill(before.mirrors.pid, 'SIGTERM'); // the detached mirrors of the tests above
  for (let i = 0; i < 50 && isAliveNow(before.mirrors.pid); i++) await new Promise((r) => setTimeout(r, 100));
  const foreground = spawn(process.execPath, [CLI, 'up', '-c', config, '--workers', '2'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  foreground.stdout!.on('data', (c: Buffer) => { out += c.toString(); });
  foreground.stderr!.on('data', (c: Buffer) => { out += c.toString(); });
  for (let i = 0; i < 300 && !/serving from disk only as nobody/.test(out); i++) await new Promise((r) => setTimeout(r, 100));
  assert.match(out, /mirrors starting as nobody/);
  assert.match(out, /serving from disk only as nobody \(uid \d+\) in 2 worker processes/);
  const running = JSON.parse(await readFile(state, 'utf8'));
  assert.ok(isAliveNow(running.mirrors.pid));
  const workers = (await run('pgrep', ['-P', String(running.mirrors.pid)])).stdout.split('\n').filter(Boolean).map(Number);
  assert.equal(workers.length, 2, `the workers of the mirrors' process: ${workers.join(' ')}`);
  foreground.kill('SIGTERM');
  await new Promise((r) => foreground.once('exit', r));
  assert.equal(isAliveNow(running.mirrors.pid), false, 'Ctrl-C (SIGTERM) stops the mirrors too');
  for (const pid of workers) assert.equal(isAliveNow(pid), false, `worker ${pid} stopped too`);
  const after = JSON.parse(await readFile(state, 'utf8'));
  assert.equal(after.mirrors, undefined, `the state no longer names a pid: ${JSON.stringify(after.mirrors)}`);
  assert.equal(after.created.link !== undefined, true, 'the wiring is still recorded for down');
});

test('down leaves iptables (filter and nat) and the links exactly as they were; down twice is harmless', async (t) => {
  if (missing) return t.skip(missing);
  const downed = await offline(['down', '-c', config]);
  assert.equal(downed.code, 0, downed.stdout + downed.stderr);
  const after = await snapshot();
  assert.equal(after.filter, initial.filter);
  assert.equal(after.nat, initial.nat);
  assert.equal(after.links, initial.links);
  assert.equal((await offline(['down', '-c', config])).code, 0);
  assert.equal((await run('docker', ['network', 'inspect', NET.docker_network])).code, 1, 'the network up created is gone');
});

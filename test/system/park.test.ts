/**
 * The park build, end to end, on the real machine: a compose project of ordinary Dockerfiles —
 * `FROM node:22` + `RUN npm ci`, `FROM python:3.11` + `RUN pip install -r requirements.txt`
 * (Debian 12's pip 23.0.1), `FROM archlinux:latest` + `RUN pacman -Sy --noconfirm app` — is synced
 * from upstreams this test starts (base images in a local registry under Docker Hub names, made
 * from local root filesystems), every upstream is stopped, and `offline up -d` then
 * `offline compose -- build` / `run` builds and runs all of it against the mirrors alone. A RUN
 * step and a running service reach a mirror port and nothing else (the bridge's gateway, a host
 * port that is not a mirror, a namespace playing the internet). `offline down` gives the daemon its
 * own `node:22` back, removes the images offline loaded, and leaves iptables and links as they were.
 * Two more services install what real projects' lockfiles name: a yarn 1 lockfile whose `resolved`
 * URLs all say https://registry.yarnpkg.com/, and an npm lockfile with a GitHub git dependency
 * (served by a local server playing codeload.github.com from a git repository made here) — both
 * unchanged, from the mirror, over the https offline answers for those names on the isolated network.
 * Docker Hub's hosts point at 127.0.0.1 for the duration, so no pull could ever leave the machine.
 */
import assert from 'node:assert/strict';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { stringify } from 'yaml';
import { dockerMissing, ensureTestImage, removeNetwork } from '../helpers/docker.ts';
import { startInternet, type Internet } from '../helpers/internet.ts';
import { makeTree, rootDependencies, startRegistry as startNpmRegistry, type FixtureRegistry } from '../helpers/npm-fixtures.ts';
import { makeProjects } from '../helpers/npm-projects.ts';
import { makeGitRepo, startCodeload, type GitRepo } from '../helpers/github-fixture.ts';
import { startRegistry, type Registry } from '../helpers/oci-registry.ts';
import { offline } from '../helpers/offline-cli.ts';
import { makeRepos, startMirrorServer, type MirrorServer } from '../helpers/pacman-fixtures.ts';
import { makeWheel, startIndex, type FixtureIndex } from '../helpers/pypi-fixtures.ts';
import { importRootfs, pacmanRootfs, pushDaemonImage, PYTHON_ROOTFS } from '../helpers/rootfs-images.ts';
import { snapshot, type Snapshot } from '../helpers/host-network.ts';
import { run } from '../helpers/run.ts';
import { workDir } from '../helpers/work-dir.ts';

const tools = (await run('sh', ['-c', 'docker compose version && command -v skopeo && command -v docker-registry && command -v makepkg'])).code === 0
  ? undefined : 'docker compose, skopeo, docker-registry or makepkg is not installed (.ci/run and .ci/docker install them)';
const missing = (await dockerMissing()) ?? tools;
const NET = { interface: 'offpark0', address: '10.252.9.254', docker_network: 'offline-park-test', subnet: '10.252.9.0/24', bridge: 'br-offpark' };
const GATEWAY = '10.252.9.1';
const PORTS = { npm: 24883, pypi: 23151, pacman: 29139, docker: 25010 };
const HUB_HOSTS = ['registry-1.docker.io', 'index.docker.io', 'auth.docker.io', 'production.cloudflare.docker.com'];
const BASES = ['node:22', 'python:3.11', 'archlinux:latest'];
const PROJECT = 'offline-park-shop';
const BUILT = ['web', 'api', 'tools', 'probe', 'legacy', 'gitdep'].map((s) => `${PROJECT}-${s}`);

let work: string;
let config: string;
let shop: string;
let internet: Internet;
let hostService: Server;
let hostsBefore: string | undefined;
let upstreams: Array<{ close(): Promise<void> }> = [];
let initial: Snapshot;
let ownNode: string;
let composeText: string;
let yarnLock: string;
let gitLock: string;

async function imageId(name: string): Promise<string | undefined> {
  const r = await run('docker', ['image', 'inspect', '--format', '{{.Id}}', name]);
  return r.code === 0 ? r.stdout.trim() : undefined;
}

async function ok(cmd: string, args: string[], timeoutMs = 120_000): Promise<string> {
  const r = await run(cmd, args, { timeoutMs });
  assert.equal(r.code, 0, `${cmd} ${args.join(' ')}:\n${r.stdout}${r.stderr}`);
  return r.stdout;
}

/** The probe: fetch each URL (3 s each, in parallel), print `{ url: status | "failed <code>" }`. */
function probeScript(urls: string[]): string {
  return `Promise.all(${JSON.stringify(urls)}.map((u) => fetch(u, { signal: AbortSignal.timeout(3000) })
  .then((r) => [u, String(r.status)], (e) => [u, 'failed ' + (e.cause?.code ?? e.name)])))
  .then((r) => console.log(JSON.stringify(Object.fromEntries(r))));
`;
}

/** Writes the user's project: compose.yaml with a network of its own (which must not be used), six services. */
async function writeShop(dir: string, npmProject: string, yarnProject: string, registry: string, lib: GitRepo, urls: string[]): Promise<void> {
  const write = async (path: string, text: string) => {
    await mkdir(join(dir, path, '..'), { recursive: true });
    await writeFile(join(dir, path), text);
  };
  composeText = stringify({
    name: PROJECT,
    services: {
      web: { build: './web', networks: ['front'] },
      api: { build: { context: './api' } },
      tools: { build: './tools', network_mode: 'bridge' },
      probe: { build: './probe', networks: ['front'] },
      legacy: { build: './legacy' },
      gitdep: { build: './gitdep' },
    },
    networks: { front: {} },
  });
  await write('compose.yaml', composeText);
  await write('web/package.json', await readFile(join(npmProject, 'package.json'), 'utf8'));
  await write('web/package-lock.json', await readFile(join(npmProject, 'package-lock.npm.json'), 'utf8'));
  await write('web/Dockerfile', [
    'FROM node:22', 'WORKDIR /app', 'COPY package.json package-lock.json ./', 'RUN npm ci', 'COPY check.js ./', 'CMD ["node", "check.js"]', '',
  ].join('\n'));
  await write('web/check.js', `const deps = Object.keys(require('./package.json').dependencies);
for (const d of deps) require('node:fs').statSync('node_modules/' + d + '/package.json');
console.log('web: ' + deps.length + ' dependencies installed');
`);
  // yarn 1 as real projects have it: every resolved URL on registry.yarnpkg.com.
  yarnLock = (await readFile(join(yarnProject, 'yarn.lock'), 'utf8')).replaceAll(`${registry}/`, 'https://registry.yarnpkg.com/');
  assert.ok(!yarnLock.includes(registry) && yarnLock.includes('resolved "https://registry.yarnpkg.com/'), 'the yarn.lock names registry.yarnpkg.com only');
  await write('legacy/package.json', await readFile(join(yarnProject, 'package.json'), 'utf8'));
  await write('legacy/yarn.lock', yarnLock);
  await write('legacy/check.js', await readFile(join(dir, 'web/check.js'), 'utf8'));
  await write('legacy/Dockerfile', [
    'FROM node:22', 'WORKDIR /app', 'COPY package.json yarn.lock ./', 'RUN yarn install --frozen-lockfile --non-interactive --no-progress', 'COPY check.js ./', 'CMD ["node", "check.js"]', '',
  ].join('\n'));
  // npm with a GitHub dependency pinned to a commit, as npm writes it.
  const spec = `github:${lib.owner}/${lib.repo}#${lib.commit}`;
  await write('gitdep/package.json', JSON.stringify({ name: 'gitdep-app', version: '1.0.0', dependencies: { [lib.repo]: spec } }, null, 2));
  gitLock = JSON.stringify({
    name: 'gitdep-app', version: '1.0.0', lockfileVersion: 3, requires: true,
    packages: {
      '': { name: 'gitdep-app', version: '1.0.0', dependencies: { [lib.repo]: spec } },
      [`node_modules/${lib.repo}`]: { version: '1.0.0', resolved: `git+ssh://git@github.com/${lib.owner}/${lib.repo}.git#${lib.commit}` },
    },
  }, null, 2);
  await write('gitdep/package-lock.json', gitLock);
  await write('gitdep/Dockerfile', [
    'FROM node:22', 'WORKDIR /app', 'COPY package.json package-lock.json ./', 'RUN npm ci', `CMD ["node", "-e", "console.log(require('${lib.repo}'))"]`, '',
  ].join('\n'));
  await write('api/requirements.txt', 'parkpkg==1.0\n');
  await write('api/Dockerfile', [
    'FROM python:3.11', 'COPY requirements.txt /app/', 'RUN pip install -r /app/requirements.txt',
    'CMD ["python3", "-c", "import parkpkg, parkdep; print(parkpkg.MESSAGE, parkdep.MESSAGE)"]', '',
  ].join('\n'));
  await write('tools/Dockerfile', ['FROM archlinux:latest', 'RUN pacman -Sy --noconfirm app', 'CMD ["cat", "/usr/share/app/README"]', ''].join('\n'));
  await write('probe/probe.js', probeScript(urls));
  await write('probe/Dockerfile', ['FROM node:22', 'COPY probe.js /probe.js', 'RUN node /probe.js > /built-probe.json', 'CMD ["node", "/probe.js"]', ''].join('\n'));
  await write('bad-packages/Dockerfile', [
    'FROM python:3.11', 'RUN pip install --no-cache-dir ParkDep flask && pacman -S --noconfirm app ghost', 'RUN npm install -g left-pad@1', '',
  ].join('\n'));
  await write('bad/Dockerfile', ['FROM node:22 AS deps', 'FROM ruby:3.3', 'COPY --from=deps /usr/local/bin/node /node', ''].join('\n'));
}

before(async () => {
  if (missing) return;
  work = await workDir('offline-park-');
  shop = join(work, 'shop');
  internet = await startInternet();
  hostService = createServer((_, res) => res.end('host service\n'));
  await new Promise<void>((r) => hostService.listen(0, '0.0.0.0', r));
  hostsBefore = await readFile('/etc/hosts', 'utf8');
  await writeFile('/etc/hosts', `${hostsBefore.trimEnd()}\n# offline test guard\n${HUB_HOSTS.map((h) => `127.0.0.1 ${h}`).join('\n')}\n`);

  // Upstreams, each a local server with fixtures made here.
  const tree = makeTree({ packages: 32, seed: 'park' });
  const npm: FixtureRegistry = await startNpmRegistry(tree);
  upstreams.push(npm);
  const projects = await makeProjects(npm.url, join(work, 'npm-projects'), { dependencies: rootDependencies(tree) });
  const lib = await makeGitRepo(join(work, 'git/park-lib'), 'offline-test', 'park-lib', {
    'package.json': JSON.stringify({ name: 'park-lib', version: '1.0.0', main: 'index.js' }),
    'index.js': 'module.exports = "gitdep: from a GitHub commit, through the mirror";\n',
  });
  const codeload = await startCodeload([lib]);
  upstreams.push(codeload);
  const parkdep = await makeWheel({ name: 'parkdep', version: '1.2', files: { 'parkdep/__init__.py': 'MESSAGE = "and its dependency"\n' } });
  const parkpkg = await makeWheel({ name: 'parkpkg', version: '1.0', requiresDist: ['parkdep>=1'], files: { 'parkpkg/__init__.py': 'MESSAGE = "api: from the PyPI mirror"\n' } });
  const pypi: FixtureIndex = await startIndex([{ name: 'parkpkg', files: [parkpkg] }, { name: 'parkdep', files: [parkdep] }]);
  upstreams.push(pypi);
  const repos = await makeRepos(join(work, 'pacman-upstream'));
  const pacman: MirrorServer = await startMirrorServer(repos.dir);
  upstreams.push(pacman);
  const registry: Registry = await startRegistry(join(work, 'registry'));
  upstreams.push(registry);
  const scratch = join(work, 'images');
  await mkdir(scratch, { recursive: true });
  await pushDaemonImage(await ensureTestImage(), registry.host, 'library/node:22', scratch);
  for (const [local, spec, repo] of [
    ['offline-park-test/python:src', PYTHON_ROOTFS, 'library/python:3.11'],
    ['offline-park-test/arch:src', pacmanRootfs(`http://${internet.address}/$repo/os/$arch`), 'library/archlinux:latest'],
  ] as const) {
    await importRootfs(local, spec);
    await pushDaemonImage(local, registry.host, repo, scratch);
    await ok('docker', ['image', 'rm', local]);
  }

  const hostPort = (hostService.address() as AddressInfo).port;
  await writeShop(shop, projects['npm-v3'], projects['yarn-classic'], npm.url, lib, [
    `http://${NET.address}:${PORTS.npm}/`, 'https://registry.yarnpkg.com/', `http://${GATEWAY}:${hostPort}/`, `http://${GATEWAY}:${PORTS.npm}/`,
    `http://${NET.address}:${hostPort}/`, `http://${internet.address}:${internet.port}/`,
  ]);
  config = join(work, 'offline.yaml');
  await writeFile(config, stringify({
    data: './mirrors',
    npm: { port: PORTS.npm, upstream: npm.url, github: codeload.url, lockfiles: ['shop/web/package-lock.json', 'shop/legacy/yarn.lock', 'shop/gitdep/package-lock.json'] },
    pypi: { port: PORTS.pypi, upstream: pypi.url, requirements: ['shop/api/requirements.txt'], python: ['3.11'], platforms: ['manylinux_2_17_x86_64'] },
    pacman: { port: PORTS.pacman, upstream: `${pacman.url}/$repo/os/$arch`, repos: ['core', 'extra'], arch: ['x86_64'], packages: ['app'] },
    docker: { port: PORTS.docker, images: BASES, platforms: ['linux/amd64'], registries: { 'docker.io': registry.url } },
    network: NET,
  }));
  const synced = await offline(['sync', '-c', config], { timeoutMs: 600_000 });
  assert.equal(synced.code, 0, synced.stdout + synced.stderr);
  assert.deepEqual(codeload.requests, [`/offline-test/park-lib/tar.gz/${lib.commit}`], 'sync fetched the pinned commit from the codeload upstream');

  // In the park: no upstream, and the daemon has none of the base images — except its own,
  // different node:22, which offline must keep and put back.
  for (const upstream of upstreams) await upstream.close();
  upstreams = [];
  for (const name of [...BASES, ...BASES.map((b) => `offline-original/${b}`)]) await run('docker', ['image', 'rm', '--force', name]);
  await importRootfs('node:22', {});
  ownNode = (await imageId('node:22'))!;
  initial = await snapshot();
});

after(async () => {
  if (missing) return;
  await run('docker', ['compose', '-f', join(shop, 'compose.yaml'), 'down', '--remove-orphans'], { timeoutMs: 120_000 }).catch(() => undefined);
  await offline(['down', '-c', config]).catch(() => undefined);
  await run('docker', ['image', 'rm', '--force', ...BUILT, 'node:22', 'park-tools:dev']);
  await removeNetwork(`${PROJECT}_front`).catch(() => undefined);
  for (const upstream of upstreams) await upstream.close();
  if (hostsBefore !== undefined) await writeFile('/etc/hosts', hostsBefore);
  hostService?.close();
  await internet?.close();
  if (work && !process.env.OFFLINE_TEST_KEEP) await rm(work, { recursive: true, force: true });
});

test('up -d loads every base image from the Docker mirror under its own name, pointed at the mirrors', async (t) => {
  if (missing) return t.skip(missing);
  const upped = await offline(['up', '-d', '-c', config], { timeoutMs: 300_000 });
  assert.equal(upped.code, 0, upped.stdout + upped.stderr);
  for (const name of BASES) assert.match(upped.stdout, new RegExp(`base image ${name.replace('.', '\\.')}: loaded from the mirror`));
  assert.match(upped.stdout, /the daemon's own kept as offline-original\/node:22/);
  assert.equal(await imageId('offline-original/node:22'), ownNode);

  const inspect = JSON.parse(await ok('docker', ['image', 'inspect', 'python:3.11']))[0];
  assert.equal(inspect.Config.Labels['dev.offline.base'], 'python:3.11');
  assert.ok(inspect.Config.Env.includes(`PIP_INDEX_URL=http://${NET.address}:${PORTS.pypi}/simple/`), inspect.Config.Env.join('\n'));
  assert.ok(inspect.Config.Env.includes(`PIP_TRUSTED_HOST=${NET.address}`));
  const node = JSON.parse(await ok('docker', ['image', 'inspect', 'node:22']))[0];
  assert.ok(node.Config.Env.includes('NODE_EXTRA_CA_CERTS=/usr/local/share/ca-certificates/offline-mirror.crt'), node.Config.Env.join('\n'));
  const ca = await ok('docker', ['run', '--rm', '--network', 'none', 'node:22', 'cat', '/usr/local/share/ca-certificates/offline-mirror.crt']);
  assert.equal(ca, await readFile(join(work, 'mirrors/tls/ca.crt'), 'utf8'));
  assert.match(upped.stdout, /on the isolated network only: https:\/\/\{registry\.npmjs\.org,registry\.yarnpkg\.com,codeload\.github\.com\}\/ answered on 10\.252\.9\.254:443/);
  assert.doesNotMatch(await readFile('/etc/hosts', 'utf8'), /yarnpkg|codeload/, 'the host resolves none of the outside names to the mirror');
  const mirrorlist = await ok('docker', ['run', '--rm', '--network', 'none', 'archlinux:latest', 'cat', '/etc/pacman.d/mirrorlist']);
  assert.match(mirrorlist, new RegExp(`^Server = http://${NET.address.replace(/\./g, '\\.')}:${PORTS.pacman}/\\$repo/os/\\$arch$`, 'm'));
  const nodeList = await run('docker', ['run', '--rm', '--network', 'none', 'node:22', 'ls', '/etc/pacman.d']);
  assert.notEqual(nodeList.code, 0, 'an image without pacman gets no mirrorlist');

  const again = await offline(['up', '-d', '-c', config], { timeoutMs: 300_000 });
  assert.equal(again.code, 0, again.stdout + again.stderr);
  assert.match(again.stdout, /base images already loaded: node:22, python:3\.11, archlinux:latest/);
});

test('offline check: the yarn 1 and git lockfiles are ready in the park, and not on this machine, with the reason', async (t) => {
  if (missing) return t.skip(missing);
  const checked = await offline(['check', '-c', config], { timeoutMs: 300_000 });
  assert.equal(checked.code, 0, checked.stdout + checked.stderr);
  assert.match(checked.stdout, /shop\/legacy\/yarn\.lock \(yarn 1\): ready in park builds and containers on the isolated network/);
  assert.match(checked.stdout, /shop\/legacy\/yarn\.lock \(yarn 1\): not on this machine: \d+ packages are fetched from https:\/\/registry\.yarnpkg\.com\/ as written/);
  assert.match(checked.stdout, /shop\/gitdep\/package-lock\.json \(npm\): not on this machine: \S*shop\/gitdep\/package-lock\.json:\d+: park-lib is fetched from codeload\.github\.com/);
});

test('offline compose -- build builds every service of the unmodified project against the mirrors alone', async (t) => {
  if (missing) return t.skip(missing);
  const built = await offline(['compose', '-c', config, '--', 'build'], { cwd: shop, timeoutMs: 900_000 });
  assert.equal(built.code, 0, built.stdout + built.stderr);
  for (const image of BUILT) assert.ok(await imageId(image), `${image} was built`);
  const override = await readFile(join(shop, '.offline.compose.yaml'), 'utf8');
  assert.match(override, /networks: !override/);
  assert.match(override, /extra_hosts:\n(\s+- "[^"]+"\n)*\s+- "registry\.yarnpkg\.com:10\.252\.9\.254"/);
  assert.equal(await ok('docker', ['run', '--rm', '--network', 'none', `${PROJECT}-legacy`, 'cat', '/app/yarn.lock']), yarnLock, 'yarn 1 installed with the lockfile unchanged');
  assert.equal(await ok('docker', ['run', '--rm', '--network', 'none', `${PROJECT}-gitdep`, 'cat', '/app/package-lock.json']), gitLock, 'npm ci installed with the lockfile unchanged');
  assert.equal(await readFile(join(shop, 'compose.yaml'), 'utf8'), composeText, 'the user\'s compose file is unchanged');
});

test('offline compose -- run --rm runs each service', async (t) => {
  if (missing) return t.skip(missing);
  const expect: Record<string, RegExp> = {
    web: /^web: \d+ dependencies installed$/m,
    legacy: /^web: \d+ dependencies installed$/m,
    gitdep: /^gitdep: from a GitHub commit, through the mirror$/m,
    api: /^api: from the PyPI mirror and its dependency$/m,
    tools: /^app 1\.0-1$/m,
  };
  for (const [service, pattern] of Object.entries(expect)) {
    const ran = await offline(['compose', '-c', config, '--', 'run', '--rm', service], { cwd: shop, timeoutMs: 120_000 });
    assert.equal(ran.code, 0, `${service}: ${ran.stdout}${ran.stderr}`);
    assert.match(ran.stdout, pattern, `${service}: ${ran.stdout}`);
  }
});

test('a RUN step and a running service reach a mirror port and nothing else', async (t) => {
  if (missing) return t.skip(missing);
  const hostPort = (hostService.address() as AddressInfo).port;
  const mirror = `http://${NET.address}:${PORTS.npm}/`;
  const closed = [`http://${GATEWAY}:${hostPort}/`, `http://${GATEWAY}:${PORTS.npm}/`, `http://${NET.address}:${hostPort}/`, `http://${internet.address}:${internet.port}/`];
  const during = await offline(['compose', '-c', config, '--', 'run', '--rm', 'probe', 'cat', '/built-probe.json'], { cwd: shop, timeoutMs: 120_000 });
  assert.equal(during.code, 0, during.stdout + during.stderr);
  const running = await offline(['compose', '-c', config, '--', 'run', '--rm', 'probe'], { cwd: shop, timeoutMs: 120_000 });
  assert.equal(running.code, 0, running.stdout + running.stderr);
  for (const [when, out] of [['RUN step', during.stdout], ['running service', running.stdout]] as const) {
    const seen = JSON.parse(out.trim().split('\n').at(-1)!) as Record<string, string>;
    assert.match(seen[mirror]!, /^\d{3}$/, `${when}: the npm mirror answers: ${seen[mirror]}`);
    assert.match(seen['https://registry.yarnpkg.com/']!, /^\d{3}$/, `${when}: registry.yarnpkg.com is the mirror, over https offline's CA signed: ${seen['https://registry.yarnpkg.com/']}`);
    for (const url of closed) assert.match(seen[url]!, /^failed/, `${when}: ${url} must be unreachable: ${seen[url]}`);
  }
});

test('offline build -- builds one image like docker build; a FROM image or a RUN package that is not mirrored stops it first, naming the line and the key', async (t) => {
  if (missing) return t.skip(missing);
  const built = await offline(['build', '-c', config, '--', '-t', 'park-tools:dev', './tools'], { cwd: shop, timeoutMs: 300_000 });
  assert.equal(built.code, 0, built.stdout + built.stderr);
  assert.match(await ok('docker', ['run', '--rm', '--network', 'none', 'park-tools:dev']), /^app 1\.0-1$/m);

  const refused = await offline(['build', '-c', config, '--', '-t', 'park-bad', './bad'], { cwd: shop, timeoutMs: 60_000 });
  assert.equal(refused.code, 1, refused.stdout + refused.stderr);
  assert.match(refused.stderr, /bad\/Dockerfile:2: FROM ruby:3\.3 is not mirrored: add "ruby:3\.3" to docker\.images/);
  assert.doesNotMatch(refused.stderr, /Dockerfile:1/, 'node:22 is mirrored');
  assert.equal(await imageId('park-bad'), undefined);

  const unserved = await offline(['build', '-c', config, '--', '-t', 'park-bad', './bad-packages'], { cwd: shop, timeoutMs: 60_000 });
  assert.equal(unserved.code, 1, unserved.stdout + unserved.stderr);
  assert.match(unserved.stderr, /bad-packages\/Dockerfile:2: RUN installs flask, but flask is not in the PyPI mirror: add "flask" to pypi\.packages/);
  assert.match(unserved.stderr, /bad-packages\/Dockerfile:2: RUN installs ghost, but the pacman mirror cannot install it \(target not found in [^)]+\): add "ghost" to pacman\.packages/);
  assert.match(unserved.stderr, /bad-packages\/Dockerfile:3: RUN installs left-pad@1, but left-pad is not in the npm mirror: add "left-pad" to npm\.packages/);
  assert.doesNotMatch(unserved.stderr, /installs (ParkDep|app)\b/, 'mirrored packages pass');
  assert.equal(await imageId('park-bad'), undefined);
});

test('offline down puts the daemon\'s own base images back and leaves iptables and links as before', async (t) => {
  if (missing) return t.skip(missing);
  await ok('docker', ['compose', '-f', join(shop, 'compose.yaml'), '-f', join(shop, '.offline.compose.yaml'), 'down'], 120_000);
  const downed = await offline(['down', '-c', config], { timeoutMs: 120_000 });
  assert.equal(downed.code, 0, downed.stdout + downed.stderr);
  assert.equal(await imageId('node:22'), ownNode, 'the daemon\'s own node:22 is back');
  assert.equal(await imageId('offline-original/node:22'), undefined);
  for (const name of ['python:3.11', 'archlinux:latest']) assert.equal(await imageId(name), undefined, `${name} was offline's and is gone`);
  assert.ok(await imageId(BUILT[0]!), 'images the user built are left alone');
  const now = await snapshot();
  assert.equal(now.filter, initial.filter);
  assert.equal(now.nat, initial.nat);
  assert.equal(now.links, initial.links);
});

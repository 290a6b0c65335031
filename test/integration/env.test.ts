/**
 * `offline env` writes client configuration that real clients use as it is: npm reads only the
 * generated `.npmrc`, pip only the generated `pip.conf`, pacman only the generated mirrorlist's
 * server, inside a network namespace where the mirrors are all there is.
 */
import assert from 'node:assert/strict';
import { cp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { stringify } from 'yaml';
import { makeTree, rootDependencies, startRegistry, type FixtureRegistry } from '../helpers/npm-fixtures.ts';
import { isolatedEnv, makeProjects } from '../helpers/npm-projects.ts';
import { offline, serveInBackground } from '../helpers/offline-cli.ts';
import { makeRepos, missingTool, pacmanRoot, pacmanShell, startMirrorServer, installed, type MirrorServer } from '../helpers/pacman-fixtures.ts';
import { makeFixtureIndex, pipEnv, startIndex, type FixtureIndex } from '../helpers/pypi-fixtures.ts';
import { hasNetns, inNetns } from '../helpers/run.ts';
import { workDir } from '../helpers/work-dir.ts';
import { claimPorts } from '../helpers/ports.ts';

const netnsMissing = await hasNetns();
const pacmanMissing = (await Promise.all(['pacman', 'repo-add', 'bsdtar'].map(missingTool))).find(Boolean);
let work: string;
let npmUpstream: FixtureRegistry;
let pypiUpstream: FixtureIndex;
let pacmanUpstream: MirrorServer | undefined;
let project: string;
let config: string;

before(async () => {
  work = await workDir('offline-env-');
  const tree = makeTree({ packages: 40 });
  npmUpstream = await startRegistry(tree);
  const projects = await makeProjects(npmUpstream.url, join(work, 'projects'), { dependencies: rootDependencies(tree) });
  project = join(work, 'project');
  await cp(projects['npm-v3'], project, { recursive: true });
  await cp(join(project, 'package-lock.npm.json'), join(project, 'package-lock.json'));
  pypiUpstream = await startIndex(await makeFixtureIndex());
  if (!pacmanMissing) pacmanUpstream = await startMirrorServer((await makeRepos(join(work, 'pacman'))).dir);
  const port = await claimPorts(4);
  config = join(work, 'offline.yaml');
  await writeFile(config, stringify({
    data: './mirrors', listen: '127.0.0.1',
    npm: { port, upstream: npmUpstream.url, lockfiles: [join(project, 'package-lock.json')] },
    pypi: { port: port + 1, upstream: pypiUpstream.url, packages: ['app[fast]'], python: ['3.11'], platforms: ['manylinux_2_28_x86_64'] },
    pacman: { port: port + 2, upstream: `${pacmanUpstream?.url ?? 'http://127.0.0.1:9'}/$repo/os/$arch`, packages: pacmanMissing ? [] : ['app'] },
    docker: { port: port + 3 },
  }));
  const synced = await offline(['sync', '-c', config]);
  assert.equal(synced.code, 0, synced.stdout + synced.stderr);
});

after(async () => {
  await npmUpstream?.close();
  await pypiUpstream?.close();
  await pacmanUpstream?.close();
  if (work) await rm(work, { recursive: true, force: true });
});

test('the exports and files point every client at the mirrors on the given address', async () => {
  const printed = await offline(['env', '-c', config, '--address', '10.1.1.254']);
  assert.equal(printed.code, 0);
  assert.match(printed.stdout, /^export npm_config_registry='http:\/\/10\.1\.1\.254:\d+\/'$/m);
  assert.match(printed.stdout, /^export PIP_TRUSTED_HOST='10\.1\.1\.254'$/m, 'plain http off loopback needs trusted-host');
  const json = JSON.parse((await offline(['env', '-c', config, '--address', '10.1.1.254', '--json'])).stdout);
  const daemon = JSON.parse(json.files.find((f: { name: string }) => f.name === 'daemon.json').content);
  assert.deepEqual(daemon['insecure-registries'], [json.urls.docker]);
  assert.match(json.files.find((f: { name: string }) => f.name === 'buildkitd.toml').content, /\[registry\."docker\.io"\]\nmirrors = \[ "10\.1\.1\.254:\d+" \]/);
});

test('npm, pip and pacman install from the mirrors with nothing but the generated files', async (t) => {
  if (netnsMissing) return t.skip(`no network namespace: ${netnsMissing}`);
  const dir = join(work, 'client');
  const written = await offline(['env', '-c', config, '--write', dir]);
  assert.equal(written.code, 0, written.stderr);
  const home = join(work, 'home');
  await mkdir(join(home, 'tmp'), { recursive: true });
  const env: NodeJS.ProcessEnv = { ...isolatedEnv(home, 'http://127.0.0.1:9'), ...pipEnv(home), npm_config_userconfig: join(dir, '.npmrc'), PIP_CONFIG_FILE: join(dir, 'pip.conf') };
  delete env.npm_config_registry;
  const lines = [
    serveInBackground(config, join(work, 'serve.log')),
    `cd '${project}' && npm ci --ignore-scripts || exit 1`,
    `python3 -m pip install --no-cache-dir --target '${join(work, 'site')}' 'app[fast]' || exit 2`,
  ];
  if (!pacmanMissing) {
    const server = /^Server = (.+)$/m.exec(await readFile(join(dir, 'mirrorlist'), 'utf8'))![1]!;
    const root = await pacmanRoot(join(work, 'pacman-root'), { core: server, extra: server });
    lines.push(`${pacmanShell(root, '-Sy', '--noconfirm', 'app')} || exit 3`);
    t.after(async () => assert.ok('app' in (await installed(root))));
  }
  const result = await inNetns(lines.join('\n'), { env, timeoutMs: 300_000 });
  assert.equal(result.code, 0, `${result.stdout}\n${result.stderr}`);
  assert.match(await readFile(join(project, 'node_modules', '@fx', 'bin', 'package.json'), 'utf8'), /"name"/);
});

/**
 * The misses ledger end to end (docs/adr/0015): real clients — npm, pip, skopeo — in a network
 * namespace with loopback only ask a serving mirror for things never mirrored; `offline misses
 * --json` lists exactly those as items a sync can fetch; online again, the controller's API
 * (which refuses every route without its token) runs the sync of the misses, its events stream
 * progress and end with an ok report, the items leave the ledger, and the same clients then
 * succeed offline. Also: `offline sync --misses` keeps what still fails with its reason, and
 * `--clear` empties the ledger.
 */
import assert from 'node:assert/strict';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { stringify } from 'yaml';
import { createApp } from '../../src/controller/app.ts';
import { ensureControllerToken } from '../../src/core/controller-access.ts';
import { loadConfig } from '../../src/ecosystems/config.ts';
import { makeTree, startRegistry as startNpmRegistry, type FixtureRegistry } from '../helpers/npm-fixtures.ts';
import { makeFixtureImages } from '../helpers/oci-images.ts';
import { pushImages, skopeoArgs, skopeoEnv, startRegistry as startOciRegistry, type Registry } from '../helpers/oci-registry.ts';
import { offline, serveInBackground } from '../helpers/offline-cli.ts';
import { makeWheel, pipEnv, startIndex, type FixtureIndex } from '../helpers/pypi-fixtures.ts';
import { hasNetns, inNetns, run } from '../helpers/run.ts';
import { openEvents, type SseEvent } from '../helpers/sse.ts';
import { workDir } from '../helpers/work-dir.ts';
import { claimPorts } from '../helpers/ports.ts';

const missing = (await run('sh', ['-c', 'command -v skopeo && command -v docker-registry && command -v npm && command -v python3'])).code === 0
  ? await hasNetns() : 'skopeo, docker-registry, npm or python3 is not installed';

let work: string;
let config: string;
let port: number;
let npm: FixtureRegistry;
let pypi: FixtureIndex;
let oci: Registry;

/** What `offline env` sets for npm: no update check (it would ask the mirror for `npm` itself). */
const NPM_OFFLINE = 'npm_config_update_notifier=false';

type Ledger = { misses: Array<{ mirror: string; item: string; count: number; reason?: string }>; unseen: Array<{ mirror: string; why: string }> };

before(async () => {
  if (missing) return;
  work = await workDir('offline-misses-');
  npm = await startNpmRegistry(makeTree({ packages: 30 }));
  pypi = await startIndex([
    { name: 'app', files: [await makeWheel({ name: 'app', version: '1.0.0' })] },
    { name: 'other', files: [await makeWheel({ name: 'other', version: '2.1.0' })] },
  ]);
  oci = await startOciRegistry(join(work, 'registry'));
  await pushImages(oci.host, await makeFixtureImages(join(work, 'images')), join(work, 'skopeo-push'));
  port = await claimPorts(4);
  config = join(work, 'offline.yaml');
  // Mirrored at first: one package each, no image; everything the clients then ask for is a miss.
  await writeFile(config, stringify({
    data: './mirrors', listen: '127.0.0.1',
    npm: { port, upstream: npm.url, packages: ['old-deprecated@^1'] },
    pypi: { port: port + 1, upstream: pypi.url, packages: ['app'], python: ['3.11'] },
    pacman: { port: port + 2 },
    docker: { port: port + 3, platforms: ['linux/amd64'], registries: { 'docker.io': oci.url } },
  }));
  const synced = await offline(['sync', '-c', config]);
  assert.equal(synced.code, 0, synced.stdout + synced.stderr);
});

after(async () => {
  await Promise.all([npm?.close(), pypi?.close(), oci?.close()]);
  if (work && !process.env.OFFLINE_TEST_KEEP) await rm(work, { recursive: true, force: true });
});

/** Serve in a namespace with loopback only and run the three clients; `fail` prefixes each failure. */
async function clients(name: string): Promise<{ npm: boolean; pip: boolean; skopeo: boolean; output: string }> {
  const dir = join(work, name);
  const project = join(dir, 'project');
  await mkdir(project, { recursive: true });
  await writeFile(join(project, 'package.json'), '{"name":"p","version":"1.0.0","private":true}\n');
  const sk = ['skopeo', ...skopeoArgs(join(dir, 'skopeo'), ['copy', `docker://127.0.0.1:${port + 3}/library/single:1.0`, `dir:${join(dir, 'image')}`])].map((a) => `'${a}'`).join(' ');
  const script = [
    serveInBackground(config, join(dir, 'serve.log')),
    `(cd '${project}' && HOME='${dir}' ${NPM_OFFLINE} npm install multi-ver --registry http://127.0.0.1:${port}/ --cache '${dir}/npm-cache' --no-audit --no-fund --ignore-scripts --fetch-retries 0) > '${dir}/npm.log' 2>&1; echo "npm=$?"`,
    `python3 -m pip --isolated --disable-pip-version-check --no-cache-dir --no-input install --index-url http://127.0.0.1:${port + 1}/simple/ --target '${dir}/site' other > '${dir}/pip.log' 2>&1; echo "pip=$?"`,
    `${sk} > '${dir}/skopeo.log' 2>&1; echo "skopeo=$?"`,
  ].join('\n');
  const r = await inNetns(script, { env: { ...pipEnv(dir), ...skopeoEnv(join(dir, 'skopeo')) }, timeoutMs: 300_000 });
  const code = (tool: string) => new RegExp(`^${tool}=0$`, 'm').test(r.stdout);
  return { npm: code('npm'), pip: code('pip'), skopeo: code('skopeo'), output: r.stdout + r.stderr };
}

async function ledger(): Promise<Ledger> {
  const r = await offline(['misses', '-c', config, '--json']);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  return JSON.parse(r.stdout) as Ledger;
}

test('what npm, pip and skopeo asked for and did not get is in the ledger, as items a sync can fetch', async (t) => {
  if (missing) return t.skip(missing);
  const first = await clients('offline-1');
  assert.deepEqual([first.npm, first.pip, first.skopeo], [false, false, false], `nothing was mirrored for them: ${first.output}`);
  const { misses, unseen } = await ledger();
  assert.deepEqual(misses.map((m) => `${m.mirror} ${m.item}`).sort(), ['docker docker.io/library/single:1.0', 'npm multi-ver', 'pypi other']);
  assert.ok(misses.every((m) => m.count >= 1 && !m.reason));
  assert.deepEqual(unseen.map((u) => u.mirror), ['pacman'], 'pacman says why it cannot show misses');
  const text = await offline(['misses', '-c', config]);
  assert.match(text.stdout, /npm +multi-ver/);
  assert.match(text.stdout, /offline sync --misses/);
});

test('the controller refuses the API without its token; POST /api/sync {"misses": true} streams progress and ends ok; the clients then succeed and the ledger is empty', async (t) => {
  if (missing) return t.skip(missing);
  const loaded = await loadConfig(config, {});
  const token = await ensureControllerToken(loaded.data);
  const app = createApp({ config: loaded, token });
  const server = createServer(app.callback());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  try {
    for (const [method, path] of [['GET', '/api/status'], ['GET', '/api/misses'], ['POST', '/api/sync']] as const) {
      for (const headers of [{}, { authorization: 'Bearer not-the-token' }]) {
        const refused = await fetch(`${base}${path}`, { method, headers });
        assert.equal(refused.status, 401, `${method} ${path} ${JSON.stringify(headers)}`);
        assert.equal(((await refused.json()) as { error: { code: string } }).error.code, 'OFFLINE_ERR_UNAUTHORIZED');
      }
    }
    const auth = { authorization: `Bearer ${token}` };
    const listed = (await (await fetch(`${base}/api/misses`, { headers: auth })).json()) as Ledger;
    assert.deepEqual(listed.misses.map((m) => m.item).sort(), ['docker.io/library/single:1.0', 'multi-ver', 'other'], 'the API lists what the CLI does');
    const started = await fetch(`${base}/api/sync`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: '{"misses": true}' });
    assert.equal(started.status, 202);
    const { id } = (await started.json()) as { id: string };
    const events = await openEvents(`${base}/api/sync/${id}/events`, auth);
    assert.equal(events.status, 200);
    assert.match(events.type, /^text\/event-stream/);
    const seen: SseEvent[] = [];
    for (let e = await events.next(); e; e = await events.next()) seen.push(e);
    assert.ok(seen.some((e) => e.event === 'progress'), 'progress events');
    assert.equal(seen.filter((e) => e.event === 'done').length, 1);
    assert.equal(seen.at(-1)?.event, 'done', 'done is the last event');
    const report = JSON.parse(seen.at(-1)!.data) as { ok: boolean; misses: { taken: number; mirrored: string[]; remaining: unknown[] } };
    assert.equal(report.ok, true, seen.at(-1)!.data);
    assert.deepEqual(report.misses.mirrored.sort(), ['docker.io/library/single:1.0', 'multi-ver', 'other']);
    assert.deepEqual(report.misses.remaining, []);
  } finally {
    await app.close();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
  assert.deepEqual((await ledger()).misses, []);

  const second = await clients('offline-2');
  assert.deepEqual([second.npm, second.pip, second.skopeo], [true, true, true], second.output);
  assert.deepEqual((await ledger()).misses, [], 'nothing was missed the second time');
});

test('an item the upstream does not have either stays in the ledger with the reason; --clear empties it', async (t) => {
  if (missing) return t.skip(missing);
  const dir = join(work, 'ghost');
  await mkdir(join(dir, 'project'), { recursive: true });
  await writeFile(join(dir, 'project', 'package.json'), '{"name":"p","version":"1.0.0","private":true}\n');
  const asked = await inNetns([
    serveInBackground(config, join(dir, 'serve.log')),
    `(cd '${dir}/project' && HOME='${dir}' ${NPM_OFFLINE} npm install ghost-package --registry http://127.0.0.1:${port}/ --cache '${dir}/c' --no-audit --no-fund --fetch-retries 0) > /dev/null 2>&1; echo "npm=$?"`,
  ].join('\n'), { timeoutMs: 120_000 });
  assert.match(asked.stdout, /^npm=[1-9]/m, asked.stdout + asked.stderr);
  assert.deepEqual((await ledger()).misses.map((m) => m.item), ['ghost-package']);

  const synced = await offline(['sync', '-c', config, '--misses', '--json']);
  assert.equal(synced.code, 1, 'the sync fails for what the upstream does not have');
  const report = JSON.parse(synced.stdout) as { misses: { remaining: Array<{ item: string; reason: string }> } };
  assert.deepEqual(report.misses.remaining.map((r) => r.item), ['ghost-package']);
  const [kept] = (await ledger()).misses;
  assert.equal(kept?.item, 'ghost-package');
  assert.match(kept?.reason ?? '', /ghost-package|404|not found/i);

  const cleared = await offline(['misses', '-c', config, '--clear']);
  assert.match(cleared.stdout, /cleared 1 miss/);
  assert.deepEqual((await ledger()).misses, []);
});

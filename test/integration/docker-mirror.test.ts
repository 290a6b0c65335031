/**
 * The Docker/OCI mirror end to end: `offline sync` from a real registry (CNCF distribution, on
 * loopback) holding a multi-platform index and a single-platform image, one of them behind a
 * token-auth front like Docker Hub's; then `offline serve` and real skopeo inside a network
 * namespace with loopback only, by tag and by digest, under both name schemes.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { request } from 'undici';
import { stringify } from 'yaml';
import { makeFixtureImages, type FixtureImages } from '../helpers/oci-images.ts';
import { pushImages, skopeoArgs, skopeoEnv, startRegistry, startTokenFront, type Registry, type TokenFront } from '../helpers/oci-registry.ts';
import { offline, serveInBackground } from '../helpers/offline-cli.ts';
import { hasNetns, inNetns, run } from '../helpers/run.ts';
import { workDir } from '../helpers/work-dir.ts';
import { claimPorts } from '../helpers/ports.ts';

const missing = (await run('sh', ['-c', 'command -v skopeo && command -v docker-registry'])).code === 0 ? undefined : 'skopeo or docker-registry is not installed';
const netnsMissing = await hasNetns();
let work: string;
let fixtures: FixtureImages;
let registry: Registry;
let front: TokenFront;

before(async () => {
  if (missing) return;
  work = await workDir('offline-docker-');
  fixtures = await makeFixtureImages(join(work, 'images'));
  registry = await startRegistry(join(work, 'registry'));
  await pushImages(registry.host, fixtures, join(work, 'skopeo-push'));
  front = await startTokenFront(registry.url);
});

after(async () => {
  await front?.close();
  await registry?.close();
  if (work && !process.env.OFFLINE_TEST_KEEP) await rm(work, { recursive: true, force: true });
});

/** `fixture.test` (behind the token front) and `docker.io` both map to local servers. */
async function config(dir: string, opts: { images: string[]; upstream?: string }): Promise<{ file: string; port: number }> {
  await mkdir(dir, { recursive: true });
  const port = await claimPorts(4);
  const file = join(dir, 'offline.yaml');
  await writeFile(file, stringify({
    data: './mirrors', listen: '127.0.0.1',
    npm: { port: port + 1 }, pypi: { port: port + 2 }, pacman: { port: port + 3 },
    docker: { port, images: opts.images, platforms: ['linux/amd64'], registries: { 'fixture.test': opts.upstream ?? front.url, 'docker.io': registry.url } },
  }));
  return { file, port };
}

async function blobs(dir: string): Promise<string[]> {
  return (await readdir(join(dir, 'mirrors', 'docker', 'blobs', 'sha256')).catch(() => [] as string[])).filter((f) => !f.includes('.')).map((h) => `sha256:${h}`);
}

const IMAGES = ['fixture.test/fixtures/multi:1.0', 'single:1.0', 'fixture.test/fixtures/single:1.0'];

test('sync, then skopeo copies from the mirror with no network: same digests as upstream, the unselected platform a 404', async (t) => {
  if (missing) return t.skip(missing);
  const dir = join(work, 'mirror');
  const { file, port } = await config(dir, { images: IMAGES });
  const synced = await offline(['sync', '-c', file, '--json']);
  assert.equal(synced.code, 0, synced.stdout + synced.stderr);
  assert.ok(front.tokensIssued > 0, 'the token-auth front was used');
  const stored = await blobs(dir);
  assert.ok(stored.includes(fixtures.sharedLayer.digest), 'the shared layer is stored');
  assert.ok(!stored.includes(fixtures.multi.arm64.manifestDigest), 'the arm64 manifest was not fetched');
  assert.ok(!stored.includes(fixtures.multi.arm64.configDigest));

  const again = await offline(['sync', '-c', file]);
  assert.match(again.stdout, /docker: .*nothing to download/);

  if (netnsMissing) return t.skip(`no network namespace: ${netnsMissing}`);
  const sandbox = join(dir, 'skopeo');
  const mirror = `docker://127.0.0.1:${port}`;
  const sk = (args: string[]) => ['skopeo', ...skopeoArgs(sandbox, args)].map((a) => `'${a}'`).join(' ');
  const out = (name: string) => join(dir, name);
  const script = [
    serveInBackground(file, join(dir, 'serve.log')),
    `${sk(['inspect', '--raw', `${mirror}/fixture.test/fixtures/multi:1.0`])} > '${out('index.json')}' || exit 1`,
    `${sk(['copy', '--override-arch', 'amd64', `${mirror}/fixture.test/fixtures/multi:1.0`, `dir:${out('by-tag')}`])} || exit 2`,
    `${sk(['copy', `${mirror}/fixture.test/fixtures/multi@${fixtures.multi.amd64.manifestDigest}`, `dir:${out('by-digest')}`])} || exit 3`,
    `${sk(['copy', `${mirror}/library/single:1.0`, `dir:${out('hub-name')}`])} || exit 4`,
    `if ${sk(['copy', '--override-arch', 'arm64', `${mirror}/fixture.test/fixtures/multi:1.0`, `dir:${out('arm64')}`])} 2> '${out('arm64.err')}'; then exit 5; fi`,
  ].join('\n');
  const copied = await inNetns(script, { env: skopeoEnv(sandbox), timeoutMs: 180_000 });
  assert.equal(copied.code, 0, copied.stdout + copied.stderr);
  const digestOf = async (path: string) => `sha256:${createHash('sha256').update(await readFile(path)).digest('hex')}`;
  assert.equal(await digestOf(out('index.json')), fixtures.multi.index.manifestDigest, 'the index is served byte for byte');
  assert.equal(await digestOf(join(out('by-tag'), 'manifest.json')), fixtures.multi.amd64.manifestDigest);
  assert.equal(await digestOf(join(out('by-digest'), 'manifest.json')), fixtures.multi.amd64.manifestDigest);
  assert.equal(await digestOf(join(out('hub-name'), 'manifest.json')), fixtures.single.manifestDigest);
  assert.match(await readFile(out('arm64.err'), 'utf8'), /manifest unknown|404|MANIFEST_UNKNOWN/i);
});

test('the registry API: HEAD, Content-Type, Docker-Content-Digest, Range on blobs, tags/list, fast 404s', async (t) => {
  if (missing) return t.skip(missing);
  const dir = join(work, 'api');
  const { file } = await config(dir, { images: IMAGES });
  assert.equal((await offline(['sync', '-c', file])).code, 0);
  const { serve } = await import('../../src/core/serve.ts');
  const { loadConfig } = await import('../../src/ecosystems/config.ts');
  const serving = await serve({ config: await loadConfig(file), host: '127.0.0.1', ports: 'ephemeral' });
  try {
    const base = serving.mirrors.find((m) => m.name === 'docker')!.url.replace(/\/v2\/$/, '');
    const v2 = await request(`${base}/v2/`);
    assert.equal(v2.statusCode, 200);
    assert.equal(v2.headers['docker-distribution-api-version'], 'registry/2.0');
    await v2.body.dump();
    const head = await request(`${base}/v2/fixture.test/fixtures/multi/manifests/1.0`, { method: 'HEAD' });
    assert.equal(head.statusCode, 200);
    assert.equal(head.headers['docker-content-digest'], fixtures.multi.index.manifestDigest);
    assert.equal(head.headers['content-type'], 'application/vnd.oci.image.index.v1+json');
    assert.equal(Number(head.headers['content-length']), fixtures.multi.index.manifest.length);
    await head.body.dump();
    const layer = fixtures.sharedLayer;
    const ranged = await request(`${base}/v2/library/single/blobs/${layer.digest}`, { headers: { range: 'bytes=10-19' } });
    assert.equal(ranged.statusCode, 206);
    assert.deepEqual(Buffer.from(await ranged.body.arrayBuffer()), layer.bytes.subarray(10, 20));
    const tags = await request(`${base}/v2/fixture.test/fixtures/multi/tags/list`);
    assert.deepEqual(await tags.body.json(), { name: 'fixture.test/fixtures/multi', tags: ['1.0'] });
    const started = performance.now();
    for (const path of ['/v2/library/nothing/manifests/1', '/v2/fixture.test/fixtures/multi/manifests/2.0', `/v2/fixture.test/fixtures/multi/manifests/${fixtures.multi.arm64.manifestDigest}`]) {
      const res = await request(`${base}${path}`);
      assert.equal(res.statusCode, 404, path);
      assert.match(JSON.stringify(await res.body.json()), /UNKNOWN/);
    }
    assert.ok(performance.now() - started < 5000);
    const status = JSON.parse((await offline(['status', '-c', file, '--json'])).stdout).mirrors.find((m: { name: string }) => m.name === 'docker');
    assert.deepEqual(status.platforms, ['linux/amd64']);
    assert.deepEqual(status.images, ['docker.io/library/single:1.0', 'fixture.test/fixtures/multi:1.0', 'fixture.test/fixtures/single:1.0']);
    assert.equal(status.counts.blobs, (await blobs(dir)).length);
  } finally {
    await serving.close();
  }
});

test('a blob whose digest does not match is refused and reported; the image is not published', async (t) => {
  if (missing) return t.skip(missing);
  const victim = fixtures.single.layers.at(-1)!.digest;
  const corrupting: Server = createServer(async (req, res) => {
    const upstream = await request(`${registry.url}${req.url}`, { method: req.method as 'GET', headers: { accept: req.headers.accept ?? '*/*' } });
    const body = Buffer.from(await upstream.body.arrayBuffer());
    if (req.url!.endsWith(victim)) body[body.length - 1] = body.at(-1)! ^ 0xff;
    res.writeHead(upstream.statusCode, { 'content-type': String(upstream.headers['content-type'] ?? ''), ...(upstream.headers['docker-content-digest'] ? { 'docker-content-digest': String(upstream.headers['docker-content-digest']) } : {}) });
    res.end(body);
  });
  await new Promise<void>((r) => corrupting.listen(0, '127.0.0.1', r));
  try {
    const dir = join(work, 'corrupt');
    const { file } = await config(dir, { images: ['fixture.test/fixtures/single:1.0'], upstream: `http://127.0.0.1:${(corrupting.address() as AddressInfo).port}` });
    const synced = await offline(['sync', '-c', file]);
    assert.equal(synced.code, 1, synced.stdout + synced.stderr);
    const expected = `sha256-${Buffer.from(victim.slice(7), 'hex').toString('base64')}`;
    assert.ok(synced.stdout.includes(`integrity mismatch: expected ${expected}, got sha256-`), synced.stdout);
    assert.match(synced.stdout, /not published: 1 blob\(s\) missing/);
    assert.ok(!(await blobs(dir)).includes(victim));
  } finally {
    corrupting.close();
  }
});

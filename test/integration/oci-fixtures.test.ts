import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { dockerMissing, dockerRun } from '../helpers/docker.ts';
import { DOCKER_MANIFEST, OCI_INDEX, OCI_MANIFEST, descriptors, makeFixtureImages, sha256 } from '../helpers/oci-images.ts';
import type { FixtureImages, Image } from '../helpers/oci-images.ts';
import { pushImages, skopeo, skopeoOk, startRegistry, startTokenFront } from '../helpers/oci-registry.ts';
import type { Registry, TokenFront } from '../helpers/oci-registry.ts';
import { run } from '../helpers/run.ts';

const ACCEPT_ALL = [OCI_INDEX, OCI_MANIFEST, DOCKER_MANIFEST, 'application/vnd.docker.distribution.manifest.list.v2+json'].join(', ');

let work: string;
let sk: string; // skopeo sandbox
let fixtures: FixtureImages;
let registry: Registry;
const fronts: TokenFront[] = [];
let dirs = 0;

async function dir(): Promise<string> {
  return mkdtemp(join(work, `${dirs++}-`));
}

before(async () => {
  work = await mkdtemp(join(tmpdir(), 'offline-oci-fixtures-'));
  sk = await dir();
  fixtures = await makeFixtureImages(await dir());
  registry = await startRegistry(await dir());
  await pushImages(registry.host, fixtures, sk);
});
after(async () => {
  for (const f of fronts) await f.close();
  await registry?.close();
  await rm(work, { recursive: true, force: true });
});

async function front(opts?: Parameters<typeof startTokenFront>[1]): Promise<TokenFront> {
  const f = await startTokenFront(registry.url, opts);
  fronts.push(f);
  return f;
}

async function token(f: TokenFront, scope: string): Promise<string> {
  const r = await fetch(`${f.url}/token?service=fixture-registry&scope=${encodeURIComponent(scope)}`);
  assert.equal(r.status, 200);
  return ((await r.json()) as { token: string }).token;
}

/** The manifest digest a one-image `oci:` copy wrote. */
async function copiedDigest(out: string): Promise<string> {
  const index = JSON.parse(await readFile(join(out, 'index.json'), 'utf8')) as { manifests: { digest: string }[] };
  assert.equal(index.manifests.length, 1);
  return index.manifests[0]!.digest;
}

describe('fixture images', () => {
  it('are byte for byte the same when built again', async () => {
    const again = await makeFixtureImages(await dir());
    assert.deepEqual(descriptors(again.multi.index), descriptors(fixtures.multi.index));
    assert.equal(again.single.manifestDigest, fixtures.single.manifestDigest);
  });

  it('list their layers as root-owned 2020 tar entries, busybox applets as links', async () => {
    const file = join(await dir(), 'layer.tar.gz');
    await writeFile(file, fixtures.sharedLayer.bytes);
    const r = await run('tar', ['--utc', '-tvzf', file]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^drwxr-xr-x root\/root\s+0 2020-01-01 00:00 bin\/$/m);
    assert.match(r.stdout, /^-rwxr-xr-x root\/root\s+\d+ 2020-01-01 00:00 bin\/busybox$/m);
    assert.match(r.stdout, /^lrwxrwxrwx root\/root\s+0 2020-01-01 00:00 bin\/cat -> busybox$/m);
  });

  it('have diff_ids that are the digests of the uncompressed layers, and the right media types', () => {
    const images: Image[] = [...fixtures.multi.index.images, fixtures.single];
    for (const image of images) {
      const config = JSON.parse(image.config.toString()) as { rootfs: { diff_ids: string[] } };
      assert.deepEqual(config.rootfs.diff_ids, image.layers.map((l) => sha256(gunzipSync(l.bytes))));
      assert.equal(sha256(image.manifest), image.manifestDigest);
    }
    assert.equal(fixtures.multi.index.mediaType, OCI_INDEX);
    assert.equal(fixtures.single.mediaType, DOCKER_MANIFEST);
    assert.ok(fixtures.bigLayer.size > 8 * 1024 * 1024, 'the big layer does not compress');
    assert.equal(fixtures.single.layers[0]!.digest, fixtures.multi.amd64.layers[0]!.digest);
  });
});

describe('the registry (distribution 2.8) with the pushed fixtures', () => {
  it('serves every tag byte for byte to skopeo inspect --raw', async () => {
    for (const ref of fixtures.refs) {
      const raw = await skopeoOk(['inspect', '--raw', `docker://${registry.host}/${ref.repo}:${ref.tag}`], sk);
      assert.equal(sha256(raw), ref.manifestDigest, `${ref.repo}:${ref.tag}`);
    }
  });

  it('gives skopeo --override-arch the arm64 and arm/v7 manifests of multi', async () => {
    const src = `docker://${registry.host}/fixtures/multi:1.0`;
    const arm64 = join(await dir(), 'out');
    await skopeoOk(['--override-arch', 'arm64', 'copy', '--quiet', src, `oci:${arm64}:x`], sk);
    assert.equal(await copiedDigest(arm64), fixtures.multi.arm64.manifestDigest);
    const armv7 = join(await dir(), 'out');
    await skopeoOk(['--override-arch', 'arm', '--override-variant', 'v7', 'copy', '--quiet', src, `oci:${armv7}:x`], sk);
    assert.equal(await copiedDigest(armv7), fixtures.multi.armv7.manifestDigest);
  });

  it('stores the shared busybox layer once, linked from every repository using it', async () => {
    const v2 = join(registry.storage, 'docker', 'registry', 'v2');
    const all = new Set([...descriptors(fixtures.multi.index), ...descriptors(fixtures.single)].map((d) => d.digest));
    const stored = (await readdir(join(v2, 'blobs', 'sha256'), { recursive: true })).filter((p) => p.endsWith('/data'));
    assert.equal(stored.length, all.size);
    const hex = fixtures.sharedLayer.digest.slice(7);
    for (const repo of ['fixtures/multi', 'fixtures/single', 'library/single']) {
      assert.ok(existsSync(join(v2, 'repositories', repo, '_layers', 'sha256', hex, 'link')), repo);
    }
  });

  it('negotiates manifests by Accept, answers HEAD with the digest, and serves Range', async () => {
    const base = `${registry.url}/v2/fixtures`;
    // distribution 2.8: an OCI index not in Accept is a 404, even by digest.
    assert.equal((await fetch(`${base}/multi/manifests/1.0`)).status, 404);
    const head = await fetch(`${base}/multi/manifests/1.0`, { method: 'HEAD', headers: { accept: ACCEPT_ALL } });
    assert.equal(head.status, 200);
    assert.equal(head.headers.get('docker-content-digest'), fixtures.multi.index.manifestDigest);
    assert.equal(head.headers.get('content-type'), OCI_INDEX);
    assert.equal(Number(head.headers.get('content-length')), fixtures.multi.index.manifest.length);
    // …and a Docker v2 manifest fetched by tag without Accept is rewritten to signed schema 1.
    const legacy = await fetch(`${base}/single/manifests/1.0`);
    assert.equal(legacy.headers.get('content-type'), 'application/vnd.docker.distribution.manifest.v1+prettyjws');
    assert.notEqual(legacy.headers.get('docker-content-digest'), fixtures.single.manifestDigest);
    const part = await fetch(`${base}/single/blobs/${fixtures.bigLayer.digest}`, { headers: { range: 'bytes=100-199' } });
    assert.equal(part.status, 206);
    assert.deepEqual(Buffer.from(await part.arrayBuffer()), fixtures.bigLayer.bytes.subarray(100, 200));
    const tags = (await (await fetch(`${base}/multi/tags/list`)).json()) as { tags: string[] };
    assert.deepEqual(tags.tags.sort(), ['1.0', 'latest']);
  });
});

describe('the token front', () => {
  it('challenges requests without a token, scoped to the repository', async () => {
    const f = await front();
    const base = await fetch(`${f.url}/v2/`);
    assert.equal(base.status, 401);
    assert.equal(base.headers.get('www-authenticate'), `Bearer realm="${f.url}/token",service="fixture-registry"`);
    const m = await fetch(`${f.url}/v2/fixtures/multi/manifests/1.0`, { headers: { accept: ACCEPT_ALL } });
    assert.equal(m.status, 401);
    assert.equal(m.headers.get('www-authenticate'), `Bearer realm="${f.url}/token",service="fixture-registry",scope="repository:fixtures/multi:pull"`);
  });

  it('refuses a token for another repository and proxies HEAD and Range for the right one', async () => {
    const f = await front();
    const url = `${f.url}/v2/fixtures/multi/manifests/1.0`;
    const wrong = await fetch(url, { headers: { accept: ACCEPT_ALL, authorization: `Bearer ${await token(f, 'repository:fixtures/single:pull')}` } });
    assert.equal(wrong.status, 401);
    assert.match(wrong.headers.get('www-authenticate') ?? '', /scope="repository:fixtures\/multi:pull",error="insufficient_scope"$/);
    const auth = `Bearer ${await token(f, 'repository:fixtures/multi:pull')}`;
    const head = await fetch(url, { method: 'HEAD', headers: { accept: ACCEPT_ALL, authorization: auth } });
    assert.equal(head.status, 200);
    assert.equal(head.headers.get('docker-content-digest'), fixtures.multi.index.manifestDigest);
    const blob = `${f.url}/v2/fixtures/multi/blobs/${fixtures.sharedLayer.digest}`;
    const part = await fetch(blob, { headers: { authorization: auth, range: 'bytes=10-' } });
    assert.equal(part.status, 206);
    assert.equal(part.headers.get('content-range'), `bytes 10-${fixtures.sharedLayer.size - 1}/${fixtures.sharedLayer.size}`);
    assert.deepEqual(Buffer.from(await part.arrayBuffer()), fixtures.sharedLayer.bytes.subarray(10));
    assert.equal(f.tokensIssued, 2);
  });

  it('lets skopeo through with anonymous tokens, blobs redirected as Docker Hub does', async () => {
    const f = await front({ redirectBlobs: true });
    const raw = await skopeoOk(['inspect', '--raw', `docker://${f.host}/fixtures/multi:1.0`], sk);
    assert.equal(sha256(raw), fixtures.multi.index.manifestDigest);
    const out = join(await dir(), 'out');
    await skopeoOk(['copy', '--quiet', `docker://${f.host}/library/single:1.0`, `oci:${out}:x`], sk);
    assert.ok(f.tokensIssued >= 2);
    assert.ok(f.requests.includes(`GET /v2/library/single/blobs/${fixtures.bigLayer.digest}`), f.requests.join('\n'));
  });

  it('wants Basic credentials at /token when given a user, and skopeo --src-creds works', async () => {
    const f = await front({ user: 'fixture', password: 's3cret' });
    const scope = 'scope=repository%3Afixtures%2Fsingle%3Apull&service=fixture-registry';
    assert.equal((await fetch(`${f.url}/token?${scope}`)).status, 401);
    const basic = `Basic ${Buffer.from('fixture:s3cret').toString('base64')}`;
    assert.equal((await fetch(`${f.url}/token?${scope}`, { headers: { authorization: basic } })).status, 200);
    const src = `docker://${f.host}/fixtures/single:1.0`;
    const anonymous = await skopeo(['copy', '--quiet', src, `oci:${join(await dir(), 'out')}:x`], sk);
    assert.notEqual(anonymous.code, 0);
    // dir: keeps the Docker v2 manifest as it is (oci: would convert it to OCI).
    const out = join(await dir(), 'out');
    await skopeoOk(['copy', '--quiet', '--src-creds', 'fixture:s3cret', src, `dir:${out}`], sk);
    assert.equal(sha256(await readFile(join(out, 'manifest.json'))), fixtures.single.manifestDigest);
  });
});

describe('under Docker', () => {
  it('runs single and the amd64 image of multi', async (t) => {
    const missing = await dockerMissing();
    if (missing) return t.skip(missing);
    const wanted = [
      ['fixtures/single:1.0', 'offline-fixture/single:1.0', 'single amd64'],
      ['fixtures/multi:1.0', 'offline-fixture/multi:1.0', 'multi amd64'],
    ] as const;
    try {
      for (const [ref, image, text] of wanted) {
        // skopeo 1.9's docker-daemon: speaks API 1.22, which Docker 25+ refuses: go through docker load.
        const archive = join(await dir(), 'image.tar');
        await skopeoOk(['--override-arch', 'amd64', 'copy', '--quiet', `docker://${registry.host}/${ref}`, `docker-archive:${archive}:${image}`], sk);
        const load = await run('docker', ['load', '--quiet', '--input', archive], { timeoutMs: 120_000 });
        assert.equal(load.code, 0, load.stderr);
        const r = await dockerRun(['--network', 'none', image], { timeoutMs: 60_000 });
        assert.equal(r.code, 0, r.stderr);
        assert.equal(r.stdout, `${text}\n`);
      }
    } finally {
      await run('docker', ['image', 'rm', '--force', ...wanted.map((w) => w[1])], { timeoutMs: 60_000 });
    }
  });
});

/**
 * The registry client's authorization through the engine's one HTTP path: the Bearer token dance
 * (realm, service, scope) behind the Docker-Hub-like token front, tokens cached per repository and
 * reused by blob downloads, an expired token replaced once, Basic credentials, and the typed
 * errors when the registry refuses. The registry behind the front is a scripted loopback server.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { IntegrityError, UpstreamError } from '../../src/foundation/errors.ts';
import { createRegistryClient } from '../../src/ecosystems/docker/upstream.ts';
import { sriFromHex } from '../../src/engine/digest.ts';
import { download } from '../../src/engine/download.ts';
import { createHttp } from '../../src/engine/http.ts';
import { noise, sha256 } from '../helpers/oci-images.ts';
import { startTokenFront, type TokenFront, type TokenFrontOptions } from '../helpers/oci-registry.ts';
import { serve, startScriptedServer, status, type Answer } from '../helpers/scripted-server.ts';

const MEDIA_TYPE = 'application/vnd.oci.image.manifest.v1+json';
const blob = noise(200_000, 'registry-auth');
const blobDigest = sha256(blob);
const manifest = Buffer.from(JSON.stringify({
  schemaVersion: 2, mediaType: MEDIA_TYPE,
  config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: blobDigest, size: blob.length },
  layers: [],
}));
const manifestDigest = sha256(manifest);

const registry = await startScriptedServer();
const manifestAnswer = status(200, { 'content-type': MEDIA_TYPE, 'docker-content-digest': manifestDigest }, manifest);
registry.script('/v2/fx/app/manifests/1.0', manifestAnswer);
registry.script(`/v2/fx/app/blobs/${blobDigest}`, serve(blob));
const http = createHttp({ retries: 1 });
const fronts: TokenFront[] = [];
after(async () => {
  await Promise.all(fronts.map((f) => f.close()));
  await http.close();
  await registry.close();
});

async function front(opts: TokenFrontOptions = {}): Promise<TokenFront> {
  const f = await startTokenFront(registry.base, opts);
  fronts.push(f);
  return f;
}

function asked(f: TokenFront, path: string): number {
  return f.requests.filter((r) => r === `GET ${path}`).length;
}

async function fetchBlob(url: string, client: ReturnType<typeof createRegistryClient>): Promise<Buffer> {
  const dest = join(await mkdtemp(join(tmpdir(), 'registry-auth-')), 'blob');
  const integrity = sriFromHex('sha256', blobDigest.slice('sha256:'.length));
  await download(http, { url: `${url}/v2/fx/app/blobs/${blobDigest}`, dest, integrity, label: 'blob', authorizer: client.authorizer('fx/app') }, () => {});
  return readFile(dest);
}

test('a manifest behind a Bearer challenge, then its blob with the same token: one token for the repository', async () => {
  const f = await front();
  const client = createRegistryClient(http, f.url, undefined);
  const got = await client.manifest('fx/app', '1.0');
  assert.deepEqual(got, { bytes: manifest, mediaType: MEDIA_TYPE, digest: manifestDigest });
  assert.deepEqual(await fetchBlob(f.url, client), blob);
  assert.equal(f.tokensIssued, 1);
  assert.ok(f.requests.includes('GET /token?service=fixture-registry&scope=repository%3Afx%2Fapp%3Apull'), f.requests.join('\n'));
  assert.equal(asked(f, '/v2/fx/app/manifests/1.0'), 2, 'once to learn the challenge, once with the token');
  assert.equal(asked(f, `/v2/fx/app/blobs/${blobDigest}`), 1, 'the blob carried the cached token');
});

test('a token that expires between the manifest and the blob is replaced once', async () => {
  const f = await front({ expiresIn: 1 });
  const client = createRegistryClient(http, f.url, undefined);
  await client.manifest('fx/app', '1.0');
  await new Promise((r) => setTimeout(r, 1100)); // past the token's one second
  assert.deepEqual(await fetchBlob(f.url, client), blob);
  assert.equal(f.tokensIssued, 2);
  assert.equal(asked(f, `/v2/fx/app/blobs/${blobDigest}`), 2);
});

test('a registry that refuses every token is an UpstreamError 401 that says docker login, after one new token', async () => {
  const f = await front({ expiresIn: -1 });
  const err = await createRegistryClient(http, f.url, undefined).manifest('fx/app', '1.0').catch((e: unknown) => e);
  assert.ok(err instanceof UpstreamError && err.status === 401, String(err));
  assert.match(err.message, /docker login/);
  assert.equal(f.tokensIssued, 1);
  assert.equal(asked(f, '/v2/fx/app/manifests/1.0'), 2);
});

test('credentials go to the token endpoint; without them its 401 is the error', async () => {
  const f = await front({ user: 'fixture', password: 's3cret' });
  const got = await createRegistryClient(http, f.url, { username: 'fixture', password: 's3cret' }).manifest('fx/app', '1.0');
  assert.equal(got?.digest, manifestDigest);
  const err = await createRegistryClient(http, f.url, undefined).manifest('fx/app', '1.0').catch((e: unknown) => e);
  assert.ok(err instanceof UpstreamError && err.status === 401, String(err));
  assert.match(err.url, /\/token\?/);
  assert.equal(f.tokensIssued, 1);
});

test('a registry that asks for Basic gets the credentials directly; without any it is asked once', async () => {
  const basic = `Basic ${Buffer.from('fixture:s3cret').toString('base64')}`;
  const guarded: Answer = (req, res) => (req.headers.authorization === basic ? manifestAnswer(req, res) : void res.writeHead(401, { 'www-authenticate': 'Basic realm="registry"' }).end());
  registry.script('/v2/fx/basic/manifests/1.0', guarded);
  const got = await createRegistryClient(http, registry.base, { username: 'fixture', password: 's3cret' }).manifest('fx/basic', '1.0');
  assert.equal(got?.digest, manifestDigest);
  assert.deepEqual(registry.requestsTo('/v2/fx/basic/manifests/1.0').map((s) => s.authorization), [undefined, basic]);
  const err = await createRegistryClient(http, registry.base, undefined).manifest('fx/basic', '1.0').catch((e: unknown) => e);
  assert.ok(err instanceof UpstreamError && err.status === 401, String(err));
  assert.equal(registry.requestsTo('/v2/fx/basic/manifests/1.0').length, 3);
});

test('a manifest that does not match its announced digest is refused; a refusal carries the registry\'s error document', async () => {
  const wrong = `sha256:${'0'.repeat(64)}`;
  registry.script('/v2/fx/lying/manifests/1.0', status(200, { 'content-type': MEDIA_TYPE, 'docker-content-digest': wrong }, manifest));
  const client = createRegistryClient(http, registry.base, undefined);
  const err = await client.manifest('fx/lying', '1.0').catch((e: unknown) => e);
  assert.ok(err instanceof IntegrityError && err.expected === wrong && err.actual === manifestDigest, String(err));
  const denied = JSON.stringify({ errors: [{ code: 'DENIED', message: 'requested access to the resource is denied' }] });
  registry.script('/v2/fx/denied/manifests/1.0', status(403, { 'content-type': 'application/json' }, denied));
  const refused = await client.manifest('fx/denied', '1.0').catch((e: unknown) => e);
  assert.ok(refused instanceof UpstreamError && refused.status === 403, String(refused));
  assert.match(refused.message, /DENIED: requested access to the resource is denied/);
  assert.equal(await client.manifest('fx/absent', '1.0'), undefined, 'a 404 is no manifest');
});
